/**
 * The workers the scheduler knows and what happens on each (Lotus `sched_worker.go`,
 * docs/design/scheduler.md §1, §5), pure: registration, operator flags, and the worker side of a
 * window — start the tasks of its first window that fit the `preparing` pool, then move prepared
 * tasks to `active` as it has room. Records are updated in place by the scheduler's actions
 * (machines/scheduler/tables.ts says why in-place is safe there).
 */
import type { TaskType } from '../../src/tasks/task-types.js';
import type { WorkerInfo } from '../../src/tasks/worker-info.js';
import { type Need, type ResourcePool, addTo, canHandle, emptyPool, freeFrom, utilization } from './resource-pool.js';
import { type PassWorker, SCHED_WINDOWS, type SchedWindow } from './sched-pass.js';
import type { Claim } from './storage-view.js';

/** A call started on a worker. */
export interface StartedCall {
  need: Need;
  /** `preparing`: its prepare step runs or it waits for room in `active`; `active`: its work runs. */
  stage: 'preparing' | 'active';
  /** The worker held it when it connected (it runs there already): it takes `active` without waiting for room. */
  held?: boolean;
}

/** A worker as the scheduler keeps it. */
export interface SchedWorker {
  info: WorkerInfo;
  connected: boolean;
  /** Lotus's flag (supervision or the operator): a disabled worker takes nothing new. */
  enabled: boolean;
  /** The operator's drain: running work finishes, nothing new is taken. */
  cordoned: boolean;
  disabledTypes: TaskType[];
  preparing: ResourcePool;
  active: ResourcePool;
  windows: SchedWindow[];
  /** Calls whose prepare step finished, waiting for room in `active`, in the order they got there. */
  prepared: string[];
  /** Calls started on it, by call id. */
  started: Record<string, StartedCall>;
}

export function newWorker(info: WorkerInfo): SchedWorker {
  return {
    info,
    connected: true,
    enabled: true,
    cordoned: false,
    disabledTypes: [],
    preparing: emptyPool(),
    active: emptyPool(),
    windows: emptyWindows(),
    prepared: [],
    started: {},
  };
}

export function emptyWindows(): SchedWindow[] {
  return Array.from({ length: SCHED_WINDOWS }, () => ({ todo: [], allocated: emptyPool(), claims: new Map() }));
}

/** Connected, enabled and not cordoned: it takes new work. */
export function schedulable(w: SchedWorker): boolean {
  return w.connected && w.enabled && !w.cordoned;
}

/** The worker as a pass sees it. */
export function passWorker(w: SchedWorker): PassWorker {
  const started: Partial<Record<TaskType, number>> = {};
  for (const pool of [w.preparing, w.active]) {
    for (const [t, n] of Object.entries(pool.counts) as [TaskType, number][]) started[t] = (started[t] ?? 0) + n;
  }
  return {
    info: w.info,
    schedulable: schedulable(w),
    disabledTypes: w.disabledTypes,
    baseUtil: utilization(w.active, w.info.resources) + utilization(w.preparing, w.info.resources),
    started,
  };
}

/** Whole-worker utilization as Lotus's `WorkerHandle.Utilization`: active, preparing and every window. */
export function workerUtilization(w: SchedWorker): number {
  let u = utilization(w.active, w.info.resources) + utilization(w.preparing, w.info.resources);
  for (const x of w.windows) u += utilization(x.allocated, w.info.resources);
  return u;
}

/**
 * Takes the calls the worker can start now out of its windows (Lotus `processWindows`): from the
 * first window, the lowest-index call whose need fits `preparing` (the per-type limit counting
 * `active` too); when none fits, processing stops and later windows wait. An emptied first window
 * is dropped and a fresh one opened. A call `hold` says no to waits where it is (a PC1 waiting
 * for its batch, machines/scheduler/pc1-batch.ts); a window with nothing but such calls lets the
 * next window start its calls. The calls returned (in order) are in `preparing` already,
 * each with the space its window claimed for it.
 */
export function takeStartable(
  w: SchedWorker,
  needOfCall: (callId: string) => Need,
  hold: (callId: string) => boolean = () => false,
): { callId: string; claim?: Claim }[] {
  const out: { callId: string; claim?: Claim }[] = [];
  if (!schedulable(w)) return out;
  for (;;) {
    const first = w.windows[0];
    if (!first) return out;
    if (first.todo.length === 0) {
      if (w.windows.every((x) => x.todo.length === 0)) return out;
      w.windows.shift();
      w.windows.push({ todo: [], allocated: emptyPool(), claims: new Map() });
      continue;
    }
    // a window holding only held calls does not make the later ones wait: they wait for no resources
    let from: SchedWindow | undefined;
    let i = -1;
    for (const x of w.windows) {
      let waiting = false;
      i = x.todo.findIndex((id) => {
        if (hold(id)) return false;
        const need = needOfCall(id);
        if (canHandle(w.preparing, need, w.info, w.active.counts[need.type] ?? 0)) return true;
        waiting = true;
        return false;
      });
      if (i >= 0) from = x;
      if (i >= 0 || waiting) break;
    }
    if (!from) return out;
    const id = from.todo.splice(i, 1)[0]!;
    const claim = from.claims.get(id);
    from.claims.delete(id);
    out.push(claim ? { callId: id, claim } : { callId: id });
    startOn(w, id, needOfCall(id));
  }
}

/** Records a call as started on the worker, its need in `preparing`. */
export function startOn(w: SchedWorker, callId: string, need: Need, held = false): void {
  addTo(w.preparing, need, w.info.resources);
  w.started[callId] = held ? { need, stage: 'preparing', held } : { need, stage: 'preparing' };
}

/**
 * Moves prepared calls to `active` while it has room, in the order they were prepared (Lotus:
 * `withResources` on the active pool). The per-type limit was checked when they started.
 * Returns the call ids whose work starts now.
 */
export function activate(w: SchedWorker): string[] {
  const out: string[] = [];
  const unlimited = { ...w.info, limits: undefined };
  for (let i = 0; i < w.prepared.length; ) {
    const id = w.prepared[i]!;
    const s = w.started[id];
    if (s?.stage !== 'preparing') {
      w.prepared.splice(i, 1);
      continue;
    }
    if (!s.held && !canHandle(w.active, s.need, unlimited)) {
      i++;
      continue;
    }
    w.prepared.splice(i, 1);
    addTo(w.active, s.need, w.info.resources);
    freeFrom(w.preparing, s.need, w.info.resources);
    s.stage = 'active';
    out.push(id);
  }
  return out;
}

/** Forgets a started call, freeing its pool. */
export function release(w: SchedWorker, callId: string): void {
  const s = w.started[callId];
  if (!s) return;
  freeFrom(s.stage === 'active' ? w.active : w.preparing, s.need, w.info.resources);
  delete w.started[callId];
  const i = w.prepared.indexOf(callId);
  if (i >= 0) w.prepared.splice(i, 1);
}

/** Removes a call from the worker's windows (it was aborted or started elsewhere). */
export function dropFromWindows(w: SchedWorker, callId: string): void {
  for (const x of w.windows) {
    const i = x.todo.indexOf(callId);
    if (i >= 0) {
      x.todo.splice(i, 1);
      x.claims.delete(callId);
    }
  }
}
