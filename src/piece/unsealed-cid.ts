/**
 * CommD of a sector from its ordered pieces (lotus `ffiwrapper.GenerateUnsealedCID` over
 * rust-fil-proofs `compute_comm_d`, lotus storage-sealing `input.go`): each piece
 * is placed at the next multiple of its own padded size, the gaps before pieces and the rest of
 * the sector are zero pieces, and the whole is one binary tree. An empty list gives the zero
 * commitment of the sector.
 */
import type { CID } from 'multiformats/cid';
import { PieceDoesNotFitError, PieceSizeInvalidError } from '../errors.js';
import { sealProofInfo } from '../sector/proofs.js';
import { assertPaddedSize } from '../sector/sizes.js';
import { requiredPadding } from './alignment.js';
import { parsePieceCid, pieceCidV1 } from './piece-cid.js';
import { SubtreeStack } from './tree-stack.js';

/** A piece of a sector: its CID (v1 or v2) or raw commitment, and its padded size. */
export interface PieceInfo {
  /** Piece CID v1 or v2 (string or CID). */
  pieceCid?: string | CID;
  /** Raw 32-byte commitment, instead of `pieceCid`. */
  commP?: Uint8Array;
  /** Padded piece size; optional with a v2 piece CID (which carries it). */
  paddedSize?: number;
}

/** Resolves a piece description to its commitment and padded size. */
export function resolvePiece(piece: PieceInfo, index: number): { commP: Uint8Array; paddedSize: number } {
  const what = `piece ${index}`;
  let commP: Uint8Array;
  let paddedSize = piece.paddedSize;
  if (piece.pieceCid !== undefined) {
    const parsed = parsePieceCid(piece.pieceCid, `${what} CID`);
    commP = parsed.commP;
    if (parsed.version === 2) {
      if (paddedSize !== undefined && paddedSize !== parsed.paddedSize) {
        throw new PieceSizeInvalidError(
          `${what}: padded size ${paddedSize} contradicts its v2 piece CID, which says ${parsed.paddedSize}`,
        );
      }
      paddedSize = parsed.paddedSize;
    }
  } else if (piece.commP instanceof Uint8Array && piece.commP.length === 32) {
    commP = piece.commP;
  } else {
    throw new PieceSizeInvalidError(`${what} needs a pieceCid or a 32-byte commP`);
  }
  if (paddedSize === undefined) throw new PieceSizeInvalidError(`${what} needs a padded size (its CID is v1)`);
  assertPaddedSize(paddedSize, `${what} padded size`);
  return { commP, paddedSize };
}

/**
 * CommD (as a `baga6ea4seaq…` CID) of a sector sealed with `sealProof` holding `pieces` in
 * order.
 * @throws PieceDoesNotFitError when the aligned pieces exceed the sector
 * @example
 * generateUnsealedCid(5, []) // baga6ea4seaqpy7usqklokfx2vxuynmupslkeutzexe2uqurdg5vhtebhxqmpqmy
 */
export function generateUnsealedCid(sealProof: number, pieces: readonly PieceInfo[]): CID {
  return pieceCidV1(computeCommD(sealProofInfo(sealProof).sectorSize, pieces));
}

/** CommD bytes of a sector of `sectorSize` padded bytes holding `pieces` in order. */
export function computeCommD(sectorSize: number, pieces: readonly PieceInfo[]): Uint8Array {
  assertPaddedSize(sectorSize, 'sector size');
  const stack = new SubtreeStack();
  pieces.forEach((piece, i) => {
    const { commP, paddedSize } = resolvePiece(piece, i);
    const pad = requiredPadding(stack.total, paddedSize);
    if (stack.total + pad.size + paddedSize > sectorSize) {
      throw new PieceDoesNotFitError(
        `piece ${i} (${paddedSize} bytes) does not fit: it would end at ${stack.total + pad.size + paddedSize}, past the ${sectorSize}-byte sector`,
      );
    }
    for (const size of pad.pieces) stack.pushZeros(size);
    stack.push(paddedSize, commP);
  });
  return stack.fillTo(sectorSize);
}
