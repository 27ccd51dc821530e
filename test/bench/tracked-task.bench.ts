/**
 * The overhead of one tracked task: a sector asks for it, the scheduler records the call
 * (`calls.start` committed), queues and dispatches it, a pool thread runs it, its result is
 * committed (`calls.finish`), the sector applies it and its save marks the call returned. The task
 * body is empty: one round trip to a pool thread (its `nativeInfo` handler) that hands back a
 * filler's AddPiece result. Each of N pledged 2 KiB sectors asks for exactly one such task
 * (its one filler), computes CommD and rests in GetTicket (the chain gives no ticket).
 *
 * Baseline in the same run: bare pool round trips (`pool.run('nativeInfo')`, as many in flight as
 * the pool has threads), the floor of any task. Goal: ≥ 2,000 tracked tasks/s.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemonSystem } from '../../actors/system.js';
import type { TaskRunner } from '../../actors/worker-task.actor.js';
import { zeroPieceCommitment } from '../../src/piece/zero-comm.js';
import { pieceCidV1 } from '../../src/piece/piece-cid.js';
import { SealerPool } from '../../src/pool/pool.js';
import type { Task, TaskResult } from '../../src/tasks/task-types.js';
import { heldChain } from '../helpers/held-chain.js';
import { peakRssMiB, quick, report, timed } from './bench-util.js';
import { silentLogger } from '../../src/log/logger.js';

const N = quick ? 300 : 3000;
const PROOF_2K = 5;
const THREADS = 2;
const POLL_MS = 25;
const FILLER = pieceCidV1(zeroPieceCommitment(2048)).toString();

const pool = new SealerPool({ threads: THREADS });
const dir = mkdtempSync(join(tmpdir(), 'ss-task-bench-'));
try {
  await pool.run('nativeInfo', {}); // threads up and the addon loaded, for both measurements
  // baseline: bare round trips, THREADS in flight
  let next = 0;
  const bareRun = await timed(() =>
    Promise.all(
      Array.from({ length: THREADS }, async () => {
        while (next++ < N) await pool.run('nativeInfo', {});
      }),
    ),
  );

  const runner: TaskRunner = {
    id: 'local',
    hostname: 'bench',
    async run(task: Task): Promise<TaskResult> {
      await pool.run('nativeInfo', {});
      if (task.type !== 'AP') throw new Error(`unexpected ${task.type}`);
      return { type: 'AP', value: { pieceCid: FILLER, pieceCidV2: '', paddedSize: task.input.pieceSize, payloadSize: 0 } };
    },
  };
  const system = await startDaemonSystem({
    dbPath: join(dir, 'db.sqlite'),
    pool,
    minerId: 1000,
    sealProof: PROOF_2K,
    storageRoots: [join(dir, 'store')],
    chain: () => heldChain(),
    taskRunner: runner,
    log: silentLogger(),
    onError: (err) => console.error(err),
  });
  try {
    const trackedRun = await timed(async () => {
      // all at once, as sectors ask for work in a busy daemon (their index writes share commits)
      await Promise.all(Array.from({ length: N }, () => system.sectors.pledge()));
      // every sector applied its task's result (its record holds the filler) and moved on. Each
      // poll is a GROUP BY over every sector row in the index actor, on the path being measured:
      // polled every 5 ms it took about a sixth of the index actor's time, so it waits 25 ms
      // (at most 25 ms late at the end of a run of seconds)
      for (;;) {
        const summary = await system.sectors.summary();
        if ((summary.GetTicket ?? 0) === N) break;
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
    });
    const [bare, tracked] = [bareRun.wall, trackedRun.wall];
    const calls = await system.sectors.calls(0);
    if (calls.length !== 1 || calls[0]?.state !== 'returned') throw new Error('sector 0 should have one returned call');
    report({
      name: 'tracked task, empty body (2 pool threads)',
      value: N / tracked,
      unit: 'tasks/s',
      note: `${N} tasks; bare pool round trips ${(N / bare).toFixed(0)}/s (${(bare / tracked).toFixed(2)}× of them); goal ≥ 2000/s; peak RSS ${peakRssMiB().toFixed(0)} MiB`,
    });
    // the process's CPU time (every thread) per task: less sensitive than tasks/s to other load
    report({
      name: 'tracked task, CPU time per task',
      value: (trackedRun.cpu / N) * 1e6,
      unit: 'µs',
      note: `process CPU time over ${N} tasks ${(trackedRun.cpu * 1000).toFixed(0)} ms (wall ${(tracked * 1000).toFixed(0)} ms); bare pool round trip ${((bareRun.cpu / N) * 1e6).toFixed(0)} µs`,
    });
  } finally {
    await system.stop();
  }
} finally {
  await pool.close();
  rmSync(dir, { recursive: true, force: true });
}
