/**
 * The persisted sector record, dagstore style: one small explicit JSON record per sector (not an
 * XState engine snapshot), written after every transition that changes a persisted field, plus
 * one row per piece so pieces are queryable by CID. A sector actor is restored by spawning it
 * with its record as input (see machines/sector.machine.ts).
 *
 * Every method is synchronous: the store is used only inside the index actor, which serialises
 * calls through its mailbox and batches the writes of one tick in one transaction.
 */
import type { Db } from './database.js';
import { InternalError, isErrorCode, type ErrorCode } from '../errors.js';

/**
 * The states of the deal-filling part of Lotus's sealing machine (sector-storage.md §7) that a
 * record may hold. `Empty` is Lotus's deprecated twin of `WaitDeals`; it is read, never written.
 */
export const SECTOR_STATES = [
  'Empty',
  'WaitDeals',
  'AddPiece',
  'Packing',
  'GetTicket',
  'AddPieceFailed',
  'PackingFailed',
] as const;

/** A persisted sector state name (Lotus's spelling). */
export type SectorStateName = (typeof SECTOR_STATES)[number];

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

/** A failure kept as data (never an Error object), with the state it happened in. */
export interface SectorErrorRecord {
  code: ErrorCode;
  message: string;
}

/**
 * A sector as persisted. Version 1.
 *
 * - `state`: the Lotus state name at the time of the write. On restart transient states are reset
 *   (AddPiece → WaitDeals; see sector.machine.ts).
 * - `pieces`: committed pieces in order, deal pieces and fillers alike; a piece is committed only
 *   after its bytes are in the unsealed file and its commP is known, so an interrupted AddPiece
 *   leaves no row behind.
 * - `packingRequested`: `sectors seal` (or a full sector) asked to pack; survives restarts so an
 *   AddPiece interrupted before packing still ends in Packing.
 * - `commD`: the unsealed sector CID (`baga…`), known once Packing has added its fillers.
 * - `error`: why the sector is in a failure state.
 * - `updatedAt`: unix ms of the last write (stamped by the store).
 */
export interface SectorRecord {
  v: 1;
  miner: number;
  number: number;
  proofType: number;
  state: SectorStateName;
  pieces: PieceRecord[];
  packingRequested: boolean;
  commD?: string;
  error?: SectorErrorRecord;
  updatedAt: number;
}

/** What a sector actor writes: the record without the store-stamped timestamp. */
export type SectorRecordDraft = Omit<SectorRecord, 'updatedAt'>;

/** Where a piece lives, for lookups by piece CID. */
export interface PieceLocation {
  miner: number;
  number: number;
  piece: PieceRecord;
}

interface SectorRow {
  miner: number;
  number: number;
  proof_type: number;
  state: string;
  record: string;
  updated_at: number;
}

interface PieceRow {
  miner: number;
  number: number;
  idx: number;
  piece_cid: string;
  piece_cid_v2: string | null;
  padded_size: number;
  padded_offset: number;
  payload_size: number;
  is_filler: number;
}

/** Sector records and their pieces in the repository database. */
export class SectorStore {
  readonly #db: Db;
  readonly #now: () => number;
  readonly #upsert;
  readonly #deletePieces;
  readonly #insertPiece;
  readonly #getSector;
  readonly #listAll;
  readonly #listMiner;
  readonly #piecesOf;
  readonly #piecesOfMiner;
  readonly #allPieces;
  readonly #byCid;
  readonly #maxNumber;

