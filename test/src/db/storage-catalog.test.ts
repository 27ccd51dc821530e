import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { FileType } from '../../../src/sector/sector-id.js';
import { type Db, openDatabase } from '../../../src/db/database.js';
import { StorageCatalog } from '../../../src/db/storage-catalog.js';
import type { FsStat, StorageInfo } from '../../../src/storage/storage-types.js';

const test = anyTest as TestFn<{ dir: string; db: Db; clock: { t: number; now(): number } }>;
const { unsealed: U, sealed: SE, cache: C } = FileType;
const GiB = 1024 ** 3;
const S1 = { miner: 1000, number: 1 };

function stat(available: number, extra: Partial<FsStat> = {}): FsStat {
  return { Capacity: 100 * GiB, Available: available, FSAvailable: available, Reserved: 0, Max: 0, Used: 0, ...extra };
}
function info(id: string, over: Partial<StorageInfo> = {}): StorageInfo {
  return { ID: id, URLs: [`http://10.0.0.1:3456/remote`], Weight: 10, MaxStorage: 0, CanSeal: true, CanStore: false, ...over };
}

test.beforeEach((t) => {
  t.context.dir = mkdtempSync(join(tmpdir(), 'ss-index-'));
  t.context.db = openDatabase(join(t.context.dir, 'db.sqlite'));
  const clock = { t: 1_000_000, now: () => clock.t };
  t.context.clock = clock;
});
test.afterEach.always((t) => {
  t.context.db.close();
  rmSync(t.context.dir, { recursive: true, force: true });
});

test('attach of a known id merges URLs and overwrites the flags', (t) => {
  const idx = new StorageCatalog(t.context.db);
  idx.storageAttach(info('a'), stat(10 * GiB));
  idx.storageAttach(info('a', { URLs: ['http://10.0.0.2:3456/remote', 'http://10.0.0.1:3456/remote'], Weight: 5, CanStore: true }), stat(1));
  t.deepEqual(idx.storageInfo('a'), {
    ID: 'a',
    URLs: ['http://10.0.0.1:3456/remote', 'http://10.0.0.2:3456/remote'],
    Weight: 5,
    MaxStorage: 0,
    CanSeal: true,
    CanStore: true,
  });
  t.is(idx.storageStat('a').Available, 1, 'a re-attach brings the node\'s fresh stat');
});

test('a re-attach is a heartbeat: a path down longer than the stale threshold is offered again the moment its node attaches it', (t) => {
  const { clock } = t.context;
  const idx = new StorageCatalog(t.context.db, { clock });
  idx.storageAttach(info('a'), stat(GiB));
  idx.storageReportHealth('a', { Stat: stat(GiB), Err: 'statfs: EIO' });
  clock.t += 60_000; // the node was down for a minute
  t.false(idx.storageStatus()[0]?.healthy);
  t.throws(() => idx.storageBestAlloc(SE, 2048, 'sealing'), { code: 'NO_SUITABLE_PATH' });
  idx.storageAttach(info('a'), stat(2 * GiB));
  t.like(idx.storageStatus()[0], { healthy: true, lastHeartbeat: clock.t, heartbeatErr: null });
  t.is(idx.storageStat('a').Available, 2 * GiB);
  t.deepEqual(idx.storageBestAlloc(SE, 2048, 'sealing').map((s) => s.ID), ['a']);
});

