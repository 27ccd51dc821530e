/**
 * Lotus's partial (unsealed) sector file (lotus
 * `storage/sealer/partialfile`): the data region (`sectorSize` padded bytes, fr32-padded data at
 * padded offsets), then an RLE+ bitfield with one bit per padded byte marking what holds data,
 * then that bitfield's length as a u32 LE.
 *
 * Compatibility: a fresh file is `sectorSize` zero bytes plus `00 00 00 00` (an empty bitfield
 * is zero bytes long in go-bitfield ≥ v0.2.3, which current Lotus uses). The single byte `00`
 * that older go-bitfield wrote for an empty bitfield (and that current go-bitfield refuses as
 * not minimal) is still read as empty. Bitfields we write are canonical; Lotus may leave a
 * trailing run of zeros after `Free`, which decodes to the same set.
 *
 * Crash safety: Lotus rewrites the trailer in place, so a crash can leave a file whose length
 * field does not match. Here every trailer update is first written to a journal next to the
 * file (`.<name>.trailer`, written durably by src/fs/durable.ts), then applied in place, then
 * the journal is removed. Opening a file with a journal rolls it forward (or, read-only, uses it),
 * so a crash at any point leaves either the old or the new allocation, never an unreadable file. A
 * storage path's start-up scan rolls leftover journals forward with {@link recoverJournal}. The
 * steps are crash points (lifecycle/crash-points.ts) for tests that kill a real process between them.
 *
 * `free` only updates the bitfield: Lotus's hole punch is rejected by Linux (see §5.1) and Node
 * cannot punch holes, so the freed bytes stay on disk, exactly as with Lotus.
 */
