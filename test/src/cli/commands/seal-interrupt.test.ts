import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';

const cli = join(process.cwd(), 'dist', 'src', 'cli', 'main.js');

test('Ctrl-C during PC2 of an 8 MiB seal stops the command promptly (well before PC2 would end) with a non-zero exit and a clear message', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ss-seal-int-'));
  try {
    const child = spawn(process.execPath, [cli, 'seal', '--sector-size', '8MiB', '--parent-cache', join(dir, 'parents'), '--dir', join(dir, 'work')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const startedAt = performance.now();
    let stderr = '';
    let pc1Ms = 0;
    let interruptedAt = 0;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => {
      stderr += text;
      // PC2 starts right after PC1's line; 300 ms later it is inside its Poseidon work
      if (!pc1Ms && stderr.includes('done: PreCommit1')) {
        pc1Ms = performance.now() - startedAt;
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
    // native cancellation stops PC2 within milliseconds and the exit follows; the bound scales
    // with the machine's load through the time PC1 took, so a busy CI host does not fail it
    const boundMs = Math.max(1500, pc1Ms);
    t.true(stopMs < boundMs, `exited ${stopMs.toFixed(0)} ms after SIGINT (bound ${boundMs.toFixed(0)} ms, PC1 took ${pc1Ms.toFixed(0)} ms)`);
    t.regex(stderr, /Error: seal stopped during PreCommit2: received SIGINT \[ABORTED\]/);
    t.false(stderr.includes('done: PreCommit2'));
    const sealed = await readdir(join(dir, 'work', 'sealed'));
    t.deepEqual(sealed, [], 'no sealed file, finished or temporary, is left');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
