/**
 * One shape for the scheduler's actions that place, start and finish calls: the action's body
 * works on a draft of the context (tables updated in place, machines/scheduler/tables.ts) and
 * records what must happen outside it as plain data ({@link Effects}); {@link step} assigns the
 * draft and turns the effects into XState actions. The bodies stay pure functions of
 * (draft, event) that the pass tests and the benchmark can call without an actor.
 */
import { enqueueActions } from 'xstate';
import { type IndexEvent, NO_REPLY, type SchedulerEvent, type SchedulerReply, type SectorEvent, TASKS_CHILD, type TaskActorEvent, type TaskStart } from '../protocol.js';
import { sendToSector } from './sector-group.machine.js';
import type { IndexStores, StoreCallOf } from '../../src/db/stores.js';
import { type SchedulerContext, indexRef, schedulerBase } from './scheduler-base.js';
import type { SchedTickEvent } from './sched-tick.js';

/** An index call without its envelope (`type`, `replyTo`). */
export type IndexCallOf = { requestId: number } & StoreCallOf<IndexStores>;

/** What a step wants done once its context is assigned. */
export interface Effects {
  /** Calls that start on a worker (`task.start` to the `tasks` actor). */
  start: TaskStart[];
  /** Calls whose work starts now (`task.work`). */
  work: string[];
  /** Calls to stop (`task.abort`). */
  abort: string[];
  /** Index calls; the scheduler is their `replyTo`, unless their `requestId` is NO_REPLY. */
  index: IndexCallOf[];
  /** A full pass is now due: ask the `schedTick` actor for its tick (machines/scheduler/sched-tick.ts). */
  tick: boolean;
  /** Replies to the facade. */
  emit: SchedulerReply[];
  /** Events the scheduler raises to itself later, on its clock (the PC1 batch wait). */
  delayed: { event: SchedulerEvent; ms: number }[];
  /** Events for sectors, sent through their groups (machines/scheduler/sector-group.machine.ts `sendToSector`). */
  sector: { number: number; events: SectorEvent[] }[];
}

export function newEffects(): Effects {
  return { start: [], work: [], abort: [], index: [], tick: false, emit: [], delayed: [], sector: [] };
}

/** An action whose body edits a draft context and records effects. */
export function step(body: (d: SchedulerContext, fx: Effects, event: SchedulerEvent) => void) {
  return schedulerBase.createAction(
    enqueueActions(({ context, event, enqueue, self }) => {
      const d: SchedulerContext = { ...context };
      const fx = newEffects();
      body(d, fx, event);
      // a function, not the object: XState copies an object assignment key by key first
      enqueue.assign(() => d);
      for (const call of fx.start) enqueue.sendTo(TASKS_CHILD, { type: 'task.start', call } satisfies TaskActorEvent);
      for (const callId of fx.work) enqueue.sendTo(TASKS_CHILD, { type: 'task.work', callId } satisfies TaskActorEvent);
      for (const callId of fx.abort) enqueue.sendTo(TASKS_CHILD, { type: 'task.abort', callId } satisfies TaskActorEvent);
      for (const c of fx.index) {
        // a write nobody waits for is answered to no one (machines/protocol.ts NO_REPLY)
        enqueue.sendTo(indexRef, (c.requestId === NO_REPLY ? { type: 'index.call', ...c } : { type: 'index.call', ...c, replyTo: self }) as IndexEvent);
      }
      if (fx.tick) enqueue.sendTo('schedTick', { type: 'sched.tick' } satisfies SchedTickEvent);
      for (const r of fx.emit) enqueue.emit(r);
      for (const x of fx.delayed) enqueue.raise(x.event, { delay: x.ms });
      // sent, not raised as `scheduler.sector.send`: a raise is one more microstep of the scheduler per result
      for (const x of fx.sector) sendToSector(d.groups, x.number, x.events, (group, e) => enqueue.sendTo(group, e));
    }),
  );
}

/** A fresh request id for an index call whose answer the scheduler waits for. */
export function nextRequestId(d: SchedulerContext): number {
  return d.seq++;
}
