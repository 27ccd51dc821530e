/**
 * Crash-safe file moves for sector entries (files for unsealed/sealed, flat directories for cache).
 * A move within one filesystem is a rename; across filesystems the entry is copied into the
 * destination's `fetching/` folder, fsynced, and renamed into place, so the final name only ever
 * holds complete data. The caller updates the index and only then deletes the source.
 */
import { copyFile, type FileHandle, mkdir, readdir, rm, stat } from 'node:fs/promises';
import { noSpaceFrom } from '../errors.js';
import { dirname, join } from 'node:path';
import { fsyncPath, renameDurable } from '../fs/durable.js';

/** Copies a regular file and fsyncs the copy. */
export async function copyFileDurable(src: string, dst: string): Promise<void> {
  await copyFile(src, dst);
  await fsyncPath(dst);
}

/** Copies a file or a flat directory of regular files to `dst` (which must not exist), fsynced. */
export async function copyEntryDurable(src: string, dst: string): Promise<void> {
  const st = await stat(src);
  if (st.isFile()) {
    await copyFileDurable(src, dst);
    return;
  }
  await mkdir(dst, { mode: 0o755 });
  for (const ent of await readdir(src, { withFileTypes: true })) {
    if (!ent.isFile()) throw new Error(`${join(src, ent.name)} is not a regular file; sector cache directories are flat`);
    await copyFileDurable(join(src, ent.name), join(dst, ent.name));
  }
  await fsyncPath(dst);
}

/** Options of {@link moveEntry}. */
export interface MoveOptions {
  /**
   * Called when the rename failed with EXDEV, before anything is copied: a copy needs the
   * entry's size in new space, a rename none, so this is where a caller reserves it (throwing
   * stops the move with nothing written).
   */
  beforeCopy?: () => void;
}

/**
 * Moves `src` to `dst` (a sector file or flat cache directory). `tmp` is the temporary name used
 * when the move crosses filesystems. Any stale `dst`/`tmp` is replaced. Returns how it moved.
 */
export async function moveEntry(src: string, dst: string, tmp: string, options: MoveOptions = {}): Promise<'rename' | 'copy'> {
  await mkdir(dirname(dst), { recursive: true, mode: 0o755 });
  await rm(dst, { recursive: true, force: true });
  try {
    await renameDurable(src, dst);
    return 'rename';
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw noSpaceFrom(err, `moving ${src} to ${dst}`);
  }
  options.beforeCopy?.();
  await mkdir(dirname(tmp), { recursive: true, mode: 0o755 });
  await rm(tmp, { recursive: true, force: true });
  try {
    await copyEntryDurable(src, tmp);
    await renameDurable(tmp, dst);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw noSpaceFrom(err, `the copy of ${src} at ${tmp}`);
  }
  return 'copy';
}

/**
 * Writes a stream of network-sized chunks to a file at increasing offsets in ~1 MiB writes, with
 * one write in flight while the next one is gathered (receiving and writing overlap instead of
 * alternating). `position` is the offset after the last completed write.
 */
export class ChunkWriter {
  readonly #fh: FileHandle;
  readonly #size: number;
  #pending: Buffer[] = [];
  #bytes = 0;
  #next: number;
  #done: number;
  #inflight: Promise<void> | undefined;

  constructor(fh: FileHandle, position = 0, writeSize = 1 << 20) {
    this.#fh = fh;
    this.#next = position;
    this.#done = position;
    this.#size = writeSize;
  }

  /** Offset up to which every byte has been written. */
  get position(): number {
    return this.#done;
  }

  /** Queues a chunk; resolves once it is safe to push more (at most one write outstanding). */
  async push(chunk: Buffer): Promise<void> {
    this.#pending.push(chunk);
    this.#bytes += chunk.length;
    if (this.#bytes >= this.#size) await this.#flush();
  }

  /** Writes what is queued and waits for every write; returns the final position. */
  async finish(): Promise<number> {
    await this.#flush();
    await this.#inflight;
    this.#inflight = undefined;
    return this.#done;
  }

  async #flush(): Promise<void> {
    if (this.#bytes === 0) return;
    const data = this.#pending.length === 1 ? (this.#pending[0] as Buffer) : Buffer.concat(this.#pending, this.#bytes);
    this.#pending = [];
    this.#bytes = 0;
    await this.#inflight;
    const at = this.#next;
    this.#next += data.length;
    this.#inflight = writeAll(this.#fh, data, at).then(() => {
      this.#done = at + data.length;
    });
  }
}

async function writeAll(fh: FileHandle, data: Buffer, position: number): Promise<void> {
  let off = 0;
  while (off < data.length) {
    const { bytesWritten } = await fh.write(data, off, data.length - off, position + off);
    off += bytesWritten;
  }
}
