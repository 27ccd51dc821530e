/**
 * JSON-RPC 2.0 over a WebSocket at `/rpc/v0`, as Lotus serves its API to `lotus-client-rpc` and
 * its own Go client: each text frame is one request (or notification), each answer one frame, by
 * the same dispatcher as `POST /rpc/v0` with the permissions the upgrade was authenticated with
 * (bearer header or `?token=`). Calls on one connection run concurrently and answer in the order
 * they finish; a notification (no `id`) runs and is not answered (JSON-RPC 2.0 §4.1). Methods whose
 * result is a byte stream answer over HTTP only.
 */
import type { IncomingMessage } from 'node:http';
import type { Logger } from '../log/logger.js';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import type { Permission } from '../auth/tokens.js';
import { RpcErrorCode, type RpcServer } from './rpc-server.js';
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
  // calls in flight end when the client goes away or the server shuts down
  const connection = new AbortController();
  const onShutdown = () => {
    connection.abort(new Error('server shutting down'));
    ws.close(1001, 'server shutting down');
  };
  shutdown.addEventListener('abort', onShutdown, { once: true });
  ws.on('close', () => {
    shutdown.removeEventListener('abort', onShutdown);
    connection.abort(new Error('client disconnected'));
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
    void rpc.dispatch(request, permissions, connection.signal).then(
      async (result) => {
        if (result.kind === 'stream') {
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
        if (!notification) send(result.response);
      },
      (err) => log?.error({ err }, 'rpc websocket dispatch failed'),
    );
  });
}
