/**
 * Byte streams over a MessagePort, with credit-based flow control, so a pool thread can consume
 * data arriving on the main thread (an HTTP upload, say) without staging it in a file and
 * without buffering more than `window` chunks in flight.
 *
 * Protocol: the receiver grants credit (`{ credit: n }`); the sender sends at most that many
 * `{ chunk }` messages (transferring each chunk's buffer), then `{ end: true }` or
 * `{ error: { code, message } }`. The receiver may send `{ cancel: true }` to stop the sender.
 */
import type { MessagePort } from 'node:worker_threads';
import { AbortedError, errorFromWire, toWireError, type WireError } from '../errors.js';

type ToReceiver = { chunk: Uint8Array } | { end: true } | { error: WireError };
type ToSender = { credit: number } | { cancel: true };

/**
 * Pumps `source` into `port`; resolves when the receiver has been sent everything or cancelled.
 * Aborting `signal` sends the receiver an ABORTED error: a `close` event alone is not enough,
 * since a receiver that starts listening after the port closed would never see it.
 */
export async function sendStream(
  source: AsyncIterable<Uint8Array>,
  port: MessagePort,
  signal?: AbortSignal,
): Promise<void> {
  let credit = 0;
  let cancelled = false;
  let wake: (() => void) | undefined;
  const onAbort = () => {
    if (cancelled) return;
    cancelled = true;
    port.postMessage({ error: { code: 'ABORTED', message: 'upload cancelled by the sender' } } satisfies ToReceiver);
    wake?.();
  };
  if (signal?.aborted) return onAbort();
  signal?.addEventListener('abort', onAbort, { once: true });
  port.on('message', (msg: ToSender) => {
    if ('credit' in msg) credit += msg.credit;
    else cancelled = true;
    wake?.();
  });
  port.on('close', () => {
    cancelled = true;
    wake?.();
  });
  const waitForCredit = () =>
    new Promise<void>((resolve) => {
      wake = () => {
        wake = undefined;
        resolve();
      };
    });
  try {
    for await (const chunk of source) {
      while (credit === 0 && !cancelled) await waitForCredit();
      if (cancelled) return;
      credit--;
      // Always copy: transferring detaches the buffer, which must not empty the caller's array,
      // and a pooled Buffer's ArrayBuffer holds other data (Buffer#slice is a view, not a copy).
      const owned = new Uint8Array(chunk);
      port.postMessage({ chunk: owned } satisfies ToReceiver, [owned.buffer as ArrayBuffer]);
    }
    if (!cancelled) port.postMessage({ end: true } satisfies ToReceiver);
  } catch (err) {
    if (!cancelled) port.postMessage({ error: toWireError(err) } satisfies ToReceiver);
    throw err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    port.removeAllListeners('message');
  }
}

/** Reads a stream sent with {@link sendStream}; `window` chunks may be in flight at once. */
export async function* receiveStream(port: MessagePort, window = 8): AsyncGenerator<Uint8Array> {
  const queue: ToReceiver[] = [];
  let wake: (() => void) | undefined;
  let closed = false;
  port.on('message', (msg: ToReceiver) => {
    queue.push(msg);
    wake?.();
  });
  port.on('close', () => {
    closed = true;
    wake?.();
  });
  port.postMessage({ credit: window } satisfies ToSender);
  let finished = false;
  try {
    for (;;) {
      while (queue.length === 0) {
        if (closed) throw new AbortedError('stream closed by the sender before it ended');
        await new Promise<void>((resolve) => {
          wake = () => {
            wake = undefined;
            resolve();
          };
        });
      }
      const msg = queue.shift()!;
      if ('end' in msg) {
        finished = true;
        return;
      }
      if ('error' in msg) {
        finished = true;
        throw errorFromWire(msg.error);
      }
      port.postMessage({ credit: 1 } satisfies ToSender);
      yield msg.chunk;
    }
  } finally {
    if (!finished && !closed) port.postMessage({ cancel: true } satisfies ToSender);
    port.removeAllListeners('message');
    port.close();
  }
}
