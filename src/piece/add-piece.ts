/**
 * AddPiece at the storage level (lotus `ffiwrapper.AddPiece`): writes a
 * piece into a sector's unsealed partial file at an aligned padded offset. The payload is read
 * once: each chunk is fr32-padded and hashed in one native pass (commP) and the padded bytes go
 * straight to the file, with the next chunk hashed while the previous one is being written.
 * Memory stays flat (two 1 MiB chunk buffers) whatever the piece size.
 *
 * Safety: the first piece of a sector creates the file under a temporary name and renames it
 * into place only once the piece is written, synced and marked; for an existing file the range
 * is marked allocated (journaled trailer, see partial-file.ts) only after the data is synced, so
 * a payload that is too large, a cancelled task or a crash leaves nothing allocated. A temporary
 * file left by a crash is removed by the start-up scan of its storage path (storage/path-scan.ts).
 *
 * A piece shorter than its declared size is zero-filled to it (its commitment includes the
 * zeros, like Lotus's zero-padding reader). Filler pieces (no source) take their commitment from
 * the zero table and only write zeros where the file may hold stale bytes.
 */
import { rm } from 'node:fs/promises';
import type { CID } from 'multiformats/cid';
import {
  EmptyPayloadError,
  InvalidArgumentError,
  noSpaceFrom,
  PayloadTooLargeError,
  PieceDoesNotFitError,
} from '../errors.js';
import { publishExclusive, tempPathFor } from '../fs/durable.js';
import type { TaskProgress } from '../lifecycle/task-context.js';
import { crashPoint } from '../lifecycle/crash-points.js';
import { journalPath, PartialFile, partialFileExists } from '../partial/partial-file.js';
import { assertPaddedSize } from '../sector/sizes.js';
import { requiredPadding } from './alignment.js';
import { type ByteSource, chunksOf, throwIfAborted } from './byte-source.js';
import { CommPHasher } from './commp-hasher.js';
import { pieceCidV1, pieceCidV2 } from './piece-cid.js';
import { zeroPieceCommitment } from './zero-comm.js';

export interface AddPieceOptions {
  /** Path of the sector's unsealed file (created if it does not exist). */
  unsealedPath: string;
  /** Sector size in padded bytes. */
  sectorSize: number;
  /** Padded offset of the piece; a multiple of `pieceSize` (add filler pieces before it). */
  paddedOffset: number;
  /** Padded piece size: a power of two ≥ 128. */
  pieceSize: number;
  /** The payload (at most `pieceSize`·127/128 bytes); omitted for a zero filler piece. */
  source?: ByteSource;
  /** Called after each chunk with payload bytes read and the piece's unpadded capacity. */
  onProgress?: (bytesRead: number, capacity: number) => void;
  signal?: AbortSignal;
  /** Called between chunks; throws to stop (a pool task's `ctx.throwIfCancelled`). */
  checkCancelled?: () => void;
}

export interface AddPieceResult {
  /** Piece CID v1 of the piece as stored (payload plus zero fill to the piece size). */
  readonly pieceCid: CID;
  /** Piece CID v2, carrying the piece size and payload length. */
  readonly pieceCidV2: CID;
  readonly commP: Uint8Array;
  readonly paddedOffset: number;
  readonly paddedSize: number;
  /** Payload bytes (the whole unpadded capacity for a filler piece). */
  readonly payloadSize: number;
  /** True when this call created the unsealed file. */
  readonly created: boolean;
}

/** A deal piece to add to a sector of the daemon (`SectorService.addPiece`, the API's `PiecesAdd`). */
export interface AddPieceRequest {
  /** Target sector; when absent, the lowest-numbered open sector with room, or a new one. */
  sector?: number;
  /** The piece's bytes: exactly `payloadSize` of them. */
  source: AsyncIterable<Uint8Array>;
  payloadSize: number;
  /** Padded piece size (power of two ≥ 128). @default the smallest that holds the payload */
  pieceSize?: number;
  signal?: AbortSignal;
  onProgress?: (p: TaskProgress) => void;
}

/**
 * A deal piece as reported to clients once it is added to a sector (the daemon's `addPiece`, the
 * API's `PiecesAdd`): CIDs as strings, offsets in both units.
 */
