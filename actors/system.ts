/**
 * Wiring of the daemon's actor system: binds the named actors of the pure machines to real I/O
 * with `provide()` — the index actor over SQLite, worker tasks over the local worker (src/worker),
 * the chain steps over the chain adapter (the local chain stand-in unless another is given), CommD
 * over the piece library, file removal and CheckProvable over the worker — restores every
 * persisted sector and every open call, starts the root with an error observer, opens the node's
 * storage paths through the index actor, and returns the SectorService facade.
 *
 * Start order matters: the sector records and open calls are read synchronously before the index
 * actor takes the connection; the index actor runs before any sector is spawned (it is invoked on
 * the scheduler's root state); worker tasks wait until the storage paths are open (restored
 * sectors ask for their tasks at once); after the paths are open, sector numbers found on them
 * are reported to the scheduler so a new sector never reuses one.
 */
import { existsSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import { type Actor, type ActorOptions, type InspectionEvent, createActor, fromPromise } from 'xstate';
import type { ChainAdapter } from '../src/chain/chain-adapter.js';
import type { FixedRandomness } from '../src/chain/fixed-randomness.js';
import { type ChainClock, LocalChain } from '../src/chain/local-chain.js';
import { type Db, openDatabase } from '../src/db/database.js';
import type { SectorRecord } from '../src/db/sector-store.js';
import { requiredFileTypes } from '../src/sector/sector-states.js';
import { isFirstPieceLeftover, openFirstPieces, reconcile } from '../src/storage/reconcile.js';
import { createIndexStores } from '../src/db/stores.js';
import { StoreThread } from '../src/db/store-thread.js';
import { generateUnsealedCid } from '../src/piece/unsealed-cid.js';
import type { SealerPool } from '../src/pool/pool.js';
import { META_FILE } from '../src/sector/layout.js';
import { sealProofInfo } from '../src/sector/proofs.js';
import { RemoteStore } from '../src/storage/remote-store.js';
import { PieceProvider } from '../src/storage/piece-provider.js';
import { Dagstore } from './dagstore.js';
import { LocalStore } from '../src/storage/local-store.js';
import { SectorLocks } from '../src/storage/sector-locks.js';
import { initStoragePath } from '../src/storage/storage-config.js';
import { LocalWorker } from '../src/worker/local-worker.js';
import type { RequestSource } from '../src/worker/worker-env.js';
import type { CallRecord } from '../src/tasks/calls.js';
import { SystemId } from '../machines/protocol.js';
import { type SchedulerMachine, schedulerMachine } from '../machines/scheduler.machine.js';
import type { CommDInput } from '../machines/sector/sector-setup.js';
import { sectorMachine } from '../machines/sector/sector.machine.js';
import { dormantSectorsLogic, startsDormant } from '../machines/scheduler/dormant.js';
import { sectorGroupMachine } from '../machines/scheduler/sector-group.machine.js';
import { chainActors } from './chain-actors.js';
import { type IndexClient, createIndexActor } from './index.actor.js';
import { startCheckpointer } from '../src/db/checkpointer.js';
import { SectorService } from './sector-service.js';
import { WorkerService } from './worker-service.js';
import { createWorkerTasksLogic, type TaskObserver, type TaskRunner } from './worker-tasks.actor.js';
import { InvalidArgumentError } from '../src/errors.js';
import { limitsFromEnv } from '../src/tasks/resources.js';
import { TASK_TYPES, type TaskType } from '../src/tasks/task-types.js';
import { DEFAULT_PC1_BATCH_WAIT_MS, checkPc1Batch } from '../machines/scheduler/pc1-batch.js';
import { LOCAL_WORKER_ID, type WorkerInfo, type WorkerResources, checkWorkerInfo } from '../src/tasks/worker-info.js';
import { type Pc1Gather, pc1GatherDefault } from '../src/seal/pc1-gather.js';
import { declaredResources, localResources } from '../src/worker/local-resources.js';
import { type Logger, defaultLogger } from '../src/log/logger.js';
import type { TaskProgress } from '../src/lifecycle/task-context.js';

/**
 * Compares the sector files the scan declared with the records (docs/design/sealing-daemon.md §8):
 * the unsealed file a crash left of a new sector's first AddPiece (its record was never written,
 * its piece never reported) is removed; new sectors are numbered above every other number found
 * on a path, other files no record knows are reported, and a sector whose files are gone from
 * every path is told so (it goes to FailedUnrecoverable instead of recreating them).
 */
async function reconcileWithDisks(a: {
  minerId: number;
  records: readonly SectorRecord[];
  openCalls: readonly CallRecord[];
  client: IndexClient;
  worker: LocalWorker;
  root: Actor<SchedulerMachine>;
  log: Logger;
}): Promise<void> {
  const drift = reconcile(
    a.minerId,
    await a.client.catalog.storageList(),
    a.records.map((r) => ({ number: r.number, state: r.state, requires: requiredFileTypes(r.state, r.pieces.length > 0, r.commR !== undefined) })),
  );
  const openFirst = openFirstPieces(a.minerId, a.openCalls);
  const unrecorded = [];
  for (const u of drift.unrecorded) {
    if (!isFirstPieceLeftover(u.number, u.types, openFirst)) {
      unrecorded.push(u);
      continue;
    }
    const removed = await a.worker.removeSector({ miner: a.minerId, number: u.number });
    a.log.info(
      `sector ${u.number} has no record: its unsealed file is what a crash left of its first AddPiece, whose piece was never reported; removed ${removed.removed.join(', ') || 'nothing local'}`,
    );
    if (removed.elsewhere.length > 0) unrecorded.push(u); // copies on other nodes keep the number out of use
  }
  // records are numbered below the database's next number already; files of other numbers keep theirs out of use
  if (unrecorded.length > 0) a.root.send({ type: 'scheduler.numbers.seen', max: Math.max(...unrecorded.map((u) => u.number)) });
  for (const u of unrecorded) {
    a.log.warn(`sector ${u.number} has files on ${u.storages.join(', ')} but no record: its number is not reused (see \`sectors drift\`)`);
  }
  const what = (m: { missing: string[] }) => `its ${m.missing.join(' and ')} file${m.missing.length > 1 ? 's are' : ' is'} on no storage path`;
  // a sector already FailedUnrecoverable was told at an earlier start: it is reported, not failed again
  const marked = drift.missing.filter((m) => m.state === 'FailedUnrecoverable');
  for (const m of marked) a.log.warn(`sector ${m.number} is FailedUnrecoverable: ${what(m)} (see \`sectors drift\`)`);
  const fresh = drift.missing.filter((m) => m.state !== 'FailedUnrecoverable');
  if (fresh.length > 0) {
    a.root.send({
      type: 'scheduler.files.missing',
      sectors: fresh.map((m) => ({ number: m.number, message: `${what(m)} (state ${m.state})` })),
    });
  }
}

/** Options of {@link startDaemonSystem}. Give `db` or `dbPath`, and one way to storage. */
export interface DaemonSystemOptions {
  /** An open database (the caller closes it); migrations must be applied (openDatabase does). */
  db?: Db;
  /** Path of the database to open (closed by `stop()`). */
  dbPath?: string;
  /**
   * Runs the index actor's batches on a thread of their own, with its own connection
   * (src/db/store-thread.ts); otherwise on the actors' thread, on `db`. Always off for a database
   * no other connection can open (in memory, or SQLite's temporary one). @default true
   */
  storeThread?: boolean;
  /** The sealer pool (the caller closes it after `stop()`); the local worker's threads. */
  pool: SealerPool;
  /** Miner actor id of this node's sectors. */
  minerId: number;
  /** Seal proof of new sectors. */
  sealProof: number;
  /**
   * Storage path roots to open. A root without `sectorstore.json` is initialised as a sealing and
   * storage path.
   */
  storageRoots?: readonly string[];
  /** A repository `storage.json` whose paths are opened (and which `addLocalPath` updates). */
  storageConfigFile?: string;
  /**
   * Builds the node's LocalStore over the index client instead (it is opened by the factory and
   * closed by `stop()`).
   */
  localStore?: (index: IndexClient) => LocalStore | Promise<LocalStore>;
  /**
   * Fetches for the local worker the sector files only other nodes hold (Lotus's built-in worker
   * fetches like any other: with remote workers, a sector's files are on their paths). Without
   * it the local worker finds only this node's files.
   */
  remoteStore?: (local: LocalStore) => RemoteStore;
  /** The node's sector lock table (the API's StorageLock uses the same one). @default a new one */
  locks?: SectorLocks;
  /** A chain client; the default is the local chain (a stand-in) over the repository database. */
  chain?: (index: IndexClient) => ChainAdapter;
  /** Settings of the default local chain. */
  localChain?: { epochMs?: number; seedWaitEpochs?: number; fixedRandomness?: FixedRandomness; clock?: ChainClock };
  /**
   * Runs the local worker's tasks instead of the pool (benchmarks measure the call path with a task
   * body of their own); the local worker still removes files and checks provability.
   */
  taskRunner?: TaskRunner;
  /**
   * Task types the daemon's own pool runs (`run --local-tasks`, src/tasks/worker-info.ts
   * `parseLocalTasks`); empty: no local worker is registered. @default every task type
   */
  localTasks?: readonly TaskType[];
  /** The local worker's resources. @default this machine's (src/worker/local-resources.ts) with the pool's threads */
  localResources?: WorkerResources;
  /** The local worker ignores resources (Lotus ResourceFiltering "disabled"); per-type limits still apply. @default false */
  ignoreResources?: boolean;
  /** The local worker's per-type limits. @default Lotus's `<TASK>_<SIZE>_MAX_CONCURRENT` variables for the sector size */
  localLimits?: Partial<Record<TaskType, number>>;
  /**
   * How the local worker's PC1 gathers parents (src/seal/pc1-gather.ts); where it does, the
   * scheduler counts its PC1 as two threads. @default SECTOR_STORAGE_PC1_GATHER (off when unset)
   */
  pc1Gather?: Pc1Gather;
  /** No scheduling pass this long after start (Lotus InitWait), so reconnecting workers are there. @default 0 */
  initWaitMs?: number;
  /** PC1s of one size the local worker labels together (docs/design/scheduler.md §8), 1 to 8. @default 1 */
  pc1BatchSize?: number;
  /** How long a PC1 waits for its batch to fill. @default 30000 */
  pc1BatchWaitMs?: number;
  /** Period of re-reading the storage paths' space for placement. @default 10000 */
  storageRefreshMs?: number;
  /** Where SDR parent caches live. @default PC1's default */
  parentCacheDir?: string;
  /** Silence after which a client's upload fails UPLOAD_STALLED. @default 15000 */
  uploadIdleMs?: number;
  /** Period of CheckProvable over Proving sectors. @default 600000 */
  checkProvableMs?: number;
  /** The dagstore's directory (`<repo>/dagstore`); without it the system runs no dagstore. */
  dagstoreDir?: string;
  /** Period of the dagstore's GC of transient copies. @default 60000 */
  dagstoreGcIntervalMs?: number;
  /** Told when each call's work starts and ends (metrics). */
  taskObserver?: TaskObserver;
  /** Receives every XState inspection event (actors/inspection-hub.ts folds them off the actors' path). */
  inspect?: (event: InspectionEvent) => void;
  /** XState clock for delayed events (tests pass a SimulatedClock). */
  clock?: ActorOptions<SchedulerMachine>['clock'];
  /** Wall clock (unix ms) for record stamps and storage heartbeats. @default Date.now */
  now?: () => number;
  /** Errors of the root actor and of the index actor (failed commits, failed calls of actors). @default the log, as errors */
  onError?: (err: unknown) => void;
  /** Operational log lines (storage paths, sectors that cannot be started). @default defaultLogger() (src/log) */
  log?: Logger;
}

/**
 * The workers of a running system: the one place a worker and the runner of its calls are
 * registered with the scheduler (docs/design/scheduler.md §1).
 */
export interface WorkerRegistry {
  /**
   * Registers a worker (or updates a known one's info) and the runner its calls run on; sends
   * `scheduler.worker.connected`. InvalidArgumentError for a bad info or a runner of another id.
   * `holds`: ids of calls the worker still runs or has finished (it outlived a restart of the
   * daemon): each that is open is started on it again (its runner is given the call id and waits
   * for that result), not run elsewhere.
   */
  connect(info: WorkerInfo, runner: TaskRunner, options?: { holds?: readonly string[] }): void;
  /**
   * The worker is gone: its unstarted tasks go back to the queue (`scheduler.worker.disconnected`);
   * its started calls end as their runner reports them (WORKER_LOST puts a call back in the queue).
   */
  disconnect(id: string): void;
  /** The runner registered for a worker. */
  runner(id: string): TaskRunner | undefined;
  /** Remote workers can connect from now on: InitWait counts from here (`scheduler.workers.open`). */
  opened(): void;
}

/** A running daemon system. */
export interface DaemonSystemHandle {
  /** The sector operations. */
  sectors: SectorService;
  /** Promise-returning access to the index actor's stores. */
  index: IndexClient;
  /** The node's storage paths. */
  localStore: LocalStore;
  /** The node's sector lock table. */
  locks: SectorLocks;
  /** The chain the sectors talk to. */
  chain: ChainAdapter;
  /** The daemon's own pool as a worker. */
  worker: LocalWorker;
  /** Where workers and the runners of their calls are registered (docs/design/scheduler.md §1). */
  workers: WorkerRegistry;
  /** The operator's view of and control over the workers. */
  workerService: WorkerService;
  /** Reads of pieces out of sectors, unsealing through the scheduler when needed (src/storage/piece-provider.ts). */
  pieces: PieceProvider;
  /** The dagstore (a root actor of its own), when `dagstoreDir` was given. */
  dagstore?: Dagstore;
  /** The root (scheduler) actor. */
  system: Actor<SchedulerMachine>;
  /** Calls found open at start (left by the previous run), by their state then: each resumes or is delivered instead of run again. */
  recovered: Readonly<Record<string, number>>;
  /** Stops every actor (running tasks are cancelled and awaited, and stay `running` in the call store), the storage loop, and the database if opened here. */
  stop(): Promise<void>;
}

/**
 * Starts the actor system of a daemon.
 * @example
 * const pool = new SealerPool({ threads: 2 });
 * const d = await startDaemonSystem({ dbPath, pool, minerId: 1000, sealProof: 6, storageRoots: [dir] });
 * const piece = await d.sectors.addPiece({ source, payloadSize: 1000 });
 * await d.stop();
 * await pool.close();
 */
export async function startDaemonSystem(options: DaemonSystemOptions): Promise<DaemonSystemHandle> {
  if (!Number.isSafeInteger(options.minerId) || options.minerId < 0) {
    throw new RangeError(`options.minerId must be a non-negative integer, got ${options.minerId}`);
  }
  sealProofInfo(options.sealProof); // SealProofUnknownError for a bad proof
  if (!options.db && !options.dbPath) throw new TypeError('options.db or options.dbPath is required');
  checkPc1Batch(options.pc1BatchSize ?? 1, options.pc1BatchWaitMs ?? DEFAULT_PC1_BATCH_WAIT_MS);
  const onError = options.onError ?? ((err: unknown) => log.error({ err }, 'sector system error'));
  const now = options.now ?? Date.now;
  const log = options.log ?? defaultLogger();

  // the local worker's registration, checked before anything is opened (a bad limit names its variable)
  const localTasks = [...(options.localTasks ?? TASK_TYPES)];
  const sectorSize = sealProofInfo(options.sealProof).sectorSize;
  const localLimits = options.localLimits ?? limitsFromEnv(process.env, sectorSize, localTasks);
  const pc1Gather = options.pc1Gather ?? pc1GatherDefault();
  const resources = declaredResources(options.localResources ?? localResources(options.pool.threads), pc1Gather);

  const db = options.db ?? openDatabase(options.dbPath!);
  const ownsDb = !options.db;
  // told of every sector record saved (SectorService.watch)
  const savedListeners = new Set<(record: SectorRecord) => void>();
  const onSaved = (record: SectorRecord) => {
    for (const l of savedListeners) l(record);
  };
  const stores = createIndexStores(db, { now, onSaved });
  // the store thread (src/db/store-thread.ts) boots while this thread reads the records below;
  // not for a database another connection cannot open (better-sqlite3's `memory`: ':memory:' and
  // SQLite's private temporary one, named ''), whose batches run here
  const threadStart = !db.memory && options.storeThread !== false ? StoreThread.start({ path: db.name, now, onSaved }) : undefined;
  threadStart?.catch(() => {}); // awaited below, after the reads
  // read before the index actor owns the connection
  const { records, unreadable } = stores.sectors.listWithErrors(options.minerId);
  // an unreadable record is not spawned (the sector would start from nothing and overwrite it);
  // the others are served, and its number stays taken (nextNumber counts every row)
  for (const u of unreadable) {
    log.warn(`sector ${u.number} of miner ${u.miner} is not started: its record (state ${u.state}) is unreadable: ${u.reason}`);
  }
  const openCalls = stores.calls.open().filter((c) => c.sector.miner === options.minerId);
  // an upload dies with the process that received it: its AddPiece cannot resume, the sector goes
  // back to WaitDeals (machines/sector/restore.ts) and the client must add the piece again
  const recorded = new Set(records.map((r) => r.number));
  for (const c of openCalls) {
    if (c.task !== 'AP' || !recorded.has(c.sector.number)) continue;
    log.warn(
      { sector: c.sector.number, callId: c.callId },
      `sector ${c.sector.number}: the AddPiece interrupted by the restart (call ${c.callId}, padded offset ${c.input.type === 'AP' ? c.input.input.paddedOffset : '?'}) was reset: the sector is back in WaitDeals, the piece was never reported and must be added again`,
    );
  }
  log.info(`restored ${records.length} sector(s) of miner t0${options.minerId} (${records.length - records.filter(startsDormant).length} with a live actor), ${openCalls.length} open call(s)`);
  // sectors that wait for nothing get their actor only when an event for them arrives
  const dormant = records.filter(startsDormant);
  const awake = records.filter((r) => !startsDormant(r));
  const nextNumber = stores.sectors.nextNumber(options.minerId);

  let storeThread: StoreThread | undefined;
  try {
    storeThread = await threadStart;
  } catch (err) {
    if (ownsDb) db.close();
    throw err;
  }
  const index = createIndexActor({ db, stores, onError, ...(storeThread ? { runner: storeThread } : {}) });
  const hostname = osHostname();
  const locks = options.locks ?? new SectorLocks();
  const sources = new Map<string, RequestSource>();
  const inflight = new Set<Promise<unknown>>();
  const progress = new Map<string, TaskProgress>();
  const workers = new Map<string, TaskRunner>();
  /** The local worker as it registers: its paths are the node's local storage paths now. */
  const localInfo = (): WorkerInfo => ({
    id: LOCAL_WORKER_ID,
    hostname,
    taskTypes: localTasks,
    resources,
    ignoreResources: options.ignoreResources ?? false,
    paths: localStore ? localStore.localPaths().map((p) => p.ID) : [],
    ...(Object.keys(localLimits).length > 0 ? { limits: localLimits } : {}),
  });
  const registry: WorkerRegistry = {
    connect(info, runner, connectOptions) {
      const checked = checkWorkerInfo(info);
      if (runner.id !== checked.id) throw new InvalidArgumentError(`the runner of worker ${checked.id} has id ${runner.id}`);
      const holds = connectOptions?.holds ?? [];
      if (!Array.isArray(holds) || !holds.every((h) => typeof h === 'string')) throw new InvalidArgumentError(`worker ${checked.id}: holds must be a list of call ids`);
      workers.set(checked.id, runner);
      root.send({ type: 'scheduler.worker.connected', info: checked, ...(holds.length > 0 ? { holds: [...holds] } : {}) });
    },
    disconnect(id) {
      workers.delete(id);
      root.send({ type: 'scheduler.worker.disconnected', id });
    },
    runner: (id) => workers.get(id),
    opened: () => root.send({ type: 'scheduler.workers.open' }),
  };
  let localStore: LocalStore | undefined;
  let remote: RemoteStore | undefined;
  let worker: LocalWorker | undefined;
  let chain: ChainAdapter | undefined;
  let markReady!: () => void;
  let markFailed!: (err: unknown) => void;
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    markFailed = reject;
  });
  ready.catch(() => {});
  const getWorker = async (): Promise<LocalWorker> => {
    await ready;
    return worker!;
  };
  const getChain = (): ChainAdapter => {
    if (!chain) throw new Error('the chain is not connected yet');
    return chain;
  };

  const machine = schedulerMachine.provide({
    actors: {
      index: index.logic,
      sectorGroup: sectorGroupMachine.provide({
        actors: {
          sector: sectorMachine.provide({
            actors: {
          computeCommD: fromPromise<string, CommDInput>(async ({ input }) => generateUnsealedCid(input.proofType, input.pieces).toString()),
          ...chainActors(getChain),
          removeFiles: fromPromise<void, { sector: { miner: number; number: number } }>(async ({ input, signal }) => {
            const removed = await (await getWorker()).removeSector(input.sector, signal);
                if (removed.elsewhere.length > 0) log.warn(`sector ${input.sector.number}: copies on other nodes were not removed: ${removed.elsewhere.join(', ')}`);
              }),
            },
          }),
        },
      }),
      workerTasks: createWorkerTasksLogic({ workers, ready, inflight, progress, ...(options.taskObserver ? { observer: options.taskObserver } : {}) }),
      dormantSectors: dormantSectorsLogic(dormant),
      checkProvable: fromPromise<{ number: number; reason: string }[], { miner: number; numbers: number[] }>(async ({ input, signal }) => {
        const w = await getWorker();
        const found = await Promise.all(input.numbers.map((n) => client.sectors.get(input.miner, n)));
        const faulty = await w.checkProvable(
          found.filter((r) => r !== undefined).map((r) => ({ id: { miner: r.miner, number: r.number }, proofType: r.proofType, ...(r.commR ? { commR: r.commR } : {}) })),
          { signal },
        );
        return faulty.map((f) => ({ number: f.id.number, reason: f.reason }));
      }),
    },
  });
  const root = createActor(machine, {
    systemId: SystemId.scheduler,
    input: {
      miner: options.minerId,
      proofType: options.sealProof,
      records: awake,
      dormant: dormant.map((r) => ({ number: r.number, state: r.state, proofType: r.proofType })),
      openCalls,
      nextNumber,
      startedAt: now(),
      ...(options.checkProvableMs !== undefined ? { checkProvableMs: options.checkProvableMs } : {}),
      ...(options.initWaitMs !== undefined ? { initWaitMs: options.initWaitMs } : {}),
      ...(options.pc1BatchSize !== undefined ? { pc1BatchSize: options.pc1BatchSize } : {}),
      ...(options.pc1BatchWaitMs !== undefined ? { pc1BatchWaitMs: options.pc1BatchWaitMs } : {}),
      ...(options.storageRefreshMs !== undefined ? { storageRefreshMs: options.storageRefreshMs } : {}),
    },
    ...(options.inspect ? { inspect: options.inspect } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  // XState rethrows unobserved actor errors in a separate macrotask; observe them here instead
  root.subscribe({ error: onError });
  const client = index.client(root.system);
  chain =
    options.chain?.(client) ??
    new LocalChain({
      store: client.chain,
      ...(options.localChain?.epochMs !== undefined ? { epochMs: options.localChain.epochMs } : {}),
      ...(options.localChain?.seedWaitEpochs !== undefined ? { seedWaitEpochs: options.localChain.seedWaitEpochs } : {}),
      ...(options.localChain?.fixedRandomness ? { fixedRandomness: options.localChain.fixedRandomness } : {}),
      ...(options.localChain?.clock ? { clock: options.localChain.clock } : {}),
      log,
    });
  root.start();

  try {
    if (options.localStore) {
      localStore = await options.localStore(client);
    } else {
      localStore = new LocalStore({
        catalog: client.catalog,
        urls: [],
        ...(options.storageConfigFile ? { configFile: options.storageConfigFile } : {}),
        clock: { now },
        log,
      });
      for (const dir of options.storageRoots ?? []) {
        if (!existsSync(join(dir, META_FILE))) initStoragePath(dir, { canSeal: true, canStore: true });
        await localStore.openPath(dir);
      }
      await localStore.open();
    }
    remote = options.remoteStore?.(localStore);
    worker = new LocalWorker(
      { pool: options.pool, localStore, locks, sources, ...(remote ? { remote } : {}), ...(options.parentCacheDir ? { parentCacheDir: options.parentCacheDir } : {}), log },
      { hostname, pc1Gather, ...(options.uploadIdleMs !== undefined ? { uploadIdleMs: options.uploadIdleMs } : {}) },
    );
    markReady();
    if (localTasks.length > 0) registry.connect(localInfo(), options.taskRunner ?? worker);
    await reconcileWithDisks({ minerId: options.minerId, records, openCalls, client, worker, root, log });
  } catch (err) {
    // stop first: a task waiting on `ready` must not turn the failed start into a sector failure
    root.stop();
    markFailed(err);
    localStore?.close();
    await index.drained();
    await storeThread?.close();
    if (ownsDb) db.close();
    throw err;
  }
  const sectors = new SectorService({
    root,
    saved: {
      subscribe: (listener) => {
        savedListeners.add(listener);
        return () => savedListeners.delete(listener);
      },
    },
    index: client,
    miner: options.minerId,
    sealProof: options.sealProof,
    localStore: () => localStore!,
    worker,
    sources,
    log,
    // declared below: it unseals through this service
    pieces: () => pieces,
    // declared below: its shards are registered as pieces are added
    shards: () => dagstore,
    localWorker: {
      runsAddPiece: () => localTasks.includes('AP'),
      pathsChanged: () => {
        if (localTasks.length > 0) root.send({ type: 'scheduler.worker.connected', info: localInfo() });
      },
    },
  });
  const workerService = new WorkerService(root, progress);
  const pieces = new PieceProvider({
    source: remote ?? new RemoteStore({ local: localStore, catalog: client.catalog, log }),
    locks,
    unseal: async (ref, range) => {
      await sectors.unseal(ref.id.number, range);
    },
    log,
  });
  let dagstore: Dagstore | undefined;
  if (options.dagstoreDir) {
    dagstore = await Dagstore.start({
      index: client,
      pieces,
      miner: options.minerId,
      dir: options.dagstoreDir,
      addPiece: (req, handoff) => sectors.addPiece(req, handoff),
      ...(options.dagstoreGcIntervalMs !== undefined ? { gcIntervalMs: options.dagstoreGcIntervalMs } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
      log,
    });
    await dagstore.migrate();
    await dagstore.registerMissingShards();
  }
  // the WAL is checkpointed off the index actor's thread (src/db/checkpointer.ts); started last,
  // once nothing of the start can fail
  const checkpointer = startCheckpointer(db, { log: log.child({ component: 'checkpointer' }) });
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      // mounts, fetches and index builds end before the stores they write to close
      await dagstore?.stop();
      sectors.close();
      workerService.close();
      root.stop();
      // stopped worker tasks abort their runs; wait until the threads let go of the files
      await Promise.allSettled([...inflight]);
      localStore?.close();
      // the index's last batches commit before its connections close
      await index.drained();
      await storeThread?.close();
      await checkpointer?.close();
      if (ownsDb) db.close();
    })();
    return stopping;
  };
  const recovered: Record<string, number> = {};
  for (const c of openCalls) recovered[c.state] = (recovered[c.state] ?? 0) + 1;
  return { sectors, index: client, localStore, locks, chain, worker, workers: registry, workerService, pieces, ...(dagstore ? { dagstore } : {}), system: root, recovered, stop };
}
