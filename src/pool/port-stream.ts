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

/** Pumps `source` into `port`; resolves when the receiver has been sent everything or cancelled. */
export async function sendStream(source: AsyncIterable<Uint8Array>, port: MessagePort): Promise<void> {
  let credit = 0;
  let cancelled = false;
  let wake: (() => void) | undefined;
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
      // copy out of pooled Buffers before transferring (Buffer slices share a larger ArrayBuffer)
      const owned = chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength ? chunk : chunk.slice();
      port.postMessage({ chunk: owned } satisfies ToReceiver, [owned.buffer as ArrayBuffer]);
    }
    if (!cancelled) port.postMessage({ end: true } satisfies ToReceiver);
  } catch (err) {
    if (!cancelled) port.postMessage({ error: toWireError(err) } satisfies ToReceiver);
    throw err;
  } finally {
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
