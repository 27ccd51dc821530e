/**
 * `sector-storage storage …` against a running daemon, and the pure formatters.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import anyTest, { type TestFn } from 'ava';
import { ApiClient } from '../../../src/api/rpc-client.js';
import { formatFound, formatLocks, formatStorageList, groupFound, spaceBar } from '../../../src/cli/commands/storage.js';
import { FileType } from '../../../src/sector/sector-id.js';
import { initStoragePath } from '../../../src/storage/storage-config.js';
import { tempDir, writeSectorEntry } from './storage-fixtures.js';

const MAIN = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));
const GiB = 1024 ** 3;

interface Ctx {
  dir: string;
  repo: string;
  daemon: ChildProcess;
  api: ApiClient;
}
const test = anyTest as TestFn<Ctx>;

function cli(repo: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, '--repo', repo, ...args], (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

test.before(async (t) => {
  const dir = tempDir('ss-storage-cli-');
  const repo = join(dir, 'repo');
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  const daemon = spawn(process.execPath, [MAIN, 'run', '--repo', repo, '--listen', `127.0.0.1:${port}`, '--threads', '1'], { stdio: 'ignore' });
  const end = Date.now() + 30_000;
  while (!existsSync(join(repo, 'api'))) {
    if (Date.now() > end || daemon.exitCode !== null) throw new Error('daemon did not start');
    await new Promise((r) => setTimeout(r, 25));
  }
  const api = new ApiClient({ url: `http://127.0.0.1:${port}`, token: readFileSync(join(repo, 'token'), 'utf8').trim() });
  Object.assign(t.context, { dir, repo, daemon, api });
});
test.after.always(async (t) => {
  t.context.api?.close();
  if (t.context.daemon && t.context.daemon.exitCode === null) {
    t.context.daemon.kill('SIGTERM');
    await new Promise((r) => t.context.daemon.once('exit', r));
  }
  rmSync(t.context.dir, { recursive: true, force: true });
});

test.serial('attach --init creates and attaches a path; attaching it again is refused', async (t) => {
  const { repo, dir } = t.context;
  const p = join(dir, 'fast');
  const ok = await cli(repo, ['storage', 'attach', '--init', '--seal', '--weight', '30', '--max-storage', '2GiB', p]);
  t.is(ok.code, 0, ok.stderr);
  t.regex(ok.stdout, new RegExp(`attached ${p} as [0-9a-f-]{36} \\(seal; weight 30; max 2 GiB\\)`));
  const again = await cli(repo, ['storage', 'attach', p]);
  t.is(again.code, 1);
  t.regex(again.stderr, /already attached .*\[STORAGE_EXISTS\]/);
  const reinit = await cli(repo, ['storage', 'attach', '--init', '--store', p]);
  t.is(reinit.code, 1);
  t.regex(reinit.stderr, /already initialised .*\[STORAGE_EXISTS\]/);
});

test.serial('attach refuses a missing path, a corrupted sectorstore.json and --init without a use', async (t) => {
  const { repo, dir } = t.context;
  const missing = await cli(repo, ['storage', 'attach', join(dir, 'nope')]);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /nope does not exist \[STORAGE_NOT_FOUND\]/);
  const bad = join(dir, 'bad');
  mkdirSync(bad);
  writeFileSync(join(bad, 'sectorstore.json'), '{"ID": "x", "Weight": "ten"}');
  const corrupt = await cli(repo, ['storage', 'attach', bad]);
  t.is(corrupt.code, 1);
  t.regex(corrupt.stderr, /sectorstore\.json is corrupted: "Weight" must be a non-negative integer .*\[STORAGE_CONFIG_INVALID\]/);
  const noUse = await cli(repo, ['storage', 'attach', '--init', join(dir, 'x')]);
  t.is(noUse.code, 2);
  t.regex(noUse.stderr, /--init needs --seal and\/or --store/);
  t.false(existsSync(join(dir, 'x')));
  const flagsWithoutInit = await cli(repo, ['storage', 'attach', '--seal', join(dir, 'x')]);
  t.is(flagsWithoutInit.code, 2);
});

test.serial('a path holding a file that is not a sector file attaches, and attach and list name the file', async (t) => {
  const { repo, dir } = t.context;
  const p = join(dir, 'messy');
  initStoragePath(p, { canStore: true });
  writeFileSync(join(p, 'sealed', 'notes.txt'), 'hello');
  const r = await cli(repo, ['storage', 'attach', p]);
  t.is(r.code, 0, r.stderr);
  const named = `not a sector file (left alone; move it out of the path): ${join(p, 'sealed', 'notes.txt')}`;
  t.true(r.stdout.toLowerCase().includes(named.toLowerCase()), r.stdout);
  const list = await cli(repo, ['storage', 'list']);
  t.true(list.stdout.toLowerCase().includes(named.toLowerCase()), list.stdout);
  t.is(readFileSync(join(p, 'sealed', 'notes.txt'), 'utf8'), 'hello');
});

test.serial('list, find and locks show what the index knows', async (t) => {
  const { repo, dir, api } = t.context;
  const p = join(dir, 'archive');
  initStoragePath(p, { canStore: true, weight: 5 });
  writeSectorEntry(p, 'sealed', { miner: 1000, number: 42 });
  writeSectorEntry(p, 'cache', { miner: 1000, number: 42 });
  const attached = await cli(repo, ['storage', 'attach', '--json', p]);
  const id = JSON.parse(attached.stdout).ID as string;

  const list = await cli(repo, ['storage', 'list']);
  t.is(list.code, 0, list.stderr);
  const block = list.stdout.slice(list.stdout.indexOf(`${id}:`));
  t.regex(block, /^\S+:\n\t\[[#* ]{50}\] \S+ \S+\/\S+ \S+ \d+%\n\tUnsealed: 0; Sealed: 1; Caches: 1; Reserved: 0 B\n\tWeight: 5; Use: Store\n\tLocal: .*archive\n\tURL: http:\/\/127\.0\.0\.1:\d+\/remote\n/);

  const found = await cli(repo, ['storage', 'find', '42']);
  t.is(found.code, 0, found.stderr);
  t.is(
    found.stdout,
    [`In ${id} (Sealed, Cache) [primary]`, '\tSealing: false; Storage: true', `\tLocal (${p})`]
      .concat(['sealed', 'cache'].map((ty) => `\tURL: ${(/URL: (\S+)/.exec(block) as RegExpExecArray)[1]}/${ty}/s-t01000-42`))
      .join('\n')
      .concat('\n'),
  );
  const unknown = await cli(repo, ['storage', 'find', '4242']);
  t.is(unknown.code, 1);
  t.regex(unknown.stderr, /sector 4242 \(s-t01000-4242\) is not stored in any storage path \[SECTOR_UNKNOWN\]/);

  const lockId = await api.call('StorageLock', { miner: 1000, number: 42 }, FileType.sealed, FileType.cache, 'worker-x');
  const locks = await cli(repo, ['storage', 'locks']);
  t.regex(locks.stdout, /s-t01000-42\s+-\s+read×1\s+write\s+0\s+worker-x/);
  t.is(await api.call('StorageTryLock', { miner: 1000, number: 42 }, 0, FileType.sealed), null, 'a writer is refused while read-locked');
  // A blocking StorageLock whose caller goes away stops waiting on the daemon.
  const ac = new AbortController();
  const waiting = api.call('StorageLock', { miner: 1000, number: 42 }, 0, FileType.sealed, 'worker-y', { signal: ac.signal });
  const queued = async () => (await api.call('StorageGetLocks'))[0]?.waiting;
  for (let i = 0; i < 200 && (await queued()) !== 1; i++) await new Promise((r) => setTimeout(r, 10));
  t.is(await queued(), 1);
  ac.abort();
  await t.throwsAsync(waiting, { code: 'ABORTED' });
  for (let i = 0; i < 200 && (await queued()) !== 0; i++) await new Promise((r) => setTimeout(r, 10));
  t.is(await queued(), 0, 'the abandoned request left the queue');
  t.true(await api.call('StorageUnlock', lockId));
  t.is((await cli(repo, ['storage', 'locks'])).stdout, 'no sector locks held\n');

  const detached = await cli(repo, ['storage', 'detach', id]);
  t.is(detached.code, 0, detached.stderr);
  t.deepEqual(await api.call('StorageFindSector', { miner: 1000, number: 42 }, FileType.sealed, 0, false), []);
});

test.serial('detach of an id that is not local removes it from the index; RPC params are validated', async (t) => {
  const { repo, api } = t.context;
  const stat = { Capacity: GiB, Available: GiB, FSAvailable: GiB, Reserved: 0, Max: 0, Used: 0 };
  await api.call('StorageAttach', { ID: 'gone-worker', URLs: ['http://10.9.9.9:3456/remote'], Weight: 10, MaxStorage: 0, CanSeal: true, CanStore: false }, stat);
  const call = api.call.bind(api) as unknown as (m: string, ...p: unknown[]) => Promise<unknown>;
  await call('StorageDeclareSector', 'gone-worker', { Miner: 1000, Number: 77 }, FileType.sealed, true); // Lotus-style id
  const r = await cli(repo, ['storage', 'detach', 'gone-worker']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /detached remote storage gone-worker \(http:\/\/10\.9\.9\.9:3456\/remote\) from the index/);
  t.deepEqual(await api.call('StorageFindSector', { miner: 1000, number: 77 }, FileType.sealed, 0, false), []);
  const unknown = await cli(repo, ['storage', 'detach', 'no-such-id']);
  t.is(unknown.code, 1);
  t.regex(unknown.stderr, /sector store "no-such-id" not found \[STORAGE_NOT_FOUND\]/);
  await t.throwsAsync(call('StorageDeclareSector', 'x', { miner: 1, number: 1 }, 9, true), { code: 'INVALID_ARGUMENT', message: /param types 9/ });
  await t.throwsAsync(call('StorageFindSector', { miner: -1, number: 1 }, 2, 0, false), { code: 'INVALID_ARGUMENT', message: /param sector/ });
  await t.throwsAsync(call('StorageBestAlloc', 2, 2048, 'scratch'), { code: 'INVALID_ARGUMENT', message: /pathType/ });
  await t.throwsAsync(call('StorageReportHealth', 'gone-worker', { Stat: stat }), { code: 'STORAGE_NOT_FOUND' });
  await t.throwsAsync(call('StorageLock', { miner: 1, number: 1 }, 0, 0), { code: 'LOCK_FAILED' });
  await t.throwsAsync(call('StorageCleanup', 'yes'), { code: 'INVALID_ARGUMENT', message: /param apply must be true or false \(got "yes"\)/ });
  await t.throwsAsync(call('StorageCleanup'), { code: 'INVALID_ARGUMENT', message: /expected 1 params, got 0/ });
  await t.throwsAsync(call('StorageRedeclareLocal', 42, true), { code: 'INVALID_ARGUMENT', message: /param id must be a string/ });
  await t.throwsAsync(call('StorageRedeclareLocal', null, 'no'), { code: 'INVALID_ARGUMENT', message: /param dropMissing must be true or false/ });
  await t.throwsAsync(call('StorageRedeclareLocal', 'no-such-path', true), { code: 'STORAGE_NOT_FOUND' });
  await t.throwsAsync(call('StorageListSectors', 1), { code: 'INVALID_ARGUMENT', message: /expected 0 params, got 1/ });
});

test.serial('list sectors shows every declared file with its type, primary copy, path use and URLs, store paths first', async (t) => {
  const { repo, dir } = t.context;
  const store = join(dir, 'rows-store');
  const seal = join(dir, 'rows-seal');
  initStoragePath(store, { canStore: true });
  initStoragePath(seal, { canSeal: true });
  writeSectorEntry(store, 'sealed', { miner: 1000, number: 50 });
  writeSectorEntry(store, 'cache', { miner: 1000, number: 50 });
  writeSectorEntry(seal, 'unsealed', { miner: 1000, number: 51 });
  const a = JSON.parse((await cli(repo, ['storage', 'attach', '--json', store])).stdout).ID as string;
  const b = JSON.parse((await cli(repo, ['storage', 'attach', '--json', seal])).stdout).ID as string;
  const r = await cli(repo, ['storage', 'list', 'sectors']);
  t.is(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n');
  t.regex(lines[0] as string, /^Storage\s+Sector\s+Type\s+State\s+Primary\s+Path use\s+URLs$/);
  const mine = lines.filter((l) => l.startsWith(a) || l.startsWith(b));
  t.is(mine.length, 3);
  t.regex(mine[0] as string, new RegExp(`^${a}\\s+50\\s+Sealed\\s+-\\s+primary\\s+store\\s+http://127\\.0\\.0\\.1:\\d+/remote$`));
  t.regex(mine[1] as string, new RegExp(`^${a}\\s+50\\s+Cache\\s+-\\s+primary\\s+store\\s+http`));
  t.regex(mine[2] as string, new RegExp(`^${b}\\s+51\\s+Unsealed\\s+-\\s+seal\\s+http`), 'a copy on a sealing path is not primary');
  t.true(lines.indexOf(mine[2] as string) > lines.indexOf(mine[0] as string), 'store paths first');
  const json = JSON.parse((await cli(repo, ['storage', 'list', 'sectors', '--json'])).stdout) as { storage: string; sector: { number: number }; type: string; primary: boolean }[];
  t.deepEqual(
    json.filter((x) => x.storage === b).map((x) => [x.sector.number, x.type, x.primary]),
    [[51, 'unsealed', false]],
  );
});

test.serial('cleanup lists each kind of drift without changing anything, and --apply removes it', async (t) => {
  const { repo, dir, api } = t.context;
  const p = join(dir, 'drifty');
  initStoragePath(p, { canStore: true });
  writeSectorEntry(p, 'sealed', { miner: 1000, number: 60 });
  const id = JSON.parse((await cli(repo, ['storage', 'attach', '--json', p])).stdout).ID as string;
  // drift seeded behind the daemon's back
  rmSync(join(p, 'sealed', 's-t01000-60')); // a declaration whose file is gone
  writeSectorEntry(p, 'unsealed', { miner: 1000, number: 61 }); // a file the index does not list
  writeSectorEntry(p, 'unsealed', { miner: 2000, number: 1 }); // another miner's file
  mkdirSync(join(p, 'cache', 'fetching'), { recursive: true });
  mkdirSync(join(p, 'cache', 'fetching', 's-t01000-62'));
  writeFileSync(join(p, 'cache', 'fetching', 's-t01000-62', 'p_aux'), 'partial'); // an interrupted download of a cache
  mkdirSync(join(p, 'sealed', 'fetching'));
  writeFileSync(join(p, 'sealed', 'fetching', 's-t01000-63'), 'partial'); // and of a file
  writeFileSync(join(p, 'sealed', 'notes.txt'), 'mine'); // not a sector file: never touched

  const dry = await cli(repo, ['storage', 'cleanup']);
  t.is(dry.code, 0, dry.stderr);
  const ours = dry.stdout.split('\n').filter((l) => l.includes(p) || l.includes(id));
  t.deepEqual(ours.sort(), [
    `keep: ${join(p, 'unsealed', 's-t02000-1')} (a file of miner 2000, not of this node's miner 1000: left alone)`,
    `would drop: the declaration of sealed/s-t01000-60 on ${id} (declared here, but the file is gone: the declaration is dropped)`,
    `would remove: ${join(p, 'cache', 'fetching', 's-t01000-62')} (an interrupted download no fetch is resuming)`,
    `would remove: ${join(p, 'sealed', 'fetching', 's-t01000-63')} (an interrupted download no fetch is resuming)`,
    `would remove: ${join(p, 'unsealed', 's-t01000-61')} (not in the index, and no sector record needs it)`,
  ]);
  t.regex(dry.stdout, /change\(s\) planned; run "storage cleanup --apply" to make them/);
  t.true(existsSync(join(p, 'unsealed', 's-t01000-61')), 'a dry run changes nothing');
  t.is((await api.call('StorageFindSector', { miner: 1000, number: 60 }, FileType.sealed, 0, false)).length, 1);

  const applied = await cli(repo, ['storage', 'cleanup', '--apply', '--json']);
  t.is(applied.code, 0, applied.stderr);
  const report = JSON.parse(applied.stdout) as { applied: boolean; items: { path: string; done: boolean; action: string }[] };
  t.true(report.applied);
  t.true(report.items.filter((i) => i.path.startsWith(p) && i.action !== 'keep').every((i) => i.done));
  t.false(existsSync(join(p, 'unsealed', 's-t01000-61')));
  t.false(existsSync(join(p, 'cache', 'fetching', 's-t01000-62')));
  t.false(existsSync(join(p, 'sealed', 'fetching', 's-t01000-63')));
  t.true(existsSync(join(p, 'unsealed', 's-t02000-1')));
  t.is(readFileSync(join(p, 'sealed', 'notes.txt'), 'utf8'), 'mine');
  t.deepEqual(await api.call('StorageFindSector', { miner: 1000, number: 60 }, FileType.sealed, 0, false), []);
  const again = await cli(repo, ['storage', 'cleanup']);
  t.deepEqual(again.stdout.split('\n').filter((l) => l.includes(p) && !l.startsWith('keep:')), [], 'nothing left to do');
});

test.serial('redeclare after a file was moved between paths by hand makes the index follow it', async (t) => {
  const { repo, dir, api } = t.context;
  const a = join(dir, 'moved-from');
  const b = join(dir, 'moved-to');
  initStoragePath(a, { canStore: true });
  initStoragePath(b, { canStore: true });
  const sector = { miner: 1000, number: 70 };
  writeSectorEntry(a, 'sealed', sector);
  const idA = JSON.parse((await cli(repo, ['storage', 'attach', '--json', a])).stdout).ID as string;
  const idB = JSON.parse((await cli(repo, ['storage', 'attach', '--json', b])).stdout).ID as string;
  const { renameSync } = await import('node:fs');
  renameSync(join(a, 'sealed', 's-t01000-70'), join(b, 'sealed', 's-t01000-70'));
  t.deepEqual((await api.call('StorageFindSector', sector, FileType.sealed, 0, false)).map((h) => h.ID), [idA], 'the index still says A');
  const usage = await cli(repo, ['storage', 'redeclare']);
  t.is(usage.code, 2);
  t.regex(usage.stderr, /give --id ID or --all/);
  const both = await cli(repo, ['storage', 'redeclare', '--id', idB, '--all']);
  t.is(both.code, 2);
  t.regex(both.stderr, /give --id ID or --all/);
  const one = await cli(repo, ['storage', 'redeclare', '--id', idB]);
  t.is(one.code, 0, one.stderr);
  t.is(one.stdout, `${idB} (${b}): 1 sector(s) declared, 0 declaration(s) of missing files dropped\n`);
  const all = await cli(repo, ['storage', 'redeclare', '--all']);
  t.is(all.code, 0, all.stderr);
  t.regex(all.stdout, new RegExp(`${idA} \\(${a}\\): 0 sector\\(s\\) declared, 1 declaration\\(s\\) of missing files dropped`));
  const found = await api.call('StorageFindSector', sector, FileType.sealed, 0, false);
  t.deepEqual(found.map((h) => [h.ID, h.Primary]), [[idB, true]]);
  const unknown = await cli(repo, ['storage', 'redeclare', '--id', 'no-such-path']);
  t.is(unknown.code, 1);
  t.regex(unknown.stderr, /STORAGE_NOT_FOUND/);
});

test('the space bar marks used, reserved and free columns', (t) => {
  t.is(spaceBar(50, 25, 100), `[${'#'.repeat(25)}${'*'.repeat(13)}${' '.repeat(12)}]`);
  t.is(spaceBar(100, 100, 100), `[${'#'.repeat(50)}]`);
  t.is(spaceBar(0, 0, 0), `[${' '.repeat(50)}]`);
});

test('the list shows a limit bar, read-only use and stale or failing heartbeats', (t) => {
  const base = {
    info: { ID: 'a', URLs: ['http://h/remote'], Weight: 0, MaxStorage: 10 * GiB, CanSeal: false, CanStore: false },
    stat: { Capacity: 100 * GiB, Available: 5 * GiB, FSAvailable: 60 * GiB, Reserved: 2 * GiB, Max: 10 * GiB, Used: 3 * GiB },
    lastHeartbeat: 0,
    heartbeatErr: null,
    healthy: false,
    counts: { unsealed: 1, sealed: 2, cache: 3 },
  };
  const lines = formatStorageList([base, { ...base, info: { ...base.info, ID: 'b' }, heartbeatErr: 'EIO' }], 120_000);
  t.deepEqual(lines.slice(0, 7), [
    'a:',
    `\t${spaceBar(40 * GiB, 2 * GiB, 100 * GiB)} 40 GiB/100 GiB 42% (filesystem)`,
    `\t${spaceBar(3 * GiB, 2 * GiB, 10 * GiB)} 3 GiB/10 GiB 50% (limit)`,
    '\tUnsealed: 1; Sealed: 2; Caches: 3; Reserved: 2 GiB',
    '\tWeight: 0; Use: ReadOnly',
    '\tHeartbeat: 120s ago (stale; not offered for new data)',
    '\tURL: http://h/remote',
  ]);
  t.true(lines.includes('\tError: EIO (not offered for new data)'));
  t.deepEqual(formatLocks([]), ['no sector locks held']);
});

test('the list names the entries of a local path that are not sector files', (t) => {
  const entry = {
    info: { ID: 'a', URLs: [], Weight: 10, MaxStorage: 0, CanSeal: true, CanStore: true },
    stat: { Capacity: GiB, Available: GiB, FSAvailable: GiB, Reserved: 0, Max: 0, Used: 0 },
    lastHeartbeat: 0,
    heartbeatErr: null,
    healthy: true,
    counts: { unsealed: 0, sealed: 0, cache: 0 },
    local: '/p',
    unknown: ['/p/sealed/s-t01000-1.bak: "s-t01000-1.bak" is not a sector file name'],
  };
  t.true(
    formatStorageList([entry], 0).includes(
      '\tNot a sector file (left alone; move it out of the path): /p/sealed/s-t01000-1.bak: "s-t01000-1.bak" is not a sector file name',
    ),
  );
});

test('locks show each holder by owner with when it was last heard from, or by lock id without an owner', (t) => {
  const none = { unsealed: 0, sealed: 0, cache: 0 };
  const lines = formatLocks(
    [
      {
        sector: { miner: 1000, number: 3 },
        read: { ...none, sealed: 1 },
        write: ['cache'],
        waiting: 2,
        holders: [
          { id: 'aaaaaaaa-1111', owner: 'worker-x', read: ['sealed'], write: [], since: 0, lastHeard: 97_000 },
          { id: 'bbbbbbbb-2222', owner: undefined, read: [], write: ['cache'], since: 0, lastHeard: null },
        ],
      },
    ],
    100_000,
  );
  t.regex(lines[1] ?? '', /^s-t01000-3\s+-\s+read×1\s+write\s+2\s+worker-x \(heard 3s ago\), bbbbbbbb$/);
});

test('find lists a holder whose node stopped heartbeating as unhealthy and offers no URL for it', (t) => {
  const holder = (id: string, urls: string[]) => ({ ID: id, URLs: urls, BaseURLs: [], Weight: 10, CanSeal: true, CanStore: false, Primary: true });
  const status = (id: string, lastHeartbeat: number, healthy: boolean) => ({
    info: { ID: id, URLs: [], Weight: 10, MaxStorage: 0, CanSeal: true, CanStore: false },
    stat: { Capacity: 0, Available: 0, FSAvailable: 0, Reserved: 0, Max: 0, Used: 0 },
    lastHeartbeat,
    heartbeatErr: null,
    healthy,
    counts: { unsealed: 0, sealed: 1, cache: 0 },
  });
  const found = groupFound(
    { sealed: [holder('dead', []), holder('live', ['http://w/remote/sealed/s-t01000-1'])] },
    [],
    [status('dead', 45_000, false), status('live', 99_000, true)],
    100_000,
  );
  t.deepEqual(formatFound(found), [
    'In dead (Sealed) [primary]',
    '\tSealing: true; Storage: false',
    '\tRemote',
    '\tUnhealthy (no heartbeat for 55s): not offered for fetching',
    'In live (Sealed) [primary]',
    '\tSealing: true; Storage: false',
    '\tRemote',
    '\tURL: http://w/remote/sealed/s-t01000-1',
  ]);
});
