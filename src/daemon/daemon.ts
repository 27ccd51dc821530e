/**
 * The standalone daemon (`sector-storage run`): boot, serve, and shut down cleanly.
 *
 * Boot order: repository (lock first, then config, keystore, SQLite, storage paths) → sealer
 * pool → actor system (`startDaemonSystem`) → HTTP API → `api` and `token` files. Only once the
 * `api` file exists can CLI commands find the daemon, so they never see a half-started one.
 *
 * Shutdown (SIGINT/SIGTERM, or `stop()`), the reverse: remove the `api` file (new commands see
 * "not running"), close the HTTP server (stop accepting; in-flight calls are aborted through
 * their signals and get a few seconds to finish), stop the actor system (running pool tasks are
 * cancelled and idempotent), close the pool, then the database, then release the lock.
 */
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { ALL_PERMISSIONS, TokenAuthority, VerifiedTokens } from '../auth/tokens.js';
import type { ApiComponents } from '../api/components.js';
import { ApiHttpServer, RPC_PATH } from '../api/http-server.js';
import { rpcWebSocketHandler } from '../api/rpc-websocket.js';
import { apiMethods } from '../api/methods/index.js';
import { RpcServer } from '../api/rpc-server.js';
import { StreamRegistry } from '../api/stream-registry.js';
import { ShutdownSteps } from '../lifecycle/shutdown-steps.js';
import { startDaemonSystem } from '../../actors/system.js';
import { InvalidArgumentError } from '../errors.js';
import { SealerPool } from '../pool/pool.js';
import { toMultiaddr } from '../repo/api-info.js';
import { readTlsFiles, type TlsFiles } from './tls-files.js';
import { checkStartDrift, describe as describeDrift } from '../repo/drift-guard.js';
import { openRepo, type Repo } from '../repo/repo.js';
import { RepoFiles } from '../repo/repo-path.js';
import { createRemoteHandler } from '../storage/http-handler.js';
import { LocalStore } from '../storage/local-store.js';
import { writeFileDurableSync } from '../fs/durable.js';
import type { TaskType } from '../tasks/task-types.js';
import type { FixedRandomness } from '../chain/fixed-randomness.js';
import { heartbeatTimingFromEnv } from '../storage/owner-leases.js';
import { RemoteStore } from '../storage/remote-store.js';
import { createRetrievalHandler } from '../api/retrieval-handler.js';
import { SectorLocks } from '../storage/sector-locks.js';
import { WORKER_WS_PATH } from '../api/worker-protocol.js';
import { CallStore } from '../db/call-store.js';
import type { Db } from '../db/database.js';
import { LOCAL_WORKER_ID } from '../tasks/worker-info.js';
import { programVersion } from '../version.js';
import { RemoteWorkers } from './remote-workers.js';
import { type Observability, startObservability } from './observability.js';
import { createLogger, type Logger } from '../log/logger.js';

/** Calls a worker repeats every few seconds: logged only when they fail. */
const QUIET_METHODS = new Set(['Filecoin.StorageOwnerHeartbeat', 'Filecoin.StorageReportHealth']);

/** Default API listen address (loopback, Lotus miner's port). */
export const DEFAULT_LISTEN = '127.0.0.1:2345';

