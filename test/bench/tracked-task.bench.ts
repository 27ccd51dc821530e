/**
 * The overhead of one tracked task: a sector asks for it, the scheduler records the call
 * (`calls.start` committed), queues and dispatches it, a pool thread runs it, its result is
 * committed (`calls.finish`), the sector applies it and its save marks the call returned. The task
 * body is empty: one round trip to a pool thread (its `nativeInfo` handler) that hands back a
 * filler's AddPiece result. Each of N pledged 2 KiB sectors asks for exactly one such task
 * (its one filler), computes CommD and rests in GetTicket (the chain gives no ticket).
 *
 * That figure also counts what is not the task's: each task's sector is created for it (its actor
 * started, its record written, CommD computed, GetTicket entered). A second measurement, the task
 * path alone, then hands every resting sector its ticket at once and times the PC1 and PC2 tasks of
 * all of them (two tracked tasks per sector, the same empty body; each result applied, persisted and
 * the next task asked for), until every sector has saved its record in PreCommitting (where the
 * chain holds it). No sector is started during it.
 *
 * Both are measured warm: WARM sectors are pledged first, untimed, and rest in GetTicket beside
 * the others, so that the JIT has compiled the task path before the clock starts (a daemon runs
 * for weeks; cold, about a fifth of the process's CPU went to optimising compilation while it
 * was timed).
 *
 * Baseline in the same run: bare pool round trips (`pool.run('nativeInfo')`, as many in flight as
 * the pool has threads), the floor of any task. Goal: ≥ 2,000 tracked tasks/s through queue → pool
 * thread → durable result → sector, which is the second figure, the task path: every task there is
 * asked for by a sector, recorded, queued, run, committed, applied and persisted by its sector,
 * and nothing else happens. The first figure adds a whole new sector to each task (its actor
 * started, its record inserted, CommD computed, the chain asked for a ticket); it is reported
 * beside it, with its own cost, and is not a tracked task's overhead.
 *
 * On the 2-core VM the project measures on, one run of either figure varies by a fifth or more
 * from the next, so the whole measurement runs ROUNDS times, each on a fresh daemon system in the
 * same process, and the figures are the medians, with the range beside them.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemonSystem } from '../../actors/system.js';
import type { TaskRunner } from '../../actors/worker-tasks.actor.js';
import { zeroPieceCommitment } from '../../src/piece/zero-comm.js';
import { pieceCidV1 } from '../../src/piece/piece-cid.js';
import { SealerPool } from '../../src/pool/pool.js';
import type { Task, TaskResult } from '../../src/tasks/task-types.js';
import { heldChain } from '../helpers/held-chain.js';
import type { ChainRandomness } from '../../src/chain/chain-adapter.js';
import { generateUnsealedCid } from '../../src/piece/unsealed-cid.js';
import { commRToCid } from '../../src/seal/commitment-cid.js';
import { FileType } from '../../src/sector/sector-id.js';
import { median, peakRssMiB, quick, report, timed } from './bench-util.js';
import { silentLogger } from '../../src/log/logger.js';

const N = quick ? 300 : 3000;
/** Sectors pledged before the clock starts (see above). */
const WARM = quick ? 100 : 1000;
/** Fresh daemon systems measured one after the other (see above). */
const ROUNDS = quick ? 1 : 5;
const PROOF_2K = 5;
const THREADS = 2;
const FILLER = pieceCidV1(zeroPieceCommitment(2048)).toString();
// a pledged 2 KiB sector's CommD (its one filler), which PC2's result must repeat
const COMM_D = generateUnsealedCid(PROOF_2K, [{ pieceCid: FILLER, paddedSize: 2048 }]).toString();
const COMM_R = commRToCid(new Uint8Array(32).fill(7)).toString();
const HEX32 = '11'.repeat(32);

type Timed = { wall: number; cpu: number; mainCpu?: number };

/** The main thread's share (where /proc has it): the thread every task's actors and index writes run on. */
const mainNote = (runs: readonly Timed[], tasks: number) => {
  const main = runs.map((r) => r.mainCpu);
  if (main.some((m) => m === undefined)) return '';
  return `, main thread ${median(main.map((m) => (m! / tasks) * 1e6)).toFixed(0)} µs (busy ${median(runs.map((r) => (100 * r.mainCpu!) / r.wall)).toFixed(0)}% of the wall time)`;
};

/** The median of the rounds' rates, then each round's: `1400/s (rounds 1250, 1400, 1600)`. */
const rateNote = (rates: readonly number[]) => `${median(rates).toFixed(0)}/s${rates.length > 1 ? ` (rounds ${rates.map((r) => r.toFixed(0)).join(', ')})` : ''}`;

const runner: TaskRunner = {
  id: 'local',
  hostname: 'bench',
  async run(task: Task): Promise<TaskResult> {
    await pool.run('nativeInfo', {});
    switch (task.type) {
      case 'AP':
        return { type: 'AP', value: { pieceCid: FILLER, pieceCidV2: '', paddedSize: task.input.pieceSize, payloadSize: 0 } };
      case 'PC1':
        return { type: 'PC1', value: { replicaId: HEX32, ticket: task.input.ticket, commDHex: HEX32, layerDigests: [HEX32, HEX32] } };
      case 'PC2':
        return { type: 'PC2', value: { commD: COMM_D, commR: COMM_R } };
      default:
        throw new Error(`unexpected ${task.type}`);
    }
  },
};

