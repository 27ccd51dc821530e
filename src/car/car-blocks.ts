/**
 * A CAR file and its index as a read-only blockstore (go-car v2 `blockstore.NewReadOnly` with
 * `UseWholeCIDs`, as dagstore's accessor builds it): a block is found by its multihash in the
 * `MultihashIndexSorted` index, read at its section offset, and returned only if the section's
 * CID is the whole CID asked for and its bytes hash to it. The index is kept in a file of its own
 * (dagstore's `index/<key>.full.idx`); one that is missing, does not parse, or points at sections
 * that are not there is rebuilt from the CAR.
 */
import { open, readFile } from 'node:fs/promises';
import { bytesReader, chunkReader, readBlockHead } from '@ipld/car/decoder';
import type { CID } from 'multiformats/cid';
import { BlockNotFoundError, IndexCorruptError, SectorStorageError } from '../errors.js';
import { writeFileDurable } from '../fs/durable.js';
import { MultihashIndexSorted } from './car-index.js';
import { type CarScan, scanCar, verifyBlock } from './car-scan.js';

/** Builds the index of a CAR (checking every block) from one scan. */
export async function indexCar(carPath: string, options: { signal?: AbortSignal } = {}): Promise<{ scan: CarScan; index: MultihashIndexSorted }> {
  const scan = await scanCar(carPath, options);
  const index = MultihashIndexSorted.fromRecords(scan.sections.map((s) => ({ code: s.cid.multihash.code, digest: s.cid.multihash.digest, offset: s.offset })));
  return { scan, index };
}

/**
 * The index of `carPath` from `indexPath`, or, when that file is missing or corrupt, a new one
 * built from the CAR and written there (`rebuilt` says which, `reason` why).
 */
