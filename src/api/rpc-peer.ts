/**
 * JSON-RPC 2.0 in both directions over one WebSocket (the `ws` package): each side calls the
 * other's methods and answers the other's calls, as a Lotus worker and its miner do over their
 * connection (`api/api_worker.go` one way, the `Return*` methods of `api/api_storage.go` the
 * other). Method names carry the `Filecoin.` prefix on the wire; failures carry our stable error
 * code in `error.data.code`, as on the HTTP API (rpc-server.ts), so the caller gets the typed
 * error back:
 *
 * ```json
 * {"jsonrpc":"2.0","id":3,"error":{"code":-32601,"message":"method 'Filecoin.Nope' not found","data":{"code":"INVALID_ARGUMENT"}}}
 * ```
 *
 * A frame that is not a JSON-RPC message is answered with the JSON-RPC error that names what is
 * wrong (parse error, invalid request, unknown method, params not an array) and changes nothing:
 * no method runs and the connection stays up. Notifications (no `id`) are never answered.
 *
 * A call in flight when the socket closes fails with the error `closedError` makes (the caller
 * decides whether the other side is a daemon or a worker); the handler of an incoming call sees its
 * `signal` abort when the socket closes.
 */
import type { RawData, WebSocket } from 'ws';
import { AbortedError, DaemonUnreachableError, errorFromWire, InvalidArgumentError, isErrorCode, SectorStorageError, toWireError } from '../errors.js';
import { METHOD_PREFIX } from './rpc-method.js';
import { type RpcErrorObject, RpcErrorCode } from './rpc-server.js';
import { type Logger, silentLogger } from '../log/logger.js';

/** A method the other side may call. `params` are the raw JSON params (validate them). */
export type PeerMethod = (params: unknown[], ctx: { signal: AbortSignal }) => unknown;

export interface RpcPeerOptions {
  /** Methods by name without the `Filecoin.` prefix. */
  methods?: Record<string, PeerMethod>;
  /** The error a call in flight fails with when the socket closes. @default DaemonUnreachableError */
  closedError?: (reason: string) => Error;
  /** Unexpected failures of a method (not our typed errors), and connection errors. @default nothing */
  log?: Logger;
}

interface Pending {
  method: string;
  resolve(value: unknown): void;
  reject(err: Error): void;
  cleanup(): void;
}

type Id = number | string;

