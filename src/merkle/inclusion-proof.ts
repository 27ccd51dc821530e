/**
 * Merkle inclusion proofs for the sealing trees, as plain objects (Uint8Array fields; cborg and
 * structured clone carry them as is), and their verification.
 *
 * A proof lists, bottom-up, one entry per level: the level's arity, the position of the path
 * node inside its group of `arity` children and the `arity − 1` siblings in order (the group
 * without the path node). The positions are the mixed-radix digits of the leaf index, so a
 * verifier that knows the leaf index checks them instead of trusting them.
 */
import { hashPair } from '../../native/hash.js';
import { poseidonHash } from '../../native/poseidon.js';
import { type TreeShape, levelArities } from './tree-shape.js';

/** Node hash of a tree: SHA-256 trunc254 (binary, tree_d) or Poseidon (tree_c, tree_r_last). */
export type TreeHash = 'sha256' | 'poseidon';

/** One level of an inclusion path. */
export interface ProofLevel {
  /** Children per parent at this level. */
  arity: number;
  /** Position of the path node among its siblings, 0 … arity − 1. */
  position: number;
  /** The other `arity − 1` children, in order, 32 bytes each. */
  siblings: Uint8Array;
}

/** Inclusion proof of one leaf. */
export interface InclusionProof {
  hash: TreeHash;
  /** Index of the leaf in the whole tree. */
  leafIndex: number;
  /** The leaf node (32 bytes). */
  leaf: Uint8Array;
  /** Levels bottom-up, ending below the root. */
  levels: ProofLevel[];
}

/** The tree hash used by a tree kind. */
export function hashOfShape(shape: TreeShape): TreeHash {
  return shape.kind === 'tree-d' ? 'sha256' : 'poseidon';
}

/** Inserts `node` at `position` among `siblings`: the full group of children. */
export function groupWith(siblings: Uint8Array, node: Uint8Array, position: number): Uint8Array {
  const group = new Uint8Array(siblings.length + 32);
  group.set(siblings.subarray(0, position * 32), 0);
  group.set(node, position * 32);
  group.set(siblings.subarray(position * 32), (position + 1) * 32);
  return group;
}

/** Removes the node at `position` from a group of children: the siblings. */
export function siblingsOf(group: Uint8Array, position: number): Uint8Array {
  const out = new Uint8Array(group.length - 32);
  out.set(group.subarray(0, position * 32), 0);
  out.set(group.subarray((position + 1) * 32), position * 32);
  return out;
}

function hashGroup(hash: TreeHash, group: Uint8Array): Uint8Array {
  if (hash === 'sha256') return hashPair(group.subarray(0, 32), group.subarray(32, 64));
  return poseidonHash(group);
}

/**
 * The root a proof leads to, or undefined when the proof is malformed (bad sizes, positions
 * that are not the digits of `leafIndex`, a SHA level that is not binary, a node ≥ r).
 */
export function proofRoot(proof: InclusionProof): Uint8Array | undefined {
  if (!(proof.leaf instanceof Uint8Array) || proof.leaf.length !== 32) return undefined;
  if (!Number.isSafeInteger(proof.leafIndex) || proof.leafIndex < 0) return undefined;
  let node = proof.leaf;
  let index = proof.leafIndex;
  for (const level of proof.levels) {
    const { arity, position, siblings } = level;
    if (!Number.isInteger(arity) || arity < 2 || (proof.hash === 'sha256' && arity !== 2)) return undefined;
    if (!(siblings instanceof Uint8Array) || siblings.length !== (arity - 1) * 32) return undefined;
    if (position !== index % arity) return undefined;
    try {
      node = hashGroup(proof.hash, groupWith(siblings, node, position));
    } catch {
      return undefined; // a sibling that is not a field element, or an unsupported arity
    }
    index = Math.floor(index / arity);
  }
  return index === 0 ? node : undefined;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * True when `proof` proves its leaf at its index under `root`. With `shape`, the proof must
 * also have exactly the shape's level arities and the shape's hash, and index a leaf inside it
 * (a verifier should always pass the shape: it fixes the tree instead of trusting the proof).
 */
export function verifyInclusionProof(proof: InclusionProof, root: Uint8Array, shape?: TreeShape): boolean {
  if (shape) {
    if (proof.hash !== hashOfShape(shape)) return false;
    if (proof.leafIndex >= shape.nodes) return false;
    const arities = levelArities(shape);
    if (proof.levels.length !== arities.length || proof.levels.some((l, i) => l.arity !== arities[i])) return false;
  }
  const computed = proofRoot(proof);
  return computed !== undefined && equalBytes(computed, root);
}
