/**
 * GET (Lotus `MoveStorage`, the fetch that follows FinalizeSector): moves the sector's files of
 * `types` to a local path of `pathType` (a storage path for long-term keeping, or back to a
 * sealing path). A file already on a path of that kind stays where it is; a moved file is
 * re-declared at its destination as primary in the same catalog step that drops its source
 * (LocalStore.moveStorage). Files of `types` only another node holds are moved here first, as
 * Lotus's MoveStorage fetches before it moves. Locks: the moved types written.
 */
import { AbortedError, InvalidArgumentError } from '../../errors.js';
import { fileTypesOf, sectorName } from '../../sector/sector-id.js';
import type { TaskOf, TaskOutputs } from '../../tasks/task-types.js';
import { lockSector, refOf } from '../sector-files.js';
import { fetchInputs } from '../task-inputs.js';
import type { TaskRunOptions, WorkerEnv } from '../worker-env.js';

/** Runs a GET task. */
export async function runMoveStorage(env: WorkerEnv, task: TaskOf<'GET'>, run: TaskRunOptions): Promise<TaskOutputs['GET']> {
  const { types, pathType } = task.input;
  if (fileTypesOf(types).length === 0) throw new InvalidArgumentError('GET needs at least one file type to move (types mask is 0)');
  if (pathType !== 'sealing' && pathType !== 'storage') {
    throw new InvalidArgumentError(`GET pathType must be 'sealing' or 'storage', got ${JSON.stringify(pathType)}`);
  }
  const lock = await lockSector(env, task.sector, 0, types, run.signal);
  try {
    if (run.signal.aborted) throw new AbortedError(`GET of ${sectorName(task.sector)} cancelled`);
    await fetchInputs(env, task, run);
    const moved = await env.localStore.moveStorage(refOf(task), types, pathType);
    const storage: Record<string, string> = {};
    for (const [t, id] of Object.entries(moved.storages)) if (id !== undefined) storage[t] = id;
    return { storage };
  } finally {
    lock.release();
  }
}
