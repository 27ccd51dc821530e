import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { FileType } from '../../../src/sector/sector-id.js';
import { LocalStore } from '../../../src/storage/local-store.js';
import { type CleanupDeps, cleanupPaths } from '../../../src/storage/path-cleanup.js';
import { SectorLocks } from '../../../src/storage/sector-locks.js';
import { type Manager, makeManager, makePath, tempDir, writeSectorEntry } from './storage-fixtures.js';
import { silentLogger } from '../../../src/log/logger.js';

const test = anyTest as TestFn<{ m: Manager; dir: string; local: LocalStore; root: string; id: string }>;

test.beforeEach(async (t) => {
  t.context.m = makeManager();
  t.context.dir = tempDir();
  t.context.local = new LocalStore({ catalog: t.context.m.catalog, urls: ['http://127.0.0.1:1/remote'], log: silentLogger() });
  t.context.root = makePath(t.context.dir, 'p', { canSeal: true });
  t.context.id = (await t.context.local.openPath(t.context.root)).ID;
});
test.afterEach.always((t) => {
  t.context.local.close();
  t.context.m.close();
  rmSync(t.context.dir, { recursive: true, force: true });
});

function deps(t: { context: { m: Manager; local: LocalStore } }, extra: Partial<CleanupDeps> = {}): CleanupDeps {
  return { local: t.context.local, catalog: t.context.m.catalog, minerId: 1000, liveState: () => undefined, fetchInProgress: () => false, ...extra };
}

test('a file not in the index that a live sector record may need is kept and redeclare is suggested', async (t) => {
  const { root } = t.context;
  writeSectorEntry(root, 'unsealed', { miner: 1000, number: 5 });
  const report = await cleanupPaths(deps(t, { liveState: (n) => (n === 5 ? 'PreCommit1' : undefined) }), true);
  t.deepEqual(report.items.map((i) => [i.kind, i.action, i.done, i.reason]), [
    ['unindexed', 'keep', false, 'sector 5 is in state PreCommit1 and may need it: run "storage redeclare" to declare it'],
  ]);
  t.true(existsSync(join(root, 'unsealed', 's-t01000-5')));
});

test('an entry whose sector an operation holds is left alone and reported busy', async (t) => {
  const { root } = t.context;
  writeSectorEntry(root, 'unsealed', { miner: 1000, number: 6 });
  const locks = new SectorLocks({ autoSweep: false });
  const held = locks.tryAcquire({ miner: 1000, number: 6 }, FileType.unsealed, 0);
  const report = await cleanupPaths(deps(t, { locks }), true);
  t.is(report.items[0]?.error, 'busy: an operation holds the sector; try again later');
  t.false(report.items[0]?.done);
  t.true(existsSync(join(root, 'unsealed', 's-t01000-6')));
  held?.release();
  const again = await cleanupPaths(deps(t, { locks }), true);
  t.true(again.items[0]?.done);
  t.false(existsSync(join(root, 'unsealed', 's-t01000-6')));
  t.deepEqual(locks.list(), [], 'cleanup released its own lock');
});

test('a download a fetch of this node is writing is not a leftover', async (t) => {
  const { root } = t.context;
  mkdirSync(join(root, 'sealed', 'fetching'));
  const busy = join(root, 'sealed', 'fetching', 's-t01000-7');
  const stale = join(root, 'sealed', 'fetching', 's-t01000-8');
  writeFileSync(busy, 'x');
  writeFileSync(stale, 'y');
  const report = await cleanupPaths(deps(t, { fetchInProgress: (p) => p === busy }), true);
  t.deepEqual(report.items.map((i) => [i.path, i.done]), [[stale, true]]);
  t.true(existsSync(busy));
  t.false(existsSync(stale));
});

test('a declaration whose file came back before the apply is not dropped', async (t) => {
  const { m, root, id } = t.context;
  const S = { miner: 1000, number: 9 };
  m.store.storageDeclareSector(id, S, FileType.sealed, false);
  mkdirSync(join(root, 'sealed', 'fetching'));
  writeFileSync(join(root, 'sealed', 'fetching', 's-t01000-10'), 'x');
  let reported = false;
  // the file reappears between the plan and its execution (a move finishing)
  const report = await cleanupPaths(
    deps(t, {
      fetchInProgress: () => {
        if (!reported) writeSectorEntry(root, 'sealed', S);
        reported = true;
        return false;
      },
    }),
    true,
  );
  t.deepEqual(report.items.map((i) => [i.kind, i.done, i.error]), [
    ['missing', false, 'the file is back; nothing dropped'],
    ['fetching', true, undefined],
  ]);
  t.is(m.store.storageFindSector(S, FileType.sealed, 0, false).length, 1);
});

test('a leftover download, its progress record and a temporary of the record are one finding and go together', async (t) => {
  const { root } = t.context;
  const dir = join(root, 'sealed', 'fetching');
  mkdirSync(dir);
  for (const name of ['s-t01000-11', 's-t01000-11.fetch', '.s-t01000-11.fetch.77-00aa11bb.tmp']) writeFileSync(join(dir, name), 'x');
  // a temporary whose record and download are gone stands alone
  writeFileSync(join(dir, '.s-t01000-12.fetch.77-00aa11bb.tmp'), 'y');
  const dry = await cleanupPaths(deps(t), false);
  t.deepEqual(dry.items.map((i) => [i.kind, i.path]), [
    ['fetching', join(dir, '.s-t01000-12.fetch.77-00aa11bb.tmp')],
    ['fetching', join(dir, 's-t01000-11')],
  ]);
  const applied = await cleanupPaths(deps(t), true);
  t.true(applied.items.every((i) => i.done));
  t.deepEqual(readdirSync(dir), []);
});
