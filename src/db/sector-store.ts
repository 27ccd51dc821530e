/**
 * Sector records (src/db/sector-record.ts), their pieces and their logs in the repository
 * database. A record is written after every transition that changes a persisted field, in one
 * transaction with its pieces, the log entries of that transition, and the `returned` mark of the
 * task calls whose results it applies (docs/design/sealing-daemon.md §4): either all of it is
 * durable or none is. A sector actor is restored by spawning it with its record as input.
 *
 * Every method is synchronous: the store is used only inside the index actor, which serialises
 * calls through its mailbox and batches the calls of one tick in one transaction. A record that
 * cannot be decoded is refused by name and never takes the others down: lists return the readable
 * records and report the unreadable ones.
 */
import { InternalError, InvalidArgumentError, SectorExistsError, SectorRecordInvalidError, SectorUnknownError } from '../errors.js';
import type { CallStore } from './call-store.js';
import { type Db, inTransaction } from './database.js';
import {
  decodeRecordJson,
  isSectorState,
  type PieceRecord,
  type SectorRecord,
  type SectorRecordDraft,
  type SectorStateName,
  validateDraft,
} from './sector-record.js';

export { SECTOR_STATES, isSectorState, validateDraft, zeroCounters } from './sector-record.js';
export type {
  ChainMessageRef,
  ChainRandomness,
  PieceRecord,
  SectorCounters,
  SectorErrorRecord,
  SectorRecord,
  SectorRecordDraft,
  SectorStateName,
} from './sector-record.js';

/** One entry to append to a sector's log (Lotus's SectorLog without the timestamp, which the store stamps). */
export interface SectorLogInput {
  /** `event;sealing.<EventName>` for events (Lotus's kinds), or another kind such as `restart`. */
  kind: string;
  message: string;
  trace?: string;
}

/** One entry of a sector's log. */
export interface SectorLogEntry extends SectorLogInput {
  /** Unix ms, stamped when the entry was appended. */
  timestamp: number;
}

/** Times (unix ms) from a sector's log: its first entry, and its first entry of a chosen kind. */
export interface LogMarks {
  number: number;
  first: number;
  marked?: number;
}

/** What else a {@link SectorStore.save} commits with the record. */
export interface SaveOptions {
  /** Calls whose results this record applies: marked `returned` in the same transaction (each must be `done`). */
  applied?: readonly string[];
  /** Entries appended to the sector's log (and `lastLogAt` set to now). */
  log?: readonly SectorLogInput[];
  /**
   * The record must be a new row (a sector imported from its files): SectorExistsError, writing
   * nothing, when the number already has one.
   */
  create?: boolean;
}

/** A record that cannot be decoded, and why. */
export interface UnreadableSector {
  miner: number;
  number: number;
  /** The state column of its row (written with the record). */
  state: string;
  reason: string;
}

/** Where a piece lives, for lookups by piece CID. */
export interface PieceLocation {
  miner: number;
  number: number;
  piece: PieceRecord;
}

/** Lotus (`extern/storage-sealing/fsm.go`): a log past this many entries is truncated … */
const LOG_MAX_ENTRIES = 8000;
/** … by replacing its entries [2000, 6000) with one `truncate` entry. */
const LOG_CUT_FROM = 2000;
const LOG_CUT_TO = 6000;
/** Lotus keeps at most this many characters of a message. */
const LOG_MESSAGE_MAX = 8000;

interface SectorRow {
  miner: number;
  number: number;
  proof_type: number;
  state: string;
  record: string;
  updated_at: number;
  last_log_at: number | null;
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

interface LogRow {
  kind: string;
  message: string;
  trace: string | null;
  timestamp: number;
}

/** Sector records, their pieces and their logs. */
export class SectorStore {
  readonly #db: Db;
  readonly #now: () => number;
  readonly #calls: CallStore | undefined;
  readonly #onSaved: ((record: SectorRecord) => void) | undefined;
  readonly #s;

