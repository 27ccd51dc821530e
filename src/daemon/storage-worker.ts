/**
 * The storage side of a worker node (`sector-storage worker`): it opens its own storage paths,
 * attaches them to the manager's index over JSON-RPC, declares the sector files on them,
 * heartbeats, re-declares everything when the manager restarts (its `Session` changes), and serves
 * `/remote` on its own HTTP server so other nodes can fetch from it.
 *
 * Sector locks it takes on the manager ({@link StorageWorker.locks}) carry its `id` as owner; on
 * the same watch interval it sends `StorageOwnerHeartbeat(id)`, so that if this process dies the
 * manager releases its locks after the skipped-heartbeat threshold. A graceful stop releases them
 * at once.
 *
 * The HTTP server is the same ApiHttpServer the daemon uses, with an (initially empty) method
 * table; task execution reaches the worker over its own WebSocket to the manager
 * (worker-node.ts). Tokens are the manager's (verified through its `AuthVerify`, cached for a
 * minute).
 */
import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { hostname } from 'node:os';
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Permission, VerifiedTokens } from '../auth/tokens.js';
import type { ApiComponents } from '../api/components.js';
import { ApiHttpServer } from '../api/http-server.js';
import { ApiClient } from '../api/rpc-client.js';
import type { AnyMethod } from '../api/rpc-method.js';
import { RpcServer } from '../api/rpc-server.js';
import { StreamRegistry } from '../api/stream-registry.js';
import { AbortedError, InvalidArgumentError, type SectorStorageError, StorageConfigInvalidError, UnauthorizedError } from '../errors.js';
import { ShutdownSteps } from '../lifecycle/shutdown-steps.js';
import { createRemoteHandler } from '../storage/http-handler.js';
import { META_FILE } from '../sector/layout.js';
import { LocalStore } from '../storage/local-store.js';
import { type ManagerCall, ManagerLocks } from '../storage/manager-locks.js';
import { RemoteStore } from '../storage/remote-store.js';
import { rpcCatalog, type CatalogClient } from '../storage/catalog-client.js';
import { initStoragePath } from '../storage/storage-config.js';
import type { LocalPathInfo } from '../storage/storage-types.js';
import { createLogger, type Logger } from '../log/logger.js';
import type { TlsPem } from './tls-files.js';

/** Options of {@link startStorageWorker}. */
export interface StorageWorkerOptions {
  /** The manager's API base URL, e.g. `http://127.0.0.1:2345`. */
  managerUrl: string;
  /** An admin token of the manager. */
  token: string;
  /** Storage path roots; a missing or empty directory is initialised (seal, weight 10). */
  storage: readonly string[];
  /** Listen address. */
  host: string;
  port: number;
  /** `HOST:PORT` other nodes use to reach this worker, when not the listen address. */
  advertise?: string;
  /** Serve over TLS with this certificate and key (tls-files.ts): the URLs say `https`. */
  tls?: TlsPem;
  /**
   * This worker's persistent node id: the index replaces the URLs it attached before (a restart
   * on another port leaves no dead URL). @default {@link workerNodeId} of the storage paths
   */
  nodeId?: string;
  /** Worker-specific API methods on its HTTP server. @default {} */
  methods?: Record<string, AnyMethod>;
  /**
   * The owner name of its sector locks on the manager (a sealing worker passes its session, so a
   * restart can release what the previous session held). @default a new uuid
   */
  ownerId?: string;
  /** Storage-path and lock-owner heartbeats, and the manager-restart check. @default 10_000 */
  heartbeatIntervalMs?: number;
  /** @default 5 */
  parallelFetchLimit?: number;
  /** Aborted when the worker process stops: calls waiting for an unreachable manager give up. */
  signal?: AbortSignal;
  /** The worker's logger. @default pino JSON lines on stderr with component "worker" (src/log) */
  log?: Logger;
}

/** A running storage worker. */
export interface StorageWorker {
  /** A uuid per start; the owner name of this worker's sector locks. */
  readonly id: string;
  /** `http(s)://host:port` other nodes use (the advertised address). */
  readonly url: string;
  /** `http(s)://host:port` actually listened on. */
  readonly listenUrl: string;
  readonly local: LocalStore;
  readonly remote: RemoteStore;
  readonly catalog: CatalogClient;
  readonly manager: ApiClient;
  /** Sector locks on the manager, owned by {@link id} (heartbeated; released on stop). */
  readonly locks: ManagerLocks;
  readonly paths: LocalPathInfo[];
  stop(): Promise<void>;
}

