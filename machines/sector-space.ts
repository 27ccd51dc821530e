/**
 * Space arithmetic of a sector being filled (Lotus storage-sealing `input.go`), pure: where the next piece
 * lands and how far accepted requests reach. The padding and filler decompositions themselves
 * (Lotus GetRequiredPadding, fillersFromRem) are src/piece/alignment.ts. Sizes are padded bytes.
 */
import { requiredPadding } from '../src/piece/alignment.js';
import type { PieceRecord } from '../src/db/sector-store.js';
import type { PieceRequest } from './protocol.js';

/** Padded end of a list of pieces laid out in order. */
export function piecesEnd(pieces: readonly Pick<PieceRecord, 'paddedOffset' | 'paddedSize'>[]): number {
  const last = pieces.at(-1);
  return last === undefined ? 0 : last.paddedOffset + last.paddedSize;
}

/** Where a piece of `pieceSize` would start after `end`, with its padding. */
export function placePiece(end: number, pieceSize: number): { offset: number; padding: number[]; end: number } {
  const padding = requiredPadding(end, pieceSize);
  const offset = end + padding.size;
  return { offset, padding: padding.pieces, end: offset + pieceSize };
}

/** Padded end after the committed pieces and then every queued request, in order. */
export function reservedEnd(committedEnd: number, queued: readonly Pick<PieceRequest, 'pieceSize'>[]): number {
  return queued.reduce((end, r) => placePiece(end, r.pieceSize).end, committedEnd);
}
