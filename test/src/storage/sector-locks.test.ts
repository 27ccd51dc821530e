import test from 'ava';
import { FileType } from '../../../src/sector/sector-id.js';
import { HEARTBEAT_ENV, heartbeatTimingFromEnv } from '../../../src/storage/owner-leases.js';
import { SectorLocks } from '../../../src/storage/sector-locks.js';
import { messageLogger } from '../../helpers/log-recorder.js';

const S = { miner: 1000, number: 7 };
const { unsealed: U, sealed: SE, cache: C } = FileType;

/** Resolves to 'pending' when the promise has not settled after the queued microtasks ran. */
async function state(p: Promise<unknown>): Promise<'pending' | 'resolved' | 'rejected'> {
  let s: 'pending' | 'resolved' | 'rejected' = 'pending';
  p.then(
    () => {
      s = 'resolved';
    },
    () => {
      s = 'rejected';
    },
  );
  await new Promise((r) => setImmediate(r));
  return s;
}

test('readers of the same type share the lock', async (t) => {
  const locks = new SectorLocks();
  const a = await locks.acquire(S, SE | C, 0);
  const b = await locks.acquire(S, SE, 0);
  t.is(locks.list()[0]?.read.sealed, 2);
  t.is(locks.list()[0]?.read.cache, 1);
  a.release();
  b.release();
  t.deepEqual(locks.list(), [], 'an unused sector leaves the table');
});

test('a writer excludes readers and other writers of the same type but not other types', async (t) => {
  const locks = new SectorLocks();
  const w = await locks.acquire(S, 0, SE);
  t.is(locks.tryAcquire(S, SE, 0), null);
  t.is(locks.tryAcquire(S, 0, SE), null);
  const other = locks.tryAcquire(S, U, C);
  t.truthy(other, 'unsealed read + cache write do not conflict with a sealed write');
  const waitingReader = locks.acquire(S, SE, 0);
  t.is(await state(waitingReader), 'pending');
  w.release();
  t.is(await state(waitingReader), 'resolved');
  t.is(locks.tryAcquire(S, 0, SE), null, 'the reader now blocks writers');
  other?.release();
  (await waitingReader).release();
  t.truthy(locks.tryAcquire(S, 0, SE));
});

test('a waiting writer is not starved by a stream of new readers', async (t) => {
  const locks = new SectorLocks();
  const r1 = await locks.acquire(S, SE, 0);
  const writer = locks.acquire(S, 0, SE);
  t.is(await state(writer), 'pending');
  // New readers arrive while r1 still holds: they must queue behind the writer.
  t.is(locks.tryAcquire(S, SE, 0), null, 'try-lock does not barge past a waiting writer');
  const r2 = locks.acquire(S, SE, 0);
  t.is(await state(r2), 'pending');
  // A request that does not conflict with the writer still goes through.
  const unrelated = locks.tryAcquire(S, U, 0);
  t.truthy(unrelated);
  r1.release();
  t.is(await state(writer), 'resolved');
  t.is(await state(r2), 'pending', 'the later reader waits for the writer to finish');
  (await writer).release();
  t.is(await state(r2), 'resolved');
});

test('cancelling a waiting request rejects it and lets later requests through', async (t) => {
  const locks = new SectorLocks();
  const r = await locks.acquire(S, SE, 0);
  const ac = new AbortController();
  const writer = locks.acquire(S, 0, SE, { signal: ac.signal });
  const reader = locks.acquire(S, SE, 0);
  t.is(await state(reader), 'pending', 'queued behind the writer');
  ac.abort();
  await t.throwsAsync(writer, { code: 'ABORTED', message: /s-t01000-7 was cancelled/ });
  t.is(await state(reader), 'resolved', 'the cancelled writer no longer blocks the reader');
  r.release();
  t.is(locks.list()[0]?.waiting, 0);
});

test('aborting the signal of a granted lock releases it (the holder call ended)', async (t) => {
  const locks = new SectorLocks();
  const ac = new AbortController();
  const w = await locks.acquire(S, 0, SE | C, { signal: ac.signal });
  const next = locks.acquire(S, SE, 0);
  t.is(await state(next), 'pending');
  ac.abort();
  t.true(w.released);
  t.is(await state(next), 'resolved');
});

test('an already aborted signal rejects at once', async (t) => {
  const locks = new SectorLocks();
  const ac = new AbortController();
  ac.abort();
  await t.throwsAsync(locks.acquire(S, SE, 0, { signal: ac.signal }), { code: 'ABORTED' });
});

