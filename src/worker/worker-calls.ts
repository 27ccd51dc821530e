/**
 * The calls a worker process runs for its manager (Lotus `worker_local.go` `asyncCall` and
 * `worker_calltracker.go`): each call the manager hands over is recorded in the worker's call
 * store before it is acknowledged, runs in the background on the worker's own LocalWorker, has its
 * result recorded the moment it ends (success or failure), and is delivered to the manager —
 * again after every reconnect — until the manager acknowledges it; only then is the record
 * deleted.
 *
 *   manager ──SealPreCommit2(callId, task)──▶ accept: record `running` ─▶ CallID at once
 *   task ends ──▶ record `done` + result ──▶ deliver (Return*) ──acknowledged──▶ record deleted
 *                                                  └─ not answered (manager away): again on the
 *                                                     next connection, or after `retryMs`
 *
 * A delivery the manager refuses for good (it knows no such call, or has its result already)
 * also deletes the record: re-sending it could never succeed. A call handed over twice (the
 * manager re-sent it after a broken connection) is the same call: the second hand-over answers
 * with it and starts nothing.
 *
 * Stopping the worker is not an abort: tasks are cancelled, but what they end with is not
 * recorded, so the calls stay `running` and are dropped at the next start (the manager queues
 * them again), rather than failing their sectors as ABORTED.
 */
import { AbortedError, type WireError, toWireError } from '../errors.js';
import type { WorkerCall, WorkerCallStore } from '../db/worker-call-store.js';
import type { CallReturn } from '../tasks/calls.js';
import type { Task, TaskResult } from '../tasks/task-types.js';
import type { TaskProgress } from '../lifecycle/task-context.js';
import { type SectorId, sectorName } from '../sector/sector-id.js';
import { crashPoint, workerCallCrashPoint } from '../lifecycle/crash-points.js';
import { type Logger, silentLogger } from '../log/logger.js';

/** A body's options: the call's cancellation and its progress sink. */
export interface BodyOptions {
  signal: AbortSignal;
  onProgress?: (p: TaskProgress) => void;
}

/** Sends a call's progress to the manager (best effort: a report lost is replaced by the next). */
export type ReportProgress = (callId: string, sector: SectorId, p: TaskProgress) => void;

/** A call's progress goes to the manager at most this often. */
const PROGRESS_EVERY_MS = 500;

/** What runs a task (the worker's LocalWorker). */
export interface TaskBody {
  /** The task's prepare step (fetching its inputs); absent: nothing to prepare. */
  prepare?(task: Task, options: BodyOptions): Promise<void>;
  run(task: Task, options: BodyOptions): Promise<TaskResult>;
}

/**
 * Hands one result to the manager; resolves once the manager acknowledged it (it is durable
 * there). Rejects with an error of code CALL_UNKNOWN or
 * CALL_STATE_INVALID when the manager refuses it for good, with anything else when it could not
 * be delivered now.
 */
export type DeliverResult = (call: WorkerCall & { ret: CallReturn }) => Promise<void>;

/** Codes with which a manager refuses a result for good. */
const FINAL_REFUSALS: ReadonlySet<WireError['code']> = new Set(['CALL_UNKNOWN', 'CALL_STATE_INVALID']);

export interface WorkerCallsOptions {
  store: WorkerCallStore;
  body: TaskBody;
  /** This process's session id (recorded with each call). */
  session: string;
  /** Delay before a failed delivery is tried again on the same connection (Lotus: 5 s). @default 5000 */
  retryMs?: number;
  log?: Logger;
}

/** How {@link WorkerCalls.accept} answered. */
export type Accepted = { held: false } | { held: true; state: WorkerCall['state'] };

export class WorkerCalls {
  readonly #store: WorkerCallStore;
  readonly #body: TaskBody;
  readonly #session: string;
  readonly #retryMs: number;
  readonly #log: Logger;
  /** Each prepare step running in this process, by call id: its cancellation and its outcome. */
  readonly #preparing = new Map<string, { abort: AbortController; done: Promise<void> }>();
  /** Cancellation of each call running in this process. */
  readonly #running = new Map<string, AbortController>();
  /** Runs in flight, so `close()` can wait for the threads. */
  readonly #inflight = new Set<Promise<unknown>>();
  /** Calls whose delivery is in flight on the current sink. */
  readonly #delivering = new Set<string>();
  readonly #retries = new Set<NodeJS.Timeout>();
  #sink: DeliverResult | undefined;
  #report: ReportProgress | undefined;
  #closed = false;
  #idle: (() => void)[] = [];

