/**
 * What each task reads that may live on another node, and how it gets here (Lotus `manager.go`:
 * the `schedFetch(sector, types, pathType, mode)` each method passes to `m.sched.Schedule` as its
 * prepare step). One table, used by the prepare step (`LocalWorker.prepare`, and a worker
 * process's `Fetch`) and by each task body, which fetches again whatever is still missing (a
 * no-op after the prepare step; a task run without one, as in tests, fetches in its body).
 */
import { FileType } from '../sector/sector-id.js';
import type { AcquireMode, PathType } from '../storage/storage-types.js';
import type { Task } from '../tasks/task-types.js';
import { fetchMissing, lockSector } from './sector-files.js';
import type { TaskRunOptions, WorkerEnv } from './worker-env.js';

/** One fetch of a task's inputs. */
export interface InputFetch {
  types: number;
  pathType: PathType;
  mode: AcquireMode;
}

const SEALED_CACHE = FileType.sealed | FileType.cache;
const ALL = FileType.unsealed | SEALED_CACHE;

/**
 * The fetches a task's inputs need, in order. C2 has none: it reads only C1's output, read from
 * the cache's holder in its body (tasks/commit2.ts); Lotus's C2 gets that output in the call.
 */
export function inputFetchesOf(task: Task): InputFetch[] {
  switch (task.type) {
    case 'AP':
      return task.input.paddedOffset > 0 ? [{ types: FileType.unsealed, pathType: 'sealing', mode: 'move' }] : [];
    case 'PC1':
      return [{ types: FileType.unsealed, pathType: 'sealing', mode: 'copy' }];
    case 'PC2':
      return [
        { types: SEALED_CACHE, pathType: 'sealing', mode: 'move' },
        { types: FileType.unsealed, pathType: 'sealing', mode: 'copy' },
      ];
    case 'C1':
      return [{ types: SEALED_CACHE, pathType: 'sealing', mode: 'move' }];
    case 'C2':
      return [];
    case 'FIN':
      return [{ types: ALL, pathType: 'sealing', mode: 'move' }];
    case 'GET':
      return [{ types: task.input.types, pathType: task.input.pathType, mode: 'move' }];
    case 'UNS':
      return [
        { types: SEALED_CACHE, pathType: 'sealing', mode: 'copy' },
        { types: FileType.unsealed, pathType: 'storage', mode: 'move' },
      ];
    default:
      return [];
  }
}

/** The types a task fetches as copies (dropped again once the task no longer needs them). */
export function copiedTypesOf(task: Task): number {
  return inputFetchesOf(task).reduce((n, f) => (f.mode === 'copy' ? n | f.types : n), 0);
}

/**
 * Fetches the task's inputs that only other nodes hold (its lock must be held).
 * @returns the types fetched
 */
export async function fetchInputs(env: WorkerEnv, task: Task, run: TaskRunOptions): Promise<number> {
  let fetched = 0;
  for (const f of inputFetchesOf(task)) fetched |= await fetchMissing(env, task, f.types, f.pathType, f.mode, run);
  return fetched;
}

/**
 * The prepare step (Lotus `sched_worker.go`: `prepare` runs in the `preparing` pool, then `work`
 * in `active`): with the sector locked for the fetch — types moved here written, types copied
 * read — the task's inputs that only other nodes hold are fetched. A node without a remote store
 * has nothing to fetch.
 * @returns the types fetched
 */
export async function prepareInputs(env: WorkerEnv, task: Task, run: TaskRunOptions): Promise<number> {
  const fetches = inputFetchesOf(task);
  if (!env.remote || fetches.length === 0) return 0;
  let read = 0;
  let write = 0;
  for (const f of fetches) {
    if (f.mode === 'move') write |= f.types;
    else read |= f.types;
  }
  const lock = await lockSector(env, task.sector, read & ~write, write, run.signal);
  try {
    return await fetchInputs(env, task, run);
  } finally {
    lock.release();
  }
}
