/**
 * `sealing jobs` and `sealing abort` on a call that is really running: an 8 MiB pledged sector,
 * whose PC2 runs long enough (seconds) to be seen running and stopped through the CLI.
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

test.serial('sealing jobs shows a running PC2, sealing abort stops it by id prefix, and the sector applies the PC2 failure rule', async (t) => {
  const { Number: n } = await cliJson<{ Number: number }>(repo, ['sectors', 'pledge']);
  const running = await until(t, 'a running PC2', async () => {
    const jobs = (await rawRpc(repo, 'Filecoin.WorkerJobs', [])).result as Record<string, JobRow[]>;
    return jobs.local?.find((j) => j.Task === 'seal/v0/precommit/2' && j.RunWait === 0 && j.Sector.Number === n);
  });
  t.deepEqual(running.ID.Sector, { Miner: 1000, Number: n }, "Lotus's CallID names the sector");
  t.is(running.Hostname, hostname());

  const id8 = running.ID.ID.replaceAll('-', '').slice(0, 8);
  const table = await runCli(repo, ['sealing', 'jobs']);
  t.is(table.code, 0, table.stderr);
  t.regex(table.stdout, /^ID\s+Sector\s+Worker\s+Hostname\s+Task\s+State\s+Time\n/);
  t.regex(table.stdout, new RegExp(`^${id8}\\s+${n}\\s+local\\s+\\S+\\s+PC2\\s+running\\s+\\d\\S*s$`, 'm'));
  const rows = await cliJson<JobRow[]>(repo, ['sealing', 'jobs']);
  t.true(rows.some((r) => r.Worker === 'local' && r.ID.ID === running.ID.ID));

  const abort = await runCli(repo, ['sealing', 'abort', id8]);
  t.is(abort.code, 0, abort.stderr);
  t.is(abort.stdout, `aborting job ${running.ID.ID}, task PC2, sector ${n}, running on host ${hostname()}\n`);

  const aborted = await until(t, 'the aborted call to finish', async () => {
    const calls = (await rawRpc(repo, 'Filecoin.SealingCalls', [n])).result as Call[];
    return calls.find((c) => c.ID === running.ID.ID && c.Outcome !== undefined);
  });
  t.is(aborted.Outcome, 'aborted');
  t.is(aborted.Error?.code, 'ABORTED');
  const status = await until(t, 'SealPreCommit2Failed', async () => {
    const s = (await rawRpc(repo, 'Filecoin.SectorsStatus', [n])).result as { State: string; LastErrCode?: string };
    return s.State === 'SealPreCommit2Failed' ? s : undefined;
  });
  t.is(status.LastErrCode, 'ABORTED');
  const again = await runCli(repo, ['sealing', 'abort', id8]);
  t.is(again.code, 1);
  t.regex(again.stderr, /is not queued or running \[CALL_UNKNOWN\]/);

  // the failed sector is removed with its files (its PC2 retry waits out the one-minute cool-down)
  t.is((await runCli(repo, ['sectors', 'remove', String(n)])).code, 0);
  await until(t, 'Removed', async () => {
    const s = (await rawRpc(repo, 'Filecoin.SectorsStatus', [n])).result as { State: string };
    return s.State === 'Removed' ? s : undefined;
  });
  for (const dir of ['unsealed', 'sealed', 'cache']) {
    const path = join(repo, 'storage', dir);
    t.deepEqual(existsSync(path) ? readdirSync(path).filter((f) => f.includes(`s-t01000-${n}`)) : [], [], `nothing left in storage/${dir}`);
  }
});
