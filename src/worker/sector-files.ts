/**
 * What every task does around its work: lock the sector's file types it reads and writes, find
 * the files it needs among this node's paths, and decode the small hex inputs of the vocabulary.
 */
import { AbortedError, FileNotFoundError, InvalidArgumentError } from '../errors.js';
import { type FileTypeName, type SectorId, type SectorRef, sectorName } from '../sector/sector-id.js';
import type { SectorLock } from '../storage/sector-locks.js';
import type { TaskBase } from '../tasks/task-types.js';
import type { WorkerEnv } from './worker-env.js';

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
export async function lockSector(env: WorkerEnv, sector: SectorId, read: number, write: number, signal: AbortSignal): Promise<SectorLock> {
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