export interface AddedPiece {
  /** Sector number. */
  sector: number;
  /** Unpadded byte offset of the piece in the sector (what `readPiece` / `pieces read` take). */
  offset: number;
  /** Padded byte offset of the piece in the sector. */
  paddedOffset: number;
  /** Piece CID v1 (`baga…`). */
  pieceCid: string;
  /** Piece CID v2 (`bafkzcib…`, FRC-0069). */
  pieceCidV2: string;
  /** Padded piece size (power of two ≥ 128). */
  paddedSize: number;
  /** Bytes of payload. */
  payloadSize: number;
}

const ZERO_BLOCK = 8 * 1024 * 1024;

/**
 * Adds one piece to a sector's unsealed file.
 * @throws PieceSizeInvalidError, PieceDoesNotFitError (too big, past the sector, overlapping
 * allocated data), InvalidArgumentError (misaligned offset), EmptyPayloadError,
 * PayloadTooLargeError
 */
export async function addPiece(options: AddPieceOptions): Promise<AddPieceResult> {
  const { unsealedPath, sectorSize, paddedOffset, pieceSize } = options;
  assertPaddedSize(sectorSize, 'sector size');
  assertPaddedSize(pieceSize, 'piece size');
  if (!Number.isSafeInteger(paddedOffset) || paddedOffset < 0) {
    throw new InvalidArgumentError(`padded offset ${paddedOffset} must be a non-negative integer`);
  }
  if (paddedOffset + pieceSize > sectorSize) {
    throw new PieceDoesNotFitError(
      `a ${pieceSize}-byte piece at padded offset ${paddedOffset} does not fit in the ${sectorSize}-byte sector (${Math.max(0, sectorSize - paddedOffset)} bytes left)`,
    );
  }
  if (paddedOffset % pieceSize !== 0) {
    const pad = requiredPadding(paddedOffset - (paddedOffset % 128), pieceSize);
    throw new InvalidArgumentError(
      `padded offset ${paddedOffset} is not aligned to the ${pieceSize}-byte piece; add filler pieces of ${pad.pieces.join(', ')} bytes first`,
    );
  }

  const created = !(await partialFileExists(unsealedPath));
  const path = created ? tempPathFor(unsealedPath) : unsealedPath;
  const pf = created ? await PartialFile.create(path, sectorSize) : await PartialFile.open(path, sectorSize);
  let done = false;
  try {
    const overlap = pf.allocatedWithin(paddedOffset, pieceSize);
    if (overlap > 0) {
      throw new PieceDoesNotFitError(
        `the ${pieceSize}-byte piece at padded offset ${paddedOffset} overlaps ${overlap} allocated bytes of ${unsealedPath}`,
      );
    }
    const capacity = pieceSize - pieceSize / 128;
    let root: Uint8Array;
    let payloadSize: number;
    let paddedWritten: number;
    if (options.source === undefined) {
      root = zeroPieceCommitment(pieceSize);
      payloadSize = capacity;
      paddedWritten = 0;
      options.onProgress?.(capacity, capacity);
    } else {
      ({ root, payloadSize, paddedWritten } = await writePayload(pf, options, capacity));
    }
    // the rest of the piece must read as zeros; a file we just created is sparse zeros already
    if (!created) await writeZeros(pf, paddedOffset + paddedWritten, pieceSize - paddedWritten, options);
    await pf.sync();
    crashPoint('addpiece.written');
    await pf.markAllocated(paddedOffset, pieceSize);
    await pf.close();
    done = true;
    if (created) {
      crashPoint('addpiece.complete');
      // a journal left under the final name by an earlier, deleted file would be rolled forward
      // onto this one at its next open (see PartialFile.create)
      await rm(journalPath(unsealedPath), { force: true });
      // refuses to replace a file that appeared meanwhile (a rename would clobber it)
      await publishExclusive(path, unsealedPath, { afterLink: () => crashPoint('addpiece.linked') }).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'EEXIST') {
          throw new InvalidArgumentError(`${unsealedPath} was created by someone else while this piece was being added`);
        }
        throw err;
      });
    }
    return {
      pieceCid: pieceCidV1(root),
      pieceCidV2: pieceCidV2(root, pieceSize, payloadSize),
      commP: root,
      paddedOffset,
      paddedSize: pieceSize,
      payloadSize,
      created,
    };
  } catch (err) {
    if (!done) await pf.close().catch(() => {});
    if (created) await rm(path, { force: true });
    throw noSpaceFrom(err, `the ${pieceSize}-byte piece at padded offset ${paddedOffset} of ${unsealedPath}`);
  }
}

