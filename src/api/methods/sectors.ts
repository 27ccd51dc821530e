/**
 * Sector views: `Filecoin.SectorsList` and `Filecoin.SectorsStatus`. Results use Lotus's
 * capitalised field names (`SectorID`, `State`, `CIDcommD`…) and carry every piece with its CIDs
 * and offsets. Unlike Lotus's `SectorsList` (numbers only), the list returns full entries, so
 * `sectors list` needs one call.
 */
import { SectorUnknownError } from '../../errors.js';
import { sealProofInfo } from '../../sector/proofs.js';
import type { SectorRecord } from '../../db/sector-store.js';
import type { SectorApiService } from '../components.js';
import { expectArity, intParam } from '../params.js';
import { defineMethod } from '../rpc-method.js';

/** A piece of a sector as the API reports it. */
export interface PieceInfo {
  /** Piece CID v1 (`baga…`). */
  PieceCID: string;
  /** Piece CID v2 (`bafkzcib…`); absent for filler pieces. */
  PieceCIDv2?: string;
  PaddedSize: number;
  /** Padded offset in the sector. */
  PaddedOffset: number;
  /** Unpadded offset in the sector (what `pieces read` takes). */
  Offset: number;
  /** Payload bytes (0 for fillers). */
  PayloadSize: number;
  /** Alignment or packing filler (zeros written by the sector itself). */
  Filler: boolean;
}

/** A sector as the API reports it. */
export interface SectorInfo {
  SectorID: number;
  Miner: number;
  /** Lotus state name (`WaitDeals`, `AddPiece`, `Packing`, `AddPieceFailed`…). */
  State: string;
  SealProof: number;
  SectorSize: number;
  Pieces: PieceInfo[];
  /** Padded bytes used by pieces (deal pieces and fillers). */
  UsedPadded: number;
  /** Unsealed sector CID, once known (after packing). */
  CIDcommD?: string;
  LastError?: { code: string; message: string };
  /** Unix ms of the last change. */
  UpdatedAt: number;
}

/** Converts a persisted sector record to the API form. */
export function sectorInfoFromRecord(r: SectorRecord): SectorInfo {
  let sectorSize = 0;
  try {
    sectorSize = sealProofInfo(r.proofType).sectorSize;
  } catch {
    // an unknown proof in a record is reported as size 0 rather than failing the whole listing
  }
  const pieces = r.pieces.map(
    (p): PieceInfo => ({
      PieceCID: p.pieceCid,
      ...(p.pieceCidV2 ? { PieceCIDv2: p.pieceCidV2 } : {}),
      PaddedSize: p.paddedSize,
      PaddedOffset: p.paddedOffset,
      Offset: p.paddedOffset - p.paddedOffset / 128,
      PayloadSize: p.payloadSize,
      Filler: p.filler,
    }),
  );
  return {
    SectorID: r.number,
    Miner: r.miner,
    State: r.state,
    SealProof: r.proofType,
    SectorSize: sectorSize,
    Pieces: pieces,
    UsedPadded: pieces.reduce((end, p) => Math.max(end, p.PaddedOffset + p.PaddedSize), 0),
    ...(r.commD ? { CIDcommD: r.commD } : {}),
    ...(r.error ? { LastError: { code: r.error.code, message: r.error.message } } : {}),
    UpdatedAt: r.updatedAt,
  };
}

function service(s: SectorApiService | undefined): SectorApiService {
  if (!s) throw new SectorUnknownError('this node has no sector service');
  return s;
}

export const sectorsMethods = {
  /** `Filecoin.SectorsList() → SectorInfo[]` (read), ordered by sector number. */
  SectorsList: defineMethod({
    perm: 'read',
    params: (raw): [] => {
      expectArity(raw, 0);
      return [];
    },
    run: async (_p, { components }): Promise<SectorInfo[]> => {
      const records = await service(components.sectors).listSectors();
      return records.map(sectorInfoFromRecord).sort((a, b) => a.SectorID - b.SectorID);
    },
  }),
  /** `Filecoin.SectorsStatus(sector) → SectorInfo` (read); SECTOR_UNKNOWN for an unknown number. */
  SectorsStatus: defineMethod({
    perm: 'read',
    params: (raw): [number] => {
      expectArity(raw, 1, 2); // Lotus passes a second `showOnChainInfo` boolean; ignored here
      return [intParam(raw, 0, 'sector')];
    },
    run: async ([sector], { components }): Promise<SectorInfo> =>
      sectorInfoFromRecord(await service(components.sectors).sectorStatus(sector)),
  }),
};
