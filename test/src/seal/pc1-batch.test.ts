/**
 * Batch PC1: several sectors of one size labelled in one pass give, bit for bit, the layers,
 * checkpoints and outputs of one PC1 per sector, resume together, and refuse mixed batches.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { AbortedError, InvalidArgumentError } from '../../../src/errors.js';
import { CANCEL_FLAG, createTaskContext } from '../../../src/lifecycle/task-context.js';
import { type PreCommit1Input, sealPreCommit1, sealPreCommit1Batch } from '../../../src/seal/pc1.js';
import { readCheckpoint } from '../../../src/seal/pc1-checkpoint.js';
import { sealPreCommit2 } from '../../../src/seal/pc2.js';

const test = anyTest as TestFn<{ dir: string }>;
const KiB2 = 2048;
const TICKET_2K = Uint8Array.from({ length: 32 }, (_, i) => i + 1);
const COMMD_2K = 'fc7e928296e516faade986b28f92d44a4f24b935485223376a799027bc18f833';

const parents = await mkdtemp(join(tmpdir(), 'pc1b-parents-'));
test.after.always(async () => rm(parents, { recursive: true, force: true }));
test.beforeEach(async (t) => {
  t.context = { dir: await mkdtemp(join(tmpdir(), 'pc1b-')) };
});
test.afterEach.always(async (t) => rm(t.context.dir, { recursive: true, force: true }));

/** Sector n of a 2 KiB batch: its own number, ticket and cache directory. */
function sector(dir: string, n: number, over: Partial<PreCommit1Input> = {}): PreCommit1Input {
  const ticket = n === 1 ? TICKET_2K : Uint8Array.from({ length: 32 }, (_, i) => (i * n + 7) & 0xff);
  return { sectorSize: KiB2, cacheDir: join(dir, `cache-${n}`), commD: COMMD_2K, minerId: 1000, sectorNumber: n, ticket, parentCacheDir: parents, ...over };
}

for (const k of [2, 3, 4, 8]) {
  test(`a batch of ${k} sectors writes the same layers and outputs as ${k} separate PC1 runs`, async (t) => {
    const batch = await sealPreCommit1Batch(Array.from({ length: k }, (_, i) => sector(join(t.context.dir, 'b'), i + 1)));
    t.is(batch.length, k);
    for (let i = 0; i < k; i++) {
      const alone = await sealPreCommit1(sector(join(t.context.dir, 'a'), i + 1));
      const b = batch[i]!;
      t.is(b.sectorNumber, i + 1);
      t.is(b.replicaId, alone.replicaId);
      t.deepEqual(b.layerDigests, alone.layerDigests, `sector ${i + 1}`);
      t.is(b.stats.batchSize, k);
      for (const f of b.layerFiles) t.deepEqual(await readFile(join(b.cacheDir, f)), await readFile(join(alone.cacheDir, f)));
      t.deepEqual((await readCheckpoint(b.cacheDir))?.done, (await readCheckpoint(alone.cacheDir))?.done);
    }
  });
}

test('a batch moving its layers to and from the files in chunks (24 nodes: a short last chunk) writes and resumes the same layers', async (t) => {
  // the batch's layers are interleaved in memory: each layer file is split out, and read back
  // in on resume, 24 nodes at a time (64-node sectors: chunks of 24, 24 and 16 nodes)
  const inputs = [1, 2, 3].map((n) => sector(join(t.context.dir, 'b'), n, { chunkNodes: 24 }));
  const batch = await sealPreCommit1Batch(inputs);
  const alone = await Promise.all([1, 2, 3].map((n) => sealPreCommit1(sector(join(t.context.dir, 'a'), n))));
  for (const [i, b] of batch.entries()) {
    for (const f of b.layerFiles) t.deepEqual(await readFile(join(b.cacheDir, f)), await readFile(join(alone[i]!.cacheDir, f)), `sector ${i + 1}, ${f}`);
  }
  // every sector loses layer 2: the batch reads layer 1 back into its buffer, relabels layer 2
  for (const [i, b] of batch.entries()) await rm(join(inputs[i]!.cacheDir, b.layerFiles[1]!));
  const again = await sealPreCommit1Batch(inputs);
  t.deepEqual(again.map((o) => o.resumedLayers), [1, 1, 1]);
  t.deepEqual(again.map((o) => o.layerDigests), alone.map((o) => o.layerDigests));
});

