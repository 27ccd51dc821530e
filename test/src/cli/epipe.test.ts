import { spawn } from 'node:child_process';
import test from 'ava';
import { CLI, cleanup, startDaemon, tmpDir } from '../../helpers/cli-daemon.js';

/** Runs the CLI with its stdout a pipe whose reading end is already closed (like `| true`). */
function runIntoClosedPipe(repo: string, args: readonly string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, SECTOR_STORAGE_PATH: repo },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.destroy(); // the reader is gone before the command writes anything
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

test.serial('a command whose output pipe is closed exits quietly instead of printing an EPIPE stack trace', async (t) => {
  const repo = tmpDir('ss-epipe-');
  t.teardown(() => cleanup(repo));
  const offline = await runIntoClosedPipe(repo, ['pieces', 'commd', '--sector-size', '2KiB']);
  t.is(offline.code, 0, offline.stderr);
  t.is(offline.stderr, '');
  const daemon = await startDaemon(repo, ['--sector-size', '2KiB']);
  try {
    for (const args of [['sectors', 'list', '--json'], ['sectors', 'list'], ['storage', 'list']]) {
      const r = await runIntoClosedPipe(repo, args);
      t.is(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      t.is(r.stderr, '', args.join(' '));
    }
  } finally {
    await daemon.stop();
  }
});
