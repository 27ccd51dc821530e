/**
 * The local worker's PC1 batches (src/worker/pc1-batch.ts): one pool task once every member has
 * handed its sector over, each member's own output back; a member aborted or failed stops the
 * batch, the others end WORKER_LOST (queued again). Over a fake pool that records its tasks.
 */
import test from 'ava';
import { AbortedError, InternalError } from '../../../src/errors.js';
import type { TaskProgress } from '../../../src/lifecycle/task-context.js';
import type { SealerPool } from '../../../src/pool/pool.js';
import type { PreCommit1Input, PreCommit1Output } from '../../../src/seal/pc1.js';
import { Pc1Batches } from '../../../src/worker/pc1-batch.js';

interface PoolRun {
  kind: string;
  inputs: PreCommit1Input[];
  signal: AbortSignal;
  onProgress?: (p: TaskProgress) => void;
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

function fakePool() {
  const runs: PoolRun[] = [];
  const pool = {
    run: (kind: string, input: { inputs: PreCommit1Input[] }, options: { signal: AbortSignal; onProgress?: (p: TaskProgress) => void }) =>
      new Promise((resolve, reject) => {
        runs.push({ kind, inputs: input.inputs, signal: options.signal, ...(options.onProgress ? { onProgress: options.onProgress } : {}), resolve, reject });
        options.signal.addEventListener('abort', () => reject(new AbortedError('pc1Batch cancelled')), { once: true });
      }),
  } as unknown as SealerPool;
  return { pool, runs };
}

const input = (n: number): PreCommit1Input => ({ proof: 0, cacheDir: `/c/${n}`, minerId: 1000, sectorNumber: n, ticket: 'aa'.repeat(32), commD: 'bb'.repeat(32) });
const output = (n: number) => ({ sectorNumber: n }) as unknown as PreCommit1Output;
const BATCH = { id: 'b-1', calls: ['c0', 'c1', 'c2'] };
const flush = () => new Promise((r) => setImmediate(r));

test('one pool task labels every member once all have handed over; each gets its own output and the progress', async (t) => {
  const { pool, runs } = fakePool();
  const batches = new Pc1Batches(pool);
  const seen: string[] = [];
  const member = (i: number) =>
    batches.label(BATCH, `c${i}`, input(i), { signal: new AbortController().signal, onProgress: (p) => seen.push(`c${i} ${p.done}`) });
  // members arrive in any order; the batch keeps the scheduler's order
  const p2 = member(2);
  const p0 = member(0);
  await flush();
  t.is(runs.length, 0, 'not before the last member');
  const p1 = member(1);
  t.is(runs.length, 1);
  t.is(runs[0]!.kind, 'pc1Batch');
  t.deepEqual(runs[0]!.inputs.map((x) => x.sectorNumber), [0, 1, 2]);
  runs[0]!.onProgress?.({ phase: 'pc1', done: 5, total: 10 });
  runs[0]!.resolve([output(0), output(1), output(2)]);
  t.deepEqual(await Promise.all([p0, p1, p2]), [output(0), output(1), output(2)]);
  t.deepEqual(seen.sort(), ['c0 5', 'c1 5', 'c2 5']);
});

test('aborting one member while the batch runs cancels it: that member ends aborted, the others WORKER_LOST', async (t) => {
  const { pool, runs } = fakePool();
  const batches = new Pc1Batches(pool);
  const aborts = [0, 1, 2].map(() => new AbortController());
  const ps = [0, 1, 2].map((i) => batches.label(BATCH, `c${i}`, input(i), { signal: aborts[i]!.signal }));
  t.is(runs.length, 1);
  aborts[1]!.abort(new AbortedError('call c1 aborted'));
  t.true(runs[0]!.signal.aborted, 'the pool task is cancelled');
  await t.throwsAsync(ps[1]!, { code: 'ABORTED', message: 'call c1 aborted' });
  for (const i of [0, 2]) await t.throwsAsync(ps[i]!, { code: 'WORKER_LOST', message: new RegExp(`PC1 batch b-1 stopped \\(call c1: call c1 aborted\\); call c${i} goes back to the queue`) });
});

test('a member that fails before handing over stops the batch: members already there and those arriving later end WORKER_LOST', async (t) => {
  const { pool, runs } = fakePool();
  const batches = new Pc1Batches(pool);
  const p0 = batches.label(BATCH, 'c0', input(0), { signal: new AbortController().signal });
  batches.abandon(BATCH, 'c1', new InternalError('no unsealed file'));
  await t.throwsAsync(p0, { code: 'WORKER_LOST', message: /call c1: no unsealed file/ });
  await t.throwsAsync(batches.label(BATCH, 'c2', input(2), { signal: new AbortController().signal }), { code: 'WORKER_LOST' });
  t.is(runs.length, 0, 'nothing ran');
});

test('a pool task that fails fails every member with its error', async (t) => {
  const { pool, runs } = fakePool();
  const batches = new Pc1Batches(pool);
  const ps = [0, 1].map((i) => batches.label({ id: 'b-2', calls: ['c0', 'c1'] }, `c${i}`, input(i), { signal: new AbortController().signal }));
  runs[0]!.reject(new InternalError('parent cache unreadable'));
  for (const p of ps) await t.throwsAsync(p, { code: 'INTERNAL', message: 'parent cache unreadable' });
});

test('a member aborted before its run reaches the batch (waiting for room on the worker) stops it: the others end WORKER_LOST', async (t) => {
  const { pool, runs } = fakePool();
  const batches = new Pc1Batches(pool);
  const leader = new AbortController();
  batches.watch(BATCH, 'c0', leader.signal);
  const ps = [1, 2].map((i) => {
    const signal = new AbortController().signal;
    batches.watch(BATCH, `c${i}`, signal);
    return batches.label(BATCH, `c${i}`, input(i), { signal });
  });
  leader.abort(new AbortedError('call c0 aborted'));
  for (const p of ps) await t.throwsAsync(p, { code: 'WORKER_LOST', message: /PC1 batch b-1 stopped \(call c0: call c0 aborted\)/ });
  t.is(runs.length, 0);
});

test('a member aborted after it handed its input over is the batch\'s own abort, not abandoned twice', async (t) => {
  const { pool, runs } = fakePool();
  const batches = new Pc1Batches(pool);
  const ctl = [0, 1].map(() => new AbortController());
  const two = { id: 'b-3', calls: ['c0', 'c1'] };
  const ps = [0, 1].map((i) => {
    batches.watch(two, `c${i}`, ctl[i]!.signal);
    return batches.label(two, `c${i}`, input(i), { signal: ctl[i]!.signal });
  });
  t.is(runs.length, 1);
  ctl[0]!.abort(new AbortedError('call c0 aborted'));
  await t.throwsAsync(ps[0]!, { code: 'ABORTED' });
  await t.throwsAsync(ps[1]!, { code: 'WORKER_LOST' });
});
