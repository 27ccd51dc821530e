/**
 * What a verifier recomputes from a labeling proof (rust-fil-proofs `stacked/vanilla/labeling_proof.rs`): the label of a node
 * from its replica id, layer, index and the 37 parent labels, the expected 37-label sequence
 * from the parent columns, and the Fr encoding of a data node with a key.
 *
 * Deliberately independent of the native sealer (node:crypto SHA-256 and BigInt field
 * arithmetic): a verifier that shares code with the prover would share its bugs.
 */
import { createHash } from 'node:crypto';

/** The BLS12-381 scalar field modulus r. */
export const FR_MODULUS = 0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001n;

/** Number of parent labels hashed into every label of a node > 0. */
export const LABEL_PARENTS = 37;
/** DRG (base) parents per node. */
export const BASE_DEGREE = 6;
/** Expander parents per node. */
export const EXP_DEGREE = 8;

/**
 * `trunc254(SHA-256(replicaId ‖ u32 BE layer ‖ u64 BE node ‖ 20 zero bytes ‖ parents))`;
 * `parents` is 37·32 bytes, or empty for node 0.
 */
export function computeLabel(replicaId: Uint8Array, layer: number, node: number, parents: Uint8Array): Uint8Array {
  const block = new Uint8Array(32);
  const view = new DataView(block.buffer);
  view.setUint32(0, layer, false);
  view.setBigUint64(4, BigInt(node), false);
  const h = new Uint8Array(createHash('sha256').update(replicaId).update(block).update(parents).digest());
  h[31]! &= 0x3f;
  return h;
}

/**
 * The 37 parent labels in hashing order. Layer 1: the 6 DRG parents' labels (current layer)
 * cycled: 6 × 6 + the first again. Layer ≥ 2: the 6 DRG labels (current layer) then the 8
 * expander labels (previous layer) — 14 — cycled: 14 + 14 + 9.
 */
export function labelParentSequence(layer: number, drgLabels: readonly Uint8Array[], expLabels: readonly Uint8Array[]): Uint8Array {
  const unique = layer === 1 ? drgLabels : [...drgLabels, ...expLabels];
  const out = new Uint8Array(LABEL_PARENTS * 32);
  for (let i = 0; i < LABEL_PARENTS; i++) out.set(unique[i % unique.length]!, i * 32);
  return out;
}

/** A 32-byte LE node as an integer. */
export function frFromLe(bytes: Uint8Array): bigint {
  let x = 0n;
  for (let i = 31; i >= 0; i--) x = (x << 8n) | BigInt(bytes[i]!);
  return x;
}

/** An integer < 2^256 as 32 LE bytes. */
export function frToLe(x: bigint): Uint8Array {
  const out = new Uint8Array(32);
  let v = x;
  for (let i = 0; i < 32; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** `(key + data) mod r` as 32 LE bytes: the replica node of a data node (PC2 encoding). */
export function encodeNode(key: Uint8Array, data: Uint8Array): Uint8Array {
  return frToLe((frFromLe(key) + frFromLe(data)) % FR_MODULUS);
}

/** `(replica − key) mod r` as 32 LE bytes: the inverse of {@link encodeNode}. */
export function decodeNode(key: Uint8Array, replica: Uint8Array): Uint8Array {
  return frToLe((frFromLe(replica) - frFromLe(key) + FR_MODULUS) % FR_MODULUS);
}

/** True when a 32-byte node is a canonical field element (< r). */
export function isCanonicalFr(node: Uint8Array): boolean {
  return frFromLe(node) < FR_MODULUS;
}
