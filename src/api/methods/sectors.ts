/**
 * Sector methods, by Lotus's names and permissions (`api/api_storage.go`):
 * - `PledgeSector()` (write) → `{Miner, Number}`: a committed-capacity sector, sealed at once.
 * - `SectorStartSealing(n)` (write): stop waiting for deals and seal.
 * - `SectorRemove(n)` (admin): remove a sector in any state, with its files on every path.
 * - `SectorsList()`, `SectorsListInStates(states)`, `SectorsSummary()`, `SectorsStatus(n, showOnChainInfo?)` (read).
 *
 * Results use Lotus's `SectorInfo` names (`SectorID`, `State`, `CommD`, `CommR`, `Ticket`, `Seed`,
 * `PreCommitMsg`, `CommitMsg`, `Deals`, `Retries`, `LastErr`, `Log`) plus fields of our own
 * (pieces with their CIDs and offsets, `SealProof`, `SectorSize`, the proof's digest). Where the
 * JSON differs from Lotus's it is said on the field. Unlike Lotus's `SectorsList` and
 * `SectorsListInStates` (sector numbers only), the lists return whole entries (without the log),
 * so `sectors list` needs one call.
 */
import { InvalidArgumentError, SectorUnknownError } from '../../errors.js';
import type { LogMarks, SectorLogEntry, SectorRecord, UnreadableSector } from '../../db/sector-store.js';
import { VANILLA_BUNDLE_NOTE, vanillaBundleProver } from '../../seal/c2.js';
import { sealProofInfo } from '../../sector/proofs.js';
import { isSectorState, SECTOR_STATES, type SectorStateName } from '../../sector/sector-states.js';
import type { SectorApiService } from '../components.js';
import { expectArity, intParam } from '../params.js';
import { defineMethod } from '../rpc-method.js';

/** The log kind that marks the end of sealing for `sectors list` seal times (Lotus: the commit landed). */
export const SEALED_LOG_KIND = 'event;sealing.SectorProving';

/** A piece of a sector as the API reports it. */
export interface PieceInfo {
  /** Piece CID v1 (`baga…`). */
  PieceCID: string;
  /** Piece CID v2 (`bafkzcib…`); absent for filler pieces. */
  PieceCIDv2?: string;
  PaddedSize: number;
  /** Padded offset in the sector. */
  PaddedOffset: number;
  /** Unpadded offset in the sector (what `pieces read` takes). */
  Offset: number;
  /** Payload bytes (0 for fillers). */
  PayloadSize: number;
  /** Alignment or packing filler (zeros written by the sector itself). */
  Filler: boolean;
}

/** Lotus's SealTicket / SealSeed: the randomness (base64, as Go encodes bytes) and its epoch; `null`/0 until drawn. */
export interface SealRandomness {
  Value: string | null;
  Epoch: number;
}

/** One entry of a sector's log (Lotus's SectorLog). */
export interface SectorLog {
  /** `event;sealing.<EventName>` as Lotus, or `restart` / `truncate`. */
  Kind: string;
  /** Unix seconds, as Lotus. */
  Timestamp: number;
  /** Unix ms (ours: phases of small sectors take less than a second). */
  TimestampMs: number;
  Trace: string;
  Message: string;
}

/** The C2 proof a sector made: its digest and size (the bytes go to the chain; the record keeps them only until then). */
export interface ProofInfo {
  /** SHA-256 of the proof bytes, hex. */
  Sha256: string;
  /** Proof size in bytes. */
  Size: number;
  /** The prover that made it. */
  Prover: string;
  /** What the proof is, when it is not a SNARK (the default prover's vanilla proof bundle). */
  Note?: string;
}

