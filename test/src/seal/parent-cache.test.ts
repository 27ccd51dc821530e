import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { graphParents, sdrGraph } from '../../../src/seal/graph.js';
import { PARENT_BYTES_PER_NODE, ParentCache, parentCacheBaseName, parentCacheDir } from '../../../src/seal/parent-cache.js';
import { porepId } from '../../../src/sector/proofs.js';

const test = anyTest as TestFn<{ dir: string }>;
test.beforeEach(async (t) => {
  t.context.dir = await mkdtemp(join(tmpdir(), 'parent-cache-'));
});
test.afterEach.always(async (t) => rm(t.context.dir, { recursive: true, force: true }));

const graph = sdrGraph({ nodes: 1 << 12, porepId: porepId(5) });

test('a missing cache is created with 14 u32 LE parents per node, under an upstream-style name', async (t) => {
  const cache = await ParentCache.open(graph, { dir: t.context.dir });
  try {
    t.is(cache.status, 'created');
    t.regex(basename(cache.path), /^v28-sdr-parent-[0-9a-f]{64}\.cache$/);
    const bytes = new Uint8Array(await readFile(cache.path));
    t.is(bytes.length, graph.nodes * PARENT_BYTES_PER_NODE);
    const all = graphParents(graph, 0, graph.nodes);
    t.deepEqual(bytes, new Uint8Array(all.buffer));
    t.deepEqual(await cache.read(1000, 37), all.subarray(1000 * 14, 1037 * 14));
  } finally {
    await cache.close();
  }
  t.deepEqual((await readdir(t.context.dir)).sort(), [`${parentCacheBaseName(graph)}.cache`, `${parentCacheBaseName(graph)}.json`]);
});

test('every sector of the same graph reuses the cache; other graphs get their own file', async (t) => {
  const a = await ParentCache.open(graph, { dir: t.context.dir });
  await a.close();
  const b = await ParentCache.open(sdrGraph({ nodes: 1 << 12, porepId: porepId(5) }), { dir: t.context.dir });
  await b.close();
  t.is(b.status, 'verified');
  t.is(b.path, a.path);
  const names = new Set([
    parentCacheBaseName(graph),
    parentCacheBaseName(sdrGraph({ nodes: 1 << 12, porepId: Uint8Array.of(10, ...new Uint8Array(31)) })),
    parentCacheBaseName(sdrGraph({ nodes: 1 << 12, porepId: porepId(5), apiVersion: 'V1_0' })),
    parentCacheBaseName(sdrGraph({ nodes: 1 << 13, porepId: porepId(5) })),
  ]);
  t.is(names.size, 4);
});

test('a corrupted cache file is detected by its digest and regenerated', async (t) => {
  const a = await ParentCache.open(graph, { dir: t.context.dir });
  await a.close();
  const good = await readFile(a.path);
  const bad = Buffer.from(good);
  bad[12345]! ^= 0x40;
  await writeFile(a.path, bad);
  const b = await ParentCache.open(graph, { dir: t.context.dir });
  await b.close();
  t.is(b.status, 'repaired');
  t.true((await readFile(a.path)).equals(good));
  // a truncated file too
  await writeFile(a.path, good.subarray(0, 1000));
  const c = await ParentCache.open(graph, { dir: t.context.dir });
  await c.close();
  t.is(c.status, 'repaired');
  t.true((await readFile(a.path)).equals(good));
});

test('a cache without its digest sidecar is not trusted', async (t) => {
  const a = await ParentCache.open(graph, { dir: t.context.dir });
  await a.close();
  await rm(a.path.replace(/\.cache$/, '.json'));
  await writeFile(a.path, new Uint8Array(graph.nodes * PARENT_BYTES_PER_NODE));
  const b = await ParentCache.open(graph, { dir: t.context.dir });
  await b.close();
  t.is(b.status, 'created');
  t.deepEqual(new Uint8Array(await readFile(b.path)), new Uint8Array(graphParents(graph, 0, graph.nodes).buffer));
});

test('an abandoned generation leaves nothing behind', async (t) => {
  const big = sdrGraph({ nodes: 1 << 18, porepId: porepId(6) });
  await t.throwsAsync(
    ParentCache.open(big, { dir: t.context.dir, throwIfCancelled: () => { throw new Error('stop'); } }),
    { message: 'stop' },
  );
  t.deepEqual(await readdir(t.context.dir), []);
});

test('the default directory follows SECTOR_STORAGE_PARENT_CACHE', (t) => {
  const saved = process.env.SECTOR_STORAGE_PARENT_CACHE;
  try {
    process.env.SECTOR_STORAGE_PARENT_CACHE = '/some/where';
    t.is(parentCacheDir(), '/some/where');
    delete process.env.SECTOR_STORAGE_PARENT_CACHE;
    t.is(parentCacheDir(), join(tmpdir(), 'sector-storage-parents'));
  } finally {
    if (saved === undefined) delete process.env.SECTOR_STORAGE_PARENT_CACHE;
    else process.env.SECTOR_STORAGE_PARENT_CACHE = saved;
  }
});