/** One round: bare round trips, then both measurements on a fresh daemon system. */
async function round(dir: string): Promise<{ bare: Timed; tracked: Timed; path: Timed; pathTasks: number }> {
  mkdirSync(dir, { recursive: true });
  // baseline: bare round trips, THREADS in flight
  let next = 0;
  const bare = await timed(() =>
    Promise.all(
      Array.from({ length: THREADS }, async () => {
        while (next++ < N) await pool.run('nativeInfo', {});
      }),
    ),
  );
  let openGate!: (t: ChainRandomness) => void;
  const ticketGate = new Promise<ChainRandomness>((resolve) => {
    openGate = resolve;
  });
  const system = await startDaemonSystem({
    dbPath: join(dir, 'db.sqlite'),
    pool,
    minerId: 1000,
    sealProof: PROOF_2K,
    storageRoots: [join(dir, 'store')],
    // tickets are held until the task-path measurement hands them out; everything after stays held
    chain: () => ({ ...heldChain(), getTicket: () => ticketGate }),
    taskRunner: runner,
    log: silentLogger(),
    onError: (err) => console.error(err),
  });
  try {
    // every sector has saved its record in `state`: heard through the records' save listener (not
    // by polling a GROUP BY over every row, which cost the index actor up to a sixth of its time),
    // then a barrier, so the last save is committed
    const allReach = async (state: string, count: number) => {
      const there = new Set<number>();
      let done!: () => void;
      const reached = new Promise<void>((resolve) => {
        done = resolve;
      });
      const stop = system.sectors.watch((r) => {
        if (r.state === state) there.add(r.number);
        else there.delete(r.number);
        if (there.size === count) done();
      });
      const summary = await system.sectors.summary(); // sectors already there before the watch
      if ((summary[state] ?? 0) < count) await reached;
      stop();
      await system.index.flush();
    };
    // the warm-up: WARM sectors through the same path, untimed
    const warm = allReach('GetTicket', WARM);
    await Promise.all(Array.from({ length: WARM }, () => system.sectors.pledge()));
    await warm;
    const tracked = await timed(async () => {
      // every sector applied its task's result (its record holds the filler) and moved on
      // the warm-up's sectors rest in GetTicket already: the watch hears only the N new ones
      const reached = allReach('GetTicket', N);
      // all at once, as sectors ask for work in a busy daemon (their index writes share commits)
      await Promise.all(Array.from({ length: N }, () => system.sectors.pledge()));
      await reached;
    });
    const calls = await system.sectors.calls(0);
    if (calls.length !== 1 || calls[0]?.state !== 'returned') throw new Error('sector 0 should have one returned call');
    // the task path alone: PC1 and PC2 of every resting sector, no sector started. PC2 runs where
    // the sealed and cache files are: the empty PC1 writes none, so they are declared beforehand
    const pathId = system.localStore.localPaths()[0]!.ID;
    const resting = WARM + N;
    await Promise.all(Array.from({ length: resting }, (_, n) => system.index.catalog.storageDeclareSector(pathId, { miner: 1000, number: n }, FileType.sealed | FileType.cache, true)));
    const path = await timed(async () => {
      const reached = allReach('PreCommitting', resting);
      openGate({ value: HEX32, epoch: 1 });
      await reached;
    });
    const pathCalls = await system.sectors.calls(0);
    if (pathCalls.filter((c) => c.state === 'returned').length !== 3) throw new Error('sector 0 should have three returned calls (AP, PC1, PC2)');
    return { bare, tracked, path, pathTasks: 2 * resting };
  } finally {
    await system.stop();
  }
}

const pool = new SealerPool({ threads: THREADS });
const root = mkdtempSync(join(tmpdir(), 'ss-task-bench-'));
try {
  await pool.run('nativeInfo', {}); // threads up and the addon loaded, for every round
  const rounds: Awaited<ReturnType<typeof round>>[] = [];
  for (let r = 0; r < ROUNDS; r++) rounds.push(await round(join(root, `round-${r}`)));
  const pathTasks = rounds[0]!.pathTasks;
  const bareRates = rounds.map((r) => N / r.bare.wall);
  const trackedRates = rounds.map((r) => N / r.tracked.wall);
  const pathRates = rounds.map((r) => pathTasks / r.path.wall);
  const perTask = (runs: Timed[], tasks: number) => median(runs.map((r) => (r.cpu / tasks) * 1e6));
  report({
    name: 'tracked task, empty body (2 pool threads)',
    value: median(trackedRates),
    unit: 'tasks/s',
    note: `median of ${ROUNDS} rounds: ${rateNote(trackedRates)}; ${N} tasks after ${WARM} untimed each, each task with a new sector; bare pool round trips ${rateNote(bareRates)} (${(median(trackedRates) / median(bareRates)).toFixed(2)}× of them); peak RSS ${peakRssMiB().toFixed(0)} MiB`,
  });
  // the process's CPU time (every thread) per task: less sensitive than tasks/s to other load
  report({
    name: 'tracked task, CPU time per task',
    value: perTask(rounds.map((r) => r.tracked), N),
    unit: 'µs',
    note: `process CPU time, median of ${ROUNDS} rounds of ${N} tasks${mainNote(rounds.map((r) => r.tracked), N)}; bare pool round trip ${perTask(rounds.map((r) => r.bare), N).toFixed(0)} µs`,
  });
  report({
    name: 'tracked task path alone, empty body (PC1 + PC2 of resting sectors)',
    value: median(pathRates),
    unit: 'tasks/s',
    note: `median of ${ROUNDS} rounds: ${rateNote(pathRates)}; goal ≥ 2000/s; ${pathTasks} tasks each, no sector started; CPU time per task ${perTask(rounds.map((r) => r.path), pathTasks).toFixed(0)} µs${mainNote(rounds.map((r) => r.path), pathTasks)}; ${(median(pathRates) / median(bareRates)).toFixed(2)}× the bare round trips`,
  });
} finally {
  await pool.close();
  rmSync(root, { recursive: true, force: true });
}
