/**
 * The scheduler's request queue, pure. Placement on workers is the scheduling pass
 * (machines/scheduler/sched-pass.ts).
 *
 * Queue order is Lotus's (`extern/sector-storage/request_queue.go`): FIN and GET (negative task
 * order) before everything else whatever the priority; then higher priority; then lower task
 * order (FIN, GET, UNS, C1, C2, PC2, PC1, AP); then lower sector number (keeps on-chain bitfields
 * compact); then arrival.
 */
import { TASK_ORDER, type Task } from '../../src/tasks/task-types.js';
import { fitKey } from './pass-fits.js';
import type { SelectorSpec } from './selectors.js';

/** What the queue needs of a call. */
export interface QueuedCall {
  callId: string;
  task: Task;
  /** Arrival order. */
  seq: number;
  sectorSize: number;
  /** Which workers may run it (machines/scheduler/selectors.ts). */
  selector: SelectorSpec;
  /** The one worker it may run on, if any. */
  pinned?: string;
}

/** Lotus's `requestQueue.Less`: true when `a` runs before `b`. */
export function runsBefore(a: QueuedCall, b: QueuedCall): boolean {
  const oa = TASK_ORDER[a.task.type];
  const ob = TASK_ORDER[b.task.type];
  // MuchLess: exactly one of the two is FIN/GET → it goes first, ignoring priority
  if (oa < 0 !== ob < 0) return oa < ob;
  if (a.task.priority !== b.task.priority) return a.task.priority > b.task.priority;
  if (oa !== ob) return oa < ob;
  if (a.task.sector.number !== b.task.sector.number) return a.task.sector.number < b.task.sector.number;
  return a.seq < b.seq;
}

/**
 * The queue, in Lotus's order, updated in place (machines/scheduler/tables.ts says why): a call is
 * inserted by binary search and found by id, so that each costs O(log n) (plus moving the array's
 * tail, a memmove) rather than a copy and a scan of the whole queue — 10,000 restored sectors
 * asking for work at start made the copies quadratic. A removed call is only marked, and skipped
 * from then on: calls mostly leave from the head of a long queue, where removing them from the
 * array moved the whole rest of it every time (a tenth of a scheduling pass with 8,000 calls
 * queued); the marked entries still order the binary search (their keys do not change), those at
 * the head are stepped over once (iteration starts after them), and all are dropped in one sweep
 * once they are as many as the live ones. It also counts its calls per fit
 * key (task type and sector size, machines/scheduler/pass-fits.ts `fitKey`), which lets a pass stop
 * as soon as no window can hold anything that is left.
 */
export class TaskQueue implements Iterable<QueuedCall> {
  /** In order; entries in #removed are no longer queued. */
  #items: QueuedCall[] = [];
  /** Every entry before this index is removed (calls leave from the head: iteration starts here). */
  #head = 0;
  readonly #removed = new Set<QueuedCall>();
  readonly #byId = new Map<string, QueuedCall>();
  readonly #fitCounts = new Map<string, number>();

  get size(): number {
    return this.#byId.size;
  }

  get(callId: string): QueuedCall | undefined {
    return this.#byId.get(callId);
  }

  /** Inserts `call` at its place; a call already queued under the same id is replaced. */
  add(call: QueuedCall): void {
    this.remove(call.callId);
    // the same entry queued again while its removed self is still in the array: drop that first
    if (this.#removed.has(call)) this.#sweep();
    const i = this.#firstAfter(call);
    this.#items.splice(i, 0, call);
    if (i < this.#head) this.#head = i;
    this.#byId.set(call.callId, call);
    const k = fitKey(call.task.type, call.sectorSize);
    this.#fitCounts.set(k, (this.#fitCounts.get(k) ?? 0) + 1);
  }

  /** Removes the call; false when it was not queued. */
  remove(callId: string): boolean {
    const call = this.#byId.get(callId);
    if (!call) return false;
    this.#byId.delete(callId);
    this.#removed.add(call);
    const items = this.#items;
    while (this.#head < items.length && this.#removed.has(items[this.#head]!)) this.#head++;
    const k = fitKey(call.task.type, call.sectorSize);
    const n = (this.#fitCounts.get(k) ?? 1) - 1;
    if (n === 0) this.#fitCounts.delete(k);
    else this.#fitCounts.set(k, n);
    if (this.#removed.size > this.#byId.size) this.#sweep();
    return true;
  }

  /** Queued calls per fit key. */
  fitCounts(): ReadonlyMap<string, number> {
    return this.#fitCounts;
  }

  *[Symbol.iterator](): Iterator<QueuedCall> {
    const removed = this.#removed;
    const items = this.#items;
    for (let i = this.#head; i < items.length; i++) {
      const call = items[i]!;
      if (removed.size === 0 || !removed.has(call)) yield call;
    }
  }

  /** Drops the removed entries from the array. */
  #sweep(): void {
    const removed = this.#removed;
    this.#items = this.#items.filter((c) => !removed.has(c));
    this.#head = 0;
    removed.clear();
  }

  /** The index of the first entry (queued or removed) that `call` runs before: where `call` goes. */
  #firstAfter(call: QueuedCall): number {
    let lo = 0;
    let hi = this.#items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (runsBefore(call, this.#items[mid]!)) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}
