/**
 * A worker process's connection to its manager (Lotus `cmd/lotus-worker`: it connects to the
 * miner and registers itself, reconnecting when the miner restarts): a WebSocket to the manager's
 * `/rpc/worker/v0` with the worker's token, `WorkerConnect` with the hello first, then the worker's
 * task methods are served and its results delivered through the same connection.
 *
 * The connection is kept up: when it breaks (the manager restarted, the network went away, or
 * nothing — not even the manager's heartbeat — arrived for three of its heartbeat periods) it
 * is made again with a growing delay (250 ms to 1 s), and each new connection says hello again with the calls
 * held now. What can never succeed stops the worker instead of retrying for ever: a token the
 * manager refuses (401, or 403 for a token without admin), a manager without a worker endpoint,
 * and a hello it refuses (PROTOCOL_MISMATCH, INVALID_ARGUMENT).
 */
import { WebSocket } from 'ws';
import { type PeerMethod, RpcPeer } from '../api/rpc-peer.js';
import { parseWelcome, WORKER_WS_PATH, WorkerClose, type WorkerHello, type WorkerWelcome } from '../api/worker-protocol.js';
import { DaemonUnreachableError, ProtocolMismatchError, type SectorStorageError, UnauthorizedError } from '../errors.js';
import { type Logger, silentLogger } from '../log/logger.js';

export interface ManagerLinkOptions {
  /** The manager's API base URL, e.g. `http://127.0.0.1:2345`. */
  managerUrl: string;
  /** An admin token of the manager. */
  token: string;
  /** This worker's program version. */
  version: string;
  /** The hello of a new connection (made each time: the calls held change). */
  hello(): WorkerHello;
  /** What the manager may call. */
  methods: Record<string, PeerMethod>;
  /** A connection is up and welcomed. */
  onConnected(peer: RpcPeer, welcome: WorkerWelcome): void;
  /** The welcomed connection is gone. */
  onDisconnected(): void;
  /** The manager refused the worker for good; the link has stopped. */
  onFatal(err: SectorStorageError): void;
  /** Delay before the first reconnect; it doubles up to `maxRetryMs`. @default 250 */
  retryMs?: number;
  /**
   * Kept below the manager's InitWait (3 s), so a worker that waited through a manager restart is
   * back before the manager's first scheduling pass and its calls start on it again. @default 1000
   */
  maxRetryMs?: number;
  /**
   * PEM certificate(s) trusted for an `https://` manager (its `wss://` endpoint), besides the
   * system's: a manager behind TLS with a certificate of its own CA. A worker process trusts one
   * through `NODE_EXTRA_CA_CERTS`, which also covers its API calls. @default the system's CAs
   */
  ca?: string | Buffer;
  /** How long a hello may wait for its welcome. @default 10000 */
  helloTimeoutMs?: number;
  log?: Logger;
}

/** Codes with which the manager refuses a hello for good. */
const FATAL_CODES = new Set(['PROTOCOL_MISMATCH', 'INVALID_ARGUMENT', 'UNAUTHORIZED']);

export class ManagerLink {
  readonly #o: ManagerLinkOptions;
  readonly #log: Logger;
  readonly #url: string;
  #peer: RpcPeer | undefined;
  #socket: WebSocket | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #delay: number;
  #stopped = false;
  #attempts = 0;

  constructor(options: ManagerLinkOptions) {
    this.#o = options;
    this.#log = options.log ?? silentLogger();
    this.#delay = options.retryMs ?? 250;
    const base = new URL(options.managerUrl);
    base.protocol = base.protocol === 'https:' || base.protocol === 'wss:' ? 'wss:' : 'ws:';
    base.pathname = WORKER_WS_PATH;
    this.#url = base.href;
  }

  /** True while a welcomed connection is up. */
  get connected(): boolean {
    return this.#peer?.open === true;
  }

  /** Starts connecting (and reconnecting). */
  start(): void {
    this.#connect();
  }