  constructor(options: WorkerCallsOptions) {
    this.#store = options.store;
    this.#body = options.body;
    this.#session = options.session;
    this.#retryMs = options.retryMs ?? 5_000;
    this.#log = options.log ?? silentLogger();
  }

  /**
   * Takes a call over from the manager: recorded, then run in the background. A call held already
   * (handed over again after a broken connection) is answered with its state and not run again.
   * `onEnd` runs once the task ended (before its result is recorded).
   */
  accept(callId: string, task: Task, onEnd?: () => void): Accepted {
    if (this.#closed) throw new AbortedError('the worker is stopping');
    const held = this.#store.get(callId);
    if (held) {
      onEnd?.();
      return { held: true, state: held.state };
    }
    this.#store.start(callId, task, this.#session);
    crashPoint(workerCallCrashPoint('accepted', task.type));
    this.#log.info(`call ${callId} (${task.type} of ${sectorName(task.sector)}) accepted`);
    const abort = new AbortController();
    this.#running.set(callId, abort);
    const run = this.#body.run(task, { signal: abort.signal, onProgress: this.#progressOf(callId, task.sector) }).then(
      (result): CallReturn => ({ ok: true, result }),
      (err: unknown): CallReturn => ({ ok: false, error: toWireError(err) }),
    );
    const settled = run.then((ret) => {
      this.#running.delete(callId);
      onEnd?.();
      if (this.#closed) return; // shutdown is not an abort: the call stays `running` (see the header)
      const done = this.#store.finish(callId, ret);
      crashPoint(workerCallCrashPoint('done', task.type));
      this.#log[ret.ok ? 'info' : 'warn'](`call ${callId} (${task.type} of ${sectorName(task.sector)}) ${ret.ok ? 'done' : `failed: ${ret.error.code}: ${ret.error.message}`}`);
      this.#deliver(done);
    });
    this.#inflight.add(settled);
    settled
      .catch((err: unknown) => this.#log.warn(`call ${callId}: recording its result failed: ${(err as Error).message}`))
      .finally(() => {
        this.#inflight.delete(settled);
        if (this.#running.size === 0) for (const wake of this.#idle.splice(0)) wake();
      });
    return { held: false };
  }

  /**
   * A call's prepare step (the manager's `Fetch`, Lotus's prepare in `sched_worker.go`): its inputs
   * are fetched before the manager hands the call over. Nothing is recorded: a prepare step that
   * did not finish is simply run again (a fetch resumes from what it kept). A call this worker
   * holds already runs or ran here: nothing to prepare. A call whose prepare step still runs here
   * (the manager asks again: it restarted, or its connection dropped, and the step it asked for
   * before is still stopping or finishing) waits for that step to end, then runs its own, which
   * finds what the first one fetched.
   */
  async prepare(callId: string, task: Task, signal: AbortSignal): Promise<void> {
    for (let running = this.#preparing.get(callId); running; running = this.#preparing.get(callId)) {
      await settledOrAborted(running.done, signal, () => new AbortedError(`the prepare step of call ${callId} aborted by the manager`));
    }
    if (this.#closed) throw new AbortedError('the worker is stopping');
    const prepare = this.#body.prepare;
    if (!prepare || this.#store.get(callId)) return;
    const abort = new AbortController();
    const done = this.#prepareOnce(prepare.bind(this.#body), callId, task, abort, signal);
    this.#preparing.set(callId, { abort, done });
    try {
      await done;
    } finally {
      this.#preparing.delete(callId);
    }
  }

  async #prepareOnce(prepare: NonNullable<TaskBody['prepare']>, callId: string, task: Task, abort: AbortController, signal: AbortSignal): Promise<void> {
    try {
      await prepare(task, { signal: AbortSignal.any([abort.signal, signal]), onProgress: this.#progressOf(callId, task.sector) });
    } catch (err) {
      // the call never reaches `accepted` here: without this line a stopped fetch leaves no trace in the worker's log
      const what = `the prepare step of call ${callId} (${task.type} of ${sectorName(task.sector)})`;
      if (abort.signal.aborted) this.#log.info(`${what} stopped: aborted by the manager`);
      else if (!signal.aborted) this.#log.warn(`${what} failed: ${toWireError(err).code}: ${(err as Error).message}`);
      throw err;
    }
  }

  /** Stops a running call (or its prepare step); its result (ABORTED) is delivered as any other. False when it is not running here. */
  abort(callId: string): boolean {
    const preparing = this.#preparing.get(callId);
    if (preparing) {
      preparing.abort.abort(new AbortedError(`the prepare step of call ${callId} aborted by the manager`));
      return true;
    }
    const c = this.#running.get(callId);
    if (!c) return false;
    c.abort(new AbortedError(`call ${callId} aborted by the manager`));
    return true;
  }

  /** The calls this worker holds: running in this process, and done but not yet acknowledged. */
  held(): { running: string[]; done: string[] } {
    const running: string[] = [];
    const done: string[] = [];
    for (const c of this.#store.list()) {
      if (c.state === 'done') done.push(c.callId);
      else if (this.#running.has(c.callId)) running.push(c.callId);
    }
    return { running, done };
  }

  /** Number of calls running in this process. */
  get runningCount(): number {
    return this.#running.size;
  }

  /** Resolves when no call is running in this process (Lotus `WaitQuiet`). */
  waitQuiet(): Promise<void> {
    if (this.#running.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /**
   * A connection to the manager is up: every result not yet acknowledged is delivered through it,
   * and running calls' progress is reported through `report`.
   */
  connect(sink: DeliverResult, report?: ReportProgress): void {
    this.#sink = sink;
    this.#report = report;
    this.#delivering.clear();
    for (const c of this.#store.list()) if (c.state === 'done') this.#deliver(c);
  }

  /** The connection is gone: results wait for the next one. */
  disconnect(): void {
    this.#sink = undefined;
    this.#report = undefined;
    this.#delivering.clear();
  }

  /** Cancels the running tasks without recording their ends, and waits for their threads. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#sink = undefined;
    for (const t of this.#retries) clearTimeout(t);
    this.#retries.clear();
    const stopping = new AbortedError('the worker is stopping');
    for (const p of this.#preparing.values()) p.abort.abort(stopping);
    for (const c of this.#running.values()) c.abort(stopping);
    await Promise.allSettled([...this.#inflight]);
  }

  /** A call's progress sink: reports reach the manager's connection at most every {@link PROGRESS_EVERY_MS}. */
  #progressOf(callId: string, sector: SectorId): (p: TaskProgress) => void {
    let last = 0;
    return (p) => {
      const now = Date.now();
      if (now - last < PROGRESS_EVERY_MS || !this.#report) return;
      last = now;
      this.#report(callId, sector, p);
    };
  }

  #deliver(call: WorkerCall): void {
    const sink = this.#sink;
    if (!sink || !call.ret || this.#delivering.has(call.callId)) return;
    this.#delivering.add(call.callId);
    sink({ ...call, ret: call.ret }).then(
      () => {
        crashPoint(workerCallCrashPoint('acked', call.task.type));
        this.#store.remove(call.callId);
        if (this.#sink === sink) this.#delivering.delete(call.callId);
      },
      (err: unknown) => {
        if (this.#sink === sink) this.#delivering.delete(call.callId);
        const wire = toWireError(err);
        if (FINAL_REFUSALS.has(wire.code)) {
          this.#store.remove(call.callId);
          this.#log.warn(`the manager refused the result of call ${call.callId} (${call.task.type} of ${sectorName(call.task.sector)}) for good: ${wire.message}; dropped`);
          return;
        }
        if (this.#sink !== sink || this.#closed) return; // the next connection delivers it
        this.#log.warn(`delivering the result of call ${call.callId} failed (${wire.message}); trying again in ${this.#retryMs} ms`);
        const timer = setTimeout(() => {
          this.#retries.delete(timer);
          const again = this.#store.get(call.callId);
          if (again && this.#sink === sink) this.#deliver(again);
        }, this.#retryMs);
        timer.unref();
        this.#retries.add(timer);
      },
    );
  }
}

/** Resolves once `step` has settled, whatever its outcome; rejects with `aborted()` if `signal` aborts first. */
function settledOrAborted(step: Promise<unknown>, signal: AbortSignal, aborted: () => Error): Promise<void> {
  if (signal.aborted) return Promise.reject(aborted());
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(aborted());
    signal.addEventListener('abort', onAbort, { once: true });
    const settled = () => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    };
    step.then(settled, settled);
  });
}
