import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import test from 'ava';
import { POOL_THREAD_ENTRY, SealerPool } from '../../../src/pool/pool.js';

test('every pool thread loads its own instance of the native addon', async (t) => {
  const pool = new SealerPool({ threads: 2 });
  try {
    const results = await Promise.all(Array.from({ length: 8 }, () => pool.run('nativeInfo', {})));
    for (const r of results) t.regex(r.shaBackend, /^(sha-ni|portable)$/);
    t.true(results.every((r) => r.threadId > 0), 'tasks ran off the main thread');
  } finally {
    await pool.close();
  }
});

test('an unknown task kind is a typed error, not a crash', async (t) => {
  const pool = new SealerPool({ threads: 1 });
  try {
    // @ts-expect-error deliberately not a task kind
    await t.throwsAsync(pool.run('noSuchTask', {}), { message: /unknown task kind "noSuchTask"/ });
  } finally {
    await pool.close();
  }
});

test('a byte stream crosses a MessagePort intact and with bounded credit', async (t) => {
  const { MessageChannel } = await import('node:worker_threads');
  const { sendStream, receiveStream } = await import('../../../src/pool/port-stream.js');
  const { port1, port2 } = new MessageChannel();
  const chunks = Array.from({ length: 50 }, (_, i) => new Uint8Array(1000).fill(i));
  async function* source() {
    for (const c of chunks) yield c;
  }
  const sending = sendStream(source(), port1);
  const received: Uint8Array[] = [];
  for await (const c of receiveStream(port2, 4)) received.push(c);
  await sending;
  t.is(received.length, 50);
  t.true(received.every((c, i) => c.length === 1000 && c[0] === i && c[999] === i));
  port1.close();
});

test('an error on the sending side reaches the receiver as a typed error', async (t) => {
  const { MessageChannel } = await import('node:worker_threads');
  const { sendStream, receiveStream } = await import('../../../src/pool/port-stream.js');
  const { FileUnreadableError } = await import('../../../src/errors.js');
  const { port1, port2 } = new MessageChannel();
  async function* source() {
    yield new Uint8Array(10);
    throw new FileUnreadableError('disk went away');
  }
  const sending = sendStream(source(), port1).catch(() => {});
  await t.throwsAsync(
    (async () => {
      for await (const _ of receiveStream(port2)) {
        /* drain */
      }
    })(),
    { instanceOf: FileUnreadableError, message: 'disk went away' },
  );
  await sending;
  port1.close();
});

test('the sender copies chunks, so the caller keeps its buffers and pooled Buffers are not transferred', async (t) => {
  const { MessageChannel } = await import('node:worker_threads');
  const { sendStream, receiveStream } = await import('../../../src/pool/port-stream.js');
  const { port1, port2 } = new MessageChannel();
  const pooled = Buffer.from('hello world, a small pooled buffer');
  const mine = new Uint8Array([1, 2, 3]);
  async function* source() {
    yield pooled.subarray(6, 11);
    yield mine;
  }
  const sending = sendStream(source(), port1);
  const received: Uint8Array[] = [];
  for await (const c of receiveStream(port2)) received.push(c);
  await sending;
  t.is(Buffer.from(received[0]!).toString(), 'world');
  t.deepEqual([...received[1]!], [1, 2, 3]);
  t.is(mine.length, 3, 'caller array still usable');
  t.is(pooled.toString(), 'hello world, a small pooled buffer');
  port1.close();
});

test('aborting the sender reaches a receiver that starts listening late', async (t) => {
  const { MessageChannel } = await import('node:worker_threads');
  const { sendStream, receiveStream } = await import('../../../src/pool/port-stream.js');
  const { AbortedError } = await import('../../../src/errors.js');
  const { port1, port2 } = new MessageChannel();
  const controller = new AbortController();
  async function* source() {
    yield new Uint8Array(1);
    await new Promise(() => {}); // stalls forever
  }
  controller.abort();
  await sendStream(source(), port1, controller.signal);
  port1.close();
  await t.throwsAsync(
    (async () => {
      for await (const _ of receiveStream(port2)) {
        /* drain */
      }
    })(),
    { instanceOf: AbortedError },
  );
});

test('the pool threads\' entry is CommonJS: requiring it loads no ES module (a thread terminated inside require() of an ES module can abort the process)', async (t) => {
  const entry = fileURLToPath(new URL(POOL_THREAD_ENTRY, new URL('../../../src/pool/pool.js', import.meta.url)));
  // in a fresh thread, as Piscina does it: require() the entry, then list the ES modules Node loaded
  const code = `const { parentPort, workerData } = require('node:worker_threads');
    const before = new Set(Object.keys(require.cache));
    const run = require(workerData);
    const added = Object.keys(require.cache).filter((k) => !before.has(k));
    parentPort.postMessage({ type: typeof run, added });`;
  const w = new Worker(code, { eval: true, workerData: entry });
  const answer = await new Promise<{ type: string; added: string[] }>((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
  await w.terminate();
  t.is(answer.type, 'function', 'the entry exports the task handler itself');
  t.deepEqual(answer.added, [entry], 'require() loaded the entry alone (an ES module it required would be in the cache too)');
});

test('a pool starts and runs tasks in a process started with V8 options (--expose-gc, --max-old-space-size), which threads may not be given', async (t) => {
  const pool = fileURLToPath(new URL('../../../src/pool/pool.js', import.meta.url));
  const code = `import { SealerPool } from ${JSON.stringify(pool)};
    const p = new SealerPool({ threads: 1 });
    const r = await p.run('nativeInfo', {});
    await p.close();
    console.log(JSON.stringify({ thread: r.threadId > 0 }));`;
  const child = spawnSync(process.execPath, ['--expose-gc', '--max-old-space-size=2048', '--input-type=module', '-e', code], { encoding: 'utf8', timeout: 60_000 });
  t.is(child.status, 0, child.stderr);
  t.deepEqual(JSON.parse(child.stdout.trim()), { thread: true });
});
