/**
 * The local worker (`local`): runs every task of the vocabulary (src/tasks/task-types.ts) on the
 * daemon's own sealer pool, with this node's storage paths. Each task locks the sector's file
 * types it reads and writes, resolves the files it needs through the local store, allocates and
 * reserves the ones it creates, runs its body on a pool thread with the call's signal and
 * progress, declares what it wrote as primary, and returns its small JSON result. One module per
 * task type in `tasks/`; this class only dispatches (sealing-daemon.md §1).
 *
 * Besides tasks it removes sectors (`sectors remove`) and checks sectors' provability (the
 * scheduler's periodic CheckProvable), which need the same locks and files.
 */
import { hostname as osHostname } from 'node:os';
import { AbortedError, InternalError } from '../errors.js';
import { sealProofInfo } from '../sector/proofs.js';
import { type SectorId, sectorId } from '../sector/sector-id.js';
import type { FaultySector } from '../seal/check-provable.js';
import { checkPc1Gather, type Pc1Gather, pc1GatherDefault } from '../seal/pc1-gather.js';
import type { Task, TaskResult } from '../tasks/task-types.js';
import { type CheckProvableRequestOptions, checkProvable, type ProvableRequest } from './check-provable.js';
import { type RemovedSector, removeSector } from './remove-sector.js';
import { Pc1Batches } from './pc1-batch.js';
import { prepareInputs } from './task-inputs.js';
import { runAddPiece, uploadOf } from './tasks/add-piece.js';
import { runCommit1 } from './tasks/commit1.js';
import { runCommit2 } from './tasks/commit2.js';
import { runFinalize } from './tasks/finalize.js';
import { runMoveStorage } from './tasks/move-storage.js';
import { runPreCommit1 } from './tasks/precommit1.js';
import { runPreCommit2 } from './tasks/precommit2.js';
import { runUnseal } from './tasks/unseal.js';
import { silentLogger } from '../log/logger.js';
import {
  DEFAULT_PROVABLE_LOCK_WAIT_MS,
  DEFAULT_UPLOAD_IDLE_MS,
  type LocalWorkerComponents,
  type LocalWorkerOptions,
  type TaskRunOptions,
  type WorkerEnv,
} from './worker-env.js';

export class LocalWorker {
  /** The worker id the call tracker records for calls run here. */
  readonly id = 'local';
  readonly hostname: string;
  /** Pool threads: what the scheduler accounts tasks against. */
  readonly threads: number;
  /** How its PC1 gathers parents: what it declares (WorkerResources.pc1GatherFrom) and what its PC1 does. */
  readonly pc1Gather: Pc1Gather;
  readonly #env: WorkerEnv;

  constructor(components: LocalWorkerComponents, options: LocalWorkerOptions = {}) {
    this.hostname = options.hostname ?? osHostname();
    this.threads = components.pool.threads;
    const pc1Gather = checkPc1Gather(options.pc1Gather ?? pc1GatherDefault(), 'pc1Gather');
    this.pc1Gather = pc1Gather;
    this.#env = {
      pool: components.pool,
      localStore: components.localStore,
      locks: components.locks,
      remote: components.remote,
      sources: components.sources,
      uploads: new WeakMap(),
      parentCacheDir: components.parentCacheDir,
      log: components.log ?? silentLogger(),
      uploadIdleMs: positive(options.uploadIdleMs ?? DEFAULT_UPLOAD_IDLE_MS, 'uploadIdleMs'),
      provableLockWaitMs: positive(options.provableLockWaitMs ?? DEFAULT_PROVABLE_LOCK_WAIT_MS, 'provableLockWaitMs'),
      pc1Batches: new Pc1Batches(components.pool),
      pc1Gather,
    };
  }

  /**
   * The task's prepare step (Lotus `sched_worker.go` `prepare`): fetches the inputs only other
   * nodes hold (task-inputs.ts), so the fetch runs while the scheduler counts the call in the
   * worker's `preparing` pool and the work in `active` finds its files here.
   */
  async prepare(task: Task, opts: TaskRunOptions): Promise<void> {
    const batch = opts.batch && opts.callId !== undefined ? { batch: opts.batch, callId: opts.callId } : undefined;
    // a member that ends before its run reaches the batch stops it (src/worker/pc1-batch.ts)
    if (batch) this.#env.pc1Batches.watch(batch.batch, batch.callId, opts.signal);
    try {
      sectorId(task.sector.miner, task.sector.number);
      await prepareInputs(this.#env, task, opts);
    } catch (err) {
      if (batch) this.#env.pc1Batches.abandon(batch.batch, batch.callId, err);
      throw err;
    }
  }

  /**
   * Runs one task to its result. Rejects with the task's typed error (ABORTED once `signal`
   * aborted and the thread let go).
   */
  async run(task: Task, opts: TaskRunOptions): Promise<TaskResult> {
    sectorId(task.sector.miner, task.sector.number); // INVALID_ARGUMENT for a malformed id
    sealProofInfo(task.proofType); // SEAL_PROOF_UNKNOWN
    const env = this.#env;
    switch (task.type) {
      case 'AP':
        return { type: 'AP', value: await runAddPiece(env, task, opts) };
      case 'PC1':
        return { type: 'PC1', value: await runPreCommit1(env, task, opts) };
      case 'PC2':
        return { type: 'PC2', value: await runPreCommit2(env, task, opts) };
      case 'C1':
        return { type: 'C1', value: await runCommit1(env, task, opts) };
      case 'C2':
        return { type: 'C2', value: await runCommit2(env, task, opts) };
      case 'FIN':
        return { type: 'FIN', value: await runFinalize(env, task, opts) };
      case 'GET':
        return { type: 'GET', value: await runMoveStorage(env, task, opts) };
      case 'UNS':
        return { type: 'UNS', value: await runUnseal(env, task, opts) };
      default: {
        const never: never = task;
        throw new InternalError(`unknown task type ${String((never as { type: unknown }).type)}`);
      }
    }
  }

  /**
   * Resolves once the upload of piece request `requestId` has bytes buffered (or ended), so the
   * scheduler can dispatch its AddPiece task only then (sealing-daemon.md §8). Rejects with
   * UPLOAD_STALLED after the idle timeout, ABORTED when `signal` aborts, and ABORTED at once for
   * an unknown request.
   */
  async waitForUpload(requestId: string, signal?: AbortSignal): Promise<void> {
    const request = this.#env.sources.get(requestId);
    if (!request) throw new AbortedError(`piece request ${requestId} has no byte source (cancelled, or never registered)`);
    await uploadOf(this.#env, request, `piece request ${requestId}`).ready(signal);
  }

  /** Removes every local file and local catalog row of a sector (`sectors remove`). */
  removeSector(sector: SectorId, signal?: AbortSignal): Promise<RemovedSector> {
    return removeSector(this.#env, sectorId(sector.miner, sector.number), signal);
  }

  /** The sectors that could not be proven from this node's files, with reasons. */
  checkProvable(sectors: readonly ProvableRequest[], options?: CheckProvableRequestOptions): Promise<FaultySector[]> {
    return checkProvable(this.#env, sectors, options);
  }
}

function positive(v: number, name: string): number {
  if (!(typeof v === 'number' && v > 0 && Number.isFinite(v))) throw new RangeError(`options.${name} must be a positive number of milliseconds, got ${v}`);
  return v;
}
