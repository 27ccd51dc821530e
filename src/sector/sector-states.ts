/**
 * The states of a sector's life, by Lotus's names: the vocabulary shared by the sector machine
 * (machines/sector/), the persisted records (src/db/sector-record.ts) and the CLI.
 */

/**
 * Every state a record may hold: Lotus's names (`extern/storage-sealing/sector_state.go`) for the
 * states of the sector machine's phases (deal filling, pre-commit, commit, finalize/proving, removal,
 * failure handling). `Empty` is Lotus's deprecated twin of `WaitDeals`, and `PackingFailed` is
 * deprecated in Lotus too: both are read, never entered by a new sector.
 */
export const SECTOR_STATES = [
  // deal filling
  'Empty',
  'WaitDeals',
  'AddPiece',
  'Packing',
  'AddPieceFailed',
  'PackingFailed',
  // pre-commit
  'GetTicket',
  'PreCommit1',
  'PreCommit2',
  'PreCommitting',
  'PreCommitWait',
  'WaitSeed',
  // commit
  'Committing',
  'SubmitCommit',
  'CommitWait',
  // finalize and proving
  'FinalizeSector',
  'Proving',
  'Faulty',
  'FaultReported',
  // removal
  'Removing',
  'RemoveFailed',
  'Removed',
  // failures (retried by the rules of Lotus's states_failed.go)
  'SealPreCommit1Failed',
  'SealPreCommit2Failed',
  'PreCommitFailed',
  'ComputeProofFailed',
  'CommitFailed',
  'FinalizeFailed',
  // data gone from every path: only removal or an operator's drift resolution leaves it (Lotus)
  'FailedUnrecoverable',
] as const;

/** A persisted sector state name (Lotus's spelling). */
export type SectorStateName = (typeof SECTOR_STATES)[number];

/** True for a state name a record may hold. */
export function isSectorState(v: unknown): v is SectorStateName {
  return typeof v === 'string' && (SECTOR_STATES as readonly string[]).includes(v);
}
