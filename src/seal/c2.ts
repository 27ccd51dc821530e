/**
 * C2 (SealCommit2): turning the C1 vanilla proofs into the proof that goes on chain.
 *
 * On Filecoin that proof is a Groth16 SNARK (192 bytes per partition) over the StackedDRG
 * circuit, which needs the published proving parameters (`v28-stacked-proof-of-replication-
 * merkletree-poseidon_hasher-8-0-0-sha256_hasher-<hash>.params`, 2 KiB … 100+ GiB) and their
 * verifying keys. Those cannot be had here, so C2 is a pluggable {@link SnarkProver}.
 *
 * The default prover, {@link vanillaBundleProver}, is honest about what it is: a *vanilla proof
 * bundle — non-succinct, not accepted on chain*. It packs the C1 vanilla proofs into a
 * self-describing CBOR document that {@link verifySeal} checks completely (everything a verifier
 * can recompute: replica id, challenges, labels, columns, tree paths, encoding, CommR). Its size
 * grows with the challenge count (kilobytes for 2 KiB sectors, megabytes for 32 GiB) where a
 * Groth16 proof is 192 bytes per partition.
 *
 * Where Groth16 plugs in: implement `SnarkProver` with
 *  - `prove(c1)`: build the StackedDRG circuit witness from exactly these vanilla proofs (the
 *    circuit's private inputs are the same paths, columns and labels; its public inputs are
 *    replica id, comm_d, comm_r and the challenges, see rust-fil-proofs
 *    `storage-proofs-porep/src/stacked/circuit/proof.rs`) and run the Groth16 prover with the
 *    parameters file; return the concatenated 192-byte partition proofs;
 *  - `verify(proof, inputs)`: recompute the public inputs as {@link verifySeal} does and run the
 *    Groth16 verifier with the verifying key;
 *  - `recognizes(proof)`: `proof.length === 192 * partitions`;
 * then pass it as `sealCommit2(c1, { prover })` and register it with
 * {@link registerSnarkProver} so `verifySeal` dispatches proofs of its format to it.
 */
import { decode, encode } from 'cborg';
import { InvalidArgumentError } from '../errors.js';
import {
  type C1Output,
  type ChallengeProof,
  checkC1Output,
  decodeC1Output,
} from './vanilla-proof.js';

/** Public inputs of a seal proof (what a chain verifier knows). */
export interface SealPublicInputs {
  registeredProof: number;
  proverId: Uint8Array;
  sectorNumber: number;
  ticket: Uint8Array;
  seed: Uint8Array;
  commD: Uint8Array;
  commR: Uint8Array;
}

/** The outcome of a verification, with the first failed check when it fails. */
export type VerifyResult = { ok: true } | { ok: false; reason: string };

/** Checks a set of vanilla proofs against public inputs (provided by verify.ts). */
export type VanillaChecker = (
  inputs: SealPublicInputs,
  proofs: { commC: Uint8Array; commRLast: Uint8Array; partitions: ChallengeProof[][] },
) => VerifyResult;

/** A C2 prover: produces proof bytes from the C1 output and checks proofs of its own format. */
export interface SnarkProver {
  /** Stable name, shown by the CLI and stored with proofs. */
  readonly name: string;
  /** True only for a real succinct argument (Groth16). */
  readonly succinct: boolean;
  /** True only if the chain accepts these proofs. */
  readonly acceptedOnChain: boolean;
  prove(c1: C1Output): Promise<Uint8Array>;
  /** True when `proof` is in this prover's format. */
  recognizes(proof: Uint8Array): boolean;
  verify(proof: Uint8Array, inputs: SealPublicInputs, vanilla: VanillaChecker): Promise<VerifyResult>;
}

/** Format tag of the vanilla proof bundle. */
export const VANILLA_BUNDLE_KIND = 'sector-storage/vanilla-proof-bundle';
/** What the bundle says about itself, in every proof it produces. */
export const VANILLA_BUNDLE_NOTE = 'vanilla proof bundle — non-succinct, not accepted on chain';

