/**
 * One remote worker as the manager's scheduler runs calls on it (the manager's side of Lotus's
 * `extern/sector-storage/worker_local.go` ↔ `manager_calltracker.go` pair): `run(task)` hands the
 * call to the worker over its connection (`SealPreCommit1(CallID, task)`…) and resolves with the
 * result the worker returns (`ReturnSealPreCommit1`), whenever and over whichever connection of
 * that worker it comes.
 *
 * The worker outlives its connections. While it is away its calls stay pending for a grace
 * period; when it comes back, its hello says which calls it holds (running in the same process,
 * or done and not yet acknowledged — a result finished while it was away is kept):
 *
 *   held by the worker                     → wait for its Return* (nothing is run again)
 *   handed over, and no longer held        → the process that ran it died: WORKER_LOST (the
 *                                            scheduler queues it again; PC1 resumes from its checkpoint)
 *   never handed over (the connection broke first) → handed over now
 *
 * and if it does not come back in time every pending call fails WORKER_LOST.
 *
 * An abort (the run's signal) is passed on as `SealingAbort`; the call then ends with whatever the
 * worker returns (ABORTED once its thread let go). An abort while the worker is away ends the
 * run at once: there is nobody to tell, and once the hub is closing (the manager shuts down, which
 * is not an abort) nothing is told either, so the worker finishes and delivers to the next manager.
 */
import type { RpcPeer } from '../api/rpc-peer.js';
import { callIdJson, TASK_METHODS } from '../api/worker-protocol.js';
import type { WorkerInfo } from '../tasks/worker-info.js';
import { AbortedError, errorFromWire, type SectorStorageError, toWireError, WorkerLostError } from '../errors.js';
import { sectorName } from '../sector/sector-id.js';
import type { TaskProgress } from '../lifecycle/task-context.js';
import type { CallReturn } from '../tasks/calls.js';
import type { Task, TaskResult } from '../tasks/task-types.js';
import type { Logger } from '../log/logger.js';
import { inputFetchesOf } from '../worker/task-inputs.js';

/** A live, welcomed connection of a worker. */
export interface WorkerConnection {
  readonly peer: RpcPeer;
  readonly session: string;
  /** Calls the worker said it holds when it connected, and those it accepted since. */
  readonly held: Set<string>;
}

/** What the hub gives its workers. */
export interface RemoteWorkerHost {
  /** Whether a result is parked for this call. */
  hasParked(callId: string): boolean;
  /** A result parked for this call (it arrived while no run waited for it), taken. */
  takeParked(callId: string): CallReturn | undefined;
  /** The connected worker holding this call, if any. */
  holderOf(callId: string): RemoteWorker | undefined;
  /** This worker waits for the call's result now (or no longer). */
  track(callId: string, worker: RemoteWorker | undefined): void;
  /** True once the manager is shutting down. */
  readonly closing: boolean;
  readonly graceMs: number;
  readonly log: Logger;
}

interface PendingCall {
  callId: string;
  task: Task;
  /** The worker answered the task call: it recorded the call. */
  accepted: boolean;
  /** A task call is in flight. */
  sending: boolean;
  aborting: boolean;
  onProgress: ((p: TaskProgress) => void) | undefined;
  resolve(result: TaskResult): void;
  reject(err: Error): void;
}

/** A step's options (actors/worker-tasks.actor.ts `TaskRunnerOptions`). */
interface RunOptions {
  signal: AbortSignal;
  callId: string;
  onProgress?: (p: TaskProgress) => void;
}

export class RemoteWorker {
  readonly id: string;
  #info: WorkerInfo;
  readonly #host: RemoteWorkerHost;
  #conn: WorkerConnection | undefined;
  readonly #pending = new Map<string, PendingCall>();
  #graceTimer: NodeJS.Timeout | undefined;
  /** Progress sinks of the calls whose prepare step runs on the worker. */
  readonly #preparing = new Map<string, (p: TaskProgress) => void>();

  constructor(info: WorkerInfo, host: RemoteWorkerHost) {
    this.id = info.id;
    this.#info = info;
    this.#host = host;
  }

  get hostname(): string {
    return this.#info.hostname;
  }

  get info(): WorkerInfo {
    return this.#info;
  }

  get connected(): boolean {
    return this.#conn !== undefined;
  }

