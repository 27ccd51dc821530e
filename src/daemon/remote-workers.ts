/**
 * The manager's end of its remote workers: the WebSocket endpoint `/rpc/worker/v0` (admin tokens
 * only), the handshake (worker-protocol.ts `parseHello`), the workers' `Return*` calls, and the
 * supervision of each connection (Lotus `extern/sector-storage/sched_worker.go` heartbeats the
 * worker's `Session`; a worker that stops answering is disconnected).
 *
 *   worker ──upgrade (Bearer admin token)──▶ hub ── 401 bad token, 403 without admin, 503 while the manager starts
 *   worker ──WorkerConnect(hello)──▶ hub ── PROTOCOL_MISMATCH / INVALID_ARGUMENT (then closed 4000) or the welcome
 *   hub ──registry.connect(info, runner, {holds})──▶ scheduler   (and registry.disconnect(id) when the connection goes)
 *   worker ──Return*(CallID, result, error)──▶ hub ──▶ the run waiting for it (remote-worker.ts) ──▶ true once durable
 *
 * A result is acknowledged only once the manager's call store has it (`done`): the worker deletes
 * its record on the acknowledgement, so a manager killed between the two loses nothing — the
 * worker delivers again to the next manager. A result for a call that is done already is
 * acknowledged again (a duplicate changes nothing); one for a call the manager does not know is
 * refused CALL_UNKNOWN (the worker drops it). A result for an open call that no run waits for
 * (the manager restarted and the call's sector has not asked for it again) is parked for a while,
 * for the run that asks for that call to take instead of running it again.
 */
import { WebSocketServer, type WebSocket } from 'ws';
import type { UpgradeHandler } from '../api/http-server.js';
import { refuseUpgrade } from '../api/http-server.js';
import { RpcPeer, type PeerMethod } from '../api/rpc-peer.js';
import {
  parseHello,
  parseProgress,
  parseReturn,
  TASK_METHODS,
  WORKER_PROTOCOL,
  WorkerClose,
  type WorkerWelcome,
} from '../api/worker-protocol.js';
import type { WorkerInfo } from '../tasks/worker-info.js';
import { AbortedError, CallUnknownError, InvalidArgumentError, toWireError, WorkerLostError } from '../errors.js';
import type { CallRecord, CallReturn } from '../tasks/calls.js';
import { TASK_TYPES, type TaskType } from '../tasks/task-types.js';
import { type Logger, silentLogger } from '../log/logger.js';
import { RemoteWorker, type RemoteWorkerHost, type WorkerConnection } from './remote-worker.js';

/** Where connected workers are registered with the scheduler (actors/system.ts, structurally). */
export interface WorkerRegistryPort {
  /** `holds`: the calls the worker runs or has finished (its hello's): the scheduler starts them on it again after a restart. */
  connect(info: WorkerInfo, runner: RemoteWorker, options?: { holds?: readonly string[] }): void;
  disconnect(id: string): void;
}

/** The manager's call store, read through the index actor (a read answered after the batch's commit). */
export interface CallLookup {
  get(callId: string): Promise<CallRecord | undefined>;
}

export interface RemoteWorkersOptions {
  manager: { version: string; session: string; miner: number };
  /** Period of the `Session` heartbeat; a worker that does not answer within two is disconnected. @default 10000 */
  heartbeatMs?: number;
  /** How long a disconnected worker's calls wait for it to come back. @default 60000 */
  graceMs?: number;
  /** How long a new connection may take to say hello. @default 10000 */
  helloTimeoutMs?: number;
  /** How long a result nobody waits for is held before the worker is told to send it again. @default 10000 */
  parkMs?: number;
  /** How long a result may take to become durable before the worker is told to send it again. @default 30000 */
  ackTimeoutMs?: number;
  log?: Logger;
}

/** A worker as the hub knows it (for logs and diagnostics). */
export interface RemoteWorkerView {
  id: string;
  hostname: string;
  connected: boolean;
  taskTypes: TaskType[];
  /** Calls waiting for a result from it. */
  pending: string[];
}

interface Parked {
  type: TaskType;
  ret: CallReturn;
  claimed(): void;
}

export class RemoteWorkers {
  readonly #o: Required<Omit<RemoteWorkersOptions, 'log'>> & { log: Logger };
  readonly #wss = new WebSocketServer({ noServer: true, maxPayload: 16 << 20 });
  readonly #workers = new Map<string, RemoteWorker>();
  readonly #current = new Map<string, WorkerConnection>();
  readonly #byCall = new Map<string, RemoteWorker>();
  readonly #parked = new Map<string, Parked>();
  readonly #peers = new Set<RpcPeer>();
  #registry: WorkerRegistryPort | undefined;
  #calls: CallLookup | undefined;
  #started = false;
  #closing = false;
  readonly #host: RemoteWorkerHost;

