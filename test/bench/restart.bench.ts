/**
 * Restart to ready with 10,000 persisted sectors in mixed states (BENCH_QUICK: 1,000): the time
 * from `startDaemonSystem` to every sector actor restored and its restart logged (committed), and
 * the heap: per restored sector (actors and dormant sectors together), per dormant sector (the
 * same number of sectors every one Proving, so none has an actor, against half as many), and per
 * sector actor (the mix's heap minus the all-dormant heap, over the mix's actor count, plus the
 * dormant share each of those sectors no longer has). Baseline in the same run:
 * reading the same records from SQLite alone. Goal: under 2 s for 10,000.
 *
 * Restored sectors re-issue their work at once (PC1, C2, …); the task runner here holds every call
 * and the chain answers nothing, so the measurement is the restore itself, not sealing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemonSystem } from '../../actors/system.js';
import { AbortedError } from '../../src/errors.js';
import type { TaskRunner } from '../../actors/worker-tasks.actor.js';
import { localResources } from '../../src/worker/local-resources.js';
import { CallStore } from '../../src/db/call-store.js';
import { openDatabase } from '../../src/db/database.js';
import { type SectorRecordDraft, SectorStore } from '../../src/db/sector-store.js';
import { StorageCatalog } from '../../src/db/storage-catalog.js';
import { FileType } from '../../src/sector/sector-id.js';
import { SealerPool } from '../../src/pool/pool.js';
import type { SectorStateName } from '../../src/sector/sector-states.js';
import { heldChain } from '../helpers/held-chain.js';
import { peakRssMiB, quick, report, seconds, timed } from './bench-util.js';
import { silentLogger } from '../../src/log/logger.js';

const N = quick ? 1_000 : 10_000;
const MINER = 1000;
const PROOF_2K = 5;
const HEX = (n: number) => n.toString(16).padStart(2, '0').repeat(32);

/**
 * Two mixes, each with some sectors in every phase: a miner's usual one, mostly Proving, and a
 * heavy one with a quarter of its sectors sealing at once (each of those gets an actor at start;
 * Proving and Removed sectors stay dormant until an event for them, machines/scheduler/dormant.ts).
 */
const MIXES: Record<string, [SectorStateName, number][]> = {
  usual: [
    ['Proving', 0.9],
    ['WaitDeals', 0.02],
    ['PreCommit1', 0.01],
    ['PreCommit2', 0.01],
    ['WaitSeed', 0.01],
    ['Committing', 0.01],
    ['FinalizeSector', 0.01],
    ['SealPreCommit1Failed', 0.01],
    ['Removed', 0.02],
  ],
  heavy: [
    ['Proving', 0.7],
    ['WaitDeals', 0.08],
    ['PreCommit1', 0.04],
    ['PreCommit2', 0.03],
    ['WaitSeed', 0.03],
    ['Committing', 0.03],
    ['FinalizeSector', 0.03],
    ['SealPreCommit1Failed', 0.02],
    ['Removed', 0.04],
  ],
};

function recordFor(number: number, state: SectorStateName): SectorRecordDraft {
  const r: SectorRecordDraft = {
    v: 2,
    miner: MINER,
    number,
    proofType: PROOF_2K,
    state,
    pieces: [{ pieceCid: 'baga6ea4seaqpy7usqklokfx2vxuynmupslkeutzexe2uqurdg5vhtebhxqmpqmy', paddedOffset: 0, paddedSize: 2048, payloadSize: 0, filler: true }],
    packingRequested: state !== 'WaitDeals',
    counters: { preCommit2Fails: 0, invalidProofs: 0, retries: 0 },
  };
  if (state === 'WaitDeals') return { ...r, pieces: [] };
  r.commD = 'baga6ea4seaqpy7usqklokfx2vxuynmupslkeutzexe2uqurdg5vhtebhxqmpqmy';
  r.ticket = { value: HEX(1), epoch: 1 };
  if (state === 'PreCommit1' || state === 'SealPreCommit1Failed') return r;
  r.pc1 = { replicaId: HEX(2), commDHex: HEX(3), ticket: HEX(1), layerDigests: [HEX(4), HEX(5)] };
  if (state === 'PreCommit2') return r;
  r.commR = 'bagboea4b5abcbe3kvpznfbqz57jqkeu6fuyhpe4mn7df2autq3mhjsyu5ohdaui5';
  r.preCommit = { message: 'bafy2bzacecoki4724x3v4fhdk3m5n2r7fmwdskvxt5y7o7q4bkqtf6zoedsly', epoch: 2 };
  if (state === 'WaitSeed') return r;
  r.seed = { value: HEX(6), epoch: 4 };
  if (state === 'Committing') return r;
  r.proof = { sha256: HEX(7), bytes: 26808, prover: 'vanilla-proof-bundle' };
  r.commit = { message: 'bafy2bzaceaocsxwlkv63wprei3wnnifbjiyiisl5ja4g7ozm6uonrfjm6433k', epoch: 5 };
  return r;
}

