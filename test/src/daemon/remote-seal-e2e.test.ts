/**
 * Sealing on remote workers, end to end: a daemon and two `sector-storage worker` processes on
 * loopback, each with its own storage path and different task types, so a sector's files move
 * between them (C2 reads C1's output from the cache's holder, GET moves the sector to the storage path). Every sector
 * reaches Proving with the CommD and CommR of the offline `seal` command for the same inputs,
 * each phase ran once, on the worker that runs its task type, and every result was acknowledged
 * (the workers' call stores are empty afterwards).
 *
 * - 2 KiB: `run --local-tasks none`; three committed-capacity sectors; worker A runs AP, PC1,
 *   PC2, C1 and FIN (C1 and FIN run where the sealed files are, Lotus's existing-file selectors),
 *   worker B runs C2 and GET and has the only storage path that can store.
 * - 8 MiB: `run --local-tasks AP` (a client's upload is in the daemon's memory, so its AddPiece
 *   runs there); PC1 on worker A fetches the unsealed file from the daemon.
 */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { openDatabase } from '../../../src/db/database.js';
import { workerMigrations } from '../../../src/db/migrations.js';
import { initStoragePath } from '../../../src/storage/storage-config.js';
import type { WorkerJob } from '../../../src/api/methods/sealing.js';
import { ApiClient } from '../../../src/api/rpc-client.js';
import { seededBytes } from '../../helpers/bytes.js';
import { cleanup, cliJson, type DaemonProcess, daemonArgs, managerOf, runCli, startDaemon, tmpDir } from '../../helpers/cli-daemon.js';
import { startWorker, type WorkerProcess, type WorkerStart } from '../../helpers/cli-worker.js';
import { type AddedPiece, callProblems, offlineSeal, sealingCalls, waitForState } from '../../helpers/seal-checks.js';

const TICKET = 'a1'.repeat(32);
const SEED = '5e'.repeat(32);

interface Cluster {
  dir: string;
  repo: string;
  daemon: DaemonProcess;
  a: WorkerProcess;
  b: WorkerProcess;
  aStart: WorkerStart;
  bStart: WorkerStart;
}

/** A daemon and workers A and B; B's storage path can seal and store. Stopped and removed after the test. */
async function cluster(t: ExecutionContext, sectorSize: string, localTasks: string, aTypes: string, bTypes: string): Promise<Cluster> {
  const dir = tmpDir('ss-remote-seal-');
  const repo = join(dir, 'manager');
  const daemon = await startDaemon(repo, [...daemonArgs({ sectorSize, fixedRandomness: { ticket: TICKET, seed: SEED }, epochMs: 100, seedWaitEpochs: 2 }), '--local-tasks', localTasks]);
  const bStore = join(dir, 'b-store');
  initStoragePath(bStore, { canSeal: true, canStore: true, weight: 10 });
  const a = startWorker(repo, join(dir, 'a'), { taskTypes: aTypes });
  const b = startWorker(repo, join(dir, 'b'), { taskTypes: bTypes, storage: bStore });
  t.teardown(async () => {
    await Promise.all([a.kill(), b.kill()]);
    await daemon.kill();
    cleanup(dir);
  });
  const [aStart, bStart] = await Promise.all([a.started(), b.started()]);
  await Promise.all([a.logged(/^connected to the manager/), b.logged(/^connected to the manager/)]);
  return { dir, repo, daemon, a, b, aStart, bStart };
}

/** The sector entries (`sealed/s-t01000-0`) of a storage path. */
function entries(root: string): string[] {
  const out: string[] = [];
  for (const type of ['unsealed', 'sealed', 'cache']) {
    const d = join(root, type);
    if (existsSync(d)) for (const n of readdirSync(d)) if (n !== 'fetching') out.push(`${type}/${n}`);
  }
  return out.sort();
}

