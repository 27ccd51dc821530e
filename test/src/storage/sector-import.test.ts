import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { PartialFile } from '../../../src/partial/partial-file.js';
import { addPiece } from '../../../src/piece/add-piece.js';
import { generateUnsealedCid } from '../../../src/piece/unsealed-cid.js';
import { commDToCid, commRToCid } from '../../../src/seal/commitment-cid.js';
import { importSectorFromFiles, splitRun } from '../../../src/storage/sector-import.js';
import { seededBytes } from '../../helpers/bytes.js';
import { sealFixture } from '../seal/seal-fixture.js';

const test = anyTest as TestFn<{ dir: string; path: string }>;
const PROOF_2K = 5;
const SSIZE = 2048;
const sector = { id: { miner: 1000, number: 4 }, proofType: PROOF_2K };

test.beforeEach(async (t) => {
  t.context.dir = await mkdtemp(join(tmpdir(), 'sector-import-'));
  t.context.path = join(t.context.dir, 's-t01000-4');
});
test.afterEach.always(async (t) => {
  await rm(t.context.dir, { recursive: true, force: true });
});

test('each allocated run of an unsealed file becomes an aligned piece whose commP is recomputed from its bytes', async (t) => {
  const { path } = t.context;
  const a = await addPiece({ unsealedPath: path, sectorSize: SSIZE, paddedOffset: 0, pieceSize: 256, source: seededBytes(200, 1) });
  const b = await addPiece({ unsealedPath: path, sectorSize: SSIZE, paddedOffset: 1024, pieceSize: 512, source: seededBytes(500, 2) });
  const imported = await importSectorFromFiles({ sector, unsealedPath: path });
  t.deepEqual(imported, {
    sector,
    pieces: [
      { pieceCid: a.pieceCid.toString(), paddedOffset: 0, paddedSize: 256, payloadSize: 254, filler: false },
      { pieceCid: b.pieceCid.toString(), paddedOffset: 1024, paddedSize: 512, payloadSize: 508, filler: false },
    ],
  });
});

test('pieces added side by side come back as the coarsest aligned split, with the CommD of the original pieces', async (t) => {
  const { path } = t.context;
  const pieces = [];
  for (const [i, [offset, size]] of [
    [0, 1024],
    [1024, 512],
    [1536, 256],
    [1792, 256],
  ].entries()) {
    const p = await addPiece({ unsealedPath: path, sectorSize: SSIZE, paddedOffset: offset!, pieceSize: size!, source: seededBytes(size! - size! / 128 - 3, 10 + i) });
    pieces.push({ pieceCid: p.pieceCid.toString(), paddedSize: size! });
  }
  const imported = await importSectorFromFiles({ sector, unsealedPath: path });
  const commD = generateUnsealedCid(PROOF_2K, pieces).toString();
  t.deepEqual(
    imported.pieces.map((p) => [p.paddedOffset, p.paddedSize]),
    [[0, 2048]],
    'one run over the whole sector is one piece',
  );
  t.is(imported.pieces[0]?.pieceCid, commD, 'a whole-sector piece is the sector tree itself');
  t.is(imported.commD, commD, 'a full file gets its CommD');
});

test('an allocated run of zeros is a filler piece', async (t) => {
  const { path } = t.context;
  await addPiece({ unsealedPath: path, sectorSize: SSIZE, paddedOffset: 512, pieceSize: 512 });
  const imported = await importSectorFromFiles({ sector, unsealedPath: path });
  t.is(imported.pieces.length, 1);
  t.like(imported.pieces[0], { paddedOffset: 512, paddedSize: 512, payloadSize: 0, filler: true });
  t.is(imported.commD, undefined, 'a file that is not full has no CommD yet');
});

test('runs split into the largest aligned powers of two; a run that is not whole 128-byte blocks is refused', (t) => {
  t.deepEqual(splitRun({ start: 128, end: 1024 }), [
    { paddedOffset: 128, paddedSize: 128 },
    { paddedOffset: 256, paddedSize: 256 },
    { paddedOffset: 512, paddedSize: 512 },
  ]);
  t.deepEqual(splitRun({ start: 1024, end: 1536 + 128 }), [
    { paddedOffset: 1024, paddedSize: 512 },
    { paddedOffset: 1536, paddedSize: 128 },
  ]);
  t.throws(() => splitRun({ start: 0, end: 100 }, 'f'), { code: 'PARTIAL_FILE_CORRUPT', message: /f: allocated range \[0, 100\)/ });
});

test('a sealed sector gets its CommR from p_aux, matching the public 2 KiB vector', async (t) => {
  const f = await sealFixture({ sectorSize: 2048 });
  t.teardown(() => f.cleanup());
  const imported = await importSectorFromFiles({
    sector: { id: { miner: 1000, number: f.sectorNumber }, proofType: PROOF_2K },
    unsealedPath: f.unsealedPath,
    cacheDir: f.cacheDir,
  });
  t.is(imported.commR, commRToCid(Buffer.from('441c6ea9c3a7f254967d8d2477f243d4b049b813a94a6f6784f7578b48913b61', 'hex')).toString());
  t.is(imported.commD, commDToCid(f.pc2.raw.commD).toString());
});

test('an import without files, or from a missing p_aux, is refused with a clear error', async (t) => {
  await t.throwsAsync(importSectorFromFiles({ sector }), { code: 'INVALID_ARGUMENT', message: /unsealed file or its cache directory/ });
  await t.throwsAsync(importSectorFromFiles({ sector, cacheDir: t.context.dir }), { code: 'FILE_NOT_FOUND', message: /p_aux/ });
  const pf = await PartialFile.create(t.context.path, SSIZE);
  await pf.close();
  t.deepEqual((await importSectorFromFiles({ sector, unsealedPath: t.context.path })).pieces, []);
});
