/**
 * Typed JSON-RPC client for the daemon's API (used by the CLI and by worker processes).
 * Method names and param/result types come from the server's method definitions
 * (`methods/index.ts`), so a call that compiles matches what the server accepts.
 * Errors come back typed: the server puts our error `code` in `error.data.code` and
 * {@link errorFromWire} rebuilds the class.
 *
 * @example
 * const api = new ApiClient({ url: 'http://127.0.0.1:2345', token });
 * const sectors = await api.call('SectorsList');
 */
import { randomUUID } from 'node:crypto';
import { Agent, type IncomingMessage, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import {
  AbortedError,
  DaemonUnreachableError,
  errorFromWire,
  InternalError,
  isErrorCode,
  UnauthorizedError,
  type WireError,
} from '../errors.js';
import { PUSH_PATH, RPC_PATH, STREAM_ERROR_TRAILER } from './http-server.js';
import { subscribeChannel } from './rpc-subscription.js';
import type { ApiMethods } from './methods/index.js';
import { type ChannelMethod, METHOD_PREFIX, type JsonMethod, type StreamMethod } from './rpc-method.js';

type MethodParams<M> = M extends { params: (raw: unknown[]) => infer P } ? (P extends unknown[] ? P : never) : never;
type MethodResult<M> = M extends JsonMethod<infer _P, infer R> ? Awaited<R> : never;

/** Names of JSON-result methods. */
export type JsonMethodName = {
  [K in keyof ApiMethods]: ApiMethods[K] extends StreamMethod<infer _P> ? never : ApiMethods[K] extends ChannelMethod<infer _Q, infer _T> ? never : K;
}[keyof ApiMethods];
/** Names of channel methods (WebSocket only). */
export type ChannelMethodName = { [K in keyof ApiMethods]: ApiMethods[K] extends ChannelMethod<infer _P, infer _T> ? K : never }[keyof ApiMethods];
type ChannelValue<M> = M extends ChannelMethod<infer _P, infer T> ? T : never;

/** Names of streaming methods. */
export type StreamMethodName = { [K in keyof ApiMethods]: ApiMethods[K] extends StreamMethod<infer _P> ? K : never }[keyof ApiMethods];

export interface ApiClientOptions {
  /** Base URL, e.g. `http://127.0.0.1:2345`. */
  url: string;
  /** Bearer token (JWT); omitted → the server's default (read-only) permissions. */
  token?: string;
  /**
   * PEM certificate(s) trusted for an `https://` daemon besides the system's CAs. A process (the
   * CLI, a worker) trusts a daemon's own CA through `NODE_EXTRA_CA_CERTS` instead, which covers
   * every connection it makes. @default the system's CAs (and NODE_EXTRA_CA_CERTS)
   */
  ca?: string | Buffer;
}

export interface CallOptions {
  signal?: AbortSignal;
}

/** An upload in progress (see {@link ApiClient.push}). */
export interface PushHandle {
  /** The stream uuid to pass to the JSON-RPC call. */
  readonly id: string;
  /** Settles when the server has consumed the body (rejects with its typed error). */
  readonly done: Promise<void>;
}

export class ApiClient {
  readonly url: string;
  readonly #token: string | undefined;
  readonly #agent: Agent;
  readonly #request: typeof httpRequest;
  #nextId = 1;

  constructor(options: ApiClientOptions) {
    this.url = options.url.replace(/\/+$/, '');
    this.#token = options.token;
    const tls = new URL(this.url).protocol === 'https:';
    this.#agent = tls ? new HttpsAgent({ keepAlive: true, ...(options.ca !== undefined ? { ca: options.ca } : {}) }) : new Agent({ keepAlive: true });
    this.#request = tls ? httpsRequest : httpRequest;
  }

  /** Calls a JSON method. */
  async call<K extends JsonMethodName>(
    method: K,
    ...args: [...MethodParams<ApiMethods[K]>] | [...MethodParams<ApiMethods[K]>, CallOptions]
  ): Promise<MethodResult<ApiMethods[K]>> {
    const { params, options } = splitOptions(args);
    const res = await this.#post(RPC_PATH, this.#envelope(method, params), options.signal);
    const body = await readJson(res);
    return unwrap(body) as MethodResult<ApiMethods[K]>;
  }

  /** Calls a streaming method; resolves once the server has started the body. */
  async stream<K extends StreamMethodName>(
    method: K,
    ...args: [...MethodParams<ApiMethods[K]>] | [...MethodParams<ApiMethods[K]>, CallOptions]
  ): Promise<AsyncIterable<Uint8Array>> {
    const { params, options } = splitOptions(args);
    const res = await this.#post(RPC_PATH, this.#envelope(method, params), options.signal);
    if (!String(res.headers['content-type'] ?? '').startsWith('application/octet-stream')) {
      unwrap(await readJson(res));
      throw new InternalError(`${method} answered JSON without an error or a stream`);
    }
    return streamBody(res, method);
  }

  /**
   * Pushes `source` to the upload endpoint under a fresh uuid. Pass `handle.id` to the JSON-RPC
   * call that consumes it; both may run concurrently (the server waits for the other side).
   */
  push(source: AsyncIterable<Uint8Array>, options: CallOptions = {}): PushHandle {
    const id = randomUUID();
    const done = (async () => {
      const res = await this.#send(`${PUSH_PATH}${id}`, 'application/octet-stream', source, options.signal);
      const body = (await readJson(res)) as { ok?: boolean; error?: WireError; Error?: string };
      if (res.statusCode === 200 && body.ok) return;
      throw wireToError(body.error ?? { code: res.statusCode === 401 ? 'UNAUTHORIZED' : 'INTERNAL', message: body.Error ?? `push failed with HTTP ${res.statusCode}` });
    })();
    // the caller usually awaits the RPC call first; keep an early failure from being "unhandled"
    done.catch(() => {});
    return { id, done };
  }

  /**
   * The values of a channel method as they come (over a WebSocket of its own), until the daemon
   * closes the channel, `signal` aborts or the loop is left (the channel is cancelled then).
   */
  subscribe<K extends ChannelMethodName>(method: K, params: MethodParams<ApiMethods[K]>, signal?: AbortSignal): AsyncGenerator<ChannelValue<ApiMethods[K]>> {
    return subscribeChannel({ url: this.url, token: this.#token }, method, params, signal) as AsyncGenerator<ChannelValue<ApiMethods[K]>>;
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    this.#agent.destroy();
  }

  #envelope(method: string, params: unknown[]): string {
    return JSON.stringify({ jsonrpc: '2.0', id: this.#nextId++, method: `${METHOD_PREFIX}${method}`, params });
  }

  #post(path: string, body: string, signal?: AbortSignal): Promise<IncomingMessage> {
    return this.#send(path, 'application/json', body, signal);
  }

  #send(
    path: string,
    contentType: string,
    body: string | AsyncIterable<Uint8Array>,
    signal?: AbortSignal,
    retried = false,
  ): Promise<IncomingMessage> {
    const target = new URL(path, `${this.url}/`);
    return new Promise<IncomingMessage>((resolve, reject) => {
      if (signal?.aborted) {
        reject(new AbortedError('call cancelled'));
        return;
      }
      const headers: Record<string, string> = { 'Content-Type': contentType };
      if (this.#token) headers.Authorization = `Bearer ${this.#token}`;
      if (typeof body === 'string') headers['Content-Length'] = String(Buffer.byteLength(body));
      const req = this.#request(target, { method: 'POST', headers, agent: this.#agent, signal }, (res) => {
        if (res.statusCode === 401) {
          readJson(res).then(
            (b) => reject(new UnauthorizedError((b as { Error?: string }).Error ?? 'unauthorized')),
            reject,
          );
          return;
        }
        resolve(res);
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        // A kept-alive socket the server closed while idle fails on first use; the request never
        // reached the server, so a JSON call (whose body we still have) is sent once more on a
        // fresh socket (the remedy Node's http documentation gives for `reusedSocket`).
        if (err.code === 'ECONNRESET' && req.reusedSocket && typeof body === 'string' && !retried) {
          this.#send(path, contentType, body, signal, true).then(resolve, reject);
          return;
        }
        if (err.name === 'AbortError') reject(new AbortedError('call cancelled', { cause: err }));
        else if (TLS_TRUST_CODES.has(err.code ?? '')) {
          reject(
            new DaemonUnreachableError(
              `the daemon at ${this.url} presented a certificate this process does not trust (${err.code}: ${err.message}); if it is the daemon's own certificate or CA, name its PEM file in NODE_EXTRA_CA_CERTS`,
              { cause: err },
            ),
          );
        } else if (err.code === 'ECONNREFUSED' || err.code === 'ECONNRESET' || err.code === 'EHOSTUNREACH' || err.code === 'ENOTFOUND') {
          reject(new DaemonUnreachableError(`cannot reach the daemon at ${this.url}: ${err.code}`, { cause: err }));
        } else reject(err);
      });
      if (typeof body === 'string') {
        req.end(body);
        return;
      }
      pipeBody(body, req).catch((err) => req.destroy(err as Error));
    });
  }
}

/** OpenSSL's and Node's codes for a server certificate that does not verify. */
const TLS_TRUST_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** True for the error a call fails with when the daemon's certificate does not verify. */
export function isTlsTrustError(err: unknown): boolean {
  return err instanceof DaemonUnreachableError && TLS_TRUST_CODES.has((err.cause as NodeJS.ErrnoException | undefined)?.code ?? '');
}

async function pipeBody(source: AsyncIterable<Uint8Array>, req: import('node:http').ClientRequest): Promise<void> {
  for await (const chunk of source) {
    if (req.destroyed) return;
    if (!req.write(chunk)) await drainedOrClosed(req);
  }
  req.end();
}

/** Resolves on the request's next `drain` or `close`, removing the listener that did not fire. */
function drainedOrClosed(req: import('node:http').ClientRequest): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      req.off('drain', done);
      req.off('close', done);
      resolve();
    };
    req.on('drain', done);
    req.on('close', done);
  });
}

