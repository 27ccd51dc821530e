/**
 * The worker's side of its connection (ManagerLink) against a manager scripted in the test: what
 * stops the worker (a refused token, no worker endpoint, another protocol version), what it waits
 * through (a manager still starting), and a silent connection it drops and makes again.
 */
import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../../src/log/logger.js';
import { messageLogger } from '../../helpers/log-recorder.js';
import anyTest, { type TestFn } from 'ava';
import { WebSocketServer } from 'ws';
import { RpcPeer } from '../../../src/api/rpc-peer.js';
import { WORKER_PROTOCOL, type WorkerHello } from '../../../src/api/worker-protocol.js';
import { ManagerLink } from '../../../src/daemon/manager-link.js';
import type { SectorStorageError } from '../../../src/errors.js';

interface Manager {
  url: string;
  /** How the next upgrade is answered: a status to refuse with, or accepted. */
  answer: { status?: number; body?: unknown };
  /** What WorkerConnect answers. */
  welcome: (hello: WorkerHello) => unknown;
  hellos: WorkerHello[];
  upgrades: number;
  peers: RpcPeer[];
}

const test = anyTest as TestFn<{ m: Manager; server: Server; links: ManagerLink[]; onUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void }>;

test.beforeEach(async (t) => {
  const wss = new WebSocketServer({ noServer: true });
  const m: Manager = {
    url: '',
    answer: {},
    welcome: () => ({ Protocol: WORKER_PROTOCOL, Version: 'test', Session: randomUUID(), Miner: 1000, HeartbeatMs: 10_000 }),
    hellos: [],
    upgrades: 0,
    peers: [],
  };
  const server = createServer();
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    m.upgrades++;
    if (m.answer.status) {
      const text = JSON.stringify(m.answer.body ?? {});
      socket.end(`HTTP/1.1 ${m.answer.status} X\r\nContent-Type: application/json\r\nContent-Length: ${text.length}\r\nConnection: close\r\n\r\n${text}`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const peer = new RpcPeer(ws, {
        methods: {
          WorkerConnect: ([hello]) => {
            m.hellos.push(hello as WorkerHello);
            return m.welcome(hello as WorkerHello);
          },
        },
      });
      m.peers.push(peer);
    });
  };
  server.on('upgrade', onUpgrade);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  m.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  t.context = { m, server, links: [], onUpgrade };
});
test.afterEach.always(async (t) => {
  for (const l of t.context.links) l.close();
  for (const p of t.context.m.peers) p.terminate();
  t.context.server.closeAllConnections();
  await new Promise((r) => t.context.server.close(r));
});

function link(t: { context: { m: Manager; links: ManagerLink[] } }, extra: { url?: string; ca?: Buffer; log?: Logger } = {}) {
  const events: string[] = [];
  let fatal: SectorStorageError | undefined;
  const l = new ManagerLink({
    managerUrl: extra.url ?? t.context.m.url,
    ...(extra.ca ? { ca: extra.ca } : {}),
    ...(extra.log ? { log: extra.log } : {}),
    token: 'tok',
    version: 'test',
    hello: () => ({ Protocol: WORKER_PROTOCOL, Version: 'test', Session: randomUUID(), URL: 'http://127.0.0.1:1', Info: {} as WorkerHello['Info'], Calls: { Running: [], Done: [] } }),
    methods: {},
    onConnected: () => events.push('connected'),
    onDisconnected: () => events.push('disconnected'),
    onFatal: (err) => {
      fatal = err;
      events.push(`fatal ${err.code}`);
    },
    retryMs: 20,
    maxRetryMs: 40,
  });
  t.context.links.push(l);
  l.start();
  return { l, events, fatal: () => fatal };
}

