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