test('a node that attaches again replaces its own URLs and keeps those of other nodes, across restarts', (t) => {
  const idx = new StorageCatalog(t.context.db);
  const url = (port: number) => `http://127.0.0.1:${port}/remote`;
  idx.storageAttach(info('a', { URLs: [url(1)] }), stat(GiB), 'node-1');
  idx.storageAttach(info('a', { URLs: [url(2)] }), stat(GiB), 'node-2'); // a second node on the same shared filesystem
  t.deepEqual(idx.storageInfo('a').URLs, [url(1), url(2)]);
  idx.storageAttach(info('a', { URLs: [url(3)] }), stat(GiB), 'node-1'); // node-1 restarted on a new port
  t.deepEqual(idx.storageInfo('a').URLs, [url(2), url(3)]);
  const again = new StorageCatalog(t.context.db);
  again.storageAttach(info('a', { URLs: [url(4)] }), stat(GiB), 'node-1');
  t.deepEqual(again.storageInfo('a').URLs, [url(2), url(4)], 'who owns which URL survives a restart of the index');
  again.storageDetach('a', url(4));
  again.storageAttach(info('a', { URLs: [url(5)] }), stat(GiB), 'node-2');
  t.deepEqual(again.storageInfo('a').URLs, [url(5)]);
  again.storageAttach(info('a', { URLs: [url(6)] }), stat(GiB));
  t.deepEqual(again.storageInfo('a').URLs, [url(5), url(6)], 'an attach naming no node only adds, as in Lotus');
  t.throws(() => again.storageAttach(info('a'), stat(GiB), ''), { code: 'INVALID_ARGUMENT', message: /node id/ });
});

test('a holder whose path is unhealthy is listed without URLs, so nothing fetches from it', (t) => {
  const { clock } = t.context;
  const idx = new StorageCatalog(t.context.db, { clock });
  idx.storageAttach(info('w', { URLs: ['http://10.0.0.9:3456/remote'] }), stat(GiB), 'worker');
  idx.storageDeclareSector('w', S1, SE, true);
  t.deepEqual(idx.storageFindSector(S1, SE, 0, false)[0]?.URLs, ['http://10.0.0.9:3456/remote/sealed/s-t01000-1']);
  clock.t += 55_000; // the worker was killed: no heartbeat for 55 s
  t.like(idx.storageFindSector(S1, SE, 0, false)[0], { ID: 'w', URLs: [], BaseURLs: [], Primary: true });
  idx.storageReportHealth('w', { Stat: stat(GiB) });
  t.is(idx.storageFindSector(S1, SE, 0, false)[0]?.URLs.length, 1);
  idx.storageReportHealth('w', { Stat: stat(GiB), Err: 'EIO' });
  t.deepEqual(idx.storageFindSector(S1, SE, 0, false)[0]?.URLs, [], 'a failing path is not offered either');
});

test('attach refuses bad ids and URLs that do not parse', (t) => {
  const idx = new StorageCatalog(t.context.db);
  t.throws(() => idx.storageAttach(info('../x'), stat(1)), { code: 'INVALID_ARGUMENT', message: /storage id/ });
  t.throws(() => idx.storageAttach(info('a', { URLs: ['not a url'] }), stat(1)), { code: 'INVALID_ARGUMENT', message: /does not parse/ });
  t.deepEqual(idx.storageList(), {});
});

test('stats that are not non-negative integers are refused', (t) => {
  const idx = new StorageCatalog(t.context.db);
  t.throws(() => idx.storageAttach(info('a'), stat(1.5)), { code: 'INVALID_ARGUMENT', message: /Available 1.5/ });
  idx.storageAttach(info('a'), stat(1));
  t.throws(() => idx.storageReportHealth('a', { Stat: stat(-1) }), { code: 'INVALID_ARGUMENT', message: /Available -1/ });
  t.throws(() => idx.storageReportHealth('a', { Stat: { Capacity: 1 } as FsStat }), { code: 'INVALID_ARGUMENT', message: /Available/ });
});

