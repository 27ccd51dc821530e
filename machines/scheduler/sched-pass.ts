/**
 * The scheduling pass (Lotus `sched.go` `trySched`, docs/design/scheduler.md §5), pure: queued
 * calls, in queue order, are placed in the windows of the workers that accept them, each on the
 * acceptable worker with the lowest utilization counting what this pass already gave it (so equal
 * workers share the work), in that worker's first window that can still hold it.
 *
 * Cost: one lazy min-heap of workers per request shape (task type, sector size, selector). A
 * worker whose windows cannot take a shape is dropped from that shape's heap for the rest of the
 * pass — windows only fill during a pass, so it could not later either — and a worker's key only
 * grows, so a stale entry is re-pushed when it surfaces. Existing-selector calls look at the
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
import { type Need, type ResourcePool, addTo, canHandle, clonePool, emptyPool, needOf, utilization } from './resource-pool.js';
import { type SelectorSpec, allocBytes, fetchBytes, offers } from './selectors.js';
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
  claims: Record<string, Claim>;
}

/** Where a call went. */
export interface Placement {
  worker: string;
  window: number;
  claim?: Claim;
}

/** What a call's need and its room in a window depend on: its task type and sector size. */
export function fitKey(type: TaskType, sectorSize: number): string {
  return `${type}|${sectorSize}`;
}

