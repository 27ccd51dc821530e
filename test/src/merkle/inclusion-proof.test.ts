import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { type InclusionProof, proofRoot, verifyInclusionProof } from '../../../src/merkle/inclusion-proof.js';
import { buildTree } from '../../../src/merkle/tree-builder.js';
import { TreeReader } from '../../../src/merkle/tree-reader.js';
import { poseidonTreeShape, treeDShape } from '../../../src/merkle/tree-shape.js';

async function tempDir(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'merkle-proof-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function randomLeaves(nodes: number): Uint8Array {
  const b = new Uint8Array(randomBytes(nodes * 32));
  for (let i = 31; i < b.length; i += 32) b[i] = (b[i] ?? 0) & 0x3f;
  return b;
}

/** A deep copy with one byte of one sibling flipped. */
function tamper(proof: InclusionProof, level: number): InclusionProof {
  const levels = proof.levels.map((l) => ({ ...l, siblings: l.siblings.slice() }));
  levels[level]!.siblings[0]! ^= 1;
  return { ...proof, levels };
}

for (const [label, nodes] of [
  ['2 KiB', 64],
  ['4 KiB', 128],
  ['16 KiB', 512],
  ['32 KiB', 1024],
] as const) {
  test(`proofs from the stored ${label} tree_c and tree_r_last files verify and tampering fails`, async (t) => {
    const dir = await tempDir(t);
    const leaves = randomLeaves(nodes);
    const sealed = join(dir, 'sealed');
    await writeFile(sealed, leaves);
    for (const kind of ['tree-c', 'tree-r-last'] as const) {
      const shape = poseidonTreeShape(kind, nodes);
      const { root } = await buildTree(shape, dir, (first, buf) => buf.set(leaves.subarray(first * 32, first * 32 + buf.length)), 32);
      const reader = new TreeReader(shape, dir, sealed);
      t.teardown(() => reader.close());
      for (const i of [0, 1, 7, 8, nodes / 2 - 1, nodes / 2, nodes - 1]) {
        const proof = await reader.proof(i);
        t.deepEqual(proof.leaf, leaves.subarray(i * 32, i * 32 + 32), `${kind} leaf ${i}`);
        t.true(verifyInclusionProof(proof, root, shape), `${kind} leaf ${i}`);
        for (let level = 0; level < proof.levels.length; level++) {
          t.false(verifyInclusionProof(tamper(proof, level), root, shape), `${kind} leaf ${i} level ${level}`);
        }
        // the same path cannot claim another index
        t.false(verifyInclusionProof({ ...proof, leafIndex: (i + 1) % nodes }, root, shape));
        // a structured clone (worker boundary) still verifies
        t.true(verifyInclusionProof(structuredClone(proof), root, shape));
      }
      await t.throwsAsync(() => reader.proof(nodes), { instanceOf: RangeError, message: new RegExp(`leafIndex ${nodes}`) });
    }
  });
}

test('tree_d proofs are binary SHA paths that verify against CommD', async (t) => {
  const dir = await tempDir(t);
  const leaves = randomLeaves(256);
  const shape = treeDShape(256);
  const { root } = await buildTree(shape, dir, (first, buf) => buf.set(leaves.subarray(first * 32, first * 32 + buf.length)), 64);
  const reader = new TreeReader(shape, dir);
  t.teardown(() => reader.close());
  for (const i of [0, 1, 100, 255]) {
    const proof = await reader.proof(i);
    t.is(proof.hash, 'sha256');
    t.is(proof.levels.length, 8);
    t.true(proof.levels.every((l) => l.arity === 2 && l.siblings.length === 32));
    t.true(verifyInclusionProof(proof, root, shape));
    t.false(verifyInclusionProof(tamper(proof, 3), root, shape));
    // a Poseidon verifier does not accept a SHA path
    t.false(verifyInclusionProof({ ...proof, hash: 'poseidon' }, root, shape));
  }
});

test('verification rejects proofs whose shape differs from the expected tree', async (t) => {
  const dir = await tempDir(t);
  const leaves = randomLeaves(128);
  const sealed = join(dir, 'sealed');
  await writeFile(sealed, leaves);
  const shape = poseidonTreeShape('tree-r-last', 128);
  const { root } = await buildTree(shape, dir, (first, buf) => buf.set(leaves.subarray(first * 32, first * 32 + buf.length)));
  const reader = new TreeReader(shape, dir, sealed);
  t.teardown(() => reader.close());
  const proof = await reader.proof(77);
  t.true(verifyInclusionProof(proof, root, shape));
  t.false(verifyInclusionProof({ ...proof, levels: proof.levels.slice(0, -1) }, root, shape));
  t.false(verifyInclusionProof(proof, root, poseidonTreeShape('tree-r-last', 64)));
  t.false(verifyInclusionProof({ ...proof, leaf: new Uint8Array(31) }, root));
  const badSibling = { ...proof, levels: proof.levels.map((l) => ({ ...l, siblings: new Uint8Array(l.siblings.length).fill(0xff) })) };
  t.is(proofRoot(badSibling), undefined); // siblings >= r cannot be hashed
  t.throws(() => new TreeReader(shape, dir), { message: /need the sealed file/ });
});
