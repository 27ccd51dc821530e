import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { PartialFile } from '../../../src/partial/partial-file.js';
import { FileType } from '../../../src/sector/sector-id.js';
import { LocalStore } from '../../../src/storage/local-store.js';
import { writeJournal } from '../../helpers/partial-journal.js';
import { type Manager, makeManager, makePath, tempDir, writeSectorEntry } from './storage-fixtures.js';
import { messageLogger } from '../../helpers/log-recorder.js';

const test = anyTest as TestFn<{ m: Manager; dir: string; local: LocalStore; logs: string[] }>;
const { unsealed: U, sealed: SE, cache: C } = FileType;
const SSIZE = 2048;

test.beforeEach((t) => {
  t.context.m = makeManager();
  t.context.dir = tempDir();
  t.context.logs = [];
  t.context.local = new LocalStore({ catalog: t.context.m.catalog, urls: [], log: messageLogger(t.context.logs) });
});
test.afterEach.always((t) => {
  t.context.local.close();
  t.context.m.close();
  rmSync(t.context.dir, { recursive: true, force: true });
});

/** A 2 KiB partial file with `[0, 512)` allocated. */
async function partialFile(path: string): Promise<void> {
  const pf = await PartialFile.create(path, SSIZE);
  await pf.writeAt(Buffer.alloc(512, 7), 0);
  await pf.markAllocated(0, 512);
  await pf.close();
}

test('opening a path rolls trailer journals forward, removes what a crash left half-written, and logs each action', async (t) => {
  const { m, dir, local, logs } = t.context;
  const p = makePath(dir, 'seal', { canSeal: true });
  const u = (name: string) => join(p, 'unsealed', name);
  // sector 0: a journal renamed into place but not applied (marks [0, 1024))
  await partialFile(u('s-t01000-0'));
  await writeJournal(u('s-t01000-0'), SSIZE, [{ value: true, length: 1024 }]);
  // sector 1: a journal that was never renamed into place
  await partialFile(u('s-t01000-1'));
  writeFileSync(u('.s-t01000-1.trailer.tmp'), 'half a journal');
  // sector 2: AddPiece's new file, killed before it was linked into place, with its journal
  await partialFile(u('.s-t01000-2.adding-0a1b2c3d4e5f'));
  await writeJournal(u('.s-t01000-2.adding-0a1b2c3d4e5f'), SSIZE, [{ value: true, length: 1024 }]);
  // sector 3: the journal of a file that was removed since
  await writeJournal(u('s-t01000-3'), SSIZE, [{ value: true, length: 128 }]);
  // PC2's replica temporary, sealing temporaries in a cache directory, an interrupted download
  writeSectorEntry(p, 'sealed', { miner: 1000, number: 0 });
  writeFileSync(join(p, 'sealed', 's-t01000-0.tmp'), 'half a replica');
  writeSectorEntry(p, 'cache', { miner: 1000, number: 0 });
  const cache0 = join(p, 'cache', 's-t01000-0');
  writeFileSync(join(cache0, 'sc-02-data-layer-2.dat.tmp-4242-0badcafe'), 'half a layer');
  writeFileSync(join(cache0, 'sc-02-data-tree-d.dat.tmp'), 'half a tree');
  mkdirSync(join(cache0, 'unseal-00112233aabb'));
  writeFileSync(join(cache0, 'unseal-00112233aabb', 'sc-02-data-layer-1.dat'), 'scratch');
  mkdirSync(join(p, 'unsealed', 'fetching'), { recursive: true });
  writeFileSync(join(p, 'unsealed', 'fetching', 's-t01000-9'), 'half a download');

  const info = await local.openPath(p);

  t.deepEqual(readdirSync(join(p, 'unsealed')).sort(), ['s-t01000-0', 's-t01000-1']);
  t.deepEqual(readdirSync(join(p, 'sealed')), ['s-t01000-0']);
  t.deepEqual(readdirSync(cache0).sort(), ['p_aux', 'sc-02-data-tree-r-last.dat', 't_aux']);
  const pf0 = await PartialFile.open(u('s-t01000-0'), SSIZE, { readOnly: true });
  t.deepEqual(pf0.allocated(), [{ start: 0, end: 1024 }], 'the completed journal is rolled forward');
  await pf0.close();
  const pf1 = await PartialFile.open(u('s-t01000-1'), SSIZE, { readOnly: true });
  t.deepEqual(pf1.allocated(), [{ start: 0, end: 512 }], 'an unfinished journal leaves the previous allocation');
  await pf1.close();
  t.deepEqual(m.store.storageList()[info.ID], [
    { Miner: 1000, Number: 0, SectorFileType: U | SE | C },
    { Miner: 1000, Number: 1, SectorFileType: U },
  ]);
  t.is(info.UnknownEntries, undefined);
  for (const gone of [
    '.s-t01000-0.trailer',
    '.s-t01000-1.trailer.tmp',
    '.s-t01000-2.adding-0a1b2c3d4e5f',
    '..s-t01000-2.adding-0a1b2c3d4e5f.trailer',
    '.s-t01000-3.trailer',
    's-t01000-0.tmp',
    'sc-02-data-layer-2.dat.tmp-4242-0badcafe',
    'unseal-00112233aabb',
    'fetching',
  ]) {
    t.true(
      logs.some((l) => l.includes(gone)),
      `the log names ${gone}`,
    );
  }
});

