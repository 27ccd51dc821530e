/**
 * The daemon and a `sector-storage worker` process on loopback, each with its own storage path.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { tokenFromAuthNew } from '../../../src/api/methods/common.js';
import { connect as netConnect, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import { ApiClient } from '../../../src/api/rpc-client.js';
import { FILE_TYPES, FileType, type SectorId } from '../../../src/sector/sector-id.js';
import { initStoragePath } from '../../../src/storage/storage-config.js';
import { tempDir, writeSectorEntry } from './storage-fixtures.js';
import { silentLogger } from '../../../src/log/logger.js';
import { messageLogger } from '../../helpers/log-recorder.js';

const MAIN = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));
const { sealed: SE, cache: C } = FileType;

interface Proc {
  child: ChildProcess;
  out: string;
  err: string;
}

interface Ctx {
  dir: string;
  procs: ChildProcess[];
  servers: Server[];
}
const test = anyTest as TestFn<Ctx>;

test.beforeEach((t) => {
  t.context.dir = tempDir('ss-two-node-');
  t.context.procs = [];
  t.context.servers = [];
});
test.afterEach.always(async (t) => {
  for (const p of t.context.procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  await Promise.all(t.context.procs.map((p) => (p.exitCode === null && p.signalCode === null ? new Promise((r) => p.once('exit', r)) : undefined)));
  for (const s of t.context.servers) {
    s.closeAllConnections();
    s.close();
  }
  rmSync(t.context.dir, { recursive: true, force: true });
});

function launch(t: ExecutionContext<Ctx>, args: string[], env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SECTOR_STORAGE_PATH: '', ...env } });
  t.context.procs.push(child);
  const p: Proc = { child, out: '', err: '' };
  child.stdout?.on('data', (d) => {
    p.out += d;
  });
  child.stderr?.on('data', (d) => {
    p.err += d;
  });
  return p;
}

async function until<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, proc?: Proc, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (proc && proc.child.exitCode !== null) throw new Error(`${what}: process exited (${proc.child.exitCode}): ${proc.err}`);
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; stderr: ${proc?.err ?? ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

interface Daemon {
  proc: Proc;
  url: string;
  token: string;
  api: ApiClient;
  repo: string;
}

async function startDaemon(t: ExecutionContext<Ctx>, repo: string, port: number, env: Record<string, string> = {}): Promise<Daemon> {
  rmSync(join(repo, 'api'), { force: true });
  const proc = launch(t, ['run', '--repo', repo, '--listen', `127.0.0.1:${port}`, '--threads', '1'], env);
  await until('daemon api file', () => (existsSync(join(repo, 'api')) ? true : undefined), proc);
  const url = `http://127.0.0.1:${port}`;
  const token = readFileSync(join(repo, 'token'), 'utf8').trim();
  const api = new ApiClient({ url, token });
  t.teardown(() => api.close());
  return { proc, url, token, api, repo };
}

interface Worker {
  proc: Proc;
  url: string;
  listen: string;
  id: string;
}

async function startWorker(t: ExecutionContext<Ctx>, d: Daemon, storage: string, advertise?: string): Promise<Worker> {
  // the worker's own repository sits next to its storage path (one per storage path, so a restart finds it)
  const args = ['worker', '--manager', d.url, '--token', d.token, '--storage', storage, '--repo', `${storage}.repo`, '--listen', '127.0.0.1:0', '--json'];
  if (advertise) args.push('--advertise', advertise);
  const proc = launch(t, args);
  const info = await until('worker start', () => {
    try {
      return JSON.parse(proc.out) as { id: string; url: string; listen: string };
    } catch {
      return undefined;
    }
  }, proc);
  return { proc, url: info.url, listen: info.listen, id: info.id };
}

/** Every (type, sector) entry on a storage path's disk. */
function onDisk(root: string): string[] {
  const out: string[] = [];
  for (const t of FILE_TYPES) {
    for (const n of readdirSync(join(root, t))) if (n !== 'fetching') out.push(`${t}/${n}`);
  }
  return out.sort();
}

