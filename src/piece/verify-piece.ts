/**
 * Verified reads: the bytes of a whole piece, read back, must hash to its recorded piece CID.
 *
 * What a verified read guarantees, and which ranges can be verified: piece/whole-piece.ts.
 *
 * The check costs one commP pass over the bytes being read (the same native fr32 + SHA-256 pass
 * as AddPiece). The last chunk is held back until the check passes, so a consumer that does not
 * look at the stream's error (a plain HTTP client) still gets a short body, never a complete-looking
 * corrupt one.
 */
import { InvalidArgumentError, PieceCorruptError } from '../errors.js';
import { CommPHasher } from './commp-hasher.js';
import { commPFromPieceCid, pieceCidV1 } from './piece-cid.js';
import type { RecordedPiece } from './whole-piece.js';

/** Where a verified read comes from, for the error message. */
export interface VerifyContext {
  sector: number;
  /** Unpadded offset of the piece. */
  offset: number;
}

/**
 * Yields `source` (the unpadded bytes of `piece`, read from its offset) while computing their
 * commP, holding the last chunk back until the commP matches the piece CID.
 * @throws PieceCorruptError naming the sector, the piece and both CIDs, when they differ
 */
export async function* verifyPieceStream(source: AsyncIterable<Uint8Array>, piece: RecordedPiece, where: VerifyContext): AsyncGenerator<Uint8Array> {
  const expected = commPFromPieceCid(piece.pieceCid);
  const hasher = new CommPHasher();
  const capacity = piece.paddedSize - piece.paddedSize / 128;
  let held: Uint8Array | undefined;
  for await (const chunk of source) {
    if (hasher.count + chunk.length > capacity) {
      throw new InvalidArgumentError(`sector ${where.sector}: a read of more than ${capacity} bytes is not within the piece ${piece.pieceCid}`);
    }
    await hasher.write(chunk);
    if (held) yield held;
    held = chunk;
  }
  const root = await hasher.finish(piece.paddedSize);
  if (!Buffer.from(root).equals(expected)) {
    throw new PieceCorruptError(
      `sector ${where.sector}: the piece ${piece.pieceCid} at offset ${where.offset} reads back as ${pieceCidV1(root).toString()}: its stored bytes are corrupt`,
    );
  }
  if (held) yield held;
}