export class RpcPeer {
  readonly #socket: WebSocket;
  #methods: Record<string, PeerMethod>;
  readonly #closedError: (reason: string) => Error;
  readonly #log: Logger;
  readonly #pending = new Map<number, Pending>();
  readonly #gone = new AbortController();
  #nextId = 1;
  /** Settles once the socket has closed. */
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(socket: WebSocket, options: RpcPeerOptions = {}) {
    this.#socket = socket;
    this.#methods = options.methods ?? {};
    this.#closedError = options.closedError ?? ((reason) => new DaemonUnreachableError(`the connection closed: ${reason}`));
    this.#log = options.log ?? silentLogger();
    socket.on('message', (data: RawData, isBinary: boolean) => this.#onMessage(data, isBinary));
    this.closed = new Promise((resolve) => {
      socket.once('close', (code: number, reason: Buffer) => {
        const why = reason.length > 0 ? reason.toString('utf8') : `code ${code}`;
        this.#gone.abort(new AbortedError(`the connection closed (${why})`));
        for (const [id, p] of this.#pending) {
          this.#pending.delete(id);
          p.cleanup();
          p.reject(this.#closedError(why));
        }
        resolve({ code, reason: why });
      });
    });
    // errors are followed by 'close'; without a listener they would be thrown
    socket.on('error', (err: Error) => this.#log.warn(`connection error: ${err.message}`));
  }

  /** True while the socket is open. */
  get open(): boolean {
    return this.#socket.readyState === this.#socket.OPEN;
  }

  /** Aborts once the socket has closed. */
  get signal(): AbortSignal {
    return this.#gone.signal;
  }

  /** Replaces the methods the other side may call (a handshake widens them once it succeeded). */
  setMethods(methods: Record<string, PeerMethod>): void {
    this.#methods = methods;
  }

  /**
   * Calls the other side's `method`. Rejects with its typed error, with ABORTED when `signal`
   * aborts, and with the `closedError` of the options when the socket closes or no answer came
   * within `timeoutMs`.
   */
  call<T = unknown>(method: string, params: unknown[], options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<T> {
    if (!this.open) return Promise.reject(this.#closedError('not connected'));
    if (options.signal?.aborted) return Promise.reject(new AbortedError(`${method} cancelled`));
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = () => {
        this.#pending.delete(id);
        cleanup();
        reject(new AbortedError(`${method} cancelled`));
      };
      const cleanup = () => {
        if (timer) clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
      };
      if (options.timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.#pending.delete(id);
          cleanup();
          reject(this.#closedError(`${method} was not answered within ${options.timeoutMs} ms`));
        }, options.timeoutMs);
      }
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.#pending.set(id, { method, resolve: resolve as (v: unknown) => void, reject, cleanup });
      this.#socket.send(JSON.stringify({ jsonrpc: '2.0', id, method: `${METHOD_PREFIX}${method}`, params }), (err) => {
        if (!err || !this.#pending.has(id)) return;
        this.#pending.delete(id);
        cleanup();
        reject(this.#closedError(err.message));
      });
    });
  }

  /** Closes the socket (1000 normal; 4000–4999 are ours: the reason says why). */
  close(code = 1000, reason = ''): void {
    if (this.#socket.readyState === this.#socket.CLOSED || this.#socket.readyState === this.#socket.CLOSING) return;
    // a close reason is at most 123 bytes
    this.#socket.close(code, Buffer.from(reason).subarray(0, 120).toString());
  }

  /** Drops the connection at once, without a close handshake (a dead peer, a crash in tests). */
  terminate(): void {
    this.#socket.terminate();
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    let msg: unknown;
    try {
      if (isBinary) throw new Error('a binary frame; messages are JSON text');
      msg = JSON.parse(rawText(data));
    } catch (err) {
      this.#fail(null, RpcErrorCode.parseError, `parse error: ${(err as Error).message}`);
      return;
    }
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) {
      // a batch would need ordering rules neither side uses: refused like any non-object
      this.#fail(null, RpcErrorCode.invalidRequest, 'a message must be one JSON-RPC object (batches are not accepted)');
      return;
    }
    const m = msg as { jsonrpc?: unknown; id?: unknown; method?: unknown; params?: unknown; result?: unknown; error?: unknown };
    const hasId = Object.hasOwn(m, 'id');
    const id = typeof m.id === 'number' || typeof m.id === 'string' ? m.id : null;
    if (m.jsonrpc !== '2.0') {
      this.#fail(id, RpcErrorCode.invalidRequest, `"jsonrpc" must be "2.0", got ${JSON.stringify(m.jsonrpc)}`);
      return;
    }
    if (hasId && m.id !== null && id === null) {
      this.#fail(null, RpcErrorCode.invalidRequest, `"id" must be a number or a string, got ${JSON.stringify(m.id)}`);
      return;
    }
    if (m.method !== undefined) {
      if (typeof m.method !== 'string') {
        this.#fail(id, RpcErrorCode.invalidRequest, `"method" must be a string, got ${JSON.stringify(m.method)}`);
        return;
      }
      void this.#serve(hasId ? id : undefined, m.method, m.params);
      return;
    }
    this.#settle(id, m);
  }

  /** A response to one of our calls; one to nothing we are waiting for (late, after a timeout) is dropped. */
  #settle(id: Id | null, m: { result?: unknown; error?: unknown }): void {
    if (typeof id !== 'number') return;
    const p = this.#pending.get(id);
    if (!p) return;
    this.#pending.delete(id);
    p.cleanup();
    if (m.error !== undefined) {
      const e = m.error as { message?: unknown; data?: { code?: unknown } } | null;
      const code = e?.data?.code;
      const message = typeof e?.message === 'string' ? e.message : `${p.method} failed without a message`;
      p.reject(errorFromWire({ code: isErrorCode(code) ? code : 'INTERNAL', message }));
    } else if (!Object.hasOwn(m, 'result')) {
      p.reject(new InvalidArgumentError(`the answer to ${p.method} has neither "result" nor "error"`));
    } else {
      p.resolve(m.result);
    }
  }

  /** Runs an incoming call; `id` undefined: a notification, never answered. */
  async #serve(id: Id | null | undefined, method: string, params: unknown): Promise<void> {
    const name = method.startsWith(METHOD_PREFIX) ? method.slice(METHOD_PREFIX.length) : undefined;
    const fn = name !== undefined && Object.hasOwn(this.#methods, name) ? this.#methods[name] : undefined;
    if (!fn) {
      if (id !== undefined) this.#fail(id, RpcErrorCode.methodNotFound, `method '${method}' not found`);
      return;
    }
    if (params !== undefined && !Array.isArray(params)) {
      if (id !== undefined) this.#fail(id, RpcErrorCode.invalidParams, `params of '${method}' must be an array`);
      return;
    }
    try {
      const result = await fn((params as unknown[] | undefined) ?? [], { signal: this.#gone.signal });
      if (id !== undefined) this.#send({ jsonrpc: '2.0', id, result: result === undefined ? null : result });
    } catch (err) {
      const wire = toWireError(err);
      if (!(err instanceof SectorStorageError)) this.#log.warn(`${method} failed unexpectedly: ${(err as Error)?.stack ?? err}`);
      if (id === undefined) return;
      const code = err instanceof InvalidArgumentError ? RpcErrorCode.invalidParams : RpcErrorCode.serverError;
      this.#send({ jsonrpc: '2.0', id, error: { code, message: wire.message, data: { code: wire.code } } satisfies RpcErrorObject });
    }
  }

  /** Answers a message that could not be served; INVALID_ARGUMENT is our code for every one of them. */
  #fail(id: Id | null, code: number, message: string): void {
    this.#send({ jsonrpc: '2.0', id, error: { code, message, data: { code: 'INVALID_ARGUMENT' } } satisfies RpcErrorObject });
  }

  #send(msg: unknown): void {
    if (this.#socket.readyState !== this.#socket.OPEN) return;
    this.#socket.send(JSON.stringify(msg));
  }
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.from(data).toString('utf8');
}