test('a dead owner\'s locks and waiting requests are released', async (t) => {
  const locks = new SectorLocks();
  await locks.acquire(S, 0, SE, { owner: 'worker-a' });
  await locks.acquire({ miner: 1000, number: 8 }, C, 0, { owner: 'worker-a' });
  const theirWait = locks.acquire(S, 0, SE, { owner: 'worker-a' });
  const mine = locks.acquire(S, SE, 0, { owner: 'worker-b' });
  t.is(await state(mine), 'pending');
  t.is(locks.releaseOwner('worker-a'), 2);
  await t.throwsAsync(theirWait, { code: 'ABORTED', message: /abandoned: owner released/ });
  t.is(await state(mine), 'resolved');
  t.deepEqual(
    locks.list().map((l) => l.holders.map((h) => h.owner)),
    [['worker-b']],
  );
});

test('using-style disposal and release by id both unlock, once', async (t) => {
  const locks = new SectorLocks();
  {
    const l = await locks.acquire(S, 0, U);
    l[Symbol.dispose]();
    l.release();
  }
  const l2 = await locks.acquire(S, 0, U);
  t.true(locks.release(l2.id));
  t.false(locks.release(l2.id));
  t.deepEqual(locks.list(), []);
});

test('empty and unknown file type masks are refused', async (t) => {
  const locks = new SectorLocks();
  await t.throwsAsync(locks.acquire(S, 0, 0), { code: 'LOCK_FAILED', message: /no file types/ });
  await t.throwsAsync(locks.acquire(S, 8, 0), { code: 'INVALID_ARGUMENT', message: /unknown file types/ });
  t.throws(() => locks.tryAcquire(S, 0, 9), { code: 'INVALID_ARGUMENT' });
});

test('list shows readers, writers, waiters and holders per sector', async (t) => {
  const locks = new SectorLocks({ now: () => 42 });
  const r = await locks.acquire(S, SE, 0, { owner: 'w1' });
  const waiting = locks.acquire(S, 0, SE, { owner: 'w2' });
  const [info] = locks.list();
  t.deepEqual(info, {
    sector: S,
    read: { unsealed: 0, sealed: 1, cache: 0 },
    write: [],
    waiting: 1,
    holders: [{ id: r.id, owner: 'w1', read: ['sealed'], write: [], since: 42, lastHeard: 42 }],
  });
  locks.releaseOwner('w2');
  await t.throwsAsync(waiting, { code: 'ABORTED' });
  r.release();
});

/** A lock table on a hand-driven clock, sweeping only when the test says so. */
function leasedTable(opts: { intervalMs?: number; thresholdMs?: number } = {}) {
  const clock = { t: 1_000_000 };
  const logs: string[] = [];
  const locks = new SectorLocks({
    now: () => clock.t,
    heartbeatIntervalMs: opts.intervalMs ?? 10_000,
    heartbeatThresholdMs: opts.thresholdMs ?? 50_000,
    autoSweep: false,
    log: messageLogger(logs),
  });
  /** Advances the clock in heartbeat-interval steps, sweeping after each, as the timer would. */
  const advance = (ms: number, each?: () => void) => {
    for (let done = 0; done < ms; done += 10_000) {
      clock.t += Math.min(10_000, ms - done);
      each?.();
      locks.sweep();
    }
  };
  return { clock, logs, locks, advance };
}

test('an owner that keeps heartbeating keeps its locks past the threshold', async (t) => {
  const { locks, advance, logs } = leasedTable();
  const w = await locks.acquire(S, 0, SE, { owner: 'worker-a' });
  advance(120_000, () => locks.heartbeat('worker-a'));
  t.false(w.released);
  t.deepEqual(locks.heartbeat('worker-a'), { locks: 1, waiting: 0, released: null });
  t.deepEqual(logs, []);
});

test('lock requests naming the owner renew its lease like heartbeats do', async (t) => {
  const { locks, advance } = leasedTable();
  const w = await locks.acquire(S, 0, SE, { owner: 'worker-a' });
  advance(40_000);
  t.truthy(locks.tryAcquire({ miner: 1000, number: 9 }, SE, 0, { owner: 'worker-a' }));
  advance(40_000);
  t.false(w.released, '80 s after the first lock, but only 40 s after the last request');
  advance(20_000);
  t.true(w.released);
});

