/**
 * The scheduler's clock: its long-lived timers, as a child machine of their own (`schedClock`,
 * invoked by the scheduler's `running` state) that tells the scheduler when each is due.
 *
 *   schedClock ──scheduler.restore.over (after restoreGraceMs, once)──▶ scheduler: unclaimed restored calls closed
 *   schedClock ──scheduler.sched.start (after initWaitMs, once)──▶ scheduler: passes run from now on
 *   schedClock ──scheduler.storage.refresh (every storageRefreshMs)──▶ scheduler: the path view is re-read
 *   schedClock ──scheduler.prover.due (every checkProvableMs)──▶ scheduler ──clock.prover.done──▶ schedClock
 *   scheduler ──clock.workers.open──▶ schedClock: InitWait counts again from now (until it is over)
 *
 * Why not parallel regions of the scheduler: XState resolves every event against the whole active
 * configuration, and four parallel regions made each of the scheduler's events (about six per
 * tracked task) cost twice what it costs a flat machine, for timers that fire once or every few
 * seconds. Here they cost only their own events.
 *
 * A CheckProvable round runs in the scheduler (it needs the sectors' states) and the next round's
 * timer starts once the scheduler says it is over, so rounds never overlap.
 */
import { sendParent, setup } from 'xstate';
import type { SchedulerClockEvent } from '../protocol.js';

export interface SchedClockInput {
  restoreGraceMs: number;
  initWaitMs: number;
  storageRefreshMs: number;
  checkProvableMs: number;
}

/** What the scheduler tells its clock. */
export type ClockEvent = { type: 'clock.workers.open' } | { type: 'clock.prover.done' };

export const schedClockMachine = setup({
  types: {} as { context: SchedClockInput; input: SchedClockInput; events: ClockEvent },
  delays: {
    restoreGrace: ({ context }) => context.restoreGraceMs,
    initWait: ({ context }) => context.initWaitMs,
    storageRefresh: ({ context }) => context.storageRefreshMs,
    checkProvable: ({ context }) => context.checkProvableMs,
  },
  actions: {
    tell: sendParent((_, params: SchedulerClockEvent) => params),
  },
  guards: {
    noInitWait: ({ context }) => context.initWaitMs <= 0,
  },
}).createMachine({
  id: 'schedClock',
  context: ({ input }) => ({ ...input }),
  type: 'parallel',
  states: {
    /** Restored calls no sector claims are closed once the sectors had their chance to ask. */
    startup: {
      initial: 'restoring',
      states: {
        restoring: { after: { restoreGrace: { target: 'done', actions: { type: 'tell', params: { type: 'scheduler.restore.over' } } } } },
        done: {},
      },
    },
    /** No pass until `initWaitMs` after start, so reconnecting workers are there (Lotus InitWait). */
    sched: {
      initial: 'waiting',
      states: {
        waiting: {
          always: { guard: 'noInitWait', target: 'ready' },
          after: { initWait: 'ready' },
          on: { 'clock.workers.open': { target: 'waiting', reenter: true } },
        },
        ready: { entry: { type: 'tell', params: { type: 'scheduler.sched.start' } } },
      },
    },
    /** The path view is re-read every `storageRefreshMs` (space also changes outside the scheduler). */
    storage: {
      initial: 'idle',
      states: {
        idle: { after: { storageRefresh: { target: 'idle', reenter: true, actions: { type: 'tell', params: { type: 'scheduler.storage.refresh' } } } } },
      },
    },
    /** CheckProvable over the Proving sectors (Lotus `faults.go`): due every `checkProvableMs` after the last round ended. */
    prover: {
      initial: 'idle',
      states: {
        idle: { after: { checkProvable: { target: 'checking', actions: { type: 'tell', params: { type: 'scheduler.prover.due' } } } } },
        checking: { on: { 'clock.prover.done': 'idle' } },
      },
    },
  },
});
