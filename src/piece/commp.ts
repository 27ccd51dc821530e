/**
 * Piece commitment (commP) of a payload, streaming with flat memory: like `lotus client commP`
 * and go-fil-commp-hashhash, the payload is zero-filled to the smallest power-of-two piece that
 * holds it (go-commp-utils `zerocomm`, rust-fil-proofs `fr32`/`commitment`).
 *
 * Minimum payload: 65 bytes. go-fil-commp-hashhash refuses anything shorter and
 * @web3-storage/data-segment defines the same minimum (2 nodes + 1 byte): below it the payload
 * fits in fewer than the 4 leaves of the smallest piece and the result would not be a
 * meaningful piece commitment. An empty payload is refused too.
 */
import type { CID } from 'multiformats/cid';
import { EmptyPayloadError, PayloadTooSmallError } from '../errors.js';
import { paddedSizeForPayload } from '../sector/sizes.js';
import { type ByteSource, chunksOf, readFileRange, throwIfAborted } from './byte-source.js';
import { CommPHasher } from './commp-hasher.js';
import { pieceCidV1, pieceCidV2 } from './piece-cid.js';

/** Smallest payload a piece commitment is computed for (go-fil-commp-hashhash, data-segment). */
export const MIN_PAYLOAD_SIZE = 65;

/** What commP returns. */
export interface CommPResult {
  /** Piece CID v1 (`baga6ea4seaq…`). */
  readonly pieceCid: CID;
  /** Piece CID v2 (`bafkzcib…`, FRC-0069), which also carries the sizes. */
  readonly pieceCidV2: CID;
  /** Padded piece size: the smallest power of two ≥ 128 holding the fr32-padded payload. */
  readonly paddedSize: number;
  /** Payload bytes read. */
  readonly payloadSize: number;
  /** The raw 32-byte commitment. */
  readonly commP: Uint8Array;
}

export interface CommPOptions {
  /** Called after each chunk with the payload bytes read so far. */
  onProgress?: (bytesRead: number) => void;
  /** Stops between chunks when aborted. */
  signal?: AbortSignal;
  /** Called between chunks; throws to stop (a pool task's `ctx.throwIfCancelled`). */
  checkCancelled?: () => void;
  /** 127-byte blocks per chunk (power of two). @default 8192 (1 MiB padded) */
  chunkBlocks?: number;
}

/**
 * commP of a payload given as bytes or a stream.
 * @example
 * const { pieceCid, paddedSize } = await commP(createReadStream('deal.car'));
 */
export async function commP(source: ByteSource, options: CommPOptions = {}): Promise<CommPResult> {
  const hasher = new CommPHasher({ chunkBlocks: options.chunkBlocks });
  for await (const chunk of chunksOf(source)) {
    throwIfAborted(options.signal, 'commP');
    options.checkCancelled?.();
    await hasher.write(chunk);
    options.onProgress?.(hasher.count);
  }
  return finishCommP(hasher);
}

/** commP of a file, read with a prefetching reader (no stream machinery, flat memory). */
export async function commPFile(path: string, options: CommPOptions = {}): Promise<CommPResult> {
  return commP(readFileRange(path), options);
}

async function finishCommP(hasher: CommPHasher): Promise<CommPResult> {
  const payloadSize = hasher.count;
  if (payloadSize === 0) throw new EmptyPayloadError('payload is empty; a piece needs at least 65 bytes');
  if (payloadSize < MIN_PAYLOAD_SIZE) {
    throw new PayloadTooSmallError(
      `payload is ${payloadSize} bytes; a piece commitment needs at least ${MIN_PAYLOAD_SIZE} bytes (as go-fil-commp-hashhash and data-segment require)`,
    );
  }
  const paddedSize = paddedSizeForPayload(payloadSize);
  const root = await hasher.finish(paddedSize);
  return commPResult(root, paddedSize, payloadSize);
}

/** Builds a {@link CommPResult} from a commitment and its sizes. */
export function commPResult(root: Uint8Array, paddedSize: number, payloadSize: number): CommPResult {
  return {
    pieceCid: pieceCidV1(root),
    pieceCidV2: pieceCidV2(root, paddedSize, payloadSize),
    paddedSize,
    payloadSize,
    commP: root,
  };
}
