/**
 * The daemon's HTTP server (node:http, or node:https with a certificate and key), composing:
 * - `POST /rpc/v0`: JSON-RPC 2.0 (`rpc-server.ts`); a streaming method answers with an
 *   `application/octet-stream` body, and an error after the first byte arrives as the HTTP
 *   trailer `X-Stream-Error` (JSON `{code,message}`), so a truncated body is never mistaken for data;
 * - `POST /rpc/streams/v0/push/<uuid>`: upload bodies referenced by JSON-RPC calls;
 * - mounts: path prefixes handed to other areas (`/remote` for sector files, `/metrics`…);
 * - upgrades: WebSocket upgrades of a path handed to their area (the worker connection).
 *
 * A channel method (server-pushed values, `rpc-channel.ts`) is refused over HTTP with a JSON-RPC
 * error naming the WebSocket.
 *
 * Every request is authenticated first: `Authorization: Bearer <jwt>` or `?token=<jwt>` (an
 * invalid token is 401; no token gets the default permissions, `read`, as in Lotus). A JSON-RPC
 * notification (no `id`) is run and answered with an empty 204.
 */
import { setMaxListeners } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { AddressInUseError, ListenFailedError, SectorStorageError, toWireError } from '../errors.js';
import { bearerToken, DEFAULT_PERMISSIONS, type Permission } from '../auth/tokens.js';
import { type DispatchResult, RpcErrorCode, type RpcServer } from './rpc-server.js';
import type { StreamRegistry } from './stream-registry.js';
import { defaultLogger, type Logger } from '../log/logger.js';
import { isNotification } from './rpc-websocket.js';

/** Path of the JSON-RPC endpoint. */
export const RPC_PATH = '/rpc/v0';
/** Prefix of the upload push endpoint (`<prefix><uuid>`). */
export const PUSH_PATH = '/rpc/streams/v0/push/';
/** Trailer carrying an error raised after a streamed body has started. */
export const STREAM_ERROR_TRAILER = 'X-Stream-Error';

/** A handler mounted at a path prefix; gets the caller's permissions. */
export type MountHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  auth: { permissions: readonly Permission[] },
) => void | Promise<void>;

/**
 * Takes over a WebSocket upgrade request of its path, authenticated, with the caller's
 * permissions. `signal` aborts when the server closes: the handler closes its connections then
 * (what is left open is destroyed after the close's grace period).
 */
export type UpgradeHandler = (
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  auth: { permissions: readonly Permission[]; signal: AbortSignal },
) => void;

export interface ApiHttpServerOptions {
  rpc: RpcServer;
  streams: StreamRegistry;
  /** Permissions of a bearer token; throws UnauthorizedError for a bad one. */
  authenticate: (token: string) => readonly Permission[] | Promise<readonly Permission[]>;
  /** Path prefix → handler (e.g. `{ '/remote': handler }`). */
  mounts?: Record<string, MountHandler>;
  /** Max JSON-RPC request body. @default 16 MiB */
  maxBodyBytes?: number;
  /** Logger for unexpected errors. @default defaultLogger() (src/log) */
  log?: Logger;
  /** Serve HTTPS (and WebSocket upgrades as wss) with this PEM certificate chain and private key. @default plain HTTP */
  tls?: { cert: string | Buffer; key: string | Buffer };
}

export class ApiHttpServer {
  readonly #server: Server;
  readonly #opts: ApiHttpServerOptions;
  readonly #mounts: Array<[string, MountHandler]>;
  readonly #sockets = new Set<Socket>();
  readonly #upgrades = new Map<string, UpgradeHandler>();
  /** Aborted at shutdown: in-flight calls see it through their RpcContext signal. */
  readonly #shutdown = new AbortController();

  /** JSON-RPC calls in flight over HTTP: aborted at shutdown. */
  readonly #calls = new Set<AbortController>();

