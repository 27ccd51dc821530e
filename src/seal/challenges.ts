/**
 * Challenge derivation for the interactive PoRep (C1) and for Winning / Window PoSt
 * (rust-fil-proofs `stacked/vanilla/challenges.rs` and
 * `storage-proofs-post/src/fallback/utils.rs`).
 *
 * Everything here is a pure function of its byte inputs, so a verifier re-derives exactly what
 * the prover used. SHA-256 comes from node:crypto: these are a few hundred hashes at most, so
 * the native hash facade would buy nothing.
 */
import { createHash } from 'node:crypto';
import { InvalidArgumentError } from '../errors.js';
import type { SealProofInfo } from '../sector/proofs.js';

/** Winning PoSt: challenged sectors per proof (WINNING_POST_SECTOR_COUNT). */
export const WINNING_POST_SECTOR_COUNT = 1;
/** Winning PoSt: leaf challenges per challenged sector (WINNING_POST_CHALLENGE_COUNT). */
export const WINNING_POST_CHALLENGE_COUNT = 66;
/** Window PoSt: leaf challenges per sector (WINDOW_POST_CHALLENGE_COUNT). */
export const WINDOW_POST_CHALLENGE_COUNT = 10;

function assertBytes(value: Uint8Array, length: number, what: string): void {
  if (!(value instanceof Uint8Array) || value.length !== length) {
    throw new InvalidArgumentError(`${what} must be ${length} bytes, got ${value instanceof Uint8Array ? value.length : typeof value}`);
  }
}

function assertU64(value: number | bigint, what: string): bigint {
  const v = typeof value === 'bigint' ? value : Number.isSafeInteger(value) ? BigInt(value) : -1n;
  if (v < 0n || v >= 1n << 64n) throw new InvalidArgumentError(`${what} ${value} is not a u64`);
  return v;
}

function u32le(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v, true);
  return b;
}

function u64le(v: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v, true);
  return b;
}

function leBigInt(bytes: Uint8Array): bigint {
  let x = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) x = (x << 8n) | BigInt(bytes[i]!);
  return x;
}

function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

/**
 * The interactive PoRep challenges of a sector, partition by partition (V1_1 derivation):
 * for partition k and index i, `j = challengesPerPartition·k + i`,
 * `h = SHA-256(replicaId ‖ seed ‖ u32 LE j)`, challenge = `(h as LE integer mod (nodes − 1)) + 1`.
 * Node 0 is never challenged. Returns one array per partition.
 */
export function porepChallenges(info: SealProofInfo, replicaId: Uint8Array, seed: Uint8Array): number[][] {
  assertBytes(replicaId, 32, 'replicaId');
  assertBytes(seed, 32, 'seed');
  const modulus = BigInt(info.nodes - 1);
  const out: number[][] = [];
  for (let k = 0; k < info.partitions; k++) {
    const part: number[] = [];
    for (let i = 0; i < info.challengesPerPartition; i++) {
      const j = info.challengesPerPartition * k + i;
      const h = sha256(replicaId, seed, u32le(j));
      part.push(Number(leBigInt(h) % modulus) + 1);
    }
    out.push(part);
  }
  return out;
}

/**
 * Clears the two top bits of byte 31 so that 32 random bytes are a valid Fr element, as Lotus
 * does with PoSt randomness before calling the prover (`randomness[31] &= 0x3f`).
 */
export function toFrRandomness(randomness: Uint8Array): Uint8Array {
  assertBytes(randomness, 32, 'randomness');
  const r = randomness.slice();
  r[31]! &= 0x3f;
  return r;
}

/**
 * Winning PoSt sector choice: for n in 0..WINNING_POST_SECTOR_COUNT,
 * `SHA-256(proverId ‖ randomness ‖ u64 LE n)`, first 8 bytes as u64 LE, mod `eligibleCount`.
 * Returns indices into the caller's eligible sector list.
 */
export function winningPoStSectorIndices(proverId: Uint8Array, randomness: Uint8Array, eligibleCount: number): number[] {
  assertBytes(proverId, 32, 'proverId');
  assertBytes(randomness, 32, 'randomness');
  if (!Number.isSafeInteger(eligibleCount) || eligibleCount < 1) {
    throw new InvalidArgumentError(`eligibleCount ${eligibleCount} must be a positive integer`);
  }
  const out: number[] = [];
  for (let n = 0; n < WINNING_POST_SECTOR_COUNT; n++) {
    const h = sha256(proverId, randomness, u64le(BigInt(n)));
    const draw = new DataView(h.buffer, h.byteOffset, 8).getBigUint64(0, true);
    out.push(Number(draw % BigInt(eligibleCount)));
  }
  return out;
}

/**
 * One PoSt leaf challenge: `SHA-256(randomness ‖ u64 LE sectorNumber ‖ u64 LE challengeIndex)`,
 * first 8 bytes as u64 LE, mod the sector's node count.
 */
export function postLeafChallenge(
  randomness: Uint8Array,
  sectorNumber: number | bigint,
  challengeIndex: number,
  sectorNodes: number,
): number {
  assertBytes(randomness, 32, 'randomness');
  const sector = assertU64(sectorNumber, 'sectorNumber');
  const h = sha256(randomness, u64le(sector), u64le(BigInt(challengeIndex)));
  const draw = new DataView(h.buffer, h.byteOffset, 8).getBigUint64(0, true);
  return Number(draw % BigInt(sectorNodes));
}

/**
 * The leaf challenges of one sector in a PoSt: `count` challenges with challenge indices
 * 0..count−1. This is the indexing of the current (api V1_2) fallback PoSt used by the on-chain
 * StackedDrgWinning/Window*V1_1 proofs; the legacy V1_0 window PoSt offset the index by
 * `sectorIndex·count`, which callers may request with `legacySectorIndex`.
 */
export function postLeafChallenges(
  randomness: Uint8Array,
  sectorNumber: number | bigint,
  count: number,
  sectorNodes: number,
  legacySectorIndex?: number,
): number[] {
  const base = legacySectorIndex === undefined ? 0 : legacySectorIndex * count;
  const out: number[] = [];
  for (let n = 0; n < count; n++) out.push(postLeafChallenge(randomness, sectorNumber, base + n, sectorNodes));
  return out;
}

/** The Winning PoSt leaf challenges of a chosen sector (66 of them). */
export function winningPoStChallenges(randomness: Uint8Array, sectorNumber: number | bigint, sectorNodes: number): number[] {
  return postLeafChallenges(randomness, sectorNumber, WINNING_POST_CHALLENGE_COUNT, sectorNodes);
}

/** The Window PoSt leaf challenges of one sector (10 of them, V1_1 proof types: index = n). */
export function windowPoStChallenges(randomness: Uint8Array, sectorNumber: number | bigint, sectorNodes: number): number[] {
  return postLeafChallenges(randomness, sectorNumber, WINDOW_POST_CHALLENGE_COUNT, sectorNodes);
}