function splitOptions(args: unknown[]): { params: unknown[]; options: CallOptions } {
  const last = args[args.length - 1];
  if (last !== null && typeof last === 'object' && !Array.isArray(last) && 'signal' in last && Object.keys(last).length === 1) {
    return { params: args.slice(0, -1), options: last as CallOptions };
  }
  return { params: args, options: {} };
}

async function readJson(res: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of res as AsyncIterable<Buffer>) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    throw new InternalError(`the daemon answered HTTP ${res.statusCode} with a non-JSON body: ${text.slice(0, 200)}`);
  }
}

function wireToError(err: { code?: unknown; message?: unknown }): Error {
  const message = typeof err.message === 'string' ? err.message : 'unknown error';
  return errorFromWire({ code: isErrorCode(err.code) ? err.code : 'INTERNAL', message });
}

function unwrap(body: unknown): unknown {
  const b = body as { result?: unknown; error?: { message?: unknown; data?: { code?: unknown } } };
  if (b && typeof b === 'object' && b.error) {
    throw wireToError({ code: b.error.data?.code, message: b.error.message });
  }
  if (!b || typeof b !== 'object' || !('result' in b)) throw new InternalError('malformed JSON-RPC response');
  return b.result;
}

async function* streamBody(res: IncomingMessage, method: string): AsyncGenerator<Uint8Array> {
  let ended = false;
  res.once('end', () => {
    ended = true;
  });
  try {
    for await (const chunk of res as AsyncIterable<Buffer>) yield new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  } catch (err) {
    throw new DaemonUnreachableError(`${method}: the connection broke mid-stream: ${(err as Error).message}`, { cause: err });
  }
  const trailer = res.trailers[STREAM_ERROR_TRAILER.toLowerCase()];
  if (trailer) {
    let wire: WireError;
    try {
      wire = JSON.parse(trailer) as WireError;
    } catch {
      wire = { code: 'INTERNAL', message: trailer };
    }
    throw wireToError(wire);
  }
  if (!ended && !res.complete) throw new DaemonUnreachableError(`${method}: the stream ended early`);
}
