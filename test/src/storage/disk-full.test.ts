/**
 * A disk that fills up during AddPiece: the reservation covers everything the write adds, and a
 * full filesystem is NO_SPACE whichever call hit it. The filesystem cases run on a real small
 * tmpfs (root only; skipped elsewhere with the reason in the title).
 */
import { mkdirSync, readdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { NoSpaceError, toWireError } from '../../../src/errors.js';
import { PartialFile } from '../../../src/partial/partial-file.js';
import { addPiece } from '../../../src/piece/add-piece.js';
import { readPiece } from '../../../src/piece/read-piece.js';
import { FileType } from '../../../src/sector/sector-id.js';
import { addPieceSpaceUse, LocalStore } from '../../../src/storage/local-store.js';
import { initStoragePath } from '../../../src/storage/storage-config.js';
import { seededBytes } from '../../helpers/bytes.js';
import { mountTmpfs, TMPFS_UNAVAILABLE } from '../../helpers/tmpfs.js';
import { type Manager, makeManager, makePath, PROOF_8M, tempDir } from './storage-fixtures.js';
import { messageLogger } from '../../helpers/log-recorder.js';

const test = anyTest as TestFn<{ m: Manager; logs: string[] }>;
const MiB = 1024 * 1024;
const SSIZE = 8 * MiB;
/** The payload of a 1 MiB piece (the 1,040,384 bytes). */
const PAYLOAD = MiB - MiB / 128;
const ref = { id: { miner: 1000, number: 0 }, proofType: PROOF_8M };

test.beforeEach((t) => {
  t.context.m = makeManager();
  t.context.logs = [];
});
test.afterEach.always((t) => t.context.m.close());

const onTmpfs = TMPFS_UNAVAILABLE === undefined ? test.serial : test.skip;
const skipped = TMPFS_UNAVAILABLE === undefined ? '' : ` [skipped: ${TMPFS_UNAVAILABLE}]`;

/** Writes (or rewrites) a ballast file so that exactly `free` bytes stay free on the filesystem of `dir`. */
function leaveFree(dir: string, free: number): void {
  const ballast = join(dir, 'ballast');
  rmSync(ballast, { force: true });
  const s = statfsSync(dir);
  const now = s.bavail * s.bsize;
  if (now < free) throw new Error(`only ${now} bytes free, wanted ${free}`);
  if (now > free) writeFileSync(ballast, Buffer.alloc(now - free, 1));
}

async function readBack(path: string, paddedOffset: number, size: number): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of readPiece({ unsealedPath: path, sectorSize: SSIZE, unpaddedOffset: paddedOffset - paddedOffset / 128, size })) parts.push(c);
  return Buffer.concat(parts);
}

onTmpfs(`on a filling disk the AddPiece that does not fit is refused NO_SPACE before writing; earlier pieces read back, and it fits once space is freed${skipped}`, async (t) => {
  const fs = mountTmpfs(8392704 + 2 * MiB);
  t.teardown(() => fs.unmount());
  const root = join(fs.dir, 'seal');
  initStoragePath(root, { canSeal: true, weight: 10 });
  // the filesystem: 8,392,704 bytes free for an 8 MiB sector (plus 1 MiB held by a ballast)
  leaveFree(fs.dir, 8392704 + MiB);
  writeFileSync(join(fs.dir, 'ballast2'), Buffer.alloc(MiB, 2));
  const local = new LocalStore({ catalog: t.context.m.catalog, urls: [], log: messageLogger(t.context.logs) });
  t.teardown(() => local.close());
  const { ID } = await local.openPath(root);

  const add = async (i: number) => {
    const target = await local.prepareAddPiece(ref, MiB);
    try {
      await addPiece({ unsealedPath: target.path, sectorSize: SSIZE, paddedOffset: i * MiB, pieceSize: MiB, source: seededBytes(PAYLOAD, i) });
      if (target.created) await local.declareSector(target.storageId, ref.id, 'unsealed', false);
    } finally {
      target.reservation.release();
    }
    return target.path;
  };
  let path = '';
  for (let i = 0; i < 7; i++) path = await add(i);
  const refused = await t.throwsAsync(add(7), { instanceOf: NoSpaceError, code: 'NO_SPACE' });
  const available = local.fsStat(ID).Available;
  t.true(available < addPieceSpaceUse(MiB));
  t.regex(refused.message, new RegExp(`for unsealed of s-t01000-0: need ${addPieceSpaceUse(MiB)} bytes .*, available ${available} bytes`));
  const pf = await PartialFile.open(path, SSIZE, { readOnly: true });
  t.deepEqual(pf.allocated(), [{ start: 0, end: 7 * MiB }], 'nothing of the refused piece is allocated');
  await pf.close();
  for (let i = 0; i < 7; i++) t.true((await readBack(path, i * MiB, PAYLOAD)).equals(seededBytes(PAYLOAD, i)), `piece ${i} reads back`);

  rmSync(join(fs.dir, 'ballast2'));
  await add(7);
  for (let i = 0; i < 8; i++) t.true((await readBack(path, i * MiB, PAYLOAD)).equals(seededBytes(PAYLOAD, i)), `piece ${i} reads back`);
  t.deepEqual(readdirSync(join(root, 'unsealed')), ['s-t01000-0'], 'no working file is left');
});

