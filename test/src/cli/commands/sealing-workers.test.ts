/**
 * `run --local-tasks`, `sealing workers`, `sealing workers enable|disable|cordon|uncordon`,
 * `sealing sched-diag` and `sealing jobs` through a real daemon whose own pool runs AP and PC1
 * only (and C1, FIN, GET, always): a pledged sector's PC2 has no worker and waits in the queue.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import type { SchedDiagJson, WorkerStatsJson } from '../../../../src/api/methods/workers.js';
import type { JobRow } from '../../../../src/cli/commands/sealing.js';
import { formatWorkers } from '../../../../src/cli/commands/sealing-workers.js';
import { cleanup, cliJson, daemonArgs, type DaemonProcess, rawRpc, runCli, startDaemon, tmpDir } from '../../../helpers/cli-daemon.js';

let repo = '';
let daemon: DaemonProcess | undefined;

test.before(async () => {
  repo = tmpDir('ss-workers-');
  daemon = await startDaemon(repo, [
    ...daemonArgs({ sectorSize: '2KiB', fixedRandomness: { ticket: 'a1'.repeat(32), seed: '5e'.repeat(32) }, epochMs: 50, seedWaitEpochs: 1 }),
    '--local-tasks',
    'AP,PC1',
  ]);
});

test.after.always(async () => {
  await daemon?.stop();
  cleanup(repo);
});

async function fails(t: ExecutionContext, args: string[], code: string, message: RegExp): Promise<void> {
  const r = await runCli(repo, args);
  t.is(r.code, 1, `${args.join(' ')} should fail: ${r.stdout}`);
  t.regex(r.stderr, new RegExp(`\\[${code}\\]`), r.stderr);
  t.regex(r.stderr, message);
}

const stats = () => cliJson<Record<string, WorkerStatsJson>>(repo, ['sealing', 'workers']);

test.serial('sealing workers shows the local worker with the task types of --local-tasks plus C1, FIN and GET, its machine and its idle pools', async (t) => {
  const all = await stats();
  t.deepEqual(Object.keys(all), ['local']);
  const local = all.local!;
  t.deepEqual(local.TaskTypes, ['FIN', 'GET', 'C1', 'PC1', 'AP']);
  t.like(local, { Enabled: true, Connected: true, Cordoned: false, CpuUse: 0, MemUsedMin: 0, MemUsedMax: 0, GpuUsed: false, Running: [], Prepared: [] });
  t.is(local.Info.Resources.CPUs, 1, 'the pool\'s threads (--threads 1)');
  t.true(local.Info.Resources.MemPhysical > 0);
  t.deepEqual(local.Info.Resources.GPUs, []);
  t.is(local.Paths.length, 1, 'the repository\'s storage path');
  const text = await runCli(repo, ['sealing', 'workers']);
  t.is(text.code, 0, text.stderr);
  const lines = text.stdout.split('\n');
  t.regex(lines[0]!, /^Worker local, host \S+$/);
  t.is(lines[1], '\tTASK: FIN GET C1 PC1 AP');
  t.is(lines[2], `\tCPU:  [${' '.repeat(64)}] 0/1 core(s) in use`);
  t.regex(lines[3]!, /^\tRAM: {2}\[\|*\s*\] \d+% .+\/.+$/);
  t.regex(lines[4]!, /^\tVMEM: \[\|*\s*\] \d+% .+\/.+$/);
});

test.serial('a task no worker runs waits in the queue: sched-diag lists it with no window, sealing jobs under no worker as queued, its returned calls with --show-ret-done', async (t) => {
  const pledged = await cliJson<{ Number: number }>(repo, ['sectors', 'pledge']);
  let diag: SchedDiagJson | undefined;
  for (let i = 0; i < 600; i++) {
    diag = await cliJson<SchedDiagJson>(repo, ['sealing', 'sched-diag']);
    if (diag.SchedInfo.Requests.some((r) => r.TaskType === 'seal/v0/precommit/2')) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const pc2 = diag!.SchedInfo.Requests.find((r) => r.TaskType === 'seal/v0/precommit/2');
  t.like(pc2, { Sector: { Number: pledged.Number }, Priority: 0 });
  t.is(pc2?.Assigned, undefined, 'in no window: no worker runs PC2');
  t.deepEqual(diag!.SchedInfo.OpenWindows, ['local', 'local'], 'both windows of the idle local worker are open');
  t.deepEqual(diag!.SchedInfo.AssignedWindows, {});
  t.true(diag!.Waiting.includes(diag!.CallToWork[pc2!.CallID]!));

  const jobs = await cliJson<JobRow[]>(repo, ['sealing', 'jobs']);
  t.like(
    jobs.find((j) => j.ID.ID === pc2!.CallID),
    { Worker: '00000000-0000-0000-0000-000000000000', RunWait: 1, Task: 'seal/v0/precommit/2' },
  );
  t.false(jobs.some((j) => j.RunWait === -3), 'calls returned to their sector are not listed by default');
  const withDone = await cliJson<JobRow[]>(repo, ['sealing', 'jobs', '--show-ret-done']);
  const done = withDone.filter((j) => j.RunWait === -3 && j.Sector.Number === pledged.Number).map((j) => j.Task).sort();
  t.deepEqual(done, ['seal/v0/addpiece', 'seal/v0/precommit/1'], 'AP and PC1 were returned: ret-done');
  t.regex((await runCli(repo, ['sealing', 'jobs', '--show-ret-done'])).stdout, /\sPC1\s+ret-done\s/);
  const bad = await rawRpc(repo, 'Filecoin.WorkerJobsDone', ['yesterday']);
  t.is(bad.error?.data?.code, 'INVALID_ARGUMENT');
  const forced = await cliJson<SchedDiagJson>(repo, ['sealing', 'sched-diag', '--force-sched']);
  t.true(forced.SchedInfo.Requests.some((r) => r.CallID === pc2!.CallID), 'a forced pass cannot place it either');
});

test.serial('sealing workers disable/enable a task type and cordon/uncordon a worker, and sealing workers shows it', async (t) => {
  t.deepEqual(await cliJson(repo, ['sealing', 'workers', 'disable', 'local', 'pc1']), { Worker: 'local', Task: 'PC1', Done: 'disabled' });
  t.deepEqual((await stats()).local!.DisabledTypes, ['PC1']);
  const text = await runCli(repo, ['sealing', 'workers']);
  t.regex(text.stdout, /\tTASK: FIN GET C1 PC1\(off\) AP\n/);
  await cliJson(repo, ['sealing', 'workers', 'enable', 'local', 'PC1']);
  t.deepEqual((await stats()).local!.DisabledTypes, []);

  const cordon = await runCli(repo, ['sealing', 'workers', 'cordon', 'local']);
  t.is(cordon.stdout.trim(), 'worker local cordoned');
  t.true((await stats()).local!.Cordoned);
  t.regex((await runCli(repo, ['sealing', 'workers'])).stdout, /^Worker local, host \S+ \(cordoned\)$/m);
  t.deepEqual((await cliJson<SchedDiagJson>(repo, ['sealing', 'sched-diag'])).SchedInfo.OpenWindows, [], 'a cordoned worker opens no window');
  await cliJson(repo, ['sealing', 'workers', 'uncordon', 'local']);
  t.false((await stats()).local!.Cordoned);

  await cliJson(repo, ['sealing', 'workers', 'disable', 'local']);
  t.false((await stats()).local!.Enabled);
  await cliJson(repo, ['sealing', 'workers', 'enable', 'local']);
  t.true((await stats()).local!.Enabled);
});

test.serial('controlling an unknown worker fails WORKER_UNKNOWN, a task type the worker does not run or that does not exist INVALID_ARGUMENT', async (t) => {
  await fails(t, ['sealing', 'workers', 'cordon', 'nobody'], 'WORKER_UNKNOWN', /no connected worker "nobody"/);
  await fails(t, ['sealing', 'workers', 'disable', 'local', 'C2'], 'INVALID_ARGUMENT', /worker local does not run C2 \(it runs FIN, GET, C1, PC1, AP\)/);
  await fails(t, ['sealing', 'workers', 'disable', 'local', 'PC9'], 'INVALID_ARGUMENT', /"PC9" is not a task type/);
  const bad = await rawRpc(repo, 'Filecoin.SealingSchedDiag', ['yes']);
  t.is(bad.error?.data?.code, 'INVALID_ARGUMENT');
  t.regex(bad.error?.message ?? '', /param doSched must be true or false, got "yes"/);
  const wire = await rawRpc(repo, 'Filecoin.SealingWorkerTaskDisable', ['local', 'seal/v0/precommit/1']);
  t.is(wire.error, undefined, 'Lotus\'s wire name is accepted too');
  t.deepEqual((await stats()).local!.DisabledTypes, ['PC1']);
  await rawRpc(repo, 'Filecoin.SealingWorkerTaskEnable', ['local', 'PC1']);
  const unknown = await rawRpc(repo, 'Filecoin.SealingWorkerTaskEnable', ['local', 'seal/v9/x']);
  t.regex(unknown.error?.message ?? '', /param task must be a task type/);
});

test.serial('an upload cannot run while the local worker does not run AP: pieces add is refused NO_WORKER', async (t) => {
  const dir = tmpDir('ss-workers-none-');
  const none = await startDaemon(dir, [...daemonArgs({ sectorSize: '2KiB' }), '--local-tasks', 'none']);
  t.teardown(async () => {
    await none.stop();
    cleanup(dir);
  });
  t.deepEqual(await cliJson(dir, ['sealing', 'workers']), {}, 'no local worker at all');
  const file = join(dir, 'piece.bin');
  writeFileSync(file, Buffer.alloc(600, 7));
  const r = await runCli(dir, ['pieces', 'add', file]);
  t.is(r.code, 1);
  t.regex(r.stderr, /\[NO_WORKER\]/);
  t.regex(r.stderr, /the daemon's local worker does not run AP \(run --local-tasks\)/);
});

test.serial('with SECTOR_STORAGE_PC1_GATHER=1 the local worker declares that its PC1 gathers parents from 256 MiB sectors up, and sealing workers says so; without it, nothing', async (t) => {
  const dir = tmpDir('ss-workers-gather-');
  const gathering = await startDaemon(dir, [...daemonArgs({ sectorSize: '2KiB' }), '--threads', '2'], { SECTOR_STORAGE_PC1_GATHER: '1' });
  t.teardown(async () => {
    await gathering.stop();
    cleanup(dir);
  });
  const local = (await cliJson<Record<string, WorkerStatsJson>>(dir, ['sealing', 'workers'])).local!;
  t.is(local.Info.Resources.PC1GatherFrom, 256 * 2 ** 20);
  const text = await runCli(dir, ['sealing', 'workers']);
  t.true(text.stdout.split('\n').includes('\tPC1:  parents gathered on a second thread for sectors of 256 MiB and up (2 threads each)'), text.stdout);
  t.is((await stats()).local!.Info.Resources.PC1GatherFrom, undefined, 'the daemon started without the variable declares nothing');
});

test('sealing workers names a worker that gathers for every sector size', (t) => {
  const lines = formatWorkers({
    w: {
      Info: { Hostname: 'h', IgnoreResources: false, Resources: { MemPhysical: 1 << 30, MemSwap: 0, MemReserved: 0, CPUs: 4, GPUs: [], PC1GatherFrom: 0 } },
      Enabled: true, Connected: true, Cordoned: false, CpuUse: 0, MemUsedMin: 0, MemUsedMax: 0, GpuUsed: false,
      TaskTypes: ['PC1'], DisabledTypes: [], Paths: [], Limits: {}, Preparing: { CpuUse: 0, MemUsedMin: 0, MemUsedMax: 0, GpuUsed: false }, Running: [], Prepared: [], Windows: [],
    },
  });
  t.true(lines.includes('\tPC1:  parents gathered on a second thread for every sector (2 threads each)'), lines.join('\n'));
});

test.serial('run --local-tasks with an unknown task type refuses to start, naming it', async (t) => {
  const dir = tmpDir('ss-workers-bad-');
  t.teardown(() => cleanup(dir));
  const r = await runCli(dir, ['run', '--listen', '127.0.0.1:0', '--local-tasks', 'AP,PC9']);
  t.not(r.code, 0);
  t.regex(r.stderr, /--local-tasks: "PC9" is not a task type/);
});
