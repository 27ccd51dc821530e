/**
 * A sector actor's context: the persisted record's fields (dagstore-style explicit record, see
 * src/db/sector-store.ts) and the transient fields a restart loses on purpose. Pure functions
 * only: building the context from a record, the record from a context, and the summary the
 * scheduler places pieces by.
 */
import { sealProofInfo } from '../../src/sector/proofs.js';
import { DEAL_SECTOR_PRIORITY } from '../../src/tasks/task-types.js';
import type { C1Ref, Pc1Result } from '../../src/tasks/task-types.js';
import type { PieceRequest, PieceSource, SectorSummary } from '../protocol.js';
import type { ProofRef } from '../../src/db/sector-record.js';
import type { PieceRecord, SectorErrorRecord, SectorLogInput, SectorRecordDraft, SectorStateName } from '../../src/db/sector-store.js';
import { piecesEnd, reservedEnd } from '../sector-space.js';

/** Lotus's `minRetryTime`: a failed sector retries one minute after its last log entry. */
export const MIN_RETRY_MS = 60_000;
/** How long a sector waits before asking the chain again after the chain failed to answer. */
export const CHAIN_RETRY_MS = 10_000;
/** PC2 failures after which the sector goes back to PC1 (Lotus: `PreCommit2Fails > 3`). */
export const MAX_PC2_FAILS = 3;
/** Proof retries and refused proofs after which the sector goes back to PC1 (Lotus: `InvalidProofs > 1`). */
export const MAX_INVALID_PROOFS = 1;

/** Construction data: a new sector, or one restored from its persisted record. */
export interface SectorInput {
  miner: number;
  number: number;
  proofType: number;
  /** The persisted record to restore from (absent for a new sector); `lastLogAt` as the store stamped it. */
  record?: SectorRecordDraft & { lastLogAt?: number };
  /** Unix ms at restore: what is left of a failure's cool-down is counted from the record's `lastLogAt`. */
  restoredAt?: number;
  /** A committed-capacity sector (`sectors pledge`): packed with zero pieces at once (Lotus SectorStartCC). */
  cc?: boolean;
}

/** One AddPiece to do: a zero piece (padding, filler) or the active deal piece. */
export interface SectorStep {
  pieceSize: number;
  payloadSize: number;
  source: PieceSource;
}

/** A save sent to the index and not answered yet. */
interface PendingSave {
  saveId: number;
  record: SectorRecordDraft;
  applied: string[];
  log: SectorLogInput[];
}

/** Sector context. The first group is persisted (see recordOf); the rest is transient. */
export interface SectorContext {
  miner: number;
  number: number;
  proofType: number;
  /** Padded sector size, from the proof. */
  sectorSize: number;
  state: SectorStateName;
  pieces: PieceRecord[];
  packingRequested: boolean;
  commD?: string;
  ticket?: { value: string; epoch: number };
  pc1?: Pc1Result;
  commR?: string;
  preCommit?: { message: string; epoch?: number };
  seed?: { value: string; epoch: number };
  c1?: C1Ref;
  proof?: ProofRef;
  commit?: { message: string; epoch?: number };
  counters: { preCommit2Fails: number; invalidProofs: number; retries: number };
  error?: SectorErrorRecord;
  // ---- transient: lost on restart, on purpose
  /** Accepted deal pieces waiting their turn (Lotus's pending pieces). */
  queue: PieceRequest[];
  /** The deal piece being added, and whether its client cancelled it. */
  active?: PieceRequest & { cancelled: boolean };
  /** AddPieces still to do in this state, in order; `steps[0]` is in flight as `taskId`. */
  steps: SectorStep[];
  /** The task this sector waits for (its own id; the scheduler's call id comes with the result). */
  taskId?: string;
  taskSeq: number;
  /** Calls whose results were applied since the last save: the next save marks them returned. */
  applied: string[];
  /** Log entries made since the last save: the next save appends them. */
  pendingLog: SectorLogInput[];
  /** JSON of the last record written, to skip writes that change nothing. */
  savedKey: string;
  /** The last summary told to the scheduler ({@link summaryKey}), to skip telling it again. */
  reported: string;
  /** The last record the index confirmed durable (the restored record at start). */
  persisted?: SectorRecordDraft;
  /** Saves sent and not answered, oldest first (answers come in order). */
  saving: PendingSave[];
  saveSeq: number;
  /** The save whose confirmation the active deal piece's reply waits for. */
  replyAfterSave?: number;
  /** The next failure cool-down, ms (a restored sector waits only what is left of it). */
  cooldownMs: number;
  /** A committed-capacity sector not packed yet. */
  cc: boolean;
}