test('unknown storages and sectors are clear errors', (t) => {
  const idx = new StorageCatalog(t.context.db);
  t.throws(() => idx.storageInfo('nope'), { code: 'STORAGE_NOT_FOUND', message: /"nope" not found/ });
  t.throws(() => idx.storageReportHealth('nope', { Stat: stat(1) }), { code: 'STORAGE_NOT_FOUND' });
  t.throws(() => idx.storageDeclareSector('nope', S1, SE, true), { code: 'STORAGE_NOT_FOUND' });
  idx.storageAttach(info('a'), stat(1));
  t.deepEqual(idx.storageFindSector({ miner: 1000, number: 99 }, SE, 2048, false), [], 'an unknown sector has no holders');
  t.throws(() => idx.storageDeclareSector('a', S1, 0, true), { code: 'INVALID_ARGUMENT', message: /non-empty mask/ });
  t.throws(() => idx.storageDeclareSector('a', S1, 8, true), { code: 'INVALID_ARGUMENT' });
  t.throws(() => idx.storageDeclareSector('a', { miner: -1, number: 1 }, SE, true), { code: 'INVALID_ARGUMENT' });
});

test('declare, find and drop keep per-type holders with the primary flag', (t) => {
  const idx = new StorageCatalog(t.context.db);
  idx.storageAttach(info('a', { Weight: 10 }), stat(GiB));
  idx.storageAttach(info('b', { Weight: 30, URLs: ['http://10.0.0.2:3456/remote'] }), stat(GiB));
  idx.storageDeclareSector('a', S1, SE | C, false);
  idx.storageDeclareSector('b', S1, SE, false);
  idx.storageDeclareSector('a', S1, SE, true); // redeclare upgrades to primary
  const found = idx.storageFindSector(S1, SE, 2048, false);
  t.deepEqual(
    found.map((f) => [f.ID, f.Weight, f.Primary, f.URLs]),
    [
      ['b', 30, false, ['http://10.0.0.2:3456/remote/sealed/s-t01000-1']],
      ['a', 10, true, ['http://10.0.0.1:3456/remote/sealed/s-t01000-1']],
    ],
  );
  idx.storageDropSector('b', S1, SE | C);
  t.deepEqual(idx.storageFindSector(S1, SE, 2048, false).map((f) => f.ID), ['a']);
  t.deepEqual(idx.storageList(), { a: [{ Miner: 1000, Number: 1, SectorFileType: SE | C }], b: [] });
});

test('multi-type find weighs by the number of types held and never builds an <unknown N> URL', (t) => {
  const idx = new StorageCatalog(t.context.db);
  idx.storageAttach(info('a', { Weight: 10 }), stat(GiB));
  idx.storageAttach(info('b', { Weight: 15, URLs: ['http://h2/remote', 'http://h3/remote'] }), stat(GiB));
  idx.storageDeclareSector('a', S1, SE | C, true);
  idx.storageDeclareSector('b', S1, C, false);
  const found = idx.storageFindSector(S1, SE | C, 2048, false);
  t.deepEqual(
    found.map((f) => [f.ID, f.Weight]),
    [
      ['a', 20],
      ['b', 15],
    ],
  );
  t.deepEqual(found[0]?.URLs, ['http://10.0.0.1:3456/remote/sealed/s-t01000-1', 'http://10.0.0.1:3456/remote/cache/s-t01000-1']);
  t.deepEqual(found[1]?.URLs, ['http://h2/remote/cache/s-t01000-1', 'http://h3/remote/cache/s-t01000-1']);
  for (const f of found) for (const u of f.URLs) t.notRegex(u, /unknown/);
  t.deepEqual(found[1]?.BaseURLs, ['http://h2/remote', 'http://h3/remote']);
});

