/**
 * The scheduler's view of the call tracker (docs/design/sealing-daemon.md §4), pure: the calls of
 * this run by id and by WorkID, and what happens to a call at each step. The durable side is the
 * call store (src/db/call-store.ts), written through the index actor; the scheduler moves a call
 * on only once the write it depends on is committed.
 *
 * A call's phase here:
 *   starting  — `calls.start` sent, not committed yet
 *   restored  — durable and not queued: from before a restart, waiting for its sector to ask again
 *   queued    — durable, in the queue (maybe assigned to a worker's window)
 *   preparing — started on a worker: its prepare step runs, or it waits for room in `active`
 *   running   — its work runs on a worker (`calls.run` written)
 *   finishing — the result is being written (`calls.finish`)
 *   done      — the result is durable and nobody waits for it yet (delivered when the sector asks)
 */
import type { CallRecord, CallReturn } from '../../src/tasks/calls.js';
import type { Task } from '../../src/tasks/task-types.js';
import type { Claim } from './storage-view.js';

export type CallPhase = 'starting' | 'restored' | 'queued' | 'preparing' | 'running' | 'finishing' | 'done';

/** One call the scheduler tracks in this run. */
export interface TrackedCall {
  callId: string;
  workId: string;
  task: Task;
  phase: CallPhase;
  /** The sector task waiting for this call's result. */
  waiter?: { sector: number; taskId: string };
  /**
   * Facade requests waiting for this call's result (`scheduler.unseal`: an UNS call is the
   * Manager's, not a sector's, in Lotus `manager.go` SectorsUnsealPiece); answered by `scheduler.reply`.
   */
  replies?: string[];
  /** Arrival order in this run (queue tie-break). */
  seq: number;
  sectorSize: number;
  /** The worker it started on (preparing or running). */
  worker?: string;
  /** Storage ids holding its files, for an existing-selector task (read when it was queued). */
  holders?: string[];
  /** The holders are being read: not placed until they are in. */
  holdersPending?: boolean;
  /** Space promised to it while it is started (docs/design/scheduler.md §4). */
  claim?: Claim;
  /** The result, once durable. */
  ret?: CallReturn;
  /** Someone asked to stop it. */
  aborting?: boolean;
  /** The PC1 batch it runs in (machines/scheduler/pc1-batch.ts), while started. */
  batch?: string;
  /**
   * A PC1 whose batch failed: it runs alone from now on, so that a failure that was another
   * member's does not count against it (machines/scheduler/pc1-batch.ts `retriesSolo`).
   */
  solo?: boolean;
}

/** Calls from the store that are still open at start, as this run tracks them. */
export function restoredCalls(
  open: readonly CallRecord[],
  sectorSizeOf: (proofType: number) => number,
): { calls: Record<string, TrackedCall>; byWork: Record<string, string>; requeue: string[] } {
  const calls: Record<string, TrackedCall> = {};
  const byWork: Record<string, string> = {};
  const requeue: string[] = [];
  open.forEach((r, seq) => {
    const base = { callId: r.callId, workId: r.workId, task: r.input, seq, sectorSize: sectorSizeOf(r.input.proofType) };
    if (r.state === 'done' && r.returned) {
      calls[r.callId] = { ...base, phase: 'done', ret: r.returned };
    } else if (r.state === 'started' || r.state === 'running') {
      // a running call of the local worker died with the process: it goes back to the queue
      // (remote workers, which outlive the manager, re-attach instead)
      if (r.state === 'running') requeue.push(r.callId);
      calls[r.callId] = { ...base, phase: 'restored' };
    } else {
      return;
    }
    byWork[r.workId] = r.callId;
  });
  return { calls, byWork, requeue };
}

/** The call a sector's task waits on. */
export function callOfWaiter(calls: Record<string, TrackedCall>, sector: number, taskId: string): TrackedCall | undefined {
  return Object.values(calls).find((c) => c.waiter?.sector === sector && c.waiter.taskId === taskId);
}

/** Removes a call from both tables, in place (machines/scheduler/tables.ts says why). */
export function without(
  calls: Record<string, TrackedCall>,
  byWork: Record<string, string>,
  callId: string,
): { calls: Record<string, TrackedCall>; byWork: Record<string, string> } {
  const call = calls[callId];
  delete calls[callId];
  if (call && byWork[call.workId] === callId) delete byWork[call.workId];
  return { calls, byWork };
}
