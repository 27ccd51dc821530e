import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { PartialFile } from '../../../src/partial/partial-file.js';
import { FileType } from '../../../src/sector/sector-id.js';
import { sortByWeight } from '../../../src/storage/remote-store.js';
import type { CatalogClient } from '../../../src/storage/catalog-client.js';
import type { SectorStorageInfo } from '../../../src/storage/storage-types.js';
import {
  type Manager,
  makeManager,
  makeNode,
  makePath,
  type Node,
  PROOF_2K,
  PROOF_8M,
  tempDir,
  writeSectorEntry,
} from './storage-fixtures.js';

interface Ctx {
  m: Manager;
  dir: string;
  a: Node;
  b: Node;
  aRoot: string;
  bRoot: string;
  aId: string;
  bId: string;
  servers: Server[];
}
const test = anyTest as TestFn<Ctx>;
const { unsealed: U, sealed: SE, cache: C } = FileType;
const S1 = { miner: 1000, number: 1 };
const REF = { id: S1, proofType: PROOF_8M };

test.beforeEach(async (t) => {
  const m = makeManager();
  const dir = tempDir();
  const a = await makeNode(m.catalog);
  const b = await makeNode(m.catalog);
  const aRoot = makePath(dir, 'a-store', { canStore: true, weight: 10 });
  const bRoot = makePath(dir, 'b-seal', { canSeal: true });
  const aId = (await a.local.addLocalPath(aRoot)).ID;
  const bId = (await b.local.addLocalPath(bRoot)).ID;
  Object.assign(t.context, { m, dir, a, b, aRoot, bRoot, aId, bId, servers: [] });
});
test.afterEach.always(async (t) => {
  await t.context.a.close();
  await t.context.b.close();
  for (const s of t.context.servers) {
    s.closeAllConnections();
    s.close();
  }
  t.context.m.close();
  rmSync(t.context.dir, { recursive: true, force: true });
});