/** A sector as the API reports it: Lotus's SectorInfo names, plus our own fields. */
export interface SectorInfo {
  SectorID: number;
  /** Miner actor id (ours). */
  Miner: number;
  /** Lotus state name (`WaitDeals`, `PreCommit1`, `Proving`, `SealPreCommit2Failed`…). */
  State: string;
  /** Unsealed sector CID, once packed (Lotus encodes CIDs as `{"/": …}`; here a CID string). */
  CommD: string | null;
  /** Sealed sector CID, after PC2 (a CID string). */
  CommR: string | null;
  Ticket: SealRandomness;
  Seed: SealRandomness;
  /** Pre-commit message CID on the local chain (stand-in). */
  PreCommitMsg: string | null;
  /** Commit message CID on the local chain (stand-in). */
  CommitMsg: string | null;
  /** The proof's digest and size (Lotus has the bytes as `Proof`). */
  ProofInfo: ProofInfo | null;
  /**
   * Piece CIDs of the deal (non-filler) pieces, in sector order. Lotus lists deal ids here; there is
   * no storage market in this program, so a deal is known by its piece CID.
   */
  Deals: string[];
  /** Retries of failure states (Lotus's Retries). */
  Retries: number;
  /** Why the sector is in a failure state; empty otherwise (Lotus's LastErr). */
  LastErr: string;
  /** The stable code of LastErr (ours). */
  LastErrCode?: string;
  SealProof: number;
  SectorSize: number;
  Pieces: PieceInfo[];
  /** Padded bytes used by pieces (deal pieces and fillers). */
  UsedPadded: number;
  /** Unix ms of the sector's first log entry (ours). */
  LogStart?: number;
  /** Unix ms of its `SectorProving` log entry: the commit landed (ours). */
  ProvingAt?: number;
  /** Unix ms of the last change. */
  UpdatedAt: number;
  /** The sector's log, oldest first: only from `SectorsStatus`. */
  Log?: SectorLog[];
}

/** Lotus's abi.SectorID. */
export interface SectorIdJson {
  Miner: number;
  Number: number;
}

const hexToBase64 = (hex: string) => Buffer.from(hex, 'hex').toString('base64');

function randomness(r: { value: string; epoch: number } | undefined): SealRandomness {
  return r ? { Value: hexToBase64(r.value), Epoch: r.epoch } : { Value: null, Epoch: 0 };
}

/** Converts a persisted sector record (and, when known, its log or its log marks) to the API form. */
export function sectorInfoFromRecord(r: SectorRecord, extra: { log?: readonly SectorLogEntry[]; marks?: LogMarks } = {}): SectorInfo {
  let sectorSize = 0;
  try {
    sectorSize = sealProofInfo(r.proofType).sectorSize;
  } catch {
    // an unknown proof in a record is reported as size 0 rather than failing the whole listing
  }
  const pieces = r.pieces.map(
    (p): PieceInfo => ({
      PieceCID: p.pieceCid,
      ...(p.pieceCidV2 ? { PieceCIDv2: p.pieceCidV2 } : {}),
      PaddedSize: p.paddedSize,
      PaddedOffset: p.paddedOffset,
      Offset: p.paddedOffset - p.paddedOffset / 128,
      PayloadSize: p.payloadSize,
      Filler: p.filler,
    }),
  );
  const { log } = extra;
  const logStart = log ? log[0]?.timestamp : extra.marks?.first;
  const provingAt = log ? log.find((e) => e.kind === SEALED_LOG_KIND)?.timestamp : extra.marks?.marked;
  const proof: ProofInfo | null = r.proof
    ? {
        Sha256: r.proof.sha256,
        Size: r.proof.bytes,
        Prover: r.proof.prover,
        ...(r.proof.prover === vanillaBundleProver.name ? { Note: VANILLA_BUNDLE_NOTE } : {}),
      }
    : null;
  return {
    SectorID: r.number,
    Miner: r.miner,
    State: r.state,
    CommD: r.commD ?? null,
    CommR: r.commR ?? null,
    Ticket: randomness(r.ticket),
    Seed: randomness(r.seed),
    PreCommitMsg: r.preCommit?.message ?? null,
    CommitMsg: r.commit?.message ?? null,
    ProofInfo: proof,
    Deals: r.pieces.filter((p) => !p.filler).map((p) => p.pieceCid),
    Retries: r.counters.retries,
    LastErr: r.error?.message ?? '',
    ...(r.error ? { LastErrCode: r.error.code } : {}),
    SealProof: r.proofType,
    SectorSize: sectorSize,
    Pieces: pieces,
    UsedPadded: pieces.reduce((end, p) => Math.max(end, p.PaddedOffset + p.PaddedSize), 0),
    ...(logStart !== undefined ? { LogStart: logStart } : {}),
    ...(provingAt !== undefined ? { ProvingAt: provingAt } : {}),
    UpdatedAt: r.updatedAt,
    ...(log
      ? {
          Log: log.map((e) => ({
            Kind: e.kind,
            Timestamp: Math.floor(e.timestamp / 1000),
            TimestampMs: e.timestamp,
            Trace: e.trace ?? '',
            Message: e.message,
          })),
        }
      : {}),
  };
}

