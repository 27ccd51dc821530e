import test from 'ava';
import type { ApiComponents } from '../../../src/api/components.js';
import { ApiHttpServer } from '../../../src/api/http-server.js';
import { defineMethod } from '../../../src/api/rpc-method.js';
import { RpcServer } from '../../../src/api/rpc-server.js';
import { StreamRegistry } from '../../../src/api/stream-registry.js';
import { silentLogger } from '../../../src/log/logger.js';

test('fifty calls in flight at once draw no MaxListenersExceededWarning (each listens for the shutdown)', async (t) => {
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