async function serve(t: { context: Ctx }, handler: (req: IncomingMessage, res: import('node:http').ServerResponse) => void): Promise<string> {
  const s = createServer(handler);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  t.context.servers.push(s);
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}/remote`;
}

test('copy mode fetches a file and a cache directory, keeps the source and declares a non-primary copy', async (t) => {
  const { a, b, aRoot, bRoot, aId, bId, m } = t.context;
  const sealed = writeSectorEntry(aRoot, 'sealed', S1, 200_000, 3);
  writeSectorEntry(aRoot, 'cache', S1, 70_000, 4);
  await a.local.redeclare();
  const got = await b.remote.acquireSector(REF, SE | C, 0, 'sealing', 'copy');
  t.deepEqual(got.storages, { sealed: bId, cache: bId });
  t.true(readFileSync(join(bRoot, 'sealed', 's-t01000-1')).equals(sealed));
  for (const f of ['p_aux', 't_aux', 'sc-02-data-tree-r-last.dat']) {
    t.true(readFileSync(join(bRoot, 'cache', 's-t01000-1', f)).equals(readFileSync(join(aRoot, 'cache', 's-t01000-1', f))));
  }
  t.true(existsSync(join(aRoot, 'sealed', 's-t01000-1')));
  const holders = m.store.storageFindSector(S1, SE, 0, false);
  t.deepEqual(holders.map((h) => [h.ID, h.Primary]).sort(), [[aId, true], [bId, false]].sort());
  t.deepEqual(readdirSync(join(bRoot, 'sealed', 'fetching')), [], 'no temp file left');
  t.is(b.local.fsStat(bId).Reserved, 0, 'the fetch reservation is released');
});

test('move mode makes the fetched copy primary and removes the source copy and declaration', async (t) => {
  const { a, b, aRoot, bRoot, aId, bId, m } = t.context;
  writeSectorEntry(aRoot, 'sealed', S1, 50_000);
  writeSectorEntry(aRoot, 'cache', S1, 5_000);
  await a.local.redeclare();
  await b.remote.acquireSector(REF, SE | C, 0, 'sealing', 'move');
  t.false(existsSync(join(aRoot, 'sealed', 's-t01000-1')));
  t.false(existsSync(join(aRoot, 'cache', 's-t01000-1')));
  t.true(existsSync(join(bRoot, 'cache', 's-t01000-1', 'p_aux')));
  t.deepEqual(m.store.storageFindSector(S1, SE | C, 0, false).map((h) => [h.ID, h.Primary, h.Weight]), [[bId, true, 20]]);
  t.deepEqual(m.store.storageList()[aId], []);
});

test('holders are tried by weight descending (Lotus tries the lightest first)', async (t) => {
  const { a, b, aRoot, m, dir } = t.context;
  const heavyRoot = makePath(dir, 'heavy', { canStore: true, weight: 50 });
  const heavy = await makeNode(m.catalog);
  t.teardown(() => heavy.close());
  await heavy.local.addLocalPath(heavyRoot);
  writeSectorEntry(aRoot, 'sealed', S1, 1000, 1);
  const heavyData = writeSectorEntry(heavyRoot, 'sealed', S1, 1000, 2);
  await a.local.redeclare();
  await heavy.local.redeclare();
  await b.remote.acquireSector(REF, SE, 0, 'sealing', 'copy');
  t.true(readFileSync(join(t.context.bRoot, 'sealed', 's-t01000-1')).equals(heavyData));
  const light = { Weight: 1, Primary: true } as SectorStorageInfo;
  const mid = { Weight: 5, Primary: false } as SectorStorageInfo;
  const top = { Weight: 9, Primary: false } as SectorStorageInfo;
  t.deepEqual(sortByWeight([light, top, mid]), [top, mid, light]);
});

test('an ascending holder list from the index is still tried heaviest first', async (t) => {
  const { m, dir } = t.context;
  const reversed: CatalogClient = {
    ...m.catalog,
    storageFindSector: async (...args) => (await m.catalog.storageFindSector(...args)).reverse(),
  };
  const node = await makeNode(reversed);
  t.teardown(() => node.close());
  const root = makePath(dir, 'c-seal', { canSeal: true });
  await node.local.addLocalPath(root);
  const heavyRoot = makePath(dir, 'heavy', { canStore: true, weight: 50 });
  const heavy = await makeNode(m.catalog);
  t.teardown(() => heavy.close());
  await heavy.local.addLocalPath(heavyRoot);
  writeSectorEntry(t.context.aRoot, 'sealed', S1, 1000, 1);
  const heavyData = writeSectorEntry(heavyRoot, 'sealed', S1, 1000, 2);
  await t.context.a.local.redeclare();
  await heavy.local.redeclare();
  t.deepEqual((await reversed.storageFindSector(S1, SE, 0, false)).map((h) => h.Weight), [10, 50]);
  await node.remote.acquireSector(REF, SE, 0, 'sealing', 'copy');
  t.true(readFileSync(join(root, 'sealed', 's-t01000-1')).equals(heavyData));
});

test('a dropped connection resumes with a Range request from the last byte written', async (t) => {
  const { b, bRoot, m } = t.context;
  const data = Buffer.alloc(300_000);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
  const ranges: (string | undefined)[] = [];
  let dropped = false;
  const url = await serve(t, (req, res) => {
    ranges.push(req.headers.range);
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    const start = m ? Number(m[1]) : 0;
    const end = m && m[2] !== '' ? Number(m[2]) : data.length - 1;
    res.writeHead(m ? 206 : 200, {
      'Content-Type': 'application/octet-stream',
      'Content-Length': String(end - start + 1),
      ...(m ? { 'Content-Range': `bytes ${start}-${end}/${data.length}` } : {}),
    });
    if (!dropped && end - start > 1) {
      // the first data request loses its connection after 100 000 bytes
      dropped = true;
      res.write(data.subarray(start, start + 100_000), () => setTimeout(() => res.destroy(), 20));
      return;
    }
    res.end(data.subarray(start, end + 1));
  });
  m.store.storageAttach({ ID: 'flaky', URLs: [url], Weight: 10, MaxStorage: 0, CanSeal: false, CanStore: true }, { Capacity: 1, Available: 1, FSAvailable: 1, Reserved: 0, Max: 0, Used: 0 });
  m.store.storageDeclareSector('flaky', S1, SE, true);
  await b.remote.acquireSector(REF, SE, 0, 'sealing', 'copy');
  t.true(readFileSync(join(bRoot, 'sealed', 's-t01000-1')).equals(data));
  t.deepEqual(ranges, ['bytes=0-0', 'bytes=0-299999', 'bytes=100000-299999']);
  t.true(b.logs.some((l) => /body ended after 100000 of 300000 bytes; resuming at byte 100000/.test(l)), b.logs.join('\n'));
});

test('a fetch that fails everywhere leaves no file, no temp and no index row', async (t) => {
  const { b, bRoot, bId, m } = t.context;
  const url = await serve(t, (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/x-tar' });
    res.end(Buffer.alloc(100, 1)); // not a tar stream
  });
  m.store.storageAttach({ ID: 'broken', URLs: [url], Weight: 10, MaxStorage: 0, CanSeal: false, CanStore: true }, { Capacity: 1, Available: 1, FSAvailable: 1, Reserved: 0, Max: 0, Used: 0 });
  m.store.storageDeclareSector('broken', S1, C, true);
  await t.throwsAsync(b.remote.acquireSector(REF, C, 0, 'sealing', 'copy'), { code: 'FETCH_FAILED', message: /fetching cache of s-t01000-1 failed from every holder/ });
  t.false(existsSync(join(bRoot, 'cache', 's-t01000-1')));
  t.deepEqual(readdirSync(join(bRoot, 'cache', 'fetching')), []);
  t.deepEqual(m.store.storageList()[bId], []);
  t.is(b.local.fsStat(bId).Reserved, 0);
});

test('fetching a sector nobody holds is a clear not-found error', async (t) => {
  await t.throwsAsync(t.context.b.remote.acquireSector({ id: { miner: 1000, number: 99 }, proofType: PROOF_8M }, SE, 0, 'sealing', 'copy'), {
    code: 'FILE_NOT_FOUND',
    message: /sector not found: no other node holds the sealed file of s-t01000-99/,
  });
});

test('concurrent acquires of one sector download it once; the fetch limit caps parallel downloads', async (t) => {
  const { m, dir } = t.context;
  let inFlight = 0;
  let maxInFlight = 0;
  let requests = 0;
  const data = Buffer.alloc(20_000, 5);
  const url = await serve(t, (_req, res) => {
    requests++;
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(data.length) });
    setTimeout(() => {
      inFlight--;
      res.end(data);
    }, 30);
  });
  m.store.storageAttach({ ID: 'src', URLs: [url], Weight: 10, MaxStorage: 0, CanSeal: false, CanStore: true }, { Capacity: 1, Available: 1, FSAvailable: 1, Reserved: 0, Max: 0, Used: 0 });
  for (let n = 1; n <= 3; n++) m.store.storageDeclareSector('src', { miner: 1000, number: n }, SE, true);
  const node = await makeNode(m.catalog, { parallelFetchLimit: 1 });
  t.teardown(() => node.close());
  await node.local.addLocalPath(makePath(dir, 'limited', { canSeal: true }));
  await Promise.all([
    node.remote.acquireSector(REF, SE, 0, 'sealing', 'copy'),
    node.remote.acquireSector(REF, SE, 0, 'sealing', 'copy'),
    node.remote.acquireSector({ id: { miner: 1000, number: 2 }, proofType: PROOF_8M }, SE, 0, 'sealing', 'copy'),
    node.remote.acquireSector({ id: { miner: 1000, number: 3 }, proofType: PROOF_8M }, SE, 0, 'sealing', 'copy'),
  ]);
  t.is(requests, 3, 'sector 1 was downloaded once');
  t.is(maxInFlight, 1);
});

test('a cancelled acquire stops its download and leaves nothing behind', async (t) => {
  const { b, bRoot, bId, m } = t.context;
  let release!: () => void;
  const started = new Promise<void>((r) => {
    release = r;
  });
  const url = await serve(t, (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': '1000000' });
    res.write(Buffer.alloc(1000), () => release());
  });
  m.store.storageAttach({ ID: 'slow', URLs: [url], Weight: 10, MaxStorage: 0, CanSeal: false, CanStore: true }, { Capacity: 1, Available: 1, FSAvailable: 1, Reserved: 0, Max: 0, Used: 0 });
  m.store.storageDeclareSector('slow', S1, SE, true);
  const ac = new AbortController();
  const p = b.remote.acquireSector(REF, SE, 0, 'sealing', 'copy', { signal: ac.signal });
  await started;
  ac.abort();
  await t.throwsAsync(p, { code: 'ABORTED' });
  t.false(existsSync(join(bRoot, 'sealed', 's-t01000-1')));
  t.deepEqual(readdirSync(join(bRoot, 'sealed', 'fetching')), []);
  t.deepEqual(m.store.storageList()[bId], []);
});

test('remote stat, remote remove and the allocated probe go through the holder\'s /remote', async (t) => {
  const { a, b, aRoot, aId, m } = t.context;
  writeSectorEntry(aRoot, 'sealed', S1, 1000);
  const pf = await PartialFile.create(join(aRoot, 'unsealed', 's-t01000-1'), 2048);
  await pf.markAllocated(0, 1024);
  await pf.close();
  await a.local.redeclare();
  const stat = await b.remote.fsStat(aId);
  t.is(stat.Capacity, a.local.fsStat(aId).Capacity);
  await t.throwsAsync(b.remote.fsStat('nope'), { code: 'STORAGE_NOT_FOUND' });
  const ref2k = { id: S1, proofType: PROOF_2K };
  t.true(await b.remote.checkAllocated(ref2k, 0, 1016));
  t.false(await b.remote.checkAllocated(ref2k, 1016, 1016));
  await b.remote.remove(S1, SE, false);
  t.false(existsSync(join(aRoot, 'sealed', 's-t01000-1')));
  t.deepEqual(m.store.storageList()[aId], [{ Miner: 1000, Number: 1, SectorFileType: U }]);
});

test('a fetched file whose declaration fails is not left undeclared in the sector directory, and the move keeps its source', async (t) => {
  const { m, dir, aRoot, aId } = t.context;
  const sealed = writeSectorEntry(aRoot, 'sealed', S1, 50_000, 5);
  await t.context.a.local.redeclare();
  const failing: CatalogClient = { ...m.catalog, storageDeclareSector: () => Promise.reject(new Error('index unreachable')) };
  const c = await makeNode(failing);
  t.teardown(() => c.close());
  const cRoot = makePath(dir, 'c-seal', { canSeal: true });
  const cId = (await c.local.addLocalPath(cRoot)).ID;
  await t.throwsAsync(c.remote.acquireSector(REF, SE, 0, 'sealing', 'move'), { message: /index unreachable/ });
  t.false(existsSync(join(cRoot, 'sealed', 's-t01000-1')), 'no undeclared file under the sector name');
  t.deepEqual(readdirSync(join(cRoot, 'sealed', 'fetching')), [], 'no temp file either');
  t.true(readFileSync(join(aRoot, 'sealed', 's-t01000-1')).equals(sealed), 'the source was not deleted');
  t.deepEqual(m.store.storageFindSector(S1, SE, 0, false).map((f) => f.ID), [aId]);
  t.is(c.local.fsStat(cId).Reserved, 0);
});

test('a holder whose node stopped heartbeating is not fetched from, and the error says why', async (t) => {
  const { a, b, aRoot, m } = t.context;
  writeSectorEntry(aRoot, 'sealed', S1, 50_000, 5);
  await a.local.redeclare();
  let asked = 0;
  a.server.prependListener('request', () => {
    asked++;
  });
  m.clock.t += 60_000; // node a was killed a minute ago; node b is alive
  await b.local.reportHealth();
  await t.throwsAsync(b.remote.acquireSector(REF, SE, 0, 'sealing', 'copy'), {
    code: 'FETCH_FAILED',
    message: /no holder of the sealed file of s-t01000-1 is offered for fetching \(their paths' heartbeats are stale or failing: \S+\)/,
  });
  t.is(asked, 0, 'the dead node was never contacted');
  await a.local.reportHealth(); // it is back
  await t.notThrowsAsync(b.remote.acquireSector(REF, SE, 0, 'sealing', 'copy'));
  t.true(asked > 0);
});
