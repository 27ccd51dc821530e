/**
 * Piece alignment and filler pieces (lotus storage-sealing `input.go`
 * GetRequiredPadding and `fillersFromRem`). Every piece starts at a multiple of its own padded
 * size; the gap before it is filled with zero pieces, one per set bit of the gap, smallest first.
 * When a sector is packed, the rest is filled the same way. Sizes reach 2^36, so the bit
 * arithmetic is done on numbers, not 32-bit operators.
 */
import { InvalidArgumentError } from '../errors.js';
import { assertPaddedSize } from '../sector/sizes.js';

/** Powers of two whose sum is `n`, smallest first (n ≥ 0, a safe integer). */
export function powersOfTwo(n: number): number[] {
  const out: number[] = [];
  let rest = n;
  let bit = 1;
  while (rest > 0) {
    if (rest % (bit * 2) !== 0) {
      out.push(bit);
      rest -= bit;
    }
    bit *= 2;
  }
  return out;
}

/**
 * Zero pieces (padded sizes, smallest first) to add at `paddedOffset` so that a piece of
 * `paddedPieceSize` starts aligned to its size, and their total.
 * @example
 * requiredPadding(128, 1024) // { pieces: [128, 256, 512], size: 896 }
 */
export function requiredPadding(paddedOffset: number, paddedPieceSize: number): { pieces: number[]; size: number } {
  assertPaddedSize(paddedPieceSize);
  if (!Number.isSafeInteger(paddedOffset) || paddedOffset < 0 || paddedOffset % 128 !== 0) {
    throw new InvalidArgumentError(`padded offset ${paddedOffset} must be a non-negative multiple of 128`);
  }
  const toFill = (paddedPieceSize - (paddedOffset % paddedPieceSize)) % paddedPieceSize;
  return { pieces: powersOfTwo(toFill), size: toFill };
}

/**
 * Filler pieces (padded sizes, smallest first) for the space left after `paddedOffset` in a
 * sector of `sectorSize` padded bytes: one piece per set bit of the remainder, each aligned.
 */
export function fillerPieces(paddedOffset: number, sectorSize: number): number[] {
  assertPaddedSize(sectorSize, 'sector size');
  if (!Number.isSafeInteger(paddedOffset) || paddedOffset < 0 || paddedOffset % 128 !== 0 || paddedOffset > sectorSize) {
    throw new InvalidArgumentError(
      `padded offset ${paddedOffset} must be a multiple of 128 within the ${sectorSize}-byte sector`,
    );
  }
  return powersOfTwo(sectorSize - paddedOffset);
}

/** Lotus's `fillersFromRem`: unpadded remainder → unpadded filler piece sizes, smallest first. */
export function fillersFromUnpaddedRemainder(unpaddedRemaining: number): number[] {
  if (!Number.isSafeInteger(unpaddedRemaining) || unpaddedRemaining < 0 || unpaddedRemaining % 127 !== 0) {
    throw new InvalidArgumentError(`unpadded remainder ${unpaddedRemaining} must be a non-negative multiple of 127`);
  }
  return powersOfTwo(unpaddedRemaining + unpaddedRemaining / 127).map((p) => p - p / 128);
}
