/**
 * Commit (Lotus `extern/storage-sealing/states_sealing.go` handleCommitting, handleSubmitCommit,
 * handleCommitWait):
 *
 *   Committing (C1, then C2) ──proof──▶ SubmitCommit ──message sent──▶ CommitWait ──landed──▶ FinalizeSector
 *
 * C1's output stays in the sector's cache directory (its digest is in the record), so a sector
 * restored in Committing after C1 goes straight to C2. The chain verifies the proof when the
 * commit message is included: an invalid proof fails the message and the sector recomputes it.
 */
import { sectorSetup } from './sector-setup.js';

/** Computing the proof: C1 (vanilla proofs for the seed's challenges), then C2 over them. */
export const Committing = sectorSetup.createStateConfig({
  entry: [{ type: 'persist', params: { state: 'Committing' } }],
  initial: 'routing',
  states: {
    routing: { always: [{ guard: 'hasC1', target: 'c2' }, { target: 'c1' }] },
    c1: {
      entry: { type: 'requestTask', params: { type: 'C1' } },
      on: {
        'sector.task.done': { guard: 'isCurrentTask', actions: ['takeResult', 'persist'], target: 'c2' },
        'sector.task.failed': {
          guard: 'isCurrentTask',
          actions: ['takeFailure', { type: 'log', params: { event: 'SectorComputeProofFailed' } }],
          target: '#sector.ComputeProofFailed',
        },
      },
    },
    c2: {
      entry: { type: 'requestTask', params: { type: 'C2' } },
      on: {
        'sector.task.done': {
          guard: 'isCurrentTask',
          actions: [{ type: 'takeResult', params: { log: 'SectorCommitted' } }, 'clearError'],
          target: '#sector.SubmitCommit',
        },
        'sector.task.failed': {
          guard: 'isCurrentTask',
          // C1's output may be what is wrong (a lost or damaged commit1.cbor): compute it again
          actions: ['takeFailure', 'dropProof', { type: 'log', params: { event: 'SectorComputeProofFailed' } }],
          target: '#sector.ComputeProofFailed',
        },
      },
    },
  },
});

/** Sends the commit message with the proof (Lotus SectorCommitSubmitted). */
export const SubmitCommit = sectorSetup.createStateConfig({
  entry: [{ type: 'persist', params: { state: 'SubmitCommit' } }],
  invoke: {
    src: 'chainSubmitCommit',
    input: ({ context }) => ({ sector: { miner: context.miner, number: context.number }, proof: context.proof?.value ?? '' }),
    onDone: { actions: [{ type: 'assignCommit', params: ({ event }) => ({ message: event.output.message }) }, { type: 'log', params: { event: 'SectorCommitSubmitted' } }], target: 'CommitWait' },
    onError: {
      actions: [{ type: 'storeActorError', params: ({ event }) => ({ what: 'sending the commit failed', error: event.error }) }, { type: 'log', params: { event: 'SectorCommitFailed' } }],
      target: 'CommitFailed',
    },
  },
});

/** Waits for the commit to land; the chain has verified the proof by then (Lotus SectorProving). */
export const CommitWait = sectorSetup.createStateConfig({
  entry: [{ type: 'persist', params: { state: 'CommitWait' } }],
  invoke: {
    src: 'chainWaitCommit',
    input: ({ context }) => ({ sector: { miner: context.miner, number: context.number }, message: context.commit?.message ?? '' }),
    onDone: [
      {
        guard: { type: 'messageOk', params: ({ event }) => ({ outcome: event.output }) },
        actions: [{ type: 'assignCommitLanded', params: ({ event }) => ({ epoch: event.output.ok ? event.output.epoch : 0 }) }, { type: 'log', params: { event: 'SectorProving' } }], target: 'FinalizeSector' },
      {
        actions: [
          { type: 'storeRefusal', params: ({ event }) => ({ what: 'the commit message failed', outcome: event.output }) },
          'countInvalidProof',
          'dropProof',
          { type: 'log', params: { event: 'SectorCommitFailed' } },
        ],
        target: 'CommitFailed',
      },
    ],
    onError: {
      actions: [{ type: 'storeActorError', params: ({ event }) => ({ what: 'waiting for the commit failed', error: event.error }) }, { type: 'log', params: { event: 'SectorCommitFailed' } }],
      target: 'CommitFailed',
    },
  },
});
