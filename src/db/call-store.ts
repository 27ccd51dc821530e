/**
 * The call tracker's records (docs/design/sealing-daemon.md §4): one row per call, never deleted,
 * moved through `started → running → done → returned` by the scheduler and, for `returned`, by
 * the sector record that applies the result (in the same transaction, see SectorStore.save).
 *
 * Every method is synchronous over prepared statements and checks the transition it makes, so a
 * second result for a call ("already reported" in Lotus) or a result for a call that does not
 * exist is refused by name instead of overwriting what is durable. The SQL is what SQLite and
 * PostgreSQL both accept.
 */
import { CallStateInvalidError, CallUnknownError, InternalError, InvalidArgumentError } from '../errors.js';
import { type CallOutcome, type CallRecord, type CallReturn, type CallState, isCallReturn } from '../tasks/calls.js';
import { isTaskType, type Task } from '../tasks/task-types.js';
import { type Db, inTransaction } from './database.js';

interface CallRow {
  call_id: string;
  work_id: string;
  miner: number;
  number: number;
  task: string;
  state: string;
  priority: number;
  input: string;
  worker: string | null;
  hostname: string | null;
  batch: string | null;
  attempts: number;
  outcome: string | null;
  result: string | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  returned_at: number | null;
}

/** Filter of {@link CallStore.list}. */
export interface CallFilter {
  miner?: number;
  number?: number;
  states?: readonly CallState[];
  /** At most this many, newest first. @default every match */
  limit?: number;
}

const STATES: readonly CallState[] = ['started', 'running', 'done', 'returned'];
const OUTCOMES: readonly CallOutcome[] = ['ok', 'failed', 'aborted', 'interrupted'];
/** Call ids are uuids (lowercase, as randomUUID makes them), so a prefix of one names one call. */
const CALL_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The calls table. */
export class CallStore {
  readonly #db: Db;
  readonly #now: () => number;
  readonly #s;

