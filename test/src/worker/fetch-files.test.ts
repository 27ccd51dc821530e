/**
 * Tasks whose files another node holds fetch them first (Lotus's schedFetch): two nodes over one
 * catalog, each a LocalWorker with a RemoteStore, seal one 2 KiB sector with its phases split
 * between them, and every file ends where the phase that last needed it ran, with one primary
 * copy and no leftover copies.
 */
import { existsSync } from 'node:fs';
import anyTest, { type TestFn } from 'ava';
import { SealerPool } from '../../../src/pool/pool.js';
import { sectorFilePath } from '../../../src/sector/layout.js';
import { FileType, type FileTypeName, type SectorId } from '../../../src/sector/sector-id.js';
import { LOTUS_BENCH_SEED } from '../../../src/seal/seal-sector.js';
import { SectorLocks } from '../../../src/storage/sector-locks.js';
import type { Task, TaskOf, TaskOutputs, TaskType } from '../../../src/tasks/task-types.js';
import { LocalWorker } from '../../../src/worker/local-worker.js';
import type { RequestSource } from '../../../src/worker/worker-env.js';
import { hex, seededBytes } from '../../helpers/bytes.js';
import { type Manager, makeManager, makeNode, makePath, type Node, tempDir } from '../storage/storage-fixtures.js';
import { MINER, PARENT_CACHE_DIR, task } from './worker-fixture.js';
import { fillerPieces } from '../../../src/piece/alignment.js';
import { paddedSizeForPayload } from '../../../src/sector/sizes.js';
import { messageLogger } from '../../helpers/log-recorder.js';

interface Side {
  node: Node;
  worker: LocalWorker;
  sources: Map<string, RequestSource>;
  sealId: string;
  sealRoot: string;
  storeId?: string;
  run<T extends TaskType>(t: TaskOf<T>): Promise<TaskOutputs[T]>;
}
const test = anyTest as TestFn<{ manager: Manager; a: Side; b: Side; dir: string }>;

let pool: SealerPool;
test.before(() => {
  pool = new SealerPool({ threads: 2 });
});
test.after.always(async () => {
  await pool.close();
});

async function side(manager: Manager, dir: string, name: string, locks: SectorLocks, withStorage: boolean): Promise<Side> {
  const node = await makeNode(manager.catalog);
  const sealRoot = makePath(dir, `${name}-seal`, { canSeal: true, canStore: false });
  const sealId = (await node.local.openPath(sealRoot)).ID;
  const storeId = withStorage ? (await node.local.openPath(makePath(dir, `${name}-store`, { canSeal: false, canStore: true }))).ID : undefined;
  const sources = new Map<string, RequestSource>();
  const worker = new LocalWorker({ pool, localStore: node.local, remote: node.remote, locks, sources, parentCacheDir: PARENT_CACHE_DIR, log: messageLogger(node.logs) });
  return {
    node,
    worker,
    sources,
    sealId,
    sealRoot,
    ...(storeId ? { storeId } : {}),
    async run<T extends TaskType>(t: TaskOf<T>): Promise<TaskOutputs[T]> {
      const r = await worker.run(t as Task, { signal: new AbortController().signal });
      return r.value as TaskOutputs[T];
    },
  };
}

test.beforeEach(async (t) => {
  const manager = makeManager();
  const dir = tempDir('ss-fetch-tasks-');
  const locks = new SectorLocks(); // the miner's one lock table, as the manager's is for its workers
  t.context = { manager, dir, a: await side(manager, dir, 'a', locks, true), b: await side(manager, dir, 'b', locks, false) };
});
test.afterEach.always(async (t) => {
  await t.context.a.node.close();
  await t.context.b.node.close();
  t.context.manager.close();
});

async function where(m: Manager, sector: SectorId, type: FileTypeName): Promise<{ id: string; primary: boolean }[]> {
  return (await m.catalog.storageFindSector(sector, FileType[type], 0, false)).map((h) => ({ id: h.ID, primary: h.Primary })).sort((x, y) => x.id.localeCompare(y.id));
}