test('an owner that stops heartbeating loses its locks after the threshold and its waiters are rejected', async (t) => {
  const { locks, advance, logs, clock } = leasedTable();
  const w = await locks.acquire(S, 0, SE, { owner: 'worker-a' });
  const r = await locks.acquire({ miner: 1000, number: 8 }, C, 0, { owner: 'worker-a' });
  const other = await locks.acquire(S, U, 0, { owner: 'worker-b' });
  const theirWait = locks.acquire(S, 0, U, { owner: 'worker-a' }); // behind worker-b's reader
  const mine = locks.acquire(S, SE, 0, { owner: 'worker-b' });
  t.is(await state(mine), 'pending');
  // worker-a falls silent at t0; worker-b keeps heartbeating
  advance(50_000, () => locks.heartbeat('worker-b'));
  t.false(w.released, 'exactly the threshold is not yet past it');
  t.deepEqual(locks.list().map((l) => l.holders.map((h) => [h.owner, h.lastHeard])), [
    [['worker-a', clock.t - 50_000], ['worker-b', clock.t]],
    [['worker-a', clock.t - 50_000]],
  ]);
  advance(10_000, () => locks.heartbeat('worker-b'));
  t.true(w.released);
  t.true(r.released);
  t.false(other.released, 'the live owner keeps its lock');
  await t.throwsAsync(theirWait, { code: 'ABORTED', message: /worker-a on s-t01000-7 abandoned: owner not heard from for 50 s, declared dead/ });
  t.is(await state(mine), 'resolved', 'the dead owner\'s write lock no longer blocks the reader');
  t.is(logs.length, 1);
  t.regex(logs[0] ?? '', /owner worker-a not heard from for 60\.0 s \(threshold 50 s\): declared dead, released 2 lock\(s\) and rejected 1 waiting request\(s\)/);
});

test('a fresh heartbeat after the release does not resurrect anything, and reports the release once', async (t) => {
  const { locks, advance, clock } = leasedTable();
  const w = await locks.acquire(S, 0, SE, { owner: 'worker-a' });
  advance(60_000);
  t.true(w.released);
  const releasedAt = clock.t;
  const next = locks.tryAcquire(S, 0, SE, { owner: 'worker-b' });
  t.truthy(next, 'another caller gets the lock');
  t.deepEqual(locks.heartbeat('worker-a'), { locks: 0, waiting: 0, released: { at: releasedAt, reason: 'expired', locks: 1, waiting: 0 } });
  t.deepEqual(locks.heartbeat('worker-a'), { locks: 0, waiting: 0, released: null }, 'told once');
  t.true(w.released);
  t.deepEqual(locks.list().flatMap((l) => l.holders.map((h) => h.owner)), ['worker-b']);
  t.is(locks.tryAcquire(S, 0, SE, { owner: 'worker-a' }), null, 'the old holder must queue like anyone else');
  w.release(); // the stale handle's release is a no-op: it cannot free worker-b's lock
  t.false(next?.released);
});

test('locks without an owner are not leased: silence never releases them', async (t) => {
  const { locks, advance, logs } = leasedTable();
  const ac = new AbortController();
  const inProcess = await locks.acquire(S, 0, SE, { signal: ac.signal });
  advance(600_000);
  t.false(inProcess.released);
  t.deepEqual(locks.sweep(), []);
  t.deepEqual(logs, []);
  t.is(locks.list()[0]?.holders[0]?.lastHeard, null);
  ac.abort();
  t.true(inProcess.released, 'it ends with its call');
});

test('StorageReleaseOwner-style release ends the lease and is reported to the next heartbeat', async (t) => {
  const { locks, advance, logs } = leasedTable();
  await locks.acquire(S, 0, SE, { owner: 'worker-a' });
  t.is(locks.releaseOwner('worker-a'), 1);
  advance(100_000);
  t.deepEqual(logs, [], 'a released owner is not declared dead later');
  t.like(locks.heartbeat('worker-a'), { locks: 0, released: { reason: 'released', locks: 1 } });
  t.is(locks.releaseOwner('never-seen'), 0);
  t.is(locks.heartbeat('never-seen').released, null);
});

test('the sweep timer releases a silent owner on its own', async (t) => {
  const clock = { t: 0 };
  const logs: string[] = [];
  const locks = new SectorLocks({ now: () => clock.t, heartbeatIntervalMs: 5, heartbeatThresholdMs: 50, log: messageLogger(logs) });
  t.teardown(() => locks.close());
  const w = await locks.acquire(S, 0, SE, { owner: 'worker-a' });
  await new Promise((r) => setTimeout(r, 30));
  t.false(w.released, 'the clock has not moved');
  clock.t = 51;
  for (let i = 0; i < 400 && !w.released; i++) await new Promise((r) => setTimeout(r, 5));
  t.true(w.released);
  t.is(logs.length, 1);
});

test('the heartbeat timing defaults to Lotus and scales from the environment', (t) => {
  t.deepEqual(heartbeatTimingFromEnv({}), { intervalMs: 10_000, thresholdMs: 50_000 });
  t.deepEqual(heartbeatTimingFromEnv({ [HEARTBEAT_ENV]: '200' }), { intervalMs: 200, thresholdMs: 1000 });
  for (const bad of ['abc', '-5', '1.5', '3']) {
    t.throws(() => heartbeatTimingFromEnv({ [HEARTBEAT_ENV]: bad }), { code: 'INVALID_ARGUMENT', message: new RegExp(HEARTBEAT_ENV) });
  }
  t.throws(() => new SectorLocks().heartbeat(''), { code: 'INVALID_ARGUMENT' });
});
