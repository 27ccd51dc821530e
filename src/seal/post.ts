/**
 * Proof of Spacetime (rust-fil-proofs `storage-proofs-post` fallback PoSt):
 * Winning PoSt (1 sector chosen from the eligible set, 66 leaf challenges) and Window PoSt
 * (every sector of a partition, 10 leaf challenges each). The vanilla proof of a sector is its
 * comm_c, comm_r_last and one tree_r_last inclusion proof per challenge; a verifier checks
 * `comm_r = Poseidon2(comm_c, comm_r_last)` and every path at the challenged index.
 *
 * On chain these vanilla proofs are compressed into Groth16 proofs (one per partition), which
 * needs Filecoin's PoSt parameters (not available here, see c2.ts). The proof bytes produced here
 * are therefore a *vanilla PoSt bundle — non-succinct, not accepted on chain*: CBOR with every
 * sector's vanilla proof, checked completely by {@link verifyPoSt}. A Groth16 PoSt prover would
 * take the same `SectorPoStProof` lists as its witness.
 */
import { decode, encode } from 'cborg';
import type { CID } from 'multiformats/cid';
import { poseidonHash } from '../../native/poseidon.js';
import { CacheCorruptError, InvalidArgumentError } from '../errors.js';
import { type SealProofInfo, sealProofInfo } from '../sector/proofs.js';
import type { VerifyResult } from './c2.js';
import {
  postLeafChallenges,
  toFrRandomness,
  WINDOW_POST_CHALLENGE_COUNT,
  WINNING_POST_CHALLENGE_COUNT,
  winningPoStSectorIndices,
} from './challenges.js';
import { commitmentBytes } from './commitment-cid.js';
import { bytesEqual, verifyPoseidonPath } from './merkle-path.js';
import { proverIdFromMinerId } from './replica-id.js';
import { openSectorTrees, readPAux } from './tree-access.js';
import { checkMerklePath, type MerklePath } from './vanilla-proof.js';

/** A sealed sector as a PoSt prover sees it. */
export interface PoStSector {
  sectorNumber: number;
  sealProof: number;
  commR: Uint8Array | CID | string;
  sealedPath: string;
  cacheDir: string;
}

/** A sector as a PoSt verifier sees it (public data only). */
export interface PoStPublicSector {
  sectorNumber: number;
  sealProof: number;
  commR: Uint8Array | CID | string;
}

/** The vanilla PoSt proof of one sector. */
export interface SectorPoStProof {
  sectorNumber: number;
  commC: Uint8Array;
  commRLast: Uint8Array;
  /** One tree_r_last path per challenge, in challenge order. */
  paths: MerklePath[];
}

export type PoStType = 'winning' | 'window';

/** Format tag of the PoSt bundle. */
export const POST_BUNDLE_KIND = 'sector-storage/vanilla-post-bundle';
export const POST_BUNDLE_NOTE = 'vanilla PoSt bundle — non-succinct, not accepted on chain';

interface PoStBundle {
  kind: typeof POST_BUNDLE_KIND;
  v: 1;
  note: string;
  postType: PoStType;
  /** Sector proofs grouped by partition. */
  partitions: SectorPoStProof[][];
}

/**
 * The vanilla PoSt proof of one sector for the given leaf challenges. Throws CacheCorruptError
 * when `p_aux` does not match CommR or a path does not verify (a damaged sealed or tree file).
 */
export async function generateSectorPoStProof(sector: PoStSector, challenges: readonly number[]): Promise<SectorPoStProof> {
  const info = sealProofInfo(sector.sealProof);
  const commR = commitmentBytes(sector.commR, 'commR');
  const { commC, commRLast } = await readPAux(sector.cacheDir);
  const pair = new Uint8Array(64);
  pair.set(commC, 0);
  pair.set(commRLast, 32);
  if (!bytesEqual(poseidonHash(pair), commR)) {
    throw new CacheCorruptError(`sector ${sector.sectorNumber}: p_aux in ${sector.cacheDir} does not match CommR`);
  }
  const trees = await openSectorTrees(info, sector.cacheDir, sector.sealedPath);
  try {
    const paths: MerklePath[] = [];
    for (const c of challenges) {
      const path = await trees.treeRLastPath(c);
      // upstream refuses to hand out a proof that does not validate; so do we
      if (!verifyPoseidonPath(path, c, info, commRLast)) {
        throw new CacheCorruptError(`sector ${sector.sectorNumber}: tree_r_last proof of node ${c} does not lead to comm_r_last`);
      }
      paths.push(path);
    }
    return { sectorNumber: sector.sectorNumber, commC, commRLast, paths };
  } finally {
    await trees.close();
  }
}

