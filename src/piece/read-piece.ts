/**
 * ReadPiece (lotus `extern/sector-storage/ffiwrapper/sealer_cgo.go`): the original, unpadded bytes of a piece read back from a
 * sector's unsealed partial file, streaming. The range is given in unpadded bytes (offset a
 * multiple of 127, as Lotus's UnpaddedByteIndex); the size may be any length, so a payload can
 * be read back exactly even when it is not a multiple of 127. Every padded byte of the range
 * must be allocated.
 */
import { fr32Unpad } from '../../native/hash.js';
import { InvalidArgumentError, noSpaceFrom, RangeNotAllocatedError } from '../errors.js';
import { DurableTempFile } from '../fs/durable.js';
import { PartialFile } from '../partial/partial-file.js';
import { throwIfAborted } from './byte-source.js';
import { paddedIndex } from '../sector/sizes.js';

export interface ReadPieceOptions {
  /** Path of the sector's unsealed file. */
  unsealedPath: string;
  /** Sector size in padded bytes. */
  sectorSize: number;
  /** Unpadded offset of the first byte (a multiple of 127). */
  unpaddedOffset: number;
  /** Number of unpadded bytes to read (≥ 1). */
  size: number;
  /** Called after each chunk with bytes produced so far and the total. */
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
  /** Called between chunks; throws to stop (a pool task's `ctx.throwIfCancelled`). */
  checkCancelled?: () => void;
}

/** 127-byte blocks per read: 1 MiB padded. */
const CHUNK_BLOCKS = 8192;

/** Validates a read request and returns its padded range. */
export function paddedRangeOf(options: Pick<ReadPieceOptions, 'unpaddedOffset' | 'size' | 'sectorSize'>) {
  const { unpaddedOffset, size, sectorSize } = options;
  const start = paddedIndex(unpaddedOffset);
  if (!Number.isSafeInteger(size) || size < 1) throw new InvalidArgumentError(`size ${size} must be a positive integer`);
  const length = Math.ceil(size / 127) * 128;
  if (start + length > sectorSize) {
    throw new InvalidArgumentError(
      `range of ${size} bytes at unpadded offset ${unpaddedOffset} ends past the ${sectorSize}-byte sector`,
    );
  }
  return { start, length };
}

/**
 * Streams the unpadded bytes of `[unpaddedOffset, unpaddedOffset + size)`. Each yielded chunk
 * is a fresh buffer the consumer may keep.
 * @throws FileNotFoundError when the unsealed file does not exist
 * @throws RangeNotAllocatedError when part of the range holds no data
 */
export async function* readPiece(options: ReadPieceOptions): AsyncGenerator<Uint8Array> {
  const { start, length } = paddedRangeOf(options);
  const pf = await PartialFile.open(options.unsealedPath, options.sectorSize, { readOnly: true });
  try {
    if (!pf.isAllocated(start, length)) {
      const have = pf.allocatedWithin(start, length);
      throw new RangeNotAllocatedError(
        `unpadded range [${options.unpaddedOffset}, ${options.unpaddedOffset + options.size}) of ${options.unsealedPath} is not allocated (${length - have} of its ${length} padded bytes hold no data)`,
      );
    }
    const chunk = 128 * CHUNK_BLOCKS;
    const bufs = [new Uint8Array(chunk), new Uint8Array(chunk)];
    let which = 0;
    let produced = 0;
    const readAt = (pos: number) => pf.readAt(bufs[which]!.subarray(0, Math.min(chunk, start + length - pos)), pos);
    let pos = start;
    let pending: Promise<number> | undefined = readAt(pos);
    try {
      while (pending) {
        const n = await pending;
        const padded = bufs[which]!.subarray(0, n);
        pos += n;
        which ^= 1;
        pending = pos < start + length ? readAt(pos) : undefined;
        const out = new Uint8Array((n / 128) * 127);
        fr32Unpad(padded, out);
        const keep = Math.min(out.length, options.size - produced);
        produced += keep;
        throwIfAborted(options.signal, 'readPiece');
        options.checkCancelled?.();
        options.onProgress?.(produced, options.size);
        yield keep === out.length ? out : out.subarray(0, keep);
      }
    } finally {
      await pending?.catch(() => {});
    }
  } finally {
    await pf.close();
  }
}

/**
 * Reads a piece range into a new file at `outPath` (written under a temporary name, synced,
 * then renamed, so a failed read leaves no partial output).
 */
export async function readPieceToFile(options: ReadPieceOptions & { outPath: string }): Promise<{ bytes: number }> {
  const out = await DurableTempFile.open(options.outPath);
  let bytes = 0;
  try {
    for await (const chunk of readPiece(options)) {
      let done = 0;
      while (done < chunk.length) {
        const { bytesWritten } = await out.handle.write(chunk, done, chunk.length - done);
        done += bytesWritten;
      }
      bytes += chunk.length;
    }
    await out.commit();
    return { bytes };
  } catch (err) {
    await out.discard();
    throw noSpaceFrom(err, `the read of ${options.unsealedPath} into ${options.outPath}`);
  }
}