  /** `now` stamps `updatedAt` (unix ms). @default Date.now */
  constructor(db: Db, options: { now?: () => number } = {}) {
    this.#db = db;
    this.#now = options.now ?? Date.now;
    this.#upsert = db.prepare<[number, number, number, string, string, number]>(
      `INSERT INTO sectors (miner, number, proof_type, state, record, updated_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (miner, number) DO UPDATE SET proof_type = excluded.proof_type, state = excluded.state,
         record = excluded.record, updated_at = excluded.updated_at`,
    );
    this.#deletePieces = db.prepare<[number, number]>('DELETE FROM pieces WHERE miner = ? AND number = ?');
    this.#insertPiece = db.prepare<[number, number, number, string, string | null, number, number, number, number]>(
      `INSERT INTO pieces (miner, number, idx, piece_cid, piece_cid_v2, padded_size, padded_offset, payload_size, is_filler)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#getSector = db.prepare<[number, number], SectorRow>('SELECT * FROM sectors WHERE miner = ? AND number = ?');
    this.#listAll = db.prepare<[], SectorRow>('SELECT * FROM sectors ORDER BY miner, number');
    this.#listMiner = db.prepare<[number], SectorRow>('SELECT * FROM sectors WHERE miner = ? ORDER BY number');
    this.#piecesOf = db.prepare<[number, number], PieceRow>(
      'SELECT * FROM pieces WHERE miner = ? AND number = ? ORDER BY idx',
    );
    this.#piecesOfMiner = db.prepare<[number], PieceRow>('SELECT * FROM pieces WHERE miner = ? ORDER BY number, idx');
    this.#allPieces = db.prepare<[], PieceRow>('SELECT * FROM pieces ORDER BY miner, number, idx');
    this.#byCid = db.prepare<[string, string], PieceRow>(
      'SELECT * FROM pieces WHERE piece_cid = ? OR piece_cid_v2 = ? ORDER BY miner, number, idx',
    );
    this.#maxNumber = db.prepare<[number], { n: number | null }>('SELECT MAX(number) AS n FROM sectors WHERE miner = ?');
  }

  /** Writes a sector record and replaces its pieces, atomically; returns the stored record. */
  save(draft: SectorRecordDraft): SectorRecord {
    const record: SectorRecord = { ...validateDraft(draft), updatedAt: this.#now() };
    const { pieces, ...rest } = record;
    this.#db.transaction(() => {
      this.#upsert.run(record.miner, record.number, record.proofType, record.state, JSON.stringify(rest), record.updatedAt);
      this.#deletePieces.run(record.miner, record.number);
      pieces.forEach((p, i) => {
        this.#insertPiece.run(
          record.miner,
          record.number,
          i,
          p.pieceCid,
          p.pieceCidV2 ?? null,
          p.paddedSize,
          p.paddedOffset,
          p.payloadSize,
          p.filler ? 1 : 0,
        );
      });
    })();
    return record;
  }

  /** The record of one sector, or undefined. */
  get(miner: number, number: number): SectorRecord | undefined {
    const row = this.#getSector.get(miner, number);
    return row ? decodeRow(row, this.#piecesOf.all(miner, number)) : undefined;
  }

  /** Every sector record (of one miner when given), by number. */
  list(miner?: number): SectorRecord[] {
    const rows = miner === undefined ? this.#listAll.all() : this.#listMiner.all(miner);
    const pieceRows = miner === undefined ? this.#allPieces.all() : this.#piecesOfMiner.all(miner);
    const byKey = new Map<string, PieceRow[]>();
    for (const p of pieceRows) {
      const key = `${p.miner}/${p.number}`;
      const list = byKey.get(key);
      if (list) list.push(p);
      else byKey.set(key, [p]);
    }
    return rows.map((r) => decodeRow(r, byKey.get(`${r.miner}/${r.number}`) ?? []));
  }

  /** The number a new sector of `miner` gets: one past the highest known (0 for the first). */
  nextNumber(miner: number): number {
    const n = this.#maxNumber.get(miner)?.n;
    return n === null || n === undefined ? 0 : n + 1;
  }

  /** Every sector holding a piece with this CID (v1 or v2). */
  findPiece(pieceCid: string): PieceLocation[] {
    return this.#byCid.all(pieceCid, pieceCid).map((r) => ({ miner: r.miner, number: r.number, piece: decodePiece(r) }));
  }
}

function decodePiece(r: PieceRow): PieceRecord {
  const piece: PieceRecord = {
    pieceCid: r.piece_cid,
    paddedOffset: r.padded_offset,
    paddedSize: r.padded_size,
    payloadSize: r.payload_size,
    filler: r.is_filler !== 0,
  };
  if (r.piece_cid_v2 !== null) piece.pieceCidV2 = r.piece_cid_v2;
  return piece;
}

/**
 * Decodes a stored row. A record of an unknown version or with a malformed field is refused,
 * never half-loaded (a newer program may have written it).
 */
function decodeRow(row: SectorRow, pieceRows: PieceRow[]): SectorRecord {
  const where = `sector record of miner ${row.miner} sector ${row.number}`;
  let raw: unknown;
  try {
    raw = JSON.parse(row.record);
  } catch (err) {
    throw new InternalError(`${where} is not valid JSON`, { cause: err });
  }
  if (!isObject(raw) || raw.v !== 1) {
    throw new InternalError(`${where} has version ${isObject(raw) ? String(raw.v) : '?'}; this program reads version 1`);
  }
  const record = { ...raw, pieces: pieceRows.map(decodePiece), updatedAt: row.updated_at } as unknown as SectorRecord;
  try {
    validateDraft(record);
  } catch (err) {
    throw new InternalError(`${where} is malformed: ${(err as Error).message}`, { cause: err });
  }
  return record;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Checks a record before it is written or after it is read; returns only the known fields. */
export function validateDraft(d: SectorRecordDraft): SectorRecordDraft {
  const bad = (field: string) => new InternalError(`sector record field ${field} is invalid`);
  if (d.v !== 1) throw bad('v');
  if (!isCount(d.miner)) throw bad('miner');
  if (!isCount(d.number)) throw bad('number');
  if (!isCount(d.proofType)) throw bad('proofType');
  if (!(SECTOR_STATES as readonly string[]).includes(d.state)) throw bad('state');
  if (!Array.isArray(d.pieces)) throw bad('pieces');
  if (typeof d.packingRequested !== 'boolean') throw bad('packingRequested');
  if (d.commD !== undefined && typeof d.commD !== 'string') throw bad('commD');
  if (d.error !== undefined && (!isObject(d.error) || !isErrorCode(d.error.code) || typeof d.error.message !== 'string')) {
    throw bad('error');
  }
  const out: SectorRecordDraft = {
    v: 1,
    miner: d.miner,
    number: d.number,
    proofType: d.proofType,
    state: d.state,
    pieces: d.pieces.map((p, i) => {
      if (!isObject(p) || typeof p.pieceCid !== 'string' || !isCount(p.paddedOffset) || !isCount(p.paddedSize)) {
        throw bad(`pieces[${i}]`);
      }
      if (!isCount(p.payloadSize) || typeof p.filler !== 'boolean') throw bad(`pieces[${i}]`);
      const piece: PieceRecord = {
        pieceCid: p.pieceCid,
        paddedOffset: p.paddedOffset,
        paddedSize: p.paddedSize,
        payloadSize: p.payloadSize,
        filler: p.filler,
      };
      if (typeof p.pieceCidV2 === 'string') piece.pieceCidV2 = p.pieceCidV2;
      return piece;
    }),
    packingRequested: d.packingRequested,
  };
  if (d.commD !== undefined) out.commD = d.commD;
  if (d.error !== undefined) out.error = { code: d.error.code, message: d.error.message };
  return out;
}
