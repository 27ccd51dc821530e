/**
 * What every task of the local worker runs with: the components the worker was built from, its
 * settings, and the per-call signal and progress sink. Task modules (`tasks/*.ts`) receive a
 * {@link WorkerEnv} and never reach for anything else, so a test builds one from real parts.
 */
import type { TaskProgress } from '../lifecycle/task-context.js';
import type { SealerPool } from '../pool/pool.js';
import type { SectorId } from '../sector/sector-id.js';
import type { LocalStore } from '../storage/local-store.js';
import type { RemoteStore } from '../storage/remote-store.js';
import type { UploadStream } from './upload-stream.js';
import type { Logger } from '../log/logger.js';
import type { Pc1Batches } from './pc1-batch.js';
import type { Pc1Gather } from '../seal/pc1-gather.js';

/**
 * The sector lock table tasks lock in: the daemon's own table (src/storage/sector-locks.ts), or,
 * on a worker process, the manager's table reached over the API in the worker's name
 * (src/storage/manager-locks.ts), so tasks on every node of a miner exclude each other.
 */
export interface SectorLockTable {
  /** Waits for the lock; aborting `signal` abandons the wait. The lock lives until `release()`. */
  acquire(sector: SectorId, read: number, write: number, options?: { signal?: AbortSignal }): Promise<{ release(): void }>;
}

/** A client's byte stream waiting for its AddPiece task (the facade registers it by request id). */
export interface RequestSource {
  source: AsyncIterable<Uint8Array>;
  /** The client's own cancellation (a closed connection): fails the piece with ABORTED. */
  signal?: AbortSignal;
  /** The client's progress sink (bytes of its piece). */
  onProgress?: (p: TaskProgress) => void;
}

/** What a {@link LocalWorker} is built from. */
export interface LocalWorkerComponents {
  /** The sealer threads every task body runs on. */
  pool: SealerPool;
  /** This node's storage paths: resolves, allocates, reserves and declares sector files. */
  localStore: LocalStore;
  /** The miner's sector lock table (one per daemon; the API's StorageLock uses the same one). */
  locks: SectorLockTable;
  /**
   * Fetches sector files other nodes hold before a task that needs them runs (Lotus's
   * `schedFetch`). Without it a task finds only this node's files.
   */
  remote?: RemoteStore;
  /** Client byte sources of AddPiece tasks, by request id. */
  sources: Map<string, RequestSource>;
  /** Where SDR parent caches live. @default PC1's default (FIL_PROOFS_PARENT_CACHE, else /var/tmp/filecoin-parents) */
  parentCacheDir?: string;
  /** Operational lines (resumed PC1, dropped leftovers). @default nothing */
  log?: Logger;
}

/** Settings of a {@link LocalWorker}. */
export interface LocalWorkerOptions {
  /**
   * How long a client's upload may send nothing before its piece fails with UPLOAD_STALLED and the
   * thread it holds is freed. @default 15000
   */
  uploadIdleMs?: number;
  /**
   * How long CheckProvable waits for a sector's read lock before it reports the sector as not
   * provable (Lotus gives up at once, which faults sectors that are only being moved). @default 10000
   */
  provableLockWaitMs?: number;
  /** @default os.hostname() */
  hostname?: string;
  /**
   * How its PC1 gathers parents (src/seal/pc1-gather.ts); the worker declares it in its resources
   * (`pc1GatherFrom`), so the two must come from here. @default SECTOR_STORAGE_PC1_GATHER (off when unset)
   */
  pc1Gather?: Pc1Gather;
}

/** One call of a task: its cancellation and its progress sink. */
export interface TaskRunOptions {
  /** Aborting it stops the task (the pool's cancel flag; the native code stops at its next check). */
  signal: AbortSignal;
  onProgress?: (p: TaskProgress) => void;
  /** The call's id (the scheduler's; absent when a task is run directly). */
  callId?: string;
  /** The PC1 batch the call runs in (src/worker/pc1-batch.ts): its id and every member's call id. */
  batch?: { id: string; calls: readonly string[] };
}

/** The environment a task module runs in. */
export interface WorkerEnv {
  readonly pool: SealerPool;
  readonly localStore: LocalStore;
  readonly locks: SectorLockTable;
  readonly remote: RemoteStore | undefined;
  readonly sources: Map<string, RequestSource>;
  /** The idle-timed reader of each request source, shared by the first-bytes wait and the task. */
  readonly uploads: WeakMap<RequestSource, UploadStream>;
  readonly parentCacheDir: string | undefined;
  readonly log: Logger;
  readonly uploadIdleMs: number;
  readonly provableLockWaitMs: number;
  /** PC1 batches while their members arrive and while they run on the pool. */
  readonly pc1Batches: Pc1Batches;
  /** How PC1 gathers its parents ({@link LocalWorkerOptions.pc1Gather}). */
  readonly pc1Gather: Pc1Gather;
}

/** Default of {@link LocalWorkerOptions.uploadIdleMs}. */
export const DEFAULT_UPLOAD_IDLE_MS = 15_000;
/** Default of {@link LocalWorkerOptions.provableLockWaitMs}. */
export const DEFAULT_PROVABLE_LOCK_WAIT_MS = 10_000;
