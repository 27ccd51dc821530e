/**
 * `/inspect`: the offline actor inspector (read permission, no CDN, nothing from the internet).
 * - `GET /inspect`: a self-contained HTML page (src/api/inspect-page-html.ts);
 * - `GET /inspect/events`: Server-Sent Events: `tree` (the whole {@link ActorTree}) once, then a
 *   `frame` ({@link InspectionFrame}) per inspection batch that changed something;
 * - `GET /inspect/tree`: the tree as JSON (the API's `ActorsTree`);
 * - `GET /inspect/history/<sector>`: one sector's state history as JSON (`ActorsHistory`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Permission } from '../auth/tokens.js';
import type { MountHandler } from './http-server.js';
import { sendJson } from './http-server.js';
import { INSPECT_PAGE_HTML } from './inspect-page-html.js';
import type { InspectionSource } from './methods/actors.js';

/** The page's path prefix. */
export const INSPECT_PATH = '/inspect';

/** The `/inspect` mount over an inspection source; `signal` ends the open event streams (shutdown). */
export function createInspectHandler(source: () => InspectionSource | undefined, signal: AbortSignal): MountHandler {
  return (req: IncomingMessage, res: ServerResponse, auth: { permissions: readonly Permission[] }) => {
    req.resume();
    if (!auth.permissions.includes('read')) {
      sendJson(res, 401, { Error: 'unauthorized: missing read permission', code: 'UNAUTHORIZED' });
      return;
    }
    if (req.method !== 'GET') {
      res.setHeader('Allow', 'GET');
      sendJson(res, 405, { Error: `${INSPECT_PATH} accepts GET only` });
      return;
    }
    const path = new URL(req.url ?? '/', 'http://localhost').pathname.slice(INSPECT_PATH.length);
    if (path === '' || path === '/') {
      const body = Buffer.from(INSPECT_PAGE_HTML);
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': body.length, 'Cache-Control': 'no-store' });
      res.end(body);
      return;
    }
    const hub = source();
    if (!hub) {
      sendJson(res, 503, { Error: 'the actor system is not running yet' });
      return;
    }
    if (path === '/tree') {
      sendJson(res, 200, hub.tree());
      return;
    }
    const history = /^\/history\/(\d+)$/.exec(path);
    if (history) {
      const h = hub.history(Number(history[1]));
      if (h) sendJson(res, 200, h);
      else sendJson(res, 404, { Error: `sector ${history[1]} has no state history since the daemon started`, code: 'SECTOR_UNKNOWN' });
      return;
    }
    if (path === '/events') {
      streamEvents(hub, res, signal);
      return;
    }
    sendJson(res, 404, { Error: `no handler for ${INSPECT_PATH}${path}` });
  };
}

function streamEvents(hub: InspectionSource, res: ServerResponse, signal: AbortSignal): void {
  res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
  res.write(`event: tree\ndata: ${JSON.stringify(hub.tree())}\n\n`);
  // a client that reads slower than frames come is skipped until it drained: the next tree catches it up
  let behind = false;
  const unsubscribe = hub.subscribe((frame) => {
    if (behind) return;
    if (!res.write(`event: frame\ndata: ${JSON.stringify(frame)}\n\n`)) {
      behind = true;
      res.once('drain', () => {
        behind = false;
        res.write(`event: tree\ndata: ${JSON.stringify(hub.tree())}\n\n`);
      });
    }
  });
  const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
  keepAlive.unref();
  const end = () => {
    unsubscribe();
    clearInterval(keepAlive);
    signal.removeEventListener('abort', end);
    if (!res.writableEnded) res.end();
  };
  res.on('close', end);
  signal.addEventListener('abort', end, { once: true });
}
