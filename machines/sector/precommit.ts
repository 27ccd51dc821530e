/**
 * Pre-commit (Lotus `extern/storage-sealing/states_sealing.go` handleGetTicket …
 * handleWaitSeed):
 *
 *   GetTicket ──ticket──▶ PreCommit1 ──PC1──▶ PreCommit2 ──PC2──▶ PreCommitting ──message sent──▶
 *   PreCommitWait ──landed──▶ WaitSeed ──seed──▶ Committing
 *
 * PC1 and PC2 are tasks the scheduler runs and tracks; a sector restored in PreCommit1 or
 * PreCommit2 asks again for the same work (same WorkID) and is attached to the call already made
 * instead of starting a second one. The chain's steps are invoked through the chain adapter; its
 * submits are idempotent per sector, so a sector restored in PreCommitting sends no second message.
 */
import { and } from 'xstate';
import { sectorSetup } from './sector-setup.js';

/** Asks the chain for a sealing ticket (Lotus SectorTicket); a chain that does not answer is asked again. */
export const GetTicket = sectorSetup.createStateConfig({
  entry: [{ type: 'persist', params: { state: 'GetTicket' } }],
  initial: 'asking',
  states: {
    asking: {
      invoke: {
        src: 'chainGetTicket',
        input: ({ context }) => ({ sector: { miner: context.miner, number: context.number } }),
        onDone: {
          actions: [{ type: 'assignTicket', params: ({ event }) => ({ ticket: event.output }) }, 'clearError', { type: 'log', params: { event: 'SectorTicket' } }],
          target: '#sector.PreCommit1',
        },
        onError: { actions: [{ type: 'storeActorError', params: ({ event }) => ({ what: 'getting a ticket failed', error: event.error }) }, 'persist'], target: 'waiting' },
      },
    },
    waiting: { after: { chainRetry: 'asking' } },
  },
});

/** SealPreCommit1: labels every layer (resumes from the last checkpointed layer after a crash). */
export const PreCommit1 = sectorSetup.createStateConfig({
  entry: [{ type: 'persist', params: { state: 'PreCommit1', request: true } }, { type: 'requestTask', params: { type: 'PC1' } }],
  on: {
    'sector.task.done': {
      guard: 'isCurrentTask',
      actions: [{ type: 'takeResult', params: { log: 'SectorPreCommit1' } }, 'clearError'],
      target: 'PreCommit2',
    },
    'sector.task.failed': {
      guard: 'isCurrentTask',
      actions: ['takeFailure', 'resetPc2Failures', { type: 'log', params: { event: 'SectorSealPreCommit1Failed' } }],
      target: 'SealPreCommit1Failed',
    },
  },
});

/** SealPreCommit2: trees and CommR. A CommD different from the packed one means PC1's data was wrong. */
export const PreCommit2 = sectorSetup.createStateConfig({
  entry: [{ type: 'persist', params: { state: 'PreCommit2', request: true } }, { type: 'requestTask', params: { type: 'PC2' } }],
  on: {
    'sector.task.done': [
      {
        guard: and(['isCurrentTask', 'commDMatches']),
        actions: [{ type: 'takeResult', params: { log: 'SectorPreCommit2' } }, 'clearError'],
        target: 'PreCommitting',
      },
      {
        guard: 'isCurrentTask',
        actions: [
          'takeAborted',
          { type: 'setError', params: { code: 'CACHE_CORRUPT', message: 'PC2 computed a CommD different from the packed sector; PC1 is redone' } },
          { type: 'log', params: { event: 'SectorSealPreCommit1Failed' } },
        ],
        target: 'SealPreCommit1Failed',
      },
    ],
    'sector.task.failed': {
      guard: 'isCurrentTask',
      actions: ['takeFailure', 'countPc2Failure', { type: 'log', params: { event: 'SectorSealPreCommit2Failed' } }],
      target: 'SealPreCommit2Failed',
    },
  },
});

/** Sends the pre-commit message (Lotus SectorPreCommitted). */
export const PreCommitting = sectorSetup.createStateConfig({
  entry: [{ type: 'persist', params: { state: 'PreCommitting' } }],
  invoke: {
    src: 'chainSubmitPreCommit',
    input: ({ context }) => ({
      sector: { miner: context.miner, number: context.number },
      params: {
        sealProof: context.proofType,
        commD: context.commD ?? '',
        commR: context.commR ?? '',
        ticketEpoch: context.ticket?.epoch ?? 0,
        dealIds: [],
      },
    }),
    onDone: { actions: [{ type: 'assignPreCommit', params: ({ event }) => ({ message: event.output.message }) }, { type: 'log', params: { event: 'SectorPreCommitted' } }], target: 'PreCommitWait' },
    onError: {
      actions: [{ type: 'storeActorError', params: ({ event }) => ({ what: 'sending the pre-commit failed', error: event.error }) }, { type: 'log', params: { event: 'SectorChainPreCommitFailed' } }],
      target: 'PreCommitFailed',
    },
  },
});

/** Waits for the pre-commit message to land (Lotus SectorPreCommitLanded). */
export const PreCommitWait = sectorSetup.createStateConfig({
  entry: [{ type: 'persist', params: { state: 'PreCommitWait' } }],
  invoke: {
    src: 'chainWaitPreCommit',
    input: ({ context }) => ({ sector: { miner: context.miner, number: context.number }, message: context.preCommit?.message ?? '' }),
    onDone: [
      {
        guard: { type: 'messageOk', params: ({ event }) => ({ outcome: event.output }) },
        actions: [{ type: 'assignPreCommitEpoch', params: ({ event }) => ({ epoch: event.output.ok ? event.output.epoch : 0 }) }, { type: 'log', params: { event: 'SectorPreCommitLanded' } }], target: 'WaitSeed' },
      {
        actions: [{ type: 'storeRefusal', params: ({ event }) => ({ what: 'the pre-commit message failed', outcome: event.output }) }, { type: 'log', params: { event: 'SectorChainPreCommitFailed' } }],
        target: 'PreCommitFailed',
      },
    ],
    onError: {
      actions: [{ type: 'storeActorError', params: ({ event }) => ({ what: 'waiting for the pre-commit failed', error: event.error }) }, { type: 'log', params: { event: 'SectorChainPreCommitFailed' } }],
      target: 'PreCommitFailed',
    },
  },
});

/** Waits for the interactive seed, some epochs after the pre-commit landed (Lotus SectorSeedReady). */
export const WaitSeed = sectorSetup.createStateConfig({
  entry: [{ type: 'persist', params: { state: 'WaitSeed' } }],
  invoke: {
    src: 'chainWaitSeed',
    input: ({ context }) => ({ sector: { miner: context.miner, number: context.number }, preCommitEpoch: context.preCommit?.epoch ?? 0 }),
    onDone: { actions: [{ type: 'assignSeed', params: ({ event }) => ({ seed: event.output }) }, { type: 'log', params: { event: 'SectorSeedReady' } }], target: 'Committing' },
    onError: {
      actions: [{ type: 'storeActorError', params: ({ event }) => ({ what: 'waiting for the seed failed', error: event.error }) }, { type: 'log', params: { event: 'SectorChainPreCommitFailed' } }],
      target: 'PreCommitFailed',
    },
  },
});
