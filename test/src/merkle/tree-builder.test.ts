import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { hashPair } from '../../../native/hash.js';
import { FR_MODULUS, poseidonHash } from '../../../native/poseidon.js';
import { TreeBuilder, buildTree } from '../../../src/merkle/tree-builder.js';
import { TreeReader } from '../../../src/merkle/tree-reader.js';
import { type TreeShape, baseTreeFileSize, levelArities, poseidonTreeShape, treeDShape } from '../../../src/merkle/tree-shape.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

async function tempDir(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'merkle-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Random field elements below 2^254, as a sealer's leaves are. */
function randomLeaves(nodes: number): Uint8Array {
  const b = new Uint8Array(randomBytes(nodes * 32));
  for (let i = 31; i < b.length; i += 32) b[i] = (b[i] ?? 0) & 0x3f;
  return b;
}

/** Independent root: level by level with single-group hashes, arities bottom-up. */
function naiveRoot(shape: TreeShape, leaves: Uint8Array): Uint8Array {
  let row: Uint8Array[] = [];
  for (let i = 0; i < leaves.length; i += 32) row.push(leaves.subarray(i, i + 32));
  for (const arity of levelArities(shape)) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < row.length; i += arity) {
      const group = row.slice(i, i + arity);
      next.push(shape.kind === 'tree-d' ? hashPair(group[0]!, group[1]!) : poseidonHash(new Uint8Array(Buffer.concat(group))));
    }
    row = next;
  }
  return row[0]!;
}

test('tree_d of an all-zero 2 KiB sector has root CommD fc7e9282…f833 and stores 2·64−1 nodes', async (t) => {
  const dir = await tempDir(t);
  const shape = treeDShape(64);
  const built = await buildTree(
    shape,
    dir,
    (_first, buf) => {
      buf.fill(0);
    },
    16,
  );
  t.is(hex(built.root), 'fc7e928296e516faade986b28f92d44a4f24b935485223376a799027bc18f833');
  const file = await readFile(join(dir, 'sc-02-data-tree-d.dat'));
  t.is(file.length, 127 * 32);
  t.is(hex(file.subarray(file.length - 32)), hex(built.root));
  // row 1 starts after the 64 leaves: Z(64 B) = H(0, 0)
  t.is(hex(file.subarray(64 * 32, 65 * 32)), 'f5a5fd42d16a20302798ef6ed309979b43003d2320d9f0e8ea9831a92759fb0b');
  t.deepEqual(await readdir(dir), ['sc-02-data-tree-d.dat']);
});

for (const [label, nodes] of [
  ['2 KiB (8,0,0)', 64],
  ['4 KiB (8,2,0)', 128],
  ['16 KiB (8,8,0)', 512],
  ['32 KiB (8,8,2)', 1024],
] as const) {
  test(`tree_c and tree_r_last of a ${label} shape equal an independent level-by-level root`, async (t) => {
    const dir = await tempDir(t);
    const leaves = randomLeaves(nodes);
    for (const kind of ['tree-c', 'tree-r-last'] as const) {
      const shape = poseidonTreeShape(kind, nodes);
      const built = await buildTree(shape, dir, (first, buf) => buf.set(leaves.subarray(first * 32, first * 32 + buf.length)), 16);
      t.is(hex(built.root), hex(naiveRoot(shape, leaves)), kind);
      t.is(built.files.length, shape.baseTrees);
      for (const f of built.files) t.is((await readFile(f)).length, baseTreeFileSize(shape), f);
      const reader = new TreeReader(shape, dir, join(dir, 'unused'));
      t.is(hex(await reader.root()), hex(built.root));
      await reader.close();
    }
  });
}

test('pushing leaves in uneven chunks writes the same files as one push', async (t) => {
  const a = await tempDir(t);
  const b = await tempDir(t);
  const shape = poseidonTreeShape('tree-c', 1024);
  const leaves = randomLeaves(1024);
  const one = await TreeBuilder.create(shape, a);
  await one.push(leaves);
  const rootA = (await one.finish()).root;
  const many = await TreeBuilder.create(shape, b);
  for (const size of [1, 7, 9, 100, 3, 500, 404]) {
    const start = many.leaves * 32;
    await many.push(leaves.subarray(start, start + size * 32));
  }
  const rootB = (await many.finish()).root;
  t.is(hex(rootA), hex(rootB));
  for (const name of await readdir(a)) t.is(hex(await readFile(join(b, name))), hex(await readFile(join(a, name))), name);
});

test('a leaf >= r aborts the build and leaves no file behind', async (t) => {
  const dir = await tempDir(t);
  const shape = poseidonTreeShape('tree-c', 128);
  const leaves = randomLeaves(128);
  leaves.set(new Uint8Array(Buffer.from(FR_MODULUS.toString(16).padStart(64, '0'), 'hex').reverse()), 100 * 32);
  const builder = await TreeBuilder.create(shape, dir);
  await builder.push(leaves.subarray(0, 64 * 32));
  await t.throwsAsync(() => builder.push(leaves.subarray(64 * 32)), { instanceOf: RangeError, message: /children node/ });
  t.deepEqual(await readdir(dir), []);
  await t.throwsAsync(() => builder.finish(), { message: /already failed/ });
});

test('finishing early or pushing too many leaves is refused without leaving files', async (t) => {
  const dir = await tempDir(t);
  const shape = poseidonTreeShape('tree-c', 64);
  const early = await TreeBuilder.create(shape, dir);
  await early.push(randomLeaves(8));
  await t.throwsAsync(() => early.finish(), { message: /8 of 64 leaves/ });
  const over = await TreeBuilder.create(shape, dir);
  await t.throwsAsync(() => over.push(randomLeaves(65)), { message: /65 leaves pushed/ });
  await over.abort();
  t.deepEqual(await readdir(dir), []);
});