import { type FileHandle, open, readFile, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { writeFileDurable } from '../fs/durable.js';
import { FileNotFoundError, InvalidArgumentError, noSpaceFrom, PartialFileCorruptError } from '../errors.js';
import { crashPoint } from '../lifecycle/crash-points.js';
import { WorkingFile } from '../sector/layout.js';
import { assertPaddedSize, paddedIndex } from '../sector/sizes.js';
import { addRange, coversRange, overlapSize, type Range, rangesToRuns, removeRange, runsToRanges } from './ranges.js';
import { decodeRuns, encodeRuns, lastSetEnd, type Run } from './rleplus.js';

/** Trailers larger than this are refused as corrupt (a real one is a few bytes per piece). */
const MAX_TRAILER = 64 * 1024 * 1024;
const JOURNAL_MAGIC = Buffer.from('SSPFJ1\n\0', 'latin1');

export interface OpenPartialFileOptions {
  /** Open for reading only (no writes, no journal roll-forward). @default false */
  readOnly?: boolean;
}

/** An open partial file. Not safe for concurrent writers; callers hold the sector lock. */
export class PartialFile {
  readonly path: string;
  readonly sectorSize: number;
  readonly readOnly: boolean;
  readonly #fh: FileHandle;
  #allocated: Range[];

  private constructor(path: string, sectorSize: number, fh: FileHandle, allocated: Range[], readOnly: boolean) {
    this.path = path;
    this.sectorSize = sectorSize;
    this.#fh = fh;
    this.#allocated = allocated;
    this.readOnly = readOnly;
  }

  /**
   * Creates a new partial file at `path` (which must not exist) with nothing allocated: a sparse
   * data region of `sectorSize` bytes and an empty trailer, synced to disk.
   */
  static async create(path: string, sectorSize: number): Promise<PartialFile> {
    assertPaddedSize(sectorSize, 'sector size');
    const fh = await open(path, 'wx+', 0o644).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'EEXIST') throw new InvalidArgumentError(`partial file ${path} already exists`, { cause: err });
      throw noSpaceFrom(err, `the new partial file ${path}`);
    });
    try {
      // the path did not exist, so a journal under its name belongs to an earlier, deleted file
      // (a crash between journaling and applying, then a remove): it must not touch this one
      await rm(journalPath(path), { force: true });
      await fh.truncate(sectorSize);
      await fh.write(trailerTail([]), 0, undefined, sectorSize);
      await fh.sync();
    } catch (err) {
      await fh.close().catch(() => {});
      await rm(path, { force: true });
      throw noSpaceFrom(err, `the trailer of the new partial file ${path}`);
    }
    return new PartialFile(path, sectorSize, fh, [], false);
  }

  /**
   * Opens an existing partial file and validates its trailer.
   * @throws FileNotFoundError when the file does not exist
   * @throws PartialFileCorruptError naming the file and what is wrong
   */
  static async open(path: string, sectorSize: number, options: OpenPartialFileOptions = {}): Promise<PartialFile> {
    assertPaddedSize(sectorSize, 'sector size');
    const readOnly = options.readOnly ?? false;
    const fh = await open(path, readOnly ? 'r' : 'r+').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') throw new FileNotFoundError(`partial file ${path} does not exist`, { cause: err });
      throw err;
    });
    try {
      const journal = await readJournal(path, sectorSize);
      let tail: Uint8Array | undefined;
      if (journal && !readOnly) {
        await applyTail(fh, sectorSize, journal).catch((err: unknown) => {
          throw noSpaceFrom(err, `the trailer journal's roll-forward into ${path}`);
        });
        await rm(journalPath(path), { force: true });
      } else if (journal) {
        tail = journal;
      }
      tail ??= await readTail(fh, path, sectorSize);
      const trailer = tail.subarray(0, tail.length - 4);
      const allocated = decodeTrailer(trailer, path, sectorSize);
      return new PartialFile(path, sectorSize, fh, allocated, readOnly);
    } catch (err) {
      await fh.close().catch(() => {});
      throw err;
    }
  }

  /** The allocated (data-holding) padded byte ranges, sorted. */
  allocated(): Range[] {
    return this.#allocated.map((r) => ({ ...r }));
  }

  /** The allocation bitfield as RLE+ runs (what the trailer encodes). */
  runs(): Run[] {
    return rangesToRuns(this.#allocated);
  }

  /** True when every padded byte of `[offset, offset + size)` is allocated. */
  isAllocated(paddedOffset: number, paddedSize: number): boolean {
    this.#checkRange(paddedOffset, paddedSize);
    return coversRange(this.#allocated, paddedOffset, paddedOffset + paddedSize);
  }

  /** Number of allocated padded bytes inside `[offset, offset + size)`. */
  allocatedWithin(paddedOffset: number, paddedSize: number): number {
    this.#checkRange(paddedOffset, paddedSize);
    return overlapSize(this.#allocated, paddedOffset, paddedOffset + paddedSize);
  }

  /** Lotus's `HasAllocated`: unpadded offset and size (multiples of 127) converted to padded. */
  hasAllocated(unpaddedOffset: number, unpaddedSize: number): boolean {
    return this.isAllocated(paddedIndex(unpaddedOffset), paddedIndex(unpaddedSize));
  }

  /** Marks `[offset, offset + size)` (padded bytes) allocated and rewrites the trailer. */
  async markAllocated(paddedOffset: number, paddedSize: number): Promise<void> {
    this.#checkRange(paddedOffset, paddedSize);
    await this.#setAllocated(addRange(this.#allocated, paddedOffset, paddedOffset + paddedSize));
  }

  /** Marks `[offset, offset + size)` (padded bytes) free and rewrites the trailer. */
  async free(paddedOffset: number, paddedSize: number): Promise<void> {
    this.#checkRange(paddedOffset, paddedSize);
    await this.#setAllocated(removeRange(this.#allocated, paddedOffset, paddedOffset + paddedSize));
  }

  /** Reads padded bytes of the data region at `paddedPos` into `buffer`; returns bytes read. */
  async readAt(buffer: Uint8Array, paddedPos: number): Promise<number> {
    this.#checkRange(paddedPos, buffer.length);
    let done = 0;
    while (done < buffer.length) {
      const { bytesRead } = await this.#fh.read(buffer, done, buffer.length - done, paddedPos + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return done;
  }

  /** Writes padded bytes into the data region at `paddedPos` (does not change the allocation). */
  async writeAt(data: Uint8Array, paddedPos: number): Promise<void> {
    if (this.readOnly) throw new InvalidArgumentError(`partial file ${this.path} is open read-only`);
    this.#checkRange(paddedPos, data.length);
    let done = 0;
    try {
      while (done < data.length) {
        const { bytesWritten } = await this.#fh.write(data, done, data.length - done, paddedPos + done);
        done += bytesWritten;
      }
    } catch (err) {
      throw noSpaceFrom(err, `${data.length} bytes at padded offset ${paddedPos} of ${this.path}`);
    }
  }

  /** Flushes written data to disk. */
  async sync(): Promise<void> {
    await this.#fh.sync().catch((err: unknown) => {
      throw noSpaceFrom(err, `the data of ${this.path} (fsync)`);
    });
  }

  async close(): Promise<void> {
    await this.#fh.close();
  }

  #checkRange(offset: number, size: number): void {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(size) || offset < 0 || size < 0) {
      throw new InvalidArgumentError(`range offset ${offset} size ${size} must be non-negative integers`);
    }
    if (offset + size > this.sectorSize) {
      throw new InvalidArgumentError(
        `range [${offset}, ${offset + size}) is outside the ${this.sectorSize}-byte data region of ${this.path}`,
      );
    }
  }

  async #setAllocated(next: Range[]): Promise<void> {
    if (this.readOnly) throw new InvalidArgumentError(`partial file ${this.path} is open read-only`);
    const tail = trailerTail(next);
    const jpath = journalPath(this.path);
    const header = Buffer.alloc(16);
    JOURNAL_MAGIC.copy(header, 0);
    header.writeBigUInt64LE(BigInt(this.sectorSize), 8);
    // the journal appears under its name only complete and durable (it sits beside the file);
    // a failure before that changes nothing: the file keeps its allocation
    try {
      await writeFileDurable(jpath, Buffer.concat([header, tail]), { beforeRename: () => crashPoint('partial.journal.written') });
    } catch (err) {
      throw noSpaceFrom(err, `the trailer journal of ${this.path}`);
    }
    crashPoint('partial.journal.renamed');
    // From here the journal is durable: a failure leaves it, and the next open rolls it forward.
    await applyTail(this.#fh, this.sectorSize, tail).catch((err: unknown) => {
      throw noSpaceFrom(err, `the trailer of ${this.path}`);
    });
    crashPoint('partial.journal.applied');
    await rm(jpath, { force: true });
    this.#allocated = next;
  }
}

