/**
 * The scheduler's placement of calls on workers (docs/design/scheduler.md §4–5): queueing a call
 * (reading its holders first when its selector needs them), placing a new call in the current
 * windows, the full pass that re-plans every window (run once per turn of the event loop however
 * many events wanted it, machines/scheduler/sched-tick.ts), the worker side (start what fits
 * `preparing`, move prepared calls to `active`), and the storage path view. Bodies work on a draft
 * context (machines/scheduler/sched-step.ts).
 */
import type { WireError } from '../../src/errors.js';
import type { SectorStorageInfo } from '../../src/storage/storage-types.js';
import type { StorageSpace } from '../../src/db/storage-catalog.js';
import { FILE_TYPES, FileType, sectorName } from '../../src/sector/sector-id.js';
import { type IndexResult, NO_REPLY } from '../protocol.js';
import type { TrackedCall } from './call-tracker.js';
import { needOf } from './resource-pool.js';
import { batching, formBatch, holdPc1, pc1Riders, pc1Waited } from './pc1-batch.js';
import { type PassCall, type PassEntry, Planner, placeInOrder } from './sched-pass.js';
import { type Effects, nextRequestId, step } from './sched-step.js';
import { type SchedWorker, activate, dropFromWindows, emptyWindows, passWorker, startOn, takeStartable } from './sched-workers.js';
import type { QueuedCall } from './task-queue.js';
import { type SchedulerContext, enqueue_, failure, finishWrite } from './scheduler-base.js';
import { claimOn, pathsOf } from './storage-view.js';
import { put } from './tables.js';

type D = SchedulerContext;

/** The workers in id order (passes are deterministic). */
function workerList(d: D): SchedWorker[] {
  return Object.keys(d.workers)
    .sort()
    .map((id) => d.workers[id]!);
}

function passCallOf(d: D, q: QueuedCall): PassCall | undefined {
  const call = d.calls[q.callId];
  if (call?.phase !== 'queued' || call.holdersPending) return undefined;
  const p: PassCall = { callId: q.callId, type: q.task.type, sectorSize: q.sectorSize, selector: q.selector };
  if (q.pinned !== undefined) p.pinned = q.pinned;
  if (call.holders) p.holders = call.holders;
  return p;
}

/** The connected worker that holds a call (it outlived a restart with it), if any. */
function holderOf(d: D, callId: string): SchedWorker | undefined {
  const id = d.heldBy[callId];
  const w = id === undefined ? undefined : d.workers[id];
  return w?.connected ? w : undefined;
}

/**
 * Starts a queued call on the worker that holds it: it runs there already, so neither windows,
 * resources, limits nor a cordon keep it from its result (its runner waits for that result).
 */
function startHeld(d: D, fx: Effects, callId: string, w: SchedWorker): void {
  const call = d.calls[callId]!;
  d.queue.remove(callId);
  for (const x of Object.values(d.workers)) dropFromWindows(x, callId);
  startOn(w, callId, needOf(call.task.type, call.sectorSize, w.info.resources), true);
  const next: TrackedCall = { ...call, phase: 'preparing', worker: w.info.id };
  delete next.holdersPending;
  put(d.calls, callId, next);
  fx.start.push({ callId, task: call.task, worker: w.info.id });
}

/** Starts every queued call whose holder is connected on that holder. */
function attachHeld(d: D, fx: Effects): void {
  for (const callId of Object.keys(d.heldBy)) {
    const w = holderOf(d, callId);
    if (w && d.calls[callId]?.phase === 'queued') startHeld(d, fx, callId, w);
  }
}

/** Puts a durable call in the queue: read its holders first if its selector needs them, else place it. */
export function queueCall(d: D, fx: Effects, call: TrackedCall): void {
  const queued: TrackedCall = { ...call, phase: 'queued' };
  delete queued.worker;
  delete queued.claim;
  delete queued.batch;
  const entry = enqueue_(d.queue, queued);
  const holder = holderOf(d, call.callId);
  if (holder) {
    put(d.calls, call.callId, queued);
    if (d.schedReady) startHeld(d, fx, call.callId, holder);
    return;
  }
  if (entry.selector.kind === 'existing') {
    queued.holdersPending = true;
    put(d.calls, call.callId, queued);
    const requestId = nextRequestId(d);
    put(d.writes, requestId, { op: 'holders', callId: call.callId });
    fx.index.push({
      requestId,
      store: 'catalog',
      method: 'storageFindSector',
      args: [call.task.sector, entry.selector.types, call.sectorSize, false],
    });
    return;
  }
  put(d.calls, call.callId, queued);
  // while PC1s are batched a new PC1 may ride in another's batch (machines/scheduler/pc1-batch.ts
  // pc1Riders) or make a held batch full: a pass decides
  if (d.pc1Batch.size > 1 && call.task.type === 'PC1') passDue(d, fx);
  else placeNew(d, fx, call.callId);
}