test('find with allowFetch adds healthy sealing paths with room as weight-0 candidates', (t) => {
  const { clock } = t.context;
  const idx = new StorageCatalog(t.context.db, { clock });
  const ssize = 2048;
  idx.storageAttach(info('holder'), stat(GiB));
  idx.storageAttach(info('roomy'), stat(GiB));
  idx.storageAttach(info('tiny'), stat(100));
  idx.storageAttach(info('store-only', { CanSeal: false, CanStore: true }), stat(GiB));
  idx.storageAttach(info('broken'), stat(GiB));
  idx.storageReportHealth('broken', { Stat: stat(GiB), Err: 'EIO' });
  idx.storageDeclareSector('holder', S1, SE, true);
  const found = idx.storageFindSector(S1, SE | C, ssize, true);
  t.deepEqual(
    found.map((f) => [f.ID, f.Weight, f.Primary]),
    [
      ['holder', 10, true],
      ['roomy', 0, false],
    ],
  );
  clock.t += 51_000;
  idx.storageReportHealth('holder', { Stat: stat(GiB) });
  t.deepEqual(idx.storageFindSector(S1, SE, ssize, true).map((f) => f.ID), ['holder'], 'a stale path is not offered');
});

test('best alloc sorts by available × weight with bigint and honours the path type', (t) => {
  const idx = new StorageCatalog(t.context.db);
  const ssize = 32 * GiB;
  // 3·(2^52+1) and 2·(3·2^51+1) differ by 1 but round to the same double: only bigint orders them.
  idx.storageAttach(info('a-smaller', { Weight: 2 }), stat(3 * 2 ** 51 + 1));
  idx.storageAttach(info('z-bigger', { Weight: 3 }), stat(2 ** 52 + 1));
  idx.storageAttach(info('small', { Weight: 1_000_000 }), stat(Math.floor(15.2 * 32 * GiB)));
  idx.storageAttach(info('store', { CanSeal: false, CanStore: true }), stat(2 ** 50));
  t.deepEqual(
    idx.storageBestAlloc(SE | C, ssize, 'sealing').map((s) => s.ID),
    ['small', 'z-bigger', 'a-smaller'],
  );
  t.deepEqual(idx.storageBestAlloc(SE | C, ssize, 'storage').map((s) => s.ID), ['store']);
});

test('best alloc refuses with needed vs available bytes when no path has room', (t) => {
  const idx = new StorageCatalog(t.context.db);
  idx.storageAttach(info('a'), stat(10 * GiB, { Max: 20 * GiB }));
  const err = t.throws(() => idx.storageBestAlloc(SE | C, 32 * GiB, 'sealing'), { code: 'NO_SPACE' });
  t.regex(err?.message ?? '', /not enough space for sealed\+cache on any sealing path: need 518832049356 bytes \(483.2 GiB\), largest available is 10737418240 bytes \(10 GiB\) on a/);
  t.throws(() => idx.storageBestAlloc(SE, 2048, 'storage'), { code: 'NO_SUITABLE_PATH', message: /no storage path/ });
});

test('a path with a stale heartbeat or a heartbeat error is not offered until it reports again', (t) => {
  const { clock } = t.context;
  const idx = new StorageCatalog(t.context.db, { clock });
  idx.storageAttach(info('a'), stat(GiB));
  t.is(idx.storageBestAlloc(SE, 2048, 'sealing').length, 1);
  clock.t += 50_000;
  t.is(idx.storageBestAlloc(SE, 2048, 'sealing').length, 1, '50 s is still fresh');
  clock.t += 1;
  t.throws(() => idx.storageBestAlloc(SE, 2048, 'sealing'), { code: 'NO_SUITABLE_PATH' });
  idx.storageReportHealth('a', { Stat: stat(GiB), Err: 'statfs: EIO' });
  t.throws(() => idx.storageBestAlloc(SE, 2048, 'sealing'), { code: 'NO_SUITABLE_PATH' });
  t.is(idx.storageStatus()[0]?.heartbeatErr, 'statfs: EIO');
  idx.storageReportHealth('a', { Stat: stat(GiB) });
  t.is(idx.storageBestAlloc(SE, 2048, 'sealing').length, 1);
});