/** Every (type, sector) entry the index lists for a storage. */
async function inIndex(api: ApiClient, id: string): Promise<string[]> {
  const list = await api.call('StorageList');
  const out: string[] = [];
  for (const d of list[id] ?? []) for (const t of FILE_TYPES) if (d.SectorFileType & FileType[t]) out.push(`${t}/s-t0${d.Miner}-${d.Number}`);
  return out.sort();
}

function localPath(api: ApiClient) {
  return api.call('StorageLocalPaths').then((l) => l[0] as { ID: string; LocalPath: string });
}

test.serial('a sector declared on the worker is found, fetched to the daemon in move mode, and the index agrees with both disks', async (t) => {
  const { dir } = t.context;
  const d = await startDaemon(t, join(dir, 'repo'), await freePort());
  const wRoot = join(dir, 'worker-store');
  const wMeta = initStoragePath(wRoot, { canSeal: true, weight: 10 });
  const sector: SectorId = { miner: 1000, number: 7 };
  const sealed = writeSectorEntry(wRoot, 'sealed', sector, 300_000, 5);
  const tree = writeSectorEntry(wRoot, 'cache', sector, 40_000, 6);
  const w = await startWorker(t, d, wRoot);

  const found = await d.api.call('StorageFindSector', sector, SE, 0, false);
  t.deepEqual(found.map((f) => [f.ID, f.URLs]), [[wMeta.ID, [`${w.url}/remote/sealed/s-t01000-7`]]]);

  const daemonPath = await localPath(d.api);
  const paths = await d.api.call('StorageFetch', sector, SE | C, 'storage', 'move');
  t.is(paths.paths.sealed, join(daemonPath.LocalPath, 'sealed', 's-t01000-7'));
  t.true(readFileSync(join(daemonPath.LocalPath, 'sealed', 's-t01000-7')).equals(sealed));
  t.true(readFileSync(join(daemonPath.LocalPath, 'cache', 's-t01000-7', 'sc-02-data-tree-r-last.dat')).equals(tree));
  t.false(existsSync(join(wRoot, 'sealed', 's-t01000-7')), 'move mode removed the source file');
  t.false(existsSync(join(wRoot, 'cache', 's-t01000-7')), 'and the source cache directory');
  const after = await d.api.call('StorageFindSector', sector, SE | C, 0, false);
  t.deepEqual(after.map((f) => [f.ID, f.Primary]), [[daemonPath.ID, true]]);
  t.deepEqual(await inIndex(d.api, daemonPath.ID), onDisk(daemonPath.LocalPath));
  t.deepEqual(await inIndex(d.api, wMeta.ID), onDisk(wRoot));
  t.deepEqual(onDisk(wRoot), []);
});

test.serial('a worker restarted on a new port replaces its URL in the index instead of adding one', async (t) => {
  const { dir } = t.context;
  const d = await startDaemon(t, join(dir, 'repo'), await freePort());
  const wRoot = join(dir, 'worker-store');
  const wMeta = initStoragePath(wRoot, { canSeal: true, weight: 10 });
  const first = await startWorker(t, d, wRoot);
  t.deepEqual((await d.api.call('StorageInfo', wMeta.ID)).URLs, [`${first.url}/remote`]);
  first.proc.child.kill('SIGKILL');
  await new Promise((r) => first.proc.child.once('exit', r));
  const second = await startWorker(t, d, wRoot);
  t.not(second.url, first.url);
  t.deepEqual((await d.api.call('StorageInfo', wMeta.ID)).URLs, [`${second.url}/remote`], 'the dead address is gone');
});

