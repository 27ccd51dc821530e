/**
 * Seal verification: `verifySeal` (the public entry, like filecoin-ffi's `VerifySeal`) and
 * `verifyVanillaProofs` (checks a C1 output on its own).
 *
 * A verifier knows only public inputs: the seal proof type, CommR, CommD, the miner, the sector
 * number, the ticket and the seed. From them it recomputes the replica id and the challenges,
 * then hands the proof to the prover that recognises its format (the vanilla proof bundle by
 * default; a Groth16 prover once registered, see c2.ts).
 */
import type { CID } from 'multiformats/cid';
import { InvalidArgumentError, ProofInvalidError } from '../errors.js';
import { porepId, type SealProofInfo, sealProofInfo } from '../sector/proofs.js';
import { porepChallenges } from './challenges.js';
import { type SealPublicInputs, snarkProvers, type VanillaChecker, type VerifyResult } from './c2.js';
import { commitmentBytes } from './commitment-cid.js';
import { type ApiVersion, nodeParents, type SdrGraph, sdrGraph } from './graph.js';
import { proverIdFromMinerId, replicaId } from './replica-id.js';
import { type C1Output, checkC1Output, decodeC1Output } from './vanilla-proof.js';
import { checkVanillaProofs, type NodeParents } from './vanilla-verify.js';

/** Inputs of {@link verifySeal}. */
export interface VerifySealInput {
  /** Registered seal proof number (5 = StackedDrg2KiBV1_1 …). */
  sealProof: number;
  commR: Uint8Array | CID | string;
  commD: Uint8Array | CID | string;
  /** Miner actor id (t01000 → 1000). */
  minerId: number | bigint;
  sectorNumber: number;
  ticket: Uint8Array;
  seed: Uint8Array;
  proof: Uint8Array;
}

/** The graph of a seal proof (parents are cheap to compute per node, so nothing is cached). */
export function graphOf(info: SealProofInfo): SdrGraph {
  const apiVersion: ApiVersion = info.api === 'V1_0' ? 'V1_0' : 'V1_1';
  return sdrGraph({ nodes: info.nodes, porepId: porepId(info.id), apiVersion });
}

/** Parents lookup for the vanilla checks. */
export function parentsLookup(graph: SdrGraph): (node: number) => NodeParents {
  return (node) => {
    const p = nodeParents(graph, node);
    return { drg: p.base, exp: p.exp };
  };
}

function bytes32(v: unknown, what: string): Uint8Array {
  if (!(v instanceof Uint8Array) || v.length !== 32) throw new InvalidArgumentError(`${what} must be 32 bytes`);
  return v;
}

/** The vanilla checker handed to provers: recomputes replica id and challenges from the public inputs. */
export const checkVanilla: VanillaChecker = (inputs, proofs) => {
  const info = sealProofInfo(inputs.registeredProof);
  const rid = replicaId({
    proverId: inputs.proverId,
    sectorNumber: inputs.sectorNumber,
    ticket: inputs.ticket,
    commD: inputs.commD,
    porepId: porepId(info.id),
  });
  return checkVanillaProofs(proofs.partitions, {
    info,
    replicaId: rid,
    commD: inputs.commD,
    commR: inputs.commR,
    commC: proofs.commC,
    commRLast: proofs.commRLast,
    challenges: porepChallenges(info, rid, inputs.seed),
    parents: parentsLookup(graphOf(info)),
  });
};

/**
 * Verifies a seal proof with its reason on failure. Throws only for malformed public inputs
 * (InvalidArgumentError) or a proof in a format no registered prover knows (ProofInvalidError).
 */
export async function verifySealDetailed(input: VerifySealInput): Promise<VerifyResult> {
  const info = sealProofInfo(input.sealProof);
  const inputs: SealPublicInputs = {
    registeredProof: info.id,
    proverId: proverIdFromMinerId(input.minerId),
    sectorNumber: input.sectorNumber,
    ticket: bytes32(input.ticket, 'ticket'),
    seed: bytes32(input.seed, 'seed'),
    commD: commitmentBytes(input.commD, 'commD'),
    commR: commitmentBytes(input.commR, 'commR'),
  };
  if (!(input.proof instanceof Uint8Array)) throw new InvalidArgumentError('proof must be bytes');
  const prover = snarkProvers().find((p) => p.recognizes(input.proof));
  if (!prover) {
    throw new ProofInvalidError(
      `proof (${input.proof.length} bytes) is in no known format (provers: ${snarkProvers()
        .map((p) => p.name)
        .join(', ')})`,
    );
  }
  return prover.verify(input.proof, inputs, checkVanilla);
}

/**
 * Verifies a seal proof against public inputs; resolves true or false.
 * @example await verifySeal({ sealProof: 5, commR, commD, minerId: 1000, sectorNumber: 1, ticket, seed, proof })
 */
export async function verifySeal(input: VerifySealInput): Promise<boolean> {
  return (await verifySealDetailed(input)).ok;
}

/**
 * Checks a C1 output on its own: its public inputs are self-consistent (replica id recomputed
 * from prover id, sector number, ticket and CommD) and every vanilla proof verifies.
 */
export function verifyVanillaProofs(c1: Uint8Array | C1Output): VerifyResult {
  const parsed = c1 instanceof Uint8Array ? decodeC1Output(c1) : checkC1Output(c1);
  const info = sealProofInfo(parsed.registeredProof);
  const rid = replicaId({
    proverId: parsed.proverId,
    sectorNumber: parsed.sectorNumber,
    ticket: parsed.ticket,
    commD: parsed.commD,
    porepId: porepId(info.id),
  });
  if (!rid.every((b, i) => b === parsed.replicaId[i])) return { ok: false, reason: 'replica id does not match the public inputs' };
  return checkVanilla(
    {
      registeredProof: info.id,
      proverId: parsed.proverId,
      sectorNumber: parsed.sectorNumber,
      ticket: parsed.ticket,
      seed: parsed.seed,
      commD: parsed.commD,
      commR: parsed.commR,
    },
    parsed,
  );
}