/** The decoded bundle. */
export interface VanillaProofBundle {
  kind: typeof VANILLA_BUNDLE_KIND;
  v: 1;
  note: string;
  registeredProof: number;
  commC: Uint8Array;
  commRLast: Uint8Array;
  partitions: ChallengeProof[][];
}

function decodeBundle(proof: Uint8Array): VanillaProofBundle {
  let raw: Record<string, unknown>;
  try {
    raw = decode(proof) as Record<string, unknown>;
  } catch (err) {
    throw new InvalidArgumentError(`proof is not a vanilla proof bundle: ${(err as Error).message}`, { cause: err });
  }
  if (typeof raw !== 'object' || raw === null || raw.kind !== VANILLA_BUNDLE_KIND || raw.v !== 1) {
    throw new InvalidArgumentError('proof is not a vanilla proof bundle (kind/version)');
  }
  // reuse the C1 shape checks for the proof lists by wrapping them as a C1 document
  const zero = new Uint8Array(32);
  const asC1 = checkC1Output({
    kind: 'sector-storage/c1-output',
    v: 1,
    registeredProof: raw.registeredProof,
    sectorNumber: 0,
    proverId: zero,
    ticket: zero,
    seed: zero,
    replicaId: zero,
    commD: zero,
    commR: zero,
    commC: raw.commC,
    commRLast: raw.commRLast,
    partitions: raw.partitions,
  });
  return {
    kind: VANILLA_BUNDLE_KIND,
    v: 1,
    note: String(raw.note),
    registeredProof: asC1.registeredProof,
    commC: asC1.commC,
    commRLast: asC1.commRLast,
    partitions: asC1.partitions,
  };
}

/** The default C2 prover: a vanilla proof bundle (non-succinct, not accepted on chain). */
export const vanillaBundleProver: SnarkProver = {
  name: 'vanilla-proof-bundle',
  succinct: false,
  acceptedOnChain: false,
  async prove(c1) {
    const bundle: VanillaProofBundle = {
      kind: VANILLA_BUNDLE_KIND,
      v: 1,
      note: VANILLA_BUNDLE_NOTE,
      registeredProof: c1.registeredProof,
      commC: c1.commC,
      commRLast: c1.commRLast,
      partitions: c1.partitions,
    };
    return encode(bundle);
  },
  recognizes(proof) {
    try {
      const raw = decode(proof) as { kind?: unknown };
      return typeof raw === 'object' && raw !== null && raw.kind === VANILLA_BUNDLE_KIND;
    } catch {
      return false;
    }
  },
  async verify(proof, inputs, vanilla) {
    let bundle: VanillaProofBundle;
    try {
      bundle = decodeBundle(proof);
    } catch (err) {
      return { ok: false, reason: (err as Error).message };
    }
    if (bundle.registeredProof !== inputs.registeredProof) {
      return { ok: false, reason: `proof is for seal proof ${bundle.registeredProof}, not ${inputs.registeredProof}` };
    }
    return vanilla(inputs, bundle);
  },
};

const provers = new Map<string, SnarkProver>([[vanillaBundleProver.name, vanillaBundleProver]]);

/** Makes a prover's proofs verifiable by `verifySeal` (a Groth16 prover registers here). */
export function registerSnarkProver(prover: SnarkProver): void {
  provers.set(prover.name, prover);
}

/** The registered provers, the default first. */
export function snarkProvers(): SnarkProver[] {
  return [...provers.values()];
}

/** Options of {@link sealCommit2}. */
export interface SealCommit2Options {
  /** @default vanillaBundleProver */
  prover?: SnarkProver;
}

/**
 * C2: the seal proof from a C1 output (its CBOR bytes or the decoded object).
 * With the default prover the result is a vanilla proof bundle, not a chain proof.
 */
export async function sealCommit2(c1: Uint8Array | C1Output, options: SealCommit2Options = {}): Promise<Uint8Array> {
  const parsed = c1 instanceof Uint8Array ? decodeC1Output(c1) : checkC1Output(c1);
  const prover = options.prover ?? vanillaBundleProver;
  return prover.prove(parsed);
}