  /** `now` stamps the times (unix ms). @default Date.now */
  constructor(db: Db, options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
    this.#s = {
      insert: db.prepare<[string, string, number, number, string, number, string, number], CallRow>(
        `INSERT INTO calls (call_id, work_id, miner, number, task, state, priority, input, attempts, created_at)
         VALUES (?, ?, ?, ?, ?, 'started', ?, ?, 0, ?) RETURNING *`,
      ),
      get: db.prepare<[string], CallRow>('SELECT * FROM calls WHERE call_id = ?'),
      stateOf: db.prepare<[string], { state: string }>('SELECT state FROM calls WHERE call_id = ?'),
      taskOf: db.prepare<[string], { task: string }>('SELECT task FROM calls WHERE call_id = ?'),
      run: db.prepare<[string, string | null, string | null, number, string], CallRow>(
        `UPDATE calls SET state = 'running', worker = ?, hostname = ?, batch = ?, attempts = attempts + 1, started_at = ?
         WHERE call_id = ? AND state = 'started' RETURNING *`,
      ),
      finish: db.prepare<[string, string, number, string], CallRow>(
        `UPDATE calls SET state = 'done', outcome = ?, result = ?, finished_at = ?
         WHERE call_id = ? AND state IN ('started', 'running') RETURNING *`,
      ),
      requeue: db.prepare<[string], CallRow>(`UPDATE calls SET state = 'started' WHERE call_id = ? AND state = 'running' RETURNING *`),
      returned: db.prepare<[number, string]>(`UPDATE calls SET state = 'returned', returned_at = ? WHERE call_id = ? AND state = 'done'`),
      close: db.prepare<[string, number, number, string]>(
        `UPDATE calls SET state = 'returned', outcome = CASE WHEN outcome IN ('failed', 'aborted') THEN outcome ELSE ? END,
           finished_at = COALESCE(finished_at, ?), returned_at = ?
         WHERE call_id = ? AND state <> 'returned'`,
      ),
      open: db.prepare<[], CallRow>(`SELECT * FROM calls WHERE state <> 'returned' ORDER BY created_at, call_id`),
      openForWork: db.prepare<[string], CallRow>(
        `SELECT * FROM calls WHERE work_id = ? AND state <> 'returned' ORDER BY created_at DESC, call_id LIMIT 1`,
      ),
      openIdForWork: db.prepare<[string], { call_id: string; state: string }>(
        `SELECT call_id, state FROM calls WHERE work_id = ? AND state <> 'returned' ORDER BY created_at DESC, call_id LIMIT 1`,
      ),
      byPrefix: db.prepare<[string], CallRow>(`SELECT * FROM calls WHERE call_id LIKE ? ORDER BY created_at LIMIT 2`),
    };
    this.#db = db;
  }

  /**
   * Records a new call in `started`. A WorkID has at most one open call (docs/design/sealing-daemon.md
   * §4): while one is open, the same work is that call, so a second start is refused.
   * @throws InvalidArgumentError (malformed call), CallStateInvalidError (the call id exists, or the work has an open call)
   */
  start(call: { callId: string; workId: string; task: Task }): CallRecord {
    const { callId, workId, task } = checkStart(call);
    // the checks read only what they report, and each write returns its row (RETURNING): a call
    // moves through its states on the hot path of every task, so it is not read back whole
    const existing = this.#s.stateOf.get(callId);
    if (existing) throw new CallStateInvalidError(`call ${callId} already exists (it is ${existing.state}); call ids are never reused`);
    const open = this.#s.openIdForWork.get(workId);
    if (open) throw new CallStateInvalidError(`work ${workId} already has an open call ${open.call_id} (it is ${open.state})`);
    return decode(this.#s.insert.get(callId, workId, task.sector.miner, task.sector.number, task.type, task.priority, JSON.stringify(task), this.#now())!);
  }

  /**
   * A call was handed to a worker: `started → running`. `batch` names the PC1 batch it runs in
   * (docs/design/scheduler.md §8); a run alone clears the batch of an earlier attempt.
   */
  run(callId: string, worker: string, hostname?: string, batch?: string): CallRecord {
    if (typeof worker !== 'string' || worker === '') throw new InvalidArgumentError(`call ${callId}: the worker id must be a non-empty string`);
    if (hostname !== undefined && typeof hostname !== 'string') throw new InvalidArgumentError(`call ${callId}: hostname must be a string`);
    if (batch !== undefined && (typeof batch !== 'string' || batch === '')) throw new InvalidArgumentError(`call ${callId}: batch must be a non-empty string`);
    return this.#changed(this.#s.run.get(worker, hostname ?? null, batch ?? null, this.#now(), callId), callId, 'run', ['started']);
  }

  /**
   * The call's result arrived: `started|running → done`. A second result for the same call is
   * refused (CALL_STATE_INVALID), so the first stays the one that counts.
   */
  finish(callId: string, ret: CallReturn, outcome: Exclude<CallOutcome, 'interrupted'> = ret?.ok ? 'ok' : 'failed'): CallRecord {
    // checked before it is written: a result that could not be read back would make every later
    // open() fail, and the scheduler could not start
    const text = checkReturn(ret, `call ${callId}`);
    if (outcome !== 'ok' && outcome !== 'failed' && outcome !== 'aborted') {
      throw new InvalidArgumentError(`call ${callId}: outcome must be ok, failed or aborted, got ${JSON.stringify(outcome)}`);
    }
    if ((outcome === 'ok') !== ret.ok) throw new InvalidArgumentError(`call ${callId}: outcome ${outcome} does not match a result with ok: ${ret.ok}`);
    const call = this.#s.taskOf.get(callId);
    if (!call) throw new CallUnknownError(`call ${callId} does not exist`);
    if (ret.ok && ret.result.type !== call.task) {
      throw new InvalidArgumentError(`call ${callId} is a ${call.task} call; it cannot take a ${ret.result.type} result`);
    }
    return this.#changed(this.#s.finish.get(outcome, text, this.#now(), callId), callId, 'finish', ['started', 'running']);
  }

  /** A running call whose thread died with the process goes back to the queue: `running → started`. */
  requeue(callId: string): CallRecord {
    return this.#changed(this.#s.requeue.get(callId), callId, 'requeue', ['running']);
  }

  /**
   * The sector applied these calls' results: `done → returned`. Called by the sector store in the
   * transaction that saves the record holding them; a call that is not `done` is refused, which
   * rolls that save back.
   */
  markReturned(callIds: readonly string[]): void {
    if (!Array.isArray(callIds) || !callIds.every((id) => typeof id === 'string')) {
      throw new InvalidArgumentError('markReturned takes an array of call ids');
    }
    const at = this.#now();
    // all or none, also when called outside a transaction
    inTransaction(this.#db, () => {
      for (const id of callIds) this.#transition(this.#s.returned.run(at, id).changes, id, 'return', ['done']);
    });
  }

  /**
   * Closes an open call nobody will apply (its sector moved on or is gone): `→ returned`, with the
   * outcome `interrupted`. A call that had failed or was aborted keeps that outcome; one that had
   * succeeded keeps its result but not the outcome `ok`, which `sealing calls` shows only for a
   * result its sector applied (a piece whose sector reset after a crash was never added).
   */
  close(callId: string): CallRecord {
    const at = this.#now();
    this.#transition(this.#s.close.run('interrupted', at, at, callId).changes, callId, 'close', ['started', 'running', 'done']);
    return this.#mustGet(callId);
  }

  /** One call, or undefined. */
  get(callId: string): CallRecord | undefined {
    const row = this.#s.get.get(callId);
    return row ? decode(row) : undefined;
  }

  /** The open call (not `returned`) of a WorkID, if any. */
  openForWork(workId: string): CallRecord | undefined {
    const row = this.#s.openForWork.get(workId);
    return row ? decode(row) : undefined;
  }

  /**
   * The call whose id starts with `prefix` (as `sealing abort` takes it).
   * @throws InvalidArgumentError (not hex digits and dashes), CallUnknownError (no call, or several)
   */
  findByPrefix(prefix: string): CallRecord {
    if (typeof prefix !== 'string' || !/^[0-9a-f-]{1,36}$/i.test(prefix)) {
      throw new InvalidArgumentError(`${JSON.stringify(prefix)} is not a call id or a prefix of one`);
    }
    const rows = this.#s.byPrefix.all(`${prefix.toLowerCase()}%`);
    if (rows.length === 0) throw new CallUnknownError(`no call id starts with "${prefix}"`);
    if (rows.length > 1) throw new CallUnknownError(`more than one call id starts with "${prefix}"; give more of it`);
    return decode(rows[0]!);
  }

  /** Every call that is not `returned`, oldest first. */
  open(): CallRecord[] {
    return this.#s.open.all().map(decode);
  }

  /** Calls matching `filter`, newest first. */
  list(filter: CallFilter = {}): CallRecord[] {
    for (const key of ['miner', 'number', 'limit'] as const) {
      const v = filter[key];
      if (v !== undefined && !(Number.isSafeInteger(v) && v >= 0)) {
        throw new InvalidArgumentError(`call filter ${key} must be a non-negative integer, got ${JSON.stringify(v)}`);
      }
    }
    const unknown = (filter.states ?? []).filter((x) => !(STATES as readonly string[]).includes(x));
    if (unknown.length > 0) throw new InvalidArgumentError(`not a call state: ${unknown.map((x) => JSON.stringify(x)).join(', ')}`);
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (filter.miner !== undefined) {
      where.push('miner = ?');
      args.push(filter.miner);
    }
    if (filter.number !== undefined) {
      where.push('number = ?');
      args.push(filter.number);
    }
    if (filter.states && filter.states.length > 0) {
      where.push(`state IN (${filter.states.map(() => '?').join(', ')})`);
      args.push(...filter.states);
    }
    const sql =
      `SELECT * FROM calls${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, call_id` +
      (filter.limit !== undefined ? ` LIMIT ${filter.limit}` : '');
    return this.#db.prepare<(string | number)[], CallRow>(sql).all(...args).map(decode);
  }

  #mustGet(callId: string): CallRecord {
    const r = this.get(callId);
    if (!r) throw new CallUnknownError(`call ${callId} does not exist`);
    return r;
  }

  /** The row a transition's write returned, decoded; no row: the reason, as {@link #transition}. */
  #changed(row: CallRow | undefined, callId: string, what: string, from: readonly CallState[]): CallRecord {
    if (row) return decode(row);
    this.#transition(0, callId, what, from);
    throw new InternalError(`cannot ${what} call ${callId}`); // #transition threw already
  }

  /** Turns "no row changed" into the reason: unknown call, or a call in another state. */
  #transition(changes: number, callId: string, what: string, from: readonly CallState[]): void {
    if (changes === 1) return;
    const r = this.get(callId);
    if (!r) throw new CallUnknownError(`call ${callId} does not exist`);
    const detail = r.state === 'done' || r.state === 'returned' ? ` (already reported: ${r.outcome ?? 'no outcome'})` : '';
    throw new CallStateInvalidError(`cannot ${what} call ${callId}: it is ${r.state}${detail}, not ${from.join(' or ')}`);
  }
}

