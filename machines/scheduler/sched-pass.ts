/**
 * The scheduling pass (Lotus `sched.go` `trySched`, docs/design/scheduler.md §5), pure: queued
 * calls, in queue order, are placed in the windows of the workers that accept them, each on the
 * acceptable worker with the lowest utilization counting what this pass already gave it (so equal
 * workers share the work), in that worker's first window that can still hold it.
 *
 * Cost: one lazy min-heap of workers per request shape (task type, sector size, selector). A
 * worker whose windows cannot take a shape is dropped from that shape's heap for the rest of the
 * pass — windows only fill during a pass, so it could not later either — and a worker's key only
 * grows, so a stale entry sinks to its new place when it surfaces. Existing-selector calls look at the
 * workers of their holders directly. O(R·log W + S·W·log W) for R calls, W workers, S shapes.
 *
 * A pass also stops early: once no window of any worker can hold a call of some task type and
 * sector size (its fit key), no call of that key can be placed for the rest of the pass, and once
 * that holds for every key the queue still has, the rest of the queue is not looked at. A queue of
 * thousands behind full windows then costs a pass what the windows hold, not what waits.
 */
import type { WorkerInfo } from '../../src/tasks/worker-info.js';
import type { TaskType } from '../../src/tasks/task-types.js';
import { MinHeap } from './min-heap.js';
import { FitTable, fitKey, offerMask } from './pass-fits.js';
import { type ResourcePool, addTo, canHandle, clonePool, emptyPool, utilization } from './resource-pool.js';
import { type SelectorSpec, allocBytes, fetchBytes } from './selectors.js';
import { type Claim, type PathSpace, bestPath, claimOn } from './storage-view.js';

/** Windows each worker keeps (Lotus `SchedWindows`). */
export const SCHED_WINDOWS = 2;

/** A call as the pass sees it. */
export interface PassCall {
  callId: string;
  type: TaskType;
  sectorSize: number;
  selector: SelectorSpec;
  /** The only worker it may run on (a client's upload runs on the local worker). */
  pinned?: string;
  /** Storage ids holding its files (existing selectors; read from the catalog when it was queued). */
  holders?: readonly string[];
}

/** A worker as the pass sees it. */
export interface PassWorker {
  info: WorkerInfo;
  /** Connected, enabled and not cordoned. */
  schedulable: boolean;
  disabledTypes: readonly TaskType[];
  /** Utilization of its preparing and active pools. */
  baseUtil: number;
  /** Tasks of each type started on it (preparing or active). */
  started: Partial<Record<TaskType, number>>;
}

/** One window: the calls assigned to it, what they add up to, and the space they claim. */
export interface SchedWindow {
  todo: string[];
  allocated: ResourcePool;
  /** By call id (a Map: a pass adds thousands of distinct ids, which a plain object handles slowly). */
  claims: Map<string, Claim>;
}

/** Where a call went. */
export interface Placement {
  worker: string;
  window: number;
  claim?: Claim;
}

/** How a request shape accepts a worker: new files on its paths, files fetched to it, or the task type alone. */
const Accept = { Alloc: 0, Fetch: 1, Task: 2 } as const;
type Accept = (typeof Accept)[keyof typeof Accept];

/**
 * A request shape as a number: calls of one shape accept and rank the same workers. The selector's
 * file types are a FileType mask (three bits); the factor leaves them far more room than that.
 */
function shapeOf(f: number, accept: Accept, types: number, storage: boolean): number {
  return ((f * 3 + accept) * 2 + (storage ? 1 : 0)) * 2 ** 21 + types;
}

