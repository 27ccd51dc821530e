/**
 * PC1 (Lotus `SealPreCommit1`): labels every SDR layer into the sector's cache directory on a
 * pool thread. Locks: unsealed read, sealed and cache written (Lotus `manager.go`).
 *
 * - Files: the local unsealed file (required); the sealed file and cache directory where this
 *   node has them already, else allocated on a sealing path with the sealing overhead reserved
 *   while PC1 runs. As Lotus does, the sealed file is created empty; both are declared primary
 *   when created, so a retry (or a restart) finds the cache and resumes from it.
 * - Resume: a cache whose PC1 checkpoint was written for this sector, proof and ticket is kept
 *   and PC1 goes on after its last intact layer (src/seal/pc1-checkpoint.ts). A cache holding
 *   another run's files is emptied first (Lotus deletes the cache directory every time).
 * - An unsealed file only another node holds is copied here first; the source stays, so the
 *   sector's data survives this node (a worker that never comes back) and the copy is dropped
 *   after PC2. (Lotus moves it, which leaves a sector whose worker is gone without its data.)
 * - The unsealed file must hold the recorded pieces: its CommD (computed by PC1) is checked
 *   against the CommD of the task's pieces (GenerateUnsealedCID) and a difference fails the task
 *   with PARTIAL_FILE_CORRUPT.
 */
import { mkdir, open, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PartialFileCorruptError } from '../../errors.js';
import { computeCommD } from '../../piece/unsealed-cid.js';
import { sealProofInfo } from '../../sector/proofs.js';
import { FileType, type FileTypeName, sectorName } from '../../sector/sector-id.js';
import { readCheckpoint } from '../../seal/pc1-checkpoint.js';
import type { ReservationHandle } from '../../storage/local-store.js';
import type { TaskOf, TaskOutputs } from '../../tasks/task-types.js';
import { pc1ResultOf } from '../pc1-result.js';
import { bytesOfHex32, hexOf, lockSector, refOf, requireLocal } from '../sector-files.js';
import { fetchInputs } from '../task-inputs.js';
import type { TaskRunOptions, WorkerEnv } from '../worker-env.js';

/** Runs a PC1 task. */
export async function runPreCommit1(env: WorkerEnv, task: TaskOf<'PC1'>, run: TaskRunOptions): Promise<TaskOutputs['PC1']> {
  const { sector, input } = task;
  const name = sectorName(sector);
  const info = sealProofInfo(task.proofType);
  const batch = run.batch && run.callId !== undefined ? { ...run.batch, callId: run.callId } : undefined;
  let handedOver = false;
  let lock: { release(): void } | undefined;
  let reservation: ReservationHandle | undefined;
  try {
    const ticket = bytesOfHex32(input.ticket, 'PC1 ticket');
    // fails on a bad piece list before anything is locked or allocated
    const expectedCommD = hexOf(computeCommD(info.sectorSize, input.pieces));
    lock = await lockSector(env, sector, FileType.unsealed, FileType.sealed | FileType.cache, run.signal);
    await fetchInputs(env, task, run);
    const unsealed = await requireLocal(env, sector, 'unsealed', 'PC1');
    const files = await sealingFiles(env, task);
    reservation = files.reservation;
    await keepOnlyThisRun(env, files.cache.path, task, hexOf(ticket));

    const pc1Input = {
      proof: info.id,
      cacheDir: files.cache.path,
      unsealedPath: unsealed.path,
      minerId: sector.miner,
      sectorNumber: sector.number,
      ticket,
      pieces: input.pieces.map((p) => ({ size: p.paddedSize })),
      parentCacheDir: env.parentCacheDir,
      gather: env.pc1Gather,
    };
    handedOver = true;
    // in a batch, one pool task labels every member's sector (src/worker/pc1-batch.ts)
    const out = batch
      ? await env.pc1Batches.label(batch, batch.callId, pc1Input, run)
      : await env.pool.run('pc1', pc1Input, { signal: run.signal, ...(run.onProgress ? { onProgress: run.onProgress } : {}) });
    if (out.resumedLayers > 0) env.log.info(`PC1 of ${name}: resumed after ${out.resumedLayers} of ${out.layers} layers from its checkpoint`);
    if (out.stats.gather) env.log.info(`PC1 of ${name}: parents gathered on a second thread`);
    if (out.commD !== expectedCommD) {
      throw new PartialFileCorruptError(
        `unsealed file ${unsealed.path} of ${name} has CommD ${out.commD}, but its ${input.pieces.length} recorded pieces give ${expectedCommD}`,
      );
    }
    await env.localStore.declareSector(files.cache.id, sector, 'cache', true); // its usage grew
    return pc1ResultOf(out);
  } catch (err) {
    // the other members of its batch wait for this sector's input: they must not wait forever
    if (batch && !handedOver) env.pc1Batches.abandon(batch, batch.callId, err);
    throw err;
  } finally {
    reservation?.release();
    lock?.release();
  }
}

