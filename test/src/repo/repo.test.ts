import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { ALL_PERMISSIONS, TokenAuthority } from '../../../src/auth/tokens.js';
import { RepoInvalidError, RepoLockedError, UnauthorizedError } from '../../../src/errors.js';
import { multiaddrToUrl, toMultiaddr } from '../../../src/repo/api-info.js';
import { base32Raw } from '../../../src/repo/keystore.js';
import { openRepo } from '../../../src/repo/repo.js';
import { acquireRepoLock } from '../../../src/repo/repo-lock.js';

function tmpRepo(): string {
  return mkdtempSync(join(tmpdir(), 'ss-repo-'));
}

test('creates config, keystore, database and the default storage path on first open', (t) => {
  const dir = tmpRepo();
  try {
    const repo = openRepo(dir);
    t.true(repo.created);
    t.regex(repo.config.nodeId, /^[0-9a-f-]{36}$/);
    t.deepEqual(repo.config, { nodeId: repo.config.nodeId, minerId: 1000, sealProof: 6, sealProofName: 'StackedDrg8MiBV1_1', sectorSize: 8 * 1024 * 1024 });
    t.is(repo.storagePaths.length, 1);
    t.is(repo.storagePaths[0]!.path, join(dir, 'storage'));
    t.true(repo.storagePaths[0]!.meta.CanSeal && repo.storagePaths[0]!.meta.CanStore);
    t.is(repo.storagePaths[0]!.meta.Weight, 10);
    const keyFile = join(dir, 'keystore', 'MF2XI2BNNJ3XILLQOJUXMYLUMU');
    t.is(statSync(keyFile).mode & 0o777, 0o600);
    const secret = repo.jwtSecret;
    repo.close();
    const again = openRepo(dir);
    t.false(again.created);
    t.deepEqual(Buffer.from(again.jwtSecret), Buffer.from(secret));
    t.is(again.storagePaths[0]!.meta.ID, repo.storagePaths[0]!.meta.ID);
    t.is(again.config.nodeId, repo.config.nodeId, 'the node id is persistent');
    again.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a repository created before node ids gets one on its next open, and keeps it', (t) => {
  const dir = tmpRepo();
  try {
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ minerId: 1000, sealProof: 5, sealProofName: 'StackedDrg2KiBV1_1', sectorSize: 2048 }));
    const repo = openRepo(dir);
    const id = repo.config.nodeId;
    repo.close();
    t.is(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).nodeId, id);
    const again = openRepo(dir);
    t.is(again.config.nodeId, id);
    again.close();
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ nodeId: 42, minerId: 1000, sealProof: 5 }));
    t.throws(() => openRepo(dir), { instanceOf: RepoInvalidError, message: /"nodeId" must be a uuid/ });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('refuses to change the sector size of an existing repository', (t) => {
  const dir = tmpRepo();
  try {
    openRepo(dir, { sectorSize: 2048 }).close();
    t.is(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).sealProof, 5);
    const err = t.throws(() => openRepo(dir, { sectorSize: 8 * 1024 * 1024 }), { instanceOf: RepoInvalidError });
    t.regex(err!.message, /StackedDrg2KiBV1_1/);
    // the failed open released its lock
    openRepo(dir).close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a second open of a locked repository fails naming the holder pid', (t) => {
  const dir = tmpRepo();
  try {
    const repo = openRepo(dir);
    const err = t.throws(() => openRepo(dir), { instanceOf: RepoLockedError });
    t.regex(err!.message, new RegExp(`process ${process.pid}`));
    repo.close();
    openRepo(dir).close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('takes over the stale lock of a dead process', async (t) => {
  const dir = tmpRepo();
  try {
    const child = spawn(process.execPath, ['-e', '0']);
    const pid = child.pid!;
    await new Promise((resolve) => child.on('exit', resolve));
    writeFileSync(join(dir, 'repo.lock'), JSON.stringify({ pid, host: '', since: 1 }));
    const lock = acquireRepoLock(dir);
    t.is(JSON.parse(readFileSync(join(dir, 'repo.lock'), 'utf8')).pid, process.pid);
    lock.release();
    t.throws(() => statSync(join(dir, 'repo.lock')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('signs Lotus-style HS256 tokens and verifies only its own', (t) => {
  const a = new TokenAuthority(Buffer.alloc(32, 1));
  const token = a.createToken(ALL_PERMISSIONS);
  const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
  t.deepEqual(payload, { Allow: ['read', 'write', 'sign', 'admin'] });
  t.deepEqual(a.verifyToken(token), ['read', 'write', 'sign', 'admin']);
  t.throws(() => new TokenAuthority(Buffer.alloc(32, 2)).verifyToken(token), { instanceOf: UnauthorizedError });
  t.throws(() => a.verifyToken('abc'), { instanceOf: UnauthorizedError });
});

test('encodes keystore names and API multiaddrs as Lotus does', (t) => {
  t.is(base32Raw(Buffer.from('auth-jwt-private')), 'MF2XI2BNNJ3XILLQOJUXMYLUMU');
  t.is(toMultiaddr('127.0.0.1', 2345), '/ip4/127.0.0.1/tcp/2345/http');
  t.is(multiaddrToUrl('/ip4/127.0.0.1/tcp/2345/http'), 'http://127.0.0.1:2345');
  t.is(multiaddrToUrl(toMultiaddr('::1', 80)), 'http://[::1]:80');
  t.is(toMultiaddr('127.0.0.1', 2345, 'https'), '/ip4/127.0.0.1/tcp/2345/https', 'a daemon behind TLS (Lotus DialArgs reads /https)');
  t.is(multiaddrToUrl('/ip4/127.0.0.1/tcp/2345/https'), 'https://127.0.0.1:2345');
  t.is(multiaddrToUrl('/dns/miner.example/tcp/443/wss'), 'https://miner.example:443');
  t.throws(() => multiaddrToUrl('127.0.0.1:2345'), { message: /not a multiaddr/ });
});

test('an empty lock file just created by a starting daemon is not taken over; an old one left by a crash is', (t) => {
  const dir = tmpRepo();
  try {
    const file = join(dir, 'repo.lock');
    // a daemon between its O_EXCL create and its write of the pid
    writeFileSync(file, '');
    const err = t.throws(() => acquireRepoLock(dir), { instanceOf: RepoLockedError });
    t.regex(err!.message, /being locked by another process/);
    t.is(readFileSync(file, 'utf8'), '', 'the starting daemon keeps its lock file');
    // the same empty file a minute later is a crash's leftover
    const past = new Date(Date.now() - 60_000);
    utimesSync(file, past, past);
    const lock = acquireRepoLock(dir);
    t.is(JSON.parse(readFileSync(file, 'utf8')).pid, process.pid);
    lock.release();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