/** A task runner that takes every call and finishes none until it is stopped. */
const holding: TaskRunner = {
  id: 'local',
  hostname: 'bench',
  run: (_task, { signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(new AbortedError('stopped')), { once: true })),
};

/** Writes `n` sectors in `mix` (their files declared on another node's path) into a new database. */
function buildDatabase(dbPath: string, mix: [SectorStateName, number][], n: number): void {
  const db = openDatabase(dbPath);
  const sectors = new SectorStore(db, { calls: new CallStore(db) });
  // their files, as another node's path in the catalog (reconciliation finds every sector's files)
  const catalog = new StorageCatalog(db);
  const stat = { Capacity: 2 ** 44, Available: 2 ** 43, FSAvailable: 2 ** 43, Reserved: 0, Max: 0, Used: 0 };
  catalog.storageAttach({ ID: 'other-node', URLs: ['http://127.0.0.1:9/remote'], Weight: 10, MaxStorage: 0, CanSeal: true, CanStore: true }, stat);
  let written = 0;
  db.transaction(() => {
    for (const [state, share] of mix) {
      for (let i = 0; i < Math.round(n * share) && written < n; i++) sectors.save(recordFor(written++, state));
    }
    catalog.storageDeclareSectors(
      'other-node',
      Array.from({ length: written }, (_, i) => ({ sector: { miner: MINER, number: i }, types: FileType.unsealed | FileType.sealed | FileType.cache, primary: true })),
      false,
    );
  })();
  db.close();
}

interface Restored {
  /** Start to every restart logged, seconds. */
  elapsed: number;
  /** The process's CPU time over the same span, seconds. */
  cpu: number;
  /** Reading the same records from SQLite alone, seconds. */
  readBaseline: number;
  /** Heap the running system holds over the heap before it started, bytes (after a GC). */
  heap: number;
  actors: number;
  dormant: number;
}

/**
 * Restores a database of `n` sectors in `mix` into a daemon system and measures it, checking that
 * every sector is an actor or dormant and that the first sector of `checkLog` logged one restart.
 */
