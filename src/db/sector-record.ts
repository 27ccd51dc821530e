/**
 * The persisted sector record, version 2 (docs/design/sealing-daemon.md §7): one small explicit
 * JSON record per sector (not an XState engine snapshot), plus its pieces and its log in their own
 * tables (src/db/sector-store.ts). This module holds the record's types, the state names, and the
 * one check every record passes when it is written and when it is read; version 1 records (the
 * deal-filling daemon's) are read as version 2.
 */
import { isErrorCode, SectorRecordInvalidError, type ErrorCode } from '../errors.js';
import type { C1Ref, Hex32, Pc1Result } from '../tasks/task-types.js';

import { isSectorState, type SectorStateName } from '../sector/sector-states.js';

export { SECTOR_STATES, isSectorState, type SectorStateName } from '../sector/sector-states.js';

/** One piece of a sector, in sector order. */
export interface PieceRecord {
  /** Piece CID v1 (`baga…`). */
  pieceCid: string;
  /** Piece CID v2 (`bafkzcib…`, FRC-0069); absent for filler pieces. */
  pieceCidV2?: string;
  /** Padded offset of the piece in the sector (a multiple of `paddedSize`). */
  paddedOffset: number;
  /** Padded piece size (a power of two ≥ 128). */
  paddedSize: number;
  /** Bytes of the original payload; 0 for filler pieces. */
  payloadSize: number;
  /** True for alignment padding and packing fillers (zero pieces written by the sector itself). */
  filler: boolean;
}

/** A failure kept as data (never an Error object). */
export interface SectorErrorRecord {
  code: ErrorCode;
  message: string;
}

/** Chain randomness drawn for the sector (ticket, seed) and the epoch it was drawn at. */
export interface ChainRandomness {
  value: Hex32;
  epoch: number;
}

/** A message sent to the chain, and the epoch it landed in once known. */
export interface ChainMessageRef {
  message: string;
  epoch?: number;
}

/**
 * The C2 proof as a sector keeps it: its bytes (base64) only until the commit landed on chain (the
 * chain holds them after that, and 10,000 records must stay small), its digest and size always.
 */
export interface ProofRef {
  sha256: Hex32;
  bytes: number;
  /** The prover that made it (the default one is not a SNARK; see src/seal/c2.ts). */
  prover: string;
  value?: string;
}

/** Retry counters of Lotus's failure rules (`states_failed.go`). */
export interface SectorCounters {
  /** PC2 failures since the last PC1 result (more than 3: back to PC1). */
  preCommit2Fails: number;
  /** Retries of the proof and proofs the chain refused (Lotus's InvalidProofs; more than 1: back to PC1). */
  invalidProofs: number;
  /** Retries of any failure state (Lotus's `Retries`, shown by `sectors status`). */
  retries: number;
}

/**
 * A sector as persisted, version 2. Times are unix ms.
 *
 * - `state`: the Lotus state at the time of the write; transient states are reset on restore by
 *   the sector machine.
 * - `pieces`: committed pieces in order, deal pieces and fillers alike (a piece is committed only
 *   once its bytes are in the unsealed file and its commP is known).
 * - `packingRequested`: `sectors seal` (or a full sector) asked to pack; survives restarts.
 * - `commD`, `commR`: CID strings. `ticket`, `seed`: randomness with its epoch. `pc1`: PC1's
 *   machine-independent output. `preCommit`, `commit`: chain messages. `c1`, `proof`: digests and
 *   sizes of the C1 output (its bytes live in the sector's cache directory) and of the proof
 *   (whose bytes stay in the record until the commit landed).
 * - `error`: why the sector is in a failure state.
 * - `lastLogAt`: when the last log entry was appended (the failure cool-down counts from it);
 *   `updatedAt`: the last write. Both are stamped by the store.
 */
export interface SectorRecord {
  v: 2;
  miner: number;
  number: number;
  proofType: number;
  state: SectorStateName;
  pieces: PieceRecord[];
  packingRequested: boolean;
  commD?: string;
  ticket?: ChainRandomness;
  pc1?: Pc1Result;
  commR?: string;
  preCommit?: ChainMessageRef;
  seed?: ChainRandomness;
  c1?: C1Ref;
  commit?: ChainMessageRef;
  proof?: ProofRef;
  counters: SectorCounters;
  error?: SectorErrorRecord;
  sealStartedAt?: number;
  provingAt?: number;
  lastLogAt: number;
  updatedAt: number;
}

/** What a sector actor writes: the record without the store-stamped times. */
export type SectorRecordDraft = Omit<SectorRecord, 'updatedAt' | 'lastLogAt'>;

/** Counters of a sector that never failed. */
export function zeroCounters(): SectorCounters {
  return { preCommit2Fails: 0, invalidProofs: 0, retries: 0 };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function isHex32(v: unknown): v is Hex32 {
  return typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);
}

const bad = (field: string, why = 'is invalid') => new SectorRecordInvalidError(`sector record field ${field} ${why}`);

function randomness(v: unknown, field: string): ChainRandomness {
  if (!isObject(v) || !isHex32(v.value) || !isCount(v.epoch)) throw bad(field, 'must be {value: 64 hex digits, epoch}');
  return { value: v.value, epoch: v.epoch };
}

function messageRef(v: unknown, field: string): ChainMessageRef {
  if (!isObject(v) || typeof v.message !== 'string' || v.message === '') throw bad(field, 'must be {message, epoch?}');
  if (v.epoch !== undefined && !isCount(v.epoch)) throw bad(`${field}.epoch`);
  return v.epoch === undefined ? { message: v.message } : { message: v.message, epoch: v.epoch };
}

