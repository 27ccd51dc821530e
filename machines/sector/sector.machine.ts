/**
 * One sector: Lotus's sealing state machine (`extern/storage-sealing/fsm.go`), from Empty to
 * Proving, with its failure states, removal and faults. The phases are read alone:
 *
 * | phase | file |
 * |---|---|
 * | deal filling: WaitDeals, AddPiece, Packing | deal-filling.ts |
 * | pre-commit: GetTicket … WaitSeed | precommit.ts |
 * | commit: Committing (C1, C2), SubmitCommit, CommitWait | commit.ts |
 * | finalize and proving: FinalizeSector, Proving, Faulty, FaultReported | proving.ts |
 * | removal: Removing, RemoveFailed, Removed | removal.ts |
 * | failures and retries | failures.ts |
 * | where a restored sector resumes | restore.ts |
 *
 * The machine is pure: its I/O is named actors (chain steps, CommD, file removal) bound in
 * actors/system.ts with `provide()`, tasks the scheduler runs on its behalf
 * (`scheduler.task.request` → `sector.task.done/failed`), and `index.call` saves of its record
 * answered by `index.result` once committed.
 *
 * Global events: `sector.remove` from any state (Lotus SectorRemove; its `reason`, when given, is
 * the message of its log entry); `sector.files.missing`
 * (start-up reconciliation) makes a sector whose data is gone FailedUnrecoverable;
 * `sector.startPacking` is "ignorable" as in Lotus.
 */
import { sectorSetup } from './sector-setup.js';
import { createContext } from './sector-context.js';
import { AddPiece, AddPieceFailed, Discarded, Packing, PackingFailed, WaitDeals, routing } from './deal-filling.js';
import { GetTicket, PreCommit1, PreCommit2, PreCommitting, PreCommitWait, WaitSeed } from './precommit.js';
import { Committing, CommitWait, SubmitCommit } from './commit.js';
import { FaultReported, Faulty, FinalizeSector, Proving } from './proving.js';
import { Removed, RemoveFailed, Removing } from './removal.js';
import {
  CommitFailed,
  ComputeProofFailed,
  FailedUnrecoverable,
  FinalizeFailed,
  PreCommitFailed,
  SealPreCommit1Failed,
  SealPreCommit2Failed,
} from './failures.js';
import { restoreTransitions } from './restore.js';

export const sectorMachine = sectorSetup.createMachine({
  id: 'sector',
  context: ({ input }) => createContext(input),
  initial: 'restoring',
  on: {
    'sector.addPiece': { actions: { type: 'rejectRequest', params: { code: 'SECTOR_STATE_INVALID' } } },
    'sector.request.cancel': { actions: 'dropQueued' },
    'index.result': [{ guard: 'saveFailed', actions: 'forgetSave' }, { actions: 'confirmSave' }],
    'index.results': { actions: 'splitResults' },
    'sector.remove': {
      actions: [
        { type: 'replyFailed', params: { error: { code: 'ABORTED', message: 'the sector is being removed' } } },
        { type: 'rejectQueued', params: { message: 'the sector is being removed' } },
        { type: 'log', params: ({ event }) => ({ event: 'SectorRemove', ...(event.type === 'sector.remove' && event.reason ? { message: event.reason } : {}) }) },
      ],
      target: '.Removing',
    },
    'sector.files.missing': {
      actions: [
        'storeFilesMissing',
        { type: 'log', params: ({ event }) => ({ event: 'SectorFatalError', message: event.type === 'sector.files.missing' ? event.message : '' }) },
      ],
      target: '.FailedUnrecoverable',
    },
  },
  states: {
    /** Lotus's UndefinedSectorState: routes a spawned sector to where its record says it was. */
    restoring: {
      always: [
        { guard: 'isCc', target: 'Packing' },
        { guard: 'isNew', target: 'routing' },
        ...restoreTransitions().map((t) => ({ ...t, actions: 'logRestart' as const })),
        { target: 'routing' },
      ],
    },
    routing,
    WaitDeals,
    AddPiece,
    Packing,
    AddPieceFailed,
    PackingFailed,
    Discarded,
    GetTicket,
    PreCommit1,
    PreCommit2,
    PreCommitting,
    PreCommitWait,
    WaitSeed,
    Committing,
    SubmitCommit,
    CommitWait,
    FinalizeSector,
    Proving,
    Faulty,
    FaultReported,
    Removing,
    Removed,
    RemoveFailed,
    SealPreCommit1Failed,
    SealPreCommit2Failed,
    PreCommitFailed,
    ComputeProofFailed,
    CommitFailed,
    FinalizeFailed,
    FailedUnrecoverable,
  },
});

export type SectorMachine = typeof sectorMachine;
