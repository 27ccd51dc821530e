/**
 * JSON-RPC 2.0 over a WebSocket at `/rpc/v0`, as Lotus serves its API to `lotus-client-rpc` and
 * its own Go client: each text frame is one request (or notification), each answer one frame, by
 * the same dispatcher as `POST /rpc/v0` with the permissions the upgrade was authenticated with
 * (bearer header or `?token=`). Calls on one connection run concurrently and answer in the order
 * they finish; a notification (no `id`) runs and is not answered (JSON-RPC 2.0 §4.1). Methods whose
 * result is a byte stream answer over HTTP only; methods whose result is a channel answer here
 * only (`rpc-channel.ts`: go-jsonrpc's `xrpc.ch.val` / `xrpc.ch.close` / `xrpc.cancel`).
 */
import type { IncomingMessage } from 'node:http';
import type { Logger } from '../log/logger.js';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import type { Permission } from '../auth/tokens.js';
import { type DispatchResult, RpcErrorCode, type RpcServer } from './rpc-server.js';
import { ChannelWriter, type OutChannel } from './rpc-channel.js';
import { InvalidArgumentError, toWireError } from '../errors.js';
import type { UpgradeHandler } from './http-server.js';

/** Largest request frame. */
const MAX_FRAME_BYTES = 16 << 20;

/**
 * True when a parsed JSON-RPC request is a notification: a request object (it names a method)
 * without an `id` member. Anything else without an id is an invalid request, answered with `id: null`.
 */
export function isNotification(request: unknown): boolean {
  return (
    typeof request === 'object' &&
    request !== null &&
    !Array.isArray(request) &&
    typeof (request as { method?: unknown }).method === 'string' &&
    !Object.hasOwn(request, 'id')
  );
}

/** The upgrade handler serving `rpc` over WebSocket connections. */
export function rpcWebSocketHandler(rpc: RpcServer, log?: Logger): UpgradeHandler {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  return (req: IncomingMessage, socket: Duplex, head: Buffer, auth) => {
    wss.handleUpgrade(req, socket, head, (ws) => serve(ws, rpc, auth.permissions, auth.signal, log));
  };
}

function serve(ws: WebSocket, rpc: RpcServer, permissions: readonly Permission[], shutdown: AbortSignal, log?: Logger): void {
  // calls in flight end when the client goes away or the server shuts down; each also has its own
  // controller, for xrpc.cancel (by the call's id) and for its channel
  const connection = new AbortController();
  const inFlight = new Map<number | string, AbortController>();
  const channels = new ChannelWriter({
    send: (text, flushed) => ws.send(text, flushed),
    buffered: () => ws.bufferedAmount,
  });
  const onShutdown = () => {
    connection.abort(new Error('server shutting down'));
    ws.close(1001, 'server shutting down');
  };
  shutdown.addEventListener('abort', onShutdown, { once: true });
  ws.on('close', () => {
    shutdown.removeEventListener('abort', onShutdown);
    const reason = new Error('client disconnected');
    connection.abort(reason);
    for (const call of inFlight.values()) call.abort(reason);
    inFlight.clear();
    channels.dropAll();
  });
  ws.on('error', (err) => log?.warn(`rpc websocket: ${err.message}`));
  const send = (message: unknown) => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
  };
  ws.on('message', (data, isBinary) => {
    let request: unknown;
    try {
      request = JSON.parse(isBinary ? Buffer.from(data as Buffer).toString('utf8') : data.toString());
    } catch (err) {
      send({ jsonrpc: '2.0', id: null, error: { code: RpcErrorCode.parseError, message: `parse error: ${(err as Error).message}`, data: { code: 'INVALID_ARGUMENT' } } });
      return;
    }
    const notification = isNotification(request);
    const { method, id, params } = request as { method?: unknown; id?: unknown; params?: unknown };
    if (method === CANCEL_METHOD) {
      // go-jsonrpc's cancel: params [call id]; a notification, never answered
      const target = Array.isArray(params) ? params[0] : undefined;
      if (typeof target === 'number' || typeof target === 'string') inFlight.get(target)?.abort(new Error('cancelled by the client'));
      return;
    }
    const key = typeof id === 'number' || typeof id === 'string' ? id : undefined;
    const call = new AbortController();
    if (key !== undefined && !inFlight.has(key)) inFlight.set(key, call);
    const onConnectionAbort = () => call.abort(connection.signal.reason);
    connection.signal.addEventListener('abort', onConnectionAbort, { once: true });
    const done = () => {
      connection.signal.removeEventListener('abort', onConnectionAbort);
      if (key !== undefined && inFlight.get(key) === call) inFlight.delete(key);
    };
    void rpc.dispatch(request, permissions, call.signal).then(
      async (result) => {
        if (result.kind === 'stream') {
          done();
          // the body is not read: stop its producer
          await result.body[Symbol.asyncIterator]().return?.();
          if (!notification) {
            send({
              jsonrpc: '2.0',
              id: result.id,
              error: { code: RpcErrorCode.invalidRequest, message: 'this method streams its result: call it with POST /rpc/v0', data: { code: 'INVALID_ARGUMENT' } },
            });
          }
          return;
        }
        if (result.kind === 'channel') {
          if (notification) {
            done();
            return;
          }
          await openChannel(result, call, done);
          return;
        }
        done();
        if (!notification) send(result.response);
      },
      (err) => {
        done();
        log?.error({ err }, 'rpc websocket dispatch failed');
      },
    );
  });

  /**
   * Opens a channel: the method checks its call first (an error answers the call, nothing is
   * opened), then the answer names the channel and its values follow. The channel ends when the
   * method closes it, or on xrpc.cancel, disconnect or shutdown (the method's signal aborts);
   * either way the method's signal is aborted, so its producer stops.
   */
  async function openChannel(result: Extract<DispatchResult, { kind: 'channel' }>, call: AbortController, done: () => void): Promise<void> {
    const out = channels.create<unknown>();
    const onCancel = () => out.close();
    call.signal.addEventListener('abort', onCancel, { once: true });
    // however it closes (the method, an overflow, a cancel): its producer stops
    out.onClosed = () => {
      call.signal.removeEventListener('abort', onCancel);
      if (!call.signal.aborted) call.abort(new Error('channel closed'));
      done();
    };
    try {
      await result.open(call.signal, out);
    } catch (err) {
      channels.drop(out as OutChannel<unknown>);
      const wire = toWireError(err);
      const code = err instanceof InvalidArgumentError ? RpcErrorCode.invalidParams : RpcErrorCode.serverError;
      send({ jsonrpc: '2.0', id: result.id, error: { code, message: wire.message, data: { code: wire.code } } });
      return;
    }
    if (call.signal.aborted) {
      // cancelled (or disconnected) while it opened: its answer still names it, then it closes
      out.close();
    }
    send({ jsonrpc: '2.0', id: result.id, result: out.id });
    out.start();
  }
}

/** go-jsonrpc's method for cancelling a call (or channel) in flight by its id. */
export const CANCEL_METHOD = 'xrpc.cancel';