/** Places calls in windows; one instance per pass (or per incremental placement). */
export class Planner {
  readonly workers: readonly PassWorker[];
  readonly windows: SchedWindow[][];
  readonly #paths: Readonly<Record<string, PathSpace>>;
  /** Claims of started calls plus those of this planner's windows, by path. */
  readonly #claims: Record<string, number>;
  readonly #index = new Map<string, number>();
  readonly #byPath = new Map<string, number[]>();
  readonly #util: number[];
  readonly #stamp: number[];
  readonly #heaps = new Map<number, MinHeap>();
  readonly #useHeaps: boolean;
  /** Per worker: the task types it offers now as a mask (machines/scheduler/pass-fits.ts), 0 when not schedulable. */
  readonly #offered: number[];
  readonly #fits: FitTable;
  /** Per worker: the visit number of the last holder lookup that saw it (no set per lookup). */
  readonly #seen: Uint32Array;
  #visit = 0;
  /** Assignments so far; by fit, the count at which a window could last hold it, or −1 once none can. */
  #assigned = 0;
  readonly #fitSeen: number[] = [];
  /** By fit: the first worker that might still hold it (those before it could not, and windows only fill). */
  readonly #fitFrom: number[] = [];
  /** What the last {@link Planner.#accept} or {@link Planner.#bestHolder} found besides its answer. */
  #foundWindow = -1;
  #foundClaim: Claim | undefined;