/** Starts a storage worker. */
export async function startStorageWorker(options: StorageWorkerOptions): Promise<StorageWorker> {
  const log = options.log ?? createLogger().child({ component: 'worker' });
  const manager = new ApiClient({ url: options.managerUrl, token: options.token });
  const shutdown = new ShutdownSteps(log);
  shutdown.push('manager client', () => manager.close());
  try {
    const once: ManagerCall = (method, params, opts) =>
      (manager.call as unknown as (m: string, ...p: unknown[]) => Promise<unknown>)(method, ...params, ...(opts?.signal ? [{ signal: opts.signal }] : []));
    // a manager that is not up yet, or restarts, is away for a few seconds: the worker's start,
    // and a task that declares its files or takes a lock, wait for it instead of failing
    const stopping = new AbortController();
    shutdown.push('manager waits', () => stopping.abort(new AbortedError('the worker is stopping')));
    const call = waitingForManager(once, options.signal ? AbortSignal.any([stopping.signal, options.signal]) : stopping.signal, log);
    const perms = (await call('AuthVerify', [options.token])) as Permission[];
    if (!perms.includes('admin')) {
      throw new UnauthorizedError(`the --token given to the worker has ${perms.join(', ') || 'no'} permissions; it needs admin`);
    }
    let session = (await call('Session', [])) as string;
    const verify = cachedVerifier(manager);
    const catalog = rpcCatalog(call);

    const id = options.ownerId ?? randomUUID();
    const locks = new ManagerLocks(call, id, log);
    const streams = new StreamRegistry();
    const components = {
      daemon: {
        session: id,
        version: 'worker',
        repoPath: '',
        minerId: 0,
        sealProof: 0,
        sectorSize: 0,
        createToken: () => {
          throw new UnauthorizedError('a worker cannot create tokens; ask the manager');
        },
        verifyToken: () => {
          throw new UnauthorizedError('a worker verifies tokens through the manager');
        },
      },
    } as ApiComponents;
    const rpc = new RpcServer(options.methods ?? {}, components, streams);
    const server = new ApiHttpServer({ rpc, streams, authenticate: verify, log, ...(options.tls ? { tls: options.tls } : {}) });
    const bound = await server.listen(options.host, options.port);
    shutdown.push('HTTP server', () => server.close());
    const publicAddr = options.advertise ?? `${bound.host.includes(':') ? `[${bound.host}]` : bound.host}:${bound.port}`;
    if (!options.advertise && (bound.host === '0.0.0.0' || bound.host === '::')) {
      throw new InvalidArgumentError(`listening on ${bound.host}: give --advertise HOST:PORT so other nodes know where to fetch from`);
    }
    const scheme = options.tls ? 'https' : 'http';
    const url = `${scheme}://${publicAddr}`;
    const listenUrl = `${scheme}://${bound.host.includes(':') ? `[${bound.host}]` : bound.host}:${bound.port}`;

    const local = new LocalStore({
      catalog,
      urls: [`${url}/remote`],
      nodeId: options.nodeId ?? workerNodeId(options.storage),
      log,
      ...(options.heartbeatIntervalMs ? { heartbeatIntervalMs: options.heartbeatIntervalMs } : {}),
    });
    shutdown.push('local store', () => local.close());
    const remote = new RemoteStore({ local, token: options.token, parallelFetchLimit: options.parallelFetchLimit ?? 5, log });
    server.mount('/remote', createRemoteHandler({ local, log }));
    const paths: LocalPathInfo[] = [];
    try {
      for (const dir of options.storage) paths.push(await local.openPath(prepareWorkerPath(dir, log)));
    } catch (err) {
      // the paths opened so far are attached and look healthy: take them out of service now
      await local.withdraw(`the worker at ${url} failed to start: ${(err as Error).message}`);
      throw err;
    }
    await local.open();

    // Lotus workers re-declare after a manager restart; the session id is how we notice one.
    const interval = options.heartbeatIntervalMs ?? 10_000;
    let stopped = false;
    const watch = setInterval(() => {
      manager
        .call('Session')
        .then(async (s) => {
          if (stopped || s === session) return;
          log.info(`manager restarted (session ${session} → ${s}); re-declaring storage`);
          await local.redeclare();
          // only now: a manager that answers Session while still starting refuses the
          // declarations, and the next tick must try again
          session = s;
        })
        .catch((err) => log.warn(`manager unreachable or not ready: ${(err as Error).message}`));
      // The lease on our sector locks: a manager that stops hearing this releases them.
      locks
        .heartbeat()
        .then((hb) => {
          const r = hb.released;
          if (r && r.reason === 'expired') {
            log.info(
              `the manager declared this worker dead at ${new Date(r.at).toISOString()} (missed heartbeats) and released its ${r.locks} sector lock(s) and ${r.waiting} waiting request(s)`,
            );
          }
        })
        .catch((err) => {
          if (!stopped) log.warn(`lock heartbeat failed: ${(err as Error).message}`);
        });
    }, interval);
    watch.unref();
    // registered before the watch's cleanup, so it runs after it (no heartbeat renews the lease)
    shutdown.push('manager locks', async () => {
      const n = await locks.releaseAll({ signal: AbortSignal.timeout(5_000) });
      if (n > 0) log.info(`released ${n} sector lock(s) on the manager`);
    });
    shutdown.push('manager watch', () => {
      stopped = true;
      clearInterval(watch);
    });

    return {
      id,
      url,
      listenUrl,
      local,
      remote,
      catalog,
      manager,
      locks,
      paths,
      stop: () => shutdown.run(),
    };
  } catch (err) {
    // the boot error is the one to report; failures while unwinding were logged
    await shutdown.run().catch(() => {});
    throw err;
  }
}

