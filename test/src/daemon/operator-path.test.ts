/**
 * What a new operator meets running the daemon: `npm start` stops on the SIGTERM a supervisor
 * sends to npm, a busy port is an error with a code, the daemon logs requests, failures and an
 * AddPiece reset by a restart, an upload never pushed fails at once with its own code, and tokens
 * come from `auth create-token` / `auth api-info` (whose SECTOR_STORAGE_API_INFO the CLI honours).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { CRASH_AT_ENV } from '../../../src/lifecycle/crash-points.js';
import { cleanup, rawRpc, runCli, startDaemon, tmpDir } from '../../helpers/cli-daemon.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

for (const target of ['npm', 'its process group'] as const) {
  test.serial(`npm start shuts the daemon down cleanly on the SIGTERM sent to ${target}: the lock and the port are released`, async (t) => {
    const repo = tmpDir('ss-npm-start-');
    // its own process group, as a supervisor (systemd's control group) signals every process in it
    const npm = spawn('npm', ['start', '--', '--listen', '127.0.0.1:0', '--sector-size', '2KiB', '--threads', '1'], {
      cwd: ROOT,
      env: { ...process.env, SECTOR_STORAGE_PATH: repo },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let out = '';
    npm.stdout.on('data', (d) => {
      out += d;
    });
    npm.stderr.on('data', (d) => {
      out += d;
    });
    const exited = new Promise<number | null>((resolve) => npm.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 60_000;
    while (!(existsSync(join(repo, 'api')) && /listening on/.test(out))) {
      if (Date.now() > deadline) t.fail(`the daemon did not start: ${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const daemonPid = Number(/pid (\d+)\)/.exec(out)![1]);
    t.not(daemonPid, npm.pid, 'the daemon runs as its own process under npm');
    if (target === 'npm') npm.kill('SIGTERM');
    else process.kill(-npm.pid!, 'SIGTERM');
    await exited;
    const stopBy = Date.now() + 30_000;
    while ((alive(daemonPid) || !/daemon stopped/.test(out)) && Date.now() < stopBy) await new Promise((r) => setTimeout(r, 100));
    t.false(alive(daemonPid), `the daemon exited with npm (${out})`);
    t.regex(out, /shutting down \(received SIGTERM\)/);
    t.regex(out, /daemon stopped/, 'the whole shutdown ran, even with the signal twice');
    t.false(existsSync(join(repo, 'repo.lock')), 'the repository lock is released');
    t.false(existsSync(join(repo, 'api')));
    cleanup(repo);
  });
}

test.serial('a busy listen address fails ADDRESS_IN_USE naming the address, the first daemon keeps serving, and another --sector-size on its repository is refused', async (t) => {
  const first = tmpDir();
  const second = tmpDir();
  const daemon = await startDaemon(first, ['--sector-size', '2KiB']);
  try {
    const port = /tcp\/(\d+)\//.exec(readFileSync(join(first, 'api'), 'utf8'))![1];
    const r = await runCli(second, ['run', '--listen', `127.0.0.1:${port}`, '--sector-size', '2KiB', '--threads', '1']);
    t.is(r.code, 1);
    t.regex(r.stderr, new RegExp(`^Error: cannot listen on 127\\.0\\.0\\.1:${port}: another process uses that address .*\\[ADDRESS_IN_USE\\]`, 'm'));
    t.false(existsSync(join(second, 'repo.lock')), 'the refused daemon released its repository');
    t.is((await runCli(first, ['sectors', 'list'])).code, 0);
  } finally {
    await daemon.stop();
  }
  const resize = await runCli(first, ['run', '--listen', '127.0.0.1:0', '--sector-size', '8MiB', '--threads', '1']);
  t.is(resize.code, 1);
  t.regex(resize.stderr, /was created for StackedDrg2KiBV1_1 \(sector size 2048\); --sector-size 8388608 cannot change it \[REPO_INVALID\]/);
  cleanup(first);
  cleanup(second);
});

test.serial('after start-up the daemon logs each call that may change something and each failure with its code, not successful reads', async (t) => {
  const repo = tmpDir();
  const daemon = await startDaemon(repo, ['--sector-size', '2KiB']);
  try {
    t.is((await runCli(repo, ['sectors', 'pledge'])).code, 0);
    t.is((await runCli(repo, ['sectors', 'list'])).code, 0);
    t.is((await runCli(repo, ['sectors', 'status', '4242'])).code, 1);
    const until = Date.now() + 10_000;
    while (!/rpc Filecoin\.SectorsStatus failed/.test(daemon.output()) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    t.regex(daemon.output(), /rpc Filecoin\.PledgeSector \([\d.]+ ms\)/);
    t.regex(daemon.output(), /rpc Filecoin\.SectorsStatus failed \([\d.]+ ms\): sector 4242 .*\[SECTOR_UNKNOWN\]/);
    t.regex(daemon.output(), /restored 0 sector\(s\) of miner t01000/);
    t.notRegex(daemon.output(), /rpc Filecoin\.SectorsListInfo/, 'a successful read is not logged');
  } finally {
    await daemon.stop();
    cleanup(repo);
  }
});

test.serial('an AddPiece interrupted by a crash is logged at the next start as reset, naming its sector', async (t) => {
  const repo = tmpDir();
  const file = join(repo, 'piece.bin');
  writeFileSync(file, randomBytes(200));
  let daemon = await startDaemon(repo, ['--sector-size', '2KiB']);
  try {
    const first = await runCli(repo, ['pieces', 'add', file]);
    t.is(first.code, 0, first.stderr);
    await daemon.stop();
    daemon = await startDaemon(repo, ['--sector-size', '2KiB'], { [CRASH_AT_ENV]: 'call.running.AP' });
    const add = await runCli(repo, ['pieces', 'add', file, '--sector', '0']);
    t.not(add.code, 0, 'the daemon died under the second piece');
    await daemon.exited;
    daemon = await startDaemon(repo, ['--sector-size', '2KiB']);
    t.regex(daemon.output(), /sector 0: the AddPiece interrupted by the restart \(call [0-9a-f-]+, padded offset 256\) was reset: the sector is back in WaitDeals, the piece was never reported and must be added again/);
    const status = JSON.parse((await runCli(repo, ['sectors', 'status', '0', '--json'])).stdout) as { State: string; Pieces: unknown[] };
    t.is(status.State, 'WaitDeals');
    t.is(status.Pieces.length, 1);
  } finally {
    await daemon.kill();
    cleanup(repo);
  }
});

test.serial('SectorAddPieceToAny naming an upload nobody pushes fails UPLOAD_NOT_PUSHED within seconds and adds nothing', async (t) => {
  const repo = tmpDir();
  const daemon = await startDaemon(repo, ['--sector-size', '2KiB']);
  try {
    const before = (await rawRpc(repo, 'Filecoin.SectorsList', [])).result;
    const started = Date.now();
    const r = await rawRpc(repo, 'Filecoin.SectorAddPieceToAny', [100, { Type: 'push', Info: crypto.randomUUID() }, {}]);
    t.is(r.error?.data?.code, 'UPLOAD_NOT_PUSHED');
    t.regex(r.error?.message ?? '', /was not pushed within 5000 ms; nothing was added/);
    t.true(Date.now() - started < 15_000, 'well before the 30 s a push waits for its call');
    t.deepEqual((await rawRpc(repo, 'Filecoin.SectorsList', [])).result, before);
  } finally {
    await daemon.stop();
    cleanup(repo);
  }
});

test.serial('auth create-token and auth api-info make tokens of a permission and the weaker ones; the CLI honours SECTOR_STORAGE_API_INFO', async (t) => {
  const repo = tmpDir();
  const elsewhere = tmpDir();
  const daemon = await startDaemon(repo, ['--sector-size', '2KiB']);
  try {
    const created = await runCli(repo, ['auth', 'create-token', '--perm', 'write']);
    t.is(created.code, 0, created.stderr);
    t.deepEqual((await rawRpc(repo, 'Filecoin.AuthVerify', [created.stdout.trim()])).result, ['read', 'write']);
    const bad = await runCli(repo, ['auth', 'create-token', '--perm', 'root']);
    t.is(bad.code, 2);
    t.regex(bad.stderr, /--perm must be one of read, write, sign, admin/);
    const info = await runCli(repo, ['auth', 'api-info', '--perm', 'read']);
    t.is(info.code, 0, info.stderr);
    const multiaddr = readFileSync(join(repo, 'api'), 'utf8').trim();
    const m = /^SECTOR_STORAGE_API_INFO=([^:]+):(\/ip4\/127\.0\.0\.1\/tcp\/\d+\/http)\n$/.exec(info.stdout);
    t.truthy(m, info.stdout);
    t.is(m![2], multiaddr);
    t.deepEqual((await rawRpc(repo, 'Filecoin.AuthVerify', [m![1]])).result, ['read']);
    // another repository path (no api file there): the variable alone reaches the daemon, with its token's permissions
    const env = { SECTOR_STORAGE_API_INFO: `${m![1]}:${m![2]}` };
    const list = await runCli(elsewhere, ['sectors', 'list'], 30_000, env);
    t.is(list.code, 0, list.stderr);
    const pledge = await runCli(elsewhere, ['sectors', 'pledge'], 30_000, env);
    t.is(pledge.code, 1);
    t.regex(pledge.stderr, /need 'write'.*\[UNAUTHORIZED\]/);
    const nowhere = await runCli(elsewhere, ['sectors', 'list'], 30_000, { SECTOR_STORAGE_API_INFO: `${m![1]}:/ip4/127.0.0.1/tcp/1/http` });
    t.regex(nowhere.stderr, /nothing listens at \/ip4\/127\.0\.0\.1\/tcp\/1\/http \(from SECTOR_STORAGE_API_INFO\) \[DAEMON_UNREACHABLE\]/);
  } finally {
    await daemon.stop();
    cleanup(repo);
    cleanup(elsewhere);
  }
});

test.serial('sectors status N --watch follows a pledged sector through its states and ends with it Proving', async (t) => {
  const repo = tmpDir();
  const daemon = await startDaemon(repo, ['--sector-size', '2KiB', '--epoch-ms', '500', '--seed-wait-epochs', '2']);
  try {
    const pledge = await runCli(repo, ['sectors', 'pledge']);
    t.is(pledge.stdout, 'Created CC sector: 0\n');
    const watch = await runCli(repo, ['sectors', 'status', '0', '--watch'], 240_000);
    t.is(watch.code, 0, watch.stderr);
    const states = watch.stderr.trim().split('\n').map((l) => /sector 0: (\w+)/.exec(l)?.[1]);
    t.is(states.at(-1), 'Proving');
    t.true(states.every((s) => s !== undefined), watch.stderr);
    t.regex(watch.stdout, /^Status:\tProving$/m);
  } finally {
    await daemon.stop();
    cleanup(repo);
  }
});
