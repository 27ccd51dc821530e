import { rmSync } from 'node:fs';
import anyTest, { type TestFn } from 'ava';
import { FileType } from '../../../src/sector/sector-id.js';
import { LocalStore } from '../../../src/storage/local-store.js';
import type { CallRecord } from '../../../src/tasks/calls.js';
import { isDriftFree, isFirstPieceLeftover, nextSectorNumber, openFirstPieces, reconcile } from '../../../src/storage/reconcile.js';
import { type Manager, makeManager, makePath, tempDir, writeSectorEntry } from './storage-fixtures.js';

const test = anyTest as TestFn<{ m: Manager; dir: string; local: LocalStore }>;
const { unsealed: U, sealed: SE, cache: C } = FileType;
const s = (number: number) => ({ miner: 1000, number });

test.beforeEach((t) => {
  t.context.m = makeManager();
  t.context.dir = tempDir();
  t.context.local = new LocalStore({ catalog: t.context.m.catalog, urls: [] });
});
test.afterEach.always((t) => {
  t.context.local.close();
  t.context.m.close();
  rmSync(t.context.dir, { recursive: true, force: true });
});

test('files on the paths that no record knows, and records whose required files are gone, are drift', async (t) => {
  const { m, dir, local } = t.context;
  const seal = makePath(dir, 'seal', { canSeal: true });
  const store = makePath(dir, 'store', { canStore: true });
  writeSectorEntry(seal, 'unsealed', s(0));
  writeSectorEntry(seal, 'unsealed', s(1));
  writeSectorEntry(seal, 'unsealed', s(7)); // no record: an old path attached to a new database
  writeSectorEntry(store, 'cache', s(3)); // sealed: its sealed file is gone
  writeSectorEntry(store, 'sealed', s(7));
  writeSectorEntry(store, 'sealed', { miner: 2000, number: 99 }); // another miner's file is not ours to judge
  const a = await local.openPath(seal);
  const b = await local.openPath(store);

  const drift = reconcile(1000, m.store.storageList(), [
    { number: 0, state: 'WaitDeals', requires: U },
    { number: 1, state: 'Packing', requires: U },
    { number: 2, state: 'WaitDeals', requires: U }, // its unsealed file was deleted
    { number: 3, state: 'Proving', requires: SE | C },
    { number: 4, state: 'WaitDeals', requires: 0 }, // open and empty: needs no file yet
  ]);

  t.deepEqual(drift, {
    unrecorded: [{ number: 7, types: U | SE, storages: [a.ID, b.ID].sort() }],
    missing: [
      { number: 2, state: 'WaitDeals', missing: ['unsealed'] },
      { number: 3, state: 'Proving', missing: ['sealed'] },
    ],
    maxNumberOnPaths: 7,
  });
  t.false(isDriftFree(drift));
  t.is(m.store.maxSectorNumberOnPaths(1000), 7, 'the catalog gives the same highest number');
  t.is(m.store.maxSectorNumberOnPaths(2000), 99);
  t.is(m.store.maxSectorNumberOnPaths(3000), undefined);
  t.is(nextSectorNumber(5, drift.maxNumberOnPaths), 8, 'a number seen on a path is never handed out again');
  t.is(nextSectorNumber(12, drift.maxNumberOnPaths), 12);
  t.is(nextSectorNumber(0, undefined), 0);
});

test('disks and records that agree have no drift', async (t) => {
  const { m, dir, local } = t.context;
  const p = makePath(dir, 'p', { canSeal: true, canStore: true });
  writeSectorEntry(p, 'unsealed', s(0));
  writeSectorEntry(p, 'sealed', s(1));
  writeSectorEntry(p, 'cache', s(1));
  await local.openPath(p);
  const drift = reconcile(1000, m.store.storageList(), [
    { number: 0, state: 'WaitDeals', requires: U },
    { number: 1, state: 'Proving', requires: SE | C },
  ]);
  t.true(isDriftFree(drift));
  t.is(drift.maxNumberOnPaths, 1);
  t.deepEqual(reconcile(1000, {}, []), { unrecorded: [], missing: [], maxNumberOnPaths: undefined });
});

test('bad records are refused, naming the record', (t) => {
  t.throws(() => reconcile(1000, {}, [{ number: -1, state: 'WaitDeals', requires: 0 }]), { code: 'INVALID_ARGUMENT', message: /record number -1/ });
  t.throws(() => reconcile(1000, {}, [{ number: 1, state: 'WaitDeals', requires: 8 }]), { code: 'INVALID_ARGUMENT', message: /record 1: required file types 8/ });
  t.throws(
    () =>
      reconcile(1000, {}, [
        { number: 1, state: 'WaitDeals', requires: 0 },
        { number: 1, state: 'Packing', requires: 0 },
      ]),
    { code: 'INVALID_ARGUMENT', message: /sector 1 has two records/ },
  );
  t.throws(() => t.context.m.store.maxSectorNumberOnPaths(-3), { code: 'INVALID_ARGUMENT' });
});

/** An open call record of `task` for sector `number` (only the fields the functions read matter). */
function openCall(miner: number, number: number, task: 'AP' | 'PC1', paddedOffset = 0): CallRecord {
  const sector = { miner, number };
  const input =
    task === 'AP'
      ? { sector, proofType: 5, priority: 0, type: 'AP' as const, input: { paddedOffset, pieceSize: 1024, payloadSize: 1000, source: { type: 'zeros' as const } } }
      : { sector, proofType: 5, priority: 0, type: 'PC1' as const, input: { ticket: '00'.repeat(32), pieces: [] } };
  return { callId: `c-${number}-${task}-${paddedOffset}`, workId: 'w', sector, task, state: 'running', priority: 0, input, attempts: 1, createdAt: 0 };
}

test('a sector whose first AddPiece is an open call, with nothing but an unsealed file, is a crash leftover; anything more is drift', (t) => {
  const open = [openCall(1000, 4, 'AP'), openCall(1000, 5, 'AP', 1024), openCall(1000, 6, 'PC1'), openCall(2000, 7, 'AP')];
  const first = openFirstPieces(1000, open);
  t.deepEqual([...first], [4], 'only an AddPiece at padded offset 0 of this miner');
  t.true(isFirstPieceLeftover(4, U, first));
  t.false(isFirstPieceLeftover(4, U | SE, first), 'a first AddPiece never leaves a sealed file');
  t.false(isFirstPieceLeftover(4, U | C, first), 'nor a cache');
  t.false(isFirstPieceLeftover(5, U, first), 'a later piece of a sector means the sector had a record once');
  t.false(isFirstPieceLeftover(8, U, first), 'no open call: an old path or a lost database');
});