test('a batch whose layers would pass 4 GiB is refused before anything is allocated', async (t) => {
  const big = (n: number) => sector(t.context.dir, n, { sectorSize: 32 * 2 ** 30, commD: '00'.repeat(32) });
  await t.throwsAsync(sealPreCommit1Batch([big(1), big(2)]), { instanceOf: InvalidArgumentError, message: /at most 4 GiB per layer: 2 sectors of 34359738368 bytes/ });
});

test('the V-E2E-2KiB sector sealed in a batch of three still seals to its CommR', async (t) => {
  const unsealedPath = join(t.context.dir, 'unsealed');
  await writeFile(unsealedPath, new Uint8Array(KiB2));
  const [first] = await sealPreCommit1Batch([1, 2, 3].map((n) => sector(t.context.dir, n, { commD: undefined, unsealedPath })));
  t.is(first!.replicaId, 'b8b46c93870fa313cf0fca62c81c0dae6bde6d258df8d0f3de5fe3a30d812f0d');
  const pc2 = await sealPreCommit2(first!, { cacheDir: first!.cacheDir, sealedPath: join(t.context.dir, 'sealed'), unsealedPath });
  t.is(Buffer.from(pc2.raw.commR).toString('hex'), '441c6ea9c3a7f254967d8d2477f243d4b049b813a94a6f6784f7578b48913b61');
});

test('a batch cancelled in layer 2 resumes after layer 1 in every sector and finishes identically', async (t) => {
  const inputs = [1, 2, 3].map((n) => sector(t.context.dir, n, { chunkNodes: 16 }));
  // the flag is set once a chunk of layer 2 is labelled: the next chunk's native call stops
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const ctx = createTaskContext(flag, { report: (p) => p.phase === 'pc1' && p.detail === 'layer 2/2' && Atomics.store(flag, CANCEL_FLAG, 1) }, 0);
  await t.throwsAsync(sealPreCommit1Batch(inputs, ctx), { instanceOf: AbortedError, message: 'labelling of layer 2 cancelled' });
  for (const input of inputs) t.deepEqual((await readCheckpoint(input.cacheDir))?.done.map((d) => d.layer), [1]);
  const resumed = await sealPreCommit1Batch(inputs);
  t.deepEqual(resumed.map((o) => o.resumedLayers), [1, 1, 1]);
  const fresh = await sealPreCommit1Batch([1, 2, 3].map((n) => sector(join(t.context.dir, 'fresh'), n)));
  t.deepEqual(resumed.map((o) => o.layerDigests), fresh.map((o) => o.layerDigests));
});

test('a batch resumes from the layer every sector still has: a sector with more is relabelled to match', async (t) => {
  const inputs = [1, 2].map((n) => sector(t.context.dir, n));
  const reference = await sealPreCommit1Batch(inputs);
  // sector 2 loses layer 2: the batch redoes layer 2 for both, sector 1 from its intact layer 1
  await rm(join(inputs[1]!.cacheDir, reference[1]!.layerFiles[1]!));
  const again = await sealPreCommit1Batch(inputs);
  t.deepEqual(again.map((o) => o.resumedLayers), [1, 1]);
  t.deepEqual(again.map((o) => o.layerDigests), reference.map((o) => o.layerDigests));
});

test('mixed or malformed batches are refused by name', async (t) => {
  const dir = t.context.dir;
  await t.throwsAsync(sealPreCommit1Batch([]), { message: /1 to 8 sectors, got 0/ });
  await t.throwsAsync(sealPreCommit1Batch(Array.from({ length: 9 }, (_, i) => sector(dir, i + 1))), { message: /1 to 8 sectors, got 9/ });
  await t.throwsAsync(sealPreCommit1Batch([sector(dir, 1), sector(dir, 2, { sectorSize: 8 << 20, commD: '00'.repeat(32) })]), {
    message: /one proof: StackedDrg8MiBV1_1 differs from StackedDrg2KiBV1_1/,
  });
  await t.throwsAsync(sealPreCommit1Batch([sector(dir, 1), sector(dir, 2, { cacheDir: join(dir, 'cache-1') })]), { message: /its own cacheDir/ });
});
