/**
 * `sealing jobs --watch` and `sectors status N --watch` against a daemon sealing an 8 MiB sector,
 * whose PC1 and PC2 run for seconds: the progress of the running calls reaches the CLI as bars,
 * piped (a line per change) and on a terminal (util-linux `script` gives the CLI a pseudo-terminal).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import test from 'ava';
import { CLI, cleanup, cliJson, daemonArgs, type DaemonProcess, runCli, startDaemon, tmpDir } from '../../../helpers/cli-daemon.js';

let repo = '';
let daemon: DaemonProcess | undefined;

test.before(async () => {
  repo = tmpDir('ss-watch-');
  daemon = await startDaemon(repo, daemonArgs({ sectorSize: '8MiB', fixedRandomness: { ticket: '0e'.repeat(32), seed: '0f'.repeat(32) }, epochMs: 50, seedWaitEpochs: 1 }));
});

test.after.always(async () => {
  await daemon?.stop();
  cleanup(repo);
});

interface Watcher {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<number | null>;
}

function watch(command: string, args: readonly string[]): Watcher {
  const child = spawn(command, args, { env: { ...process.env, SECTOR_STORAGE_PATH: repo }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => {
    stdout += d;
  });
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

/** Waits until `check()` holds, failing after `timeoutMs` with `what` and the output. */
async function until(what: string, check: () => boolean, output: () => string, timeoutMs = 240_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${output()}\n${daemon?.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test.serial('sealing jobs --watch with --json is refused as a usage mistake (exit 2)', async (t) => {
  const r = await runCli(repo, ['sealing', 'jobs', '--watch', '--json']);
  t.is(r.code, 2);
  t.regex(JSON.parse(r.stdout).error.message, /--watch .* cannot be combined with --json/);
  t.is(r.stderr, '');
});

test.serial('piped, both watch views show the running PC1 and PC2 with their progress, and Ctrl-C ends sealing jobs --watch with exit 0', async (t) => {
  const jobs = watch(process.execPath, [CLI, 'sealing', 'jobs', '--watch']);
  const { Number: n } = await cliJson<{ Number: number }>(repo, ['sectors', 'pledge']);
  const status = watch(process.execPath, [CLI, 'sectors', 'status', String(n), '--watch']);
  t.is(await status.exited, 0, status.stderr());
  // an idle machine labels an 8 MiB sector's PC1 in under a second and builds its PC2 trees in
  // about two, so a once-a-second poll catches one or both: either bar proves the progress arrived
  // (a PC1 bar counts nodes over both layers, 2 × 262144, and names the layer)
  const bar = new RegExp(`sector ${n}: (PreCommit1  PC1  pc1  \\[[#.]{24}\\] +\\d+%  \\d+/524288 .*layer [12]/2|PreCommit2  PC2  (layer-check|pc2)  \\[[#.]{24}\\] +\\d+%  )`, 'm');
  t.regex(status.stderr(), bar, 'sectors status --watch draws the bar of the running call after the state');
  t.regex(status.stdout(), /^Status:\tProving$/m);

  await until('the job of the sealed sector to leave the list', () => /no longer listed/.test(jobs.stdout()) && /no jobs\n$/.test(jobs.stdout()), jobs.stdout);
  t.regex(jobs.stdout(), new RegExp(`^ +\\S+  [0-9a-f]{8}  sector ${n}  (PC1  running  pc1  \\[[#.]{16}\\] +\\d+%  \\d+/524288 .*layer [12]/2|PC2  running  (layer-check|pc2)  \\[[#.]{16}\\] +\\d+%  )`, 'm'));
  t.false(/\x1b\[/.test(jobs.stdout()), 'no terminal codes in a pipe');
  jobs.child.kill('SIGINT');
  t.is(await jobs.exited, 0, jobs.stderr());
  t.is(jobs.stderr(), '');
});

/** util-linux `script`, the pseudo-terminal the redraw test runs in; without it that test is skipped, saying why. */
const hasScript = (() => {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    console.warn('sealing-watch: util-linux `script` is not installed: the terminal redraw test is skipped');
    return false;
  }
})();

(hasScript ? test.serial : test.serial.skip)('on a terminal sealing jobs --watch redraws its table in place with a bar, and Ctrl-C exits 0', async (t) => {
  // a wide terminal: lines are cut to its width. `exec` puts the CLI in place of the shell: dash
  // catches SIGINT under -c and may kill itself with it on the way out of its wait, and `script -e`
  // would then report the shell's 130 rather than the CLI's 0 (CI saw that once)
  const command = `stty cols 200; exec ${[process.execPath, CLI, 'sealing', 'jobs', '--watch'].map((a) => `'${a}'`).join(' ')}`;
  const term = watch('script', ['-qfec', command, '/dev/null']);
  const barOf = (n: number) => new RegExp(`\\s${n}\\s+local\\s+\\S+\\s+PC[12]\\s+running\\s+\\S+\\s+(pc1|layer-check|pc2)  \\[[#.]{16}\\]`);
  const shown = (n: number) => barOf(n).test(term.stdout());
  // an 8 MiB PC1 and PC2 last about a second each here, about one redraw, so a frame can miss
  // both: sectors are pledged one after another (at most five) until one shows its bar
  const pledged: number[] = [];
  for (let i = 0; i < 5 && !pledged.some(shown); i++) {
    const { Number: n } = await cliJson<{ Number: number }>(repo, ['sectors', 'pledge']);
    pledged.push(n);
    const deadline = Date.now() + 120_000;
    while (!shown(n)) {
      const { State } = await cliJson<{ State: string }>(repo, ['sectors', 'status', String(n), '--json']);
      if (!['Empty', 'WaitDeals', 'AddPiece', 'Packing', 'GetTicket', 'PreCommit1', 'PreCommit2'].includes(State)) break;
      if (Date.now() > deadline) throw new Error(`sector ${n} stayed in ${State} for 120 s:\n${term.stdout()}\n${daemon?.output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  t.true(pledged.some(shown), `no PC1 or PC2 bar on the terminal in ${pledged.length} sectors:\n${term.stdout()}`);
  await until('another frame', () => (term.stdout().match(/\x1b\[\d+F\x1b\[0J/g) ?? []).length >= 2, term.stdout);
  t.regex(term.stdout(), /sealing jobs, every 1s \(Ctrl-C to stop\)/);
  term.child.stdin!.write('\x03');
  t.is(await term.exited, 0, term.stdout());
  // let the sectors finish so the daemon stops quickly
  for (const n of pledged) {
    const done = await runCli(repo, ['sectors', 'status', String(n), '--watch'], 240_000);
    t.is(done.code, 0, done.stderr);
  }
});

test.serial('Ctrl-C stops sectors status --watch before the sector is sealed: exit 130, no status printed', async (t) => {
  const { Number: n } = await cliJson<{ Number: number }>(repo, ['sectors', 'pledge']);
  const status = watch(process.execPath, [CLI, 'sectors', 'status', String(n), '--watch']);
  await until('the first state line', () => new RegExp(`sector ${n}: \\w+`).test(status.stderr()), status.stderr, 60_000);
  status.child.kill('SIGINT');
  t.is(await status.exited, 130, status.stderr());
  t.is(status.stdout(), '');
  t.notRegex(status.stderr(), /Error:/);
  const done = await runCli(repo, ['sectors', 'status', String(n), '--watch'], 240_000);
  t.is(done.code, 0, done.stderr);
});

test.serial('with a read-only token sectors status --watch still draws the bar: SectorNotify pushes progress at read permission (WorkerJobs needs admin)', async (t) => {
  const info = await runCli(repo, ['auth', 'api-info', '--perm', 'read']);
  t.is(info.code, 0, info.stderr);
  const apiInfo = /SECTOR_STORAGE_API_INFO=(\S+)/.exec(info.stdout)![1]!;
  const { Number: n } = await cliJson<{ Number: number }>(repo, ['sectors', 'pledge']);
  const status = await runCli(repo, ['sectors', 'status', String(n), '--watch'], 240_000, { SECTOR_STORAGE_API_INFO: apiInfo });
  t.is(status.code, 0, status.stderr);
  t.regex(status.stderr, new RegExp(`sector ${n}: (PreCommit1  PC1  pc1|PreCommit2  PC2  (layer-check|pc2))  \\[[#.]{24}\\]`, 'm'));
  // every state from the one the watch began in to Proving, one line each
  const states = [...status.stderr.matchAll(new RegExp(`sector ${n}: (\\w+)$`, 'gm'))].map((m) => m[1]);
  t.is(states.at(-1), 'Proving');
  t.deepEqual(states, [...new Set(states)], `each state once: ${states.join(' → ')}`);
  t.true(states.includes('PreCommit2') && states.includes('WaitSeed') && states.includes('FinalizeSector'), states.join(' → '));
  t.regex(status.stdout, /^Status:\tProving$/m);
});
