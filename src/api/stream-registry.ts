/**
 * Upload streams for JSON-RPC calls, like Lotus's `/rpc/streams/v0/push/<uuid>`: the client
 * POSTs a body to the push endpoint while its JSON-RPC call names the stream by uuid. Either may
 * arrive first: {@link StreamRegistry.take} waits for the push, and the push request is held
 * open until the consumer has read the body (or failed), then answered with the outcome.
 */
import type { IncomingMessage } from 'node:http';
import { AbortedError, InvalidArgumentError, toWireError, UploadNotPushedError, type WireError } from '../errors.js';

interface Pending {
  body?: IncomingMessage;
  /** Resolves a waiting take(). */
  deliver?: (body: IncomingMessage) => void;
  /** Resolves the push request with the consumer's outcome. */
  settle?: (outcome: { ok: true } | { ok: false; error: WireError }) => void;
  timer?: NodeJS.Timeout;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True when `id` looks like a stream uuid. */
export function isStreamId(id: string): boolean {
  return UUID_RE.test(id);
}

/** A consumed upload: the bytes, and a callback to report how consuming them ended. */
export interface TakenStream {
  readonly body: AsyncIterable<Uint8Array>;
  /** Answers the push request: 200 on success, an error body otherwise. */
  done(error?: unknown): void;
}

export class StreamRegistry {
  readonly #pending = new Map<string, Pending>();
  readonly #waitMs: number;
  readonly #takeWaitMs: number;

  /**
   * @param waitMs how long a push waits for the call that consumes it. @default 30000
   * @param takeWaitMs how long a call waits for its push to begin: a client pushes while (or
   *   before) it calls, so a stream not begun by then was never pushed, and the call fails
   *   UPLOAD_NOT_PUSHED instead of holding a sector. @default min(waitMs, 5000)
   */
  constructor(waitMs = 30_000, takeWaitMs = Math.min(waitMs, 5_000)) {
    this.#waitMs = waitMs;
    this.#takeWaitMs = takeWaitMs;
  }

  /**
   * Called by the push endpoint: registers the request body under `id` and resolves with the
   * consumer's outcome once it has finished with the body.
   */
  push(id: string, body: IncomingMessage): Promise<{ ok: true } | { ok: false; error: WireError }> {
    if (!isStreamId(id)) throw new InvalidArgumentError(`stream id "${id}" is not a uuid`);
    return new Promise((resolve) => {
      const entry = this.#pending.get(id);
      if (entry?.body) {
        resolve({ ok: false, error: { code: 'INVALID_ARGUMENT', message: `stream ${id} was already pushed` } });
        return;
      }
      const settle = (outcome: { ok: true } | { ok: false; error: WireError }) => resolve(outcome);
      if (entry?.deliver) {
        clearTimeout(entry.timer);
        this.#pending.delete(id);
        entry.settle = settle;
        this.#bindSettle(id, settle);
        entry.deliver(body);
        return;
      }
      // the client gave up before any call took the stream: forget it
      body.once('close', () => {
        const e = this.#pending.get(id);
        if (e?.body === body) {
          clearTimeout(e.timer);
          this.#pending.delete(id);
          settle({ ok: false, error: { code: 'ABORTED', message: `stream ${id} closed by the client before it was used` } });
        }
      });
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        body.resume();
        settle({ ok: false, error: { code: 'ABORTED', message: `no API call consumed stream ${id} within ${this.#waitMs} ms` } });
      }, this.#waitMs);
      this.#pending.set(id, { body, settle, timer });
    });
  }

  readonly #settlers = new Map<string, (outcome: { ok: true } | { ok: false; error: WireError }) => void>();

  #bindSettle(id: string, settle: (outcome: { ok: true } | { ok: false; error: WireError }) => void): void {
    this.#settlers.set(id, settle);
  }

  /** Called by a method handler: the stream pushed (or about to be pushed) under `id`. */
  async take(id: string, signal?: AbortSignal): Promise<TakenStream> {
    if (!isStreamId(id)) throw new InvalidArgumentError(`stream id "${id}" is not a uuid`);
    const existing = this.#pending.get(id);
    let body: IncomingMessage;
    if (existing?.body) {
      clearTimeout(existing.timer);
      this.#pending.delete(id);
      body = existing.body;
      this.#bindSettle(id, existing.settle!);
    } else {
      if (existing) throw new InvalidArgumentError(`stream ${id} is already being waited for`);
      // an already-aborted signal never fires 'abort': without this the call would wait out waitMs
      if (signal?.aborted) throw new AbortedError(`call cancelled before stream ${id} was pushed`);
      body = await new Promise<IncomingMessage>((resolve, reject) => {
        const onAbort = () => {
          clearTimeout(entry.timer);
          this.#pending.delete(id);
          reject(new AbortedError(`call cancelled while waiting for stream ${id}`));
        };
        const entry: Pending = {
          deliver: (b) => {
            signal?.removeEventListener('abort', onAbort);
            resolve(b);
          },
          timer: setTimeout(() => {
            this.#pending.delete(id);
            signal?.removeEventListener('abort', onAbort);
            reject(new UploadNotPushedError(`upload stream ${id} was not pushed within ${this.#takeWaitMs} ms; nothing was added`));
          }, this.#takeWaitMs),
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        this.#pending.set(id, entry);
      });
    }
    let finished = false;
    return {
      body,
      done: (error?: unknown) => {
        if (finished) return;
        finished = true;
        const settle = this.#settlers.get(id);
        this.#settlers.delete(id);
        // drain what the consumer left unread, so the client sees the response rather than a reset
        if (!body.readableEnded) body.resume();
        settle?.(error === undefined ? { ok: true } : { ok: false, error: toWireError(error) });
      },
    };
  }

  /** Fails every waiting push and take (server shutdown). */
  close(): void {
    for (const [id, entry] of this.#pending) {
      clearTimeout(entry.timer);
      entry.body?.resume();
      entry.settle?.({ ok: false, error: { code: 'ABORTED', message: `server shutting down; stream ${id} dropped` } });
    }
    this.#pending.clear();
    for (const settle of this.#settlers.values()) {
      settle({ ok: false, error: { code: 'ABORTED', message: 'server shutting down' } });
    }
    this.#settlers.clear();
  }
}