/** What a context persists as. */
export function recordOf(c: SectorContext): SectorRecordDraft {
  const r: SectorRecordDraft = {
    v: 2,
    miner: c.miner,
    number: c.number,
    proofType: c.proofType,
    state: c.state,
    pieces: c.pieces,
    packingRequested: c.packingRequested,
    counters: c.counters,
  };
  if (c.commD !== undefined) r.commD = c.commD;
  if (c.ticket !== undefined) r.ticket = c.ticket;
  if (c.pc1 !== undefined) r.pc1 = c.pc1;
  if (c.commR !== undefined) r.commR = c.commR;
  if (c.preCommit !== undefined) r.preCommit = c.preCommit;
  if (c.seed !== undefined) r.seed = c.seed;
  if (c.c1 !== undefined) r.c1 = c.c1;
  if (c.proof !== undefined) r.proof = c.proof;
  if (c.commit !== undefined) r.commit = c.commit;
  if (c.error !== undefined) r.error = c.error;
  return r;
}

/**
 * The context of a new sector, or of one restored from its record.
 *
 * Built field by field, in one fixed order, from an empty object, with every field present
 * (`undefined` where it has no value) and none ever deleted. XState copies the context on each
 * `assign` (`Object.assign({}, context, update)`, xstate's `resolveAssign`), which V8 keeps a fast
 * object only by following transitions that already exist from the empty object's shape: beyond
 * sixteen fields it would make a new one a dictionary, and a dictionary's copy, about 8 µs here
 * against under 1 µs, put some 100 µs into each of a sector's transitions. Assigning the fields
 * by name here lays that chain of transitions down once, and every copy follows it.
 */
export function createContext(input: SectorInput): SectorContext {
  const r = input.record;
  const c = {} as SectorContext;
  c.miner = input.miner;
  c.number = input.number;
  c.proofType = input.proofType;
  c.sectorSize = sealProofInfo(input.proofType).sectorSize;
  c.state = r?.state ?? 'WaitDeals';
  c.pieces = r?.pieces ?? [];
  c.packingRequested = r?.packingRequested ?? input.cc === true;
  c.commD = r?.commD;
  c.ticket = r?.ticket;
  c.pc1 = r?.pc1;
  c.commR = r?.commR;
  c.preCommit = r?.preCommit;
  c.seed = r?.seed;
  c.c1 = r?.c1;
  c.proof = r?.proof;
  c.commit = r?.commit;
  c.counters = r?.counters ?? { preCommit2Fails: 0, invalidProofs: 0, retries: 0 };
  c.error = r?.error;
  c.queue = [];
  c.active = undefined;
  c.steps = [];
  c.taskId = undefined;
  c.taskSeq = 0;
  c.applied = [];
  c.pendingLog = [];
  c.savedKey = '';
  c.reported = '';
  c.persisted = undefined;
  c.saving = [];
  c.saveSeq = 0;
  c.replyAfterSave = undefined;
  c.cooldownMs = MIN_RETRY_MS;
  c.cc = input.cc === true && !r;
  if (r) {
    c.persisted = recordOf(c);
    c.savedKey = JSON.stringify(c.persisted);
    if (r.lastLogAt !== undefined && input.restoredAt !== undefined) {
      c.cooldownMs = Math.max(0, Math.min(MIN_RETRY_MS, r.lastLogAt + MIN_RETRY_MS - input.restoredAt));
    }
  }
  return c;
}

/** Padded end of everything committed, in flight and queued. */
export function reserved(c: SectorContext): number {
  const committed = piecesEnd(c.pieces);
  const inFlight = c.steps.reduce((end, s) => end + s.pieceSize, committed);
  return reservedEnd(inFlight, c.queue);
}

/** Takes new deal pieces (WaitDeals/AddPiece and packing not requested). */
export function accepting(c: SectorContext): boolean {
  return (c.state === 'WaitDeals' || c.state === 'AddPiece' || c.state === 'Empty') && !c.packingRequested;
}

/** What the scheduler needs for placement and supervision. */
export function summaryOf(c: SectorContext): SectorSummary {
  return { number: c.number, state: c.state, sectorSize: c.sectorSize, reservedEnd: reserved(c), accepting: accepting(c) };
}

/** What identifies a summary: the scheduler holds the same summary while this is unchanged. */
export function summaryKey(s: SectorSummary): string {
  return `${s.state}|${s.sectorSize}|${s.reservedEnd}|${s.accepting}`;
}

/** Lotus runs every task of a sector holding deals at DealSectorPriority; CC sectors at 0. */
export function priorityOf(c: SectorContext): number {
  return c.pieces.some((p) => !p.filler) || c.active !== undefined ? DEAL_SECTOR_PRIORITY : 0;
}

/** True when nothing of this sector is durable yet (a new sector before its first piece). */
export function isUnborn(c: SectorContext): boolean {
  return c.persisted === undefined && c.pieces.length === 0 && c.saving.length === 0;
}