function digestRef(v: unknown, field: string): C1Ref {
  if (!isObject(v) || !isHex32(v.sha256) || !isCount(v.bytes)) throw bad(field, 'must be {sha256: 64 hex digits, bytes}');
  return { sha256: v.sha256, bytes: v.bytes };
}

function proofRef(v: unknown): ProofRef {
  const d = digestRef(v, 'proof');
  const o = v as Record<string, unknown>;
  if (typeof o.prover !== 'string' || o.prover === '') throw bad('proof.prover');
  if (o.value !== undefined && (typeof o.value !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(o.value))) throw bad('proof.value', 'must be base64');
  return o.value === undefined ? { ...d, prover: o.prover } : { ...d, prover: o.prover, value: o.value };
}

function pc1Result(v: unknown): Pc1Result {
  if (
    !isObject(v) ||
    !isHex32(v.replicaId) ||
    !isHex32(v.commDHex) ||
    !isHex32(v.ticket) ||
    !Array.isArray(v.layerDigests) ||
    !v.layerDigests.every(isHex32)
  ) {
    throw bad('pc1', 'must be {replicaId, commDHex, ticket, layerDigests} in hex');
  }
  return { replicaId: v.replicaId, commDHex: v.commDHex, ticket: v.ticket, layerDigests: [...v.layerDigests] };
}

function piece(p: unknown, i: number): PieceRecord {
  if (!isObject(p) || typeof p.pieceCid !== 'string' || !isCount(p.paddedOffset) || !isCount(p.paddedSize)) throw bad(`pieces[${i}]`);
  if (!isCount(p.payloadSize) || typeof p.filler !== 'boolean') throw bad(`pieces[${i}]`);
  if (p.pieceCidV2 !== undefined && typeof p.pieceCidV2 !== 'string') throw bad(`pieces[${i}].pieceCidV2`);
  const out: PieceRecord = {
    pieceCid: p.pieceCid,
    paddedOffset: p.paddedOffset,
    paddedSize: p.paddedSize,
    payloadSize: p.payloadSize,
    filler: p.filler,
  };
  if (p.pieceCidV2 !== undefined) out.pieceCidV2 = p.pieceCidV2;
  return out;
}

/**
 * Checks a version 2 record before it is written or after it is read; returns a copy holding only
 * the known fields (a stray field is dropped, never persisted).
 * @throws SectorRecordInvalidError naming the first bad field
 */
export function validateDraft(d: SectorRecordDraft): SectorRecordDraft {
  if (!isObject(d)) throw new SectorRecordInvalidError('a sector record must be an object');
  if (d.v !== 2) throw bad('v', 'must be 2');
  if (!isCount(d.miner)) throw bad('miner');
  if (!isCount(d.number)) throw bad('number');
  if (!isCount(d.proofType)) throw bad('proofType');
  if (!isSectorState(d.state)) throw bad('state', `is not a sector state: ${JSON.stringify(d.state)}`);
  if (!Array.isArray(d.pieces)) throw bad('pieces');
  if (typeof d.packingRequested !== 'boolean') throw bad('packingRequested');
  const c = d.counters as unknown;
  if (!isObject(c) || !isCount(c.preCommit2Fails) || !isCount(c.invalidProofs) || !isCount(c.retries)) {
    throw bad('counters', 'must be {preCommit2Fails, invalidProofs, retries}');
  }
  const out: SectorRecordDraft = {
    v: 2,
    miner: d.miner,
    number: d.number,
    proofType: d.proofType,
    state: d.state,
    pieces: d.pieces.map(piece),
    packingRequested: d.packingRequested,
    counters: { preCommit2Fails: c.preCommit2Fails, invalidProofs: c.invalidProofs, retries: c.retries },
  };
  for (const field of ['commD', 'commR'] as const) {
    const v = d[field];
    if (v === undefined) continue;
    if (typeof v !== 'string' || v === '') throw bad(field);
    out[field] = v;
  }
  if (d.ticket !== undefined) out.ticket = randomness(d.ticket, 'ticket');
  if (d.seed !== undefined) out.seed = randomness(d.seed, 'seed');
  if (d.pc1 !== undefined) out.pc1 = pc1Result(d.pc1);
  if (d.preCommit !== undefined) out.preCommit = messageRef(d.preCommit, 'preCommit');
  if (d.commit !== undefined) out.commit = messageRef(d.commit, 'commit');
  if (d.c1 !== undefined) out.c1 = digestRef(d.c1, 'c1');
  if (d.proof !== undefined) out.proof = proofRef(d.proof);
  if (d.error !== undefined) {
    const e = d.error as unknown;
    if (!isObject(e) || !isErrorCode(e.code) || typeof e.message !== 'string') throw bad('error', 'must be {code, message}');
    out.error = { code: e.code, message: e.message };
  }
  for (const field of ['sealStartedAt', 'provingAt'] as const) {
    const v = d[field];
    if (v === undefined) continue;
    if (!isCount(v)) throw bad(field);
    out[field] = v;
  }
  return out;
}

/**
 * Reads a stored JSON record of any version this program knows as a version 2 draft. Version 1
 * (the deal-filling daemon's: no chain fields, no counters) gets zero counters; its `lastLogAt`
 * comes from the row (schema migration 4 sets it to the row's `updated_at`).
 * @throws SectorRecordInvalidError for another version or a malformed field
 */
export function decodeRecordJson(raw: unknown): SectorRecordDraft {
  if (!isObject(raw)) throw new SectorRecordInvalidError('it is not a JSON object');
  if (raw.v === 1) return validateDraft({ ...(raw as object), v: 2, counters: zeroCounters() } as SectorRecordDraft);
  if (raw.v === 2) return validateDraft(raw as unknown as SectorRecordDraft);
  throw new SectorRecordInvalidError(`its version ${JSON.stringify(raw.v) ?? '(none)'} is not one this program reads (1 or 2)`);
}
