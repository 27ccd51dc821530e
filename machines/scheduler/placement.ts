/**
 * Placement of deal pieces in sectors, pure: the explicit sector's checks, or the lowest-numbered
 * open sector with room (Lotus's `extern/storage-sealing/input.go` picks the open sector with the
 * least free space that fits; numbers keep it deterministic here and sectors fill in order).
 */
import type { WireError } from '../../src/errors.js';
import type { SectorSummary } from '../protocol.js';
import { placePiece } from '../sector-space.js';

/** The lowest-numbered accepting sector where the piece fits, if any. */
export function findSector(sectors: Record<string, SectorSummary>, pieceSize: number): SectorSummary | undefined {
  return Object.values(sectors)
    .filter((s) => s.accepting && placePiece(s.reservedEnd, pieceSize).end <= s.sectorSize)
    .sort((a, b) => a.number - b.number)[0];
}

/** Why a piece cannot go to the sector the client named, if it cannot. */
export function explicitRefusal(target: SectorSummary | undefined, sector: number, pieceSize: number): WireError | undefined {
  if (!target) return { code: 'SECTOR_UNKNOWN', message: `sector ${sector} does not exist` };
  if (!target.accepting) return { code: 'SECTOR_STATE_INVALID', message: `sector ${sector} is in state ${target.state} and takes no pieces` };
  if (placePiece(target.reservedEnd, pieceSize).end > target.sectorSize) {
    return {
      code: 'PIECE_DOES_NOT_FIT',
      message: `piece of ${pieceSize} padded bytes does not fit in sector ${sector}: ${target.sectorSize - target.reservedEnd} padded bytes left before alignment`,
    };
  }
  return undefined;
}

/** A summary with the piece counted in, until the sector reports (the sector's own check is authoritative). */
export function withPiece(target: SectorSummary, pieceSize: number): SectorSummary {
  return { ...target, reservedEnd: placePiece(target.reservedEnd, pieceSize).end };
}
