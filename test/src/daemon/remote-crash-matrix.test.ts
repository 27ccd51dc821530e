/**
 * The crash matrix across processes: a daemon and `sector-storage worker` processes killed with
 * SIGKILL while a sector seals on the worker, each started again. Every sector reaches Proving
 * with the CommD and CommR of the offline `seal` command, its calls show each phase returned
 * exactly once (a call killed with its process is the same call, run again), and a phase whose
 * work had finished is never run again: its result, kept by the worker or by the daemon, is
 * delivered instead.
 *
 * - 8 MiB, one sector, kills at seeded moments: the daemon during PC1 on the worker, restarted
 *   after a seeded pause (PC1 runs on; its last step, declaring its files, waits for the daemon;
 *   the restarted daemon gets the result and PC1 is not run again), then the worker during PC2
 *   (restarted, it no longer holds the call: PC2 is queued again and runs again).
 * - 2 KiB, one cluster per crash point (src/lifecycle/crash-points.ts): the worker with a result
 *   recorded and not delivered, the worker with a result acknowledged and its record not yet
 *   deleted, the daemon with a worker's result committed and not acknowledged, the daemon right
 *   after handing a call to the worker; and a worker that dies holding a call and never comes
 *   back (after the grace period the call runs on another worker).
 *
 * REMOTE_CRASH_SEED replays the seeded moments.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { CRASH_AT_ENV, type CrashPoint } from '../../../src/lifecycle/crash-points.js';
import { seededBytes } from '../../helpers/bytes.js';
import { cliJson, runCli } from '../../helpers/cli-daemon.js';
import { Cluster, SEED, TICKET } from '../../helpers/remote-cluster.js';
import {
  type AddedPiece,
  callProblems,
  type OfflineSeal,
  offlineSeal,
  type SectorStatus,
  sealingCalls,
  seededRandom,
  sleep,
  testSeed,
  waitForProgress,
  waitForRunning,
  waitForState,
} from '../../helpers/seal-checks.js';

const SEED_ENV = 'REMOTE_CRASH_SEED';
const seed = testSeed(SEED_ENV);
const ALL = 'AP,PC1,PC2,C1,C2,FIN,GET';

/** The sector reached Proving with the reference's commitments and a clean call history. */
async function sealedOnce(t: ExecutionContext, c: Cluster, n: number, status: SectorStatus, reference: OfflineSeal, pieces: number) {
  t.is(status.State, 'Proving');
  t.is(status.CommD, reference.commD, `sector ${n}: CommD of an uninterrupted seal`);
  t.is(status.CommR, reference.commR, `sector ${n}: CommR of an uninterrupted seal`);
  const calls = await sealingCalls(c.repo, n);
  const { problems, summary } = callProblems(calls, pieces);
  t.deepEqual(problems, [], `sector ${n}: ${JSON.stringify(summary.calls.map((x) => [x.Task, x.State, x.Outcome, x.Attempts, x.Worker]))}`);
  return summary;
}

/** Lines in which worker `name` (any of its sessions) said it finished a call of `task` for sector `n`. */
const doneLines = (c: Cluster, name: string, task: string, n: number) => c.workerLines(name, new RegExp(`\\(${task} of s-t01000-${n}\\) done`));
/** Lines in which worker `name` (any of its sessions) said it took a call of `task` for sector `n` over and started it. */
const startedLines = (c: Cluster, name: string, task: string, n: number) => c.workerLines(name, new RegExp(`\\(${task} of s-t01000-${n}\\) accepted`));