/** The sector service of a running daemon (refused while the actor system is not up). */
export function sectorService(s: SectorApiService | undefined): SectorApiService {
  if (!s) throw new SectorUnknownError('this node has no sector service');
  return s;
}

/** Whole entries for `records`, with their log marks, by sector number. */
async function entries(s: SectorApiService, records: readonly SectorRecord[]): Promise<SectorInfo[]> {
  const marks = new Map((await s.logMarks(SEALED_LOG_KIND)).map((m) => [m.number, m]));
  return records
    .map((r) => {
      const m = marks.get(r.number);
      return sectorInfoFromRecord(r, m ? { marks: m } : {});
    })
    .sort((a, b) => a.SectorID - b.SectorID);
}

/**
 * A sector whose record cannot be read, as the list shows it: state `Unreadable` (not a Lotus
 * state: the sector is not started) and the reason as its last error.
 */
function unreadableInfo(u: UnreadableSector): SectorInfo {
  return {
    SectorID: u.number,
    Miner: u.miner,
    State: 'Unreadable',
    CommD: null,
    CommR: null,
    Ticket: { Value: null, Epoch: -1 },
    Seed: { Value: null, Epoch: -1 },
    PreCommitMsg: null,
    CommitMsg: null,
    ProofInfo: null,
    Deals: [],
    Retries: 0,
    LastErr: `its record (last state ${u.state}) cannot be read: ${u.reason}`,
    LastErrCode: 'SECTOR_RECORD_INVALID',
    SealProof: -1,
    SectorSize: 0,
    Pieces: [],
    UsedPadded: 0,
    UpdatedAt: 0,
  };
}

/** A list of sector state names (Lotus's spelling), naming the first unknown one. */
function statesParam(raw: unknown[], i: number, name: string): SectorStateName[] {
  const v = raw[i];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) {
    throw new InvalidArgumentError(`param ${name} must be a list of sector state names (got ${JSON.stringify(v)})`);
  }
  const unknown = v.filter((x) => !isSectorState(x));
  if (unknown.length > 0) {
    throw new InvalidArgumentError(`param ${name}: ${unknown.map((x) => JSON.stringify(x)).join(', ')} is not a sector state (one of ${SECTOR_STATES.join(', ')})`);
  }
  return [...new Set(v as SectorStateName[])];
}