  /**
   * @param windows existing windows by worker id (incremental placement); absent: every schedulable
   *   worker starts with {@link SCHED_WINDOWS} empty windows (a full pass re-plans everything)
   */
  constructor(
    workers: readonly PassWorker[],
    storage: { paths: Readonly<Record<string, PathSpace>>; claims: Readonly<Record<string, number>> },
    options: { windows?: Readonly<Record<string, readonly SchedWindow[]>>; useHeaps?: boolean } = {},
  ) {
    this.workers = workers;
    this.#paths = storage.paths;
    this.#claims = { ...storage.claims };
    this.#useHeaps = options.useHeaps ?? true;
    this.windows = workers.map((w) => {
      const existing = options.windows?.[w.info.id];
      if (!w.schedulable) return [];
      if (existing) {
        const copy = existing.map((x) => ({ todo: [...x.todo], allocated: clonePool(x.allocated), claims: new Map(x.claims) }));
        for (const x of copy) for (const c of x.claims.values()) claimOn(this.#claims, c, 1);
        return copy;
      }
      return Array.from({ length: SCHED_WINDOWS }, () => ({ todo: [], allocated: emptyPool(), claims: new Map() }));
    });
    workers.forEach((w, i) => {
      this.#index.set(w.info.id, i);
      for (const p of w.info.paths) {
        const list = this.#byPath.get(p);
        if (list) list.push(i);
        else this.#byPath.set(p, [i]);
      }
    });
    this.#offered = workers.map((w) => (w.schedulable ? offerMask(w.info.taskTypes, w.disabledTypes) : 0));
    this.#util = workers.map((_, i) => this.#utilOf(i));
    this.#stamp = workers.map(() => 0);
    this.#seen = new Uint32Array(workers.length);
    this.#fits = new FitTable(workers.length);
  }

  /** The fit key of the planner's fit number `f`. */
  fitKeyOf(f: number): string {
    return fitKey(this.#fits.type[f]!, this.#fits.sectorSize[f]!);
  }

  /** The planner's number for a fit key (machines/scheduler/pass-fits.ts). */
  fitOf(type: TaskType, sectorSize: number): number {
    const f = this.#fits.idOf(type, sectorSize);
    if (f === this.#fitSeen.length) {
      this.#fitSeen.push(-2); // never asked
      this.#fitFrom.push(0);
    }
    return f;
  }

  /** Places `call` in a window, or returns undefined when no worker can hold it now. */
  place(call: PassCall, f = this.fitOf(call.type, call.sectorSize)): Placement | undefined {
    if (call.pinned !== undefined) {
      const w = this.#index.get(call.pinned);
      return w === undefined ? undefined : this.#tryPinned(w, call, f);
    }
    const sel = call.selector;
    if (sel.kind === 'existing') {
      const w = this.#bestHolder(call, f);
      if (w >= 0) return this.#assign(w, this.#foundWindow, call, undefined, f);
      if (!sel.allowFetch) return undefined;
      return this.#fromShape(call, f, Accept.Fetch, shapeOf(f, Accept.Fetch, sel.types, false));
    }
    if (sel.kind === 'alloc') return this.#fromShape(call, f, Accept.Alloc, shapeOf(f, Accept.Alloc, sel.types, sel.pathType === 'storage'));
    return this.#fromShape(call, f, Accept.Task, shapeOf(f, Accept.Task, 0, false));
  }

  /**
   * Whether some window of a schedulable worker that runs `type` can still hold a call of this type
   * and size. Once false it stays false for the planner's life: windows only fill, and the counts
   * of started tasks do not change during a pass. For the same reason a worker that could not hold
   * it once never can again, so each fit's scan resumes where the last one found room: all the
   * asking of a pass costs a fit one walk over the workers.
   */
  canFit(type: TaskType, sectorSize: number, f = this.fitOf(type, sectorSize)): boolean {
    const seen = this.#fitSeen[f]!;
    if (seen === -1) return false;
    if (seen === this.#assigned) return true;
    const bit = this.#fits.bit[f]!;
    for (let w = this.#fitFrom[f]!; w < this.workers.length; w++) {
      if ((this.#offered[w]! & bit) !== 0 && this.#fittingWindow(w, f) >= 0) {
        this.#fitFrom[f] = w;
        this.#fitSeen[f] = this.#assigned;
        return true;
      }
    }
    this.#fitSeen[f] = -1;
    return false;
  }

  /** The windows by worker id. */
  windowsById(): Record<string, SchedWindow[]> {
    const out: Record<string, SchedWindow[]> = {};
    this.workers.forEach((w, i) => {
      out[w.info.id] = this.windows[i]!;
    });
    return out;
  }

  #tryPinned(w: number, call: PassCall, f: number): Placement | undefined {
    const sel = call.selector;
    if (!this.#offers(w, f)) return undefined;
    let claim: Claim | undefined;
    if (sel.kind === 'alloc') {
      claim = this.#claimOn(w, sel.pathType, allocBytes(sel, call.sectorSize));
      if (!claim) return undefined;
    } else if (sel.kind === 'existing' && !this.#holds(w, call)) {
      if (!sel.allowFetch) return undefined;
      claim = this.#claimOn(w, 'sealing', fetchBytes(sel, call.sectorSize));
      if (!claim) return undefined;
    }
    const window = this.#fittingWindow(w, f);
    return window < 0 ? undefined : this.#assign(w, window, call, claim, f);
  }

  /** The least utilized holder of the call's files with a window that can hold it (its window in #foundWindow), or −1. */
  #bestHolder(call: PassCall, f: number): number {
    let best = -1;
    let bestWindow = -1;
    const holders = call.holders;
    if (holders === undefined) return -1;
    const visit = ++this.#visit;
    const util = this.#util;
    for (const path of holders) {
      const on = this.#byPath.get(path);
      if (on === undefined) continue;
      for (const w of on) {
        if (this.#seen[w] === visit) continue;
        this.#seen[w] = visit;
        if (!this.#offers(w, f)) continue;
        if (best >= 0 && (util[w]! > util[best]! || (util[w] === util[best] && w > best))) continue;
        const window = this.#fittingWindow(w, f);
        if (window >= 0) {
          best = w;
          bestWindow = window;
        }
      }
    }
    this.#foundWindow = bestWindow;
    return best;
  }

  #fromShape(call: PassCall, f: number, accept: Accept, shape: number): Placement | undefined {
    const sel = call.selector;
    // the bytes the call's new or fetched files take, whichever worker takes it
    const bytes = sel.kind === 'alloc' ? allocBytes(sel, call.sectorSize) : sel.kind === 'existing' ? fetchBytes(sel, call.sectorSize) : 0;
    if (!this.#useHeaps) {
      let best = -1;
      let bestRank = 0;
      let bestWindow = -1;
      let bestClaim: Claim | undefined;
      for (let w = 0; w < this.workers.length; w++) {
        const rank = this.#rank(w, accept);
        if (best >= 0 && rank >= bestRank) continue;
        const window = this.#accept(w, call, accept, f, bytes);
        if (window >= 0) {
          best = w;
          bestRank = rank;
          bestWindow = window;
          bestClaim = this.#foundClaim;
        }
      }
      return best < 0 ? undefined : this.#assign(best, bestWindow, call, bestClaim, f);
    }
    let heap = this.#heaps.get(shape);
    if (!heap) {
      heap = new MinHeap();
      for (let w = 0; w < this.workers.length; w++) if (this.#offers(w, f)) heap.push(this.#rank(w, accept), w, this.#stamp[w]!);
      this.#heaps.set(shape, heap);
    }
    while (heap.size > 0) {
      const w = heap.topItem;
      if (heap.topStamp !== this.#stamp[w]) {
        heap.replaceTop(this.#rank(w, accept), this.#stamp[w]!);
        continue;
      }
      const window = this.#accept(w, call, accept, f, bytes);
      if (window < 0) {
        heap.pop(); // cannot take this shape now, nor later in this pass
        continue;
      }
      return this.#assign(w, window, call, this.#foundClaim, f);
    }
    return undefined;
  }

  /** The window of worker `w` that takes the call for this shape (the space it claims in #foundClaim), or −1. */
  #accept(w: number, call: PassCall, accept: Accept, f: number, bytes: number): number {
    this.#foundClaim = undefined;
    if (!this.#offers(w, f)) return -1;
    let claim: Claim | undefined;
    const sel = call.selector;
    if (accept === Accept.Alloc && sel.kind === 'alloc') {
      claim = this.#claimOn(w, sel.pathType, bytes);
      if (!claim) return -1;
    } else if (accept === Accept.Fetch && sel.kind === 'existing') {
      claim = this.#claimOn(w, 'sealing', bytes);
      if (!claim) return -1;
    }
    const window = this.#fittingWindow(w, f);
    if (window >= 0) this.#foundClaim = claim;
    return window;
  }

  #offers(w: number, f: number): boolean {
    return (this.#offered[w]! & this.#fits.bit[f]!) !== 0;
  }

  #holds(w: number, call: PassCall): boolean {
    const paths = this.workers[w]!.info.paths;
    return (call.holders ?? []).some((h) => paths.includes(h));
  }

  /** Room for `bytes` of new files (alloc) or fetched ones (always to a sealing path) on one of worker `w`'s paths. */
  #claimOn(w: number, kind: 'sealing' | 'storage', bytes: number): Claim | undefined {
    const path = bestPath(this.#paths, this.#claims, this.workers[w]!.info.paths, kind, bytes);
    return path === undefined ? undefined : { path, bytes };
  }

  /** The first window of worker `w` that can still hold a call of fit `f`, within the worker's per-type limit; −1 if none. */
  #fittingWindow(w: number, f: number): number {
    const pw = this.workers[w]!;
    const info = pw.info;
    const need = this.#fits.need(f, w, info.resources);
    const windows = this.windows[w]!;
    const type = need.type;
    if (info.limits?.[type] === undefined) {
      // no per-type limit: canHandle does not look at the counts
      for (let i = 0; i < windows.length; i++) if (canHandle(windows[i]!.allocated, need, info)) return i;
      return -1;
    }
    let inWindows = 0;
    for (const x of windows) inWindows += x.allocated.counts[type] ?? 0;
    const started = pw.started[type] ?? 0;
    for (let i = 0; i < windows.length; i++) {
      const pool = windows[i]!.allocated;
      // the limit counts the type on the whole worker: started, and in every window
      if (canHandle(pool, need, info, started + inWindows - (pool.counts[type] ?? 0))) return i;
    }
    return -1;
  }

  #assign(w: number, window: number, call: PassCall, claim: Claim | undefined, f: number): Placement {
    const pw = this.workers[w]!;
    const x = this.windows[w]![window]!;
    addTo(x.allocated, this.#fits.need(f, w, pw.info.resources), pw.info.resources);
    x.todo.push(call.callId);
    if (claim) {
      x.claims.set(call.callId, claim);
      claimOn(this.#claims, claim, 1);
    }
    this.#util[w] = this.#utilOf(w);
    this.#stamp[w]!++;
    this.#assigned++;
    return claim ? { worker: pw.info.id, window, claim } : { worker: pw.info.id, window };
  }

  /** Lower ranks first: utilization; for the task selector, fewer task types first (dedicated boxes), then utilization. */
  #rank(w: number, accept: Accept): number {
    return accept === Accept.Task ? this.workers[w]!.info.taskTypes.length * 1e6 + this.#util[w]! : this.#util[w]!;
  }

  #utilOf(w: number): number {
    const pw = this.workers[w]!;
    let u = pw.baseUtil;
    for (const x of this.windows[w]!) u += utilization(x.allocated, pw.info.resources);
    return u;
  }
}

/** What {@link placeInOrder} needs of a queue entry. */
export interface PassEntry<T> {
  type(e: T): TaskType;
  sectorSize(e: T): number;
  /** The call to place, or undefined when the entry cannot be placed yet (its holders are being read). */
  call(e: T): PassCall | undefined;
}

/**
 * Places `entries` in order with `planner`, stopping early once none of those left can fit: `counts`
 * says how many entries of each fit key there are. Calls `placed` for each placement.
 */
export function placeInOrder<T>(
  planner: Planner,
  entries: Iterable<T>,
  counts: ReadonlyMap<string, number>,
  of: PassEntry<T>,
  placed: (call: PassCall, p: Placement) => void,
): void {
  // by the planner's fit numbers: calls of each fit not yet looked at, and fits no window can hold
  const left: (number | undefined)[] = [];
  const dead: boolean[] = [];
  let live = 0;
  for (const n of counts.values()) if (n > 0) live++;
  let counted = true; // false if an entry's key was not counted: then no early stop
  for (const e of entries) {
    const type = of.type(e);
    const sectorSize = of.sectorSize(e);
    const f = planner.fitOf(type, sectorSize);
    const n = (left[f] ?? counts.get(fitKey(type, sectorSize)) ?? 0) - 1;
    left[f] = n;
    if (n < 0) counted = false;
    if (dead[f] === true) continue;
    const call = of.call(e);
    const p = call && planner.place(call, f);
    if (call && p) placed(call, p);
    else if (!planner.canFit(type, sectorSize, f)) {
      dead[f] = true;
      if (n >= 0) live--;
      if (counted && live === 0) return;
      continue;
    }
    if (n === 0) live--;
    if (counted && live === 0) return;
  }
}

const PASS_CALL: PassEntry<PassCall> = { type: (c) => c.type, sectorSize: (c) => c.sectorSize, call: (c) => c };

/** A full pass: every call, in queue order, re-planned from empty windows. */
export function planAll(
  calls: readonly PassCall[],
  workers: readonly PassWorker[],
  storage: { paths: Readonly<Record<string, PathSpace>>; claims: Readonly<Record<string, number>> },
): { windows: Record<string, SchedWindow[]>; placements: Map<string, Placement> } {
  const planner = new Planner(workers, storage);
  const placements = new Map<string, Placement>();
  const perFit: number[] = [];
  for (const c of calls) {
    const f = planner.fitOf(c.type, c.sectorSize);
    perFit[f] = (perFit[f] ?? 0) + 1;
  }
  const counts = new Map<string, number>();
  for (let f = 0; f < perFit.length; f++) counts.set(planner.fitKeyOf(f), perFit[f]!);
  placeInOrder(planner, calls, counts, PASS_CALL, (c, p) => placements.set(c.callId, p));
  return { windows: planner.windowsById(), placements };
}