/** Name of the trailer journal of a partial file. */
export function journalPath(path: string): string {
  return join(dirname(path), WorkingFile.trailerJournal(basename(path)));
}

/** What {@link recoverJournal} did with a trailer journal. */
export type JournalRecovery =
  | { outcome: 'none' }
  | { outcome: 'applied'; allocated: Range[] }
  | { outcome: 'discarded'; reason: string }
  | { outcome: 'invalid'; reason: string };

/**
 * Start-up recovery of the trailer journal of the partial file at `path`, without knowing the
 * sector size (the journal records it): a complete journal is rolled forward by opening the file
 * read-write (the same roll-forward as {@link PartialFile.open}); the journal of a file that no
 * longer exists is removed (it must never reach a new file of that name). A journal that is not
 * one of ours, or that does not fit its file, is left alone and reported as `invalid`.
 * @throws PartialFileCorruptError when the file's trailer is corrupt after the roll-forward
 */
export async function recoverJournal(path: string): Promise<JournalRecovery> {
  let bytes: Buffer;
  try {
    bytes = await readFile(journalPath(path));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { outcome: 'none' };
    throw err;
  }
  const journal = parseJournal(bytes);
  if (!journal) return { outcome: 'invalid', reason: `${journalPath(path)} is not a complete trailer journal` };
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    await rm(journalPath(path), { force: true });
    return { outcome: 'discarded', reason: `${path} does not exist` };
  }
  if (size < journal.sectorSize + 4) {
    return {
      outcome: 'invalid',
      reason: `${journalPath(path)} is for a ${journal.sectorSize}-byte sector but ${path} is only ${size} bytes`,
    };
  }
  const pf = await PartialFile.open(path, journal.sectorSize);
  const allocated = pf.allocated();
  await pf.close();
  return { outcome: 'applied', allocated };
}

