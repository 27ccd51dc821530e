/**
 * A sealing worker process (`sector-storage worker`), Lotus's `lotus-worker`: its own repository
 * with a durable call store (src/repo/worker-repo.ts), its storage paths attached to the
 * manager's index (storage-worker.ts), its own sealer pool, and a connection to the manager
 * (worker-link.ts, manager-link.ts) over which the manager hands it tasks and it returns their results.
 *
 *   manager ──SealPreCommit1(CallID, task)──▶ task method: checked, recorded, run in the background
 *   task ends ──▶ result recorded ──▶ ReturnSealPreCommit1 ──acknowledged──▶ record deleted
 *
 * Tasks run on a LocalWorker built from the worker's parts: its pool, its local store, the
 * manager's lock table in this session's name (so tasks on every node exclude each other), and
 * its remote store, through which a task fetches the sector files only other nodes hold before
 * it runs (src/worker/sector-files.ts `fetchMissing`).
 *
 * Boot: repository (lock, session; the previous session's running calls are dropped) → storage
 * worker (paths, heartbeats, `/remote`) → the previous session's sector locks are released on the
 * manager → pool → calls → connection. Shutdown, the reverse: the connection closes first (no new
 * call arrives), running tasks are cancelled without recording an end (the manager queues them
 * again), then the pool, the storage side (its sector locks are released) and the repository.
 */
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import { AbortedError, InvalidArgumentError, type SectorStorageError } from '../errors.js';
import { ShutdownSteps } from '../lifecycle/shutdown-steps.js';
import { SealerPool } from '../pool/pool.js';
import { openWorkerRepo, WorkerRepoFiles } from '../repo/worker-repo.js';
import { sectorName } from '../sector/sector-id.js';
import { limitsFromEnv } from '../tasks/resources.js';
import { TASK_TYPES, type TaskType } from '../tasks/task-types.js';
import { LocalWorker } from '../worker/local-worker.js';
import { declaredResources, localResources } from '../worker/local-resources.js';
import { pc1GatherDefault } from '../seal/pc1-gather.js';
import { WorkerCalls } from '../worker/worker-calls.js';
import { programVersion } from './daemon.js';
import { startWorkerLink } from './worker-link.js';
import { startStorageWorker } from './storage-worker.js';
import { readTlsFiles, type TlsFiles } from './tls-files.js';
import { createLogger, type Logger } from '../log/logger.js';

export interface WorkerNodeOptions {
  /** The worker repository (src/repo/worker-repo.ts `resolveWorkerRepoPath`). */
  repoPath: string;
  /** The manager's API base URL, e.g. `http://127.0.0.1:2345`. */
  managerUrl: string;
  /** An admin token of the manager. */
  token: string;
  /** Storage path roots. @default `<repo>/storage` */
  storage?: readonly string[];
  /** Listen address of the worker's own server (`/remote`). */
  host: string;
  port: number;
  /** `HOST:PORT` other nodes use to reach this worker. */
  advertise?: string;
  /**
   * Serve `/remote` over TLS (`worker --tls-cert --tls-key`): the URLs it attaches say `https`,
   * and nodes that fetch from it trust its CA through NODE_EXTRA_CA_CERTS, as with the daemon.
   */
  tls?: TlsFiles;
  /** Persistent node id of its storage paths in the index. @default storage-worker.ts `workerNodeId` */
  nodeId?: string;
  /** What it runs. @default every task type */
  taskTypes?: readonly TaskType[];
  /** Pool threads. @default os.availableParallelism() */
  threads?: number;
  /**
   * At most this many tasks of a type at once on this worker, declared to the scheduler (Lotus
   * `*_MAX_CONCURRENT`). @default the `<TASK>_MAX_CONCURRENT` environment variables
   */
  limits?: Partial<Record<TaskType, number>>;
  /**
   * GPUs the operator declares for the resource table (`--gpus N`): the scheduler then runs one
   * GPU-capable task (PC2, C2) at a time here, as Lotus does. No GPU is detected or used (the C2
   * prover is a CPU stand-in), so the default declares none. @default 0
   */
  gpus?: number;
  /** Lotus ResourceFiltering "disabled". @default false */
  ignoreResources?: boolean;
  /** Storage heartbeats and lock leases. @default 10000 */
  heartbeatIntervalMs?: number;
  /** @default 5 */
  parallelFetchLimit?: number;
  /** Where SDR parent caches live. @default PC1's default */
  parentCacheDir?: string;
  /** Aborts a start still waiting for the manager (SIGINT/SIGTERM). */
  signal?: AbortSignal;
  /** The manager refused the worker for good (a bad token, another protocol version): the process should stop. */
  onFatal?: (err: SectorStorageError) => void;
  log?: Logger;
}