interface SealingFiles {
  sealed: { id: string; path: string };
  cache: { id: string; path: string };
  reservation: ReservationHandle;
}

/** The sealed file and cache directory PC1 writes: found or allocated, reserved, created, declared. */
async function sealingFiles(env: WorkerEnv, task: TaskOf<'PC1'>): Promise<SealingFiles> {
  const store = env.localStore;
  const ref = refOf(task);
  const found: Partial<Record<FileTypeName, { id: string; path: string }>> = {};
  for (const t of ['sealed', 'cache'] as const) {
    const f = await store.findLocal(task.sector, t);
    if (f) found[t] = f;
  }
  const missing = (found.sealed ? 0 : FileType.sealed) | (found.cache ? 0 : FileType.cache);
  const alloc = missing !== 0 ? await store.allocate(ref, missing, 'sealing') : undefined;
  let kept: ReservationHandle | undefined;
  try {
    const pick = (t: 'sealed' | 'cache') => found[t] ?? { id: alloc?.storages[t] as string, path: alloc?.paths[t] as string };
    const files = { sealed: pick('sealed'), cache: pick('cache') };
    await (await open(files.sealed.path, 'w')).close();
    await mkdir(files.cache.path, { recursive: true });
    // An existing sealed file is empty now and reserved like a new one. An existing cache is not
    // reserved: reserve() admits a reservation against its full size even when part of it is on
    // disk already (the finished layers PC1 resumes from), which would refuse a resume the disk
    // has room for; Lotus reserves nothing for files that exist either.
    if (found.sealed) kept = store.reserve(ref, FileType.sealed, { sealed: found.sealed.id }, 'sealing');
    await store.declareSector(files.sealed.id, task.sector, 'sealed', true);
    await store.declareSector(files.cache.id, task.sector, 'cache', true);
    const handles = [alloc?.reservation, kept].filter((h) => h !== undefined);
    const release = () => {
      for (const h of handles) h.release();
    };
    return { ...files, reservation: { release, [Symbol.dispose]: release } };
  } catch (err) {
    alloc?.reservation.release();
    kept?.release();
    throw err;
  }
}

/**
 * Empties the cache directory unless its PC1 checkpoint belongs to this sector, proof and
 * ticket (then PC1 itself checks the rest of the run's identity and every kept layer's digest).
 */
async function keepOnlyThisRun(env: WorkerEnv, cacheDir: string, task: TaskOf<'PC1'>, ticketHex: string): Promise<void> {
  const cp = await readCheckpoint(cacheDir);
  if (cp && cp.proof === task.proofType && cp.minerId === task.sector.miner && cp.sectorNumber === task.sector.number && cp.ticket === ticketHex) {
    return;
  }
  const entries = await readdir(cacheDir);
  if (entries.length === 0) return;
  for (const e of entries) await rm(join(cacheDir, e), { recursive: true, force: true });
  env.log.info(`PC1 of ${sectorName(task.sector)}: cleared ${entries.length} file(s) of another run from ${cacheDir}`);
}
