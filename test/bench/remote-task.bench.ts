/**
 * Tasks per second through the whole remote path, beside the local pool: N pledged 2 KiB sectors
 * each ask for one task (their filler's AddPiece) with an empty body — one round trip to a pool
 * thread that hands back the filler's result, as in tracked-task.bench.ts.
 *
 * - local: the scheduler dispatches to the daemon's own pool (`local`).
 * - remote: the daemon runs no task itself (`localTasks: []`); a worker connected over a loopback
 *   WebSocket (src/daemon/worker-link.ts, the worker's own durable call store in a worker
 *   repository) takes each call: `AddPiece(CallID, task)` recorded in worker.db, the body run, the
 *   result recorded, `ReturnAddPiece` sent, acknowledged once `calls.finish` is committed, the
 *   record deleted, and the sector applies the result.
 *
 * Baseline in the same run: bare pool round trips (as many in flight as the pool has threads).
 * Reported: tasks/s of each path, the remote/local ratio and the remote path's overhead per task
 * over the local one's time per task, peak RSS, the CPU (no SIMD path: JSON and SQLite only).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemonSystem } from '../../actors/system.js';
import type { TaskRunner } from '../../actors/worker-tasks.actor.js';
import type { ApiComponents } from '../../src/api/components.js';
import { ApiHttpServer } from '../../src/api/http-server.js';
import { RpcServer } from '../../src/api/rpc-server.js';
import { StreamRegistry } from '../../src/api/stream-registry.js';
import { WORKER_WS_PATH } from '../../src/api/worker-protocol.js';
import { ALL_PERMISSIONS, TokenAuthority } from '../../src/auth/tokens.js';
import { RemoteWorkers } from '../../src/daemon/remote-workers.js';
import { startWorkerLink } from '../../src/daemon/worker-link.js';
import { zeroPieceCommitment } from '../../src/piece/zero-comm.js';
import { pieceCidV1 } from '../../src/piece/piece-cid.js';
import { SealerPool } from '../../src/pool/pool.js';
import { openWorkerRepo } from '../../src/repo/worker-repo.js';
import type { Task, TaskResult } from '../../src/tasks/task-types.js';
import { WorkerCalls } from '../../src/worker/worker-calls.js';
import { heldChain } from '../helpers/held-chain.js';
import { peakRssMiB, quick, report, seconds } from './bench-util.js';
import { silentLogger } from '../../src/log/logger.js';
import { messageLogger } from '../helpers/log-recorder.js';

const N = quick ? 200 : 2000;
const PROOF_2K = 5;
const THREADS = 2;
const FILLER = pieceCidV1(zeroPieceCommitment(2048)).toString();

const pool = new SealerPool({ threads: THREADS });
const dir = mkdtempSync(join(tmpdir(), 'ss-remote-bench-'));

/** The empty body: one pool round trip, then the filler's AddPiece result. */
async function emptyBody(task: Task): Promise<TaskResult> {
  await pool.run('nativeInfo', {});
  if (task.type !== 'AP') throw new Error(`unexpected ${task.type}`);
  return { type: 'AP', value: { pieceCid: FILLER, pieceCidV2: '', paddedSize: task.input.pieceSize, payloadSize: 0 } };
}

/** Pledges N sectors at once and waits until every one applied its task's result. */
async function pledgeAll(system: Awaited<ReturnType<typeof startDaemonSystem>>): Promise<number> {
  return seconds(async () => {
    await Promise.all(Array.from({ length: N }, () => system.sectors.pledge()));
    for (;;) {
      const summary = await system.sectors.summary();
      if ((summary.GetTicket ?? 0) === N) break;
      await new Promise((r) => setTimeout(r, 5));
    }
  });
}

