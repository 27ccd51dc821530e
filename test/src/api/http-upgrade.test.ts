import { once } from 'node:events';
import test from 'ava';
import { WebSocket, WebSocketServer } from 'ws';
import type { ApiComponents } from '../../../src/api/components.js';
import { ApiHttpServer, refuseUpgrade } from '../../../src/api/http-server.js';
import { RpcServer } from '../../../src/api/rpc-server.js';
import { StreamRegistry } from '../../../src/api/stream-registry.js';
import type { Permission } from '../../../src/auth/tokens.js';
import { UnauthorizedError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log/logger.js';

const TOKENS: Record<string, Permission[]> = { admin: ['read', 'write', 'sign', 'admin'], reader: ['read'] };

async function server() {
  const streams = new StreamRegistry();
  const rpc = new RpcServer({}, {} as ApiComponents, streams);
  const http = new ApiHttpServer({
    rpc,
    streams,
    authenticate: (token) => {
      const perms = TOKENS[token];
      if (!perms) throw new UnauthorizedError('token signature is invalid');
      return perms;
    },
    log: silentLogger(),
  });
  const wss = new WebSocketServer({ noServer: true });
  const seen: { permissions: readonly Permission[]; signal: AbortSignal }[] = [];
  http.upgrade('/ws', (req, socket, head, auth) => {
    seen.push(auth);
    if (!auth.permissions.includes('admin')) {
      refuseUpgrade(socket, 403, { Error: 'needs admin', code: 'UNAUTHORIZED' });
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.send('welcome');
      auth.signal.addEventListener('abort', () => ws.close(1001, 'going away'), { once: true });
    });
  });
  const bound = await http.listen('127.0.0.1', 0);
  return { http, seen, url: (path: string) => `ws://127.0.0.1:${bound.port}${path}` };
}

/** Opens a WebSocket and resolves with its first message, or with the HTTP status it was refused with and the body. */
function connect(url: string, token?: string): Promise<{ message: string; ws: WebSocket } | { status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, token ? { headers: { Authorization: `Bearer ${token}` } } : {});
    ws.once('message', (d: Buffer) => resolve({ message: d.toString(), ws }));
    ws.once('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString()) }));
    });
    ws.once('error', (err) => {
      if (!/Unexpected server response/.test(err.message)) reject(err);
    });
  });
}

test('a WebSocket upgrade of a registered path reaches its handler with the token permissions, and the server close aborts its signal', async (t) => {
  const s = await server();
  const r = await connect(s.url('/ws?x=1'), 'admin');
  if (!('message' in r)) return t.fail(`refused ${r.status}`);
  t.is(r.message, 'welcome');
  t.deepEqual(s.seen[0]?.permissions, TOKENS.admin);
  const closed = once(r.ws, 'close') as Promise<[number, Buffer]>;
  await s.http.close(2000);
  const [code, reason] = await closed;
  t.is(code, 1001);
  t.is(reason.toString(), 'going away');
});

test('an upgrade with a bad token is refused 401 naming the problem, before any handler runs', async (t) => {
  const s = await server();
  t.teardown(() => s.http.close());
  const r = await connect(s.url('/ws'), 'forged');
  t.deepEqual(r, { status: 401, body: { Error: 'token signature is invalid', code: 'UNAUTHORIZED' } });
  t.is(s.seen.length, 0);
});

test('an upgrade of an unknown path is refused 404; a handler may refuse with its own status', async (t) => {
  const s = await server();
  t.teardown(() => s.http.close());
  t.deepEqual(await connect(s.url('/nope'), 'admin'), { status: 404, body: { Error: 'no WebSocket endpoint at /nope' } });
  t.deepEqual(await connect(s.url('/ws'), 'reader'), { status: 403, body: { Error: 'needs admin', code: 'UNAUTHORIZED' } });
  // no token: the default permissions (read), as on the HTTP API
  t.deepEqual(await connect(s.url('/ws')), { status: 403, body: { Error: 'needs admin', code: 'UNAUTHORIZED' } });
  t.deepEqual(
    s.seen.map((a) => a.permissions),
    [['read'], ['read']],
  );
});
