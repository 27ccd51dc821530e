import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { TokenAuthority } from '../../../src/auth/tokens.js';
import { loadOrCreateJwtSecret } from '../../../src/repo/keystore.js';
import { cleanup, cliJson, lockHolder, runCli, startDaemon, tmpDir } from '../../helpers/cli-daemon.js';

test.serial('starts on a fresh repository, answers the CLI, and shuts down cleanly on SIGTERM', async (t) => {
  const dir = tmpDir();
  const repo = join(dir, 'repo');
  const daemon = await startDaemon(repo, ['--sector-size', '2KiB']);
  try {
    const api = readFileSync(join(repo, 'api'), 'utf8');
    t.regex(api, /^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/http$/);
    t.true(daemon.output().includes(api));
    t.is(statSync(join(repo, 'token')).mode & 0o777, 0o600);
    t.is(lockHolder(repo), daemon.pid);
    const config = JSON.parse(readFileSync(join(repo, 'config.json'), 'utf8'));
    t.regex(config.nodeId, /^[0-9a-f-]{36}$/);
    t.deepEqual(config, {
      nodeId: config.nodeId,
      minerId: 1000,
      sealProof: 5,
      sealProofName: 'StackedDrg2KiBV1_1',
      sectorSize: 2048,
    });
    t.true(existsSync(join(repo, 'storage', 'sectorstore.json')));
    const list = await runCli(repo, ['sectors', 'list']);
    t.is(list.code, 0, list.stderr);
    t.is(list.stdout.trim(), 'no sectors');
    t.deepEqual(await cliJson(repo, ['sectors', 'list']), []);
  } finally {
    const { code, output } = await daemon.stop();
    t.is(code, 0, output);
    t.regex(output, /daemon stopped/);
  }
  t.false(existsSync(join(repo, 'api')), 'api file removed');
  t.false(existsSync(join(repo, 'repo.lock')), 'lock released');
  const after = await runCli(repo, ['sectors', 'list']);
  t.is(after.code, 1);
  t.regex(after.stderr, /no daemon is running on repository .*\[DAEMON_UNREACHABLE\]/);
  cleanup(dir);
});

test.serial('a second daemon on the same repository fails naming the holder pid and leaves the first intact', async (t) => {
  const repo = tmpDir();
  const daemon = await startDaemon(repo, ['--sector-size', '2KiB']);
  try {
    const second = await runCli(repo, ['run', '--listen', '127.0.0.1:0']);
    t.is(second.code, 1);
    t.regex(second.stderr, new RegExp(`locked by process ${daemon.pid}.*\\[REPO_LOCKED\\]`));
    t.is(lockHolder(repo), daemon.pid);
    t.true(existsSync(join(repo, 'api')));
    t.is((await runCli(repo, ['sectors', 'list'])).code, 0);
  } finally {
    await daemon.stop();
    cleanup(repo);
  }
});

test.serial('a restarted daemon has the same sectors and pieces, and reads them back', async (t) => {
  const repo = tmpDir();
  const file = join(repo, 'payload.bin');
  const payload = randomBytes(900);
  writeFileSync(file, payload);
  let daemon = await startDaemon(repo, ['--sector-size', '2KiB']);
  let before: unknown;
  let added: { sector: number; offset: number; pieceCid: string };
  try {
    added = await cliJson(repo, ['pieces', 'add', file]);
    before = await cliJson(repo, ['sectors', 'status', String(added.sector)]);
  } finally {
    await daemon.stop();
  }
  daemon = await startDaemon(repo);
  try {
    const after = await cliJson<{ Pieces: Array<{ PieceCID: string }>; UpdatedAt?: number }>(repo, ['sectors', 'status', String(added.sector)]);
    // the restart itself is logged (and so written), nothing else changes
    const { UpdatedAt: _after, ...rest } = after;
    const { UpdatedAt: _before, ...restBefore } = before as typeof after;
    t.deepEqual(rest, restBefore);
    t.is(after.Pieces[0]?.PieceCID, added.pieceCid);
    const out = join(repo, 'back.bin');
    const read = await runCli(repo, ['pieces', 'read', String(added.sector), String(added.offset), String(payload.length), '--out', out]);
    t.is(read.code, 0, read.stderr);
    t.deepEqual(readFileSync(out), payload);
  } finally {
    await daemon.stop();
    cleanup(repo);
  }
});