/** A request shape: calls of one shape accept and rank the same workers. */
type Shape = { key: string; acceptKind: 'alloc' | 'fetch' | 'task' };

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
  readonly #heaps = new Map<string, MinHeap>();
  readonly #useHeaps: boolean;
  /** Needs by task type, sector size and worker threads: a pass asks for the same few many times. */
  readonly #needs = new Map<string, Map<number, Map<number, Need>>>();
  /** Per worker: the visit number of the last holder lookup that saw it (no set per lookup). */
  readonly #seen: Uint32Array;
  #visit = 0;
  /** Assignments so far; by fit key, the count at which a window could last hold it, or −1 once none can. */
  #assigned = 0;
  readonly #fits = new Map<string, number>();

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
        const copy = existing.map((x) => ({ todo: [...x.todo], allocated: clonePool(x.allocated), claims: { ...x.claims } }));
        for (const x of copy) for (const c of Object.values(x.claims)) claimOn(this.#claims, c, 1);
        return copy;
      }
      return Array.from({ length: SCHED_WINDOWS }, () => ({ todo: [], allocated: emptyPool(), claims: {} }));
    });
    workers.forEach((w, i) => {
      this.#index.set(w.info.id, i);
      for (const p of w.info.paths) {
        const list = this.#byPath.get(p);
        if (list) list.push(i);
        else this.#byPath.set(p, [i]);
      }
    });
    this.#util = workers.map((_, i) => this.#utilOf(i));
    this.#stamp = workers.map(() => 0);
    this.#seen = new Uint32Array(workers.length);
  }

  /** Places `call` in a window, or returns undefined when no worker can hold it now. */
  place(call: PassCall): Placement | undefined {
    if (call.pinned !== undefined) {
      const w = this.#index.get(call.pinned);
      return w === undefined ? undefined : this.#tryPinned(w, call);
    }
    const sel = call.selector;
    if (sel.kind === 'existing') {
      const holder = this.#bestHolder(call);
      if (holder !== undefined) return this.#assign(holder.w, holder.window, call, undefined);
      if (!sel.allowFetch) return undefined;
      return this.#fromShape(call, { key: `fetch|${call.type}|${call.sectorSize}|${sel.types}`, acceptKind: 'fetch' });
    }
    if (sel.kind === 'alloc') {
      return this.#fromShape(call, { key: `alloc|${call.type}|${call.sectorSize}|${sel.types}|${sel.pathType}`, acceptKind: 'alloc' });
    }
    return this.#fromShape(call, { key: `task|${call.type}|${call.sectorSize}`, acceptKind: 'task' });
  }

  /**
   * Whether some window of a schedulable worker that runs `type` can still hold a call of this type
   * and size. Once false it stays false for the planner's life: windows only fill, and the counts
   * of started tasks do not change during a pass.
   */
  canFit(type: TaskType, sectorSize: number): boolean {
    const k = fitKey(type, sectorSize);
    const seen = this.#fits.get(k);
    if (seen === -1) return false;
    if (seen === this.#assigned) return true;
    for (let w = 0; w < this.workers.length; w++) {
      if (this.#offers(w, type) && this.#fittingWindow(w, type, sectorSize) !== undefined) {
        this.#fits.set(k, this.#assigned);
        return true;
      }
    }
    this.#fits.set(k, -1);
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

  #tryPinned(w: number, call: PassCall): Placement | undefined {
    const sel = call.selector;
    if (!this.#offers(w, call.type)) return undefined;
    let claim: Claim | undefined;
    if (sel.kind === 'alloc') {
      claim = this.#allocClaim(w, call, sel);
      if (!claim) return undefined;
    } else if (sel.kind === 'existing' && !this.#holds(w, call)) {
      if (!sel.allowFetch) return undefined;
      claim = this.#fetchClaim(w, call, sel);
      if (!claim) return undefined;
    }
    const window = this.#fittingWindow(w, call.type, call.sectorSize);
    return window === undefined ? undefined : this.#assign(w, window, call, claim);
  }

  #bestHolder(call: PassCall): { w: number; window: number } | undefined {
    let best: { w: number; window: number } | undefined;
    const visit = ++this.#visit;
    for (const path of call.holders ?? []) {
      for (const w of this.#byPath.get(path) ?? []) {
        if (this.#seen[w] === visit) continue;
        this.#seen[w] = visit;
        if (!this.#offers(w, call.type)) continue;
        if (best !== undefined && (this.#util[w]! > this.#util[best.w]! || (this.#util[w] === this.#util[best.w] && w > best.w))) continue;
        const window = this.#fittingWindow(w, call.type, call.sectorSize);
        if (window !== undefined) best = { w, window };
      }
    }
    return best;
  }

  #fromShape(call: PassCall, shape: Shape): Placement | undefined {
    if (!this.#useHeaps) {
      let best: { w: number; window: number; claim?: Claim; rank: number } | undefined;
      for (let w = 0; w < this.workers.length; w++) {
        const rank = this.#rank(w, shape);
        if (best !== undefined && rank >= best.rank) continue;
        const ok = this.#accept(w, call, shape);
        if (ok) best = { ...ok, w, rank };
      }
      return best && this.#assign(best.w, best.window, call, best.claim);
    }
    let heap = this.#heaps.get(shape.key);
    if (!heap) {
      heap = new MinHeap();
      for (let w = 0; w < this.workers.length; w++) if (this.#offers(w, call.type)) heap.push(this.#rank(w, shape), w, this.#stamp[w]!);
      this.#heaps.set(shape.key, heap);
    }
    for (;;) {
      const top = heap.peek();
      if (!top) return undefined;
      if (top.stamp !== this.#stamp[top.item]) {
        heap.pop();
        heap.push(this.#rank(top.item, shape), top.item, this.#stamp[top.item]!);
        continue;
      }
      const ok = this.#accept(top.item, call, shape);
      if (!ok) {
        heap.pop(); // cannot take this shape now, nor later in this pass
        continue;
      }
      return this.#assign(top.item, ok.window, call, ok.claim);
    }
  }

  #accept(w: number, call: PassCall, shape: Shape): { window: number; claim?: Claim } | undefined {
    if (!this.#offers(w, call.type)) return undefined;
    let claim: Claim | undefined;
    const sel = call.selector;
    if (shape.acceptKind === 'alloc' && sel.kind === 'alloc') {
      claim = this.#allocClaim(w, call, sel);
      if (!claim) return undefined;
    } else if (shape.acceptKind === 'fetch' && sel.kind === 'existing') {
      claim = this.#fetchClaim(w, call, sel);
      if (!claim) return undefined;
    }
    const window = this.#fittingWindow(w, call.type, call.sectorSize);
    if (window === undefined) return undefined;
    return claim ? { window, claim } : { window };
  }

  #offers(w: number, type: TaskType): boolean {
    const pw = this.workers[w]!;
    return pw.schedulable && offers(pw.info.taskTypes, pw.disabledTypes, type);
  }

  #holds(w: number, call: PassCall): boolean {
    const paths = this.workers[w]!.info.paths;
    return (call.holders ?? []).some((h) => paths.includes(h));
  }

  #allocClaim(w: number, call: PassCall, sel: Extract<SelectorSpec, { kind: 'alloc' }>): Claim | undefined {
    const bytes = allocBytes(sel, call.sectorSize);
    const path = bestPath(this.#paths, this.#claims, this.workers[w]!.info.paths, sel.pathType, bytes);
    return path === undefined ? undefined : { path, bytes };
  }

  #fetchClaim(w: number, call: PassCall, sel: Extract<SelectorSpec, { kind: 'existing' }>): Claim | undefined {
    const bytes = fetchBytes(sel, call.sectorSize);
    const path = bestPath(this.#paths, this.#claims, this.workers[w]!.info.paths, 'sealing', bytes);
    return path === undefined ? undefined : { path, bytes };
  }

  /** The first window of worker `w` that can still hold the call, within the worker's per-type limit. */
  #fittingWindow(w: number, type: TaskType, sectorSize: number): number | undefined {
    const pw = this.workers[w]!;
    const need = this.#need(pw, type, sectorSize);
    const windows = this.windows[w]!;
    let inWindows = 0;
    for (const x of windows) inWindows += x.allocated.counts[type] ?? 0;
    const started = pw.started[type] ?? 0;
    for (let i = 0; i < windows.length; i++) {
      const pool = windows[i]!.allocated;
      // the limit counts the type on the whole worker: started, and in every window
      if (canHandle(pool, need, pw.info, started + inWindows - (pool.counts[type] ?? 0))) return i;
    }
    return undefined;
  }

  #assign(w: number, window: number, call: PassCall, claim: Claim | undefined): Placement {
    const pw = this.workers[w]!;
    const x = this.windows[w]![window]!;
    const need = this.#need(pw, call.type, call.sectorSize);
    addTo(x.allocated, need, pw.info.resources);
    x.todo.push(call.callId);
    if (claim) {
      x.claims[call.callId] = claim;
      claimOn(this.#claims, claim, 1);
    }
    this.#util[w] = this.#utilOf(w);
    this.#stamp[w]!++;
    this.#assigned++;
    return claim ? { worker: pw.info.id, window, claim } : { worker: pw.info.id, window };
  }

  /** Lower ranks first: utilization; for the task selector, fewer task types first (dedicated boxes), then utilization. */
  #rank(w: number, shape: Shape): number {
    return shape.acceptKind === 'task' ? this.workers[w]!.info.taskTypes.length * 1e6 + this.#util[w]! : this.#util[w]!;
  }

  #need(pw: PassWorker, type: TaskType, sectorSize: number): Need {
    const cpus = pw.info.resources.cpus;
    let bySize = this.#needs.get(type);
    if (!bySize) {
      bySize = new Map();
      this.#needs.set(type, bySize);
    }
    let byCpus = bySize.get(sectorSize);
    if (!byCpus) {
      byCpus = new Map();
      bySize.set(sectorSize, byCpus);
    }
    let need = byCpus.get(cpus);
    if (!need) {
      need = needOf(type, sectorSize, pw.info.resources);
      byCpus.set(cpus, need);
    }
    return need;
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
  const left = new Map(counts);
  const dead = new Set<string>();
  let live = 0;
  for (const n of left.values()) if (n > 0) live++;
  let counted = true; // false if an entry's key was not counted: then no early stop
  for (const e of entries) {
    const type = of.type(e);
    const sectorSize = of.sectorSize(e);
    const k = fitKey(type, sectorSize);
    const n = (left.get(k) ?? 0) - 1;
    left.set(k, n);
    if (n < 0) counted = false;
    if (dead.has(k)) continue;
    const call = of.call(e);
    const p = call && planner.place(call);
    if (call && p) placed(call, p);
    else if (!planner.canFit(type, sectorSize)) {
      dead.add(k);
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
  const counts = new Map<string, number>();
  for (const c of calls) {
    const k = fitKey(c.type, c.sectorSize);
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  placeInOrder(planner, calls, counts, PASS_CALL, (c, p) => placements.set(c.callId, p));
  return { windows: planner.windowsById(), placements };
}
