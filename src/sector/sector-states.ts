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

/**
 * The file types (FileType mask: unsealed 1, sealed 2, cache 4) a sector in `state` cannot do
 * without, so that start-up reconciliation can tell a lost sector from one that has nothing on
 * disk yet: its data (the unsealed file) until the sealed replica exists, then the replica (sealed
 * and cache). Proving sectors are left to the periodic CheckProvable, which declares them faulty.
 * A FailedUnrecoverable sector still needs where its data lived (the replica once it has a CommR,
 * else its unsealed file when it has pieces): its missing files stay drift, listed by `sectors
 * drift`, until the operator resolves it (`sectors drift resolve N --lost`).
 */
export function requiredFileTypes(state: SectorStateName, hasPieces: boolean, hasReplica = false): number {
  switch (state) {
    case 'Empty':
    case 'WaitDeals':
    case 'AddPiece':
    case 'AddPieceFailed':
    case 'Packing':
    case 'PackingFailed':
    case 'GetTicket':
    case 'PreCommit1':
    case 'PreCommit2':
    case 'SealPreCommit1Failed':
    case 'SealPreCommit2Failed':
      return hasPieces ? 1 : 0;
    case 'PreCommitting':
    case 'PreCommitWait':
    case 'PreCommitFailed':
    case 'WaitSeed':
    case 'Committing':
    case 'ComputeProofFailed':
    case 'SubmitCommit':
    case 'CommitWait':
    case 'CommitFailed':
    case 'FinalizeSector':
    case 'FinalizeFailed':
      return 2 | 4;
    case 'Proving':
    case 'Faulty':
    case 'FaultReported':
    case 'Removing':
    case 'RemoveFailed':
    case 'Removed':
      return 0;
    case 'FailedUnrecoverable':
      return hasReplica ? 2 | 4 : hasPieces ? 1 : 0;
    default: {
      const never: never = state;
      throw new TypeError(`unknown sector state ${String(never)}`);
    }
  }
}
