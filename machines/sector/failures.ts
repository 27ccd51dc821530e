/**
 * Failure states and their retry rules (Lotus `extern/storage-sealing/states_failed.go`). Each
 * waits out the cool-down (one minute after the sector's last log entry, Lotus's
 * `minRetryTime`) as an XState delay, then goes back to where the work can be redone:
 *
 * | state | after the cool-down |
 * |---|---|
 * | SealPreCommit1Failed | PreCommit1, or GetTicket when the ticket was dropped (Lotus SectorOldTicket) |
 * | SealPreCommit2Failed | PreCommit2, or PreCommit1 once PC2 failed more than 3 times |
 * | PreCommitFailed | WaitSeed if the pre-commit is on chain with this CommR, else PreCommitting; at once SealPreCommit1Failed, dropping the sealing results, when the chain refused the ticket as too old |
 * | ComputeProofFailed | Committing, or SealPreCommit1Failed once the proof was retried more than once |
 * | CommitFailed | CommitWait if its commit message was sent (only the wait failed), else Committing (a new proof), or SealPreCommit1Failed after more than one invalid proof |
 * | FinalizeFailed | FinalizeSector |
 *
 * `invalidProofs` counts as Lotus's `InvalidProofs` (`extern/storage-sealing/fsm_events.go`): it
 * grows with each retry of the proof (SectorRetryComputeProof) and each proof the chain refused,
 * so a proof that fails to compute is retried twice before PC1 is redone.
 */
import { sectorSetup } from './sector-setup.js';

const failureEntry = (state: 'SealPreCommit1Failed' | 'SealPreCommit2Failed' | 'PreCommitFailed' | 'ComputeProofFailed' | 'CommitFailed' | 'FinalizeFailed') =>
  [{ type: 'countRetry', params: { state } }, { type: 'persist', params: { state } }] as const;

/**
 * Lotus goes back to PreCommit1, whose handler finds the ticket too old and sends SectorOldTicket
 * to GetTicket (`states_sealing.go` handlePreCommit1); a sector whose ticket was dropped takes that
 * path in one step, logging both events.
 */
export const SealPreCommit1Failed = sectorSetup.createStateConfig({
  entry: failureEntry('SealPreCommit1Failed'),
  exit: 'resetCooldown',
  after: {
    cooldown: [
      {
        guard: 'noTicket',
        actions: [{ type: 'log', params: { event: 'SectorRetrySealPreCommit1' } }, { type: 'log', params: { event: 'SectorOldTicket' } }],
        target: 'GetTicket',
      },
      { actions: { type: 'log', params: { event: 'SectorRetrySealPreCommit1' } }, target: 'PreCommit1' },
    ],
  },
});

export const SealPreCommit2Failed = sectorSetup.createStateConfig({
  entry: failureEntry('SealPreCommit2Failed'),
  exit: 'resetCooldown',
  after: {
    cooldown: [
      {
        guard: 'pc2FailedTooOften',
        actions: ['resetPc2Failures', { type: 'log', params: { event: 'SectorRetrySealPreCommit1' } }],
        target: 'PreCommit1',
      },
      { actions: { type: 'log', params: { event: 'SectorRetrySealPreCommit2' } }, target: 'PreCommit2' },
    ],
  },
});

export const PreCommitFailed = sectorSetup.createStateConfig({
  entry: failureEntry('PreCommitFailed'),
  exit: 'resetCooldown',
  initial: 'routing',
  states: {
    /**
     * Lotus checks the pre-commit before the cool-down (`states_failed.go` handlePreCommitFailed,
     * `checks.go` checkPrecommit): an expired ticket cannot land however often the same pre-commit
     * is sent, so the sector seals again from a new ticket.
     */
    routing: {
      always: [
        {
          guard: 'ticketExpired',
          actions: [
            'dropSealingResults',
            'resetPc2Failures',
            {
              type: 'log',
              params: ({ context }) => ({ event: 'SectorSealPreCommit1Failed', message: `ticket expired error: ${context.error?.message ?? ''}` }),
            },
          ],
          target: '#sector.SealPreCommit1Failed',
        },
        { target: 'cooling' },
      ],
    },
    cooling: { after: { cooldown: 'checking' } },
    /** Is the pre-commit on chain after all? */
    checking: {
      invoke: {
        src: 'chainPreCommitInfo',
        input: ({ context }) => ({ sector: { miner: context.miner, number: context.number } }),
        onDone: [
          { guard: { type: 'preCommitLanded', params: ({ event }) => ({ info: event.output }) }, actions: { type: 'log', params: { event: 'SectorRetryWaitSeed' } }, target: '#sector.WaitSeed' },
          // Lotus stalls here for an operator: a different CommR on chain means another seal of this number
          {
            guard: { type: 'preCommitMismatch', params: ({ event }) => ({ info: event.output }) },
            actions: [{ type: 'setError', params: { code: 'SECTOR_STATE_INVALID', message: 'a pre-commit with another CommR is on chain for this sector; remove it or resolve by hand' } }, 'persist'],
            target: 'stalled',
          },
          { actions: { type: 'log', params: { event: 'SectorRetryPreCommit' } }, target: '#sector.PreCommitting' },
        ],
        onError: { target: 'cooling' },
      },
    },
    stalled: {},
  },
});

export const ComputeProofFailed = sectorSetup.createStateConfig({
  entry: failureEntry('ComputeProofFailed'),
  exit: 'resetCooldown',
  after: {
    cooldown: [
      {
        guard: 'proofsFailedTooOften',
        actions: ['resetProofCounters', 'dropProof', { type: 'log', params: { event: 'SectorSealPreCommit1Failed' } }],
        target: 'SealPreCommit1Failed',
      },
      { actions: ['countInvalidProof', { type: 'log', params: { event: 'SectorRetryComputeProof' } }], target: 'Committing' },
    ],
  },
});

export const CommitFailed = sectorSetup.createStateConfig({
  entry: failureEntry('CommitFailed'),
  exit: 'resetCooldown',
  after: {
    cooldown: [
      // the message was sent and only waiting for it failed (a refused one is dropped with its
      // proof): wait for it again rather than send a second proof for a sector it may have proven
      { guard: 'hasCommitMessage', actions: { type: 'log', params: { event: 'SectorRetryCommitWait' } }, target: 'CommitWait' },
      {
        guard: 'proofsFailedTooOften',
        actions: ['resetProofCounters', 'dropProof', { type: 'log', params: { event: 'SectorSealPreCommit1Failed' } }],
        target: 'SealPreCommit1Failed',
      },
      { actions: { type: 'log', params: { event: 'SectorRetryComputeProof' } }, target: 'Committing' },
    ],
  },
});

export const FinalizeFailed = sectorSetup.createStateConfig({
  entry: failureEntry('FinalizeFailed'),
  exit: 'resetCooldown',
  after: { cooldown: { actions: { type: 'log', params: { event: 'SectorRetryFinalize' } }, target: 'FinalizeSector' } },
});

/**
 * The sector's data is gone (its files are missing from every path): no retry can help. Only an
 * operator's `sectors remove` or `sectors drift resolve` leaves this state (Lotus FailedUnrecoverable).
 */
export const FailedUnrecoverable = sectorSetup.createStateConfig({
  entry: [{ type: 'persist', params: { state: 'FailedUnrecoverable' } }],
  on: { 'sector.files.missing': {} },
});