test.serial('the copy keeps the source, and a cache directory arrives intact', async (t) => {
  const { dir } = t.context;
  const d = await startDaemon(t, join(dir, 'repo'), await freePort());
  const wRoot = join(dir, 'worker-store');
  const wMeta = initStoragePath(wRoot, { canSeal: true, weight: 10 });
  const sector: SectorId = { miner: 1000, number: 3 };
  writeSectorEntry(wRoot, 'cache', sector, 200_000, 9);
  await startWorker(t, d, wRoot);
  const daemonPath = await localPath(d.api);
  await d.api.call('StorageFetch', sector, C, 'sealing', 'copy');
  for (const f of ['p_aux', 't_aux', 'sc-02-data-tree-r-last.dat']) {
    t.true(readFileSync(join(daemonPath.LocalPath, 'cache', 's-t01000-3', f)).equals(readFileSync(join(wRoot, 'cache', 's-t01000-3', f))));
  }
  const holders = await d.api.call('StorageFindSector', sector, C, 0, false);
  t.deepEqual(holders.map((h) => [h.ID, h.Primary]).sort(), [[daemonPath.ID, false], [wMeta.ID, false]].sort());
});

/**
 * A TCP proxy in front of the worker that, while `hold` is set, forwards only the first
 * `holdAfter` bytes of each response and then stalls.
 */
async function stallingProxy(t: ExecutionContext<Ctx>, target: () => number, holdAfter: number) {
  const state = { hold: true, sockets: new Set<Socket>() };
  const tcp = (await import('node:net')).createServer((client) => {
    state.sockets.add(client);
    const upstream = netConnect(target(), '127.0.0.1');
    state.sockets.add(upstream);
    let passed = 0;
    client.on('data', (c) => upstream.write(c));
    upstream.on('data', (c: Buffer) => {
      if (!state.hold) {
        client.write(c);
        return;
      }
      const room = holdAfter - passed;
      if (room > 0) client.write(c.subarray(0, room));
      passed += c.length;
      if (passed >= holdAfter) upstream.pause();
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    for (const s of state.sockets) s.destroy();
    tcp.close();
  });
  return { port: (tcp.address() as AddressInfo).port, state };
}

test.serial('a fetch killed midway leaves no partial file and no index row, and the retry resumes the download it kept', async (t) => {
  const { dir } = t.context;
  const port = await freePort();
  const repo = join(dir, 'repo');
  let d = await startDaemon(t, repo, port);
  const wRoot = join(dir, 'worker-store');
  const wMeta = initStoragePath(wRoot, { canSeal: true, weight: 10 });
  const sector: SectorId = { miner: 1000, number: 8 };
  const data = writeSectorEntry(wRoot, 'sealed', sector, 6 * 1024 * 1024, 3);
  let workerPort = 0;
  const proxy = await stallingProxy(t, () => workerPort, 5 * 1024 * 1024);
  const w = await startWorker(t, d, wRoot, `127.0.0.1:${proxy.port}`);
  workerPort = Number(new URL(w.listen).port);
  t.is(w.url, `http://127.0.0.1:${proxy.port}`, 'the worker advertises the proxy');
  const daemonPath = await localPath(d.api);
  const temp = join(daemonPath.LocalPath, 'sealed', 'fetching', 's-t01000-8');

  const pending = d.api.call('StorageFetch', sector, SE, 'sealing', 'copy').catch((e: Error) => e);
  // killed once its first 4 MiB are recorded beside the download
  const record = `${temp}.fetch`;
  const recorded = () => (existsSync(record) && /"written":\[\[0,\d+\]\]/.test(readFileSync(record, 'utf8')) ? true : undefined);
  await until('progress recorded', recorded, d.proc);
  d.proc.child.kill('SIGKILL');
  await new Promise((r) => d.proc.child.once('exit', r));
  t.true((await pending) instanceof Error, 'the call died with the daemon');
  t.false(existsSync(join(daemonPath.LocalPath, 'sealed', 's-t01000-8')), 'no file under the sector name');

  proxy.state.hold = false;
  d = await startDaemon(t, repo, port);
  t.true(existsSync(temp) && existsSync(record), 'the interrupted download and its record were kept at start');
  t.regex(d.proc.out + d.proc.err, /kept .*s-t01000-8 \(an interrupted download with \d+ bytes recorded/);
  const holders = await d.api.call('StorageFindSector', sector, SE, 0, false);
  t.deepEqual(holders.map((h) => h.ID), [wMeta.ID], 'no index row for the killed fetch');

  try {
    await d.api.call('StorageFetch', sector, SE, 'sealing', 'copy');

  } catch (err) {
    t.log(d.proc.err, w.proc.err);
    throw err;
  }
  // Buffer.equals: ava's deepEqual on megabytes blocks the event loop for seconds
  t.true(readFileSync(join(daemonPath.LocalPath, 'sealed', 's-t01000-8')).equals(data));
  t.regex(d.proc.out + d.proc.err, /resuming .*s-t01000-8: \d+ of 6291456 bytes kept .*checked by digests/);
  t.deepEqual(readdirSync(join(daemonPath.LocalPath, 'sealed', 'fetching')), []);
  t.deepEqual(await inIndex(d.api, daemonPath.ID), onDisk(daemonPath.LocalPath));
});

function raw(url: string, path: string, token?: string): Promise<{ status: number; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, headers: token ? { Authorization: `Bearer ${token}` } : {} }, async (res) => {
      let body = '';
      for await (const c of res) body += c;
      resolve({ status: res.statusCode ?? 0, body });
    });
    req.on('error', reject);
    req.end();
  });
}

