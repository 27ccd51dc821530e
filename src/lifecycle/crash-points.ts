/**
 * A test hook for crash safety: with `SECTOR_STORAGE_CRASH_AT=<point>` in its environment, the
 * process kills itself with SIGKILL the first time it reaches that named point. The points sit
 * between the durable steps that must survive a crash (the partial file's trailer journal,
 * AddPiece's temporary file, PC1's layer checkpoints, Finalize's deletions, the call tracker's
 * commits, a worker process's call store), so a test can stop a real daemon or worker exactly
 * there and prove that the next start recovers. Unset (always, outside tests), a point costs one string compare.
 *
 * A pool thread shares the process: killing the process from a thread kills the daemon too.
 */
import { TASK_TYPES, type TaskType } from '../tasks/task-types.js';

/** The environment variable naming the point to crash at. */
export const CRASH_AT_ENV = 'SECTOR_STORAGE_CRASH_AT';

/** The points inside an AddPiece and its trailer journal, in the order a write reaches them. */
export const WRITE_CRASH_POINTS = [
  /** AddPiece: the piece's bytes are written and synced, nothing is marked allocated yet. */
  'addpiece.written',
  /** Trailer journal: its temporary file is written and synced, not yet renamed into place. */
  'partial.journal.written',
  /** Trailer journal: renamed into place (durable), not yet applied to the file. */
  'partial.journal.renamed',
  /** Trailer journal: applied to the file, not yet removed. */
  'partial.journal.applied',
  /** AddPiece of a new file: the temporary file is complete and closed, not yet linked into place. */
  'addpiece.complete',
  /** AddPiece of a new file: linked under the sector's name, the temporary name not yet removed. */
  'addpiece.linked',
] as const;

/** `call.running.<TASK>`: the index committed that a call of TASK runs on a worker (`calls.run`); its task is in flight. */
const CALL_RUNNING = TASK_TYPES.map((t) => `call.running.${t}` as const);
/** `call.done.<TASK>`: the index committed a call's result (`calls.finish`); its sector has not heard of it, let alone applied it. */
const CALL_DONE = TASK_TYPES.map((t) => `call.done.${t}` as const);

/** `worker.call.accepted.<TASK>`: a worker process recorded a call of TASK its manager handed over, and has not answered yet. */
const WORKER_ACCEPTED = TASK_TYPES.map((t) => `worker.call.accepted.${t}` as const);
/** `worker.call.done.<TASK>`: a worker process recorded the result of a call of TASK, and has not delivered it yet. */
const WORKER_DONE = TASK_TYPES.map((t) => `worker.call.done.${t}` as const);
/** `worker.call.acked.<TASK>`: the manager acknowledged the result of a call of TASK; the worker has not deleted its record yet. */
const WORKER_ACKED = TASK_TYPES.map((t) => `worker.call.acked.${t}` as const);

/** Every crash point. */
export const CRASH_POINTS = [
  ...WRITE_CRASH_POINTS,
  /**
   * PC1: every layer before this one is written and checkpointed, this one is half labelled
   * (reached only where a layer has more than one chunk of nodes: 8 MiB sectors and up).
   */
  'pc1.mid-layer',
  /**
   * Parent cache generation: the first chunk of parents is in the temp file, the rest is not
   * (reached only where the graph has more than one chunk: 8 MiB sectors and up).
   */
  'parent-cache.mid-generation',
  /** Finalize: the first file of the sector's cache is removed, the others are still there. */
  'finalize.cache-partly-cleared',
  ...CALL_RUNNING,
  ...CALL_DONE,
  ...WORKER_ACCEPTED,
  ...WORKER_DONE,
  ...WORKER_ACKED,
] as const;

/** A named crash point. */
export type CrashPoint = (typeof CRASH_POINTS)[number];

/** The crash point of a call tracker commit (`call.running.<TASK>` or `call.done.<TASK>`). */
export function callCrashPoint(state: 'running' | 'done', task: TaskType): CrashPoint {
  return `call.${state}.${task}`;
}

/** The crash point of a worker process's call store (`worker.call.<step>.<TASK>`). */
export function workerCallCrashPoint(step: 'accepted' | 'done' | 'acked', task: TaskType): CrashPoint {
  return `worker.call.${step}.${task}`;
}

/** Kills the process (SIGKILL, no cleanup of any kind) when `point` is the one the environment names. */
export function crashPoint(point: CrashPoint): void {
  if (process.env[CRASH_AT_ENV] === point) process.kill(process.pid, 'SIGKILL');
}