function decode(row: CallRow): CallRecord {
  const where = `call ${row.call_id}`;
  if (!isTaskType(row.task)) throw new InternalError(`${where} has an unknown task type "${row.task}"`);
  if (!(STATES as readonly string[]).includes(row.state)) throw new InternalError(`${where} has an unknown state "${row.state}"`);
  let input: Task;
  try {
    input = JSON.parse(row.input) as Task;
  } catch (err) {
    throw new InternalError(`${where} has an input that is not JSON`, { cause: err });
  }
  const r: CallRecord = {
    callId: row.call_id,
    workId: row.work_id,
    sector: { miner: row.miner, number: row.number },
    task: row.task,
    state: row.state as CallState,
    priority: row.priority,
    input,
    attempts: row.attempts,
    createdAt: row.created_at,
  };
  if (row.worker !== null) r.worker = row.worker;
  if (row.hostname !== null) r.hostname = row.hostname;
  if (row.batch !== null && row.batch !== undefined) r.batch = row.batch;
  if (row.outcome !== null) {
    if (!(OUTCOMES as readonly string[]).includes(row.outcome)) throw new InternalError(`${where} has an unknown outcome "${row.outcome}"`);
    r.outcome = row.outcome as CallOutcome;
  }
  if (row.result !== null) r.returned = decodeReturn(row.result, where);
  if (row.started_at !== null) r.startedAt = row.started_at;
  if (row.finished_at !== null) r.finishedAt = row.finished_at;
  if (row.returned_at !== null) r.returnedAt = row.returned_at;
  return r;
}

