/**
 * The client side of a channel method (`rpc-channel.ts`, go-jsonrpc's protocol), for the CLI's
 * watch views: one WebSocket per subscription at `/rpc/v0` (bearer header), the call answered
 * with a channel id, then its `xrpc.ch.val` values until `xrpc.ch.close`. Stopping (the signal
 * aborts, or the consumer leaves the loop) sends `xrpc.cancel` and closes the socket.
 */
import WebSocket from 'ws';
import { AbortedError, DaemonUnreachableError, errorFromWire, isErrorCode } from '../errors.js';
import { RPC_PATH } from './http-server.js';
import { METHOD_PREFIX } from './rpc-method.js';

interface Frame {
  id?: number | string | null;
  result?: unknown;
  error?: { code: number; message: string; data?: { code?: string } };
  method?: string;
  params?: unknown[];
}

/** Values of the channel `method(...params)` on the daemon at `url`, as they come. */
export async function* subscribeChannel(
  target: { url: string; token: string | undefined },
  method: string,
  params: unknown[],
  signal?: AbortSignal,
): AsyncGenerator<unknown> {
  if (signal?.aborted) throw new AbortedError('subscription cancelled');
  const ws = new WebSocket(`${target.url.replace(/^http/, 'ws')}${RPC_PATH}`, {
    headers: target.token ? { Authorization: `Bearer ${target.token}` } : {},
  });
  const queue: unknown[] = [];
  let chanId: number | undefined;
  let ended = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  ws.on('message', (data) => {
    const f = JSON.parse(String(data)) as Frame;
    if (f.id === 1 && f.method === undefined) {
      if (f.error) {
        const code = f.error.data?.code;
        failure = isErrorCode(code) ? errorFromWire({ code, message: f.error.message }) : new Error(f.error.message);
      } else chanId = f.result as number;
    } else if (f.method === 'xrpc.ch.val' && f.params && f.params[0] === chanId) queue.push(f.params[1]);
    else if (f.method === 'xrpc.ch.close' && f.params?.[0] === chanId) ended = true;
    notify();
  });
  ws.on('error', (err: NodeJS.ErrnoException) => {
    failure ??= new DaemonUnreachableError(`cannot reach the daemon at ${target.url}: ${err.code ?? err.message}`, { cause: err });
    notify();
  });
  ws.on('close', () => {
    ended = true;
    notify();
  });
  const onAbort = () => notify();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await new Promise<void>((resolve) => {
      ws.once('open', () => resolve());
      ws.once('close', () => resolve());
    });
    if (failure) throw failure;
    ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: `${METHOD_PREFIX}${method}`, params }));
    for (;;) {
      if (failure) throw failure;
      if (signal?.aborted) return;
      const next = queue.shift();
      if (next !== undefined) {
        yield next;
        continue;
      }
      if (ended) {
        if (chanId === undefined) throw new DaemonUnreachableError(`the daemon closed the connection before answering ${method}`);
        return;
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    if (ws.readyState === ws.OPEN) {
      if (chanId !== undefined && !ended) ws.send(JSON.stringify({ jsonrpc: '2.0', method: 'xrpc.cancel', params: [1] }));
      ws.close();
    } else ws.terminate();
  }
}
