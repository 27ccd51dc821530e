/**
 * C1 (Lotus `SealCommit1`): the vanilla proofs for the seed's challenges, collected on a pool
 * thread from the sealed file and the cache. Locks: sealed read, cache written (it receives
 * `commit1.cbor`).
 *
 * A sealed file or cache only another node holds is moved here first (Lotus `manager.go`
 * SealCommit1).
 *
 * The output (megabytes at 32 GiB) does not travel: it is written durably to the sector's cache
 * directory and only its SHA-256 and length go back (sealing-daemon.md §3); C2 reads it there.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { CacheFile } from '../../sector/layout.js';
import { FileType } from '../../sector/sector-id.js';
import { writeFileDurable } from '../../fs/durable.js';
import type { TaskOf, TaskOutputs } from '../../tasks/task-types.js';
import { bytesOfHex32, lockSector, requireLocal } from '../sector-files.js';
import { fetchInputs } from '../task-inputs.js';
import type { TaskRunOptions, WorkerEnv } from '../worker-env.js';

/** Runs a C1 task. */
export async function runCommit1(env: WorkerEnv, task: TaskOf<'C1'>, run: TaskRunOptions): Promise<TaskOutputs['C1']> {
  const { sector, input } = task;
  const ticket = bytesOfHex32(input.ticket, 'C1 ticket');
  const seed = bytesOfHex32(input.seed, 'C1 seed');
  const lock = await lockSector(env, sector, FileType.sealed, FileType.cache, run.signal);
  try {
    await fetchInputs(env, task, run);
    const sealed = await requireLocal(env, sector, 'sealed', 'C1');
    const cache = await requireLocal(env, sector, 'cache', 'C1');
    const c1 = await env.pool.run(
      'c1',
      {
        sealProof: task.proofType,
        cacheDir: cache.path,
        sealedPath: sealed.path,
        minerId: sector.miner,
        sectorNumber: sector.number,
        ticket,
        seed,
        commD: input.commD,
        commR: input.commR,
      },
      { signal: run.signal, ...(run.onProgress ? { onProgress: run.onProgress } : {}) },
    );
    await writeFileDurable(join(cache.path, CacheFile.commit1), c1);
    await env.localStore.declareSector(cache.id, sector, 'cache', true); // its usage grew
    return { sha256: createHash('sha256').update(c1).digest('hex'), bytes: c1.length };
  } finally {
    lock.release();
  }
}
