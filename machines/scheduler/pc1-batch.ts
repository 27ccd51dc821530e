/**
 * PC1 batches (docs/design/scheduler.md §8), pure: as Curio batches SupraSeal, the local worker
 * labels up to `pc1BatchSize` sectors of one size together in one pool task
 * (src/seal/pc1.ts `sealPreCommit1Batch`). When the local worker would start a PC1 and fewer than
 * the batch size of same-size PC1 calls are ready (queued, in a window or not), the PC1 is held for
 * up to `pc1BatchWaitMs` (the delayed `scheduler.pc1.waited`); once enough are ready, or the wait
 * is over, it starts with the ready ones as the batch's other members.
 *
 * Every member keeps its own durable call (its WorkID, its row, its result); they share a batch id
 * (`calls.batch`). The first member takes the resources of one PC1 on the worker; the others take
 * none (their work is done by the first one's thread) but count against the worker's PC1 limit.
 * Remote workers keep single PC1s: a batch's members must share one pool and one lock table.
 */
import { LOCAL_WORKER_ID } from '../../src/tasks/worker-info.js';
import type { TrackedCall } from './call-tracker.js';
import type { Need } from './resource-pool.js';
import type { Effects } from './sched-step.js';
import { type SchedWorker, dropFromWindows, schedulable, startOn } from './sched-workers.js';
import type { SchedulerContext } from './scheduler-base.js';
import { allocBytes, selectorOf } from './selectors.js';
import { type Claim, bestPath, claimOn } from './storage-view.js';
import { put } from './tables.js';

/** At most this many sectors in one batch (the native labeller's LABEL_BATCH_MAX). */
export const PC1_BATCH_MAX = 8;
/** Default of `pc1BatchWaitMs`. */
export const DEFAULT_PC1_BATCH_WAIT_MS = 30_000;

/** The batching settings and the waits running, by sector size. */
export interface Pc1BatchState {
  size: number;
  waitMs: number;
  /** By sector size: the wait started (its generation, so a stale timer is ignored) and whether it is over. */
  waits: Record<string, { gen: number; over: boolean }>;
  gen: number;
}

export function pc1BatchState(size = 1, waitMs = DEFAULT_PC1_BATCH_WAIT_MS): Pc1BatchState {
  checkPc1Batch(size, waitMs);
  return { size, waitMs, waits: {}, gen: 0 };
}

/** INVALID settings are a RangeError naming the setting. */
export function checkPc1Batch(size: number, waitMs: number): void {
  if (!Number.isSafeInteger(size) || size < 1 || size > PC1_BATCH_MAX) throw new RangeError(`the PC1 batch size must be an integer from 1 to ${PC1_BATCH_MAX}, got ${size}`);
  if (!Number.isSafeInteger(waitMs) || waitMs < 0) throw new RangeError(`the PC1 batch wait must be a non-negative integer of milliseconds, got ${waitMs}`);
}

/** Whether PC1s started on `w` are batched. */
export function batching(d: SchedulerContext, w: SchedWorker): boolean {
  return d.pc1Batch.size > 1 && w.info.id === LOCAL_WORKER_ID;
}

/**
 * Whether a call that failed with `error` goes back to the queue to run alone instead of failing:
 * a member of a batch whose pool task (or another member) failed, whatever the error, since the
 * batch's error may be another member's (one sector's unreadable file fails the whole pass).
 * Alone, its own failure is its own. A member stopped because another was aborted ends WORKER_LOST
 * and is simply queued again; an aborted member ends aborted.
 */
export function retriesSolo(call: TrackedCall, error: { code: string }): boolean {
  return call.batch !== undefined && !call.solo && error.code !== 'ABORTED' && error.code !== 'WORKER_LOST';
}

/** PC1 calls of `sectorSize` ready to start on the local worker, in queue order (`leader` first when given). */
function readyPc1(d: SchedulerContext, sectorSize: number, leader?: string): string[] {
  const out: string[] = leader === undefined ? [] : [leader];
  for (const q of d.queue) {
    if (q.task.type !== 'PC1' || q.sectorSize !== sectorSize || q.callId === leader) continue;
    const c = d.calls[q.callId];
    if (c?.phase !== 'queued' || c.aborting || c.solo || d.heldBy[q.callId] !== undefined) continue;
    out.push(q.callId);
  }
  return out;
}

/**
 * Whether the local worker holds back window call `callId` for now: a PC1 while fewer than the
 * batch size of its sector size are ready and its wait is not over (the wait starts here).
 */
export function holdPc1(d: SchedulerContext, fx: Effects, callId: string): boolean {
  const call = d.calls[callId];
  if (call?.task.type !== 'PC1' || call.solo) return false;
  const key = String(call.sectorSize);
  const wait = d.pc1Batch.waits[key];
  if (wait?.over) return false;
  if (readyPc1(d, call.sectorSize).length >= d.pc1Batch.size) return false;
  if (!wait) {
    const gen = d.pc1Batch.gen + 1;
    d.pc1Batch = { ...d.pc1Batch, gen, waits: { ...d.pc1Batch.waits, [key]: { gen, over: false } } };
    fx.delayed.push({ event: { type: 'scheduler.pc1.waited', sectorSize: call.sectorSize, gen }, ms: d.pc1Batch.waitMs });
  }
  return true;
}