  /** Calls waiting for a result from this worker. */
  get pendingCalls(): string[] {
    return [...this.#pending.keys()];
  }

  /** True when the worker is connected and holds the call. */
  holds(callId: string): boolean {
    return this.#conn?.held.has(callId) === true;
  }

  /**
   * The call's prepare step on the worker (Lotus `sched_worker.go` `prepare`, its `Fetch`): the
   * worker fetches the task's inputs that only other nodes hold, while the scheduler counts the
   * call in the worker's `preparing` pool. Nothing to do for a call whose result is parked or that
   * a worker holds already. A failure is the prepare step's, named as such, with the fetch's code
   * (FETCH_FAILED, NO_SPACE, FILE_NOT_FOUND…); a connection lost meanwhile is WORKER_LOST (the
   * scheduler queues the call again).
   */
  async prepare(task: Task, options: RunOptions): Promise<void> {
    const { callId, signal } = options;
    // nothing the task reads can be elsewhere (a first AddPiece, C2): no round trip
    if (inputFetchesOf(task).length === 0 || this.#host.hasParked(callId) || this.#host.holderOf(callId)) return;
    const what = `the prepare step of call ${callId} (${task.type} of ${sectorName(task.sector)}) on worker ${this.id}`;
    const conn = this.#conn;
    if (!conn) throw new WorkerLostError(`${what}: the worker is not connected`);
    if (options.onProgress) this.#preparing.set(callId, options.onProgress);
    try {
      await conn.peer.call('Fetch', [callIdJson(task.sector, callId), task], { signal });
    } catch (err) {
      const wire = toWireError(err);
      if (signal.aborted) {
        // stop the fetch there too, unless the manager is only stopping
        if (!this.#host.closing && conn.peer.open) this.#sendAbort({ callId, task }, conn);
        throw new AbortedError(`${what} aborted`);
      }
      if (!conn.peer.open || wire.code === 'DAEMON_UNREACHABLE') throw new WorkerLostError(`${what}: the connection closed`);
      throw errorFromWire({ code: wire.code, message: `${what} failed: ${wire.message}` });
    } finally {
      this.#preparing.delete(callId);
    }
  }

  /** The worker reported a call's progress (its prepare step's or its work's). */
  progress(callId: string, p: TaskProgress): void {
    (this.#preparing.get(callId) ?? this.#pending.get(callId)?.onProgress)?.(p);
  }

  /**
   * Runs a call on the worker; resolves with its result, rejects with the task's typed error, with
   * WORKER_LOST when the worker went away with it, with ABORTED after an abort.
   */
  run(task: Task, options: RunOptions): Promise<TaskResult> {
    const { callId, signal } = options;
    if (signal.aborted) return Promise.reject(new AbortedError(`call ${callId} aborted before it was sent to worker ${this.id}`));
    const parked = this.#host.takeParked(callId);
    if (parked) {
      this.#host.log.info(`call ${callId} (${task.type} of ${sectorName(task.sector)}): its result had arrived already; not run again`);
      return parked.ok ? Promise.resolve(parked.result) : Promise.reject(errorFromWire(parked.error));
    }
    const holder = this.#host.holderOf(callId);
    if (holder && holder !== this) {
      // another worker still runs (or finished) this very call: its result is the call's
      this.#host.log.info(`call ${callId} (${task.type} of ${sectorName(task.sector)}) is held by worker ${holder.id}; waiting for its result there`);
      return holder.run(task, options);
    }
    const existing = this.#pending.get(callId);
    if (existing) return Promise.reject(new AbortedError(`call ${callId} is already running on worker ${this.id}`));
    return new Promise<TaskResult>((resolve, reject) => {
      const p: PendingCall = { callId, task, accepted: false, sending: false, aborting: false, onProgress: options.onProgress, resolve, reject };
      const onAbort = () => this.#abort(p);
      signal.addEventListener('abort', onAbort, { once: true });
      const done = () => signal.removeEventListener('abort', onAbort);
      p.resolve = (r) => {
        done();
        resolve(r);
      };
      p.reject = (e) => {
        done();
        reject(e);
      };
      this.#pending.set(callId, p);
      this.#host.track(callId, this);
      if (!this.#conn) this.#startGrace(); // placed while the worker is away: it has the grace period to come back
      else if (this.#conn.held.has(callId)) p.accepted = true;
      else this.#send(p, this.#conn);
    });
  }

  /**
   * A connection of this worker was welcomed: pending calls are re-attached, failed (WORKER_LOST)
   * or handed over as its hello says (see the header).
   */
  attach(conn: WorkerConnection, info: WorkerInfo): void {
    if (this.#graceTimer) clearTimeout(this.#graceTimer);
    this.#graceTimer = undefined;
    this.#info = info;
    this.#conn = conn;
    for (const p of [...this.#pending.values()]) {
      if (conn.held.has(p.callId)) {
        p.accepted = true;
        if (p.aborting) this.#sendAbort(p, conn);
      } else if (p.accepted) {
        this.#finish(p, { lost: `worker ${this.id} came back (session ${conn.session}) without call ${p.callId} (${p.task.type} of ${sectorName(p.task.sector)}): the process that ran it died` });
      } else if (!p.sending) {
        this.#send(p, conn);
      }
    }
  }

  /** The connection went away: pending calls wait for the worker's return, up to the grace period. */
  detach(conn: WorkerConnection): void {
    if (this.#conn !== conn) return;
    this.#conn = undefined;
    if (this.#pending.size === 0 || this.#host.closing) return;
    this.#host.log.warn(`worker ${this.id} is away with ${this.#pending.size} call(s); waiting ${this.#host.graceMs} ms for it to come back`);
    this.#startGrace();
  }

  /** From now, the worker has the grace period to come back before its pending calls are lost. */
  #startGrace(): void {
    if (this.#graceTimer || this.#host.closing) return;
    this.#graceTimer = setTimeout(() => {
      this.#graceTimer = undefined;
      for (const p of [...this.#pending.values()]) {
        this.#finish(p, { lost: `worker ${this.id} did not come back within ${this.#host.graceMs} ms with call ${p.callId} (${p.task.type} of ${sectorName(p.task.sector)})` });
      }
    }, this.#host.graceMs);
    this.#graceTimer.unref();
  }

  /** The task type a pending call runs, if this worker waits for it. */
  pendingType(callId: string): Task['type'] | undefined {
    return this.#pending.get(callId)?.task.type;
  }

  /** A result for a pending call arrived (from `from`, usually this worker). */
  settle(callId: string, ret: CallReturn, from: RemoteWorker): boolean {
    const p = this.#pending.get(callId);
    if (!p) return false;
    if (from !== this && this.#conn && p.accepted) {
      // the call ran twice (a manager restart placed it here while `from` still had it): stop ours
      this.#sendAbort(p, this.#conn);
    }
    this.#finish(p, { ret });
    return true;
  }

  /** Fails every pending call WORKER_LOST at once (the hub is dropping this worker). */
  loseAll(why: string): void {
    if (this.#graceTimer) clearTimeout(this.#graceTimer);
    for (const p of [...this.#pending.values()]) this.#finish(p, { lost: `${why} (call ${p.callId})` });
  }

  #send(p: PendingCall, conn: WorkerConnection): void {
    p.sending = true;
    const method = TASK_METHODS[p.task.type].call;
    conn.peer.call(method, [callIdJson(p.task.sector, p.callId), p.task]).then(
      () => {
        p.sending = false;
        p.accepted = true;
        conn.held.add(p.callId);
        if (p.aborting && this.#pending.get(p.callId) === p && this.#conn === conn) this.#sendAbort(p, conn);
      },
      (err: SectorStorageError) => {
        p.sending = false;
        if (this.#pending.get(p.callId) !== p) return;
        // a broken connection, or a worker that is stopping, is not the call's failure: the next
        // connection decides (attach)
        if (!conn.peer.open || err.code === 'DAEMON_UNREACHABLE' || err.code === 'WORKER_LOST' || err.code === 'ABORTED') return;
        this.#finish(p, { error: err });
      },
    );
  }

  #abort(p: PendingCall): void {
    if (this.#pending.get(p.callId) !== p) return;
    p.aborting = true;
    const conn = this.#conn;
    if (this.#host.closing || !conn) {
      this.#finish(p, { error: new AbortedError(`call ${p.callId} (${p.task.type} of ${sectorName(p.task.sector)}) aborted while worker ${this.id} is away`) });
      return;
    }
    if (p.accepted) this.#sendAbort(p, conn);
  }

  #sendAbort(p: Pick<PendingCall, 'callId' | 'task'>, conn: WorkerConnection): void {
    conn.peer.call('SealingAbort', [callIdJson(p.task.sector, p.callId)]).catch((err: Error) => {
      this.#host.log.warn(`SealingAbort of call ${p.callId} on worker ${this.id} failed: ${err.message}`);
    });
  }

  #finish(p: PendingCall, end: { ret: CallReturn } | { lost: string } | { error: Error }): void {
    if (this.#pending.get(p.callId) !== p) return;
    this.#pending.delete(p.callId);
    this.#host.track(p.callId, undefined);
    if ('ret' in end) {
      if (end.ret.ok) p.resolve(end.ret.result);
      else p.reject(errorFromWire(end.ret.error));
    } else if ('lost' in end) {
      this.#host.log.warn(end.lost);
      p.reject(new WorkerLostError(end.lost));
    } else {
      p.reject(end.error);
    }
  }
}
