/**
 * Wiring of the daemon's actor system: binds the named actors of the pure machines to real I/O
 * with `provide()` (index actor over SQLite, pool tasks over Piscina, CommD over the piece
 * library), restores every persisted sector, starts the root with an error observer, opens the
 * node's storage paths through the index actor, and returns the SectorService facade.
 *
 * Start order matters: the sector records are read synchronously before the index actor takes
 * the connection; the index actor is running before any sector is spawned (it is invoked on the
 * scheduler's root state); pool tasks wait for the storage paths to be open (restored Packing
 * sectors ask for tasks at once).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Actor, type ActorOptions, type InspectionEvent, createActor, fromPromise } from 'xstate';
import { generateUnsealedCid } from '../src/piece/unsealed-cid.js';
import type { SealerPool } from '../src/pool/pool.js';
import { sealProofInfo } from '../src/sector/proofs.js';
import { StorageCatalog } from '../src/db/storage-catalog.js';
import { META_FILE } from '../src/sector/layout.js';
import { LocalStore } from '../src/storage/local-store.js';
import { initStoragePath } from '../src/storage/storage-config.js';
import { type Db, openDatabase } from '../src/db/database.js';
import { SectorStore } from '../src/db/sector-store.js';
import { type IndexClient, createIndexActor } from './index.actor.js';
import { createPoolTaskLogic, type RequestSource } from './pool-task.actor.js';
import { SectorService } from './sector-service.js';
import type { CommDInput } from '../machines/sector.machine.js';
import { sectorMachine } from '../machines/sector.machine.js';
import { type SchedulerMachine, schedulerMachine } from '../machines/scheduler.machine.js';
import { SystemId } from '../machines/protocol.js';

/** Options of {@link startDaemonSystem}. Give `db` or `dbPath`, and one way to storage. */
export interface DaemonSystemOptions {
  /** An open database (the caller closes it); migrations must be applied (openDatabase does). */
  db?: Db;
  /** Path of the database to open (closed by `stop()`). */
  dbPath?: string;
  /** The sealer pool (the caller closes it after `stop()`). Its thread count is the task window. */
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
  /** Receives every XState inspection event (see actors/inspect.ts for an NDJSON log). */
  inspect?: (event: InspectionEvent) => void;
  /** XState clock for delayed events (tests pass a SimulatedClock). */
  clock?: ActorOptions<SchedulerMachine>['clock'];
  /** Wall clock (unix ms) for record stamps and storage heartbeats. @default Date.now */
  now?: () => number;
  /** Errors of the root actor and of fire-and-forget writes. @default console.error */
  onError?: (err: unknown) => void;
  /** Storage log lines. @default console.warn */
  log?: (message: string) => void;
}

/** A running daemon system. */
export interface DaemonSystemHandle {
  /** The sector operations. */
  sectors: SectorService;
  /** Promise-returning access to the index actor's stores. */
  index: IndexClient;
  /** The node's storage paths. */
  localStore: LocalStore;
  /** The root (scheduler) actor. */
  system: Actor<SchedulerMachine>;
  /** Stops every actor (in-flight tasks are cancelled and awaited), the storage loop, and the database if opened here. */
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
  const onError = options.onError ?? ((err: unknown) => console.error('sector system error:', err));
  const now = options.now ?? Date.now;

  const db = options.db ?? openDatabase(options.dbPath!);
  const ownsDb = !options.db;
  const stores = { storage: new StorageCatalog(db, { clock: { now } }), sectors: new SectorStore(db, { now }) };
  // read before the index actor owns the connection
  const records = stores.sectors.list(options.minerId);
  const nextNumber = stores.sectors.nextNumber(options.minerId);

  const index = createIndexActor({ db, stores, onWriteError: onError });
  const sources = new Map<string, RequestSource>();
  const inflight = new Set<Promise<unknown>>();
  let localStore: LocalStore | undefined;
  let markReady!: () => void;
  let markFailed!: (err: unknown) => void;
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    markFailed = reject;
  });
  ready.catch(() => {});
  const getLocalStore = () => {
    if (!localStore) throw new Error('storage paths are not open yet');
    return localStore;
  };

  const machine = schedulerMachine.provide({
    actors: {
      index: index.logic,
      sector: sectorMachine.provide({
        actors: {
          computeCommD: fromPromise<string, CommDInput>(async ({ input }) =>
            generateUnsealedCid(input.proofType, input.pieces).toString(),
          ),
        },
      }),
      poolTask: createPoolTaskLogic({ pool: options.pool, localStore: getLocalStore, ready, sources, inflight }),
    },
  });
  const root = createActor(machine, {
    systemId: SystemId.scheduler,
    input: {
      miner: options.minerId,
      proofType: options.sealProof,
      maxTasks: options.pool.threads,
      records,
      nextNumber,
    },
    ...(options.inspect ? { inspect: options.inspect } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  // XState rethrows unobserved actor errors in a separate macrotask; observe them here instead
  root.subscribe({ error: onError });
  root.start();
  const client = index.client(root.system);

  try {
    if (options.localStore) {
      localStore = await options.localStore(client);
    } else {
      localStore = new LocalStore({
        catalog: client.storage,
        urls: [],
        ...(options.storageConfigFile ? { configFile: options.storageConfigFile } : {}),
        clock: { now },
        ...(options.log ? { log: options.log } : {}),
      });
      for (const dir of options.storageRoots ?? []) {
        if (!existsSync(join(dir, META_FILE))) initStoragePath(dir, { canSeal: true, canStore: true });
        await localStore.openPath(dir);
      }
      await localStore.open();
    }
    markReady();
  } catch (err) {
    // stop first: a task waiting on `ready` must not turn the failed start into a sector failure
    root.stop();
    markFailed(err);
    localStore?.close();
    if (ownsDb) db.close();
    throw err;
  }

  const sectors = new SectorService({
    root,
    index: client,
    miner: options.minerId,
    sealProof: options.sealProof,
    localStore: getLocalStore,
    sources,
  });
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      sectors.close();
      root.stop();
      // stopped promise actors abort their pool tasks; wait until the threads let go of the files
      await Promise.allSettled([...inflight]);
      localStore?.close();
      if (ownsDb) db.close();
    })();
    return stopping;
  };
  return { sectors, index: client, localStore, system: root, stop };
}
