/**
 * The channel protocol on a bare server (one channel method, raw `ws` frames): how a channel
 * opens, what ends it (xrpc.cancel, the method, a disconnect) and that its producer always hears.
 */
import test, { type ExecutionContext } from 'ava';
import WebSocket from 'ws';
import type { ApiComponents } from '../../../src/api/components.js';
import { ApiHttpServer, RPC_PATH } from '../../../src/api/http-server.js';
import { defineChannelMethod } from '../../../src/api/rpc-method.js';
import { RpcServer } from '../../../src/api/rpc-server.js';
import { rpcWebSocketHandler } from '../../../src/api/rpc-websocket.js';
import { StreamRegistry } from '../../../src/api/stream-registry.js';
import { InvalidArgumentError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log/logger.js';

interface Frame {
  id?: number | null;
  result?: unknown;
  error?: { code: number; message: string; data?: { code?: string } };
  method?: string;
  params?: unknown[];
}

async function channelServer(t: ExecutionContext) {
  const seen = { opened: 0, stopped: [] as string[] };
  const methods = {
    /** Ticks every 5 ms until stopped; `Ticks(n)` closes after n values; n < 0 is refused. */
    Ticks: defineChannelMethod<[number], number>({
      perm: 'read',
      params: (raw): [number] => [typeof raw[0] === 'number' ? raw[0] : 0],
      open: ([n], ctx, out) => {
        if (n < 0) throw new InvalidArgumentError(`param n must not be negative (got ${n})`);
        seen.opened += 1;
        let i = 0;
        const timer = setInterval(() => {
          out.push(i++);
          if (n > 0 && i >= n) out.close();
        }, 5);
        ctx.signal.addEventListener('abort', () => {
          clearInterval(timer);
          seen.stopped.push(String((ctx.signal.reason as Error).message));
        });
      },
    }),
  };
  const streams = new StreamRegistry();
  const rpc = new RpcServer(methods, {} as ApiComponents, streams);
  const server = new ApiHttpServer({ rpc, streams, authenticate: () => ['read'], log: silentLogger() });
  server.upgrade(RPC_PATH, rpcWebSocketHandler(rpc));
  const { port } = await server.listen('127.0.0.1', 0);
  t.teardown(() => server.close(200));
  const ws = new WebSocket(`ws://127.0.0.1:${port}${RPC_PATH}`);
  const frames: Frame[] = [];
  ws.on('message', (d) => frames.push(JSON.parse(String(d)) as Frame));
  await new Promise((r) => ws.once('open', r));
  t.teardown(() => ws.terminate());
  const until = async (what: string, ok: () => boolean) => {
    for (let i = 0; i < 400 && !ok(); i++) await new Promise((r) => setTimeout(r, 5));
    if (!ok()) t.fail(`timed out waiting for ${what}`);
  };
  return { port, ws, frames, seen, until };
}

test('a channel call is answered with a channel id, then xrpc.ch.val values; xrpc.cancel closes it and stops its producer', async (t) => {
  const { ws, frames, seen, until } = await channelServer(t);
  ws.send(JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'Filecoin.Ticks', params: [0] }));
  await until('three values', () => frames.length >= 4);
  const answer = frames[0]!;
  t.is(answer.id, 0);
  t.true(typeof answer.result === 'number');
  const chan = answer.result as number;
  t.deepEqual(frames.slice(1, 4).map((f) => [f.method, f.params]), [0, 1, 2].map((v) => ['xrpc.ch.val', [chan, v]]));
  t.false(frames.slice(1).some((f) => 'id' in f), 'values are notifications');
  ws.send(JSON.stringify({ jsonrpc: '2.0', method: 'xrpc.cancel', params: [0] }));
  await until('the close', () => frames.some((f) => f.method === 'xrpc.ch.close'));
  t.deepEqual(frames.at(-1), { jsonrpc: '2.0', method: 'xrpc.ch.close', params: [chan] } as Frame);
  t.deepEqual(seen.stopped, ['cancelled by the client']);
  const count = frames.length;
  await new Promise((r) => setTimeout(r, 40));
  t.is(frames.length, count, 'nothing after the close; xrpc.cancel itself is not answered');
});

test('a channel the method closes ends with xrpc.ch.close and its signal aborts', async (t) => {
  const { ws, frames, seen, until } = await channelServer(t);
  ws.send(JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'Filecoin.Ticks', params: [3] }));
  await until('the close', () => frames.some((f) => f.method === 'xrpc.ch.close'));
  const chan = frames[0]!.result as number;
  t.deepEqual(
    frames.map((f) => f.method ?? 'answer'),
    ['answer', 'xrpc.ch.val', 'xrpc.ch.val', 'xrpc.ch.val', 'xrpc.ch.close'],
  );
  t.deepEqual(frames.at(-1)!.params, [chan]);
  await until('the stop', () => seen.stopped.length === 1);
  t.deepEqual(seen.stopped, ['channel closed']);
});

test('two channels on one connection get distinct ids; a disconnect stops both producers', async (t) => {
  const { ws, frames, seen, until } = await channelServer(t);
  ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'Filecoin.Ticks', params: [0] }));
  ws.send(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'Filecoin.Ticks', params: [0] }));
  await until('both answers', () => frames.filter((f) => f.id === 1 || f.id === 2).length === 2);
  const ids = frames.filter((f) => f.id === 1 || f.id === 2).map((f) => f.result);
  t.not(ids[0], ids[1]);
  ws.terminate();
  await until('both stops', () => seen.stopped.length === 2);
  t.deepEqual(seen.stopped, ['client disconnected', 'client disconnected']);
});

test('a channel call the method refuses is answered with the error and opens nothing', async (t) => {
  const { ws, frames, seen, until } = await channelServer(t);
  ws.send(JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'Filecoin.Ticks', params: [-1] }));
  await until('the answer', () => frames.length === 1);
  t.is(frames[0]!.id, 3);
  t.is(frames[0]!.error?.code, -32602);
  t.is(frames[0]!.error?.data?.code, 'INVALID_ARGUMENT');
  t.regex(frames[0]!.error!.message, /must not be negative/);
  await new Promise((r) => setTimeout(r, 30));
  t.is(frames.length, 1);
  t.is(seen.opened, 0);
});

test('over HTTP a channel method is refused with a JSON-RPC error naming the WebSocket, and is not opened', async (t) => {
  const { port, seen } = await channelServer(t);
  const res = await fetch(`http://127.0.0.1:${port}${RPC_PATH}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 5, method: 'Filecoin.Ticks', params: [0] }),
  });
  const body = (await res.json()) as Frame;
  t.is(body.id, 5);
  t.is(body.error?.code, -32600);
  t.regex(body.error!.message, /Filecoin\.Ticks returns a channel .* over the WebSocket at \/rpc\/v0/);
  t.is(seen.opened, 0);
});