try {
  await pool.run('nativeInfo', {});
  let next = 0;
  const bare = await seconds(() =>
    Promise.all(
      Array.from({ length: THREADS }, async () => {
        while (next++ < N) await pool.run('nativeInfo', {});
      }),
    ),
  );

  // local: the daemon's own pool
  const runner: TaskRunner = { id: 'local', hostname: 'bench', run: (task) => emptyBody(task) };
  const local = await startDaemonSystem({
    dbPath: join(dir, 'local.sqlite'),
    pool,
    minerId: 1000,
    sealProof: PROOF_2K,
    storageRoots: [join(dir, 'local-store')],
    chain: () => heldChain(),
    taskRunner: runner,
    log: silentLogger(),
    onError: (err) => console.error(err),
  });
  let localSeconds: number;
  try {
    localSeconds = await pledgeAll(local);
  } finally {
    await local.stop();
  }

  // remote: no local worker; one worker over a loopback WebSocket
  const system = await startDaemonSystem({
    dbPath: join(dir, 'remote.sqlite'),
    pool,
    minerId: 1000,
    sealProof: PROOF_2K,
    storageRoots: [join(dir, 'remote-store')],
    chain: () => heldChain(),
    localTasks: [],
    log: silentLogger(),
    onError: (err) => console.error(err),
  });
  const authority = new TokenAuthority(new Uint8Array(32).fill(7));
  const streams = new StreamRegistry();
  const http = new ApiHttpServer({ rpc: new RpcServer({}, {} as ApiComponents, streams), streams, authenticate: (t) => authority.verifyToken(t), log: silentLogger() });
  const hub = new RemoteWorkers({ manager: { version: 'bench', session: 'bench', miner: 1000 }, log: silentLogger() });
  http.upgrade(WORKER_WS_PATH, hub.upgrade);
  const bound = await http.listen('127.0.0.1', 0);
  hub.start(system.index.calls, system.workers);
  const repo = openWorkerRepo(join(dir, 'worker'));
  const calls = new WorkerCalls({ store: repo.calls, body: { run: (task) => emptyBody(task) }, session: repo.session });
  let connected!: () => void;
  const up = new Promise<void>((r) => {
    connected = r;
  });
  const link = startWorkerLink({
    managerUrl: `http://127.0.0.1:${bound.port}`,
    token: authority.createToken(ALL_PERMISSIONS),
    version: 'bench',
    repo,
    calls,
    info: {
      id: repo.workerId,
      hostname: 'bench',
      taskTypes: ['AP'],
      resources: { cpus: THREADS, memPhysical: 64 * 2 ** 30, memSwap: 0, memReserved: 0, gpus: [] },
      ignoreResources: true,
      // the daemon's own path stands in for the worker's: same machine, and AddPiece's selector needs a path with room
      paths: system.localStore.localPaths().map((p) => p.ID),
    },
    url: 'http://127.0.0.1:1',
    onFatal: (err) => console.error(err),
    log: messageLogger({
      push(line: string) {
        if (line.startsWith('connected to the manager')) connected();
      },
    }),
  });
  await up;
  let remoteSeconds: number;
  try {
    remoteSeconds = await pledgeAll(system);
    const c = await system.sectors.calls(0);
    if (c.length !== 1 || c[0]?.state !== 'returned' || c[0]?.worker !== repo.workerId) throw new Error('sector 0 should have one returned call, run on the worker');
    // the manager acknowledges a result once `calls.finish` is committed, which is also when the
    // sector hears of it: the last acknowledgements may still be on the wire when the last sector
    // has moved on
    const deadline = Date.now() + 10_000;
    while (repo.calls.list().length !== 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const left = repo.calls.list().length;
    if (left !== 0) throw new Error(`every result should have been acknowledged and deleted within 10 s of the last sector's; ${left} are not`);
  } finally {
    link.close();
    await calls.close();
    await hub.close();
    await http.close(100);
    await system.stop();
    repo.close();
  }
  const cpu = (await import('node:os')).cpus()[0]?.model ?? 'unknown CPU';
  report({ name: 'task, empty body, local pool (2 threads)', value: N / localSeconds, unit: 'tasks/s', note: `${N} tasks; bare pool round trips ${(N / bare).toFixed(0)}/s` });
  report({
    name: 'task, empty body, remote worker (WebSocket)',
    value: N / remoteSeconds,
    unit: 'tasks/s',
    note: `${N} tasks; ${(localSeconds / remoteSeconds).toFixed(2)}× the local path's rate; remote overhead ${(((remoteSeconds - localSeconds) / N) * 1000).toFixed(2)} ms per task over the local path's ${((localSeconds / N) * 1000).toFixed(2)} ms; peak RSS ${peakRssMiB().toFixed(0)} MiB; ${cpu}, no SIMD path (JSON and SQLite only)`,
  });
} finally {
  await pool.close();
  rmSync(dir, { recursive: true, force: true });
}
