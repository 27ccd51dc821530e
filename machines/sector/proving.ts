/**
 * Finalize and proving (Lotus `extern/storage-sealing/states_sealing.go` handleFinalizeSector,
 * `states_proving.go`):
 *
 *   FinalizeSector (FIN, then GET to a storage path) ──▶ Proving ──faulty──▶ Faulty ──declared──▶ FaultReported
 *
 * Proving sectors have no timer each: the scheduler runs one CheckProvable over all of them and
 * sends `sector.faulty` to each bad one.
 */
import { sectorSetup } from './sector-setup.js';

/**
 * Drops what proving does not need, then moves the sector to long-term storage. FIN's result is
 * saved with the record, which drops C1's output (FIN deleted it): a sector restored here without
 * it has been finalized and only moves, so FIN never runs twice.
 */
export const FinalizeSector = sectorSetup.createStateConfig({
  entry: [{ type: 'persist', params: { state: 'FinalizeSector' } }],
  initial: 'routing',
  states: {
    routing: { always: [{ guard: 'hasC1', target: 'finalizing' }, { target: 'moving' }] },
    finalizing: {
      entry: { type: 'requestTask', params: { type: 'FIN' } },
      on: {
        'sector.task.done': { guard: 'isCurrentTask', actions: ['takeResult', 'persist'], target: 'moving' },
        'sector.task.failed': {
          guard: 'isCurrentTask',
          actions: ['takeFailure', { type: 'log', params: { event: 'SectorFinalizeFailed' } }],
          target: '#sector.FinalizeFailed',
        },
      },
    },
    moving: {
      entry: { type: 'requestTask', params: { type: 'GET' } },
      on: {
        'sector.task.done': {
          guard: 'isCurrentTask',
          actions: ['takeResult', 'clearError', 'resetProofCounters', { type: 'log', params: { event: 'SectorFinalized' } }],
          target: '#sector.Proving',
        },
        'sector.task.failed': {
          guard: 'isCurrentTask',
          actions: ['takeFailure', { type: 'log', params: { event: 'SectorFinalizeFailed' } }],
          target: '#sector.FinalizeFailed',
        },
      },
    },
  },
});

/** Sealed, on chain, in storage: proven every deadline (by the chain's provers, not here). */
export const Proving = sectorSetup.createStateConfig({
  entry: [{ type: 'persist', params: { state: 'Proving' } }],
  on: {
    'sector.faulty': { actions: ['storeFault', { type: 'log', params: { event: 'SectorFaulty' } }], target: 'Faulty' },
  },
});

/** CheckProvable found the sector's files unfit; the fault is declared on chain. */
export const Faulty = sectorSetup.createStateConfig({
  entry: [{ type: 'persist', params: { state: 'Faulty' } }],
  initial: 'declaring',
  states: {
    declaring: {
      invoke: {
        src: 'chainDeclareFault',
        input: ({ context }) => ({ sector: { miner: context.miner, number: context.number }, reason: context.error?.message ?? 'faulty' }),
        onDone: { actions: { type: 'log', params: { event: 'SectorFaultReported' } }, target: '#sector.FaultReported' },
        onError: { target: 'waiting' },
      },
    },
    waiting: { after: { chainRetry: 'declaring' } },
  },
});

/** The fault is on chain. Only removal leaves this state. */
export const FaultReported = sectorSetup.createStateConfig({
  entry: [{ type: 'persist', params: { state: 'FaultReported' } }],
  on: { 'sector.faulty': {} },
});