export const sectorsMethods = {
  /** `Filecoin.PledgeSector() → {Miner, Number}` (write): NO_SPACE, creating nothing, when no sealing path has room. */
  PledgeSector: defineMethod({
    perm: 'write',
    params: (raw): [] => {
      expectArity(raw, 0);
      return [];
    },
    run: async (_p, { components }): Promise<SectorIdJson> => ({
      Miner: components.daemon.minerId,
      Number: await sectorService(components.sectors).pledge(),
    }),
  }),
  /** `Filecoin.SectorStartSealing(sector)` (write): SECTOR_UNKNOWN, or SECTOR_STATE_INVALID past deal filling. */
  SectorStartSealing: defineMethod({
    perm: 'write',
    params: (raw): [number] => {
      expectArity(raw, 1);
      return [intParam(raw, 0, 'sector')];
    },
    run: async ([sector], { components }): Promise<null> => {
      await sectorService(components.sectors).startPacking(sector);
      return null;
    },
  }),
  /** `Filecoin.SectorRemove(sector)` (admin): running tasks are aborted and the files removed from every path. */
  SectorRemove: defineMethod({
    perm: 'admin',
    params: (raw): [number] => {
      expectArity(raw, 1);
      return [intParam(raw, 0, 'sector')];
    },
    run: async ([sector], { components }): Promise<null> => {
      await sectorService(components.sectors).remove(sector);
      return null;
    },
  }),
  /** `Filecoin.SectorsList() → number[]` (read): every sector number, ascending (Lotus's shape). */
  SectorsList: defineMethod({
    perm: 'read',
    params: (raw): [] => {
      expectArity(raw, 0);
      return [];
    },
    run: async (_p, { components }): Promise<number[]> => {
      const s = sectorService(components.sectors);
      const numbers = [...(await s.listSectors()).map((r) => r.number), ...(await s.unreadable()).map((u) => u.number)];
      return numbers.sort((a, b) => a - b);
    },
  }),
  /** `Filecoin.SectorsListInStates(states) → number[]` (read): the sectors in any of the named states. */
  SectorsListInStates: defineMethod({
    perm: 'read',
    params: (raw): [SectorStateName[]] => {
      expectArity(raw, 1);
      return [statesParam(raw, 0, 'states')];
    },
    run: async ([states], { components }): Promise<number[]> => {
      const records = await sectorService(components.sectors).listInStates(states);
      return records.map((r) => r.number).sort((a, b) => a - b);
    },
  }),
  /**
   * `Filecoin.SectorsListInfo(states?) → SectorInfo[]` (read, ours): whole entries without logs, by
   * sector number, of every sector or of those in the named states, so `sectors list` is one call
   * (with Lotus's methods it is SectorsList plus one SectorsStatus per sector).
   */
  SectorsListInfo: defineMethod({
    perm: 'read',
    params: (raw): [SectorStateName[] | undefined] => {
      expectArity(raw, 0, 1);
      return [raw[0] === undefined || raw[0] === null ? undefined : statesParam(raw, 0, 'states')];
    },
    run: async ([states], { components }): Promise<SectorInfo[]> => {
      const s = sectorService(components.sectors);
      if (states) return (await entries(s, await s.listInStates(states))).sort((a, b) => a.SectorID - b.SectorID);
      const list = [...(await entries(s, await s.listSectors())), ...(await s.unreadable()).map(unreadableInfo)];
      return list.sort((a, b) => a.SectorID - b.SectorID);
    },
  }),
  /** `Filecoin.SectorsSummary() → {state: count}` (read). */
  SectorsSummary: defineMethod({
    perm: 'read',
    params: (raw): [] => {
      expectArity(raw, 0);
      return [];
    },
    run: async (_p, { components }): Promise<Record<string, number>> => sectorService(components.sectors).summary(),
  }),
  /**
   * `Filecoin.SectorsStatus(sector, showOnChainInfo?) → SectorInfo` with its `Log` (read);
   * SECTOR_UNKNOWN for an unknown number. The local chain (stand-in) has no on-chain sector info
   * beyond what the entry holds, so `showOnChainInfo` is checked and changes nothing.
   */
  SectorsStatus: defineMethod({
    perm: 'read',
    params: (raw): [sector: number] => {
      expectArity(raw, 1, 2);
      const sector = intParam(raw, 0, 'sector');
      if (raw[1] !== undefined && raw[1] !== null && typeof raw[1] !== 'boolean') {
        throw new InvalidArgumentError(`param showOnChainInfo must be true or false (got ${JSON.stringify(raw[1])})`);
      }
      return [sector];
    },
    run: async ([sector], { components }): Promise<SectorInfo> => {
      const { record, log } = await sectorService(components.sectors).status(sector);
      return sectorInfoFromRecord(record, { log });
    },
  }),
};