test.serial('8 MiB: the daemon killed during PC1 on a worker gets its result once restarted, without PC1 running again, and a worker killed during PC2 runs it again', async (t) => {
  const rand = seededRandom(seed);
  t.log(`${SEED_ENV}=${seed}`);
  // the worker's first session labels with portable SHA-256 (a documented switch; the labels are
  // the same): with SHA-NI an 8 MiB PC1 labels for under half a second after its first report,
  // too short a window for the kill below to fall inside it on a loaded machine
  const c = await Cluster.start(t, {
    sectorSize: '8MiB',
    localTasks: 'AP',
    workers: { w: { taskTypes: 'PC1,PC2,C1,C2,FIN' } },
    env: { workers: { w: { SECTOR_STORAGE_PORTABLE_SHA: '1' } } },
  });
  const file = join(c.dir, 'piece.bin');
  writeFileSync(file, seededBytes(100_000, 31));
  const reference = offlineSeal({ sectorSize: '8MiB', number: 0, ticket: TICKET, seed: SEED, pieces: [file] });
  reference.catch(() => {});
  t.like(await cliJson<AddedPiece>(c.repo, ['pieces', 'add', file]), { sector: 0 });
  t.is((await runCli(c.repo, ['sectors', 'seal', '0'])).code, 0);

  // a time counted from PC1's first labelling report, not from its start (fetch, parent cache)
  await waitForProgress(c.repo, 0, 'PC1', 'pc1', 120_000);
  const pc1Delay = Math.floor(rand() * 150);
  t.log(`kill -9 the daemon ${pc1Delay} ms after PC1's first labelling report`);
  await sleep(pc1Delay);
  await c.killDaemon();
  t.deepEqual(doneLines(c, 'w', 'PC1', 0), [], 'PC1 was still running when the daemon died');
  const pause = Math.floor(rand() * 2_000);
  t.log(`start the daemon again ${pause} ms later`);
  await sleep(pause);
  await c.startDaemon();

  await waitForRunning(c.repo, 0, 'PC2', 120_000);
  const pc2Delay = 100 + Math.floor(rand() * 700);
  t.log(`kill -9 the worker ${pc2Delay} ms into PC2`);
  await sleep(pc2Delay);
  await c.killWorker('w');
  await c.startWorker('w');

  const status = await waitForState(c.repo, 0, ['Proving'], 300_000).catch((err: Error) => {
    throw new Error(`${err.message}\n${c.logs()}`);
  });
  const summary = await sealedOnce(t, c, 0, status, await reference, (await sealingCalls(c.repo, 0)).filter((x) => x.Task === 'AP' && x.Outcome === 'ok').length);
  t.is(startedLines(c, 'w', 'PC1', 0).length, 1, 'PC1 ran once: the restarted daemon got the result the worker kept');
  t.is(doneLines(c, 'w', 'PC1', 0).length, 1);
  t.deepEqual(c.workerLines('w', /PC1 of s-t01000-0: resumed/), [], 'PC1 never started again');
  t.is(doneLines(c, 'w', 'PC2', 0).length, 1, 'PC2 finished once');
  t.true(summary.ok.PC1?.[0]?.Worker === c.starts.w!.id && summary.ok.PC2?.[0]?.Worker === c.starts.w!.id);
});

interface PointCase {
  title: string;
  /** Which process dies at the point. */
  who: 'daemon' | 'worker';
  point: CrashPoint;
  /** The phase that must not have run twice on the worker. */
  task: string;
  /** A line the daemon must log after the restart (a result delivered again). */
  again?: boolean;
}

const POINTS: PointCase[] = [
  { title: "the worker dies with PC1's result recorded and not delivered: restarted, it delivers it and PC1 is not run again", who: 'worker', point: 'worker.call.done.PC1', task: 'PC1' },
  { title: "the worker dies after the daemon acknowledged PC2's result, before deleting it: the daemon takes it again as a duplicate", who: 'worker', point: 'worker.call.acked.PC2', task: 'PC2', again: true },
  { title: "the daemon dies with the worker's PC1 result committed and not acknowledged: restarted, it acknowledges the delivery again", who: 'daemon', point: 'call.done.PC1', task: 'PC1', again: true },
  { title: 'the daemon dies right after handing C2 to the worker: restarted, the call is re-attached and C2 is not run again', who: 'daemon', point: 'call.running.C2', task: 'C2' },
];

