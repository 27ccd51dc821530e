import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { FileType } from '../../../src/sector/sector-id.js';
import { LocalStore } from '../../../src/storage/local-store.js';
import { readStorageConfig } from '../../../src/storage/storage-config.js';
import { type Manager, makeManager, makePath, PROOF_8M, tempDir, writeSectorEntry } from './storage-fixtures.js';
import { messageLogger } from '../../helpers/log-recorder.js';

const test = anyTest as TestFn<{ m: Manager; dir: string; local: LocalStore; logs: string[] }>;
const { unsealed: U, sealed: SE, cache: C } = FileType;
const MiB = 1024 * 1024;
const S1 = { miner: 1000, number: 1 };
const URL1 = 'http://127.0.0.1:1/remote';

test.beforeEach((t) => {
  t.context.m = makeManager();
  t.context.dir = tempDir();
  t.context.logs = [];
  t.context.local = new LocalStore({
    catalog: t.context.m.catalog,
    urls: [URL1],
    configFile: join(t.context.dir, 'storage.json'),
    log: messageLogger(t.context.logs),
  });
});
test.afterEach.always((t) => {
  t.context.local.close();
  t.context.m.close();
  rmSync(t.context.dir, { recursive: true, force: true });
});

test('opening a path declares the sector files already on it, primary when the path can store', async (t) => {
  const { m, dir, local } = t.context;
  const p = makePath(dir, 'store', { canStore: true });
  writeSectorEntry(p, 'sealed', S1);
  writeSectorEntry(p, 'cache', S1);
  writeSectorEntry(p, 'unsealed', { miner: 1000, number: 2 });
  const info = await local.addLocalPath(p);
  t.deepEqual(readStorageConfig(join(dir, 'storage.json')).StoragePaths, [{ Path: p }]);
  t.deepEqual(m.store.storageList()[info.ID], [
    { Miner: 1000, Number: 1, SectorFileType: SE | C },
    { Miner: 1000, Number: 2, SectorFileType: U },
  ]);
  const found = m.store.storageFindSector(S1, SE, 0, false);
  t.deepEqual(found.map((f) => [f.ID, f.Primary, f.URLs]), [[info.ID, true, [`${URL1}/sealed/s-t01000-1`]]]);
});

test('a corrupted sectorstore.json and a missing path are refused with clear errors', async (t) => {
  const { dir, local } = t.context;
  const p = makePath(dir, 'store', { canStore: true });
  writeFileSync(join(p, 'sectorstore.json'), '{"ID": 42}');
  await t.throwsAsync(local.openPath(p), { code: 'STORAGE_CONFIG_INVALID', message: /sectorstore\.json is corrupted: "ID" must be/ });
  await t.throwsAsync(local.openPath(join(dir, 'nope')), { code: 'STORAGE_NOT_FOUND', message: /nope does not exist/ });
});

test('attaching the same path twice is refused', async (t) => {
  const { dir, local } = t.context;
  const p = makePath(dir, 'store', { canStore: true });
  await local.addLocalPath(p);
  await t.throwsAsync(local.addLocalPath(p), { code: 'STORAGE_EXISTS', message: /already attached/ });
  await t.throwsAsync(local.addLocalPath(`${p}/`), { code: 'STORAGE_EXISTS' });
  t.is(readStorageConfig(join(dir, 'storage.json')).StoragePaths.length, 1);
});

test('reopening cleans interrupted downloads and drops declarations of files that are gone', async (t) => {
  const { m, dir, local } = t.context;
  const p = makePath(dir, 'seal', { canSeal: true });
  writeSectorEntry(p, 'sealed', S1);
  writeSectorEntry(p, 'sealed', { miner: 1000, number: 2 });
  const { ID } = await local.addLocalPath(p);
  local.close();
  rmSync(join(p, 'sealed', 's-t01000-2'));
  mkdirSync(join(p, 'cache', 'fetching', 's-t01000-3'), { recursive: true });
  writeFileSync(join(p, 'cache', 'fetching', 's-t01000-3', 'half'), 'partial');
  const again = new LocalStore({ catalog: m.catalog, urls: [URL1], configFile: join(dir, 'storage.json') });
  await again.open();
  again.close();
  t.false(existsSync(join(p, 'cache', 'fetching', 's-t01000-3')));
  t.deepEqual(m.store.storageList()[ID], [{ Miner: 1000, Number: 1, SectorFileType: SE }]);
});