  constructor(options: RemoteWorkersOptions) {
    this.#o = {
      manager: options.manager,
      heartbeatMs: options.heartbeatMs ?? 10_000,
      graceMs: options.graceMs ?? 60_000,
      helloTimeoutMs: options.helloTimeoutMs ?? 10_000,
      parkMs: options.parkMs ?? 10_000,
      ackTimeoutMs: options.ackTimeoutMs ?? 30_000,
      log: options.log ?? silentLogger(),
    };
    const hub = this;
    this.#host = {
      hasParked: (callId) => this.#parked.has(callId),
      takeParked: (callId) => {
        const p = this.#parked.get(callId);
        if (!p) return undefined;
        this.#parked.delete(callId);
        p.claimed();
        return p.ret;
      },
      holderOf: (callId) => [...this.#workers.values()].find((w) => w.holds(callId)),
      track: (callId, worker) => {
        if (worker) this.#byCall.set(callId, worker);
        else this.#byCall.delete(callId);
      },
      get closing() {
        return hub.#closing;
      },
      graceMs: this.#o.graceMs,
      log: this.#o.log,
    };
  }

  /** The upgrade handler of {@link WORKER_WS_PATH} (register it with the API server). */
  readonly upgrade: UpgradeHandler = (req, socket, head, auth) => {
    if (!auth.permissions.includes('admin')) {
      refuseUpgrade(socket, 403, { Error: `a worker needs an admin token of the manager; this one grants ${auth.permissions.join(', ') || 'nothing'}`, code: 'UNAUTHORIZED' });
      return;
    }
    if (!this.#started || this.#closing) {
      refuseUpgrade(socket, 503, { Error: this.#closing ? 'the manager is stopping' : 'the manager is starting', code: 'DAEMON_UNREACHABLE' });
      return;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#accept(ws, req.socket.remoteAddress ?? 'unknown'));
  };

  /**
   * Accepts workers from now on, registering them with `registry` (without one, workers connect
   * and deliver what they hold, but nothing hands them calls).
   */
  start(calls: CallLookup, registry?: WorkerRegistryPort): void {
    this.#calls = calls;
    this.#registry = registry;
    this.#started = true;
  }

  /** The workers known since start. */
  list(): RemoteWorkerView[] {
    return [...this.#workers.values()].map((w) => ({ id: w.id, hostname: w.hostname, connected: w.connected, taskTypes: [...w.info.taskTypes], pending: w.pendingCalls }));
  }

  /** The runner of a worker known since start. */
  get(id: string): RemoteWorker | undefined {
    return this.#workers.get(id);
  }

  /**
   * Closes every worker connection (the manager is stopping: not an abort, so running calls are
   * not stopped on the workers; they deliver to the next manager) and takes no new one.
   */
  async close(): Promise<void> {
    this.#closing = true;
    const closed = [...this.#peers].map((p) => {
      p.close(WorkerClose.shutdown, 'the manager is stopping');
      return Promise.race([p.closed, new Promise((r) => setTimeout(r, 1_000).unref())]);
    });
    await Promise.all(closed);
    for (const p of this.#peers) p.terminate();
    this.#wss.close();
  }

  #accept(ws: WebSocket, from: string): void {
    const peer = new RpcPeer(ws, { closedError: (why) => new WorkerLostError(`the worker's connection closed: ${why}`), log: this.#o.log });
    this.#peers.add(peer);
    let joined: { worker: RemoteWorker; conn: WorkerConnection; heartbeat: NodeJS.Timeout } | undefined;
    const helloTimer = setTimeout(() => peer.close(WorkerClose.silent, 'no WorkerConnect in time'), this.#o.helloTimeoutMs);
    const connect: PeerMethod = ([raw]) => {
      if (joined) throw new InvalidArgumentError(`this connection said hello already (as worker ${joined.worker.id})`);
      let hello: ReturnType<typeof parseHello>;
      try {
        hello = parseHello(raw, { version: this.#o.manager.version });
      } catch (err) {
        const e = toWireError(err);
        this.#o.log.warn(`refused a worker connecting from ${from}: ${e.message}`);
        setImmediate(() => peer.close(WorkerClose.refused, e.code));
        throw err;
      }
      clearTimeout(helloTimer);
      const info = hello.Info;
      const worker = this.#workers.get(info.id) ?? new RemoteWorker(info, this.#host);
      this.#workers.set(info.id, worker);
      const conn: WorkerConnection = { peer, session: hello.Session, held: new Set([...hello.Calls.Running, ...hello.Calls.Done]) };
      const previous = this.#current.get(info.id);
      this.#current.set(info.id, conn);
      if (previous) previous.peer.close(WorkerClose.replaced, 'a newer connection of this worker replaced it');
      joined = { worker, conn, heartbeat: this.#heartbeat(worker, peer) };
      peer.setMethods({ ...this.#returnMethods(worker, conn), WorkerConnect: connect });
      worker.attach(conn, info);
      this.#registry?.connect(info, worker, { holds: [...conn.held] });
      this.#o.log.info(
        `worker ${info.id} connected from ${from} (${info.hostname}, session ${hello.Session}, ${info.resources.cpus} threads, runs ${info.taskTypes.join(', ')}; holds ${hello.Calls.Running.length} running and ${hello.Calls.Done.length} finished call(s))`,
      );
      const welcome: WorkerWelcome = {
        Protocol: WORKER_PROTOCOL,
        Version: this.#o.manager.version,
        Session: this.#o.manager.session,
        Miner: this.#o.manager.miner,
        HeartbeatMs: this.#o.heartbeatMs,
      };
      return welcome;
    };
    peer.setMethods({ WorkerConnect: connect });
    void peer.closed.then(({ reason }) => {
      clearTimeout(helloTimer);
      this.#peers.delete(peer);
      if (!joined) return;
      clearInterval(joined.heartbeat);
      const { worker, conn } = joined;
      worker.detach(conn);
      if (this.#current.get(worker.id) !== conn) return; // replaced by a newer connection
      this.#current.delete(worker.id);
      if (!this.#closing) {
        this.#o.log.info(`worker ${worker.id} disconnected (${reason})`);
        this.#registry?.disconnect(worker.id);
      }
    });
  }

  /** Calls the worker's `Session` every period; one not answered within two periods drops the connection. */
  #heartbeat(worker: RemoteWorker, peer: RpcPeer): NodeJS.Timeout {
    let inFlight = false;
    const timer = setInterval(() => {
      if (inFlight) return;
      inFlight = true;
      peer
        .call('Session', [], { timeoutMs: 2 * this.#o.heartbeatMs })
        .catch((err: Error) => {
          if (!peer.open) return;
          this.#o.log.info(`worker ${worker.id} did not answer its heartbeat (${err.message}); dropping the connection`);
          peer.terminate();
        })
        .finally(() => {
          inFlight = false;
        });
    }, this.#o.heartbeatMs);
    timer.unref();
    return timer;
  }

  /** The `Return*` methods a welcomed worker may call. */
  #returnMethods(from: RemoteWorker, conn: WorkerConnection): Record<string, PeerMethod> {
    const methods: Record<string, PeerMethod> = {};
    for (const type of TASK_TYPES) {
      const method = TASK_METHODS[type].ret;
      methods[method] = async (params) => {
        const { callId, ret } = parseReturn(type, params);
        const acked = await this.#acknowledge(from, callId, type, ret, method);
        // acknowledged: the worker deletes the call, so it no longer holds it
        conn.held.delete(callId);
        return acked;
      };
    }
    // the progress of a call's prepare step or work (`sealing jobs`); a report for a call nobody waits for is dropped
    methods.ReportProgress = (params) => {
      const { callId, progress } = parseProgress(params);
      (this.#byCall.get(callId) ?? from).progress(callId, progress);
      return true;
    };
    return methods;
  }

  /** Settles the run waiting for a result (or parks it) and resolves once it may be acknowledged. */
  async #acknowledge(from: RemoteWorker, callId: string, type: TaskType, ret: CallReturn, method: string): Promise<true> {
    const owner = this.#byCall.get(callId);
    if (owner) {
      const expected = owner.pendingType(callId);
      if (expected !== type) throw new InvalidArgumentError(`${method} for call ${callId}, which is a ${expected} call`);
      owner.settle(callId, ret, from);
      return this.#durable(callId, method);
    }
    const record = await this.#calls!.get(callId);
    if (!record) throw new CallUnknownError(`${method}: this manager has no call ${callId}`);
    if (record.task !== type) throw new InvalidArgumentError(`${method} for call ${callId}, which is a ${record.task} call`);
    if (record.state === 'done' || record.state === 'returned') {
      this.#o.log.info(`worker ${from.id} returned call ${callId} (${type}) again; its result was recorded already`);
      return true;
    }
    return this.#park(callId, type, ret, method);
  }

  /** Holds a result nobody waits for until a run takes it (then acknowledges it once durable), or for `parkMs`. */
  async #park(callId: string, type: TaskType, ret: CallReturn, method: string): Promise<true> {
    let claimed!: () => void;
    const taken = new Promise<boolean>((resolve) => {
      claimed = () => resolve(true);
    });
    this.#parked.get(callId)?.claimed();
    const entry: Parked = { type, ret, claimed };
    this.#parked.set(callId, entry);
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), this.#o.parkMs);
    });
    const wasTaken = await Promise.race([taken, expired]);
    clearTimeout(timer);
    if (!wasTaken) {
      if (this.#parked.get(callId) === entry) this.#parked.delete(callId);
      throw new AbortedError(`${method}: nothing waits for call ${callId} yet (its sector has not asked for it again since the manager started); send it again`);
    }
    return this.#durable(callId, method);
  }

  /** Resolves once the call's result is in the manager's call store (the acknowledgement waits for it). */
  async #durable(callId: string, method: string): Promise<true> {
    const end = Date.now() + this.#o.ackTimeoutMs;
    for (let wait = 2; ; wait = Math.min(wait * 2, 100)) {
      const record = await this.#calls!.get(callId);
      if (record && (record.state === 'done' || record.state === 'returned')) return true;
      if (Date.now() > end || this.#closing) {
        throw new AbortedError(`${method}: the result of call ${callId} is not recorded yet (the call is ${record?.state ?? 'unknown'}); send it again`);
      }
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}