/** `trailer || u32 LE(trailer length)` for an allocation. */
function trailerTail(ranges: readonly Range[]): Buffer {
  const trailer = encodeRuns(rangesToRuns(ranges));
  const tail = Buffer.alloc(trailer.length + 4);
  tail.set(trailer, 0);
  tail.writeUInt32LE(trailer.length, trailer.length);
  return tail;
}

async function applyTail(fh: FileHandle, sectorSize: number, tail: Uint8Array): Promise<void> {
  await fh.write(tail, 0, tail.length, sectorSize);
  await fh.truncate(sectorSize + tail.length);
  await fh.sync();
}

async function readTail(fh: FileHandle, path: string, sectorSize: number): Promise<Uint8Array> {
  const { size } = await fh.stat();
  if (size < sectorSize + 4) {
    throw new PartialFileCorruptError(
      `partial file ${path} is ${size} bytes, smaller than the ${sectorSize}-byte sector plus the 4-byte trailer length`,
    );
  }
  const lenBuf = Buffer.alloc(4);
  await fh.read(lenBuf, 0, 4, size - 4);
  const length = lenBuf.readUInt32LE(0);
  if (sectorSize + length + 4 !== size) {
    throw new PartialFileCorruptError(
      `partial file ${path} has inconsistent length: ${size} bytes, but its trailer length ${length} implies ${sectorSize + length + 4}`,
    );
  }
  if (length > MAX_TRAILER) {
    throw new PartialFileCorruptError(`partial file ${path} has an implausibly large trailer (${length} bytes)`);
  }
  const tail = Buffer.alloc(length + 4);
  await fh.read(tail, 0, length + 4, sectorSize);
  return tail;
}

function decodeTrailer(trailer: Uint8Array, path: string, sectorSize: number): Range[] {
  // go-bitfield before v0.2.3 wrote an empty bitfield as the single byte 00
  if (trailer.length === 1 && trailer[0] === 0) return [];
  const runs = decodeRuns(trailer, `partial file ${path} trailer`);
  const end = lastSetEnd(runs);
  if (end > sectorSize) {
    throw new PartialFileCorruptError(
      `partial file ${path} trailer marks bytes up to ${end} allocated, past the ${sectorSize}-byte sector`,
    );
  }
  return runsToRanges(runs);
}

/** The journal's tail if a complete, matching journal exists; undefined otherwise. */
async function readJournal(path: string, sectorSize: number): Promise<Uint8Array | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(journalPath(path));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  // the journal only appears (by rename) once complete, so a mismatch means it is foreign: ignore it
  const journal = parseJournal(bytes);
  return journal?.sectorSize === sectorSize ? journal.tail : undefined;
}

/** A journal's sector size and tail, or undefined when the bytes are not a complete journal. */
function parseJournal(bytes: Buffer): { sectorSize: number; tail: Uint8Array } | undefined {
  if (bytes.length < 20 || !bytes.subarray(0, 8).equals(JOURNAL_MAGIC)) return undefined;
  const sectorSize = Number(bytes.readBigUInt64LE(8));
  if (!Number.isSafeInteger(sectorSize) || sectorSize < 128 || !Number.isInteger(Math.log2(sectorSize))) return undefined;
  const tail = bytes.subarray(16);
  if (tail.readUInt32LE(tail.length - 4) !== tail.length - 4) return undefined;
  return { sectorSize, tail };
}

/** True when `path` exists. */
export async function partialFileExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
