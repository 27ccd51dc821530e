/**
 * The progress record of a download: what a resume may rely on is only a whole, consistent
 * record; anything else reads as no progress. Also the names that belong to one download.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { tempPathFor } from '../../../src/fs/durable.js';
import {
  downloadOf,
  type FetchJournal,
  journalPathOf,
  mergeRanges,
  missingRanges,
  readFetchJournal,
  removeFetchJournal,
  writeFetchJournal,
} from '../../../src/storage/fetch-journal.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'ss-fetch-journal-'));
  dirs.push(d);
  return d;
}
test.after.always(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test('a record written durably or not reads back, with written ranges defaulting to the flushed ones', async (t) => {
  const dir = tempDir();
  const j: FetchJournal = { v: 1, kind: 'dir', files: { p_aux: { size: 64, ranges: [[0, 64]] }, t_aux: { size: 300, ranges: [], written: [[0, 100]] } } };
  await writeFetchJournal(join(dir, 'a.fetch'), j, true);
  await writeFetchJournal(join(dir, 'b.fetch'), j, false);
  for (const name of ['a.fetch', 'b.fetch']) {
    t.deepEqual(await readFetchJournal(join(dir, name)), {
      v: 1,
      kind: 'dir',
      files: { p_aux: { size: 64, ranges: [[0, 64]], written: [[0, 64]] }, t_aux: { size: 300, ranges: [], written: [[0, 100]] } },
    });
  }
  t.deepEqual(readdirSync(dir).sort(), ['a.fetch', 'b.fetch'], 'no temporary left');
});

const file = (p: unknown) => ({ v: 1, kind: 'file', files: { '': p } });
for (const [what, content] of [
  ['that is not JSON (a torn write)', '{"v":1,"kind":"fi'],
  ['that is empty (a power loss before the data reached the disk)', ''],
  ['of another version', JSON.stringify({ v: 2, kind: 'file', files: { '': { size: 10, ranges: [] } } })],
  ['of an unknown kind', JSON.stringify({ v: 1, kind: 'tar', files: {} })],
  ['of one file that gives it a name', JSON.stringify({ v: 1, kind: 'file', files: { x: { size: 10, ranges: [] } } })],
  ['of one file that lists two', JSON.stringify({ v: 1, kind: 'file', files: { '': { size: 10, ranges: [] }, x: { size: 1, ranges: [] } } })],
  ['of a directory that names a path', JSON.stringify({ v: 1, kind: 'dir', files: { '../evil': { size: 10, ranges: [] } } })],
  ['with a negative size', JSON.stringify(file({ size: -1, ranges: [] }))],
  ['with a range past the size', JSON.stringify(file({ size: 10, ranges: [[0, 11]] }))],
  ['with overlapping ranges', JSON.stringify(file({ size: 10, ranges: [[0, 5], [4, 8]] }))],
  ['with ranges out of order', JSON.stringify(file({ size: 10, ranges: [[5, 8], [0, 2]] }))],
  ['with an empty range', JSON.stringify(file({ size: 10, ranges: [[3, 3]] }))],
  ['with a range that is not two integers', JSON.stringify(file({ size: 10, ranges: [[0, 1.5]] }))],
  ['with bad written ranges', JSON.stringify(file({ size: 10, ranges: [], written: [[0, 'x']] }))],
] as const) {
  test(`a record ${what} reads as no progress`, async (t) => {
    const path = join(tempDir(), 's-t01000-1.fetch');
    writeFileSync(path, content);
    t.is(await readFetchJournal(path), undefined);
  });
}

test('an absent record reads as no progress', async (t) => {
  t.is(await readFetchJournal(join(tempDir(), 'none.fetch')), undefined);
});

test('a download, its record and a temporary of the record all belong to the download', (t) => {
  const record = journalPathOf('s-t01000-1');
  t.is(record, 's-t01000-1.fetch');
  t.is(downloadOf('s-t01000-1'), 's-t01000-1');
  t.is(downloadOf(record), 's-t01000-1');
  t.is(downloadOf(tempPathFor(record)), 's-t01000-1');
});

test('removing a record removes the temporaries a killed writer left of it, and nothing else', async (t) => {
  const dir = tempDir();
  const record = join(dir, 's-t01000-1.fetch');
  writeFileSync(record, '{}');
  writeFileSync(tempPathFor(record), 'torn');
  writeFileSync(join(dir, 's-t01000-1'), 'download');
  writeFileSync(tempPathFor(join(dir, 's-t01000-2.fetch')), 'another download');
  await removeFetchJournal(record);
  t.deepEqual(readdirSync(dir).filter((n) => n.includes('s-t01000-1')), ['s-t01000-1']);
  t.is(readdirSync(dir).length, 2);
  await t.notThrowsAsync(removeFetchJournal(record), 'an absent record is fine');
});

test('ranges merge when they touch, and what is missing is the rest of the file', (t) => {
  t.deepEqual(mergeRanges([[10, 20], [0, 5], [5, 8], [19, 30], [40, 40]]), [[0, 8], [10, 30]]);
  t.deepEqual(missingRanges(50, [[10, 20], [0, 5]]), [[5, 10], [20, 50]]);
  t.deepEqual(missingRanges(20, [[0, 20]]), []);
  t.deepEqual(missingRanges(0, []), []);
});
