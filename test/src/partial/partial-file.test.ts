import { mkdtemp, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { FileNotFoundError, PartialFileCorruptError } from '../../../src/errors.js';
import { journalPath, PartialFile } from '../../../src/partial/partial-file.js';
import { encodeRuns } from '../../../src/partial/rleplus.js';
import { writeJournal } from '../../helpers/partial-journal.js';

const test = anyTest as TestFn<{ dir: string }>;
const SSIZE = 2048;

test.beforeEach(async (t) => {
  t.context.dir = await mkdtemp(join(tmpdir(), 'partial-file-'));
});
test.afterEach.always(async (t) => {
  await rm(t.context.dir, { recursive: true, force: true });
});

async function tail(path: string, n: number): Promise<number[]> {
  const b = await readFile(path);
  return [...b.subarray(b.length - n)];
}

test('a fresh partial file is the sector-sized data region plus an empty trailer, as current Lotus writes it', async (t) => {
  const path = join(t.context.dir, 's-t01000-1');
  const pf = await PartialFile.create(path, SSIZE);
  await pf.close();
  const bytes = await readFile(path);
  t.is(bytes.length, SSIZE + 4);
  t.true(bytes.subarray(0, SSIZE).every((b) => b === 0));
  t.deepEqual([...bytes.subarray(SSIZE)], [0, 0, 0, 0]);
});

test('marking the first 128 bytes writes the RLE+ trailer 04 30 and its length', async (t) => {
  // bits: version 00, first run is ones (1), long block 00, varint 128 = 80 01 from bit 5 → 04 30 (00 trimmed)
  const path = join(t.context.dir, 's-t01000-1');
  const pf = await PartialFile.create(path, SSIZE);
  await pf.markAllocated(0, 128);
  await pf.close();
  t.is((await stat(path)).size, SSIZE + 2 + 4);
  t.deepEqual(await tail(path, 6), [0x04, 0x30, 2, 0, 0, 0]);
});

test('allocations survive reopening; free removes them; hasAllocated takes unpadded ranges', async (t) => {
  const path = join(t.context.dir, 's-t01000-2');
  const pf = await PartialFile.create(path, SSIZE);
  await pf.markAllocated(0, 256);
  await pf.markAllocated(512, 512);
  await pf.markAllocated(256, 128);
  await pf.close();
  const again = await PartialFile.open(path, SSIZE);
  t.deepEqual(again.allocated(), [{ start: 0, end: 384 }, { start: 512, end: 1024 }]);
  t.true(again.hasAllocated(0, 381));
  t.false(again.hasAllocated(0, 508));
  t.true(again.hasAllocated(508, 508));
  await again.free(0, 128);
  await again.close();
  const third = await PartialFile.open(path, SSIZE, { readOnly: true });
  t.deepEqual(third.allocated(), [{ start: 128, end: 384 }, { start: 512, end: 1024 }]);
  t.is(third.allocatedWithin(0, 1024), 768);
  await third.close();
  const expected = encodeRuns([
    { value: false, length: 128 },
    { value: true, length: 256 },
    { value: false, length: 128 },
    { value: true, length: 512 },
  ]);
  const bytes = await readFile(path);
  t.deepEqual([...bytes.subarray(SSIZE, SSIZE + expected.length)], [...expected]);
  t.is(bytes.readUInt32LE(bytes.length - 4), expected.length);
});

test('reads the single-byte empty trailer older go-bitfield versions wrote', async (t) => {
  const path = join(t.context.dir, 's-t01000-3');
  await writeFile(path, Buffer.concat([Buffer.alloc(SSIZE), Buffer.from([0, 1, 0, 0, 0])]));
  const pf = await PartialFile.open(path, SSIZE);
  t.deepEqual(pf.allocated(), []);
  await pf.markAllocated(0, 2048);
  await pf.close();
  const again = await PartialFile.open(path, SSIZE, { readOnly: true });
  t.deepEqual(again.allocated(), [{ start: 0, end: 2048 }]);
  await again.close();
});

async function corruptFile(dir: string, trailer: number[], lengthField?: number, dataSize = SSIZE): Promise<string> {
  const path = join(dir, 's-t01000-9');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(lengthField ?? trailer.length);
  await writeFile(path, Buffer.concat([Buffer.alloc(dataSize), Buffer.from(trailer), len]));
  return path;
}

test('refuses a trailer length field that does not match the file length', async (t) => {
  const path = await corruptFile(t.context.dir, [0x04, 0x18], 3);
  await t.throwsAsync(PartialFile.open(path, SSIZE), {
    instanceOf: PartialFileCorruptError,
    message: new RegExp(`partial file ${path} has inconsistent length: 2054 bytes, but its trailer length 3 implies 2055`),
  });
});

test('refuses a trailer length that points past the start of the file', async (t) => {
  const path = await corruptFile(t.context.dir, [0x04, 0x18], 0xffffffff);
  await t.throwsAsync(PartialFile.open(path, SSIZE), { instanceOf: PartialFileCorruptError, message: /inconsistent length/ });
});

test('refuses a file shorter than the sector', async (t) => {
  const path = await corruptFile(t.context.dir, [], 0, 1024);
  await t.throwsAsync(PartialFile.open(path, SSIZE), {
    instanceOf: PartialFileCorruptError,
    message: /is 1028 bytes, smaller than the 2048-byte sector/,
  });
});

test('refuses a trailer that is not valid RLE+, naming the file', async (t) => {
  const path = await corruptFile(t.context.dir, [0x05, 0x18]);
  await t.throwsAsync(PartialFile.open(path, SSIZE), {
    instanceOf: PartialFileCorruptError,
    message: new RegExp(`^partial file ${path} trailer: RLE\\+ version 1 is not supported`),
  });
});

test('refuses a trailer that allocates bytes past the sector', async (t) => {
  const path = await corruptFile(t.context.dir, [...encodeRuns([{ value: true, length: 4096 }])]);
  await t.throwsAsync(PartialFile.open(path, SSIZE), { instanceOf: PartialFileCorruptError, message: /up to 4096 allocated, past the 2048-byte sector/ });
});

test('a missing partial file is FileNotFoundError', async (t) => {
  await t.throwsAsync(PartialFile.open(join(t.context.dir, 'nope'), SSIZE), { instanceOf: FileNotFoundError, message: /does not exist/ });
});

test('a trailer update interrupted after its journal was written is rolled forward on open', async (t) => {
  const path = join(t.context.dir, 's-t01000-4');
  const pf = await PartialFile.create(path, SSIZE);
  await pf.markAllocated(0, 128);
  await pf.close();
  // simulate a crash in the middle of the in-place rewrite: journal complete, trailer torn
  const trailer = await writeJournal(path, SSIZE, [{ value: true, length: 1024 }]);
  await truncate(path, SSIZE + 3);

  const ro = await PartialFile.open(path, SSIZE, { readOnly: true });
  t.deepEqual(ro.allocated(), [{ start: 0, end: 1024 }]);
  await ro.close();
  t.is((await stat(path)).size, SSIZE + 3, 'a read-only open leaves the file alone');

  const rw = await PartialFile.open(path, SSIZE);
  t.deepEqual(rw.allocated(), [{ start: 0, end: 1024 }]);
  await rw.close();
  t.is((await stat(path)).size, SSIZE + trailer.length + 4);
  await t.throwsAsync(stat(journalPath(path)), { code: 'ENOENT' });
});

test('a journal left by an earlier, deleted file of the same name never touches a new file', async (t) => {
  const path = join(t.context.dir, 's-t01000-5');
  // a complete journal (allocate everything) whose file was later removed
  await writeJournal(path, SSIZE, [{ value: true, length: SSIZE }]);

  const pf = await PartialFile.create(path, SSIZE);
  await pf.close();
  await t.throwsAsync(stat(journalPath(path)), { code: 'ENOENT' });
  const reopened = await PartialFile.open(path, SSIZE);
  t.deepEqual(reopened.allocated(), [], 'the stale journal was not rolled forward');
  await reopened.close();
});

test('the first AddPiece of a sector does not inherit a stale journal of a deleted unsealed file', async (t) => {
  const { addPiece } = await import('../../../src/piece/add-piece.js');
  const path = join(t.context.dir, 's-t01000-6');
  await writeJournal(path, SSIZE, [{ value: true, length: SSIZE }]);

  await addPiece({ unsealedPath: path, sectorSize: SSIZE, paddedOffset: 0, pieceSize: 256, source: new Uint8Array(200).fill(7) });
  const pf = await PartialFile.open(path, SSIZE);
  t.deepEqual(pf.allocated(), [{ start: 0, end: 256 }], 'only the piece is allocated');
  await pf.close();
});