test('a declaration whose file vanished is not handed out and is dropped', async (t) => {
  const { m, dir, local } = t.context;
  const p = makePath(dir, 'seal', { canSeal: true });
  writeSectorEntry(p, 'sealed', S1);
  const { ID } = await local.addLocalPath(p);
  rmSync(join(p, 'sealed', 's-t01000-1'));
  const got = await local.acquireSector({ id: S1, proofType: PROOF_8M }, SE, 0, 'sealing');
  t.deepEqual(got, { paths: {}, storages: {} });
  t.deepEqual(m.store.storageList()[ID], []);
  t.true(t.context.logs.some((l) => l.includes('is missing; dropping the declaration')));
});

test('acquire resolves existing files and allocates new ones on the right kind of path', async (t) => {
  const { dir, local } = t.context;
  const seal = makePath(dir, 'seal', { canSeal: true });
  const store = makePath(dir, 'store', { canStore: true });
  writeSectorEntry(seal, 'unsealed', S1);
  const a = await local.addLocalPath(seal);
  const b = await local.addLocalPath(store);
  const ref = { id: S1, proofType: PROOF_8M };
  const got = await local.acquireSector(ref, U, SE | C, 'sealing');
  t.deepEqual(got.storages, { unsealed: a.ID, sealed: a.ID, cache: a.ID });
  t.is(got.paths.cache, join(seal, 'cache', 's-t01000-1'));
  const st = await local.acquireSector(ref, 0, SE, 'storage');
  t.deepEqual(st.storages, { sealed: b.ID });
  await t.throwsAsync(local.acquireSector(ref, SE, SE, 'sealing'), { code: 'INVALID_ARGUMENT', message: /both find and allocate/ });
});

test('concurrent allocations never exceed MaxStorage and the refusal names needed and available bytes', async (t) => {
  const { dir, local } = t.context;
  // Room for exactly three 8 MiB sealed files under the limit.
  const p = makePath(dir, 'seal', { canSeal: true, maxStorage: 3 * 8 * MiB + MiB });
  const { ID } = await local.addLocalPath(p);
  const results = await Promise.allSettled(
    Array.from({ length: 8 }, (_, i) => local.allocate({ id: { miner: 1000, number: 10 + i }, proofType: PROOF_8M }, SE, 'sealing')),
  );
  const ok = results.filter((r) => r.status === 'fulfilled');
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  t.is(ok.length, 3);
  t.is(failed.length, 5);
  for (const f of failed) {
    t.is(f.reason.code, 'NO_SPACE');
    t.regex(f.reason.message, /not enough space on storage .* for sealed of s-t01000-\d+: need 8388608 bytes \(8 MiB\), available \d+ bytes/);
  }
  const stat = local.fsStat(ID);
  t.is(stat.Reserved, 3 * 8 * MiB);
  t.true(stat.Available < 8 * MiB);
  for (const r of ok) (r as PromiseFulfilledResult<{ reservation: { release(): void } }>).value.reservation.release();
  t.is(local.fsStat(ID).Reserved, 0);
  await t.notThrowsAsync(local.allocate({ id: S1, proofType: PROOF_8M }, SE, 'sealing'));
});

test('concurrent allocations never exceed the free space of the filesystem', async (t) => {
  const { m, dir } = t.context;
  // A filesystem with 20 MiB free: two 8 MiB sealed files fit, the third does not.
  const local = new LocalStore({ catalog: m.catalog, urls: [URL1], statfs: () => ({ Capacity: 100 * MiB, FSAvailable: 20 * MiB }) });
  t.teardown(() => local.close());
  const { ID } = await local.openPath(makePath(dir, 'small', { canSeal: true }));
  const results = await Promise.allSettled(
    Array.from({ length: 5 }, (_, i) => local.allocate({ id: { miner: 1000, number: 20 + i }, proofType: PROOF_8M }, SE, 'sealing')),
  );
  t.is(results.filter((r) => r.status === 'fulfilled').length, 2);
  const refused = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  t.is(refused?.reason.code, 'NO_SPACE');
  t.regex(refused?.reason.message, /need 8388608 bytes \(8 MiB\), available 4194304 bytes \(4 MiB; free 20971520, reserved 16777216\)/);
  t.is(local.fsStat(ID).Available, 4 * MiB);
});