for (const p of POINTS) {
  test.serial(`2 KiB, at ${p.point}: ${p.title}`, async (t) => {
    const env = { [CRASH_AT_ENV]: p.point };
    const c = await Cluster.start(t, {
      sectorSize: '2KiB',
      localTasks: 'none',
      workers: { w: { taskTypes: ALL, canStore: true } },
      env: p.who === 'daemon' ? { daemon: env } : { workers: { w: env } },
    });
    const reference = offlineSeal({ sectorSize: '2KiB', number: 0, ticket: TICKET, seed: SEED });
    reference.catch(() => {});
    t.is((await runCli(c.repo, ['sectors', 'pledge'])).code, 0);
    if (p.who === 'daemon') {
      t.is((await c.daemonExited()).signal, 'SIGKILL', `the daemon died at ${p.point}`);
      await c.startDaemon();
    } else {
      t.is((await c.workerExited('w')).signal, 'SIGKILL', `the worker died at ${p.point}`);
      await c.startWorker('w');
    }
    const status = await waitForState(c.repo, 0, ['Proving'], 120_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${c.logs()}`);
    });
    await sealedOnce(t, c, 0, status, await reference, 1);
    t.is(startedLines(c, 'w', p.task, 0).length, 1, `${p.task} ran once on the worker`);
    if (p.again) t.regex(c.logs(), new RegExp(`returned call [0-9a-f-]+ \\(${p.task}\\) again; its result was recorded already`));
  });
}

test.serial('2 KiB: a worker that dies holding PC1 and never comes back loses it after the grace period, and it runs on another worker', async (t) => {
  const c = await Cluster.start(t, {
    sectorSize: '2KiB',
    // AddPiece and GET in the daemon: the unsealed file must outlive the worker that dies
    localTasks: 'AP',
    graceMs: 2_000,
    workers: { gone: { taskTypes: 'PC1,PC2,C1,C2,FIN' }, spare: { taskTypes: 'PC1,PC2,C1,C2,FIN' } },
    env: { workers: { gone: { [CRASH_AT_ENV]: 'worker.call.accepted.PC1' } } },
  });
  // only the doomed worker is there when PC1 is handed out
  await c.killWorker('spare');
  const reference = offlineSeal({ sectorSize: '2KiB', number: 0, ticket: TICKET, seed: SEED });
  reference.catch(() => {});
  t.is((await runCli(c.repo, ['sectors', 'pledge'])).code, 0);
  t.is((await c.workerExited('gone')).signal, 'SIGKILL');
  await c.startWorker('spare');
  const status = await waitForState(c.repo, 0, ['Proving'], 120_000).catch((err: Error) => {
    throw new Error(`${err.message}\n${c.logs()}`);
  });
  const summary = await sealedOnce(t, c, 0, status, await reference, 1);
  const pc1 = summary.ok.PC1![0]!;
  t.is(pc1.Worker, c.starts.spare!.id, 'PC1 ran on the other worker');
  t.is(pc1.Attempts, 2, 'the same call, dispatched twice');
  t.regex(c.daemon.output(), new RegExp(`worker ${c.starts.gone!.id} did not come back within 2000 ms with call ${pc1.ID}`));
});

test.serial('2 KiB: a daemon restarted while the worker holding PC2\'s finished result is away waits for it (InitWait) and takes that result instead of running PC2 on the other worker', async (t) => {
  const crash = { [CRASH_AT_ENV]: 'worker.call.done.PC2' satisfies CrashPoint };
  const c = await Cluster.start(t, {
    sectorSize: '2KiB',
    localTasks: 'AP',
    workers: { w1: { taskTypes: 'PC1,PC2,C1,C2,FIN' }, w2: { taskTypes: 'PC1,PC2,C1,C2,FIN' } },
    // whichever worker runs PC2 dies with its result recorded
    env: { workers: { w1: crash, w2: crash } },
  });
  const reference = offlineSeal({ sectorSize: '2KiB', number: 0, ticket: TICKET, seed: SEED });
  reference.catch(() => {});
  t.is((await runCli(c.repo, ['sectors', 'pledge'])).code, 0);
  const holder = await Promise.race(['w1', 'w2'].map((n) => c.workers[n]!.exited.then(() => n)));
  const other = holder === 'w1' ? 'w2' : 'w1';
  t.is((await c.workerExited(holder)).signal, 'SIGKILL');
  await c.killDaemon();
  // the holder comes back first and waits for the daemon; the other one reconnects as well
  const back = c.startWorker(holder);
  await c.startDaemon();
  await back;
  const status = await waitForState(c.repo, 0, ['Proving'], 120_000).catch((err: Error) => {
    throw new Error(`${err.message}\n${c.logs()}`);
  });
  const summary = await sealedOnce(t, c, 0, status, await reference, 1);
  t.is(summary.ok.PC2?.[0]?.Worker, c.starts[holder]!.id, 'PC2 is the result of the worker that had finished it');
  t.is(startedLines(c, holder, 'PC2', 0).length + startedLines(c, other, 'PC2', 0).length, 1, 'PC2 ran once');
});
