/**
 * Writing one byte range of a download to its file: the {@link BodySink} the raw HTTP client
 * reads the socket into. Bytes land in a small pool of blocks; a full block is written at its file
 * position while the next one fills (receiving and writing overlap), and when every block is
 * waiting for its write the socket is paused until one comes back, so memory stays at
 * `blocks × blockSize` whatever the file size. `done` is the end of the contiguous prefix of the
 * range whose writes completed: what a resume may keep (once flushed to disk).
 *
 * Writes to one file go one at a time, whatever number of writers (parallel ranges) it has: the
 * kernel serialises buffered writes to one inode on its lock anyway, so writes issued together
 * only wait there, spinning on the lock and holding every thread of libuv's small pool, which the
 * checkpoint flushes and progress records of the download then queue behind. Blocks come from,
 * and go back to, a pool the writers of one download share, so a download touches fresh memory
 * once rather than once per range.
 *
 * Full blocks at aligned positions go to the disk directly (`O_DIRECT`, through a second handle
 * of the file, {@link openDirect}) when the filesystem allows it. A buffered write copies every
 * byte into the page cache, and the pages it needs are fresh ones: on a virtual machine whose
 * host hands guest memory back lazily, first touching them costs more than the disk write
 * (measured on this project's CI machines: 4 MiB buffered writes fell to 90 MiB/s after a few
 * idle seconds, while direct writes held 620–840 MiB/s). A sector file being fetched is not read
 * again soon, so caching it would only evict what is. The first block of a range is shortened
 * so that the blocks after it start aligned; it and the last block are written buffered.
 */
import { constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { alignedBuffer, DIRECT_IO_ALIGN } from '../../native/memory.js';
import type { BodySink } from './raw-http.js';

/** Options of {@link RangeWriter}. */
export interface RangeWriterOptions {
  /** At least 64 KiB (a response head's leftover body bytes fit one block). @default 4 MiB */
  blockSize?: number;
  /** Blocks in the pool (≥ 2: one filling, the others being written). @default 3 */
  blocks?: number;
  /** Free blocks shared by the writers of one download (taken from, and given back at {@link RangeWriter.finish}). */
  pool?: Buffer[];
  /** Called after every completed write with its byte count. */
  onWritten?: (bytes: number) => void;
  /**
   * The same file opened for direct I/O ({@link openDirect}); blocks from `pool` or `allocate`
   * must then be {@link DIRECT_IO_ALIGN}-aligned ({@link directBlock}).
   */
  direct?: FileHandle;
  /** Allocates a block when the pool has none. @default Buffer.allocUnsafe */
  allocate?: (bytes: number) => Buffer;
  /**
   * Called once when a write fails (the reader is paused from then on: stop the transfer; the
   * error comes out of {@link RangeWriter.finish}).
   */
  onError?: (err: Error) => void;
}

interface Pending {
  end: number;
  complete: boolean;
}

/** Writes a stream of bytes to `fh` from `start` on. */
export class RangeWriter implements BodySink {
  readonly #fh: FileHandle;
  readonly #blockSize: number;
  readonly #free: Buffer[] = [];
  readonly #onWritten: ((bytes: number) => void) | undefined;
  readonly #onError: ((err: Error) => void) | undefined;
  readonly #pool: Buffer[] | undefined;
  readonly #blocks: Buffer[] = [];
  #released = false;
  #direct: FileHandle | undefined;
  #directBytes = 0;
  #cur: Buffer;
  #fill = 0;
  /** Bytes the current block takes (the first is shortened to end at an aligned position). */
  #limit: number;
  /** File position of the current block's first byte. */
  #pos: number;
  #done: number;
  readonly #pending: Pending[] = [];
  readonly #writes = new Set<Promise<void>>();
  #error: Error | undefined;
  #waiting = false;
  #resume: (() => void) | undefined;

  constructor(fh: FileHandle, start: number, options: RangeWriterOptions = {}) {
    this.#fh = fh;
    this.#blockSize = Math.max(64 * 1024, options.blockSize ?? 4 * 1024 * 1024);
    const blocks = Math.max(2, options.blocks ?? 3);
    this.#pool = options.pool;
    for (let i = 0; i < blocks; i++) {
      const pooled = this.#pool?.pop();
      this.#blocks.push(pooled?.length === this.#blockSize ? pooled : (options.allocate ?? Buffer.allocUnsafe)(this.#blockSize));
    }
    this.#direct = options.direct;
    const skew = start % DIRECT_IO_ALIGN;
    this.#limit = this.#direct && skew > 0 && this.#blockSize > DIRECT_IO_ALIGN ? this.#blockSize - skew : this.#blockSize;
    this.#free.push(...this.#blocks);
    this.#cur = this.#free.pop() as Buffer;
    this.#pos = start;
    this.#done = start;
    this.#onWritten = options.onWritten;
    this.#onError = options.onError;
  }

  /** The function that un-pauses the reader (given by the raw client once the head arrived). */
  set resume(fn: () => void) {
    this.#resume = fn;
  }

  /** End of the contiguous written prefix. */
  get done(): number {
    return this.#done;
  }

  /** Bytes written through the direct handle so far. */
  get directBytes(): number {
    return this.#directBytes;
  }

  /** Bytes received so far (written or queued). */
  get position(): number {
    return this.#pos + this.#fill;
  }

  space(): Buffer {
    // after finish the blocks may be another writer's: a late read lands in scratch memory
    if (this.#released) return Buffer.allocUnsafe(64 * 1024);
    return this.#cur.subarray(this.#fill, this.#limit);
  }

  filled(n: number): boolean {
    if (this.#released) return false;
    this.#fill += n;
    if (this.#fill < this.#limit) return true;
    this.#flushBlock();
    // the next block is in hand; pause when it is the last free one (space() must always have
    // somewhere to point that no write is reading from)
    if (this.#free.length === 0 || this.#error) {
      this.#waiting = true;
      return false;
    }
    return true;
  }

  /** Copies `chunk` in (for readers that deliver their own buffers); resolves when there is room again. */
  async push(chunk: Uint8Array): Promise<void> {
    let at = 0;
    while (at < chunk.length) {
      if (this.#error) throw this.#error;
      const space = this.space();
      const k = Math.min(space.length, chunk.length - at);
      space.set(chunk.subarray(at, at + k));
      at += k;
      if (!this.filled(k)) await this.#room();
    }
  }

  /** Writes what is buffered and waits for every write; resolves with {@link done}. Rejects with a write error. */
  async finish(): Promise<number> {
    if (this.#fill > 0 && !this.#error && !this.#released) this.#flushBlock();
    while (this.#writes.size > 0) await Promise.allSettled([...this.#writes]);
    if (!this.#released) {
      this.#released = true;
      this.#pool?.push(...this.#blocks);
    }
    if (this.#error) throw this.#error;
    return this.#done;
  }

  #flushBlock(): void {
    const block = this.#cur;
    const n = this.#fill;
    const at = this.#pos;
    this.#pos += n;
    this.#fill = 0;
    this.#limit = this.#blockSize;
    const entry: Pending = { end: at + n, complete: false };
    this.#pending.push(entry);
    const p = queueWrite(this.#fh, () => this.#write(block, n, at)).then(
      () => {
        entry.complete = true;
        while (this.#pending[0]?.complete) this.#done = (this.#pending.shift() as Pending).end;
        this.#onWritten?.(n);
      },
      (err: Error) => {
        if (this.#error) return;
        this.#error = err;
        this.#onError?.(err);
      },
    );
    const tracked = p.finally(() => {
      this.#writes.delete(tracked);
      this.#free.push(block);
      if (this.#waiting && !this.#error) {
        this.#waiting = false;
        this.#resume?.();
        this.#wake?.();
      }
    });
    this.#writes.add(tracked);
    this.#cur = this.#free.pop() as Buffer;
  }

  /** Writes one block: directly when it is aligned and the handle allows it, else buffered. */
  async #write(block: Buffer, n: number, at: number): Promise<void> {
    const direct = this.#direct;
    if (direct && at % DIRECT_IO_ALIGN === 0 && n % DIRECT_IO_ALIGN === 0) {
      try {
        await writeAll(direct, block, n, at);
        this.#directBytes += n;
        return;
      } catch (err) {
        // a device with a larger logical block, or memory that is not aligned after all
        if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
        this.#direct = undefined;
      }
    }
    await writeAll(this.#fh, block, n, at);
  }

  #wake: (() => void) | undefined;

  #room(): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = () => {
        this.#wake = undefined;
        resolve();
      };
    });
  }
}

/** The last write queued on each file. */
const tails = new WeakMap<FileHandle, Promise<void>>();

/** Runs `write` once every write queued before on `fh` is done. */
function queueWrite(fh: FileHandle, write: () => Promise<void>): Promise<void> {
  const p = (tails.get(fh) ?? Promise.resolve()).then(write);
  tails.set(
    fh,
    p.catch(() => {}),
  );
  return p;
}

async function writeAll(fh: FileHandle, data: Buffer, n: number, position: number): Promise<void> {
  let off = 0;
  while (off < n) {
    const { bytesWritten } = await fh.write(data, off, n - off, position + off);
    off += bytesWritten;
  }
}

/**
 * Opens `path` (existing) a second time for direct writes; undefined where the filesystem refuses
 * `O_DIRECT`, where the addon that allocates aligned memory is missing, or when
 * `SECTOR_STORAGE_FETCH_DIRECT=0` asks for buffered writes only.
 */
export async function openDirect(path: string): Promise<FileHandle | undefined> {
  if (process.env.SECTOR_STORAGE_FETCH_DIRECT === '0') return undefined;
  try {
    directBlock(DIRECT_IO_ALIGN);
  } catch {
    return undefined;
  }
  return open(path, constants.O_WRONLY | constants.O_DIRECT).catch(() => undefined);
}

/** A write block aligned for direct I/O. */
export function directBlock(bytes: number): Buffer {
  return alignedBuffer(bytes, DIRECT_IO_ALIGN);
}