test('an entry that is not a sector file is reported and left alone, and the path still opens with its sectors', async (t) => {
  const { m, dir, local, logs } = t.context;
  const p = makePath(dir, 'store', { canStore: true });
  writeSectorEntry(p, 'sealed', { miner: 1000, number: 1 });
  writeFileSync(join(p, 'sealed', 's-t01000-1.bak'), 'an operator copy');
  writeFileSync(join(p, 'cache', 's-t01000-2'), 'a file where a directory belongs');
  symlinkSync('/etc/passwd', join(p, 'sealed', 's-t01000-3'));
  writeFileSync(join(p, 'unsealed', 's-t01000-4.tmp'), 'not a name this store writes in unsealed/');

  const info = await local.openPath(p);

  t.deepEqual(m.store.storageList()[info.ID], [{ Miner: 1000, Number: 1, SectorFileType: SE }]);
  t.deepEqual(info.UnknownEntries, [
    `${join(p, 'unsealed', 's-t01000-4.tmp')}: "s-t01000-4.tmp" is not a sector file name (expected s-t0<miner>-<number>)`,
    `${join(p, 'sealed', 's-t01000-1.bak')}: "s-t01000-1.bak" is not a sector file name (expected s-t0<miner>-<number>)`,
    `${join(p, 'sealed', 's-t01000-3')}: a symbolic link; sector files must be real files`,
    `${join(p, 'cache', 's-t01000-2')}: should be a directory`,
  ]);
  t.deepEqual(local.localPaths()[0]?.UnknownEntries, info.UnknownEntries);
  t.is(readFileSync(join(p, 'sealed', 's-t01000-1.bak'), 'utf8'), 'an operator copy', 'left alone');
  t.true(existsSync(join(p, 'cache', 's-t01000-2')));
  t.true(logs.some((l) => l.includes(`${join(p, 'sealed', 's-t01000-1.bak')} is not a sector file`) && l.includes('move it out of the path')));
});

test('a rescan of a path in use skips the working files of operations in progress without touching them', async (t) => {
  const { m, dir, local } = t.context;
  const p = makePath(dir, 'seal', { canSeal: true });
  const info = await local.openPath(p);
  // an AddPiece creating sector 5 and a trailer update of sector 6, both in progress
  await partialFile(join(p, 'unsealed', '.s-t01000-5.adding-abcdef'));
  await partialFile(join(p, 'unsealed', 's-t01000-6'));
  await writeJournal(join(p, 'unsealed', 's-t01000-6'), SSIZE, [{ value: true, length: 1024 }]);
  await local.redeclare();
  t.true(existsSync(join(p, 'unsealed', '.s-t01000-5.adding-abcdef')));
  t.true(existsSync(join(p, 'unsealed', '.s-t01000-6.trailer')));
  t.deepEqual(m.store.storageList()[info.ID], [{ Miner: 1000, Number: 6, SectorFileType: U }]);
  t.is(local.localPaths()[0]?.UnknownEntries, undefined);
});

test('opening a path keeps a download with recorded progress and its record, and removes downloads that cannot be resumed', async (t) => {
  const { m, dir, local, logs } = t.context;
  const p = makePath(dir, 'seal', { canSeal: true });
  const f = (name: string) => join(p, 'sealed', 'fetching', name);
  mkdirSync(join(p, 'sealed', 'fetching'), { recursive: true });
  const record = (size: number, ranges: [number, number][]) => JSON.stringify({ v: 1, kind: 'file', files: { '': { size, ranges } } });
  // resumable: progress recorded (and a temporary of a record replacement a kill left)
  writeFileSync(f('s-t01000-1'), Buffer.alloc(4096, 1));
  writeFileSync(f('s-t01000-1.fetch'), record(8192, [[0, 4096]]));
  writeFileSync(f('.s-t01000-1.fetch.4242-0badcafe.tmp'), record(8192, [[0, 2048]]).slice(0, 10));
  // not resumable: no record; a record of nothing; an unreadable record; a record without its download
  writeFileSync(f('s-t01000-2'), 'no record');
  writeFileSync(f('s-t01000-3'), 'nothing recorded');
  writeFileSync(f('s-t01000-3.fetch'), record(8192, []));
  writeFileSync(f('s-t01000-4'), 'torn record');
  writeFileSync(f('s-t01000-4.fetch'), '{"v":1,"kin');
  writeFileSync(f('s-t01000-5.fetch'), record(8192, [[0, 4096]]));

  const info = await local.openPath(p);

  t.deepEqual(readdirSync(join(p, 'sealed', 'fetching')).sort(), ['s-t01000-1', 's-t01000-1.fetch']);
  t.deepEqual(m.store.storageList()[info.ID], [], 'a download is never declared');
  t.true(logs.some((l) => l.includes(`kept ${f('s-t01000-1')} (an interrupted download with 4096 bytes recorded`)), logs.join('\n'));
  t.true(logs.some((l) => l.includes(f('s-t01000-2')) && l.includes('cannot be resumed')));
  t.true(local.fsStat(info.ID).Used >= 4096, 'the kept download counts as used space');
});
