/**
 * UNS (Lotus `UnsealPiece`): decodes a range of the sealed replica back into the sector's
 * unsealed file on a pool thread, so its pieces can be read again. Locks: sealed and cache read,
 * unsealed written (Lotus `manager.go`).
 *
 * - The unsealed file: the local one, whose already-present runs are left alone; or, when the
 *   sector has none (FinalizeSector dropped it), a new one allocated on a storage path as Lotus
 *   does, declared primary once written and removed again if the unseal fails.
 * - Files other nodes hold are fetched first: the sealed file and the cache as copies, dropped
 *   again afterwards (Lotus `manager.go` SectorsUnsealPiece), the unsealed file moved here.
 * - Unsealing regenerates the sector's labels in a scratch directory inside the cache (removed
 *   afterwards), so the cache's path holds the sealing overhead reserved while it runs.
 */
import { rm } from 'node:fs/promises';
import { FileType, sectorName } from '../../sector/sector-id.js';
import { journalPath } from '../../partial/partial-file.js';
import type { Allocation, ReservationHandle } from '../../storage/local-store.js';
import type { TaskOf, TaskOutputs } from '../../tasks/task-types.js';
import { bytesOfHex32, dropFetchedCopies, lockSector, refOf, requireLocal } from '../sector-files.js';
import { copiedTypesOf, fetchInputs } from '../task-inputs.js';
import type { TaskRunOptions, WorkerEnv } from '../worker-env.js';

/** Runs an UNS task. */
export async function runUnseal(env: WorkerEnv, task: TaskOf<'UNS'>, run: TaskRunOptions): Promise<TaskOutputs['UNS']> {
  const { sector, input } = task;
  const ticket = bytesOfHex32(input.ticket, 'UNS ticket');
  const lock = await lockSector(env, sector, FileType.sealed | FileType.cache, FileType.unsealed, run.signal);
  let alloc: Allocation | undefined;
  let scratch: ReservationHandle | undefined;
  try {
    await fetchInputs(env, task, run);
    const sealed = await requireLocal(env, sector, 'sealed', 'UNS');
    const cache = await requireLocal(env, sector, 'cache', 'UNS');
    const found = await env.localStore.findLocal(sector, 'unsealed');
    if (!found) alloc = await env.localStore.allocate(refOf(task), FileType.unsealed, 'storage');
    const unsealedPath = found?.path ?? (alloc?.paths.unsealed as string);
    const unsealedId = found?.id ?? (alloc?.storages.unsealed as string);
    scratch = env.localStore.reserve(refOf(task), FileType.cache, { cache: cache.id }, 'sealing');
    let written: { start: number; end: number }[];
    try {
      ({ written } = await env.pool.run(
        'unseal',
        {
          sealProof: task.proofType,
          cacheDir: cache.path,
          sealedPath: sealed.path,
          unsealedPath,
          minerId: sector.miner,
          sectorNumber: sector.number,
          ticket,
          commD: input.commD,
          offset: input.range.offset,
          size: input.range.size,
          ...(env.parentCacheDir !== undefined ? { parentCacheDir: env.parentCacheDir } : {}),
        },
        { signal: run.signal, ...(run.onProgress ? { onProgress: run.onProgress } : {}) },
      ));
    } catch (err) {
      if (alloc) {
        // a file this task created and could not fill is nobody's: leave no undeclared file behind
        await rm(unsealedPath, { force: true });
        await rm(journalPath(unsealedPath), { force: true });
        env.log.warn(`UNS of ${sectorName(sector)} failed; removed the unsealed file it had created at ${unsealedPath}`);
      }
      throw err;
    }
    await env.localStore.declareSector(unsealedId, sector, 'unsealed', true);
    // fetched copies (by this body or by the prepare step) are dropped: the sector is sealed elsewhere
    await dropFetchedCopies(env, sector, copiedTypesOf(task));
    return { unsealedBytes: written.reduce((n, r) => n + (r.end - r.start), 0) };
  } finally {
    scratch?.release();
    alloc?.reservation.release();
    lock.release();
  }
}