test('a sector sealed with its phases split between two nodes fetches each file where it is needed, leaves one primary copy of each, and seals as on one node', async (t) => {
  const { manager, a, b } = t.context;
  const sector = { miner: MINER, number: 4 };
  const payload = seededBytes(500, 4);
  // AP on A: the unsealed file is A's
  a.sources.set('r', { source: (async function* () { yield payload; })() });
  const pieceSize = paddedSizeForPayload(payload.length);
  const deal = await a.run(task('AP', sector, { paddedOffset: 0, pieceSize, payloadSize: payload.length, source: { type: 'request', requestId: 'r' } }));
  const pieces = [{ pieceCid: deal.pieceCid, paddedSize: deal.paddedSize }];
  let offset = deal.paddedSize;
  for (const size of fillerPieces(offset, 2048)) {
    // a later piece on B moves the unsealed file to B first, then the next one back to A
    const on = pieces.length % 2 === 1 ? b : a;
    const f = await on.run(task('AP', sector, { paddedOffset: offset, pieceSize: size, payloadSize: size - size / 128, source: { type: 'zeros' } }));
    pieces.push({ pieceCid: f.pieceCid, paddedSize: size });
    offset += size;
  }
  const unsealedHome = (await where(manager, sector, 'unsealed'))[0]!;
  t.is((await where(manager, sector, 'unsealed')).length, 1, 'AddPiece moved the file: one copy');
  const home = unsealedHome.id === a.sealId ? a : b;
  const other = home === a ? b : a;

  // PC1 and PC2 where the unsealed file is not: copied there, the source stays, the copy goes after PC2
  const pc1 = await other.run(task('PC1', sector, { ticket: hex(new Uint8Array(32).fill(0x5a)), pieces }));
  t.deepEqual(await where(manager, sector, 'unsealed'), [{ id: home.sealId, primary: true }, { id: other.sealId, primary: false }].sort((x, y) => x.id.localeCompare(y.id)));
  const pc2 = await other.run(task('PC2', sector, { pc1 }));
  t.deepEqual(await where(manager, sector, 'unsealed'), [{ id: home.sealId, primary: true }], 'the fetched unsealed copy was dropped after PC2');
  t.deepEqual(await where(manager, sector, 'sealed'), [{ id: other.sealId, primary: true }]);

  // C1 on the home node: its prepare step moves sealed and cache there, and its work fetches nothing more
  const c1Task = task('C1', sector, { ticket: hex(new Uint8Array(32).fill(0x5a)), seed: hex(LOTUS_BENCH_SEED), commD: pc2.commD, commR: pc2.commR });
  await home.worker.prepare(c1Task, { signal: new AbortController().signal });
  t.deepEqual(await where(manager, sector, 'sealed'), [{ id: home.sealId, primary: true }], 'moved by the prepare step');
  const fetchLines = home.node.logs.filter((l) => /fetching/.test(l)).length;
  const c1 = await home.run(c1Task);
  t.is(home.node.logs.filter((l) => /fetching/.test(l)).length, fetchLines, 'the work found its inputs here');
  t.deepEqual(await where(manager, sector, 'cache'), [{ id: home.sealId, primary: true }]);
  t.false(existsSync(sectorFilePath(other.sealRoot, 'sealed', sector)), 'a move deletes the source');
  // C2 on the other node reads C1's output from the holder: the cache is never copied there
  const c2 = await other.run(task('C2', sector, { c1 }));
  t.truthy(c2.proof);
  t.deepEqual(await where(manager, sector, 'cache'), [{ id: home.sealId, primary: true }]);
  t.false(existsSync(sectorFilePath(other.sealRoot, 'cache', sector)));
  t.false(other.node.logs.some((l) => /fetching the cache/.test(l)), 'no cache fetch');
  t.true(other.node.logs.some((l) => /reading C1's output of s-t01000-4 from the node that holds its cache/.test(l)));
  // and so does a node whose only path has no room for a cache copy (C2 needs no space: Lotus's task selector)
  const tiny = await makeNode(manager.catalog);
  const tinyRoot = makePath(t.context.dir, 'tiny-seal', { canSeal: true, canStore: false, maxStorage: 4096 });
  await tiny.local.openPath(tinyRoot);
  t.teardown(() => tiny.close());
  const tinyWorker = new LocalWorker({ pool, localStore: tiny.local, remote: tiny.remote, locks: new SectorLocks(), sources: new Map(), parentCacheDir: PARENT_CACHE_DIR, log: messageLogger(tiny.logs) });
  const c2b = (await tinyWorker.run(task('C2', sector, { c1 }), { signal: new AbortController().signal })).value as TaskOutputs['C2'];
  t.is(c2b.sha256, c2.sha256, 'the same proof as with the cache at hand');
  t.false(existsSync(sectorFilePath(tinyRoot, 'cache', sector)));

  // FIN on B moves everything to B and removes the unsealed file everywhere; GET on A (the only storage path) moves the rest there
  await b.run(task('FIN', sector, { keepUnsealed: [] }));
  t.deepEqual(await where(manager, sector, 'unsealed'), []);
  t.false(existsSync(sectorFilePath(a.sealRoot, 'unsealed', sector)));
  await a.run(task('GET', sector, { types: FileType.sealed | FileType.cache, pathType: 'storage' }));
  t.deepEqual(await where(manager, sector, 'sealed'), [{ id: a.storeId!, primary: true }]);
  t.deepEqual(await where(manager, sector, 'cache'), [{ id: a.storeId!, primary: true }]);

  // the same sector on one node (its own catalog) gives the same CommR
  const m2 = makeManager();
  const single = await side(m2, t.context.dir, 'c', new SectorLocks(), false);
  t.teardown(async () => {
    await single.node.close();
    m2.close();
  });
  single.sources.set('r', { source: (async function* () { yield payload; })() });
  await single.run(task('AP', sector, { paddedOffset: 0, pieceSize, payloadSize: payload.length, source: { type: 'request', requestId: 'r' } }));
  let o2 = deal.paddedSize;
  for (const size of fillerPieces(o2, 2048)) {
    await single.run(task('AP', sector, { paddedOffset: o2, pieceSize: size, payloadSize: size - size / 128, source: { type: 'zeros' } }));
    o2 += size;
  }
  const ref1 = await single.run(task('PC1', sector, { ticket: hex(new Uint8Array(32).fill(0x5a)), pieces }));
  const ref2 = await single.run(task('PC2', sector, { pc1: ref1 }));
  t.deepEqual(ref2, pc2);
  t.true(a.node.logs.some((l) => /fetching the sealed and cache files of s-t01000-4 from another node \(move\)/.test(l)));
});

test('without a remote store a task finds only local files: FILE_NOT_FOUND names the sector', async (t) => {
  const { a, b } = t.context;
  const sector = { miner: MINER, number: 6 };
  a.sources.set('r', { source: (async function* () { yield seededBytes(100, 1); })() });
  await a.run(task('AP', sector, { paddedOffset: 0, pieceSize: 128, payloadSize: 100, source: { type: 'request', requestId: 'r' } }));
  const alone = new LocalWorker({ pool, localStore: b.node.local, locks: new SectorLocks(), sources: new Map(), parentCacheDir: PARENT_CACHE_DIR });
  const err = await t.throwsAsync(alone.run(task('PC1', sector, { ticket: 'aa'.repeat(32), pieces: [{ pieceCid: 'baga6ea4seaqao7s73y24kcutaosvacpdjgfe5pw76ooefnyqw4ynr3d2y6x2mpq', paddedSize: 2048 }] }), { signal: new AbortController().signal }));
  t.is((err as { code?: string }).code, 'FILE_NOT_FOUND');
});