export interface DaemonOptions {
  repoPath: string;
  /** `HOST:PORT`; port 0 picks a free port. @default 127.0.0.1:2345 */
  listen?: string;
  /** Sector size of a NEW repository (bytes). */
  sectorSize?: number;
  /** Pool threads. @default os.availableParallelism() */
  threads?: number;
  /** The daemon's root logger; each component logs through a child (`component` field). @default pino JSON lines on stderr, pretty on a terminal (src/log) */
  log?: Logger;
  /** Every sector gets this ticket and seed from the local chain (`run --fixed-randomness`). */
  fixedRandomness?: FixedRandomness;
  /** Epoch length of the local chain, ms. @default 2000 */
  epochMs?: number;
  /** Epochs between a pre-commit landing and its seed on the local chain. @default 3 */
  seedWaitEpochs?: number;
  /** Silence after which a client's upload fails UPLOAD_STALLED. @default 15000 */
  uploadIdleMs?: number;
  /** Period of CheckProvable over Proving sectors. @default 600000 */
  checkProvableMs?: number;
  /**
   * Appends the XState inspection events of the actor system (actor created, event, snapshot)
   * to this NDJSON file, so an operator can follow what each sector actor did (`run --inspect-log`).
   */
  inspectLog?: string;
  /** Publishes the inspection events to Stately's inspector through an inspector server on this port (`run --inspect`). */
  inspectPort?: number;
  /**
   * Start even though the database knows no sectors while the storage paths hold sector files
   * (repo/drift-guard.ts); otherwise that start is refused with REPO_DRIFT.
   */
  acceptDrift?: boolean;
  /** How long a disconnected remote worker's calls wait for it to come back before they are queued again. @default 60000 */
  workerGraceMs?: number;
  /**
   * Lotus's InitWait: when the repository has calls still open that last ran on a remote worker,
   * no scheduling pass for this long after start, so that worker reconnects and its calls are
   * started on it again (it holds them) rather than run elsewhere. It counts from when workers can
   * connect (after the restore), not from the scheduler's start. @default 3000
   */
  workerInitWaitMs?: number;
  /** Task types the daemon's own pool runs (`run --local-tasks`); empty: none (remote workers do the work). @default every type */
  localTasks?: readonly TaskType[];
  /** The local worker ignores resources (`run --ignore-resources`); per-type limits still apply. @default false */
  ignoreResources?: boolean;
  /** PC1s of one size the local worker labels together (`run --pc1-batch-size`, docs/design/scheduler.md §8). @default 1 */
  pc1BatchSize?: number;
  /** How long a PC1 waits for its batch to fill (`run --pc1-batch-wait`). @default 30000 */
  pc1BatchWaitMs?: number;
  /**
   * Serve the API, `/remote` and the worker endpoint over TLS with this certificate and key
   * (`run --tls-cert --tls-key`): the `api` file then says `/https`, workers connect with `wss://`.
   * @default plain HTTP
   */
  tls?: TlsFiles;
}

/** A running daemon. */
export interface Daemon {
  readonly repo: Repo;
  /** `/ip4/127.0.0.1/tcp/<port>/http` (`/https` with TLS). */
  readonly multiaddr: string;
  readonly url: string;
  readonly session: string;
  /** The remote workers (`sector-storage worker`) connected over `/rpc/worker/v0`. */
  readonly remoteWorkers: RemoteWorkers;
  /** Resolves with the reason when a client asked the daemon to stop (`Filecoin.Shutdown`); the owner then calls `stop()`. */
  readonly shutdownRequested: Promise<string>;
  /** Shuts down (idempotent): every step runs; rejects with the failed steps listed if any failed. */
  stop(): Promise<void>;
}

/** Splits `HOST:PORT` (IPv6 as `[::1]:2345`). */
export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(text.trim());
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || !Number.isInteger(port) || port > 65535) {
    throw new InvalidArgumentError(`--listen "${text}" is not HOST:PORT (e.g. 127.0.0.1:2345; port 0 picks a free port)`);
  }
  return { host: (m[1] ?? m[2])!, port };
}

export { programVersion } from '../version.js';

/** True when a call last handed to a remote worker is still open (it may come back with it). */
function remoteCallsOpen(db: Db): boolean {
  return new CallStore(db).open().some((c) => c.worker !== undefined && c.worker !== LOCAL_WORKER_ID && (c.state === 'started' || c.state === 'running'));
}