async function writePayload(
  pf: PartialFile,
  options: AddPieceOptions,
  capacity: number,
): Promise<{ root: Uint8Array; payloadSize: number; paddedWritten: number }> {
  const base = options.paddedOffset;
  const hasher = new CommPHasher({ sink: (padded, offset) => pf.writeAt(padded, base + offset) });
  try {
    for await (const chunk of chunksOf(options.source!)) {
      throwIfAborted(options.signal, 'addPiece');
      options.checkCancelled?.();
      if (hasher.count + chunk.length > capacity) {
        throw new PayloadTooLargeError(
          `payload is larger than the declared ${options.pieceSize}-byte piece (more than ${capacity} bytes); nothing was added`,
        );
      }
      await hasher.write(chunk);
      options.onProgress?.(hasher.count, capacity);
    }
    if (hasher.count === 0) throw new EmptyPayloadError('payload is empty; nothing was added');
    const root = await hasher.finish(options.pieceSize);
    // the sink got whole 128-byte blocks of data; the zero subtrees past them were never written
    return { root, payloadSize: hasher.count, paddedWritten: Math.ceil(hasher.count / 127) * 128 };
  } catch (err) {
    await hasher.settle();
    throw err;
  }
}

async function writeZeros(pf: PartialFile, from: number, length: number, options: AddPieceOptions): Promise<void> {
  if (length <= 0) return;
  const zeros = new Uint8Array(Math.min(ZERO_BLOCK, length));
  for (let pos = 0; pos < length; pos += zeros.length) {
    throwIfAborted(options.signal, 'addPiece');
    options.checkCancelled?.();
    await pf.writeAt(zeros.subarray(0, Math.min(zeros.length, length - pos)), from + pos);
  }
}

export interface AddPieceWithPaddingResult {
  /** Zero pieces added first so the piece starts aligned (smallest first). */
  readonly fillers: AddPieceResult[];
  readonly piece: AddPieceResult;
  /** Padded offset just past the piece: where the next piece's padding starts. */
  readonly end: number;
}

/**
 * Adds the zero pieces needed to align a piece of `pieceSize` at `paddedOffset` (the end of the
 * sector's last piece, Lotus's GetRequiredPadding), then the piece itself.
 */
export async function addPieceWithPadding(options: AddPieceOptions): Promise<AddPieceWithPaddingResult> {
  assertPaddedSize(options.pieceSize, 'piece size');
  const pad = requiredPadding(options.paddedOffset, options.pieceSize);
  if (options.paddedOffset + pad.size + options.pieceSize > options.sectorSize) {
    throw new PieceDoesNotFitError(
      `a ${options.pieceSize}-byte piece does not fit after padded offset ${options.paddedOffset} (with ${pad.size} bytes of alignment padding) in the ${options.sectorSize}-byte sector`,
    );
  }
  const fillers: AddPieceResult[] = [];
  let offset = options.paddedOffset;
  try {
    for (const size of pad.pieces) {
      fillers.push(await addPiece({ ...options, paddedOffset: offset, pieceSize: size, source: undefined, onProgress: undefined }));
      offset += size;
    }
    const piece = await addPiece({ ...options, paddedOffset: offset });
    return { fillers, piece, end: offset + options.pieceSize };
  } catch (err) {
    // all or nothing: un-allocate the padding this call added
    if (fillers[0]?.created) {
      await rm(options.unsealedPath, { force: true });
    } else if (fillers.length > 0) {
      const pf = await PartialFile.open(options.unsealedPath, options.sectorSize);
      try {
        for (const f of fillers) await pf.free(f.paddedOffset, f.paddedSize);
      } finally {
        await pf.close();
      }
    }
    throw err;
  }
}