test.serial('/remote on the daemon and on the worker refuses missing, weak and forged tokens and bad paths', async (t) => {
  const { dir } = t.context;
  const d = await startDaemon(t, join(dir, 'repo'), await freePort());
  const wRoot = join(dir, 'worker-store');
  initStoragePath(wRoot, { canSeal: true });
  writeSectorEntry(wRoot, 'sealed', { miner: 1000, number: 1 }, 1000);
  const w = await startWorker(t, d, wRoot);
  const readOnly = tokenFromAuthNew(await d.api.call('AuthNew', ['read', 'write']));
  for (const base of [d.url, w.url]) {
    t.is((await raw(base, '/remote/sealed/s-t01000-1')).status, 401, `${base} without a token`);
    t.is((await raw(base, '/remote/sealed/s-t01000-1', `${d.token.slice(0, -3)}abc`)).status, 401, `${base} forged token`);
    t.is((await raw(base, '/remote/sealed/s-t01000-1', readOnly)).status, 403, `${base} non-admin token`);
    const traversal = await raw(base, '/remote/sealed/%2e%2e%2f%2e%2e%2fsectorstore.json', d.token);
    t.is(traversal.status, 400, `${base} encoded dot-dot`);
    const dotdot = await raw(base, '/remote/../../etc/passwd', d.token);
    t.true(dotdot.status === 400 || dotdot.status === 404, `${base} raw dot-dot is refused (${dotdot.status})`);
    t.is((await raw(base, '/remote/sealed//etc/passwd', d.token)).status, 400, `${base} absolute path`);
    t.is((await raw(base, '/remote/layers/s-t01000-1', d.token)).status, 400, `${base} unknown file type`);
    t.is((await raw(base, '/remote/sealed/s-t01000-1x', d.token)).status, 400, `${base} malformed sector name`);
  }
  const ok = await raw(w.url, '/remote/sealed/s-t01000-1', d.token);
  t.is(ok.status, 200);
  t.is(ok.body.length, 1000);
  t.is((await raw(d.url, '/remote/sealed/s-t01000-1', d.token)).status, 404, 'the daemon does not serve what only the worker holds');
});

