/**
 * ReadPiece (lotus `extern/sector-storage/ffiwrapper/sealer_cgo.go`): the original, unpadded bytes of a piece read back from a
 * sector's unsealed partial file, streaming. The range is given in unpadded bytes, at any offset
 * and of any length (Lotus's UnpaddedByteIndex must be a multiple of 127; a block at an arbitrary
 * offset of a CAR cannot live with that): the whole fr32 blocks covering it are read and the
 * range cut out of them (src/piece/unpad-stream.ts). Every padded byte of those blocks must be
 * allocated.
 */
import { fr32Unpad } from '../../native/hash.js';
import { InvalidArgumentError, noSpaceFrom, RangeNotAllocatedError } from '../errors.js';
import { DurableTempFile } from '../fs/durable.js';
import { PartialFile } from '../partial/partial-file.js';
import { throwIfAborted } from './byte-source.js';
import { paddedWindow } from './unpad-stream.js';

export interface ReadPieceOptions {
  /** Path of the sector's unsealed file. */
  unsealedPath: string;
  /** Sector size in padded bytes. */
  sectorSize: number;
  /** Unpadded offset of the first byte. */
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

/** Validates a read request and returns the padded window covering it (src/piece/unpad-stream.ts). */
export function paddedRangeOf(options: Pick<ReadPieceOptions, 'unpaddedOffset' | 'size' | 'sectorSize'>) {
  const { unpaddedOffset, size, sectorSize } = options;
  const { start, length, skip } = paddedWindow(unpaddedOffset, size);
  if (start + length > sectorSize) {
    throw new InvalidArgumentError(
      `range of ${size} bytes at unpadded offset ${unpaddedOffset} ends past the ${sectorSize}-byte sector`,
    );
  }
  return { start, length, skip };
}

/**
 * Streams the unpadded bytes of `[unpaddedOffset, unpaddedOffset + size)`. Each yielded chunk
 * is a fresh buffer the consumer may keep.
 * @throws FileNotFoundError when the unsealed file does not exist
 * @throws RangeNotAllocatedError when part of the range holds no data
 */
export async function* readPiece(options: ReadPieceOptions): AsyncGenerator<Uint8Array> {
  const { start, length, skip } = paddedRangeOf(options);
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
    let toSkip = skip;
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
        const from = Math.min(toSkip, out.length);
        toSkip -= from;
        const keep = Math.min(out.length - from, options.size - produced);
        produced += keep;
        throwIfAborted(options.signal, 'readPiece');
        options.checkCancelled?.();
        options.onProgress?.(produced, options.size);
        if (keep > 0) yield keep === out.length ? out : out.subarray(from, from + keep);
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