async function restore(mix: [SectorStateName, number][], n: number, pool: SealerPool, checkLog?: number): Promise<Restored> {
  const dir = mkdtempSync(join(tmpdir(), 'ss-restart-bench-'));
  try {
    const dbPath = join(dir, 'db.sqlite');
    buildDatabase(dbPath, mix, n);
    let readBaseline = 0;
    {
      const db = openDatabase(dbPath);
      const sectors = new SectorStore(db);
      readBaseline = await seconds(() => sectors.listWithErrors(MINER));
      db.close();
    }
    globalThis.gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    let system: Awaited<ReturnType<typeof startDaemonSystem>> | undefined;
    const { wall: elapsed, cpu } = await timed(async () => {
      system = await startDaemonSystem({
        dbPath,
        pool,
        minerId: MINER,
        sealProof: PROOF_2K,
        storageRoots: [join(dir, 'store')],
        chain: () => heldChain(),
        taskRunner: holding,
        // two calls held running, as on a 2-thread pool (the bench's pool has one thread)
        localResources: localResources(2),
        log: silentLogger(),
        onError: (err) => console.error(err),
      });
      // every restored sector logged its restart: committed once the index has flushed
      await system.index.flush();
    });
    // sector actors live under their groups (machines/scheduler/sector-group.machine.ts)
    const actors = Object.values(system!.system.getSnapshot().children)
      .filter((g) => g?.id.startsWith('group:'))
      .reduce((k, g) => k + Object.keys((g!.getSnapshot() as { children: Record<string, unknown> }).children).length, 0);
    const dormant = Object.keys(system!.system.getSnapshot().context.dormant).length;
    globalThis.gc?.();
    const heap = process.memoryUsage().heapUsed - heapBefore;
    const logged = checkLog === undefined ? 1 : (await system!.sectors.status(checkLog)).log.filter((l) => l.kind === 'restart').length;
    if (actors + dormant !== n || logged !== 1) throw new Error(`${actors} actors + ${dormant} dormant of ${n} sectors; sector ${checkLog} logged ${logged} restarts`);
    await system!.stop();
    return { elapsed, cpu, readBaseline, heap, actors, dormant };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const MiB = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

const pool = new SealerPool({ threads: 1 });
try {
  if (!globalThis.gc) console.log('no --expose-gc: heap figures include garbage (npm run bench passes the flag)');
  // the first restore in a process also pays for compiling and caching the code it runs: a small
  // one first, not reported, so that neither the all-dormant baseline nor a mix carries that cost
  await restore(MIXES.heavy!, Math.round(N / 10), pool);
  // the same number of sectors, every one Proving: dormant, no actor (machines/scheduler/dormant.ts);
  // half as many too, so the heap per dormant sector is a slope, free of the system's fixed heap
  const allDormant = await restore([['Proving', 1]], N, pool);
  const halfDormant = await restore([['Proving', 1]], N / 2, pool);
  if (allDormant.actors + halfDormant.actors !== 0) throw new Error('an actor for a Proving sector');
  const perDormant = (allDormant.heap - halfDormant.heap) / (N / 2);
  report({
    name: 'heap per dormant sector, all Proving',
    value: perDormant / 1024,
    unit: 'KiB',
    note: `(${MiB(allDormant.heap)} MiB for ${N} − ${MiB(halfDormant.heap)} MiB for ${N / 2}) / ${N / 2}; restart to ready ${(allDormant.elapsed * 1000).toFixed(0)} ms for ${N}`,
  });
  for (const [mixName, mix] of Object.entries(MIXES)) {
    // the first WaitDeals sector (numbers follow the mix) has an actor and logged its restart once
    const r = await restore(mix, N, pool, Math.round(N * mix[0]![1]));
    report({
      name: `restart to ready, ${N} sectors, ${mixName} mix`,
      value: r.elapsed * 1000,
      unit: 'ms',
      note: `${(r.elapsed / r.readBaseline).toFixed(1)}× reading the records alone (${(r.readBaseline * 1000).toFixed(0)} ms); ${r.actors} actors, ${r.dormant} dormant (Proving, Removed: an actor on their first event); goal < 2000 ms`,
    });
    // the process's CPU time over the restart: less sensitive than wall time to other load
    report({
      name: `restart CPU time, ${N} sectors, ${mixName} mix`,
      value: r.cpu * 1000,
      unit: 'ms',
      note: `${((r.cpu / N) * 1e6).toFixed(0)} µs per sector; wall ${(r.elapsed * 1000).toFixed(0)} ms`,
    });
    report({
      name: `heap per restored sector, ${mixName} mix`,
      value: r.heap / N / 1024,
      unit: 'KiB',
      note: `heap ${MiB(r.heap)} MiB for ${N} sectors (${r.actors} actors, ${r.dormant} dormant); peak RSS ${peakRssMiB().toFixed(0)} MiB`,
    });
    // The mix and the all-dormant database have as many sectors: their difference is what the
    // actors cost over being dormant; a sector with an actor is no longer dormant, so its dormant
    // share is added back. Its re-issued call (scheduler queue, call tracker) counts with it.
    const overDormant = (r.heap - allDormant.heap) / r.actors;
    report({
      name: `heap per sector actor, ${mixName} mix`,
      value: (overDormant + perDormant) / 1024,
      unit: 'KiB',
      note: `(${MiB(r.heap)} − ${MiB(allDormant.heap)} MiB all dormant) / ${r.actors} actors = ${(overDormant / 1024).toFixed(2)} KiB over a dormant sector's ${(perDormant / 1024).toFixed(2)} KiB`,
    });
  }
} finally {
  await pool.close();
}
