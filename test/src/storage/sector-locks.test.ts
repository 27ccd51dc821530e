import test from 'ava';
import { FileType } from '../../../src/sector/sector-id.js';
import { SectorLocks } from '../../../src/storage/sector-locks.js';

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
  await t.throwsAsync(theirWait, { code: 'ABORTED', message: /declared dead/ });
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
    holders: [{ id: r.id, owner: 'w1', read: ['sealed'], write: [], since: 42 }],
  });
  locks.releaseOwner('w2');
  await t.throwsAsync(waiting, { code: 'ABORTED' });
  r.release();
});