/** A running worker process. */
export interface WorkerNode {
  /** The persistent worker id (its repository's). */
  readonly id: string;
  /** This start's session. */
  readonly session: string;
  /** `http(s)://host:port` other nodes use. */
  readonly url: string;
  readonly listenUrl: string;
  readonly taskTypes: readonly TaskType[];
  readonly paths: { ID: string; LocalPath: string }[];
  /** True while connected to the manager. */
  readonly connected: boolean;
  stop(): Promise<void>;
}

/** Starts a sealing worker. */
export async function startWorkerNode(options: WorkerNodeOptions): Promise<WorkerNode> {
  // the worker process's composition root: its lines carry component "worker"
  const log = options.log ?? createLogger().child({ component: 'worker' });
  const taskTypes = TASK_TYPES.filter((t) => (options.taskTypes ?? TASK_TYPES).includes(t));
  if (taskTypes.length === 0) throw new InvalidArgumentError('a worker needs at least one task type');
  // checked before the repository is opened: a bad file stops the start, naming it
  const tls = options.tls ? readTlsFiles(options.tls) : undefined;
  const shutdown = new ShutdownSteps(log);
  const repo = openWorkerRepo(options.repoPath);
  shutdown.push('worker repository', () => repo.close());
  // aborted first when stopping: tasks waiting for an unreachable manager give up
  const stopping = new AbortController();
  try {
    for (const c of repo.interrupted) log.info(`call ${c.callId} (${c.task.type} of ${sectorName(c.task.sector)}) died with the previous worker process; the manager queues it again`);
    const storage = await startStorageWorker({
      managerUrl: options.managerUrl,
      token: options.token,
      storage: options.storage && options.storage.length > 0 ? options.storage : [join(repo.path, WorkerRepoFiles.storageDir)],
      host: options.host,
      port: options.port,
      ...(options.advertise ? { advertise: options.advertise } : {}),
      ...(tls ? { tls } : {}),
      ...(options.nodeId ? { nodeId: options.nodeId } : {}),
      ownerId: repo.session,
      signal: options.signal ? AbortSignal.any([stopping.signal, options.signal]) : stopping.signal,
      ...(options.heartbeatIntervalMs ? { heartbeatIntervalMs: options.heartbeatIntervalMs } : {}),
      ...(options.parallelFetchLimit ? { parallelFetchLimit: options.parallelFetchLimit } : {}),
      log,
    });
    shutdown.push('storage worker', () => storage.stop());
    if (repo.previousSession) {
      // the tasks of a killed session held their sector locks until the manager's lease sweep: free them now
      const n = await storage.manager.call('StorageReleaseOwner', repo.previousSession);
      if (n > 0) log.info(`released ${n} sector lock(s) the previous worker process held on the manager`);
    }
    const pool = new SealerPool({ ...(options.threads ? { threads: options.threads } : {}) });
    shutdown.push('sealer pool', () => pool.close());
    const hostname = osHostname();
    // measured once, at start, as the daemon measures its own pool's machine
    const pc1Gather = pc1GatherDefault();
    const resources = declaredResources({ ...localResources(pool.threads), gpus: declaredGpus(options.gpus ?? 0) }, pc1Gather);
    const limits = options.limits ?? limitsFromEnv(process.env, undefined, taskTypes);
    const body = new LocalWorker(
      {
        pool,
        localStore: storage.local,
        locks: storage.locks,
        remote: storage.remote,
        sources: new Map(),
        ...(options.parentCacheDir ? { parentCacheDir: options.parentCacheDir } : {}),
        log,
      },
      { hostname, pc1Gather },
    );
    const calls = new WorkerCalls({ store: repo.calls, body, session: repo.session, log });
    shutdown.push('calls', () => calls.close());
    const link = startWorkerLink({
      managerUrl: options.managerUrl,
      token: options.token,
      version: programVersion(),
      repo,
      calls,
      info: {
        id: repo.workerId,
        hostname,
        taskTypes: [...taskTypes],
        resources,
        ignoreResources: options.ignoreResources ?? false,
        paths: storage.paths.map((p) => p.ID),
        ...(Object.keys(limits).length > 0 ? { limits } : {}),
      },
      url: storage.url,
      onFatal: (err) => options.onFatal?.(err),
      log,
    });
    shutdown.push('manager connection', () => {
      stopping.abort(new AbortedError('the worker is stopping'));
      link.close();
    });
    return {
      id: repo.workerId,
      session: repo.session,
      url: storage.url,
      listenUrl: storage.listenUrl,
      taskTypes,
      paths: storage.paths.map((p) => ({ ID: p.ID, LocalPath: p.LocalPath })),
      get connected() {
        return link.connected;
      },
      stop: () => shutdown.run(),
    };
  } catch (err) {
    await shutdown.run().catch(() => {});
    throw err;
  }
}

/** Names of GPUs the operator declared (`--gpus N`): stand-ins for the resource table, named as such. */
export function declaredGpus(n: number): string[] {
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`the GPU count must be a non-negative integer, got ${n}`);
  return Array.from({ length: n }, (_, i) => `declared-gpu-${i} (operator --gpus; no GPU is used)`);
}