/** Checks a sector's vanilla PoSt proof against its CommR and the expected challenges. */
export function verifySectorPoStProof(
  proof: SectorPoStProof,
  info: SealProofInfo,
  commR: Uint8Array,
  challenges: readonly number[],
): VerifyResult {
  const pair = new Uint8Array(64);
  pair.set(proof.commC, 0);
  pair.set(proof.commRLast, 32);
  let h: Uint8Array;
  try {
    h = poseidonHash(pair);
  } catch {
    return { ok: false, reason: `sector ${proof.sectorNumber}: comm_c or comm_r_last is not a field element` };
  }
  if (!bytesEqual(h, commR)) return { ok: false, reason: `sector ${proof.sectorNumber}: comm_r is not Poseidon2(comm_c, comm_r_last)` };
  if (proof.paths.length !== challenges.length) {
    return { ok: false, reason: `sector ${proof.sectorNumber}: expected ${challenges.length} paths, got ${proof.paths.length}` };
  }
  for (let i = 0; i < challenges.length; i++) {
    if (!verifyPoseidonPath(proof.paths[i]!, challenges[i]!, info, proof.commRLast)) {
      return { ok: false, reason: `sector ${proof.sectorNumber}: path ${i} (node ${challenges[i]}) does not lead to comm_r_last` };
    }
  }
  return { ok: true };
}

/**
 * Winning PoSt sector choice: indices into the miner's eligible sector list (one sector).
 * Lotus calls this first, then `generateWinningPoSt` with the chosen sectors.
 */
export function winningPoStSectorChallenge(minerId: number | bigint, randomness: Uint8Array, eligibleCount: number): number[] {
  return winningPoStSectorIndices(proverIdFromMinerId(minerId), toFrRandomness(randomness), eligibleCount);
}

function challengesFor(type: PoStType, randomness: Uint8Array, sectorNumber: number, info: SealProofInfo): number[] {
  const count = type === 'winning' ? WINNING_POST_CHALLENGE_COUNT : WINDOW_POST_CHALLENGE_COUNT;
  return postLeafChallenges(randomness, sectorNumber, count, info.nodes);
}

/** Inputs of {@link generateWinningPoSt} and {@link generateWindowPoSt}. */
export interface GeneratePoStInput {
  minerId: number | bigint;
  /** 32 bytes of chain randomness (the top two bits of byte 31 are cleared, as Lotus does). */
  randomness: Uint8Array;
  sectors: readonly PoStSector[];
}

/**
 * Winning PoSt over the challenged sectors (those picked by {@link winningPoStSectorChallenge}).
 * Resolves to the proof bytes; throws if any sector cannot be proven.
 */
export async function generateWinningPoSt(input: GeneratePoStInput): Promise<Uint8Array> {
  const randomness = toFrRandomness(input.randomness);
  if (input.sectors.length === 0) throw new InvalidArgumentError('sectors must list the challenged sector');
  const proofs: SectorPoStProof[] = [];
  for (const s of input.sectors) {
    const info = sealProofInfo(s.sealProof);
    proofs.push(await generateSectorPoStProof(s, challengesFor('winning', randomness, s.sectorNumber, info)));
  }
  return encodeBundle('winning', [proofs]);
}

/** Result of {@link generateWindowPoSt}: no proof when any sector had to be skipped (as Lotus). */
export interface WindowPoStResult {
  proof?: Uint8Array;
  skipped: { sectorNumber: number; reason: string }[];
}

/**
 * Window PoSt over every given sector, grouped in partitions of the proof type's
 * sectors-per-partition. Sectors whose files cannot produce a valid proof are reported in
 * `skipped` (and then no proof is returned, as Lotus's prover fails with the skipped list).
 */
export async function generateWindowPoSt(input: GeneratePoStInput): Promise<WindowPoStResult> {
  const randomness = toFrRandomness(input.randomness);
  if (input.sectors.length === 0) throw new InvalidArgumentError('sectors must not be empty');
  const info0 = sealProofInfo(input.sectors[0]!.sealProof);
  for (const s of input.sectors) {
    if (sealProofInfo(s.sealProof).sectorSize !== info0.sectorSize) {
      throw new InvalidArgumentError(`sector ${s.sectorNumber} has another sector size than sector ${input.sectors[0]!.sectorNumber}`);
    }
  }
  const proofs: SectorPoStProof[] = [];
  const skipped: WindowPoStResult['skipped'] = [];
  for (const s of input.sectors) {
    try {
      proofs.push(await generateSectorPoStProof(s, challengesFor('window', randomness, s.sectorNumber, info0)));
    } catch (err) {
      skipped.push({ sectorNumber: s.sectorNumber, reason: (err as Error).message });
    }
  }
  if (skipped.length > 0) return { skipped };
  const per = info0.windowPoStSectorsPerPartition;
  const partitions: SectorPoStProof[][] = [];
  for (let i = 0; i < proofs.length; i += per) partitions.push(proofs.slice(i, i + per));
  return { proof: encodeBundle('window', partitions), skipped };
}

