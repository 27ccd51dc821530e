/**
 * The durable call store of a worker process (Lotus `extern/sector-storage/worker_calltracker.go`),
 * in the worker's own database (src/db/migrations.ts `workerMigrations`), plus the worker's
 * identity: its persistent id and the session of its last start.
 *
 * A call is recorded `running` when the manager hands it over (before its CallID is answered), its
 * result — success or failure — is recorded `done` the moment the task ends, and the row is
 * deleted once the manager has acknowledged the result (its `Return*` answered after the result was
 * durable on its side). So a result finished while the manager was down, or while the connection
 * was broken, is delivered when the manager is back. Lotus records the result only when the task
 * *failed* (its condition is inverted), so a success finished while the miner was away was lost and
 * the work redone.
 *
 * A `running` row of an earlier session is a task whose thread died with that process: it is
 * dropped at start (the manager hears the call is gone and queues it again).
 */
import { randomUUID } from 'node:crypto';
import { CallStateInvalidError, CallUnknownError, InternalError, InvalidArgumentError } from '../errors.js';
import { type CallReturn, isCallReturn } from '../tasks/calls.js';
import { isTaskType, type Task } from '../tasks/task-types.js';
import type { Db } from './database.js';

/** One call the worker holds. Times are unix ms. */
export interface WorkerCall {
  callId: string;
  task: Task;
  state: 'running' | 'done';
  /** The worker process (session) that accepted it. */
  session: string;
  /** Set once done. */
  ret?: CallReturn;
  createdAt: number;
  finishedAt?: number;
}

interface Row {
  call_id: string;
  task: string;
  input: string;
  state: string;
  session: string;
  result: string | null;
  created_at: number;
  finished_at: number | null;
}

const CALL_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export class WorkerCallStore {
  readonly #now: () => number;
  readonly #s;

  constructor(db: Db, options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
    this.#s = {
      meta: db.prepare<[string], { value: string }>('SELECT value FROM worker_meta WHERE key = ?'),
      setMeta: db.prepare<[string, string]>('INSERT INTO worker_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
      insert: db.prepare<[string, string, number, number, string, string, number]>(
        `INSERT INTO worker_calls (call_id, task, miner, number, input, state, session, created_at) VALUES (?, ?, ?, ?, ?, 'running', ?, ?)`,
      ),
      get: db.prepare<[string], Row>('SELECT * FROM worker_calls WHERE call_id = ?'),
      finish: db.prepare<[string, number, string]>(`UPDATE worker_calls SET state = 'done', result = ?, finished_at = ? WHERE call_id = ? AND state = 'running'`),
      remove: db.prepare<[string]>('DELETE FROM worker_calls WHERE call_id = ?'),
      all: db.prepare<[], Row>('SELECT * FROM worker_calls ORDER BY created_at, call_id'),
      staleRunning: db.prepare<[string], Row>(`SELECT * FROM worker_calls WHERE state = 'running' AND session <> ? ORDER BY created_at`),
      dropStale: db.prepare<[string]>(`DELETE FROM worker_calls WHERE state = 'running' AND session <> ?`),
    };
    this.#db = db;
  }

  readonly #db: Db;

  /** The worker's persistent id, made on first use: the scheduler knows the worker by it across restarts. */
  workerId(): string {
    const found = this.#s.meta.get('worker_id')?.value;
    if (found) return found;
    const id = randomUUID();
    this.#s.setMeta.run('worker_id', id);
    return id;
  }

  /** Records the session of this start; returns the previous start's, if any. */
  beginSession(session: string): string | undefined {
    if (typeof session !== 'string' || session === '') throw new InvalidArgumentError('a session id must be a non-empty string');
    return this.#db.transaction(() => {
      const previous = this.#s.meta.get('session')?.value;
      this.#s.setMeta.run('session', session);
      return previous;
    })();
  }

  /**
   * Drops the `running` calls of other sessions: their threads died with the process that ran
   * them. Returns them (for the log).
   */
  dropInterrupted(session: string): WorkerCall[] {
    return this.#db.transaction(() => {
      const rows = this.#s.staleRunning.all(session).map(decode);
      this.#s.dropStale.run(session);
      return rows;
    })();
  }

  /**
   * Records a call the manager hands over, `running` in `session`. A call id already held is
   * refused (CALL_STATE_INVALID): the caller answers with the call it holds instead.
   */
  start(callId: string, task: Task, session: string): WorkerCall {
    if (typeof callId !== 'string' || !CALL_ID.test(callId)) throw new InvalidArgumentError(`call id ${JSON.stringify(callId)} is not a lowercase uuid`);
    if (typeof task !== 'object' || task === null || !isTaskType(task.type)) {
      throw new InvalidArgumentError(`call ${callId}: the task has an unknown type ${JSON.stringify((task as { type?: unknown } | null)?.type)}`);
    }
    const existing = this.get(callId);
    if (existing) throw new CallStateInvalidError(`call ${callId} is held already (it is ${existing.state})`);
    this.#s.insert.run(callId, task.type, task.sector.miner, task.sector.number, JSON.stringify(task), session, this.#now());
    return this.get(callId)!;
  }

  /** The task ended: `running → done` with its result, success or failure. */
  finish(callId: string, ret: CallReturn): WorkerCall {
    const text = JSON.stringify(ret);
    if (!isCallReturn(JSON.parse(text))) throw new InvalidArgumentError(`call ${callId}: a result must be {ok: true, result} or {ok: false, error: {code, message}}`);
    if (this.#s.finish.run(text, this.#now(), callId).changes !== 1) {
      const r = this.get(callId);
      if (!r) throw new CallUnknownError(`call ${callId} is not held by this worker`);
      throw new CallStateInvalidError(`call ${callId} is ${r.state} already`);
    }
    return this.get(callId)!;
  }

  /** The manager has the result (or refused it for good): the row goes. */
  remove(callId: string): boolean {
    return this.#s.remove.run(callId).changes === 1;
  }

  get(callId: string): WorkerCall | undefined {
    const row = this.#s.get.get(callId);
    return row ? decode(row) : undefined;
  }

  /** Every call held, oldest first. */
  list(): WorkerCall[] {
    return this.#s.all.all().map(decode);
  }
}

function decode(row: Row): WorkerCall {
  const where = `worker call ${row.call_id}`;
  if (row.state !== 'running' && row.state !== 'done') throw new InternalError(`${where} has an unknown state "${row.state}"`);
  let task: Task;
  let ret: unknown;
  try {
    task = JSON.parse(row.input) as Task;
    ret = row.result === null ? undefined : JSON.parse(row.result);
  } catch (err) {
    throw new InternalError(`${where} holds JSON that does not parse`, { cause: err });
  }
  if (ret !== undefined && !isCallReturn(ret)) throw new InternalError(`${where} has a malformed result`);
  const c: WorkerCall = { callId: row.call_id, task, state: row.state, session: row.session, createdAt: row.created_at };
  if (ret !== undefined) c.ret = ret;
  if (row.finished_at !== null) c.finishedAt = row.finished_at;
  return c;
}
