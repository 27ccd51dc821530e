/**
 * Test support for the local worker: a LocalWorker over a real SealerPool, a LocalStore with a
 * sealing-only path and a storage-only path in a temp directory, and a catalog over a fresh
 * SQLite database (called directly, as the index actor would). Plus the task sequence that seals
 * a 2 KiB sector with one deal piece and filler pieces.
 */
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fillerPieces } from '../../../src/piece/alignment.js';
import type { SealerPool } from '../../../src/pool/pool.js';
import { FileType, type SectorId } from '../../../src/sector/sector-id.js';
import { paddedSizeForPayload } from '../../../src/sector/sizes.js';
import { LocalStore } from '../../../src/storage/local-store.js';
import { SectorLocks } from '../../../src/storage/sector-locks.js';
import type { Task, TaskOf, TaskOutputs, TaskType } from '../../../src/tasks/task-types.js';
import { LocalWorker } from '../../../src/worker/local-worker.js';
import type { LocalWorkerOptions, RequestSource } from '../../../src/worker/worker-env.js';
import { type Manager, makeManager, makePath, tempDir } from '../storage/storage-fixtures.js';
import { messageLogger } from '../../helpers/log-recorder.js';

export const MINER = 1000;
export const PROOF_2K = 5;
export const PROOF_8M = 6;
/** Shared with the seal tests, so the 8 MiB graph's parent cache is built once per machine. */
export const PARENT_CACHE_DIR = join(tmpdir(), 'h4-test-parents');

export interface WorkerFixture {
  dir: string;
  manager: Manager;
  store: LocalStore;
  locks: SectorLocks;
  sources: Map<string, RequestSource>;
  worker: LocalWorker;
  logs: string[];
  /** Storage ids of the sealing-only and the storage-only path. */
  sealId: string;
  storeId: string;
  sealRoot: string;
  storeRoot: string;
  /** Runs a task with a fresh signal and returns its value. */
  run<T extends TaskType>(task: TaskOf<T>, signal?: AbortSignal): Promise<TaskOutputs[T]>;
  close(): void;
}

/** A worker on `pool` with a sealing path and a storage path. */
export async function workerFixture(pool: SealerPool, options: LocalWorkerOptions = {}): Promise<WorkerFixture> {
  const dir = tempDir('ss-worker-');
  const manager = makeManager();
  const logs: string[] = [];
  const store = new LocalStore({ catalog: manager.catalog, urls: [], log: messageLogger(logs) });
  const sealRoot = makePath(dir, 'seal', { canSeal: true, canStore: false });
  const storeRoot = makePath(dir, 'store', { canSeal: false, canStore: true });
  const sealId = (await store.openPath(sealRoot)).ID;
  const storeId = (await store.openPath(storeRoot)).ID;
  const locks = new SectorLocks();
  const sources = new Map<string, RequestSource>();
  const worker = new LocalWorker(
    { pool, localStore: store, locks, sources, parentCacheDir: PARENT_CACHE_DIR, log: messageLogger(logs) },
    options,
  );
  return {
    dir,
    manager,
    store,
    locks,
    sources,
    worker,
    logs,
    sealId,
    storeId,
    sealRoot,
    storeRoot,
    async run<T extends TaskType>(task: TaskOf<T>, signal = new AbortController().signal): Promise<TaskOutputs[T]> {
      const r = await worker.run(task as Task, { signal });
      if (r.type !== task.type) throw new Error(`${task.type} returned a ${r.type} result`);
      return r.value as TaskOutputs[T];
    },
    close() {
      store.close();
      locks.close();
      manager.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A task of `type` for `sector`. */
export function task<T extends TaskType>(type: T, sector: SectorId, input: TaskOf<T>['input'], proofType = PROOF_2K): TaskOf<T> {
  return { type, sector, proofType, priority: 0, input } as TaskOf<T>;
}

/** A byte source that yields `bytes` in one chunk. */
export async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

/** A recorded piece, as the sector record keeps it. */
export interface Placed {
  pieceCid: string;
  paddedOffset: number;
  paddedSize: number;
}

/** AP tasks for one deal piece at offset 0 (from a request source) and zero fillers to the sector's end. */
export async function addPieces(f: WorkerFixture, sector: SectorId, payload: Uint8Array, sectorSize = 2048, proofType = PROOF_2K): Promise<Placed[]> {
  const requestId = `req-${sector.number}`;
  f.sources.set(requestId, { source: once(payload) });
  const pieceSize = paddedSizeForPayload(payload.length);
  const deal = await f.run(task('AP', sector, { paddedOffset: 0, pieceSize, payloadSize: payload.length, source: { type: 'request', requestId } }, proofType));
  f.sources.delete(requestId);
  const placed: Placed[] = [{ pieceCid: deal.pieceCid, paddedOffset: 0, paddedSize: deal.paddedSize }];
  let offset = deal.paddedSize;
  for (const size of fillerPieces(offset, sectorSize)) {
    const filler = await f.run(task('AP', sector, { paddedOffset: offset, pieceSize: size, payloadSize: size - size / 128, source: { type: 'zeros' } }, proofType));
    placed.push({ pieceCid: filler.pieceCid, paddedOffset: offset, paddedSize: size });
    offset += size;
  }
  return placed;
}

/** Which storage ids hold the sector's file of `type`, and whether each copy is primary. */
export async function holders(f: WorkerFixture, sector: SectorId, type: keyof typeof FileType): Promise<{ id: string; primary: boolean }[]> {
  const found = await f.manager.catalog.storageFindSector(sector, FileType[type], 0, false);
  return found.map((h) => ({ id: h.ID, primary: h.Primary }));
}
