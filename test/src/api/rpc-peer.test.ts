import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import { WebSocket, WebSocketServer } from 'ws';
import { type PeerMethod, RpcPeer } from '../../../src/api/rpc-peer.js';
import { CallUnknownError, InvalidArgumentError, type SectorStorageError, WorkerLostError } from '../../../src/errors.js';

/** Two peers over a real loopback WebSocket: `a` is the server's end, `b` the client's. */
async function pair(aMethods: Record<string, PeerMethod> = {}, bMethods: Record<string, PeerMethod> = {}) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(wss, 'listening');
  const accepted = once(wss, 'connection') as Promise<[WebSocket]>;
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
  await once(client, 'open');
  const [server] = await accepted;
  const a = new RpcPeer(server, { methods: aMethods, closedError: (why) => new WorkerLostError(`worker gone: ${why}`) });
  const b = new RpcPeer(client, { methods: bMethods });
  return {
    a,
    b,
    client,
    server,
    /** Sends a raw frame from the client's end and returns the next frame it receives, parsed. */
    async raw(frame: string | Buffer, binary = false): Promise<{ id: unknown; error?: { code: number; message: string; data: { code: string } }; result?: unknown }> {
      const next = once(client, 'message') as Promise<[Buffer]>;
      client.send(frame, { binary });
      const [data] = await next;
      return JSON.parse(data.toString());
    },
    async close() {
      client.terminate();
      await new Promise((r) => wss.close(r));
    },
  };
}

test('each side calls the other and gets its result, the typed error of a failure keeps its code', async (t) => {
  const p = await pair(
    { Echo: ([x]) => ({ echoed: x }) },
    {
      Double: ([n]) => (n as number) * 2,
      Missing: () => {
        throw new CallUnknownError('call 7 is not held');
      },
    },
  );
  t.teardown(() => p.close());
  t.deepEqual(await p.b.call('Echo', ['hi']), { echoed: 'hi' });
  t.is(await p.a.call('Double', [21]), 42);
  const err = await t.throwsAsync<SectorStorageError>(p.a.call('Missing', []));
  t.is(err?.code, 'CALL_UNKNOWN');
  t.is(err?.message, 'call 7 is not held');
});

test('a frame that is not JSON gets a parse error, and the connection keeps serving', async (t) => {
  let runs = 0;
  const p = await pair({ Count: () => ++runs });
  t.teardown(() => p.close());
  const r = await p.raw('{"jsonrpc":"2.0","id":1,"method":');
  t.is(r.id, null);
  t.is(r.error?.code, -32700);
  t.is(r.error?.data.code, 'INVALID_ARGUMENT');
  t.regex(r.error?.message ?? '', /^parse error/);
  t.is(runs, 0);
  t.is(await p.b.call('Count', []), 1);
});

test('binary frames, batches, non-objects and a wrong jsonrpc version are invalid requests that run nothing', async (t) => {
  let runs = 0;
  const p = await pair({ Count: () => ++runs });
  t.teardown(() => p.close());
  const binary = await p.raw(Buffer.from('{"jsonrpc":"2.0","id":1,"method":"Filecoin.Count"}'), true);
  t.is(binary.error?.code, -32700);
  t.regex(binary.error?.message ?? '', /binary frame/);
  const batch = await p.raw('[{"jsonrpc":"2.0","id":1,"method":"Filecoin.Count"}]');
  t.is(batch.error?.code, -32600);
  t.regex(batch.error?.message ?? '', /batches are not accepted/);
  const scalar = await p.raw('42');
  t.is(scalar.error?.code, -32600);
  const version = await p.raw('{"jsonrpc":"1.0","id":5,"method":"Filecoin.Count"}');
  t.is(version.id, 5);
  t.is(version.error?.code, -32600);
  t.regex(version.error?.message ?? '', /"jsonrpc" must be "2\.0", got "1\.0"/);
  const badId = await p.raw('{"jsonrpc":"2.0","id":{"x":1},"method":"Filecoin.Count"}');
  t.is(badId.error?.code, -32600);
  t.regex(badId.error?.message ?? '', /"id" must be a number or a string/);
  const badMethod = await p.raw('{"jsonrpc":"2.0","id":6,"method":7}');
  t.is(badMethod.error?.code, -32600);
  t.regex(badMethod.error?.message ?? '', /"method" must be a string, got 7/);
  t.is(runs, 0);
});

test('an unknown method is named in a method-not-found error; a name without the Filecoin. prefix is unknown too', async (t) => {
  const p = await pair({ Known: () => 1 });
  t.teardown(() => p.close());
  const r = await p.raw('{"jsonrpc":"2.0","id":"x","method":"Filecoin.SealPreCommit9","params":[]}');
  t.is(r.id, 'x');
  t.is(r.error?.code, -32601);
  t.is(r.error?.message, "method 'Filecoin.SealPreCommit9' not found");
  const bare = await p.raw('{"jsonrpc":"2.0","id":2,"method":"Known","params":[]}');
  t.is(bare.error?.code, -32601);
  // inherited names are not methods
  const proto = await p.raw('{"jsonrpc":"2.0","id":3,"method":"Filecoin.toString","params":[]}');
  t.is(proto.error?.code, -32601);
  const err = await t.throwsAsync<SectorStorageError>(p.b.call('Unknown', []));
  t.is(err?.code, 'INVALID_ARGUMENT');
  t.regex(err?.message ?? '', /method 'Filecoin\.Unknown' not found/);
});

