import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { graphParents, sdrGraph } from '../../../src/seal/graph.js';
import { PARENT_BYTES_PER_NODE, ParentCache, parentCacheBaseName, parentCacheDir, parentCacheSample } from '../../../src/seal/parent-cache.js';
import { porepId } from '../../../src/sector/proofs.js';

const test = anyTest as TestFn<{ dir: string }>;
test.beforeEach(async (t) => {
  t.context.dir = await mkdtemp(join(tmpdir(), 'parent-cache-'));
});
test.afterEach.always(async (t) => rm(t.context.dir, { recursive: true, force: true }));

const graph = sdrGraph({ nodes: 1 << 12, porepId: porepId(5) });

test('a missing cache is created with 14 u32 LE parents per node, under rust-fil-proofs\' name', async (t) => {
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
    parentCacheBaseName(sdrGraph({ nodes: 1 << 12, porepId: porepId(0), apiVersion: 'V1_0' })),
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

test('a cache file another program wrote (no sidecar) is adopted after its sampled parents check out', async (t) => {
  const a = await ParentCache.open(graph, { dir: t.context.dir });
  await a.close();
  const manifest = a.path.replace(/\.cache$/, '.json');
  const recorded = JSON.parse(await readFile(manifest, 'utf8'));
  await rm(manifest); // as rust-fil-proofs leaves it: the .cache file alone
  const b = await ParentCache.open(graph, { dir: t.context.dir });
  await b.close();
  t.is(b.status, 'adopted');
  const adopted = JSON.parse(await readFile(manifest, 'utf8'));
  t.is(adopted.source, 'adopted');
  t.is(adopted.sha256, recorded.sha256, 'the same digest as when we generated it');
  const c = await ParentCache.open(graph, { dir: t.context.dir });
  await c.close();
  t.is(c.status, 'verified');
});

test('a foreign cache file with a wrong parent in a sampled node, or the wrong size, is regenerated', async (t) => {
  const a = await ParentCache.open(graph, { dir: t.context.dir });
  await a.close();
  const good = await readFile(a.path);
  const manifest = a.path.replace(/\.cache$/, '.json');
  const [lastStart] = parentCacheSample(graph.nodes).at(-1)!;
  for (const bad of [
    (() => {
      const b = Buffer.from(good);
      b[(lastStart + 3) * PARENT_BYTES_PER_NODE + 30]! ^= 1; // an expander parent of a sampled node
      return b;
    })(),
    new Uint8Array(graph.nodes * PARENT_BYTES_PER_NODE), // all zero
    good.subarray(0, good.length - PARENT_BYTES_PER_NODE), // one node short
  ]) {
    await rm(manifest, { force: true });
    await writeFile(a.path, bad);
    const b = await ParentCache.open(graph, { dir: t.context.dir });
    await b.close();
    t.is(b.status, 'repaired');
    t.true((await readFile(a.path)).equals(good));
  }
});

test('cache files carry rust-fil-proofs names (Lotus ParentsForProof vectors for 2 KiB, 512 MiB and 32 GiB V1_1)', (t) => {
  const name = (proof: number, nodes: number) => parentCacheBaseName(sdrGraph({ nodes, porepId: porepId(proof) }));
  t.is(name(5, 64), 'v28-sdr-parent-494d91dc80f2df5272c4b9e129bc7ade9405225993af9fe34e6542a39a47554b');
  t.is(name(7, 1 << 24), 'v28-sdr-parent-7ba215a1d2345774ab90b8cb1158d296e409d6068819d7b8c7baf0b25d63dc34');
  t.is(name(8, 1 << 30), 'v28-sdr-parent-21981246c370f9d76c7a77ab273d94bde0ceb4e938292334960bce05585dc117');
});

test('the sample covers both ends of the file and runs spread between', (t) => {
  const runs = parentCacheSample(1 << 20);
  t.deepEqual(runs[0], [0, 1024]);
  t.deepEqual(runs.at(-1), [(1 << 20) - 1024, 1024]);
  t.is(runs.length, 64);
  t.true(runs.slice(1, -1).every(([start], i) => start > (i === 0 ? 0 : runs[i]![0])), 'ascending');
  t.deepEqual(parentCacheSample(64), [[0, 64], ...Array.from({ length: 62 }, (_, i) => [Math.floor((64 * (i + 1)) / 63), 64 - Math.floor((64 * (i + 1)) / 63)]), [0, 64]]);
});

test('an abandoned generation leaves nothing behind', async (t) => {
  const big = sdrGraph({ nodes: 1 << 18, porepId: porepId(6) });
  await t.throwsAsync(
    ParentCache.open(big, { dir: t.context.dir, throwIfCancelled: () => { throw new Error('stop'); } }),
    { message: 'stop' },
  );
  t.deepEqual(await readdir(t.context.dir), []);
});

test('a generation killed with SIGKILL leaves a temp that the next open removes, while a live process\'s temp stays', async (t) => {
  const big = sdrGraph({ nodes: 1 << 18, porepId: porepId(7) });
  const moduleUrl = new URL('../../../src/seal/parent-cache.js', import.meta.url).href;
  const graphUrl = new URL('../../../src/seal/graph.js', import.meta.url).href;
  const proofsUrl = new URL('../../../src/sector/proofs.js', import.meta.url).href;
  const script = `
    const { ParentCache } = await import(${JSON.stringify(moduleUrl)});
    const { sdrGraph } = await import(${JSON.stringify(graphUrl)});
    const { porepId } = await import(${JSON.stringify(proofsUrl)});
    await ParentCache.open(sdrGraph({ nodes: 1 << 18, porepId: porepId(7) }), { dir: ${JSON.stringify(t.context.dir)} });`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, SECTOR_STORAGE_CRASH_AT: 'parent-cache.mid-generation' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, sig) => resolve(sig)));
  t.is(signal, 'SIGKILL', stderr);
  const left = await readdir(t.context.dir);
  t.is(left.length, 1, 'only the killed generation\'s temp');
  t.regex(left[0]!, new RegExp(`^\\.${parentCacheBaseName(big)}\\.cache\\.${child.pid}-[0-9a-f]+\\.tmp$`));
  t.true((await stat(join(t.context.dir, left[0]!))).size > 0, 'the first chunk was written');
  // a temp of a process that still runs (this one) is somebody's generation in progress
  const live = `.${parentCacheBaseName(big)}.cache.${process.pid}-0badcafe.tmp`;
  await writeFile(join(t.context.dir, live), 'in progress');
  const cache = await ParentCache.open(big, { dir: t.context.dir });
  t.is(cache.status, 'created');
  await cache.close();
  t.deepEqual((await readdir(t.context.dir)).sort(), [live, `${parentCacheBaseName(big)}.cache`, `${parentCacheBaseName(big)}.json`].sort());
});

test('the default directory is rust-fil-proofs\': FIL_PROOFS_PARENT_CACHE, else /var/tmp/filecoin-parents', (t) => {
  const saved = process.env.FIL_PROOFS_PARENT_CACHE;
  try {
    process.env.FIL_PROOFS_PARENT_CACHE = '/some/where';
    t.is(parentCacheDir(), '/some/where');
    delete process.env.FIL_PROOFS_PARENT_CACHE;
    t.is(parentCacheDir(), '/var/tmp/filecoin-parents');
  } finally {
    if (saved === undefined) delete process.env.FIL_PROOFS_PARENT_CACHE;
    else process.env.FIL_PROOFS_PARENT_CACHE = saved;
  }
});