test.serial('a worker re-declares its paths and sectors when the manager restarts without them', async (t) => {
  const { dir } = t.context;
  const port = await freePort();
  const repo = join(dir, 'repo');
  let d = await startDaemon(t, repo, port);
  const wRoot = join(dir, 'worker-store');
  const wMeta = initStoragePath(wRoot, { canSeal: true });
  const sector = { miner: 1000, number: 5 };
  writeSectorEntry(wRoot, 'sealed', sector, 1000);
  const logs: string[] = [];
  const { startStorageWorker } = await import('../../../src/daemon/storage-worker.js');
  const w = await startStorageWorker({
    managerUrl: d.url,
    token: d.token,
    storage: [wRoot],
    host: '127.0.0.1',
    port: 0,
    heartbeatIntervalMs: 100,
    log: messageLogger(logs),
  });
  t.teardown(() => w.stop());
  t.deepEqual((await d.api.call('StorageFindSector', sector, SE, 0, false)).map((h) => h.ID), [wMeta.ID]);
  // The manager loses its index (a fresh database) and comes back on the same address.
  d.proc.child.kill('SIGTERM');
  await new Promise((r) => d.proc.child.once('exit', r));
  for (const f of ['sector-storage.db', 'sector-storage.db-wal', 'sector-storage.db-shm']) rmSync(join(repo, f), { force: true });
  d = await startDaemon(t, repo, port);
  const found = await until('re-declaration by the worker', async () => {
    const h = await d.api.call('StorageFindSector', sector, SE, 0, false);
    return h.length > 0 ? h : undefined;
  });
  t.deepEqual(found.map((h) => [h.ID, h.URLs]), [[wMeta.ID, [`${w.url}/remote/sealed/s-t01000-5`]]]);
  t.true(logs.some((l) => /manager restarted .* re-declaring storage/.test(l)));
});

test.serial('a worker whose second path fails at start takes its first path out of service at once', async (t) => {
  const { dir } = t.context;
  const d = await startDaemon(t, join(dir, 'repo'), await freePort());
  const good = join(dir, 'good');
  const goodMeta = initStoragePath(good, { canSeal: true, weight: 10 });
  const sector = { miner: 1000, number: 6 };
  writeSectorEntry(good, 'sealed', sector, 1000);
  const bad = join(dir, 'bad');
  mkdirSync(bad);
  writeFileSync(join(bad, 'stray'), 'not a storage path');
  const { startStorageWorker } = await import('../../../src/daemon/storage-worker.js');
  await t.throwsAsync(
    startStorageWorker({ managerUrl: d.url, token: d.token, storage: [good, bad], host: '127.0.0.1', port: 0, log: silentLogger() }),
    { code: 'STORAGE_CONFIG_INVALID' },
  );
  const status = (await d.api.call('StorageSummary')).find((s) => s.info.ID === goodMeta.ID);
  t.truthy(status, 'the path stays known with its sector files');
  t.false(status?.healthy, 'but is not healthy');
  t.regex(status?.heartbeatErr ?? '', /failed to start: .*bad has files but no sectorstore\.json/);
  const holders = await d.api.call('StorageFindSector', sector, SE, 0, false);
  t.deepEqual(holders.map((h) => [h.ID, h.URLs]), [[goodMeta.ID, []]], 'declared, but not offered for fetching');
  const alloc = await d.api.call('StorageBestAlloc', SE, 2048, 'sealing');
  t.false(alloc.some((a) => a.ID === goodMeta.ID), 'and not offered for new files');
});

/**
 * A worker process (startStorageWorker, as `sector-storage worker` runs it) that takes a write
 * lock through the manager in its own name and then just keeps running (and heartbeating).
 */