/** Boots a daemon on a repository. */
export async function startDaemon(options: DaemonOptions): Promise<Daemon> {
  const rootLog = options.log ?? createLogger();
  const logOf = (component: string) => rootLog.child({ component });
  const log = logOf('daemon');
  const listen = parseListen(options.listen ?? DEFAULT_LISTEN);
  // before the repository: a bad certificate stops the start with nothing opened
  const tls = options.tls ? readTlsFiles(options.tls) : undefined;
  const repo = openRepo(options.repoPath, { sectorSize: options.sectorSize });
  const shutdown = new ShutdownSteps(logOf('shutdown'));
  shutdown.push('repository', () => repo.close());
  try {
    const drift = checkStartDrift(repo, { acceptDrift: options.acceptDrift });
    if (drift) {
      log.warn(`starting with --accept-drift: the database has no sectors, the storage paths hold sector files: ${drift.paths.map(describeDrift).join('; ')}`);
    }
    const authority = new TokenAuthority(repo.jwtSecret);
    const session = randomUUID();
    const pool = new SealerPool({ threads: options.threads });
    shutdown.push('sealer pool', () => pool.close());
    let requestShutdown: (reason: string) => void = () => {};
    const shutdownRequested = new Promise<string>((resolve) => {
      requestShutdown = resolve;
    });
    const components: ApiComponents = {
      daemon: {
        requestShutdown: (reason) => requestShutdown(reason),
        session,
        version: programVersion(),
        repoPath: repo.path,
        minerId: repo.config.minerId,
        sealProof: repo.config.sealProof,
        sectorSize: repo.config.sectorSize,
        createToken: (perms) => authority.createToken(perms),
        verifyToken: (token) => authority.verifyToken(token),
      },
    };
    let observability: Observability | undefined;
    const streams = new StreamRegistry();
    const rpc = new RpcServer(apiMethods, components, streams);
    rpc.onCallError = (code) => observability?.onCallError(code);
    const apiLog = logOf('api');
    rpc.onInternalError = (method, err) => apiLog.error({ err, method }, `${method} failed unexpectedly`);
    // every failure, and every call that may change something; reads (polled by watchers) only when they fail
    rpc.onCall = ({ method, perm, ms, error }) => {
      if (error) apiLog.warn({ method, ms, code: error.code }, `rpc ${method} failed (${ms.toFixed(1)} ms): ${error.message} [${error.code}]`);
      else if (perm !== 'read' && !QUIET_METHODS.has(method)) apiLog.info({ method, ms }, `rpc ${method} (${ms.toFixed(1)} ms)`);
    };
    // an HTTP client sends its token with every call: each distinct token is verified once
    const tokens = new VerifiedTokens({ verify: (t) => authority.verifyToken(t) });
    const server = new ApiHttpServer({ rpc, streams, authenticate: (t) => tokens.permissions(t), log: apiLog, ...(tls ? { tls } : {}) });
    const { intervalMs, thresholdMs } = heartbeatTimingFromEnv();
    // remote workers are refused (503, they retry) until the actor system can take them
    const remoteWorkers = new RemoteWorkers({
      manager: { version: components.daemon.version, session, miner: repo.config.minerId },
      heartbeatMs: intervalMs,
      ...(options.workerGraceMs !== undefined ? { graceMs: options.workerGraceMs } : {}),
      log: logOf('workers'),
    });
    server.upgrade(WORKER_WS_PATH, remoteWorkers.upgrade);
    observability = await startObservability({
      ...(options.inspectLog ? { inspectLog: options.inspectLog } : {}),
      ...(options.inspectPort !== undefined ? { statelyPort: options.inspectPort } : {}),
      server,
      components,
      shutdown,
      log: rootLog,
    });
    server.upgrade(RPC_PATH, rpcWebSocketHandler(rpc, apiLog));
    // listen before starting the actors: the storage paths are declared with this node's URL.
    // Nobody knows the port until the api file is written, so no call arrives half-booted.
    const bound = await server.listen(listen.host, listen.port);
    shutdown.push('HTTP server', () => server.close());
    const url = `${tls ? 'https' : 'http'}://${bound.host.includes(':') ? `[${bound.host}]` : bound.host}:${bound.port}`;
    // the node's one sector lock table: tasks of the local worker and the API's StorageLock share it;
    // its lease sweep releases remote owners that went silent
    let remote: RemoteStore | undefined;
    const locks = new SectorLocks({ heartbeatIntervalMs: intervalMs, heartbeatThresholdMs: thresholdMs });
    shutdown.push('sector locks', () => locks.close());
    const system = await startDaemonSystem({
      inspect: observability.inspect,
      taskObserver: observability.taskObserver,
      db: repo.db,
      pool,
      locks,
      localChain: {
        ...(options.epochMs !== undefined ? { epochMs: options.epochMs } : {}),
        ...(options.seedWaitEpochs !== undefined ? { seedWaitEpochs: options.seedWaitEpochs } : {}),
        ...(options.fixedRandomness ? { fixedRandomness: options.fixedRandomness } : {}),
      },
      ...(options.uploadIdleMs !== undefined ? { uploadIdleMs: options.uploadIdleMs } : {}),
      ...(options.checkProvableMs !== undefined ? { checkProvableMs: options.checkProvableMs } : {}),
      minerId: repo.config.minerId,
      sealProof: repo.config.sealProof,
      dagstoreDir: join(repo.path, 'dagstore'),
      ...(options.localTasks ? { localTasks: options.localTasks } : {}),
      ...(remoteCallsOpen(repo.db) ? { initWaitMs: options.workerInitWaitMs ?? 3_000 } : {}),
      ...(options.ignoreResources ? { ignoreResources: true } : {}),
      ...(options.pc1BatchSize !== undefined ? { pc1BatchSize: options.pc1BatchSize } : {}),
      ...(options.pc1BatchWaitMs !== undefined ? { pc1BatchWaitMs: options.pc1BatchWaitMs } : {}),
      // the node's storage paths (storage.json), advertised with this node's /remote URL
      localStore: async (index) => {
        const local = new LocalStore({
          catalog: index.catalog,
          urls: [`${url}/remote`],
          nodeId: repo.config.nodeId,
          configFile: join(repo.path, RepoFiles.storageConfig),
          log: logOf('storage'),
        });
        await local.open();
        return local;
      },
      // one remote store for the local worker's fetches and the API's StorageFetch (Lotus: 10 downloads on the miner)
      remoteStore: (local) => {
        remote = new RemoteStore({ local, token: authority.createToken(ALL_PERMISSIONS), parallelFetchLimit: 10, onFetched: observability!.onFetched, log: logOf('fetch') });
        return remote;
      },
      log: logOf('sectors'),
      onError: (err) => log.error({ err }, 'sector system error'),
    });
    // stopped after the HTTP server, so in-flight calls end first
    shutdown.pushAfter('HTTP server', 'actor system', () => system.stop());
    // the workers' connections close before the actors stop: stopping the `tasks` actor aborts
    // every run, which must not reach a worker (shutdown is not an abort; the worker delivers later)
    remoteWorkers.start(system.index.calls, system.workers);
    system.workers.opened();
    shutdown.push('remote workers', () => remoteWorkers.close());
    components.sectors = system.sectors;
    components.workers = system.workerService;
    components.system = system;
    observability.attach(system);
    components.storage = {
      catalog: system.index.catalog,
      local: system.localStore,
      remote: remote ?? new RemoteStore({ local: system.localStore, token: authority.createToken(ALL_PERMISSIONS), parallelFetchLimit: 10, onFetched: observability.onFetched }),
      locks,
    };
    server.mount('/remote', createRemoteHandler({ local: system.localStore, log: logOf('remote') }));
    if (system.dagstore) components.dagstore = system.dagstore;
    const retrieval = createRetrievalHandler(() => components.dagstore);
    server.mount('/piece/', retrieval);
    server.mount('/ipfs/', retrieval);
    const multiaddr = toMultiaddr(bound.host, bound.port, tls ? 'https' : 'http');
    const tokenFile = join(repo.path, RepoFiles.token);
    writeFileDurableSync(tokenFile, authority.createToken(ALL_PERMISSIONS), { mode: 0o600 });
    const apiFile = join(repo.path, RepoFiles.api);
    writeFileDurableSync(apiFile, multiaddr);
    shutdown.push('api file', () => rmSync(apiFile, { force: true }));
    log.info(
      `sector-storage daemon listening on ${multiaddr} (repo ${repo.path}, miner t0${repo.config.minerId}, ${repo.config.sealProofName}, pid ${process.pid})`,
    );
    return {
      repo,
      multiaddr,
      url,
      session,
      remoteWorkers,
      shutdownRequested,
      stop: () => shutdown.run(),
    };
  } catch (err) {
    // the boot error is the one to report; failures while unwinding were logged
    await shutdown.run().catch(() => {});
    throw err;
  }
}
