/**
 * C2 (Lotus `SealCommit2`): the seal proof over C1's output, on a pool thread. C1's output is read
 * back from the sector's cache (`commit1.cbor`) and must have the size and SHA-256 C1 reported;
 * anything else is CACHE_CORRUPT. Locks: cache read (Lotus takes none, its C1 output travels in
 * memory; here it is a file of the cache directory).
 *
 * A cache only another node holds is copied here first and the copy dropped afterwards (C2 reads
 * one file of it; the cache stays where the sector is sealed).
 *
 * The pool's C2 uses the default prover, a vanilla proof bundle (non-succinct, not accepted on
 * chain; see src/seal/c2.ts); the result names it.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CacheCorruptError, FileNotFoundError, FileUnreadableError } from '../../errors.js';
import { CacheFile } from '../../sector/layout.js';
import { FileType, sectorName } from '../../sector/sector-id.js';
import { vanillaBundleProver } from '../../seal/c2.js';
import type { TaskOf, TaskOutputs } from '../../tasks/task-types.js';
import { dropFetchedCopies, fetchMissing, lockSector, requireLocal } from '../sector-files.js';
import type { TaskRunOptions, WorkerEnv } from '../worker-env.js';

/** Runs a C2 task. */
export async function runCommit2(env: WorkerEnv, task: TaskOf<'C2'>, run: TaskRunOptions): Promise<TaskOutputs['C2']> {
  const { sector, input } = task;
  const lock = await lockSector(env, sector, FileType.cache, FileType.none, run.signal);
  let copied = 0;
  try {
    copied = await fetchMissing(env, task, FileType.cache, 'sealing', 'copy', run);
    const cache = await requireLocal(env, sector, 'cache', 'C2');
    const path = join(cache.path, CacheFile.commit1);
    const c1 = await readFile(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') throw new FileNotFoundError(`C2 of ${sectorName(sector)}: C1's output ${path} does not exist`, { cause: err });
      throw new FileUnreadableError(`C2 of ${sectorName(sector)}: cannot read C1's output ${path}: ${err.message}`, { cause: err });
    });
    const digest = createHash('sha256').update(c1).digest('hex');
    if (c1.length !== input.c1.bytes || digest !== input.c1.sha256.toLowerCase()) {
      throw new CacheCorruptError(
        `C2 of ${sectorName(sector)}: ${path} is ${c1.length} bytes with SHA-256 ${digest}, C1 wrote ${input.c1.bytes} bytes with ${input.c1.sha256}`,
      );
    }
    const proof = await env.pool.run(
      'c2',
      { c1: new Uint8Array(c1.buffer, c1.byteOffset, c1.length) },
      { signal: run.signal, ...(run.onProgress ? { onProgress: run.onProgress } : {}) },
    );
    await dropFetchedCopies(env, sector, copied);
    return {
      proof: Buffer.from(proof).toString('base64'),
      sha256: createHash('sha256').update(proof).digest('hex'),
      prover: vanillaBundleProver.name,
    };
  } finally {
    lock.release();
  }
}
