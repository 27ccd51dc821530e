/**
 * The scheduler's actions for workers coming and going and for the operator's control over them
 * (docs/design/scheduler.md §1, §6): registration, disconnection, enable/disable (whole worker or
 * one task type), cordon/uncordon, and a pass on demand. Each is followed by a full pass, which
 * returns the tasks of a worker that no longer takes them to the queue (unstarted tasks are
 * re-planned): at once for the operator's commands, which are answered after it; on the next tick
 * for a worker's coming and going (machines/scheduler/sched-tick.ts).
 */
import type { WireError } from '../../src/errors.js';
import type { SchedulerEvent } from '../protocol.js';
import { fullPass, passDue, requestPaths } from './sched-actions.js';
import { type Effects, step } from './sched-step.js';
import { type SchedWorker, emptyWindows, newWorker } from './sched-workers.js';
import { type SchedulerContext, failure } from './scheduler-base.js';

type D = SchedulerContext;

function reply(fx: Effects, requestId: string | undefined, result: { worker: string } | { error: WireError } | { poked: true }): void {
  if (requestId === undefined) return;
  if ('error' in result) fx.emit.push({ type: 'scheduler.reply', requestId, ok: false, error: result.error });
  else if ('poked' in result) fx.emit.push({ type: 'scheduler.reply', requestId, ok: true, value: { kind: 'sched.poked' } });
  else fx.emit.push({ type: 'scheduler.reply', requestId, ok: true, value: { kind: 'worker.updated', worker: result.worker } });
}

/** A worker registers, or a known one updates its info (its pools, calls and flags stay). */
export const workerConnected = step((d, fx, event) => {
  if (event.type !== 'scheduler.worker.connected') return;
  const { info } = event;
  const known = d.workers[info.id];
  if (known) {
    known.info = info;
    known.connected = true;
    known.disabledTypes = known.disabledTypes.filter((t) => info.taskTypes.includes(t));
  } else {
    d.workers[info.id] = newWorker(info);
  }
  // calls it outlived a restart with: open ones run on it, not elsewhere
  for (const callId of event.holds ?? []) {
    const phase = d.calls[callId]?.phase;
    if (phase === 'restored' || phase === 'starting' || phase === 'queued') d.heldBy[callId] = info.id;
  }
  requestPaths(d, fx); // its paths may be new to the view
  passDue(d, fx);
});

/** A worker is gone: it takes nothing more; its started calls are left to supervision. */
export const workerDisconnected = step((d, fx, event) => {
  if (event.type !== 'scheduler.worker.disconnected') return;
  const w = d.workers[event.id];
  if (!w) return;
  w.connected = false;
  w.windows = emptyWindows();
  for (const [callId, holder] of Object.entries(d.heldBy)) if (holder === event.id) delete d.heldBy[callId];
  if (Object.keys(w.started).length === 0) delete d.workers[event.id];
  passDue(d, fx);
});

type Control = Extract<
  SchedulerEvent,
  { type: 'scheduler.worker.enable' | 'scheduler.worker.disable' | 'scheduler.worker.cordon' | 'scheduler.worker.uncordon' }
>;

function control(d: D, fx: Effects, e: Control, change: (w: SchedWorker) => WireError | undefined): void {
  const w = d.workers[e.id];
  if (!w?.connected) {
    reply(fx, e.requestId, { error: failure('WORKER_UNKNOWN', `no connected worker ${JSON.stringify(e.id)}`) });
    return;
  }
  const error = change(w);
  if (error) {
    reply(fx, e.requestId, { error });
    return;
  }
  fullPass(d, fx);
  reply(fx, e.requestId, { worker: w.info.id });
}

/** Enables or disables a whole worker, or one task type on it. */
export const workerEnable = step((d, fx, event) => {
  if (event.type !== 'scheduler.worker.enable' && event.type !== 'scheduler.worker.disable') return;
  const on = event.type === 'scheduler.worker.enable';
  control(d, fx, event, (w) => {
    const type = event.taskType;
    if (type === undefined) {
      w.enabled = on;
      return undefined;
    }
    if (!w.info.taskTypes.includes(type)) {
      return failure('INVALID_ARGUMENT', `worker ${w.info.id} does not run ${type} (it runs ${w.info.taskTypes.join(', ') || 'nothing'})`);
    }
    w.disabledTypes = on ? w.disabledTypes.filter((t) => t !== type) : [...new Set([...w.disabledTypes, type])];
    return undefined;
  });
});

/** Cordons (drains) or uncordons a worker. */
export const workerCordon = step((d, fx, event) => {
  if (event.type !== 'scheduler.worker.cordon' && event.type !== 'scheduler.worker.uncordon') return;
  control(d, fx, event, (w) => {
    w.cordoned = event.type === 'scheduler.worker.cordon';
    return undefined;
  });
});

/** A pass on demand (`SealingSchedDiag(true)`). */
export const schedPoke = step((d, fx, event) => {
  if (event.type !== 'scheduler.sched.poke') return;
  fullPass(d, fx);
  reply(fx, event.requestId, { poked: true });
});