/** The calls a stopped worker's repository still holds (results never acknowledged). */
function heldCalls(workerRepo: string): number {
  const db = openDatabase(join(workerRepo, 'worker.db'), { migrations: workerMigrations });
  try {
    return (db.prepare('SELECT COUNT(*) AS n FROM worker_calls').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

test('2 KiB: three sectors seal on two worker processes with different task types, with the CommR of the seal command, each phase once, on its worker', async (t) => {
  const c = await cluster(t, '2KiB', 'none', 'AP,PC1,PC2,C1,FIN', 'C2,GET');
  const numbers: number[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await runCli(c.repo, ['sectors', 'pledge', '--json']);
    t.is(r.code, 0, r.stderr);
    numbers.push((JSON.parse(r.stdout) as { Number: number }).Number);
  }
  t.deepEqual(numbers, [0, 1, 2]);
  const on: Record<string, string> = { AP: c.aStart.id, PC1: c.aStart.id, PC2: c.aStart.id, C1: c.aStart.id, FIN: c.aStart.id, C2: c.bStart.id, GET: c.bStart.id };
  for (const n of numbers) {
    const status = await waitForState(c.repo, n, ['Proving'], 180_000);
    const reference = await offlineSeal({ sectorSize: '2KiB', number: n, ticket: TICKET, seed: SEED });
    t.is(status.CommD, reference.commD, `sector ${n} CommD`);
    t.is(status.CommR, reference.commR, `sector ${n} CommR`);
    const calls = await sealingCalls(c.repo, n);
    t.deepEqual(callProblems(calls, 1).problems, [], `sector ${n}`);
    for (const call of calls) t.is(call.Worker, on[call.Task], `sector ${n}: ${call.Task} ran on its worker`);
  }
  // the sealed sectors ended on B's storage path; A and the daemon keep nothing
  t.deepEqual(entries(join(c.dir, 'b-store')), numbers.flatMap((n) => [`cache/s-t01000-${n}`, `sealed/s-t01000-${n}`]).sort());
  t.deepEqual(entries(join(c.dir, 'a', 'storage')), []);
  t.deepEqual(entries(join(c.repo, 'storage')), []);
  t.true(c.b.output().includes('fetching the sealed and cache files of s-t01000-0 from another node (move)'));
  await Promise.all([c.a.stop(), c.b.stop()]);
  t.is(heldCalls(join(c.dir, 'a')), 0, 'every result of A was acknowledged');
  t.is(heldCalls(join(c.dir, 'b')), 0, 'every result of B was acknowledged');
});

test('8 MiB: a deal sector whose piece the daemon added is sealed by a worker that fetches the unsealed file, with the CommD and CommR of the seal command', async (t) => {
  const c = await cluster(t, '8MiB', 'AP', 'PC1,PC2,C1,FIN', 'C2,GET');
  const file = join(c.dir, 'piece.bin');
  writeFileSync(file, seededBytes(100_000, 21));
  const reference = offlineSeal({ sectorSize: '8MiB', number: 0, ticket: TICKET, seed: SEED, pieces: [file] });
  reference.catch(() => {});
  const added = await cliJson<AddedPiece>(c.repo, ['pieces', 'add', file]);
  t.like(added, { sector: 0, paddedOffset: 0 });
  // the manager's WorkerJobs, polled while the sector seals: the progress the worker reports
  const api = new ApiClient(managerOf(c.repo));
  t.teardown(() => api.close());
  const seen: { worker: string; task: string; progress: NonNullable<WorkerJob['Progress']> }[] = [];
  let sealing = true;
  const poll = (async () => {
    while (sealing) {
      const jobs = await api.call('WorkerJobs').catch(() => ({}) as Record<string, WorkerJob[]>);
      for (const [worker, list] of Object.entries(jobs)) for (const j of list) if (j.Progress) seen.push({ worker, task: j.Task, progress: j.Progress });
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const r = await runCli(c.repo, ['sectors', 'seal', '0']);
  t.is(r.code, 0, r.stderr);
  const status = await waitForState(c.repo, 0, ['Proving'], 300_000);
  sealing = false;
  await poll;
  const pc1 = seen.filter((x) => x.task === 'seal/v0/precommit/1');
  t.true(pc1.length > 0, 'PC1 on the worker reported progress to the manager');
  for (const x of pc1) t.is(x.worker, c.aStart.id);
  // its prepare step's fetch of the unsealed file (bytes, no total) and its labelling (nodes of all layers)
  const labelling = pc1.filter((x) => x.progress.Phase === 'pc1');
  t.true(labelling.length > 0, 'the labelling reported progress');
  t.true(labelling.every((x) => x.progress.Total > 0 && x.progress.Done <= x.progress.Total && /^layer \d+\/\d+$/.test(x.progress.Detail ?? '')));
  t.true(pc1.some((x) => x.progress.Phase === 'fetch unsealed'), 'the prepare step reported the bytes it fetched');
  const ref = await reference;
  t.is(status.CommD, ref.commD);
  t.is(status.CommR, ref.commR);
  const calls = await sealingCalls(c.repo, 0);
  const aps = calls.filter((x) => x.Task === 'AP');
  t.deepEqual(callProblems(calls, aps.length).problems, []);
  for (const ap of aps) t.is(ap.Worker, 'local', 'AddPieces run in the daemon');
  for (const call of calls.filter((x) => ['PC1', 'PC2'].includes(x.Task))) t.is(call.Worker, c.aStart.id);
  t.is(calls.find((x) => x.Task === 'C2')?.Worker, c.bStart.id);
  t.true(c.a.output().includes('fetching the unsealed file of s-t01000-0 from another node (copy)'));
  const back = join(c.dir, 'back.bin');
  const read = await runCli(c.repo, ['pieces', 'read', '0', '0', '100000', '--out', back, '--json']);
  t.is(read.code, 0, read.stderr);
  t.true(JSON.parse(read.stdout).verified);
});
