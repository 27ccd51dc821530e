import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import type { SectorStorageError } from '../../../src/errors.js';
import { commP } from '../../../src/piece/commp.js';
import { SealerPool } from '../../../src/pool/pool.js';
import { UploadStream } from '../../../src/worker/upload-stream.js';
import { seededBytes } from '../../helpers/bytes.js';
import { holders, MINER, once, task, workerFixture } from './worker-fixture.js';

/** A client that sends `first` (if given) and then nothing until `release()`. */
function stalling(first?: Uint8Array) {
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  let sent = 0;
  async function* source() {
    if (first) {
      sent += first.length;
      yield first;
    }
    await gate;
  }
  return { source: source(), release, sent: () => sent };
}

function codeOf(err: unknown): string | undefined {
  return (err as SectorStorageError | undefined)?.code;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Both tests below need both threads of their pool to themselves.
let pool: SealerPool;
test.before(() => {
  pool = new SealerPool({ threads: 2 });
});
test.after.always(async () => {
  await pool.close();
});

test.serial('an upload that has sent nothing holds no pool thread: a normal add completes while two silent uploads still wait', async (t) => {
  // a long idle timeout, so only holding no thread (not the timeout) lets the normal add through
  const f = await workerFixture(pool, { uploadIdleMs: 60_000 });
  t.teardown(f.close);
  const silent = [stalling(), stalling()];
  const cancel = silent.map(() => new AbortController());
  const settled: string[] = [];
  const stalled = silent.map((s, i) => {
    f.sources.set(`silent-${i}`, { source: s.source, signal: cancel[i]!.signal });
    return f
      .run(task('AP', { miner: MINER, number: i + 1 }, { paddedOffset: 0, pieceSize: 512, payloadSize: 300, source: { type: 'request', requestId: `silent-${i}` } }))
      .then(
        () => undefined,
        (err: unknown) => {
          settled.push(`silent-${i}`);
          return err;
        },
      );
  });
  const bytes = seededBytes(300, 3);
  f.sources.set('normal', { source: once(bytes) });
  const normal = await f.run(task('AP', { miner: MINER, number: 3 }, { paddedOffset: 0, pieceSize: 512, payloadSize: 300, source: { type: 'request', requestId: 'normal' } }));
  t.is(normal.pieceCid, (await commP(once(bytes))).pieceCid.toString());
  t.deepEqual(settled, [], 'the silent uploads were still waiting when the normal add finished on a 2-thread pool');
  for (const c of cancel) c.abort();
  const errors = await Promise.all(stalled);
  t.deepEqual(errors.map(codeOf), ['ABORTED', 'ABORTED']);
  for (const s of silent) s.release();
  for (const n of [1, 2]) t.deepEqual(await holders(f, { miner: MINER, number: n }, 'unsealed'), [], 'nothing was allocated for a silent upload');
});

test.serial('uploads that stall midway fail UPLOAD_STALLED after the idle timeout and free their threads: a normal add on a 2-thread pool gets the thread the idle timeout freed', async (t) => {
  const idleMs = 600;
  const f = await workerFixture(pool, { uploadIdleMs: idleMs });
  t.teardown(f.close);
  const halves = [stalling(seededBytes(300, 1)), stalling(seededBytes(300, 2))];
  const onThread: number[] = [];
  const settled: string[] = [];
  const stalled = halves.map((h, i) => {
    f.sources.set(`half-${i}`, { source: h.source, onProgress: () => onThread.includes(i) || onThread.push(i) });
    return f
      .run(task('AP', { miner: MINER, number: i + 1 }, { paddedOffset: 0, pieceSize: 1024, payloadSize: 1000, source: { type: 'request', requestId: `half-${i}` } }))
      .then(
        () => undefined,
        (err: unknown) => {
          settled.push(`half-${i}`);
          return err;
        },
      );
  });
  while (onThread.length < 2) await sleep(10); // both threads are writing a half-sent piece
  const bytes = seededBytes(400, 3);
  f.sources.set('normal', { source: once(bytes) });
  const started = performance.now();
  const normal = await f.run(task('AP', { miner: MINER, number: 3 }, { paddedOffset: 0, pieceSize: 512, payloadSize: 400, source: { type: 'request', requestId: 'normal' } }));
  const waited = performance.now() - started;
  settled.push('normal');
  t.is(normal.payloadSize, 400);
  const errors = await Promise.all(stalled);
  t.deepEqual(errors.map(codeOf), ['UPLOAD_STALLED', 'UPLOAD_STALLED']);
  t.true(settled.indexOf('normal') > 0, `the normal add waited for a stalled one to let go of its thread: ${settled.join(', ')}`);
  // what let go of the thread was the idle timeout (not a later abort, or the pool's grace period)
  for (const err of errors) t.regex((err as Error).message, new RegExp(`the upload sent nothing for ${idleMs} ms`));
  t.log(`the normal add waited ${waited.toFixed(0)} ms with a ${idleMs} ms idle timeout`);

  // both threads are free: two tasks run side by side on different threads
  t.is(pool.queueSize, 0);
  const infos = await Promise.all([pool.run('nativeInfo', {}), pool.run('nativeInfo', {})]);
  t.is(infos.length, 2);
  t.deepEqual(
    readdirSync(join(f.sealRoot, 'unsealed')),
    ['s-t01000-3'],
    'the stalled pieces left no file or temporary behind',
  );
  for (const h of halves) h.release();
});

test('waitForUpload resolves once the first bytes are buffered, and the AP task still gets every byte', async (t) => {
  const f = await workerFixture(pool, { uploadIdleMs: 2000 });
  t.teardown(f.close);
  await t.throwsAsync(f.worker.waitForUpload('nobody'), { message: /piece request nobody has no byte source/ });
  const bytes = seededBytes(700, 5);
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  async function* late() {
    await gate;
    yield bytes.subarray(0, 100);
    yield bytes.subarray(100);
  }
  f.sources.set('late', { source: late() });
  let ready = false;
  const waiting = f.worker.waitForUpload('late').then(() => {
    ready = true;
  });
  await sleep(100);
  t.false(ready, 'no bytes yet');
  release();
  await waiting;
  const piece = await f.run(task('AP', { miner: MINER, number: 1 }, { paddedOffset: 0, pieceSize: 1024, payloadSize: 700, source: { type: 'request', requestId: 'late' } }));
  t.is(piece.pieceCid, (await commP(once(bytes))).pieceCid.toString());

  const silent = stalling();
  f.sources.set('silent', { source: silent.source });
  const ac = new AbortController();
  const aborted = f.worker.waitForUpload('silent', ac.signal);
  ac.abort();
  t.is(codeOf(await aborted.catch((e: unknown) => e)), 'ABORTED');
  t.is(codeOf(await f.worker.waitForUpload('silent').catch((e: unknown) => e)), 'UPLOAD_STALLED');
  silent.release();
});

test('the idle timeout counts only time spent waiting for the client, not time the reader takes', async (t) => {
  async function* ready() {
    yield new Uint8Array([1]);
    yield new Uint8Array([2]);
  }
  const up = new UploadStream(ready(), 50, 'test upload');
  const it = up[Symbol.asyncIterator]();
  t.deepEqual((await it.next()).value, new Uint8Array([1]));
  await sleep(200); // a slow reader (a busy thread granting no credit)
  t.deepEqual((await it.next()).value, new Uint8Array([2]));
  t.true((await it.next()).done);

  const silent = stalling(new Uint8Array([9]));
  const stalled = new UploadStream(silent.source, 50, 'the silent upload');
  const chunks: Uint8Array[] = [];
  const err = await (async () => {
    for await (const c of stalled) chunks.push(c);
  })().catch((e: unknown) => e);
  t.deepEqual(chunks, [new Uint8Array([9])]);
  t.is(codeOf(err), 'UPLOAD_STALLED');
  t.regex((err as Error).message, /the silent upload: the upload sent nothing for 50 ms/);
  silent.release();
  t.throws(() => new UploadStream(ready(), 0, 'x'), { message: /positive number of milliseconds/ });
});
