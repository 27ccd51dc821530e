import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';

const cli = join(process.cwd(), 'dist', 'src', 'cli', 'main.js');

test('Ctrl-C during PC2 of an 8 MiB seal stops the command within 1.5 s with a non-zero exit and a clear message', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ss-seal-int-'));
  try {
    const child = spawn(process.execPath, [cli, 'seal', '--sector-size', '8MiB', '--parent-cache', join(dir, 'parents'), '--dir', join(dir, 'work')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let interruptedAt = 0;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => {
      stderr += text;
      // PC2 starts right after PC1's line; 300 ms later it is inside its Poseidon work
      if (!interruptedAt && stderr.includes('done: PreCommit1')) {
        setTimeout(() => {
          interruptedAt = performance.now();
          child.kill('SIGINT');
        }, 300);
      }
    });
    const { code, signal } = await exited;
    const stopMs = performance.now() - interruptedAt;
    t.true(interruptedAt > 0, `PC1 never finished:\n${stderr}`);
    t.is(signal, null, 'the command exits by itself rather than dying of the signal');
    t.not(code, 0);
    t.true(stopMs < 1500, `exited ${stopMs.toFixed(0)} ms after SIGINT`);
    t.regex(stderr, /Error: seal stopped during PreCommit2: received SIGINT \[ABORTED\]/);
    t.false(stderr.includes('done: PreCommit2'));
    const sealed = await readdir(join(dir, 'work', 'sealed'));
    t.deepEqual(sealed, [], 'no sealed file, finished or temporary, is left');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
