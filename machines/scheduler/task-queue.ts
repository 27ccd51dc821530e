/**
 * The scheduler's request queue and its placement on workers, pure.
 *
 * Queue order is Lotus's (`extern/sector-storage/request_queue.go`): FIN and GET (negative task
 * order) before everything else whatever the priority; then higher priority; then lower task
 * order (FIN, GET, UNS, C1, C2, PC2, PC1, AP); then lower sector number (keeps on-chain bitfields
 * compact); then arrival.
 *
 * Placement walks the queue in that order and gives each call to the first worker with room
 * (threads: src/tasks/resources.ts `localThreads`); a call that does not fit is skipped, so a
 * waiting PC2 that needs every thread does not keep a PC1 behind it from an idle thread (Lotus's
 * trySched assigns the same way).
 */
import { localThreads } from '../../src/tasks/resources.js';
import { TASK_ORDER, type Task } from '../../src/tasks/task-types.js';

/** What the queue needs of a call. */
export interface QueuedCall {
  callId: string;
  task: Task;
  /** Arrival order. */
  seq: number;
  sectorSize: number;
}

/** A worker as placement sees it. */
export interface WorkerSlots {
  id: string;
  threads: number;
  used: number;
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

/** One call placed on one worker, with the threads it takes there. */
export interface Placement {
  callId: string;
  worker: string;
  threads: number;
}

/** The calls that can start now, in queue order, and the workers' use afterwards. */
export function plan(queue: readonly QueuedCall[], workers: readonly WorkerSlots[]): { placements: Placement[]; workers: WorkerSlots[] } {
  const slots = workers.map((w) => ({ ...w }));
  const placements: Placement[] = [];
  for (const call of queue) {
    if (slots.every((w) => w.used >= w.threads)) break;
    for (const w of slots) {
      const threads = localThreads(call.task.type, call.sectorSize, w.threads);
      if (w.used + threads > w.threads) continue;
      w.used += threads;
      placements.push({ callId: call.callId, worker: w.id, threads });
      break;
    }
  }
  return { placements, workers: slots };
}