/** The catalog answered where a queued call's files are. */
export function holdersAnswered(d: D, fx: Effects, callId: string, answer: IndexResult): void {
  const call = d.calls[callId];
  if (call?.phase !== 'queued' || !call.holdersPending) return; // aborted meanwhile
  const entry = d.queue.get(callId);
  const types = entry?.selector.kind === 'existing' ? entry.selector.types : FileType.sealed | FileType.cache;
  const names = FILE_TYPES.filter((t) => types & FileType[t]).join('+');
  let error: WireError | undefined;
  let holders: string[] = [];
  if (!answer.ok) {
    error = failure('INTERNAL', `call ${callId} (${call.task.type}): where the ${names} files of ${sectorName(call.task.sector)} are could not be read: ${answer.error.message}`);
  } else {
    holders = (answer.value as SectorStorageInfo[]).map((s) => s.ID);
    if (holders.length === 0) {
      error = failure('FILE_NOT_FOUND', `the ${names} files of ${sectorName(call.task.sector)} are on no storage path: no worker can run ${call.task.type} (call ${callId})`);
    }
  }
  if (error) {
    d.queue.remove(callId);
    const f = finishWrite(d, call, { ok: false, error }, 'failed');
    Object.assign(d, f.patch);
    fx.index.push(f.call);
    return;
  }
  put(d.calls, callId, { ...call, holders, holdersPending: false });
  placeNew(d, fx, callId);
}

/**
 * Places one new queued call in the current windows (O(workers)), and starts what can start. Not
 * while a full pass is due: that pass places it, in queue order with every other waiting call.
 */
export function placeNew(d: D, fx: Effects, callId: string): void {
  if (!d.schedReady || d.passDue) return;
  const q = d.queue.get(callId);
  const pc = q && passCallOf(d, q);
  if (!pc) return;
  const workers = workerList(d);
  const windows: Record<string, SchedWorker['windows']> = {};
  for (const w of workers) windows[w.info.id] = w.windows;
  const planner = new Planner(workers.map(passWorker), d.storage, { windows, useHeaps: false });
  const placed = planner.place(pc);
  if (!placed) return;
  const w = d.workers[placed.worker]!;
  w.windows = planner.windowsById()[placed.worker]!;
  processWorker(d, fx, w);
}

/**
 * Marks a full pass as due: it runs on the next tick, once, after every event of this turn
 * (machines/scheduler/sched-tick.ts). Only the first event of a turn asks for the tick.
 */
export function passDue(d: D, fx: Effects): void {
  if (d.passDue) return;
  d.passDue = true;
  fx.tick = true;
}

/**
 * A full pass: every waiting call re-planned into fresh windows, in queue order, up to where
 * nothing left can fit (machines/scheduler/sched-pass.ts `placeInOrder`); then every worker starts
 * what fits.
 */
export function fullPass(d: D, fx: Effects): void {
  d.passDue = false;
  d.passes++;
  const workers = workerList(d);
  if (d.schedReady) {
    attachHeld(d, fx);
    const planner = new Planner(workers.map(passWorker), d.storage);
    const riders = pc1Riders(d);
    const entry: PassEntry<QueuedCall> = {
      type: (q) => q.task.type,
      sectorSize: (q) => q.sectorSize,
      call: (q) => (riders.has(q.callId) ? undefined : passCallOf(d, q)),
    };
    placeInOrder(planner, d.queue, d.queue.fitCounts(), entry, () => {});
    const windows = planner.windowsById();
    for (const w of workers) w.windows = windows[w.info.id]!.length > 0 ? windows[w.info.id]! : emptyWindows();
  }
  for (const w of workers) processWorker(d, fx, w);
}