async function until(what: string, fn: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('a token the manager refuses (401 or 403) stops the worker with UNAUTHORIZED and the manager\'s reason, without retrying', async (t) => {
  for (const status of [401, 403]) {
    t.context.m.answer = { status, body: { Error: `refused with ${status}`, code: 'UNAUTHORIZED' } };
    t.context.m.upgrades = 0;
    const { events, fatal } = link(t);
    await until('the refusal', () => events.length > 0);
    t.deepEqual(events, ['fatal UNAUTHORIZED']);
    t.regex(fatal()?.message ?? '', new RegExp(`refused this worker's token \\(${status}\\): refused with ${status}`));
    await new Promise((r) => setTimeout(r, 150));
    t.is(t.context.m.upgrades, 1, 'no second attempt');
  }
});

test('a manager without the worker endpoint (404) stops the worker with PROTOCOL_MISMATCH', async (t) => {
  t.context.m.answer = { status: 404, body: { Error: 'no WebSocket endpoint at /rpc/worker/v0' } };
  const { events, fatal } = link(t);
  await until('the refusal', () => events.length > 0);
  t.deepEqual(events, ['fatal PROTOCOL_MISMATCH']);
  t.regex(fatal()?.message ?? '', /has no worker endpoint/);
});

test('a welcome of another protocol version stops the worker with PROTOCOL_MISMATCH naming both versions', async (t) => {
  t.context.m.welcome = () => ({ Protocol: 9, Version: '9.0.0', Session: randomUUID(), Miner: 1000, HeartbeatMs: 1000 });
  const { events, fatal } = link(t);
  await until('the refusal', () => events.length > 0);
  t.deepEqual(events, ['fatal PROTOCOL_MISMATCH']);
  t.is(fatal()?.message, `the manager speaks worker protocol 9 (sector-storage 9.0.0), this worker speaks ${WORKER_PROTOCOL} (sector-storage test); run the same version on both`);
});

test('a manager that is still starting (503) is tried again until it takes the worker', async (t) => {
  t.context.m.answer = { status: 503, body: { Error: 'the manager is starting' } };
  const { events } = link(t);
  await until('a few attempts', () => t.context.m.upgrades >= 3);
  t.deepEqual(events, []);
  t.context.m.answer = {};
  await until('the connection', () => events.includes('connected'));
  t.deepEqual(events, ['connected']);
  t.is(t.context.m.hellos.length, 1);
});

test('a connection on which nothing arrives for three heartbeat periods is dropped and made again, with a new hello', async (t) => {
  t.context.m.welcome = () => ({ Protocol: WORKER_PROTOCOL, Version: 'test', Session: randomUUID(), Miner: 1000, HeartbeatMs: 50 });
  const { events } = link(t);
  // the scripted manager never calls Session: the worker gives up on the connection and reconnects
  await until('a reconnection', () => events.filter((e) => e === 'connected').length >= 2);
  t.deepEqual(events.slice(0, 3), ['connected', 'disconnected', 'connected']);
  t.true(t.context.m.hellos.length >= 2);
});

test('over wss:// a worker connects to a manager behind TLS whose certificate it trusts (the ca option), given as https:// or wss://, and does not connect while it does not trust it', async (t) => {
  // a self-signed certificate for 127.0.0.1, made for this test
  const dir = mkdtempSync(join(tmpdir(), 'ss-wss-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  const tls = createHttpsServer({ key: readFileSync(key), cert: readFileSync(cert) });
  tls.on('upgrade', t.context.onUpgrade);
  await new Promise<void>((r) => tls.listen(0, '127.0.0.1', r));
  t.teardown(async () => {
    // upgraded sockets are not the server's connections any more: end them first
    for (const l of t.context.links) l.close();
    for (const p of t.context.m.peers) p.terminate();
    tls.closeAllConnections();
    await new Promise((r) => tls.close(r));
  });
  const url = `https://127.0.0.1:${(tls.address() as AddressInfo).port}`;

  const logs: string[] = [];
  const untrusted = link(t, { url, log: messageLogger(logs) });
  await until('a refused TLS handshake', () => logs.some((l) => /self-signed certificate/.test(l)));
  t.false(untrusted.l.connected);
  t.is(t.context.m.hellos.length, 0);
  t.is(untrusted.fatal(), undefined, 'a certificate it does not trust is retried, not fatal: the operator may fix it');
  untrusted.l.close();

  const trusted = link(t, { url, ca: readFileSync(cert) });
  await until('the welcome over wss', () => trusted.events.includes('connected'));
  t.true(trusted.l.connected);
  t.is(t.context.m.hellos.length, 1);
  trusted.l.close();

  // given as wss:// (Lotus operators write the WebSocket URL), it is still TLS
  const wss = link(t, { url: url.replace(/^https:/, 'wss:'), ca: readFileSync(cert) });
  await until('the welcome over wss, from a wss:// URL', () => wss.events.includes('connected'));
  t.is(t.context.m.hellos.length, 2);
});