function lockingWorker(t: ExecutionContext<Ctx>, d: Daemon, storage: string, sector: SectorId, heartbeatMs: number): Proc {
  const module = new URL('../../../src/daemon/storage-worker.js', import.meta.url).href;
  const script = `
    import { startStorageWorker } from ${JSON.stringify(module)};
    const a = JSON.parse(process.env.LOCKING_WORKER);
    const w = await startStorageWorker({ managerUrl: a.url, token: a.token, storage: [a.storage], host: '127.0.0.1', port: 0, heartbeatIntervalMs: a.ms });
    const lock = await w.locks.acquire(a.sector, 0, ${SE});
    console.log(JSON.stringify({ id: w.id, lock: lock.id }));
    setInterval(() => {}, 1 << 30);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LOCKING_WORKER: JSON.stringify({ url: d.url, token: d.token, storage, sector, ms: heartbeatMs }) },
  });
  t.context.procs.push(child);
  const p: Proc = { child, out: '', err: '' };
  child.stdout?.on('data', (c) => {
    p.out += c;
  });
  child.stderr?.on('data', (c) => {
    p.err += c;
  });
  return p;
}

test.serial('a SIGKILLed worker\'s write lock is released after the skipped-heartbeat threshold and another caller gets it', async (t) => {
  const { dir } = t.context;
  // 300 ms heartbeats → the manager declares an owner dead after 1.5 s of silence (Lotus: 10 s / 50 s)
  const heartbeatMs = 300;
  const d = await startDaemon(t, join(dir, 'repo'), await freePort(), { SECTOR_STORAGE_HEARTBEAT_MS: String(heartbeatMs) });
  const sector: SectorId = { miner: 1000, number: 11 };
  const w = lockingWorker(t, d, join(dir, 'worker-store'), sector, heartbeatMs);
  const held = await until('the worker took the lock', () => {
    try {
      return JSON.parse(w.out) as { id: string; lock: string };
    } catch {
      return undefined;
    }
  }, w);
  const [info] = await d.api.call('StorageGetLocks');
  t.deepEqual(info?.holders.map((h) => [h.id, h.owner, h.write]), [[held.lock, held.id, ['sealed']]], 'held in the worker\'s name');
  // it stays held while the worker heartbeats, several thresholds long
  await until('heartbeats renewing the lease', async () => {
    const [l] = await d.api.call('StorageGetLocks');
    const lastHeard = l?.holders[0]?.lastHeard ?? 0;
    return lastHeard > (l?.holders[0]?.since ?? 0) ? true : undefined;
  });
  const shown = launch(t, ['storage', 'locks', '--repo', d.repo]);
  await new Promise((r) => shown.child.once('exit', r));
  t.regex(shown.out, new RegExp(`s-t01000-11\\s+-\\s+write\\s+-\\s+0\\s+${held.id} \\(heard \\d+s ago\\)`), shown.err);

  const mine = d.api.call('StorageLock', sector, 0, SE | C);
  await until('our request queued', async () => ((await d.api.call('StorageGetLocks'))[0]?.waiting === 1 ? true : undefined));
  w.child.kill('SIGKILL');
  await new Promise((r) => w.child.once('exit', r));
  // granted only once the dead worker's lock is gone
  const lockId = await Promise.race([
    mine,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`the dead worker's lock was not released; daemon log: ${d.proc.out}${d.proc.err}`)), 15_000).unref()),
  ]);
  const after = await d.api.call('StorageGetLocks');
  t.deepEqual(after.map((l) => l.holders.map((h) => [h.id, h.owner ?? null, h.write])), [[[lockId, null, ['sealed', 'cache']]]]);
  const logged = await until('the daemon log line', () => /owner (\S+) not heard from for ([\d.]+) s \(threshold 1.5 s\): declared dead, released 1 lock/.exec(d.proc.out + d.proc.err) ?? undefined);
  t.is(logged[1], held.id);
  // the log rounds to 0.1 s and the sweep only releases past the threshold, so 1.5 is the least it can print
  t.true(Number(logged[2]) >= 1.5, 'released for silence, not earlier');
  t.true(await d.api.call('StorageUnlock', lockId));
});