/** Starts the worker's startable window calls and moves its prepared calls to `active`, until nothing changes. */
export function processWorker(d: D, fx: Effects, w: SchedWorker): void {
  const startedIds = new Set<string>();
  const need = (id: string) => {
    const c = d.calls[id]!;
    return needOf(c.task.type, c.sectorSize, w.info.resources);
  };
  const batched = batching(d, w);
  for (;;) {
    const started = takeStartable(w, need, batched ? (id) => holdPc1(d, fx, id) : undefined);
    for (const s of started) {
      const call = d.calls[s.callId]!;
      const next: TrackedCall = { ...call, phase: 'preparing', worker: w.info.id };
      if (s.claim) {
        next.claim = s.claim;
        claimOn(d.storage.claims, s.claim, 1);
      }
      put(d.calls, s.callId, next);
      startedIds.add(s.callId);
      if (batched && call.task.type === 'PC1' && formBatch(d, fx, w, s.callId, need).length > 0) continue;
      fx.start.push({ callId: s.callId, task: call.task, worker: w.info.id });
    }
    if (activateOn(d, fx, w) === 0) break; // nothing left `preparing`: no more window calls can fit
  }
  for (const id of startedIds) d.queue.remove(id);
}

/**
 * Moves the worker's prepared calls to `active` while it has room and starts their work; returns
 * how many. This is the worker's side alone (Lotus's worker loop, not `trySched`): the calls are
 * started already and go in the order they were prepared, whatever a pass would plan, so it runs at
 * once when room appears rather than waiting for the next pass.
 */
export function activateOn(d: D, fx: Effects, w: SchedWorker): number {
  const active = activate(w);
  for (const id of active) {
    const call = d.calls[id];
    if (!call) continue;
    put(d.calls, id, { ...call, phase: 'running' });
    fx.work.push(id);
    const args: [string, string, string, string?] = call.batch ? [id, w.info.id, w.info.hostname, call.batch] : [id, w.info.id, w.info.hostname];
    fx.index.push({ requestId: NO_REPLY, store: 'calls', method: 'run', args });
  }
  return active.length;
}

/** Asks the catalog for the path view (once at a time; a request meanwhile asks again after). */
export function requestPaths(d: D, fx: Effects): void {
  if (d.storageReading) {
    d.storageStale = true;
    return;
  }
  d.storageReading = true;
  const requestId = nextRequestId(d);
  put(d.writes, requestId, { op: 'paths' });
  fx.index.push({ requestId, store: 'catalog', method: 'storageSpace', args: [] });
}

/** The catalog answered the path view: keep it; a pass is due. */
export function pathsAnswered(d: D, fx: Effects, answer: IndexResult): void {
  d.storageReading = false;
  if (answer.ok) d.storage = { ...d.storage, paths: pathsOf(answer.value as StorageSpace[]), loaded: true };
  if (d.storageStale) {
    d.storageStale = false;
    requestPaths(d, fx);
  }
  passDue(d, fx);
}

/**
 * A call's prepare step is done: its work starts if the worker's `active` pool has room, else it
 * waits there. When it started, its room in `preparing` is free: a pass is due to start what the
 * windows hold.
 */
export const taskPrepared = step((d, fx, event) => {
  if (event.type !== 'scheduler.task.prepared') return;
  const call = d.calls[event.callId];
  if (call?.phase !== 'preparing' || call.worker === undefined) return;
  const w = d.workers[call.worker];
  if (!w?.started[call.callId]) return;
  w.prepared.push(call.callId);
  if (activateOn(d, fx, w) > 0) passDue(d, fx);
});

/** The tick of a due pass (machines/scheduler/sched-tick.ts): the pass runs, unless one ran meanwhile. */
export const schedPass = step((d, fx) => {
  if (d.passDue) fullPass(d, fx);
});

/** The PC1 batch wait of a sector size is over: a pass starts its held PC1 with what is ready. */
export const pc1WaitOver = step((d, fx, event) => {
  if (event.type !== 'scheduler.pc1.waited') return;
  if (pc1Waited(d, event.sectorSize, event.gen)) passDue(d, fx);
});

/** Re-reads the path view. */
export const refreshStorage = step((d, fx) => requestPaths(d, fx));

/** The start-up wait is over: passes run from now on; the first is due. */
export const schedStart = step((d, fx) => {
  d.schedReady = true;
  passDue(d, fx);
});
