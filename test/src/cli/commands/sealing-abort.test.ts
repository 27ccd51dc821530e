/**
 * `sealing jobs` and `sealing abort` on calls that are really running: 8 MiB pledged sectors, whose
 * PC1 and PC2 run long enough (seconds) to be seen running and stopped through the CLI.
 */
import { existsSync, readdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { cleanup, cliJson, daemonArgs, type DaemonProcess, rawRpc, runCli, startDaemon, tmpDir } from '../../../helpers/cli-daemon.js';

interface JobRow {
  Worker: string;
  ID: { Sector: { Miner: number; Number: number }; ID: string };
  Sector: { Miner: number; Number: number };
  Task: string;
  RunWait: number;
  Start: string;
  Hostname?: string;
}

interface Call {
  ID: string;
  Task: string;
  State: string;
  Outcome?: string;
  Error?: { code: string; message: string };
}

let repo = '';
let daemon: DaemonProcess | undefined;

test.before(async () => {
  repo = tmpDir('ss-abort-');
  daemon = await startDaemon(repo, daemonArgs({ sectorSize: '8MiB', fixedRandomness: { ticket: '0c'.repeat(32), seed: '0d'.repeat(32) }, epochMs: 50, seedWaitEpochs: 1 }));
});

test.after.always(async () => {
  await daemon?.stop();
  cleanup(repo);
});

/** Polls `check` every 100 ms until it returns a value; fails naming `what` after `timeoutMs`. */
async function until<T>(t: ExecutionContext, what: string, check: () => Promise<T | undefined>, timeoutMs = 180_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await check();
    if (v !== undefined) return v;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  t.log(daemon?.output());
  throw new Error(`timed out waiting for ${what}`);
}

/** The first job of sector `n` running `task` (Lotus wire name) on the local worker, if any. */
async function runningJob(n: number, task: string): Promise<JobRow | undefined> {
  const jobs = (await rawRpc(repo, 'Filecoin.WorkerJobs', [])).result as Record<string, JobRow[]>;
  return jobs.local?.find((j) => j.Task === task && j.RunWait === 0 && j.Sector.Number === n);
}

/** Waits for sector `n` to be in `state`. */
function stateOf(t: ExecutionContext, n: number, state: string): Promise<{ State: string; LastErrCode?: string }> {
  return until(t, `sector ${n} in ${state}`, async () => {
    const s = (await rawRpc(repo, 'Filecoin.SectorsStatus', [n])).result as { State: string; LastErrCode?: string };
    return s.State === state ? s : undefined;
  });
}

/** Checks that nothing of sector `n` is left under the storage path. */
function noFilesOf(t: ExecutionContext, n: number): void {
  for (const dir of ['unsealed', 'sealed', 'cache']) {
    const path = join(repo, 'storage', dir);
    t.deepEqual(existsSync(path) ? readdirSync(path).filter((f) => f.includes(`s-t01000-${n}`)) : [], [], `nothing of sector ${n} left in storage/${dir}`);
  }
}

let aborted: number | undefined;
/** Sectors whose PC1 finished before its abort reached it (removed at once). */
const missed: number[] = [];

/** True once sector `n` is past PreCommit1. */
async function pastPc1(n: number): Promise<boolean> {
  const s = (await rawRpc(repo, 'Filecoin.SectorsStatus', [n])).result as { State?: string } | undefined;
  return s?.State !== undefined && !['Empty', 'WaitDeals', 'AddPiece', 'Packing', 'GetTicket', 'PreCommit1'].includes(s.State);
}

test.serial('sealing abort stops a running PC1 by id prefix, and the sector applies the PC1 failure rule', async (t) => {
  // An 8 MiB PC1 runs for a second or two, and the abort is a CLI process of its own: on a loaded
  // machine it can arrive after the PC1 finished (CALL_UNKNOWN). Then that sector is removed and
  // the next one tried.
  let n = -1;
  let running: JobRow | null = null;
  let abort: Awaited<ReturnType<typeof runCli>> | undefined;
  for (let attempt = 0; attempt < 3 && !abort; attempt++) {
    ({ Number: n } = await cliJson<{ Number: number }>(repo, ['sectors', 'pledge']));
    // abort PC1 as soon as it runs (its native labeller stops within milliseconds wherever it is)
    running = await until(t, 'a running PC1', async () => (await runningJob(n, 'seal/v0/precommit/1')) ?? ((await pastPc1(n)) ? null : undefined), 180_000);
    const tried = running && (await runCli(repo, ['sealing', 'abort', running.ID.ID.replaceAll('-', '').slice(0, 8)]));
    if (tried && !(tried.code === 1 && tried.stderr.includes('[CALL_UNKNOWN]'))) abort = tried;
    else {
      t.log(`sector ${n}: its PC1 finished before the abort reached it; removing it and trying the next sector`);
      missed.push(n);
      t.is((await runCli(repo, ['sectors', 'remove', String(n)])).code, 0);
    }
  }
  if (!abort || !running) return t.fail('no PC1 was still running when its abort arrived, in three sectors');
  aborted = n;
  const id8 = running.ID.ID.replaceAll('-', '').slice(0, 8);
  t.is(abort.code, 0, abort.stderr);
  t.is(abort.stdout, `aborting job ${running.ID.ID}, task PC1, sector ${n}, running on host ${hostname()}\n`);

  const call = await until(t, 'the aborted call to finish', async () => {
    const calls = (await rawRpc(repo, 'Filecoin.SealingCalls', [n])).result as Call[];
    return calls.find((c) => c.ID === running.ID.ID && c.Outcome !== undefined);
  });
  t.is(call.Outcome, 'aborted');
  t.is(call.Error?.code, 'ABORTED');
  t.is((await stateOf(t, n, 'SealPreCommit1Failed')).LastErrCode, 'ABORTED');
  const again = await runCli(repo, ['sealing', 'abort', id8]);
  t.is(again.code, 1);
  t.regex(again.stderr, /is not queued or running \[CALL_UNKNOWN\]/);
});

test.serial('sealing jobs shows a running PC2 as lotus-miner does, and sectors remove stops it and leaves no file', async (t) => {
  const { Number: n } = await cliJson<{ Number: number }>(repo, ['sectors', 'pledge']);
  const running = await until(t, 'a running PC2', () => runningJob(n, 'seal/v0/precommit/2'), 180_000);
  t.deepEqual(running.ID.Sector, { Miner: 1000, Number: n }, "Lotus's CallID names the sector");
  t.is(running.Hostname, hostname());
  const id8 = running.ID.ID.replaceAll('-', '').slice(0, 8);
  // both views at once: an 8 MiB PC2 lasts only a few seconds, about two CLI start-ups
  const [table, rows] = await Promise.all([runCli(repo, ['sealing', 'jobs']), cliJson<JobRow[]>(repo, ['sealing', 'jobs'])]);
  t.is(table.code, 0, table.stderr);
  t.regex(table.stdout, /^ID\s+Sector\s+Worker\s+Hostname\s+Task\s+State\s+Time\s+Batch\s+Progress\n/);
  // the Progress column (ours) names the running step, e.g. `pc2 3/8 (tree-c)`; empty before the first report
  t.regex(table.stdout, new RegExp(`^${id8}\\s+${n}\\s+local\\s+\\S+\\s+PC2\\s+running\\s+\\d\\S*s(\\s+\\S.*)?$`, 'm'));
  t.true(rows.some((r) => r.Worker === "local" && r.ID.ID === running.ID.ID), JSON.stringify(rows));

  // one sector removed while its PC2 runs, the other in its failure state's cool-down
  for (const sector of [n, aborted!]) t.is((await runCli(repo, ['sectors', 'remove', String(sector)])).code, 0);
  for (const sector of [n, aborted!, ...missed]) {
    await stateOf(t, sector, 'Removed');
    noFilesOf(t, sector);
  }
  const open = (await rawRpc(repo, 'Filecoin.WorkerJobs', [])).result as Record<string, JobRow[]>;
  t.deepEqual(Object.values(open).flat(), [], 'no call of a removed sector is left open');
});
