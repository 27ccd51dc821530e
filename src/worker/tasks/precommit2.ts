/**
 * PC2 (Lotus `SealPreCommit2`): trees, replica and CommR on a pool thread whose native Poseidon
 * work fans out over every core. Locks: unsealed read, sealed and cache written. (Lotus locks
 * sealed for reading only: its PC1 copies the data into the sealed file and PC2 encodes it in
 * place. Here PC2 reads the unsealed file and writes the replica, so it locks what it touches.)
 *
 * Files other nodes hold are fetched first: the sealed file and the cache are moved here (Lotus
 * `manager.go` SealPreCommit2), the unsealed file copied; once the replica is written, a copy of
 * the unsealed file fetched here (by this PC2 or by PC1) is dropped, since no later phase reads it.
 *
 * Before anything is built, every layer file is checked against the digests PC1 recorded: a
 * layer deleted or changed since fails the task naming the file (FILE_NOT_FOUND or
 * CACHE_CORRUPT), which sends the sector back to PC1 rather than sealing bad labels.
 */
import { CacheCorruptError } from '../../errors.js';
import { FileType, sectorName } from '../../sector/sector-id.js';
import { commDToCid } from '../../seal/commitment-cid.js';
import type { ReservationHandle } from '../../storage/local-store.js';
import type { TaskOf, TaskOutputs } from '../../tasks/task-types.js';
import { pc1OutputFromResult } from '../pc1-result.js';
import { bytesOfHex32, dropFetchedCopies, lockSector, refOf, requireLocal } from '../sector-files.js';
import { copiedTypesOf, fetchInputs } from '../task-inputs.js';
import type { TaskRunOptions, WorkerEnv } from '../worker-env.js';

/** Runs a PC2 task. */
export async function runPreCommit2(env: WorkerEnv, task: TaskOf<'PC2'>, run: TaskRunOptions): Promise<TaskOutputs['PC2']> {
  const { sector } = task;
  const name = sectorName(sector);
  const expectedCommD = commDToCid(bytesOfHex32(task.input.pc1.commDHex, 'PC1 result CommD')).toString();
  const lock = await lockSector(env, sector, FileType.unsealed, FileType.sealed | FileType.cache, run.signal);
  let reservation: ReservationHandle | undefined;
  try {
    await fetchInputs(env, task, run);
    const unsealed = await requireLocal(env, sector, 'unsealed', 'PC2');
    const sealed = await requireLocal(env, sector, 'sealed', 'PC2');
    const cache = await requireLocal(env, sector, 'cache', 'PC2');
    const pc1 = pc1OutputFromResult(task, task.input.pc1, cache.path, env.parentCacheDir);
    // The replica is written now: hold its space. The cache is not reserved (as in Lotus): it
    // holds PC1's layers already, and reserve() would admit its whole sealing overhead against
    // the free space as if none of it were on disk.
    reservation = env.localStore.reserve(refOf(task), FileType.sealed, { sealed: sealed.id }, 'sealing');
    const out = await env.pool.run(
      'pc2',
      { pc1, paths: { cacheDir: cache.path, sealedPath: sealed.path, unsealedPath: unsealed.path }, verifyLayers: true },
      { signal: run.signal, ...(run.onProgress ? { onProgress: run.onProgress } : {}) },
    );
    if (out.commD !== expectedCommD) {
      throw new CacheCorruptError(`PC2 of ${name} computed CommD ${out.commD}, PC1 labelled with ${expectedCommD}`);
    }
    await env.localStore.declareSector(sealed.id, sector, 'sealed', true);
    await env.localStore.declareSector(cache.id, sector, 'cache', true);
    await dropFetchedCopies(env, sector, copiedTypesOf(task));
    return { commD: out.commD, commR: out.commR };
  } finally {
    reservation?.release();
    lock.release();
  }
}
