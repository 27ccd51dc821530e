/**
 * Calls: tracked executions of tasks (Lotus `extern/sector-storage/manager_calltracker.go`,
 * improved as docs/design/sealing-daemon.md §4 describes). The records are kept by the call
 * store in the repository database (src/db/call-store.ts) and never deleted, so every call ever
 * made for a sector can be listed.
 *
 *   started ──dispatched──▶ running ──result──▶ done ──applied by the sector──▶ returned
 *      ▲                      │
 *      └──re-queued after the─┘  (the thread died with the process)
 *         process died
 */
import { isErrorCode, type WireError } from '../errors.js';
import type { SectorId } from '../sector/sector-id.js';
import { isTaskType, type Task, type TaskResult, type TaskType } from './task-types.js';

/** Where a call is in its life. */
export type CallState = 'started' | 'running' | 'done' | 'returned';

/** How a call ended (set when it becomes `done`, or when a call nobody claims is closed). */
export type CallOutcome = 'ok' | 'failed' | 'aborted' | 'interrupted';

/** What a worker handed back: the task's result, or why it failed. */
export type CallReturn = { ok: true; result: TaskResult } | { ok: false; error: WireError };

/** One call, as persisted. Times are unix ms. */
export interface CallRecord {
  /** A uuid; never reused, also not across restarts. */
  callId: string;
  /** Same work, same id across restarts (src/tasks/work-id.ts). */
  workId: string;
  sector: SectorId;
  task: TaskType;
  state: CallState;
  priority: number;
  /** The whole task, so a call can be re-queued without its sector. */
  input: Task;
  /** Worker that ran it last (`local` for the daemon's own pool). */
  worker?: string;
  hostname?: string;
  /** The PC1 batch its last run was labelled in with other calls (docs/design/scheduler.md §8). */
  batch?: string;
  /** How many times it was dispatched (more than one: re-queued after a crash). */
  attempts: number;
  outcome?: CallOutcome;
  /** Set once done. */
  returned?: CallReturn;
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
  returnedAt?: number;
}

/** True for `{ok: true, result: {type, value}}` or `{ok: false, error: {code, message}}`. */
export function isCallReturn(v: unknown): v is CallReturn {
  const o = v as Partial<{ ok: unknown; result: { type?: unknown; value?: unknown } | null; error: { code?: unknown; message?: unknown } | null }>;
  if (typeof o !== 'object' || o === null) return false;
  if (o.ok === true) return typeof o.result === 'object' && o.result !== null && isTaskType(o.result.type) && o.result.value !== undefined;
  if (o.ok === false) return isErrorCode(o.error?.code) && typeof o.error?.message === 'string';
  return false;
}