function encodeBundle(postType: PoStType, partitions: SectorPoStProof[][]): Uint8Array {
  const bundle: PoStBundle = { kind: POST_BUNDLE_KIND, v: 1, note: POST_BUNDLE_NOTE, postType, partitions };
  return encode(bundle);
}

function decodeBundle(bytes: Uint8Array): PoStBundle {
  let raw: Record<string, unknown>;
  try {
    raw = decode(bytes) as Record<string, unknown>;
  } catch (err) {
    throw new InvalidArgumentError(`proof is not a vanilla PoSt bundle: ${(err as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || raw.kind !== POST_BUNDLE_KIND || raw.v !== 1) {
    throw new InvalidArgumentError('proof is not a vanilla PoSt bundle (kind/version)');
  }
  if (raw.postType !== 'winning' && raw.postType !== 'window') throw new InvalidArgumentError('proof.postType must be winning or window');
  if (!Array.isArray(raw.partitions)) throw new InvalidArgumentError('proof.partitions must be a list');
  const partitions = raw.partitions.map((p: unknown, k: number) => {
    if (!Array.isArray(p)) throw new InvalidArgumentError(`proof.partitions[${k}] must be a list`);
    return p.map((s: unknown, i: number): SectorPoStProof => {
      const at = `proof.partitions[${k}][${i}]`;
      const o = s as Record<string, unknown>;
      if (typeof o !== 'object' || o === null) throw new InvalidArgumentError(`${at} must be a map`);
      if (typeof o.sectorNumber !== 'number' || !Number.isSafeInteger(o.sectorNumber)) throw new InvalidArgumentError(`${at}.sectorNumber must be an integer`);
      for (const f of ['commC', 'commRLast'] as const) {
        const v = o[f];
        if (!(v instanceof Uint8Array) || v.length !== 32) throw new InvalidArgumentError(`${at}.${f} must be 32 bytes`);
      }
      if (!Array.isArray(o.paths)) throw new InvalidArgumentError(`${at}.paths must be a list`);
      return {
        sectorNumber: o.sectorNumber,
        commC: o.commC as Uint8Array,
        commRLast: o.commRLast as Uint8Array,
        paths: o.paths.map((x: unknown, j: number) => checkMerklePath(x, `${at}.paths[${j}]`)),
      };
    });
  });
  return { kind: POST_BUNDLE_KIND, v: 1, note: String(raw.note), postType: raw.postType, partitions };
}

/** Inputs of {@link verifyPoSt}. */
export interface VerifyPoStInput {
  type: PoStType;
  minerId: number | bigint;
  randomness: Uint8Array;
  /** Winning: the challenged sectors; window: every proven sector, in proof order. */
  sectors: readonly PoStPublicSector[];
  proof: Uint8Array;
}

/** Verifies a PoSt with the reason of the first failed check. */
export async function verifyPoStDetailed(input: VerifyPoStInput): Promise<VerifyResult> {
  const randomness = toFrRandomness(input.randomness);
  let bundle: PoStBundle;
  try {
    bundle = decodeBundle(input.proof);
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
  if (bundle.postType !== input.type) return { ok: false, reason: `proof is a ${bundle.postType} PoSt, expected ${input.type}` };
  const proofs = bundle.partitions.flat();
  if (proofs.length !== input.sectors.length) {
    return { ok: false, reason: `proof covers ${proofs.length} sectors, expected ${input.sectors.length}` };
  }
  for (let i = 0; i < proofs.length; i++) {
    const s = input.sectors[i]!;
    const p = proofs[i]!;
    if (p.sectorNumber !== s.sectorNumber) return { ok: false, reason: `proof ${i} is for sector ${p.sectorNumber}, expected ${s.sectorNumber}` };
    const info = sealProofInfo(s.sealProof);
    if (input.type === 'window') {
      const k = Math.floor(i / info.windowPoStSectorsPerPartition);
      if (bundle.partitions[k]?.[i % info.windowPoStSectorsPerPartition] !== p) {
        return { ok: false, reason: `sector ${s.sectorNumber} is not in partition ${k}` };
      }
    }
    const r = verifySectorPoStProof(p, info, commitmentBytes(s.commR, 'commR'), challengesFor(input.type, randomness, s.sectorNumber, info));
    if (!r.ok) return r;
  }
  return { ok: true };
}

/** Verifies a Winning or Window PoSt; resolves true or false. */
export async function verifyPoSt(input: VerifyPoStInput): Promise<boolean> {
  return (await verifyPoStDetailed(input)).ok;
}