test('a cache allocation that does not fit is refused before anything is written', async (t) => {
  const { dir, local } = t.context;
  const p = makePath(dir, 'seal', { canSeal: true, maxStorage: 100 * MiB });
  await local.addLocalPath(p);
  // cache while sealing is 14.1 × 8 MiB = 112.8 MiB > 100 MiB
  await t.throwsAsync(local.allocate({ id: S1, proofType: PROOF_8M }, C, 'sealing'), { code: 'NO_SPACE', message: /need 118279372 bytes/ });
  t.deepEqual(local.reservations(local.localPaths()[0]?.ID as string), []);
});

test('bytes already written into a reserved file are counted once', async (t) => {
  const { dir, local } = t.context;
  const p = makePath(dir, 'seal', { canSeal: true, maxStorage: 64 * MiB });
  const { ID } = await local.addLocalPath(p);
  const before = local.fsStat(ID);
  const alloc = await local.allocate({ id: S1, proofType: PROOF_8M }, SE, 'sealing');
  const reserved = local.fsStat(ID);
  t.is(reserved.Reserved, 8 * MiB);
  t.is(reserved.Available, before.Available - 8 * MiB);
  writeFileSync(alloc.paths.sealed as string, Buffer.alloc(4 * MiB, 1));
  const half = local.fsStat(ID);
  t.is(half.Reserved, 4 * MiB, 'the written half no longer counts as reserved');
  t.is(half.Used - reserved.Used, 4 * MiB, 'and counts as used instead');
  t.is(half.Available, reserved.Available, 'so the space left is unchanged');
  alloc.reservation.release();
});