/** The JSON of a result a worker handed back, after checking its shape. */
function checkReturn(ret: CallReturn, where: string): string {
  if (!isCallReturn(ret)) {
    throw new InvalidArgumentError(`${where}: a result must be {ok: true, result: {type, value}} or {ok: false, error: {code, message}}`);
  }
  let text: string;
  try {
    text = JSON.stringify(ret);
  } catch (err) {
    throw new InvalidArgumentError(`${where}: the result is not JSON-serialisable`, { cause: err });
  }
  // what is stored must read back as it was handed in
  if (!isCallReturn(JSON.parse(text))) throw new InvalidArgumentError(`${where}: the result does not survive JSON`);
  return text;
}

/** Checks a call before it is recorded. */
function checkStart(call: { callId: string; workId: string; task: Task }): { callId: string; workId: string; task: Task } {
  const { callId, workId, task } = call ?? ({} as typeof call);
  if (typeof callId !== 'string' || !CALL_ID.test(callId)) throw new InvalidArgumentError(`call id ${JSON.stringify(callId)} is not a lowercase uuid`);
  if (typeof workId !== 'string' || workId === '') throw new InvalidArgumentError(`call ${callId}: the work id must be a non-empty string`);
  const isCount = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  if (typeof task !== 'object' || task === null || !isTaskType(task.type)) {
    throw new InvalidArgumentError(`call ${callId}: the task has an unknown type ${JSON.stringify(task?.type)}`);
  }
  if (!isCount(task.sector?.miner) || !isCount(task.sector?.number)) throw new InvalidArgumentError(`call ${callId}: the task's sector is not {miner, number}`);
  if (!isCount(task.proofType)) throw new InvalidArgumentError(`call ${callId}: the task's proofType is invalid`);
  if (!Number.isSafeInteger(task.priority)) throw new InvalidArgumentError(`call ${callId}: the task's priority must be an integer`);
  if (typeof task.input !== 'object' || task.input === null) throw new InvalidArgumentError(`call ${callId}: the task has no input`);
  return { callId, workId, task };
}

function decodeReturn(text: string, where: string): CallReturn {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new InternalError(`${where} has a result that is not JSON`, { cause: err });
  }
  if (!isCallReturn(v)) throw new InternalError(`${where} has a malformed result`);
  return v;
}