test.serial('refuses write methods without a token or with a read-only token', async (t) => {
  const repo = tmpDir();
  const file = join(repo, 'payload.bin');
  writeFileSync(file, randomBytes(500));
  const daemon = await startDaemon(repo, ['--sector-size', '2KiB']);
  const tokenFile = join(repo, 'token');
  const admin = readFileSync(tokenFile, 'utf8');
  try {
    const readOnly = new TokenAuthority(loadOrCreateJwtSecret(repo)).createToken(['read']);
    for (const token of [readOnly, undefined]) {
      if (token) writeFileSync(tokenFile, token);
      else rmSync(tokenFile);
      t.is((await runCli(repo, ['sectors', 'list'])).code, 0, 'read methods still work');
      const add = await runCli(repo, ['pieces', 'add', file]);
      t.is(add.code, 1);
      t.regex(add.stderr, /missing permission to invoke 'Filecoin.SectorAddPieceToAny' \(need 'admin'\).*\[UNAUTHORIZED\]/);
    }
    writeFileSync(tokenFile, `${admin.slice(0, -4)}AAAA`);
    const forged = await runCli(repo, ['sectors', 'list']);
    t.is(forged.code, 1);
    t.regex(forged.stderr, /signature.*\[UNAUTHORIZED\]/);
    writeFileSync(tokenFile, admin);
    t.deepEqual(await cliJson(repo, ['sectors', 'list']), [], 'nothing was added by the refused calls');
  } finally {
    await daemon.stop();
    cleanup(repo);
  }
});

test.serial('after a daemon is killed, commands report it as not running and a new daemon takes over the stale lock', async (t) => {
  const repo = tmpDir();
  const first = await startDaemon(repo, ['--sector-size', '2KiB']);
  first.child.kill('SIGKILL');
  await first.stop();
  t.true(existsSync(join(repo, 'api')), 'a killed daemon leaves its api file');
  t.is(lockHolder(repo), first.pid, 'and its lock');
  const r = await runCli(repo, ['sectors', 'list']);
  t.is(r.code, 1);
  t.regex(r.stderr, /is not running \(nothing listens at \/ip4\/127\.0\.0\.1\/tcp\/\d+\/http\).*\[DAEMON_UNREACHABLE\]/);
  const second = await startDaemon(repo);
  try {
    t.is(lockHolder(repo), second.pid);
    t.is((await runCli(repo, ['sectors', 'list'])).code, 0);
  } finally {
    await second.stop();
    cleanup(repo);
  }
});

test.serial('run --inspect-log writes the actor system inspection events as NDJSON, sector actors included', async (t) => {
  const dir = tmpDir();
  const repo = join(dir, 'repo');
  const log = join(dir, 'actors.ndjson');
  const daemon = await startDaemon(repo, ['--sector-size', '2KiB', '--inspect-log', log]);
  try {
    const file = join(dir, 'payload.bin');
    writeFileSync(file, randomBytes(300));
    const added = await runCli(repo, ['pieces', 'add', file]);
    t.is(added.code, 0, added.stderr);
  } finally {
    await daemon.stop();
  }
  const records = readFileSync(log, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  t.true(records.length > 3);
  const text = JSON.stringify(records);
  t.true(text.includes('scheduler'), 'the root actor is inspected');
  t.true(/"actor":"sector:\d+"/.test(text), 'the sector actor is inspected');
  t.true(text.includes('WaitDeals') || text.includes('AddPiece'), 'sector snapshots carry their state');
  cleanup(dir);
});