  /** Closes the connection and stops reconnecting. */
  close(): void {
    this.#stopped = true;
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    if (this.#peer) this.#peer.close(WorkerClose.shutdown, 'the worker is stopping');
    else this.#socket?.terminate();
  }

  #connect(): void {
    if (this.#stopped) return;
    this.#attempts++;
    const ws = new WebSocket(this.#url, {
      headers: { Authorization: `Bearer ${this.#o.token}` },
      handshakeTimeout: 10_000,
      ...(this.#o.ca !== undefined ? { ca: this.#o.ca } : {}),
    });
    this.#socket = ws;
    let opened = false;
    ws.once('unexpected-response', (req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        req.destroy();
        const body = Buffer.concat(chunks).toString();
        let message = body;
        try {
          message = (JSON.parse(body) as { Error?: string }).Error ?? body;
        } catch {}
        const status = res.statusCode ?? 0;
        if (status === 401 || status === 403) this.#fatal(new UnauthorizedError(`the manager at ${this.#o.managerUrl} refused this worker's token (${status}): ${message}`));
        else if (status === 404) this.#fatal(new ProtocolMismatchError(`the manager at ${this.#o.managerUrl} has no worker endpoint (${WORKER_WS_PATH}): ${message}; is it a sector-storage daemon of this version?`));
        else this.#retry(`the manager answered ${status}: ${message}`);
      });
      res.on('error', () => this.#retry(`the manager answered ${res.statusCode}`));
    });
    ws.once('error', (err) => {
      if (!opened && !/Unexpected server response/.test(err.message)) this.#retry(err.message);
    });
    ws.once('open', () => {
      opened = true;
      void this.#handshake(ws);
    });
  }

  async #handshake(ws: WebSocket): Promise<void> {
    const peer = new RpcPeer(ws, {
      methods: this.#o.methods,
      closedError: (why) => new DaemonUnreachableError(`the connection to the manager closed: ${why}`),
      log: this.#log,
    });
    let welcomed = false;
    void peer.closed.then(({ reason }) => {
      if (welcomed) {
        this.#peer = undefined;
        this.#o.onDisconnected();
        if (!this.#stopped) this.#log.warn(`lost the connection to the manager (${reason}); reconnecting`);
        this.#delay = this.#o.retryMs ?? 250;
      }
      this.#retry(`the connection closed (${reason})`);
    });
    let welcome: WorkerWelcome;
    try {
      const hello = this.#o.hello();
      const raw = await peer.call('WorkerConnect', [hello], { timeoutMs: this.#o.helloTimeoutMs ?? 10_000 });
      welcome = parseWelcome(raw, { version: this.#o.version });
    } catch (err) {
      const e = err as SectorStorageError;
      if (FATAL_CODES.has(e.code)) {
        this.#fatal(e);
        peer.close(WorkerClose.refused, e.code);
      } else {
        peer.terminate();
      }
      return;
    }
    if (this.#stopped) {
      peer.close(WorkerClose.shutdown, 'the worker is stopping');
      return;
    }
    welcomed = true;
    this.#attempts = 0;
    this.#peer = peer;
    this.#watch(ws, peer, welcome.HeartbeatMs);
    this.#o.onConnected(peer, welcome);
  }

  /** Drops a connection on which nothing arrived for three heartbeat periods (a half-open socket). */
  #watch(ws: WebSocket, peer: RpcPeer, heartbeatMs: number): void {
    let heard = Date.now();
    ws.on('message', () => {
      heard = Date.now();
    });
    const timer = setInterval(() => {
      if (Date.now() - heard <= 3 * heartbeatMs) return;
      this.#log.info(`the manager sent nothing for ${Date.now() - heard} ms (heartbeat every ${heartbeatMs} ms); reconnecting`);
      peer.terminate();
    }, heartbeatMs);
    timer.unref();
    void peer.closed.then(() => clearInterval(timer));
  }

  #retry(why: string): void {
    if (this.#stopped || this.#retryTimer) return;
    this.#socket?.removeAllListeners('open');
    if (this.#attempts === 1 || this.#attempts % 20 === 0) this.#log.warn(`cannot reach the manager at ${this.#url} (${why}); retrying`);
    const delay = this.#delay;
    this.#delay = Math.min(delay * 2, this.#o.maxRetryMs ?? 1_000);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#connect();
    }, delay);
  }

  #fatal(err: SectorStorageError): void {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#o.onFatal(err);
  }
}