test('remove drops the declaration and deletes the file; unknown sectors need force', async (t) => {
  const { m, dir, local } = t.context;
  const p = makePath(dir, 'store', { canStore: true });
  writeSectorEntry(p, 'cache', S1);
  const { ID } = await local.addLocalPath(p);
  await local.remove(S1, C, false);
  t.false(existsSync(join(p, 'cache', 's-t01000-1')));
  t.deepEqual(m.store.storageList()[ID], []);
  await t.throwsAsync(local.remove(S1, C, false), { code: 'FILE_NOT_FOUND', message: /can't delete cache of sector s-t01000-1: not found/ });
  await t.notThrowsAsync(local.remove(S1, C, true));
  await t.throwsAsync(local.remove(S1, SE | C, true), { code: 'INVALID_ARGUMENT', message: /one file type/ });
});

test('removeCopies keeps the primary copy and removes the others only when a primary exists', async (t) => {
  const { m, dir, local } = t.context;
  const a = makePath(dir, 'a', { canSeal: true });
  const b = makePath(dir, 'b', { canStore: true });
  writeSectorEntry(a, 'sealed', S1);
  writeSectorEntry(b, 'sealed', S1);
  const ia = await local.addLocalPath(a);
  await local.addLocalPath(b);
  await local.removeCopies(S1, SE);
  t.false(existsSync(join(a, 'sealed', 's-t01000-1')));
  t.true(existsSync(join(b, 'sealed', 's-t01000-1')));
  t.deepEqual(m.store.storageList()[ia.ID], []);
});

for (const cross of [false, true]) {
  test(`moveStorage moves sealing files to a storage path and declares them there atomically (${cross ? 'across filesystems' : 'rename'})`, async (t) => {
    const { m, dir, local } = t.context;
    const seal = makePath(dir, 'seal', { canSeal: true });
    const other = cross ? tempDir('ss-shm-', '/dev/shm') : dir;
    t.teardown(() => cross && rmSync(other, { recursive: true, force: true }));
    const store = makePath(other, 'store', { canStore: true });
    const sealed = writeSectorEntry(seal, 'sealed', S1, 100_000);
    writeSectorEntry(seal, 'cache', S1, 5000);
    const a = await local.addLocalPath(seal);
    const b = await local.addLocalPath(store);
    const out = await local.moveStorage({ id: S1, proofType: PROOF_8M }, SE | C);
    t.deepEqual(out.storages, { sealed: b.ID, cache: b.ID });
    t.true(readFileSync(join(store, 'sealed', 's-t01000-1')).equals(sealed));
    t.true(statSync(join(store, 'cache', 's-t01000-1', 'p_aux')).isFile());
    t.false(existsSync(join(seal, 'sealed', 's-t01000-1')));
    t.false(existsSync(join(seal, 'cache', 's-t01000-1')));
    t.false(existsSync(join(store, 'sealed', 'fetching', 's-t01000-1')));
    t.deepEqual(m.store.storageList()[a.ID], []);
    t.deepEqual(m.store.storageFindSector(S1, SE | C, 0, false).map((f) => [f.ID, f.Primary]), [[b.ID, true]]);
    t.is(local.fsStat(b.ID).Reserved, 0, 'the move reservation is released');
  });
}

test('moveStorage puts the file back at its source when the index refuses the re-declaration', async (t) => {
  const { m, dir } = t.context;
  const failing = { ...m.catalog, storageMoveSector: () => Promise.reject(new Error('index unreachable')) };
  const local = new LocalStore({ catalog: failing, urls: [URL1], log: messageLogger(t.context.logs) });
  t.teardown(() => local.close());
  const seal = makePath(dir, 'seal', { canSeal: true });
  const store = makePath(dir, 'store', { canStore: true });
  const sealed = writeSectorEntry(seal, 'sealed', S1, 100_000);
  const a = await local.openPath(seal);
  const b = await local.openPath(store);
  await t.throwsAsync(local.moveStorage({ id: S1, proofType: PROOF_8M }, SE), { message: /index unreachable/ });
  t.true(readFileSync(join(seal, 'sealed', 's-t01000-1')).equals(sealed), 'the file is where the index says it is');
  t.false(existsSync(join(store, 'sealed', 's-t01000-1')), 'no undeclared copy at the destination');
  t.deepEqual((await local.findLocal(S1, 'sealed'))?.id, a.ID, 'the declaration at the source still resolves');
  t.deepEqual(m.store.storageFindSector(S1, SE, 0, false).map((f) => f.ID), [a.ID]);
  t.is(local.fsStat(b.ID).Reserved, 0, 'the move reservation is released');
});

test('a node restarted after more than 50 s of downtime can put new files on its own paths at once', async (t) => {
  const { m, dir, local } = t.context;
  const p = makePath(dir, 'seal', { canSeal: true });
  await local.addLocalPath(p);
  local.close();
  m.clock.t += 60_000; // down for a minute: the last heartbeat is stale
  const again = new LocalStore({ catalog: m.catalog, urls: [URL1], configFile: join(dir, 'storage.json'), clock: m.clock });
  t.teardown(() => again.close());
  await again.open();
  const target = await again.prepareAddPiece({ id: S1, proofType: PROOF_8M }, MiB);
  t.true(target.created);
  target.reservation.release();
  t.true(m.store.storageStatus().every((s) => s.healthy));
});

test('a node restarted on a new address replaces the URL it had on its paths', async (t) => {
  const { m, dir, local } = t.context;
  const p = makePath(dir, 'seal', { canSeal: true });
  local.close();
  const first = new LocalStore({ catalog: m.catalog, urls: ['http://127.0.0.1:1111/remote'], nodeId: 'node-1' });
  const { ID } = await first.openPath(p);
  first.close();
  const second = new LocalStore({ catalog: m.catalog, urls: ['http://127.0.0.1:2222/remote'], nodeId: 'node-1' });
  t.teardown(() => second.close());
  await second.openPath(p);
  t.deepEqual(m.store.storageInfo(ID).URLs, ['http://127.0.0.1:2222/remote']);
  await second.redeclare();
  t.deepEqual(m.store.storageInfo(ID).URLs, ['http://127.0.0.1:2222/remote']);
});

test('NO_SPACE quotes the live free space of the path, not the figures of its last heartbeat', async (t) => {
  const { m, dir } = t.context;
  const fs = { free: 4_257_218 }; // what the last heartbeat saw
  const local = new LocalStore({ catalog: m.catalog, urls: [URL1], statfs: () => ({ Capacity: 100 * MiB, FSAvailable: fs.free }) });
  t.teardown(() => local.close());
  const { ID } = await local.openPath(makePath(dir, 'seal', { canSeal: true }));
  fs.free = 62_464; // df now shows 61 KB; no heartbeat since
  const err = await t.throwsAsync(local.prepareAddPiece({ id: S1, proofType: PROOF_8M }, MiB), { code: 'NO_SPACE' });
  t.regex(err.message, new RegExp(`storage ${ID} .* available 62464 bytes \\(61 KiB; free 62464, reserved 0\\)`));
  t.false(err.message.includes('4257218'));
  await t.throwsAsync(local.allocate({ id: S1, proofType: PROOF_8M }, SE, 'sealing'), { code: 'NO_SPACE', message: /available 62464 bytes/ });
});

test('a path the last heartbeat saw full is used as soon as it has room again', async (t) => {
  const { m, dir } = t.context;
  const fs = { free: 1024 };
  const local = new LocalStore({ catalog: m.catalog, urls: [URL1], statfs: () => ({ Capacity: 100 * MiB, FSAvailable: fs.free }) });
  t.teardown(() => local.close());
  const { ID } = await local.openPath(makePath(dir, 'seal', { canSeal: true }));
  fs.free = 64 * MiB; // space was freed; the index still has the old figures
  const target = await local.prepareAddPiece({ id: S1, proofType: PROOF_8M }, MiB);
  t.is(target.storageId, ID);
  target.reservation.release();
  const alloc = await local.allocate({ id: S1, proofType: PROOF_8M }, SE, 'sealing');
  t.is(alloc.storages.sealed, ID);
  alloc.reservation.release();
});

test('a move within one filesystem is a rename that reserves nothing, so a full disk does not refuse it', async (t) => {
  const { m, dir } = t.context;
  // the filesystem reports no free byte: a reservation of the finalized size would be refused
  const full = () => ({ Capacity: 1024 * MiB, FSAvailable: 0 });
  const local = new LocalStore({ catalog: m.catalog, urls: [URL1], statfs: full, log: messageLogger(t.context.logs) });
  t.teardown(() => local.close());
  const seal = makePath(dir, 'seal', { canSeal: true });
  const store = makePath(dir, 'store', { canStore: true });
  const sealed = writeSectorEntry(seal, 'sealed', S1, 100_000);
  writeSectorEntry(seal, 'cache', S1, 5000);
  await local.openPath(seal);
  const b = await local.openPath(store);
  const out = await local.moveStorage({ id: S1, proofType: PROOF_8M }, SE | C);
  t.deepEqual(out.storages, { sealed: b.ID, cache: b.ID });
  t.true(readFileSync(join(store, 'sealed', 's-t01000-1')).equals(sealed));
  t.deepEqual(local.reservations(b.ID), []);
});

test('a move across filesystems reserves the copy\'s space and is refused before copying when there is none', async (t) => {
  const { m, dir } = t.context;
  const full = () => ({ Capacity: 1024 * MiB, FSAvailable: 0 });
  const local = new LocalStore({ catalog: m.catalog, urls: [URL1], statfs: full, log: messageLogger(t.context.logs) });
  t.teardown(() => local.close());
  const other = tempDir('ss-shm-', '/dev/shm');
  t.teardown(() => rmSync(other, { recursive: true, force: true }));
  const seal = makePath(dir, 'seal', { canSeal: true });
  const store = makePath(other, 'store', { canStore: true });
  const sealed = writeSectorEntry(seal, 'sealed', S1, 100_000);
  const a = await local.openPath(seal);
  await local.openPath(store);
  await t.throwsAsync(local.moveStorage({ id: S1, proofType: PROOF_8M }, SE), { code: 'NO_SPACE', message: /need 8388608 bytes/ });
  t.true(readFileSync(join(seal, 'sealed', 's-t01000-1')).equals(sealed), 'the source is untouched');
  t.false(existsSync(join(store, 'sealed', 'fetching', 's-t01000-1')), 'nothing was copied');
  t.deepEqual(m.store.storageFindSector(S1, SE, 0, false).map((f) => f.ID), [a.ID]);
});

test('two reservations of one file count the bytes written into it once', async (t) => {
  const { dir, local } = t.context;
  const p = makePath(dir, 'seal', { canSeal: true, maxStorage: 64 * MiB });
  const { ID } = await local.addLocalPath(p);
  const ref = { id: S1, proofType: PROOF_8M };
  const first = local.reserve(ref, SE, { sealed: ID }, 'sealing');
  const second = local.reserve(ref, SE, { sealed: ID }, 'sealing');
  t.is(local.fsStat(ID).Reserved, 16 * MiB);
  writeFileSync(join(p, 'sealed', 's-t01000-1'), Buffer.alloc(4 * MiB, 1));
  const stat = local.fsStat(ID);
  t.is(stat.Reserved, 12 * MiB, 'the 4 MiB written leave 12 of the 16 MiB reserved (not 8)');
  t.is(stat.Available, 64 * MiB - stat.Used - 12 * MiB);
  first.release();
  second.release();
  t.is(local.fsStat(ID).Reserved, 0);
});
