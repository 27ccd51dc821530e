import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { poseidonSplitThreads } from '../../../native/poseidon.js';
import { buildTreeC, buildTreeRLast } from '../../../src/merkle/sector-trees.js';
import { TreeBuilder } from '../../../src/merkle/tree-builder.js';
import { poseidonTreeShape } from '../../../src/merkle/tree-shape.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

async function tempDir(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'merkle-threads-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function randomLeaves(nodes: number): Uint8Array {
  const b = new Uint8Array(randomBytes(nodes * 32));
  for (let i = 31; i < b.length; i += 32) b[i] = (b[i] ?? 0) & 0x3f;
  return b;
}

async function sameFiles(t: { is(a: string, b: string, m?: string): void; deepEqual(a: unknown, b: unknown): void }, a: string, b: string) {
  const names = (await readdir(a)).sort();
  t.deepEqual((await readdir(b)).sort(), names);
  for (const name of names) t.is(hex(await readFile(join(b, name))), hex(await readFile(join(a, name))), name);
}

test('a tree_c built with its rows split across 3 threads has the root and files of a one-thread build', async (t) => {
  const nodes = 8 ** 5;
  const shape = poseidonTreeShape('tree-c', nodes, [8, 0, 0]);
  // the first row (4096 arity-8 hashes) is split; upper rows fall back to fewer threads
  t.is(poseidonSplitThreads(nodes / 8, { threads: 3 }), 3);
  const leaves = randomLeaves(nodes);
  const [a, b] = [await tempDir(t), await tempDir(t)];
  const one = await TreeBuilder.create(shape, a, { threads: 1 });
  await one.push(leaves);
  const rootOne = (await one.finish()).root;
  const many = await TreeBuilder.create(shape, b, { threads: 3 });
  await many.push(leaves.subarray(0, 5000 * 32));
  await many.push(leaves.subarray(5000 * 32));
  const rootMany = (await many.finish()).root;
  t.is(hex(rootMany), hex(rootOne));
  await sameFiles(t, a, b);
});

test('buildTreeC and buildTreeRLast give the same roots and files on 1 and 4 threads', async (t) => {
  const nodes = 8 ** 5;
  const src = await tempDir(t);
  const layerPaths = [join(src, 'l1'), join(src, 'l2')];
  for (const p of layerPaths) await writeFile(p, randomLeaves(nodes));
  const sealed = join(src, 'sealed');
  await writeFile(sealed, randomLeaves(nodes));
  t.is(poseidonSplitThreads(nodes, { threads: 4 }), 4);
  const [a, b] = [await tempDir(t), await tempDir(t)];
  const c1 = await buildTreeC(nodes, a, layerPaths, [8, 0, 0], nodes, { threads: 1 });
  const c4 = await buildTreeC(nodes, b, layerPaths, [8, 0, 0], nodes, { threads: 4 });
  t.is(hex(c4.root), hex(c1.root));
  const r1 = await buildTreeRLast(nodes, a, sealed, [8, 0, 0], nodes, { threads: 1 });
  const r4 = await buildTreeRLast(nodes, b, sealed, [8, 0, 0], nodes, { threads: 4 });
  t.is(hex(r4.root), hex(r1.root));
  await sameFiles(t, a, b);
});

test('a tree builder refuses a thread count that is not a positive integer', async (t) => {
  const shape = poseidonTreeShape('tree-c', 64, [8, 0, 0]);
  await t.throwsAsync(() => TreeBuilder.create(shape, undefined, { threads: 0 }), { message: /options\.threads/ });
  await t.throwsAsync(() => TreeBuilder.create(shape, undefined, { threads: 2.5 }), { message: /options\.threads/ });
});
