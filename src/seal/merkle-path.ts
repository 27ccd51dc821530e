/**
 * Verification of the root-less inclusion paths carried in vanilla proofs
 * ({@link MerklePath}): the verifier derives the arity of every level from the sector's tree
 * shape and the position of the path node from the challenged index (mixed radix, bottom level
 * first), so a proof cannot choose either.
 */
import { createHash } from 'node:crypto';
import { poseidonHash } from '../../native/poseidon.js';
import { levelArities, sealTreeShapes } from '../merkle/tree-shape.js';
import type { SealProofInfo } from '../sector/proofs.js';
import type { MerklePath } from './vanilla-proof.js';

/** Arities of tree_d's levels, bottom-up: a binary tree over every node. */
export function treeDArities(nodes: number): number[] {
  return new Array<number>(Math.round(Math.log2(nodes))).fill(2);
}

/**
 * Arities of tree_c / tree_r_last levels, bottom-up: arity-8 levels of each base tree, then the
 * sub-tree level and the top level when the shape has them (rust-fil-proofs `storage-proofs-core/src/merkle/`).
 */
export function treeRArities(info: SealProofInfo): number[] {
  return levelArities(sealTreeShapes(info).treeC);
}

/** trunc254(SHA-256(a ‖ b)): the tree_d node hash. */
export function shaNode(a: Uint8Array, b: Uint8Array): Uint8Array {
  const h = new Uint8Array(createHash('sha256').update(a).update(b).digest());
  h[31]! &= 0x3f;
  return h;
}

/**
 * The root a path leads to, or undefined when the path's shape does not match the arities.
 * `hash(children)` gets `arity·32` bytes.
 */
export function rootOfPath(
  path: MerklePath,
  index: number,
  arities: readonly number[],
  hash: (children: Uint8Array, arity: number) => Uint8Array,
): Uint8Array | undefined {
  if (path.siblings.length !== arities.length) return undefined;
  let node = path.leaf;
  let idx = index;
  for (let level = 0; level < arities.length; level++) {
    const arity = arities[level]!;
    const sib = path.siblings[level]!;
    if (sib.length !== (arity - 1) * 32) return undefined;
    const pos = idx % arity;
    const children = new Uint8Array(arity * 32);
    children.set(sib.subarray(0, pos * 32), 0);
    children.set(node, pos * 32);
    children.set(sib.subarray(pos * 32), (pos + 1) * 32);
    node = hash(children, arity);
    idx = Math.floor(idx / arity);
  }
  // the index must be fully consumed, else it pointed outside the tree
  return idx === 0 ? node : undefined;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** True when `path` proves its leaf at `index` in the tree_d (SHA-256) with root `root`. */
export function verifyShaPath(path: MerklePath, index: number, nodes: number, root: Uint8Array): boolean {
  const r = rootOfPath(path, index, treeDArities(nodes), (c) => shaNode(c.subarray(0, 32), c.subarray(32, 64)));
  return r !== undefined && equal(r, root);
}

/** True when `path` proves its leaf at `index` in a Poseidon tree of the sector's shape with root `root`. */
export function verifyPoseidonPath(path: MerklePath, index: number, info: SealProofInfo, root: Uint8Array): boolean {
  const r = rootOfPath(path, index, treeRArities(info), (c) => poseidonHash(c));
  return r !== undefined && equal(r, root);
}

export { equal as bytesEqual };
