import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { cleanup, runCli, startDaemon, tmpDir } from '../../../helpers/cli-daemon.js';

test.serial('a 100 MB upload through the CLI waits for the socket without piling up listeners', async (t) => {
  const repo = tmpDir('ss-upload-');
  t.teardown(() => cleanup(repo));
  const file = join(repo, 'big.bin');
  writeFileSync(file, randomBytes(100_000_000));
  const daemon = await startDaemon(repo, ['--sector-size', '512MiB']);
  try {
    const r = await runCli(repo, ['pieces', 'add', file, '--json'], 120_000);
    t.is(r.code, 0, r.stderr);
    t.is(JSON.parse(r.stdout).payloadSize, 100_000_000);
    t.false(r.stderr.includes('MaxListenersExceededWarning'), r.stderr);
    t.false(/memory leak/i.test(r.stderr), r.stderr);
  } finally {
    await daemon.stop();
  }
});