  /**
   * `now` stamps `updatedAt`, `lastLogAt` and log entries (unix ms; default Date.now); `calls` is
   * the call tracker that `save(…, {applied})` marks (required for that option); `onSaved` hears
   * every record right after its save (inside the index actor's batch, when one encloses it): the
   * API's SectorNotify channel sees every persisted state, none skipped.
   */
  constructor(db: Db, options: { now?: () => number; calls?: CallStore; onSaved?: (record: SectorRecord) => void } = {}) {
    this.#db = db;
    this.#now = options.now ?? Date.now;
    this.#calls = options.calls;
    this.#onSaved = options.onSaved;
    this.#s = {
      upsert: db.prepare<[number, number, number, string, string, number, number, number], { last_log_at: number }>(
        `INSERT INTO sectors (miner, number, proof_type, state, record, updated_at, last_log_at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (miner, number) DO UPDATE SET proof_type = excluded.proof_type, state = excluded.state,
           record = excluded.record, updated_at = excluded.updated_at,
           last_log_at = CASE WHEN ? THEN excluded.last_log_at ELSE COALESCE(sectors.last_log_at, excluded.last_log_at) END
         RETURNING last_log_at`,
      ),
      deletePieces: db.prepare<[number, number]>('DELETE FROM pieces WHERE miner = ? AND number = ?'),
      insertPiece: db.prepare<[number, number, number, string, string | null, number, number, number, number]>(
        `INSERT INTO pieces (miner, number, idx, piece_cid, piece_cid_v2, padded_size, padded_offset, payload_size, is_filler)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      get: db.prepare<[number, number], SectorRow>('SELECT * FROM sectors WHERE miner = ? AND number = ?'),
      listAll: db.prepare<[], SectorRow>('SELECT * FROM sectors ORDER BY miner, number'),
      listMiner: db.prepare<[number], SectorRow>('SELECT * FROM sectors WHERE miner = ? ORDER BY number'),
      listInStates: db.prepare<[number, string], SectorRow>(
        'SELECT * FROM sectors WHERE miner = ? AND state IN (SELECT value FROM json_each(?)) ORDER BY number',
      ),
      summary: db.prepare<[number], { state: string; n: number }>(
        'SELECT state, COUNT(*) AS n FROM sectors WHERE miner = ? GROUP BY state ORDER BY state',
      ),
      piecesOf: db.prepare<[number, number], PieceRow>('SELECT * FROM pieces WHERE miner = ? AND number = ? ORDER BY idx'),
      piecesOfMiner: db.prepare<[number], PieceRow>('SELECT * FROM pieces WHERE miner = ? ORDER BY number, idx'),
      allPieces: db.prepare<[], PieceRow>('SELECT * FROM pieces ORDER BY miner, number, idx'),
      byCid: db.prepare<[string, string], PieceRow>('SELECT * FROM pieces WHERE piece_cid = ? OR piece_cid_v2 = ? ORDER BY miner, number, idx'),
      maxNumber: db.prepare<[number], { n: number | null }>('SELECT MAX(number) AS n FROM sectors WHERE miner = ?'),
      appendLog: db.prepare<[number | null, number, number, string, string, string | null, number]>(
        'INSERT INTO sector_log (id, miner, number, kind, message, trace, timestamp) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      touchLog: db.prepare<[number, number, number]>('UPDATE sectors SET last_log_at = ? WHERE miner = ? AND number = ?'),
      logCount: db.prepare<[number, number], { n: number }>('SELECT COUNT(*) AS n FROM sector_log WHERE miner = ? AND number = ?'),
      logIdAt: db.prepare<[number, number, number], { id: number }>(
        'SELECT id FROM sector_log WHERE miner = ? AND number = ? ORDER BY id LIMIT 1 OFFSET ?',
      ),
      deleteLog: db.prepare<[number, number, number, number]>('DELETE FROM sector_log WHERE miner = ? AND number = ? AND id BETWEEN ? AND ?'),
      log: db.prepare<[number, number], LogRow>('SELECT kind, message, trace, timestamp FROM sector_log WHERE miner = ? AND number = ? ORDER BY id'),
      logMarks: db.prepare<[string, number], { number: number; first: number; marked: number | null }>(
        `SELECT number, MIN(timestamp) AS first, MIN(CASE WHEN kind = ? THEN timestamp END) AS marked
         FROM sector_log WHERE miner = ? GROUP BY number ORDER BY number`,
      ),
      logTail: db.prepare<[number, number, number], LogRow>(
        `SELECT kind, message, trace, timestamp FROM
           (SELECT id, kind, message, trace, timestamp FROM sector_log WHERE miner = ? AND number = ? ORDER BY id DESC LIMIT ?)
         ORDER BY id`,
      ),
    };
  }

  /**
   * Writes a sector record, replaces its pieces, appends `options.log` to its log and marks the
   * `options.applied` calls returned, all in one transaction; returns the stored record.
   * @throws SectorRecordInvalidError (bad record), InvalidArgumentError (bad log entry or call
   *   list), CallStateInvalidError / CallUnknownError (an applied call that is not `done`),
   *   SectorExistsError (`create` for a number that has a record): nothing of the save is kept
   */
  save(draft: SectorRecordDraft, options: SaveOptions = {}): SectorRecord {
    const d = validateDraft(draft);
    const entries = (options.log ?? []).map(checkLogEntry);
    const applied = options.applied ?? [];
    if (!Array.isArray(applied) || !applied.every((id) => typeof id === 'string')) {
      throw new InvalidArgumentError('save: applied must be an array of call ids');
    }
    if (applied.length > 0 && !this.#calls) throw new InternalError('this sector store has no call store to mark applied calls in');
    const now = this.#now();
    const { pieces, ...rest } = d;
    const saved = inTransaction(this.#db, () => {
      if (options.create && this.#s.get.get(d.miner, d.number)) {
        throw new SectorExistsError(`sector ${d.number} of miner ${d.miner} already has a record`);
      }
      const appended = entries.length > 0 ? 1 : 0;
      const row = this.#s.upsert.get(d.miner, d.number, d.proofType, d.state, JSON.stringify(rest), now, now, appended);
      // most saves change the state, not the pieces: rows left as they are are pages the commit
      // does not write (the pieces, and the piece CID index whose filler entries all sit together)
      if (!samePieces(this.#s.piecesOf.all(d.miner, d.number), pieces)) {
        this.#s.deletePieces.run(d.miner, d.number);
        pieces.forEach((p, i) => {
          this.#s.insertPiece.run(d.miner, d.number, i, p.pieceCid, p.pieceCidV2 ?? null, p.paddedSize, p.paddedOffset, p.payloadSize, p.filler ? 1 : 0);
        });
      }
      for (const e of entries) this.#s.appendLog.run(null, d.miner, d.number, e.kind, e.message, e.trace ?? null, now);
      if (appended) this.#truncateLog(d.miner, d.number, now);
      if (applied.length > 0) this.#calls!.markReturned(applied);
      return { ...d, lastLogAt: row?.last_log_at ?? now, updatedAt: now };
    });
    this.#onSaved?.(saved);
    return saved;
  }

  /**
   * Appends `options.log` to a sector's log and marks the `options.applied` calls returned, in one
   * transaction, leaving its record as it is (a restart's log entry, or a result that changed
   * nothing persisted, need not rewrite the record and its pieces).
   * @throws SectorUnknownError (no record), and as {@link save} for the log and the calls
   */
  note(miner: number, number: number, options: SaveOptions): void {
    const entries = (options.log ?? []).map(checkLogEntry);
    const applied = options.applied ?? [];
    if (!Array.isArray(applied) || !applied.every((id) => typeof id === 'string')) {
      throw new InvalidArgumentError('note: applied must be an array of call ids');
    }
    if (applied.length > 0 && !this.#calls) throw new InternalError('this sector store has no call store to mark applied calls in');
    const now = this.#now();
    inTransaction(this.#db, () => {
      if (entries.length > 0) {
        if (this.#s.touchLog.run(now, miner, number).changes !== 1) throw new SectorUnknownError(`sector ${number} of miner ${miner} has no record`);
        for (const e of entries) this.#s.appendLog.run(null, miner, number, e.kind, e.message, e.trace ?? null, now);
        this.#truncateLog(miner, number, now);
      }
      if (applied.length > 0) this.#calls!.markReturned(applied);
    });
  }

  /**
   * The record of one sector, or undefined.
   * @throws SectorRecordInvalidError when its record cannot be decoded
   */
  get(miner: number, number: number): SectorRecord | undefined {
    const row = this.#s.get.get(miner, number);
    if (!row) return undefined;
    const r = decodeRow(row, this.#s.piecesOf.all(miner, number));
    if ('reason' in r) throw new SectorRecordInvalidError(`sector record of miner ${miner} sector ${number} is unreadable: ${r.reason}`);
    return r;
  }

  /** Every readable sector record (of one miner when given), by number; see {@link listWithErrors}. */
  list(miner?: number): SectorRecord[] {
    return this.listWithErrors(miner).records;
  }

  /** Every sector (of one miner when given), by number: the readable records, and the others with the reason. */
  listWithErrors(miner?: number): { records: SectorRecord[]; unreadable: UnreadableSector[] } {
    const rows = miner === undefined ? this.#s.listAll.all() : this.#s.listMiner.all(miner);
    const pieceRows = miner === undefined ? this.#s.allPieces.all() : this.#s.piecesOfMiner.all(miner);
    const byKey = new Map<string, PieceRow[]>();
    for (const p of pieceRows) {
      const key = `${p.miner}/${p.number}`;
      const list = byKey.get(key);
      if (list) list.push(p);
      else byKey.set(key, [p]);
    }
    return split(rows.map((r) => decodeRow(r, byKey.get(`${r.miner}/${r.number}`) ?? [])));
  }

  /**
   * The readable records of `miner` in one of `states` (`sectors list --states`), by number.
   * @throws InvalidArgumentError for a name that is not a sector state
   */
  listInStates(miner: number, states: readonly SectorStateName[]): SectorRecord[] {
    if (!Array.isArray(states)) throw new InvalidArgumentError('listInStates: states must be an array of state names');
    const unknown = states.filter((s) => !isSectorState(s));
    if (unknown.length > 0) throw new InvalidArgumentError(`not a sector state: ${unknown.map((s) => JSON.stringify(s)).join(', ')}`);
    const rows = this.#s.listInStates.all(miner, JSON.stringify(states));
    return split(rows.map((r) => decodeRow(r, this.#s.piecesOf.all(r.miner, r.number)))).records;
  }

  /** How many sectors of `miner` are in each state (Lotus's SectorsSummary), from the rows' state column. */
  summary(miner: number): Record<string, number> {
    const out: Record<string, number> = {};
    for (const { state, n } of this.#s.summary.all(miner)) out[state] = n;
    return out;
  }

  /**
   * A sector's log, oldest first: every entry, or the last `limit`.
   * @throws InvalidArgumentError for a bad limit
   */
  log(miner: number, number: number, options: { limit?: number } = {}): SectorLogEntry[] {
    const { limit } = options;
    if (limit !== undefined && !(Number.isSafeInteger(limit) && limit >= 0)) {
      throw new InvalidArgumentError(`log limit must be a non-negative integer, got ${limit}`);
    }
    const rows = limit === undefined ? this.#s.log.all(miner, number) : this.#s.logTail.all(miner, number, limit);
    return rows.map((r) => {
      const e: SectorLogEntry = { kind: r.kind, message: r.message, timestamp: r.timestamp };
      if (r.trace !== null) e.trace = r.trace;
      return e;
    });
  }

  /**
   * For every sector of `miner` with a log: when its first entry was appended, and when its first
   * entry of `kind` was (absent when it has none). One query for all sectors, so `sectors list`
   * can show seal times without reading every log.
   */
  logMarks(miner: number, kind: string): LogMarks[] {
    if (typeof kind !== 'string' || kind === '') throw new InvalidArgumentError('logMarks: kind must be a non-empty string');
    return this.#s.logMarks.all(kind, miner).map((r) => (r.marked === null ? { number: r.number, first: r.first } : { number: r.number, first: r.first, marked: r.marked }));
  }

  /** The number a new sector of `miner` gets: one past the highest recorded, readable or not (0 for the first). */
  nextNumber(miner: number): number {
    const n = this.#s.maxNumber.get(miner)?.n;
    return n === null || n === undefined ? 0 : n + 1;
  }

  /** Every sector holding a piece with this CID (v1 or v2). */
  findPiece(pieceCid: string): PieceLocation[] {
    return this.#s.byCid.all(pieceCid, pieceCid).map((r) => ({ miner: r.miner, number: r.number, piece: decodePiece(r) }));
  }

  /**
   * Lotus's truncation (`extern/storage-sealing/fsm.go`): past 8000 entries, entries 2000–5999 give
   * way to one `truncate` entry, which takes the id of the first entry it replaces so it sits where
   * they were. (Lotus writes its marker into the slice it then cuts, so there it is lost.)
   */
  #truncateLog(miner: number, number: number, now: number): void {
    let n = this.#s.logCount.get(miner, number)?.n ?? 0;
    while (n > LOG_MAX_ENTRIES) {
      const from = this.#s.logIdAt.get(miner, number, LOG_CUT_FROM)!.id;
      const to = this.#s.logIdAt.get(miner, number, LOG_CUT_TO - 1)!.id;
      this.#s.deleteLog.run(miner, number, from, to);
      this.#s.appendLog.run(from, miner, number, 'truncate', `truncating log (above ${LOG_MAX_ENTRIES} entries)`, null, now);
      n -= LOG_CUT_TO - LOG_CUT_FROM - 1;
    }
  }
}

function checkLogEntry(e: SectorLogInput, i: number): SectorLogInput {
  if (typeof e !== 'object' || e === null) throw new InvalidArgumentError(`log entry ${i} must be an object`);
  if (typeof e.kind !== 'string' || e.kind === '') throw new InvalidArgumentError(`log entry ${i}: kind must be a non-empty string`);
  if (typeof e.message !== 'string') throw new InvalidArgumentError(`log entry ${i}: message must be a string`);
  if (e.trace !== undefined && typeof e.trace !== 'string') throw new InvalidArgumentError(`log entry ${i}: trace must be a string`);
  // Lotus keeps the first 8000 characters of a message and says so
  const message = e.message.length > LOG_MESSAGE_MAX ? `${e.message.slice(0, LOG_MESSAGE_MAX)}... truncated` : e.message;
  return e.trace === undefined ? { kind: e.kind, message } : { kind: e.kind, message, trace: e.trace };
}

/** Whether a sector's stored piece rows (in `idx` order) are `pieces`, column for column. */
function samePieces(rows: readonly PieceRow[], pieces: readonly PieceRecord[]): boolean {
  if (rows.length !== pieces.length) return false;
  return rows.every((r, i) => {
    const p = pieces[i]!;
    return (
      r.idx === i &&
      r.piece_cid === p.pieceCid &&
      r.piece_cid_v2 === (p.pieceCidV2 ?? null) &&
      r.padded_size === p.paddedSize &&
      r.padded_offset === p.paddedOffset &&
      r.payload_size === p.payloadSize &&
      r.is_filler === (p.filler ? 1 : 0)
    );
  });
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
 * Decodes a stored row (any record version this program reads, as version 2), or says why it
 * cannot: never half-loaded (a newer program, or a damaged file, may have written it).
 */
function decodeRow(row: SectorRow, pieceRows: PieceRow[]): SectorRecord | UnreadableSector {
  const unreadable = (reason: string): UnreadableSector => ({ miner: row.miner, number: row.number, state: row.state, reason });
  let raw: unknown;
  try {
    raw = JSON.parse(row.record);
  } catch {
    return unreadable('its JSON does not parse');
  }
  try {
    const withPieces = typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? { ...raw, pieces: pieceRows.map(decodePiece) } : raw;
    const d = decodeRecordJson(withPieces);
    if (d.miner !== row.miner || d.number !== row.number) return unreadable(`it names miner ${d.miner} sector ${d.number}`);
    if (d.state !== row.state) return unreadable(`its state ${d.state} differs from the row's ${row.state}`);
    return { ...d, lastLogAt: row.last_log_at ?? row.updated_at, updatedAt: row.updated_at };
  } catch (err) {
    return unreadable((err as Error).message);
  }
}

function split(decoded: (SectorRecord | UnreadableSector)[]): { records: SectorRecord[]; unreadable: UnreadableSector[] } {
  const records: SectorRecord[] = [];
  const unreadable: UnreadableSector[] = [];
  for (const r of decoded) {
    if ('reason' in r) unreadable.push(r);
    else records.push(r);
  }
  return { records, unreadable };
}