export async function loadOrBuildIndex(carPath: string, indexPath: string, options: { signal?: AbortSignal } = {}): Promise<{ index: MultihashIndexSorted; rebuilt: boolean; reason?: string }> {
  let reason: string;
  try {
    return { index: MultihashIndexSorted.unmarshal(await readFile(indexPath), indexPath), rebuilt: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') reason = `${indexPath} is missing`;
    else if (err instanceof IndexCorruptError) reason = err.message;
    else throw err;
  }
  const { index } = await indexCar(carPath, options);
  options.signal?.throwIfAborted();
  await writeFileDurable(indexPath, index.marshal());
  return { index, rebuilt: true, reason };
}

/** Where the CARv1 payload starts and ends in a CAR file (a CARv2's header says; a CARv1 is all payload). */
async function payloadBounds(fh: import('node:fs/promises').FileHandle): Promise<{ start: number; end: number }> {
  const head = Buffer.alloc(51);
  const { bytesRead } = await fh.read(head, 0, 51, 0);
  if (bytesRead === 51 && head.subarray(0, 11).equals(Buffer.from('0aa16776657273696f6e02', 'hex'))) {
    const start = Number(head.readBigUInt64LE(11 + 16));
    return { start, end: start + Number(head.readBigUInt64LE(11 + 24)) };
  }
  return { start: 0, end: (await fh.stat()).size };
}

/**
 * The most a block read takes in one go: a section up to this long (head and block) is read with
 * one read; a longer one (beyond any block a CAR for Filecoin deals carries) has its head read
 * first. A read is a round trip to libuv's thread pool, and on a busy machine that round trip,
 * not the copy, is most of a block read's time.
 */
const ONE_READ_MAX = 4 * 1024 * 1024 + 1024;

/** Blocks of one CAR by CID. Open with {@link CarBlocks.open}; `close()` when done. */
export class CarBlocks {
  readonly #fh: import('node:fs/promises').FileHandle;
  readonly #dataOffset: number;
  readonly #dataEnd: number;
  readonly index: MultihashIndexSorted;
  readonly #path: string;
  /** Every section offset the index knows, ascending: where the section at an offset ends. */
  #starts: Float64Array | undefined;

  private constructor(fh: import('node:fs/promises').FileHandle, bounds: { start: number; end: number }, index: MultihashIndexSorted, path: string) {
    this.#fh = fh;
    this.#dataOffset = bounds.start;
    this.#dataEnd = bounds.end;
    this.index = index;
    this.#path = path;
  }

  static async open(carPath: string, index: MultihashIndexSorted): Promise<CarBlocks> {
    const fh = await open(carPath, 'r');
    try {
      return new CarBlocks(fh, await payloadBounds(fh), index, carPath);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  /** Whether the CAR holds the block (by its whole CID). */
  async has(cid: CID): Promise<boolean> {
    return (await this.#find(cid)) !== undefined;
  }

  /**
   * The block's bytes.
   * @throws BlockNotFoundError when the CAR has no block with this CID; IndexCorruptError when the
   *   index points at a section that is not there
   */
  async get(cid: CID): Promise<Uint8Array> {
    const found = await this.#find(cid);
    if (!found) throw new BlockNotFoundError(`block ${cid} is not in ${this.#path}`);
    return found;
  }

  /** Offset and length of the block's bytes in the CAR file, or undefined. */
  async locate(cid: CID): Promise<{ offset: number; length: number } | undefined> {
    for (const offset of this.index.find(cid.multihash.code, cid.multihash.digest)) {
      const s = await this.#section(offset);
      if (s.cid.equals(cid)) return { offset: s.blockStart, length: s.blockLength };
    }
    return undefined;
  }

  /**
   * The block, hash checked. A section ends at the latest where the next one the index knows
   * starts (or where the payload ends; sections the index skips, identity blocks, only make the
   * read longer), so head and block are read together in one read. An index whose offsets say
   * less (a corrupt one) costs a second read for the rest, and the CID and hash checks still
   * hold; a section too long for one read, or whose head does not parse from the bytes read,
   * goes the way of {@link locate}.
   */
  async #find(cid: CID): Promise<Uint8Array | undefined> {
    for (const offset of this.index.find(cid.multihash.code, cid.multihash.digest)) {
      const got = await this.#readSection(offset);
      if (got === 'slow') break;
      if (!got.cid.equals(cid)) continue;
      verifyBlock(cid, got.bytes, this.#path);
      return got.bytes;
    }
    const at = await this.locate(cid);
    if (!at) return undefined;
    const bytes = await this.#readExactly(cid, at.offset, at.length);
    verifyBlock(cid, bytes, this.#path);
    return bytes;
  }

  async #readExactly(cid: CID, at: number, length: number): Promise<Uint8Array> {
    const bytes = new Uint8Array(length);
    const { bytesRead } = await this.#fh.read(bytes, 0, length, at);
    if (bytesRead !== length) throw new IndexCorruptError(`${this.#path}: block ${cid} is cut off at byte ${at + bytesRead}`);
    return bytes;
  }

  /** The section at `offset` read in one go (its CID and block bytes), or 'slow' when it cannot be. */
  async #readSection(offset: number): Promise<{ cid: CID; bytes: Uint8Array } | 'slow'> {
    this.#starts ??= this.index.offsets();
    const starts = this.#starts;
    let lo = 0;
    let hi = starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (starts[mid]! <= offset) lo = mid + 1;
      else hi = mid;
    }
    const at = this.#dataOffset + offset;
    const end = lo < starts.length ? this.#dataOffset + starts[lo]! : this.#dataEnd;
    if (end <= at || end - at > ONE_READ_MAX) return 'slow';
    const buf = new Uint8Array(end - at);
    const { bytesRead } = await this.#fh.read(buf, 0, buf.length, at);
    let head: { cid: CID; blockLength: number };
    const reader = bytesReader(buf.subarray(0, bytesRead));
    try {
      head = await readBlockHead(reader);
    } catch {
      return 'slow';
    }
    const blockStart = reader.pos;
    const blockEnd = blockStart + head.blockLength;
    if (blockEnd <= bytesRead) return { cid: head.cid, bytes: buf.subarray(blockStart, blockEnd) };
    if (blockEnd - bytesRead > ONE_READ_MAX) return 'slow';
    const bytes = new Uint8Array(head.blockLength);
    bytes.set(buf.subarray(blockStart, bytesRead));
    const rest = await this.#readExactly(head.cid, at + bytesRead, blockEnd - bytesRead);
    bytes.set(rest, bytesRead - blockStart);
    return { cid: head.cid, bytes };
  }

  async #section(offset: number): Promise<{ cid: CID; blockStart: number; blockLength: number }> {
    let pos = this.#dataOffset + offset;
    const reader = chunkReader(async () => {
      const buf = new Uint8Array(128);
      const { bytesRead } = await this.#fh.read(buf, 0, buf.length, pos);
      pos += bytesRead;
      return bytesRead > 0 ? buf.subarray(0, bytesRead) : null;
    });
    try {
      const { cid, blockLength } = await readBlockHead(reader);
      return { cid, blockStart: this.#dataOffset + offset + reader.pos, blockLength };
    } catch (err) {
      if (err instanceof SectorStorageError) throw err;
      throw new IndexCorruptError(`${this.#path}: the index points at payload offset ${offset}, where no block section starts (${(err as Error).message})`, { cause: err });
    }
  }

  async close(): Promise<void> {
    await this.#fh.close();
  }
}
