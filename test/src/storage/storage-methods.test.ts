import test from 'ava';
import type { ApiComponents } from '../../../src/api/components.js';
import { storageMethods, type StorageComponents } from '../../../src/api/methods/storage.js';
import type { RpcContext } from '../../../src/api/rpc-method.js';
import { SectorLocks } from '../../../src/storage/sector-locks.js';

const S1 = { miner: 1000, number: 1 };

function ctxWith(locks: SectorLocks, signal: AbortSignal): RpcContext {
  const storage = { locks } as unknown as StorageComponents;
  return { permissions: ['admin'], components: { storage } as unknown as ApiComponents, streams: undefined as never, signal };
}

test('StorageLock from a caller that already disconnected grants nothing (no lock is left without a holder)', async (t) => {
  const locks = new SectorLocks({ autoSweep: false });
  const gone = new AbortController();
  gone.abort(new Error('client disconnected'));
  await t.throwsAsync(async () => storageMethods.StorageLock.run([S1, 0, 2, undefined], ctxWith(locks, gone.signal)), { code: 'ABORTED' } as never);
  t.deepEqual(locks.list(), []);
  // and a live caller still gets the lock
  const id = await storageMethods.StorageLock.run([S1, 0, 2, undefined], ctxWith(locks, new AbortController().signal));
  t.is(typeof id, 'string');
  t.is(locks.list().length, 1);
});

test('a StorageLock granted to a caller that disconnects before the reply reaches it is released', async (t) => {
  const locks = new SectorLocks({ autoSweep: false });
  const held = locks.tryAcquire(S1, 0, 2);
  t.truthy(held);
  const call = new AbortController();
  const pending = storageMethods.StorageLock.run([S1, 0, 2, undefined], ctxWith(locks, call.signal));
  held?.release();
  const id = await pending;
  t.is(locks.list()[0]?.holders[0]?.id, id, 'granted');
  // the HTTP server aborts a call's signal when its client goes away before the reply is written
  call.abort(new Error('client disconnected'));
  t.deepEqual(locks.list(), [], 'nobody can release a lock whose id never arrived: it is released');
});

test('a lock whose reply was delivered outlives the call, for StorageLock and StorageTryLock', async (t) => {
  const locks = new SectorLocks({ autoSweep: false });
  const a = await storageMethods.StorageLock.run([S1, 1, 0, undefined], ctxWith(locks, new AbortController().signal));
  const b = storageMethods.StorageTryLock.run([S1, 1, 0, undefined], ctxWith(locks, new AbortController().signal));
  t.is(typeof a, 'string');
  t.is(typeof b, 'string');
  t.is(locks.list()[0]?.holders.length, 2);
  const gone = new AbortController();
  const c = storageMethods.StorageTryLock.run([S1, 1, 0, undefined], ctxWith(locks, gone.signal));
  gone.abort(new Error('client disconnected'));
  t.is(typeof c, 'string');
  t.is(locks.list()[0]?.holders.length, 2, 'a try-lock whose reply was not delivered is released too');
});
