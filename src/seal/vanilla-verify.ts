/**
 * Verification of interactive PoRep vanilla proofs against public inputs: everything a verifier
 * can recompute without the sector (rust-fil-proofs `stacked::vanilla::Proof::verify`, plus
 * the challenge re-derivation the circuit does from the seed):
 *
 *  1. comm_r = Poseidon2(comm_c, comm_r_last);
 *  2. the challenges are exactly those derived from replica id and seed, in order;
 *  3. the data node is in tree_d under comm_d, the replica node in tree_r_last under
 *     comm_r_last, the challenged column and every parent column in tree_c under comm_c, each at
 *     the index the graph dictates;
 *  4. every layer's label of the challenged node recomputes from the replica id and the parent
 *     labels taken from the parent columns;
 *  5. the replica node is the data node encoded with the last layer's label as key.
 *
 * Every failure is reported with the first check that failed.
 */
import { poseidonHash } from '../../native/poseidon.js';
import type { SealProofInfo } from '../sector/proofs.js';
import type { VerifyResult } from './c2.js';
import { BASE_DEGREE, computeLabel, encodeNode, EXP_DEGREE, isCanonicalFr, labelParentSequence } from './label-check.js';
import { bytesEqual, verifyPoseidonPath, verifyShaPath } from './merkle-path.js';
import type { ChallengeProof, ColumnProof } from './vanilla-proof.js';

/** Parents of a node in the SDR graph: 6 DRG parents then 8 expander parents. */
export interface NodeParents {
  drg: readonly number[];
  exp: readonly number[];
}

/** What the checks need besides the proofs. */
export interface VanillaCheckInput {
  info: SealProofInfo;
  replicaId: Uint8Array;
  commD: Uint8Array;
  commR: Uint8Array;
  commC: Uint8Array;
  commRLast: Uint8Array;
  /** The expected challenges, one list per partition. */
  challenges: readonly (readonly number[])[];
  /** The graph's parents of a node (from the porep id of `info`). */
  parents: (node: number) => NodeParents;
}

function fail(reason: string): VerifyResult {
  return { ok: false, reason };
}

/** Poseidon of `k` nodes, or undefined when an input is not a canonical field element. */
function safePoseidon(inputs: Uint8Array): Uint8Array | undefined {
  try {
    return poseidonHash(inputs);
  } catch {
    return undefined;
  }
}

function columnLabel(col: ColumnProof, layer: number): Uint8Array {
  return col.labels.subarray((layer - 1) * 32, layer * 32);
}

function checkColumn(col: ColumnProof, node: number, input: VanillaCheckInput, what: string): string | undefined {
  if (col.node !== node) return `${what} is for node ${col.node}, expected ${node}`;
  if (col.labels.length !== input.info.layers * 32) return `${what} has ${col.labels.length / 32} labels, expected ${input.info.layers}`;
  const hash = safePoseidon(col.labels);
  if (!hash) return `${what} holds a label that is not a field element`;
  if (!bytesEqual(hash, col.path.leaf)) return `${what}: column hash does not match its tree_c leaf`;
  if (!verifyPoseidonPath(col.path, node, input.info, input.commC)) return `${what}: tree_c path does not lead to comm_c`;
  return undefined;
}

/** Checks one challenge's proof; returns the first failure or undefined. */
export function checkChallengeProof(proof: ChallengeProof, challenge: number, input: VanillaCheckInput): string | undefined {
  const { info, replicaId } = input;
  const at = `challenge ${challenge}`;
  if (proof.challenge !== challenge) return `proof is for challenge ${proof.challenge}, expected ${challenge}`;
  if (!verifyShaPath(proof.commDPath, challenge, info.nodes, input.commD)) return `${at}: tree_d path does not lead to comm_d`;
  if (!verifyPoseidonPath(proof.commRLastPath, challenge, info, input.commRLast)) {
    return `${at}: tree_r_last path does not lead to comm_r_last`;
  }
  const parents = input.parents(challenge);
  if (proof.drgParents.length !== BASE_DEGREE || proof.expParents.length !== EXP_DEGREE) {
    return `${at}: expected ${BASE_DEGREE} DRG and ${EXP_DEGREE} expander parent columns`;
  }
  const colErr = checkColumn(proof.column, challenge, input, `${at} column`);
  if (colErr) return colErr;
  for (let i = 0; i < BASE_DEGREE; i++) {
    const e = checkColumn(proof.drgParents[i]!, parents.drg[i]!, input, `${at} DRG parent ${i}`);
    if (e) return e;
  }
  for (let i = 0; i < EXP_DEGREE; i++) {
    const e = checkColumn(proof.expParents[i]!, parents.exp[i]!, input, `${at} expander parent ${i}`);
    if (e) return e;
  }
  if (proof.labelingProofs.length !== info.layers) return `${at}: expected ${info.layers} labeling proofs`;
  for (let layer = 1; layer <= info.layers; layer++) {
    const lp = proof.labelingProofs[layer - 1]!;
    if (lp.layer !== layer || lp.node !== challenge) return `${at}: labeling proof ${layer - 1} is for layer ${lp.layer} node ${lp.node}`;
    const drg = proof.drgParents.map((c) => columnLabel(c, layer));
    const exp = layer > 1 ? proof.expParents.map((c) => columnLabel(c, layer - 1)) : [];
    const expected = labelParentSequence(layer, drg, exp);
    if (!bytesEqual(lp.parents, expected)) return `${at}: layer ${layer} parent labels differ from the parent columns`;
    const label = computeLabel(replicaId, layer, challenge, lp.parents);
    if (!bytesEqual(label, columnLabel(proof.column, layer))) return `${at}: layer ${layer} label does not recompute`;
  }
  const enc = proof.encodingProof;
  const last = proof.labelingProofs[info.layers - 1]!;
  if (enc.layer !== info.layers || enc.node !== challenge || !bytesEqual(enc.parents, last.parents)) {
    return `${at}: encoding proof does not use the last layer's labeling`;
  }
  const key = computeLabel(replicaId, enc.layer, enc.node, enc.parents);
  const data = proof.commDPath.leaf;
  const replica = proof.commRLastPath.leaf;
  if (!isCanonicalFr(data) || !isCanonicalFr(replica)) return `${at}: data or replica node is not a field element`;
  if (!bytesEqual(encodeNode(key, data), replica)) return `${at}: replica node is not the data node encoded with the key`;
  return undefined;
}

/** Checks a full set of vanilla proofs (all partitions) against the public inputs. */
export function checkVanillaProofs(partitions: readonly ChallengeProof[][], input: VanillaCheckInput): VerifyResult {
  const joined = new Uint8Array(64);
  joined.set(input.commC, 0);
  joined.set(input.commRLast, 32);
  const commR = safePoseidon(joined);
  if (!commR || !bytesEqual(commR, input.commR)) return fail('comm_r is not Poseidon2(comm_c, comm_r_last)');
  if (partitions.length !== input.challenges.length) {
    return fail(`expected ${input.challenges.length} partitions of proofs, got ${partitions.length}`);
  }
  for (let k = 0; k < partitions.length; k++) {
    const expected = input.challenges[k]!;
    const part = partitions[k]!;
    if (part.length !== expected.length) return fail(`partition ${k}: expected ${expected.length} challenge proofs, got ${part.length}`);
    for (let i = 0; i < part.length; i++) {
      const err = checkChallengeProof(part[i]!, expected[i]!, input);
      if (err) return fail(`partition ${k}: ${err}`);
    }
  }
  return { ok: true };
}
