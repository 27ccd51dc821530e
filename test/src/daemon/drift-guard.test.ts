import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { cleanup, cliJson, runCli, startDaemon, tmpDir } from '../../helpers/cli-daemon.js';

test.serial('a daemon refuses to start on an empty database beside storage that holds sector files, unless --accept-drift', async (t) => {
  const repo = tmpDir('ss-drift-');
  t.teardown(() => cleanup(repo));
  const file = join(repo, 'payload.bin');
  writeFileSync(file, randomBytes(1500));
  let daemon = await startDaemon(repo, ['--sector-size', '2KiB']);
  try {
    await cliJson(repo, ['pieces', 'add', file]);
    await cliJson(repo, ['pieces', 'add', file]);
  } finally {
    await daemon.stop();
  }
  const unsealed = join(repo, 'storage', 'unsealed');
  const before = readdirSync(unsealed).sort();
  t.deepEqual(before, ['s-t01000-0', 's-t01000-1']);
  // the database is lost (deleted with its WAL)
  for (const f of ['sector-storage.db', 'sector-storage.db-wal', 'sector-storage.db-shm']) rmSync(join(repo, f), { force: true });

  const refused = await runCli(repo, ['run', '--listen', '127.0.0.1:0', '--threads', '1']);
  t.is(refused.code, 1);
  t.regex(refused.stderr, /refusing to start: the database .*sector-storage\.db has no sectors of miner t01000/);
  // (sector 0 is full and may have begun sealing before the stop: its sealed and cache files count too)
  t.true(refused.stderr.includes(`${join(repo, 'storage')} (2 sectors: 2 unsealed`), refused.stderr);
  t.regex(refused.stderr, /--accept-drift \[REPO_DRIFT\]/);
  t.false(existsSync(join(repo, 'api')), 'nothing was served');
  t.deepEqual(readdirSync(unsealed).sort(), before, 'the files are untouched');

  daemon = await startDaemon(repo, ['--accept-drift']);
  try {
    t.regex(daemon.output(), /starting with --accept-drift: .*\(2 sectors: 2 unsealed/);
    t.is((await runCli(repo, ['sectors', 'list'])).code, 0);
    // a new piece goes to a sector numbered above every file on the paths, never over them
    const kept = before.map((n) => readFileSync(join(unsealed, n)));
    const next = await cliJson<{ sector: number }>(repo, ['pieces', 'add', file]);
    t.is(next.sector, 2);
    t.deepEqual(
      before.map((n) => readFileSync(join(unsealed, n))),
      kept,
      'the files of sectors 0 and 1 are untouched',
    );
  } finally {
    const { code } = await daemon.stop();
    t.is(code, 0);
  }
});

test.serial('a fresh repository with no sector files starts without the flag', async (t) => {
  const repo = tmpDir('ss-drift-');
  t.teardown(() => cleanup(repo));
  const daemon = await startDaemon(repo, ['--sector-size', '2KiB']);
  t.false(daemon.output().includes('accept-drift'));
  const stopped = await daemon.stop();
  t.is(stopped.code, 0, stopped.output);
});
