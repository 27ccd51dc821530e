/**
 * Small HTTP helpers for node-to-node sector traffic: a request that resolves with the response
 * (no body buffering), a body reader with an idle timeout, and a counting semaphore for the
 * parallel-fetch limit.
 */
import { type IncomingMessage, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { AbortedError, FetchFailedError } from '../errors.js';

/** Options of {@link sendRequest}. */
export interface SendOptions {
  method?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /**
   * Fails the request with FetchFailedError when no byte arrives for this long: while waiting for
   * the response head and, unless `idleBody` is false, while the body is read
   * ({@link withIdleTimeout}). Without it a peer that accepts the connection and never answers
   * holds the caller until its signal aborts.
   */
  idleMs?: number;
  /** Whether `idleMs` also covers the body. False for a body the caller hands to a consumer that may pause it for long. @default true */
  idleBody?: boolean;
}

/** Sends a request with no body; resolves with the response once its headers arrived. */
export function sendRequest(url: string, options: SendOptions = {}): Promise<IncomingMessage> {
  const target = new URL(url);
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
  const what = `${options.method ?? 'GET'} ${url}`;
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(new AbortedError(`request to ${url} cancelled`));
      return;
    }
    const idleMs = options.idleMs;
    const onHeadTimeout = () => req.destroy(new FetchFailedError(`${what}: no answer for ${idleMs} ms`));
    const req = request(target, { method: options.method ?? 'GET', headers: options.headers, signal: options.signal }, (res) => {
      if (idleMs !== undefined) {
        req.off('timeout', onHeadTimeout);
        req.setTimeout(0);
        if (options.idleBody !== false) withIdleTimeout(res, idleMs, what);
      }
      resolve(res);
    });
    if (idleMs !== undefined) req.setTimeout(idleMs, onHeadTimeout);
    req.on('error', (err) => {
      if (err instanceof FetchFailedError) reject(err);
      else if (err.name === 'AbortError') reject(new AbortedError(`request to ${url} cancelled`, { cause: err }));
      else reject(new FetchFailedError(`${what} failed: ${err.message}`, { cause: err }));
    });
    req.end();
  });
}

/** Reads a whole (small) response body as text. */
export async function readText(res: IncomingMessage, limit = 1 << 20): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    n += chunk.length;
    if (n > limit) {
      res.destroy();
      break;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Arms an idle timeout on a response: the body fails when no byte arrives for `idleMs` (a
 * stalled peer), instead of an overall deadline that would kill a slow but healthy 32 GiB
 * transfer. Uses the socket's own inactivity timer (no per-chunk JavaScript timers).
 */
export function withIdleTimeout(res: IncomingMessage, idleMs: number, what: string): IncomingMessage {
  const socket = res.socket;
  const onTimeout = () => res.destroy(new FetchFailedError(`${what}: no data for ${idleMs} ms`));
  socket.setTimeout(idleMs, onTimeout);
  const clear = () => {
    socket.setTimeout(0);
    socket.off('timeout', onTimeout);
  };
  res.once('end', clear);
  res.once('close', clear);
  return res;
}

/** A counting semaphore with abortable waits (the parallel-fetch limit). */
export class Limiter {
  readonly limit: number;
  #active = 0;
  #waiters: { resolve: () => void; reject: (e: Error) => void; signal?: AbortSignal; onAbort: () => void }[] = [];

  constructor(limit: number) {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`parallel fetch limit ${limit} must be a positive integer`);
    this.limit = limit;
  }

  get active(): number {
    return this.#active;
  }
  get waiting(): number {
    return this.#waiters.length;
  }

  /** Waits for a slot; returns its release function. */
  async acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) throw new AbortedError('waiting for a fetch slot was cancelled');
    if (this.#active < this.limit) {
      this.#active++;
      return this.#releaser();
    }
    await new Promise<void>((resolve, reject) => {
      const w = {
        resolve,
        reject,
        signal,
        onAbort: () => {
          const i = this.#waiters.indexOf(w);
          if (i >= 0) this.#waiters.splice(i, 1);
          reject(new AbortedError('waiting for a fetch slot was cancelled'));
        },
      };
      signal?.addEventListener('abort', w.onAbort, { once: true });
      this.#waiters.push(w);
    });
    return this.#releaser();
  }

  #releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.#waiters.shift();
      if (next) {
        next.signal?.removeEventListener('abort', next.onAbort);
        next.resolve(); // the slot passes straight to the next waiter
      } else {
        this.#active--;
      }
    };
  }
}
