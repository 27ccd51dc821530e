/**
 * C2 (Lotus `SealCommit2`): the seal proof over C1's output, on a pool thread. C1's output is read
 * back from the sector's cache (`commit1.cbor`) and must have the size and SHA-256 C1 reported;
 * anything else is CACHE_CORRUPT. Locks: cache read (Lotus takes none, its C1 output travels in
 * memory; here it is a file of the cache directory).
 *
 * A cache only another node holds is not copied: C2 reads only C1's output, so that one file is
 * read from the holder into memory (`/remote/cache/<sector>/files/commit1.cbor`). C2 therefore
 * needs no space on the worker's paths, which is why its selector is Lotus's task selector
 * (`manager.go` SealCommit2: `newTaskSelector()`; there the output travels in the call).
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
import { lockSector } from '../sector-files.js';
import type { TaskRunOptions, WorkerEnv } from '../worker-env.js';

/** Runs a C2 task. */
export async function runCommit2(env: WorkerEnv, task: TaskOf<'C2'>, run: TaskRunOptions): Promise<TaskOutputs['C2']> {
  const { sector, input } = task;
  const lock = await lockSector(env, sector, FileType.cache, FileType.none, run.signal);
  try {
    const { c1, from } = await readCommit1(env, task, run.signal);
    const digest = createHash('sha256').update(c1).digest('hex');
    if (c1.length !== input.c1.bytes || digest !== input.c1.sha256.toLowerCase()) {
      throw new CacheCorruptError(
        `C2 of ${sectorName(sector)}: C1's output (${from}) is ${c1.length} bytes with SHA-256 ${digest}, C1 wrote ${input.c1.bytes} bytes with ${input.c1.sha256}`,
      );
    }
    const proof = await env.pool.run(
      'c2',
      { c1: new Uint8Array(c1.buffer, c1.byteOffset, c1.length) },
      { signal: run.signal, ...(run.onProgress ? { onProgress: run.onProgress } : {}) },
    );
    return {
      proof: Buffer.from(proof).toString('base64'),
      sha256: createHash('sha256').update(proof).digest('hex'),
      prover: vanillaBundleProver.name,
    };
  } finally {
    lock.release();
  }
}

/** C1's output: from this node's copy of the cache, or read from the node that holds it. */
async function readCommit1(env: WorkerEnv, task: TaskOf<'C2'>, signal: AbortSignal): Promise<{ c1: Buffer; from: string }> {
  const { sector, input } = task;
  const cache = await env.localStore.findLocal(sector, 'cache');
  if (!cache) {
    if (!env.remote) throw new FileNotFoundError(`C2: the cache file of ${sectorName(sector)} is on no local storage path`);
    env.log.info(`reading C1's output of ${sectorName(sector)} from the node that holds its cache`);
    return { c1: await env.remote.readCacheFile(sector, CacheFile.commit1, input.c1.bytes, signal), from: 'read from the node holding the cache' };
  }
  const path = join(cache.path, CacheFile.commit1);
  const c1 = await readFile(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') throw new FileNotFoundError(`C2 of ${sectorName(sector)}: C1's output ${path} does not exist`, { cause: err });
    throw new FileUnreadableError(`C2 of ${sectorName(sector)}: cannot read C1's output ${path}: ${err.message}`, { cause: err });
  });
  return { c1, from: path };
}
