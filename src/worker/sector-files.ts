/**
 * What every task does around its work: lock the sector's file types it reads and writes, fetch
 * the ones only other nodes hold, find the files it needs among this node's paths, and decode the
 * small hex inputs of the vocabulary.
 */
import { AbortedError, FileNotFoundError, InvalidArgumentError } from '../errors.js';
import { FileType, type FileTypeName, fileTypesOf, type SectorId, type SectorRef, sectorName } from '../sector/sector-id.js';
import type { AcquireMode, PathType } from '../storage/storage-types.js';
import type { TaskBase } from '../tasks/task-types.js';
import type { TaskRunOptions, WorkerEnv } from './worker-env.js';

/** The sector and proof of a task. */
export function refOf(task: TaskBase): SectorRef {
  return { id: task.sector, proofType: task.proofType };
}

/**
 * Waits for a lock on the sector's file types (Lotus takes it before the task is scheduled and
 * holds it until the call returns). Aborting `signal` abandons the wait; once granted, the lock
 * lives until `release()`, not until the signal: an aborted task still owns its files until its
 * thread has let go of them.
 */
export async function lockSector(env: WorkerEnv, sector: SectorId, read: number, write: number, signal: AbortSignal): Promise<{ release(): void }> {
  if (signal.aborted) throw new AbortedError(`cancelled before the lock on ${sectorName(sector)} was taken`);
  const wait = new AbortController();
  const onAbort = () => wait.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await env.locks.acquire(sector, read, write, { signal: wait.signal });
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/**
 * Makes local the sector's files of `types` that only other nodes hold, before a task that needs
 * them runs (Lotus `manager.go`, `schedFetch` in each method's Schedule): `move` takes a file over
 * (the source is deleted once the copy is declared primary), `copy` leaves the source and declares
 * the copy non-primary. A type this node holds already is left alone, and so is one no node holds
 * (the task creates it). A node without a remote store (a daemon alone) fetches nothing. Called
 * with the task's lock held, so no other task changes the files while they travel.
 * @returns the types fetched
 */
export async function fetchMissing(
  env: WorkerEnv,
  task: TaskBase,
  types: number,
  pathType: PathType,
  mode: AcquireMode,
  run: TaskRunOptions,
): Promise<number> {
  const remote = env.remote;
  if (!remote) return 0;
  let wanted = 0;
  for (const t of fileTypesOf(types)) {
    if (await env.localStore.findLocal(task.sector, t)) continue;
    const holders = await remote.catalog.storageFindSector(task.sector, FileType[t], 0, false);
    if (holders.some((h) => env.localStore.localRoot(h.ID) === undefined)) wanted |= FileType[t];
  }
  if (wanted === 0) return 0;
  const what = fileTypesOf(wanted).join(' and ');
  env.log.info(`fetching the ${what} file${wanted & (wanted - 1) ? 's' : ''} of ${sectorName(task.sector)} from another node (${mode})`);
  await remote.acquireSector(refOf(task), wanted, 0, pathType, mode, {
    signal: run.signal,
    ...(run.onProgress ? { onProgress: (p) => run.onProgress?.({ phase: `fetch ${p.type}`, done: p.bytes, total: 0, detail: p.url }) } : {}),
  });
  return wanted;
}

/**
 * Drops this node's non-primary copies of `types` that {@link fetchMissing} brought for a task
 * that only read them (Lotus's UnsealPiece does the same after unsealing).
 */
export async function dropFetchedCopies(env: WorkerEnv, sector: SectorId, types: number): Promise<void> {
  if (!env.remote) return;
  for (const t of fileTypesOf(types)) await env.remote.removeCopies(sector, FileType[t]);
}

/** The local copy of one of the sector's files; FileNotFoundError naming the sector otherwise. */
export async function requireLocal(env: WorkerEnv, sector: SectorId, type: FileTypeName, task: string): Promise<{ id: string; path: string }> {
  const found = await env.localStore.findLocal(sector, type);
  if (!found) throw new FileNotFoundError(`${task}: the ${type} file of ${sectorName(sector)} is on no local storage path`);
  return found;
}

/** 32 bytes from the vocabulary's 64 hex digits. */
export function bytesOfHex32(value: string, what: string): Uint8Array {
  if (typeof value !== 'string' || !/^[0-9a-fA-F]{64}$/.test(value)) {
    throw new InvalidArgumentError(`${what} must be 64 hex digits (32 bytes), got ${JSON.stringify(value)}`);
  }
  return new Uint8Array(Buffer.from(value, 'hex'));
}

/** Lowercase hex of bytes. */
export function hexOf(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}
