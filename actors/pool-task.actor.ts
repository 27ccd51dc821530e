/**
 * The `poolTask` actor: runs one scheduler task on the local worker (src/worker/local-worker.ts).
 * A promise actor, so XState gives it an AbortSignal that fires when the scheduler stops it
 * (shutdown); the signal goes to the worker, which cancels the task cooperatively on its thread.
 * This adapter maps the scheduler's current AddPiece task shape onto the task vocabulary; byte
 * sources never enter the actor system: events carry a `requestId` and the worker looks the
 * source up.
 */
import { fromPromise } from 'xstate';
import { InternalError } from '../src/errors.js';
import type { SealerPool } from '../src/pool/pool.js';
import type { LocalStore } from '../src/storage/local-store.js';
import type { SectorLocks } from '../src/storage/sector-locks.js';
import { LocalWorker } from '../src/worker/local-worker.js';
import type { RequestSource } from '../src/worker/worker-env.js';
import type { AddPieceOutput, AddPieceTask, TaskRequest } from '../machines/protocol.js';

/** What the pool task actor needs from the world. */
export interface PoolTaskComponents {
  pool: SealerPool;
  /** The node's storage paths (resolved once the system is up). */
  localStore: () => LocalStore;
  /** Resolves when `localStore()` may be called. */
  ready: Promise<void>;
  /** The node's sector lock table. */
  locks: SectorLocks;
  /** Client byte sources by request id. */
  sources: Map<string, RequestSource>;
  /** Every task promise in flight, so shutdown can wait for them to settle. */
  inflight: Set<Promise<unknown>>;
  /** See LocalWorkerOptions.uploadIdleMs. */
  uploadIdleMs?: number;
  log?: (line: string) => void;
}

/** Creates the `poolTask` actor logic bound to real components. */
export function createPoolTaskLogic(c: PoolTaskComponents) {
  let worker: LocalWorker | undefined;
  const localWorker = () => {
    worker ??= new LocalWorker(
      { pool: c.pool, localStore: c.localStore(), locks: c.locks, sources: c.sources, ...(c.log ? { log: c.log } : {}) },
      c.uploadIdleMs !== undefined ? { uploadIdleMs: c.uploadIdleMs } : {},
    );
    return worker;
  };
  return fromPromise<AddPieceOutput, TaskRequest>(({ input, signal }) => {
    const run = (async () => {
      await c.ready;
      switch (input.kind) {
        case 'addPiece':
          return addPiece(localWorker(), input, signal);
        default: {
          const never: never = input.kind;
          throw new InternalError(`unknown task kind ${String(never)}`);
        }
      }
    })();
    c.inflight.add(run);
    void run.finally(() => c.inflight.delete(run)).catch(() => {});
    return run;
  });
}

async function addPiece(worker: LocalWorker, task: AddPieceTask, signal: AbortSignal): Promise<AddPieceOutput> {
  const result = await worker.run(
    {
      type: 'AP',
      sector: task.sector,
      proofType: task.proofType,
      priority: 0,
      input: { paddedOffset: task.paddedOffset, pieceSize: task.pieceSize, payloadSize: task.payloadSize, source: task.source },
    },
    { signal },
  );
  if (result.type !== 'AP') throw new InternalError(`AddPiece ${task.id} returned a ${result.type} result`);
  return result.value;
}