test('params that are not an array, and params a method rejects, are invalid-params errors and change nothing', async (t) => {
  const seen: unknown[] = [];
  const p = await pair({
    Put: ([v]) => {
      if (typeof v !== 'number') throw new InvalidArgumentError(`Put takes a number, got ${JSON.stringify(v)}`);
      seen.push(v);
      return true;
    },
  });
  t.teardown(() => p.close());
  const obj = await p.raw('{"jsonrpc":"2.0","id":1,"method":"Filecoin.Put","params":{"v":1}}');
  t.is(obj.error?.code, -32602);
  t.is(obj.error?.message, "params of 'Filecoin.Put' must be an array");
  const err = await t.throwsAsync<SectorStorageError>(p.b.call('Put', ['one']));
  t.is(err?.code, 'INVALID_ARGUMENT');
  t.is(err?.message, 'Put takes a number, got "one"');
  t.deepEqual(seen, []);
  t.true(await p.b.call('Put', [1]));
  t.deepEqual(seen, [1]);
});

test('a notification runs its method and is never answered, even when it fails', async (t) => {
  const ran: string[] = [];
  const p = await pair({
    Note: ([x]) => {
      ran.push(x as string);
      throw new InvalidArgumentError('never seen');
    },
    Ping: () => 'pong',
  });
  t.teardown(() => p.close());
  const frames: string[] = [];
  p.client.on('message', (d: Buffer) => frames.push(d.toString()));
  p.client.send('{"jsonrpc":"2.0","method":"Filecoin.Note","params":["a"]}');
  p.client.send('{"jsonrpc":"2.0","method":"Filecoin.Nothing","params":[]}');
  t.is(await p.b.call('Ping', []), 'pong');
  t.deepEqual(ran, ['a']);
  // the only frame the client received is the answer to Ping
  t.is(frames.length, 1);
  t.regex(frames[0]!, /"result":"pong"/);
});

test('an answer to nothing pending is dropped, and one with neither result nor error fails the call', async (t) => {
  const p = await pair();
  t.teardown(() => p.close());
  // the server's end answers the client's calls by hand instead of its peer
  p.server.removeAllListeners('message');
  p.server.on('message', (d: Buffer) => {
    const m = JSON.parse(d.toString()) as { id: number };
    p.server.send(JSON.stringify({ jsonrpc: '2.0', id: m.id + 1000, result: 'stray' }));
    p.server.send(JSON.stringify({ jsonrpc: '2.0', id: m.id }));
  });
  const err = await t.throwsAsync<SectorStorageError>(p.b.call('Anything', []));
  t.is(err?.code, 'INVALID_ARGUMENT');
  t.regex(err?.message ?? '', /answer to Anything has neither "result" nor "error"/);
});

test('calls in flight fail with the closed error when the connection drops, and the handler sees its signal abort', async (t) => {
  let handlerSignal: AbortSignal | undefined;
  const p = await pair({}, {
    Slow: (_params, { signal }) => {
      handlerSignal = signal;
      return new Promise(() => {});
    },
  });
  const call = p.a.call('Slow', []);
  await new Promise((r) => setTimeout(r, 50));
  t.false(handlerSignal?.aborted);
  p.client.terminate();
  const err = await t.throwsAsync<SectorStorageError>(call);
  t.is(err?.code, 'WORKER_LOST');
  t.regex(err?.message ?? '', /^worker gone/);
  await p.b.closed;
  t.true(handlerSignal?.aborted);
  t.false(p.a.open);
  // a call on a closed peer fails at once with the same error
  t.is((await t.throwsAsync<SectorStorageError>(p.a.call('Slow', [])))?.code, 'WORKER_LOST');
  await p.close();
});

test('a call not answered in time fails with the closed error; an aborted call fails ABORTED', async (t) => {
  const p = await pair({}, { Never: () => new Promise(() => {}) });
  t.teardown(() => p.close());
  const late = await t.throwsAsync<SectorStorageError>(p.a.call('Never', [], { timeoutMs: 30 }));
  t.is(late?.code, 'WORKER_LOST');
  t.regex(late?.message ?? '', /Never was not answered within 30 ms/);
  const ac = new AbortController();
  const call = p.a.call('Never', [], { signal: ac.signal });
  ac.abort();
  t.is((await t.throwsAsync<SectorStorageError>(call))?.code, 'ABORTED');
  t.true(p.a.open);
});

test('close sends the code and reason to the other side', async (t) => {
  const p = await pair();
  t.teardown(() => p.close());
  p.a.close(4001, 'x'.repeat(500));
  const closed = await p.b.closed;
  t.is(closed.code, 4001);
  t.is(closed.reason, 'x'.repeat(120));
});
