/**
 * FIN (Lotus `FinalizeSector`): once the sector is proven, drop what only sealing needed. Locks:
 * unsealed, sealed and cache written.
 *
 * - Unsealed data: every byte outside the `keepUnsealed` ranges (the deals that asked to stay
 *   retrievable) is freed. With nothing to keep the whole unsealed file is removed and its
 *   catalog row dropped, as Lotus's worker does after finalizing; a sector without a local
 *   unsealed file is fine.
 * - Files only other nodes hold are moved here first (Lotus `manager.go` FinalizeSector), and an
 *   unsealed file that is not kept is removed from every node holding a copy.
 * - Cache: cleared down to what proving reads (p_aux, t_aux, tree-r-last): layers, tree_d,
 *   tree_c, the PC1 checkpoint and C1's output go (src/seal/finalize.ts).
 */
import { sealProofInfo } from '../../sector/proofs.js';
import { FileType } from '../../sector/sector-id.js';
import { PartialFile } from '../../partial/partial-file.js';
import type { TaskOf, TaskOutputs } from '../../tasks/task-types.js';
import { lockSector, requireLocal } from '../sector-files.js';
import { fetchInputs } from '../task-inputs.js';
import type { TaskRunOptions, WorkerEnv } from '../worker-env.js';

const ALL = FileType.unsealed | FileType.sealed | FileType.cache;

/** Runs a FIN task. */
export async function runFinalize(env: WorkerEnv, task: TaskOf<'FIN'>, run: TaskRunOptions): Promise<TaskOutputs['FIN']> {
  const { sector, input } = task;
  const sectorSize = sealProofInfo(task.proofType).sectorSize;
  const lock = await lockSector(env, sector, FileType.none, ALL, run.signal);
  try {
    await fetchInputs(env, task, run);
    const cache = await requireLocal(env, sector, 'cache', 'FIN');
    const unsealed = await env.localStore.findLocal(sector, 'unsealed');
    const keep = input.keepUnsealed.length > 0;
    const fin = await env.pool.run(
      'finalize',
      {
        sealProof: task.proofType,
        cacheDir: cache.path,
        ...(unsealed && keep ? { unsealedPath: unsealed.path, keepUnsealed: input.keepUnsealed } : {}),
      },
      { signal: run.signal, ...(run.onProgress ? { onProgress: run.onProgress } : {}) },
    );
    let freedBytes = fin.freed.reduce((n, r) => n + (r.end - r.start), 0);
    let removedFiles = fin.removed.length;
    if (unsealed && !keep) {
      freedBytes += await allocatedBytes(unsealed.path, sectorSize);
      await (env.remote ?? env.localStore).remove(sector, FileType.unsealed, true);
      removedFiles++;
    } else if (unsealed) {
      await env.localStore.declareSector(unsealed.id, sector, 'unsealed', true); // its usage shrank
    }
    await env.localStore.declareSector(cache.id, sector, 'cache', true);
    return { freedBytes, removedFiles };
  } finally {
    lock.release();
  }
}

async function allocatedBytes(path: string, sectorSize: number): Promise<number> {
  const pf = await PartialFile.open(path, sectorSize, { readOnly: true });
  try {
    return pf.allocated().reduce((n, r) => n + (r.end - r.start), 0);
  } finally {
    await pf.close();
  }
}