test('the index survives a restart', (t) => {
  const file = join(t.context.dir, 'db.sqlite');
  const idx = new StorageCatalog(t.context.db, { clock: t.context.clock });
  idx.storageAttach(info('a'), stat(GiB));
  idx.storageDeclareSector('a', S1, U | SE, true);
  idx.storageReportHealth('a', { Stat: stat(2 * GiB), Err: 'x' });
  t.context.db.close();
  t.context.db = openDatabase(file);
  const again = new StorageCatalog(t.context.db, { clock: t.context.clock });
  t.deepEqual(again.storageInfo('a'), info('a'));
  t.is(again.storageStat('a').Available, 2 * GiB);
  t.is(again.storageStatus()[0]?.heartbeatErr, 'x');
  t.deepEqual(again.storageFindSector(S1, U | SE, 2048, false).map((f) => [f.ID, f.Weight, f.Primary]), [['a', 20, true]]);
});

test('detach by URL keeps the path until its last URL goes, then drops its declarations', (t) => {
  const idx = new StorageCatalog(t.context.db);
  idx.storageAttach(info('a', { URLs: ['http://h1/remote', 'http://h2/remote'] }), stat(GiB));
  idx.storageDeclareSector('a', S1, SE, true);
  idx.storageDetach('a', 'http://h1/remote');
  t.deepEqual(idx.storageInfo('a').URLs, ['http://h2/remote']);
  t.throws(() => idx.storageDetach('a', 'http://h9/remote'), { code: 'INVALID_ARGUMENT', message: /no URL/ });
  idx.storageDetach('a', 'http://h2/remote');
  t.throws(() => idx.storageInfo('a'), { code: 'STORAGE_NOT_FOUND' });
  t.deepEqual(idx.storageFindSector(S1, SE, 2048, false), []);
  t.is((t.context.db.prepare('SELECT count(*) AS n FROM sector_files').get() as { n: number }).n, 0);
});

test('batch declare with dropMissing makes the index agree with a rescanned disk', (t) => {
  const idx = new StorageCatalog(t.context.db);
  idx.storageAttach(info('a'), stat(GiB));
  idx.storageDeclareSector('a', S1, SE | C, false);
  idx.storageDeclareSector('a', { miner: 1000, number: 2 }, U, false);
  const r = idx.storageDeclareSectors('a', [{ sector: S1, types: SE, primary: true }, { sector: { miner: 1000, number: 3 }, types: C, primary: false }], true);
  t.deepEqual(r, { declared: 2, dropped: 2 });
  t.deepEqual(idx.storageList().a, [
    { Miner: 1000, Number: 1, SectorFileType: SE },
    { Miner: 1000, Number: 3, SectorFileType: C },
  ]);
});

test('move sector swaps the declaration to the destination as primary in one step', (t) => {
  const idx = new StorageCatalog(t.context.db);
  idx.storageAttach(info('seal'), stat(GiB));
  idx.storageAttach(info('store', { CanStore: true }), stat(GiB));
  idx.storageDeclareSector('seal', S1, SE | C, false);
  idx.storageMoveSector(S1, SE | C, 'seal', 'store');
  t.deepEqual(idx.storageFindSector(S1, SE | C, 2048, false).map((f) => [f.ID, f.Primary, f.Weight]), [['store', true, 20]]);
  t.throws(() => idx.storageMoveSector(S1, SE, 'store', 'nowhere'), { code: 'STORAGE_NOT_FOUND' });
  t.is(idx.storageFindSector(S1, SE, 2048, false).length, 1, 'a failed move changes nothing');
});

test('status counts declared entries per type', (t) => {
  const idx = new StorageCatalog(t.context.db);
  idx.storageAttach(info('a'), stat(GiB));
  idx.storageDeclareSector('a', S1, U | SE | C, false);
  idx.storageDeclareSector('a', { miner: 1000, number: 2 }, SE, false);
  const [s] = idx.storageStatus();
  t.deepEqual(s?.counts, { unsealed: 1, sealed: 2, cache: 1 });
  t.true(s?.healthy);
});
