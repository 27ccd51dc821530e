/**
 * A CAR file and its index as a read-only blockstore (go-car v2 `blockstore.NewReadOnly` with
 * `UseWholeCIDs`, as dagstore's accessor builds it): a block is found by its multihash in the
 * `MultihashIndexSorted` index, read at its section offset, and returned only if the section's
 * CID is the whole CID asked for and its bytes hash to it. The index is kept in a file of its own
 * (dagstore's `index/<key>.full.idx`); one that is missing, does not parse, or points at sections
 * that are not there is rebuilt from the CAR.
 */
import { open, readFile } from 'node:fs/promises';
import { chunkReader, readBlockHead } from '@ipld/car/decoder';
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

/** Where the CARv1 payload starts in a CAR file (after a CARv2's pragma and header). */
async function payloadOffset(fh: import('node:fs/promises').FileHandle): Promise<number> {
  const head = Buffer.alloc(51);
  const { bytesRead } = await fh.read(head, 0, 51, 0);
  if (bytesRead === 51 && head.subarray(0, 11).equals(Buffer.from('0aa16776657273696f6e02', 'hex'))) return Number(head.readBigUInt64LE(11 + 16));
  return 0;
}

/** Blocks of one CAR by CID. Open with {@link CarBlocks.open}; `close()` when done. */
export class CarBlocks {
  readonly #fh: import('node:fs/promises').FileHandle;
  readonly #dataOffset: number;
  readonly index: MultihashIndexSorted;
  readonly #path: string;

  private constructor(fh: import('node:fs/promises').FileHandle, dataOffset: number, index: MultihashIndexSorted, path: string) {
    this.#fh = fh;
    this.#dataOffset = dataOffset;
    this.index = index;
    this.#path = path;
  }

  static async open(carPath: string, index: MultihashIndexSorted): Promise<CarBlocks> {
    const fh = await open(carPath, 'r');
    try {
      return new CarBlocks(fh, await payloadOffset(fh), index, carPath);
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

  async #find(cid: CID): Promise<Uint8Array | undefined> {
    const at = await this.locate(cid);
    if (!at) return undefined;
    const bytes = new Uint8Array(at.length);
    const { bytesRead } = await this.#fh.read(bytes, 0, at.length, at.offset);
    if (bytesRead !== at.length) throw new IndexCorruptError(`${this.#path}: block ${cid} is cut off at byte ${at.offset + bytesRead}`);
    verifyBlock(cid, bytes, this.#path);
    return bytes;
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
