import { Agent, request } from 'node:http';
import test, { type ExecutionContext } from 'ava';
import type { ApiComponents } from '../../../src/api/components.js';
import { ApiHttpServer } from '../../../src/api/http-server.js';
import { defineMethod } from '../../../src/api/rpc-method.js';
import { RpcServer } from '../../../src/api/rpc-server.js';
import { StreamRegistry } from '../../../src/api/stream-registry.js';
import { silentLogger } from '../../../src/log/logger.js';

test('fifty calls in flight at once draw no MaxListenersExceededWarning', async (t) => {
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => {
    release = r;
  });
  let inFlight = 0;
  const methods = {
    Slow: defineMethod({
      perm: 'read',
      params: (): [] => [],
      run: async () => {
        inFlight += 1;
        await gate;
        return 1;
      },
    }),
  };
  const streams = new StreamRegistry();
  const server = new ApiHttpServer({ rpc: new RpcServer(methods, {} as ApiComponents, streams), streams, authenticate: () => ['read'], log: silentLogger() });
  const { port } = await server.listen('127.0.0.1', 0);
  t.teardown(() => server.close());
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
  process.on('warning', onWarning);
  t.teardown(() => process.off('warning', onWarning));
  const calls = Array.from({ length: 50 }, (_, id) =>
    fetch(`http://127.0.0.1:${port}/rpc/v0`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer t' },
      body: JSON.stringify({ jsonrpc: '2.0', id, method: 'Filecoin.Slow', params: [] }),
    }).then((r) => r.json() as Promise<{ result: number }>),
  );
  while (inFlight < 50) await new Promise((r) => setTimeout(r, 10));
  release();
  t.deepEqual((await Promise.all(calls)).map((r) => r.result), Array(50).fill(1));
  await new Promise((r) => setImmediate(r));
  t.deepEqual(warnings.filter((w) => w.includes('MaxListeners')), []);
});

/** A server with one method that sees its call's signal. */
async function signalServer(t: ExecutionContext) {
  const seen: { started: number; aborted: string[] } = { started: 0, aborted: [] };
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const methods = {
    Version: defineMethod({ perm: 'read', params: (): [] => [], run: () => ({ Version: 'test' }) }),
    Wait: defineMethod({
      perm: 'read',
      params: (): [] => [],
      run: async (_p, ctx) => {
        seen.started += 1;
        await Promise.race([gate, new Promise((r) => ctx.signal.addEventListener('abort', r, { once: true }))]);
        if (ctx.signal.aborted) seen.aborted.push(String((ctx.signal.reason as Error).message));
        return 1;
      },
    }),
  };
  const streams = new StreamRegistry();
  const server = new ApiHttpServer({ rpc: new RpcServer(methods, {} as ApiComponents, streams), streams, authenticate: () => ['read'], log: silentLogger() });
  const { port } = await server.listen('127.0.0.1', 0);
  t.teardown(() => server.close(100));
  return { server, port, seen, release };
}

/** POST a JSON-RPC call with node:http on `agent`; resolves with the answer and whether the socket was reused. */
function post(port: number, agent: Agent, path: string, body: unknown): Promise<{ status: number; json: unknown; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const text = JSON.stringify(body);
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString() || 'null'), reused: req.reusedSocket }));
    });
    req.on('error', reject);
    req.end(text);
  });
}

test('keep-alive is honoured: consecutive calls on one client connection reuse it', async (t) => {
  const { port } = await signalServer(t);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => agent.destroy());
  const answers = [];
  for (let id = 1; id <= 3; id++) answers.push(await post(port, agent, '/rpc/v0', { jsonrpc: '2.0', id, method: 'Filecoin.Version', params: [] }));
  t.deepEqual(answers.map((a) => (a.json as { result: unknown }).result), Array(3).fill({ Version: 'test' }));
  t.deepEqual(answers.map((a) => a.reused), [false, true, true]);
});

test('a path with a dot segment is resolved before routing, and a ?token= query is still read', async (t) => {
  const { port } = await signalServer(t);
  const agent = new Agent({ keepAlive: false });
  const viaDots = await post(port, agent, '/x/../rpc/v0', { jsonrpc: '2.0', id: 1, method: 'Filecoin.Version', params: [] });
  t.deepEqual((viaDots.json as { result: unknown }).result, { Version: 'test' });
  // signalServer's authenticate accepts any token: what matters is that the query does not break routing
  const withQuery = await post(port, agent, '/rpc/v0?token=abc', { jsonrpc: '2.0', id: 2, method: 'Filecoin.Version', params: [] });
  t.is(withQuery.status, 200);
  const unknown = await post(port, agent, '/rpc/v1', { jsonrpc: '2.0', id: 3, method: 'Filecoin.Version', params: [] });
  t.is(unknown.status, 404);
});

test('a call in flight when the server closes sees its signal abort with the shutdown reason', async (t) => {
  const { server, port, seen } = await signalServer(t);
  const agent = new Agent({ keepAlive: false });
  const answer = post(port, agent, '/rpc/v0', { jsonrpc: '2.0', id: 1, method: 'Filecoin.Wait', params: [] }).catch(() => undefined);
  while (seen.started < 1) await new Promise((r) => setTimeout(r, 5));
  await server.close(1000);
  await answer;
  t.deepEqual(seen.aborted, ['server shutting down']);
});

test('a call whose client goes away sees its signal abort', async (t) => {
  const { port, seen } = await signalServer(t);
  const agent = new Agent({ keepAlive: false });
  const req = request({ host: '127.0.0.1', port, path: '/rpc/v0', method: 'POST', agent, headers: { 'content-type': 'application/json' } });
  req.on('error', () => {});
  req.end(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'Filecoin.Wait', params: [] }));
  while (seen.started < 1) await new Promise((r) => setTimeout(r, 5));
  req.destroy();
  while (seen.aborted.length < 1) await new Promise((r) => setTimeout(r, 5));
  t.deepEqual(seen.aborted, ['client disconnected']);
});
