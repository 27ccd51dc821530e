/**
 * What operators see of the scheduler (docs/design/scheduler.md §6): the workers with their pools
 * and calls, and the queue with its windows. Pure functions of the scheduler's context, read from
 * its snapshot by the facade — a diagnostics request is never an event the scheduler must
 * answer, so it cannot be blocked by one (Lotus's `sched-diag` hung with a stuck scheduler,
 * lotus issues #3001, #3460).
 */
import type { PoolUse, QueuedRequestView, SchedDiagView, WorkerState } from '../../src/tasks/worker-info.js';
import type { ResourcePool } from './resource-pool.js';
import type { SchedulerContext } from './scheduler-base.js';
import { schedulable } from './sched-workers.js';

type Ctx = Pick<SchedulerContext, 'workers' | 'calls' | 'queue'>;

const use = (p: ResourcePool): PoolUse => ({ cpuUse: p.cpuUse, memUsedMin: p.memUsedMin, memUsedMax: p.memUsedMax, gpuUsed: p.gpuUsed });

/** Every worker the scheduler holds, by id order. */
export function workerStates(c: Ctx): WorkerState[] {
  return Object.keys(c.workers)
    .sort()
    .map((id) => {
      const w = c.workers[id]!;
      const started = Object.entries(w.started).map(([callId, s]) => {
        const call = c.calls[callId];
        return {
          callId,
          sector: call ? { ...call.task.sector } : { miner: 0, number: 0 },
          type: s.need.type,
          stage: s.stage,
        };
      });
      return {
        info: w.info,
        connected: w.connected,
        enabled: w.enabled,
        cordoned: w.cordoned,
        disabledTypes: [...w.disabledTypes],
        active: use(w.active),
        preparing: use(w.preparing),
        started,
        windows: w.windows.map((x) => [...x.todo]),
      };
    });
}

/** The queue (with where each call is assigned) and the open windows. */
export function schedDiag(c: Ctx): SchedDiagView {
  const assigned = new Map<string, { worker: string; window: number }>();
  const openWindows: string[] = [];
  for (const id of Object.keys(c.workers).sort()) {
    const w = c.workers[id]!;
    w.windows.forEach((x, window) => {
      for (const callId of x.todo) assigned.set(callId, { worker: id, window });
      if (x.todo.length === 0 && schedulable(w)) openWindows.push(id);
    });
  }
  const requests: QueuedRequestView[] = [...c.queue].map((q) => {
    const r: QueuedRequestView = { callId: q.callId, sector: { ...q.task.sector }, type: q.task.type, priority: q.task.priority };
    const a = assigned.get(q.callId);
    if (a) r.assigned = a;
    if (c.calls[q.callId]?.holdersPending) r.holdersPending = true;
    return r;
  });
  const callToWork: Record<string, string> = {};
  const returnedWork: string[] = [];
  const waiting: string[] = [];
  for (const call of Object.values(c.calls)) {
    callToWork[call.callId] = call.workId;
    if (call.phase === 'done' || call.phase === 'finishing') returnedWork.push(call.workId);
    else if (call.waiter || call.replies) waiting.push(call.workId);
  }
  return { requests, openWindows, callToWork, returnedWork: returnedWork.sort(), waiting: waiting.sort() };
}

/**
 * Where each call the scheduler has placed is, for `WorkerJobs`: started on a worker (its prepare
 * step or its work: the worker is busy with it, Lotus RunWait 0), or assigned to window `n` of a
 * worker and not started (RunWait n + 1).
 */
export function callPlacements(c: Pick<SchedulerContext, 'workers' | 'calls'>): Record<string, { worker: string; runWait: number; batch?: string }> {
  const out: Record<string, { worker: string; runWait: number; batch?: string }> = {};
  for (const [id, w] of Object.entries(c.workers)) {
    for (const callId of Object.keys(w.started)) {
      const batch = c.calls[callId]?.batch;
      out[callId] = batch ? { worker: id, runWait: 0, batch } : { worker: id, runWait: 0 };
    }
    w.windows.forEach((x, n) => {
      for (const callId of x.todo) out[callId] = { worker: id, runWait: n + 1 };
    });
  }
  return out;
}
