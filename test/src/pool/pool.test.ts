import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import test from 'ava';
import { poolThreadExecArgv, SealerPool } from '../../../src/pool/pool.js';

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

test('pool threads load the task module with import(), never require() of an ES module (a thread terminated inside that require can abort the process)', async (t) => {
  const requireModule = (process.features as { require_module?: boolean }).require_module === true;
  t.is(poolThreadExecArgv().includes('--no-experimental-require-module'), requireModule, 'the flag is given exactly where Node has require(esm)');
  // a thread with the pool's options: require() of the task module is refused, so Piscina imports it
  const worker = fileURLToPath(new URL('../../../src/pool/worker.js', import.meta.url));
  const code = `const { parentPort, workerData } = require('node:worker_threads');
    try { require(workerData); parentPort.postMessage('required'); } catch (e) { parentPort.postMessage(e.code); }`;
  const w = new Worker(code, { eval: true, workerData: worker, execArgv: poolThreadExecArgv() });
  const answer = await new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
  await w.terminate();
  t.is(answer, 'ERR_REQUIRE_ESM');
});
