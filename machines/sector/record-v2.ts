// TEMPORARY (lead's WIP): the v2 record shape the machine writes, until src/db/sector-store.ts v2 lands.
import type { ErrorCode } from '../../src/errors.js';
import type { C1Ref, Pc1Result } from '../../src/tasks/task-types.js';

export const SECTOR_STATES = [
  'Empty', 'WaitDeals', 'AddPiece', 'Packing', 'GetTicket', 'PreCommit1', 'PreCommit2', 'PreCommitting',
  'PreCommitWait', 'WaitSeed', 'Committing', 'SubmitCommit', 'CommitWait', 'FinalizeSector', 'Proving',
  'Faulty', 'FaultReported', 'Removing', 'RemoveFailed', 'Removed', 'AddPieceFailed', 'PackingFailed',
  'SealPreCommit1Failed', 'SealPreCommit2Failed', 'PreCommitFailed', 'ComputeProofFailed', 'CommitFailed',
  'FinalizeFailed', 'FailedUnrecoverable',
] as const;
export type SectorStateName = (typeof SECTOR_STATES)[number];
export interface PieceRecord { pieceCid: string; pieceCidV2?: string; paddedOffset: number; paddedSize: number; payloadSize: number; filler: boolean }
export interface SectorErrorRecord { code: ErrorCode; message: string }
export interface SectorRecordDraft {
  v: 2; miner: number; number: number; proofType: number; state: SectorStateName; pieces: PieceRecord[]; packingRequested: boolean;
  commD?: string; ticket?: { value: string; epoch: number }; pc1?: Pc1Result; commR?: string;
  preCommit?: { message: string; epoch?: number }; seed?: { value: string; epoch: number }; c1?: C1Ref;
  proof?: { value?: string; sha256: string; bytes: number; prover: string }; commit?: { message: string; epoch?: number };
  counters: { preCommit2Fails: number; invalidProofs: number; retries: number };
  error?: SectorErrorRecord; lastLogAt?: number;
}
export interface LogEntryDraft { kind: string; message: string; trace?: string }