/** The wait of a sector size is over: its held PC1 starts at the next pass with what is ready. */
export function pc1Waited(d: SchedulerContext, sectorSize: number, gen: number): boolean {
  const key = String(sectorSize);
  const wait = d.pc1Batch.waits[key];
  if (wait?.gen !== gen) return false; // a batch formed meanwhile
  const waits = { ...d.pc1Batch.waits, [key]: { gen, over: true } };
  // the PC1s that waited are gone (aborted, or started elsewhere): the next one waits anew
  if (readyPc1(d, sectorSize).length === 0) delete waits[key];
  d.pc1Batch = { ...d.pc1Batch, waits };
  return true;
}

/**
 * The queued PC1s that will ride in another's batch on the local worker: of each sector size, in
 * queue order, every one but the first of each batch-size group. A pass does not place them: they
 * would fill the local worker's windows (a batch holds the resources of one PC1) and keep other
 * work out while the batch waits, and they start with their batch's first PC1 (formBatch). While
 * batching, they are not offered to remote workers either.
 */
export function pc1Riders(d: SchedulerContext): Set<string> {
  const riders = new Set<string>();
  const local = d.workers[LOCAL_WORKER_ID];
  // only while the local worker takes PC1s: otherwise they go to whichever worker does
  if (!local || !batching(d, local) || !schedulable(local) || !local.info.taskTypes.includes('PC1') || local.disabledTypes.includes('PC1')) return riders;
  const seen = new Map<number, number>();
  for (const q of d.queue) {
    if (q.task.type !== 'PC1') continue;
    const c = d.calls[q.callId];
    if (c?.phase !== 'queued' || c.aborting || c.solo || d.heldBy[q.callId] !== undefined) continue;
    const n = seen.get(q.sectorSize) ?? 0;
    seen.set(q.sectorSize, n + 1);
    if (n % d.pc1Batch.size !== 0) riders.add(q.callId);
  }
  return riders;
}

/** What a member after the first takes on the worker: no threads or memory, one PC1 for the limit. */
function memberNeed(need: Need): Need {
  return { type: need.type, threads: 0, res: { ...need.res, minMemory: 0, maxMemory: 0, baseMinMemory: 0, canGpu: false } };
}

/**
 * `leader`, a PC1 just started on the local worker, takes the ready PC1s of its size (up to the
 * batch size) as its batch: they leave the queue and windows, start on the worker beside it, and
 * every member's call gets the batch id. Nothing happens when none is ready (it runs alone).
 * Returns the members started besides the leader.
 */
export function formBatch(d: SchedulerContext, fx: Effects, w: SchedWorker, leader: string, needOf: (callId: string) => Need): string[] {
  const lead = d.calls[leader]!;
  if (lead.solo) return [];
  const key = String(lead.sectorSize);
  if (d.pc1Batch.waits[key]) {
    const waits = { ...d.pc1Batch.waits };
    delete waits[key];
    d.pc1Batch = { ...d.pc1Batch, waits };
  }
  // the space of each member's new files is claimed as a pass would (docs/design/scheduler.md §4):
  // its window's claim, or room on one of the worker's sealing paths; a PC1 with no room stays queued
  const windowClaims: Record<string, number> = { ...d.storage.claims };
  for (const x of Object.values(d.workers)) for (const win of x.windows) for (const c of win.claims.values()) claimOn(windowClaims, c, 1);
  const members: { id: string; claim: Claim | undefined }[] = [];
  for (const id of readyPc1(d, lead.sectorSize, leader).slice(1)) {
    if (members.length === d.pc1Batch.size - 1) break;
    let claim = w.windows.map((x) => x.claims.get(id)).find((c) => c !== undefined);
    if (!claim) {
      const sel = selectorOf(d.calls[id]!.task);
      const bytes = sel.kind === 'alloc' ? allocBytes(sel, lead.sectorSize) : 0;
      const path = bestPath(d.storage.paths, windowClaims, w.info.paths, 'sealing', bytes);
      if (path === undefined) continue;
      claim = { path, bytes };
      claimOn(windowClaims, claim, 1);
    }
    members.push({ id, claim });
  }
  if (members.length === 0) return [];
  const batch = globalThis.crypto.randomUUID();
  const calls = [leader, ...members.map((m) => m.id)];
  put(d.calls, leader, { ...lead, batch });
  for (const { id, claim } of members) {
    const call = d.calls[id]!;
    d.queue.remove(id);
    for (const x of Object.values(d.workers)) dropFromWindows(x, id);
    startOn(w, id, memberNeed(needOf(id)));
    const next: TrackedCall = { ...call, phase: 'preparing', worker: w.info.id, batch };
    delete next.holdersPending;
    if (claim) {
      next.claim = claim;
      claimOn(d.storage.claims, claim, 1);
    }
    put(d.calls, id, next);
  }
  for (const id of calls) fx.start.push({ callId: id, task: d.calls[id]!.task, worker: w.info.id, batch: { id: batch, calls } });
  return members.map((m) => m.id);
}
