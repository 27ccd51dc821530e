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

/** Inserts `call` into the sorted queue (a new array). */
export function enqueue(queue: readonly QueuedCall[], call: QueuedCall): QueuedCall[] {
  const i = queue.findIndex((q) => runsBefore(call, q));
  return i < 0 ? [...queue, call] : [...queue.slice(0, i), call, ...queue.slice(i)];
}