  constructor(options: ApiHttpServerOptions) {
    // upgraded connections listen for the shutdown and remove their listener when they end:
    // many concurrent clients are normal, not a leak, so Node's warning at 10 would mislead
    setMaxListeners(0, this.#shutdown.signal);
    this.#opts = options;
    this.#mounts = Object.entries(options.mounts ?? {}).sort((a, b) => b[0].length - a[0].length);
    const onRequest = (req: IncomingMessage, res: ServerResponse) => {
      this.#handle(req, res).catch((err) => this.#internal(res, err));
    };
    this.#server = options.tls ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, onRequest) : createServer(onRequest);
    this.#server.on('connection', (s) => {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    });
    this.#server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      this.#upgrade(req, socket, head).catch((err) => {
        (this.#opts.log ?? defaultLogger()).error({ err }, `upgrade of ${req.url} failed`);
        socket.destroy();
      });
    });
  }

  /** Hands WebSocket upgrades of `path` to `handler` (after authentication). */
  upgrade(path: string, handler: UpgradeHandler): void {
    this.#upgrades.set(path, handler);
  }

  /** Adds a mount after construction (before or after listen). */
  mount(prefix: string, handler: MountHandler): void {
    this.#mounts.push([prefix, handler]);
    this.#mounts.sort((a, b) => b[0].length - a[0].length);
  }

  /** Starts listening; resolves with the bound address (port 0 picks a free port). */
  listen(host: string, port: number): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
        if (err.code === 'EADDRINUSE') {
          reject(new AddressInUseError(`cannot listen on ${where}: another process uses that address (pick another with --listen HOST:PORT; port 0 picks a free one)`, { cause: err }));
        } else {
          reject(new ListenFailedError(`cannot listen on ${where}: ${err.message}`, { cause: err }));
        }
      };
      this.#server.once('error', onError);
      this.#server.listen(port, host, () => {
        this.#server.off('error', onError);
        const addr = this.#server.address() as AddressInfo;
        resolve({ host: addr.address, port: addr.port });
      });
    });
  }

  /**
   * Stops accepting connections, aborts in-flight calls' signals, waits up to `graceMs` for
   * open requests to finish, then destroys the remaining sockets.
   */
  async close(graceMs = 5000): Promise<void> {
    this.#shutdown.abort(new Error('server shutting down'));
    for (const call of this.#calls) call.abort(new Error('server shutting down'));
    this.#opts.streams.close();
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeIdleConnections();
    const timer = setTimeout(() => {
      for (const s of this.#sockets) s.destroy();
    }, graceMs);
    await closed;
    clearTimeout(timer);
  }

  async #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = requestUrl(req);
    const path = url.pathname;
    const handler = this.#upgrades.get(path);
    if (!handler) {
      refuseUpgrade(socket, 404, { Error: `no WebSocket endpoint at ${path}` });
      return;
    }
    const token = requestToken(req, url);
    let permissions: readonly Permission[];
    try {
      permissions = token === undefined ? DEFAULT_PERMISSIONS : await this.#opts.authenticate(token);
    } catch (err) {
      refuseUpgrade(socket, 401, { Error: toWireError(err).message, code: 'UNAUTHORIZED' });
      return;
    }
    handler(req, socket, head, { permissions, signal: this.#shutdown.signal });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let permissions: readonly Permission[];
    const url = requestUrl(req);
    const token = requestToken(req, url);
    try {
      permissions = token === undefined ? DEFAULT_PERMISSIONS : await this.#opts.authenticate(token);
    } catch (err) {
      req.resume();
      sendJson(res, 401, { Error: toWireError(err).message, code: 'UNAUTHORIZED' });
      return;
    }
    const path = url.pathname;
    if (path === RPC_PATH) return this.#rpc(req, res, permissions);
    if (path.startsWith(PUSH_PATH)) return this.#push(req, res, path.slice(PUSH_PATH.length), permissions);
    for (const [prefix, handler] of this.#mounts) {
      if (path === prefix || path.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`)) {
        await handler(req, res, { permissions });
        return;
      }
    }
    req.resume();
    sendJson(res, 404, { Error: `no handler for ${path}` });
  }

  async #rpc(req: IncomingMessage, res: ServerResponse, permissions: readonly Permission[]): Promise<void> {
    if (req.method !== 'POST') {
      req.resume();
      res.setHeader('Allow', 'POST');
      sendJson(res, 405, { Error: `${RPC_PATH} accepts POST only` });
      return;
    }
    const max = this.#opts.maxBodyBytes ?? 16 * 1024 * 1024;
    const body = await readBody(req, max);
    if (body === undefined) {
      sendJson(res, 413, rpcError(null, -32600, `request body larger than ${max} bytes`));
      req.destroy();
      return;
    }
    let request: unknown;
    try {
      request = JSON.parse(body.toString('utf8'));
    } catch (err) {
      sendJson(res, 200, rpcError(null, -32700, `parse error: ${(err as Error).message}`));
      return;
    }
    // a call is cancelled when its client goes away or the server shuts down (close() aborts
    // every call of #calls: one Set entry each, cheaper than an EventTarget listener per call)
    const call = new AbortController();
    if (this.#shutdown.signal.aborted) call.abort(new Error('server shutting down'));
    const onClose = () => {
      if (!res.writableFinished) call.abort(new Error('client disconnected'));
    };
    res.on('close', onClose);
    this.#calls.add(call);
    try {
      const result = await this.#opts.rpc.dispatch(request, permissions, call.signal);
      // a notification is run and not answered (JSON-RPC 2.0 §4.1): an empty 204
      if (isNotification(request)) {
        if (result.kind === 'stream') await result.body[Symbol.asyncIterator]().return?.();
        // a channel method is never opened over HTTP (nothing to refuse: nobody listens)
        res.writeHead(204).end();
        return;
      }
      await this.#respond(res, result, call.signal);
    } finally {
      this.#calls.delete(call);
    }
  }

  async #respond(res: ServerResponse, result: DispatchResult, signal: AbortSignal): Promise<void> {
    if (result.kind === 'json') {
      sendJson(res, 200, result.response);
      return;
    }
    if (result.kind === 'channel') {
      // refused before the method runs: nothing is subscribed
      sendJson(res, 200, channelOverHttpError(result.id, result.method));
      return;
    }
    const iterator = result.body[Symbol.asyncIterator]();
    // pull the first chunk before committing to a 200, so early failures are ordinary JSON errors
    let first: IteratorResult<Uint8Array>;
    try {
      first = await iterator.next();
    } catch (err) {
      const wire = toWireError(err);
      sendJson(res, 200, { jsonrpc: '2.0', id: result.id, error: { code: -32000, message: wire.message, data: { code: wire.code } } });
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', Trailer: STREAM_ERROR_TRAILER });
    try {
      let step = first;
      while (!step.done) {
        if (signal.aborted) throw signal.reason ?? new Error('aborted');
        if (!res.write(step.value)) await waitDrain(res, signal);
        step = await iterator.next();
      }
      res.end();
    } catch (err) {
      await iterator.return?.();
      if (res.destroyed) return;
      res.addTrailers({ [STREAM_ERROR_TRAILER]: JSON.stringify(toWireError(err)) });
      res.end();
    }
  }

  async #push(req: IncomingMessage, res: ServerResponse, id: string, permissions: readonly Permission[]): Promise<void> {
    if (req.method !== 'POST' && req.method !== 'PUT') {
      req.resume();
      sendJson(res, 405, { Error: 'stream push accepts POST only' });
      return;
    }
    // pushing data is only useful for write calls; refuse it early for read-only tokens
    if (!permissions.includes('write')) {
      req.resume();
      sendJson(res, 401, { Error: 'unauthorized: missing write permission', code: 'UNAUTHORIZED' });
      return;
    }
    let outcome: Awaited<ReturnType<StreamRegistry['push']>>;
    try {
      outcome = await this.#opts.streams.push(id, req);
    } catch (err) {
      req.resume();
      sendJson(res, 400, { error: toWireError(err) });
      return;
    }
    if (outcome.ok) sendJson(res, 200, { ok: true });
    else sendJson(res, 500, { error: outcome.error });
  }

  #internal(res: ServerResponse, err: unknown): void {
    if (!(err instanceof SectorStorageError)) (this.#opts.log ?? defaultLogger()).error({ err }, 'HTTP handler failed');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendJson(res, 500, { error: toWireError(err) });
  }
}

/**
 * The caller's token: `Authorization: Bearer <jwt>`, else the `token` query parameter (Lotus's
 * auth handler takes both; its JS client puts the token in the WebSocket URL).
 */
function requestToken(req: IncomingMessage, url: RequestUrl): string | undefined {
  return bearerToken(req.headers.authorization) ?? url.searchParams?.get('token') ?? undefined;
}

/** A request's path, and its query when it has one. */
interface RequestUrl {
  pathname: string;
  searchParams?: URLSearchParams;
}

/**
 * The request's path and query. A JSON-RPC call's URL is a bare path: `new URL` on every request
 * cost more than the call behind `Version`, so the whole URL is parsed only when there is a
 * query, an escape or a dot segment to resolve.
 */
function requestUrl(req: IncomingMessage): RequestUrl {
  const raw = req.url ?? '/';
  if (raw.startsWith('/') && !/\/[/.]|[?#%\\]/.test(raw)) return { pathname: raw };
  return new URL(raw, 'http://localhost');
}

/** The whole body, or undefined (and the rest unread) once it passes `max` bytes. */
function readBody(req: IncomingMessage, max: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        cleanup();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const onClose = () => onError(new Error('client disconnected before the request body ended'));
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

/** The answer to a channel method called over HTTP, which cannot carry server-pushed values. */
export function channelOverHttpError(id: number | string | null, method: string) {
  return {
    jsonrpc: '2.0',
    id,
    error: {
      code: RpcErrorCode.invalidRequest,
      message: `${method} returns a channel of values pushed by the server: call it over the WebSocket at ${RPC_PATH} (HTTP cannot carry them)`,
      data: { code: 'INVALID_ARGUMENT' },
    },
  };
}

function rpcError(id: null, code: number, message: string) {
  return { jsonrpc: '2.0', id, error: { code, message, data: { code: 'INVALID_ARGUMENT' } } };
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 503: 'Service Unavailable' };

/** Answers an upgrade request with a plain HTTP error (a JSON body) and closes the socket. */
export function refuseUpgrade(socket: Duplex, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  const reason = STATUS_TEXT[status] ?? 'Error';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
  );
}

/** Writes a JSON response. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function waitDrain(res: ServerResponse, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      signal.removeEventListener('abort', onAbort);
      resolve();
    };
    const onAbort = () => {
      res.off('drain', done);
      res.off('close', done);
      reject(signal.reason ?? new Error('aborted'));
    };
    res.once('drain', done);
    res.once('close', done);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
