/**
 * Removal (Lotus `extern/storage-sealing/states_proving.go` handleRemoving), entered from any
 * state by `sector.remove`:
 *
 *   Removing (abort the running task and wait for it, then delete every file) ──▶ Removed
 *
 * Files are deleted only once the task has let go of them: a PC1 thread still labelling would
 * otherwise write its next layer into a directory that was just removed.
 */
import { sectorSetup } from './sector-setup.js';

export const Removing = sectorSetup.createStateConfig({
  entry: [{ type: 'persist', params: { state: 'Removing' } }],
  initial: 'routing',
  on: { 'sector.remove': {}, 'sector.faulty': {}, 'sector.files.missing': {} },
  states: {
    routing: { always: [{ guard: 'hasTask', target: 'aborting' }, { target: 'deleting' }] },
    aborting: {
      entry: 'abortTask',
      on: {
        'sector.task.done': { guard: 'isCurrentTask', actions: 'takeAborted', target: 'deleting' },
        'sector.task.failed': { guard: 'isCurrentTask', actions: 'takeAborted', target: 'deleting' },
      },
    },
    deleting: {
      invoke: {
        src: 'removeFiles',
        input: ({ context }) => ({ sector: { miner: context.miner, number: context.number } }),
        onDone: { actions: ['clearError', { type: 'log', params: { event: 'SectorRemoved' } }], target: '#sector.Removed' },
        onError: {
          actions: [{ type: 'storeActorError', params: ({ event }) => ({ what: 'removing the files failed', error: event.error }) }, { type: 'log', params: { event: 'SectorRemoveFailed' } }],
          target: '#sector.RemoveFailed',
        },
      },
    },
  },
});

/** Nothing of the sector is left on any path; the record stays so its number is never reused. */
export const Removed = sectorSetup.createStateConfig({
  entry: [{ type: 'persist', params: { state: 'Removed' } }],
  on: { 'sector.remove': {}, 'sector.faulty': {}, 'sector.files.missing': {} },
});

/** Deleting failed (a path unreachable, a permission); retried after the cool-down. */
export const RemoveFailed = sectorSetup.createStateConfig({
  entry: [{ type: 'countRetry', params: { state: 'RemoveFailed' } }, { type: 'persist', params: { state: 'RemoveFailed' } }],
  exit: 'resetCooldown',
  after: { cooldown: { actions: { type: 'log', params: { event: 'SectorRemove' } }, target: 'Removing' } },
});
