/**
 * Space arithmetic of a sector being filled (sector-storage.md §5.3), pure: where the next piece
 * lands, which zero pieces pad it into alignment (Lotus GetRequiredPadding), and which filler
 * pieces complete the sector at packing time (Lotus fillersFromRem). All sizes are padded bytes.
 */
import type { PieceRecord } from '../src/store/sector-store.js';
import type { PieceRequest } from './protocol.js';

/** Padded end of a list of pieces laid out in order. */
export function piecesEnd(pieces: readonly Pick<PieceRecord, 'paddedOffset' | 'paddedSize'>[]): number {
  const last = pieces.at(-1);
  return last === undefined ? 0 : last.paddedOffset + last.paddedSize;
}

/** Splits `n` padded bytes into powers of two, smallest first (one piece per set bit). */
export function powersOfTwoAscending(n: number): number[] {
  const out: number[] = [];
  let rest = n;
  for (let bit = 1; rest > 0; bit *= 2) {
    // sizes reach 2^36, beyond 32-bit `&`; use arithmetic on exact powers of two
    if ((rest / bit) % 2 === 1) {
      out.push(bit);
      rest -= bit;
    }
  }
  return out;
}

/**
 * Zero pieces to write at `offset` so that a piece of `pieceSize` starts at a multiple of its own
 * size: `(−offset) mod pieceSize`, smallest first (each then lands at a multiple of its size).
 */
export function requiredPadding(offset: number, pieceSize: number): number[] {
  const toFill = (pieceSize - (offset % pieceSize)) % pieceSize;
  return powersOfTwoAscending(toFill);
}

/** Where a piece of `pieceSize` would start after `end`, with its padding. */
export function placePiece(end: number, pieceSize: number): { offset: number; padding: number[]; end: number } {
  const padding = requiredPadding(end, pieceSize);
  const offset = end + padding.reduce((a, b) => a + b, 0);
  return { offset, padding, end: offset + pieceSize };
}

/** Filler pieces that complete a sector from `end` to `sectorSize`, smallest first. */
export function fillerPieces(end: number, sectorSize: number): number[] {
  return powersOfTwoAscending(sectorSize - end);
}

/** Padded end after the committed pieces and then every queued request, in order. */
export function reservedEnd(committedEnd: number, queued: readonly Pick<PieceRequest, 'pieceSize'>[]): number {
  return queued.reduce((end, r) => placePiece(end, r.pieceSize).end, committedEnd);
}