/**
 * The default node id of a worker: its host name and its storage paths, which stay the same when
 * it restarts (on whatever port) and differ between workers, with no state file to keep.
 */
export function workerNodeId(storage: readonly string[]): string {
  const roots = storage.map((d) => resolve(d)).sort();
  return `worker:${hostname()}:${createHash('sha256').update(JSON.stringify(roots)).digest('hex').slice(0, 16)}`;
}

/** A missing or empty directory becomes a sealing path; one with files but no metadata is refused. */
function prepareWorkerPath(dir: string, log: Logger): string {
  const root = resolve(dir);
  if (existsSync(join(root, META_FILE))) return root;
  if (existsSync(root) && readdirSync(root).length > 0) {
    throw new StorageConfigInvalidError(
      `storage path ${root} has files but no ${META_FILE}; initialise it with "sector-storage storage attach --init" or pick an empty directory`,
    );
  }
  const meta = initStoragePath(root, { canSeal: true, canStore: false, weight: 10 });
  log.info(`initialised worker storage path ${root} as ${meta.ID} (seal, weight 10)`);
  return root;
}

/**
 * A manager call that, while the manager cannot be reached (it is down or restarting: the
 * connection is refused, or reset under a request it was serving when it died) or says it is
 * still starting, tries again every 250 ms to 2 s until it answers, the call's signal aborts or
 * `stop` aborts. What a worker asks of its manager can be asked twice: declarations, drops and
 * moves in the index set a state, reads read, an unlock of an unknown lock answers false, and a
 * lock request whose connection broke is abandoned by the manager (or died with it).
 * Heartbeats are not retried: the next tick sends them again.
 */
export function waitingForManager(call: ManagerCall, stop: AbortSignal, log: Logger): ManagerCall {
  return async (method, params, opts) => {
    if (PERIODIC.has(method)) return call(method, params, opts);
    let told = false;
    for (let delay = 250; ; delay = Math.min(delay * 2, 2_000)) {
      try {
        return await call(method, params, opts);
      } catch (err) {
        const e = err as SectorStorageError;
        if (e.code !== 'DAEMON_UNREACHABLE' || stop.aborted || opts?.signal?.aborted) throw err;
        if (!told) log.info(`${method}: the manager is not reachable (${e.message}); waiting for it`);
        told = true;
        await sleep(delay, undefined, { signal: AbortSignal.any([stop, ...(opts?.signal ? [opts.signal] : [])]) }).catch(() => {
          throw err;
        });
      }
    }
  };
}

/** Heartbeats: sent again on the next tick anyway, so they do not wait (they would pile up). */
const PERIODIC = new Set(['StorageReportHealth', 'StorageOwnerHeartbeat']);

/** Token → permissions through the manager's AuthVerify, trusted for a minute. */
function cachedVerifier(manager: ApiClient): (token: string) => readonly Permission[] | Promise<readonly Permission[]> {
  const tokens = new VerifiedTokens({ verify: (token) => manager.call('AuthVerify', token), ttlMs: 60_000 });
  return (token) => tokens.permissions(token);
}