onTmpfs(`ENOSPC from the data write, the trailer journal or a new file's trailer is NO_SPACE, and the confirmed pieces stay intact${skipped}`, async (t) => {
  const fs = mountTmpfs(4 * MiB);
  t.teardown(() => fs.unmount());
  const dir = join(fs.dir, 'unsealed');
  mkdirSync(dir);
  const path = join(dir, 's-t01000-0');
  await addPiece({ unsealedPath: path, sectorSize: SSIZE, paddedOffset: 0, pieceSize: MiB, source: seededBytes(PAYLOAD, 1) });
  const intact = async () => {
    const pf = await PartialFile.open(path, SSIZE, { readOnly: true });
    t.deepEqual(pf.allocated(), [{ start: 0, end: MiB }]);
    await pf.close();
    t.true((await readBack(path, 0, PAYLOAD)).equals(seededBytes(PAYLOAD, 1)));
    t.deepEqual(readdirSync(dir), ['s-t01000-0'], 'no working file is left');
  };

  // the data does not fit
  leaveFree(fs.dir, MiB / 2);
  const data = await t.throwsAsync(
    addPiece({ unsealedPath: path, sectorSize: SSIZE, paddedOffset: MiB, pieceSize: MiB, source: seededBytes(PAYLOAD, 2) }),
    { instanceOf: NoSpaceError, code: 'NO_SPACE' },
  );
  t.regex(data.message, /no space left for \d+ bytes at padded offset \d+ of .*s-t01000-0 \(ENOSPC/);
  await intact();

  // the data fits exactly; the trailer journal does not
  leaveFree(fs.dir, MiB);
  const journal = await t.throwsAsync(
    addPiece({ unsealedPath: path, sectorSize: SSIZE, paddedOffset: 2 * MiB, pieceSize: MiB, source: seededBytes(PAYLOAD, 3) }),
    { instanceOf: NoSpaceError, code: 'NO_SPACE' },
  );
  t.regex(journal.message, /no space left for the trailer journal of .*s-t01000-0 \(ENOSPC/);
  await intact();

  // a new sector's file cannot get its trailer
  leaveFree(fs.dir, 0);
  const created = await t.throwsAsync(
    addPiece({ unsealedPath: join(dir, 's-t01000-1'), sectorSize: SSIZE, paddedOffset: 0, pieceSize: MiB, source: seededBytes(PAYLOAD, 4) }),
    { instanceOf: NoSpaceError, code: 'NO_SPACE' },
  );
  t.regex(created.message, /no space left for the trailer of the new partial file .*\.s-t01000-1\.\d+-[0-9a-f]+\.tmp/);
  await intact();
});

test('a full filesystem error crossing a thread or process boundary is NO_SPACE, whatever call raised it', (t) => {
  for (const code of ['ENOSPC', 'EDQUOT']) {
    const err = Object.assign(new Error(`${code}: no space left on device, fsync`), { code, syscall: 'fsync' });
    t.is(toWireError(err).code, 'NO_SPACE');
    t.regex(toWireError(err).message, new RegExp(`no space left for a write \\(${code}`));
  }
  t.is(toWireError(Object.assign(new Error('EIO'), { code: 'EIO' })).code, 'INTERNAL');
});

test('an AddPiece reservation covers the piece, the trailer and the journal, and only growth of the file counts against it', async (t) => {
  const dir = tempDir();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const local = new LocalStore({ catalog: t.context.m.catalog, urls: [], statfs: () => ({ Capacity: 1024 * MiB, FSAvailable: 512 * MiB }) });
  t.teardown(() => local.close());
  const root = makePath(dir, 'seal', { canSeal: true });
  const { ID } = await local.openPath(root);
  t.is(addPieceSpaceUse(MiB), MiB + 8192);
  t.is(addPieceSpaceUse(128), 3 * 4096);

  const first = await local.prepareAddPiece(ref, MiB);
  t.true(first.created);
  t.is(first.path, join(root, 'unsealed', 's-t01000-0'));
  t.is(local.fsStat(ID).Reserved, MiB + 8192);
  // the new file is written under its temporary name: its bytes already count as written
  writeFileSync(join(root, 'unsealed', '.s-t01000-0.adding-0123abcd'), Buffer.alloc(MiB / 2, 1));
  t.is(local.fsStat(ID).Reserved, MiB / 2 + 8192);
  rmSync(join(root, 'unsealed', '.s-t01000-0.adding-0123abcd'));
  first.reservation.release();
  t.is(local.fsStat(ID).Reserved, 0);

  await addPiece({ unsealedPath: first.path, sectorSize: SSIZE, paddedOffset: 0, pieceSize: MiB, source: seededBytes(PAYLOAD, 1) });
  await local.declareSector(ID, ref.id, 'unsealed', false);
  const next = await local.prepareAddPiece(ref, 2 * MiB);
  t.false(next.created, 'the sector file exists: the piece goes into it');
  t.is(local.fsStat(ID).Reserved, 2 * MiB + 8192, 'the existing megabyte does not count against the new reservation');
  await addPiece({ unsealedPath: next.path, sectorSize: SSIZE, paddedOffset: 2 * MiB, pieceSize: 2 * MiB, source: seededBytes(2 * PAYLOAD, 2) });
  t.true(local.fsStat(ID).Reserved <= 8192, 'what the write added is no longer reserved');
  next.reservation.release();
  t.is(local.fsStat(ID).Reserved, 0);
  t.deepEqual(t.context.m.store.storageFindSector(ref.id, FileType.unsealed, 0, false).map((h) => h.ID), [ID]);
});
