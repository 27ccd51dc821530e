import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import {
  AbortedError,
  EmptyPayloadError,
  FileNotFoundError,
  InvalidArgumentError,
  PayloadTooLargeError,
  PieceDoesNotFitError,
  PieceSizeInvalidError,
  RangeNotAllocatedError,
} from '../../../src/errors.js';
import { PartialFile } from '../../../src/partial/partial-file.js';
import { addPiece, addPieceWithPadding } from '../../../src/piece/add-piece.js';
import { fillerPieces } from '../../../src/piece/alignment.js';
import { commP } from '../../../src/piece/commp.js';
import { readPiece, readPieceToFile } from '../../../src/piece/read-piece.js';
import { generateUnsealedCid } from '../../../src/piece/unsealed-cid.js';
import { unpaddedIndex } from '../../../src/sector/sizes.js';
import { seededBytes as randomBytes } from '../../helpers/bytes.js';

const test = anyTest as TestFn<{ dir: string; path: string }>;
const MiB = 2 ** 20;

test.beforeEach(async (t) => {
  t.context.dir = await mkdtemp(join(tmpdir(), 'add-piece-'));
  t.context.path = join(t.context.dir, 's-t01000-1');
});
test.afterEach.always(async (t) => {
  await rm(t.context.dir, { recursive: true, force: true });
});


async function readAll(it: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const p of it) parts.push(p);
  return Buffer.concat(parts);
}

test('pieces added with alignment fillers read back byte-exact, and CommD matches the sector on disk', async (t) => {
  const { path } = t.context;
  const sector = 8 * MiB;
  const payloads = [randomBytes(127, 1), randomBytes(1_000_000, 2), randomBytes(300, 3), randomBytes(2 * MiB + 17, 4)];
  const pieces: { pieceCid: string; paddedSize: number }[] = [];
  const added: { offset: number; data: Uint8Array }[] = [];
  let end = 0;
  for (const [i, data] of payloads.entries()) {
    const own = await commP(data);
    const r = await addPieceWithPadding({ unsealedPath: path, sectorSize: sector, paddedOffset: end, pieceSize: own.paddedSize, source: data });
    t.is(r.piece.created, i === 0);
    t.is(r.piece.pieceCid.toString(), own.pieceCid.toString(), `piece ${i} commP computed while writing`);
    t.is(r.piece.pieceCidV2.toString(), own.pieceCidV2.toString());
    t.is(r.piece.paddedOffset % own.paddedSize, 0);
    for (const f of r.fillers) pieces.push({ pieceCid: f.pieceCid.toString(), paddedSize: f.paddedSize });
    pieces.push({ pieceCid: r.piece.pieceCid.toString(), paddedSize: r.piece.paddedSize });
    added.push({ offset: r.piece.paddedOffset, data });
    end = r.end;
  }
  for (const { offset, data } of added) {
    const back = await readAll(readPiece({ unsealedPath: path, sectorSize: sector, unpaddedOffset: unpaddedIndex(offset), size: data.length }));
    t.deepEqual(back, Buffer.from(data));
  }
  // fill the sector, read it whole, and compare its commitment with CommD from the piece list
  for (const size of fillerPieces(end, sector)) {
    const f = await addPiece({ unsealedPath: path, sectorSize: sector, paddedOffset: end, pieceSize: size });
    pieces.push({ pieceCid: f.pieceCid.toString(), paddedSize: size });
    end += size;
  }
  const whole = await readAll(readPiece({ unsealedPath: path, sectorSize: sector, unpaddedOffset: 0, size: (sector / 128) * 127 }));
  t.is((await commP(whole)).pieceCid.toString(), generateUnsealedCid(6, pieces).toString());
  t.deepEqual(await readdir(t.context.dir), ['s-t01000-1'], 'no temporary or journal files are left behind');
});

test('AddPiece writes fr32-padded bytes (V-FR32 "exotic" and 127×0xff vectors) at the piece offset', async (t) => {
  const { path } = t.context;
  const exotic = Uint8Array.from([
    ...Array.from({ length: 31 }, (_, i) => i + 1), 0xff,
    ...Array.from({ length: 31 }, (_, i) => i + 1), 0xff,
    9, 9, 9, 0xff,
  ]);
  await addPiece({ unsealedPath: path, sectorSize: 2048, paddedOffset: 0, pieceSize: 128, source: exotic });
  await addPiece({ unsealedPath: path, sectorSize: 2048, paddedOffset: 128, pieceSize: 128, source: new Uint8Array(127).fill(0xff) });
  const file = await readFile(path);
  const out = file.subarray(0, 128);
  for (let i = 0; i < 31; i++) t.is(out[i], i + 1);
  t.is(out[31], 63);
  t.is(out[32], 7);
  for (let i = 33; i < 63; i++) t.is(out[i], ((i - 31) << 2) & 0xff);
  t.deepEqual([...out.subarray(63, 69)], [0x3c, 0x9f, 0x90, 0x90, 0xf0, 0x0f]);
  t.true(out.subarray(69).every((b) => b === 0));
  const ff = file.subarray(128, 256);
  for (let i = 0; i < 128; i++) t.is(ff[i], i % 32 === 31 ? 0x3f : 0xff, `byte ${i}`);
});

test('a shorter payload over freed bytes is zero-filled to the piece size', async (t) => {
  const { path } = t.context;
  await addPiece({ unsealedPath: path, sectorSize: 2048, paddedOffset: 0, pieceSize: 1024, source: new Uint8Array(1016).fill(0xee) });
  const pf = await PartialFile.open(path, 2048);
  await pf.free(0, 1024);
  await pf.close();
  const small = randomBytes(200, 9);
  const r = await addPiece({ unsealedPath: path, sectorSize: 2048, paddedOffset: 0, pieceSize: 1024, source: small });
  t.is(r.payloadSize, 200);
  const back = await readAll(readPiece({ unsealedPath: path, sectorSize: 2048, unpaddedOffset: 0, size: 1016 }));
  const expected = new Uint8Array(1016);
  expected.set(small);
  t.deepEqual(back, Buffer.from(expected));
  t.is(r.pieceCid.toString(), (await commP(expected)).pieceCid.toString());
});

test('bad input is refused and nothing is allocated or created', async (t) => {
  const { path, dir } = t.context;
  const base = { unsealedPath: path, sectorSize: 2048 };
  await t.throwsAsync(addPiece({ ...base, paddedOffset: 0, pieceSize: 128, source: new Uint8Array(0) }), {
    instanceOf: EmptyPayloadError,
  });
  await t.throwsAsync(addPiece({ ...base, paddedOffset: 0, pieceSize: 128, source: new Uint8Array(128) }), {
    instanceOf: PayloadTooLargeError,
    message: /larger than the declared 128-byte piece \(more than 127 bytes\)/,
  });
  t.deepEqual(await readdir(dir), [], 'a failed first piece leaves no file');
  await t.throwsAsync(addPiece({ ...base, paddedOffset: 0, pieceSize: 300, source: new Uint8Array(10) }), {
    instanceOf: PieceSizeInvalidError,
    message: /piece size 300 is not a power of two ≥ 128/,
  });
  await t.throwsAsync(addPiece({ ...base, paddedOffset: 0, pieceSize: 4096, source: new Uint8Array(10) }), {
    instanceOf: PieceDoesNotFitError,
    message: /4096-byte piece at padded offset 0 does not fit in the 2048-byte sector/,
  });
  await addPiece({ ...base, paddedOffset: 0, pieceSize: 1024, source: new Uint8Array(1000).fill(1) });
  await t.throwsAsync(addPiece({ ...base, paddedOffset: 1024, pieceSize: 2048, source: new Uint8Array(10) }), {
    instanceOf: PieceDoesNotFitError,
    message: /1024 bytes left/,
  });
  await t.throwsAsync(addPiece({ ...base, paddedOffset: 1280, pieceSize: 512, source: new Uint8Array(10) }), {
    instanceOf: InvalidArgumentError,
    message: /not aligned to the 512-byte piece; add filler pieces of 256 bytes first/,
  });
  await t.throwsAsync(addPiece({ ...base, paddedOffset: 512, pieceSize: 512, source: new Uint8Array(10) }), {
    instanceOf: PieceDoesNotFitError,
    message: /overlaps 512 allocated bytes/,
  });
  await t.throwsAsync(addPiece({ ...base, paddedOffset: 1024, pieceSize: 512, source: new Uint8Array(600) }), {
    instanceOf: PayloadTooLargeError,
  });
  await t.throwsAsync(
    addPieceWithPadding({ ...base, paddedOffset: 1024, pieceSize: 512, source: new Uint8Array(600), sectorSize: 2048 }),
    { instanceOf: PayloadTooLargeError },
  );
  const pf = await PartialFile.open(path, 2048, { readOnly: true });
  t.deepEqual(pf.allocated(), [{ start: 0, end: 1024 }], 'only the good piece is allocated');
  await pf.close();
  t.deepEqual(await readdir(dir), ['s-t01000-1']);
});

test('a cancelled AddPiece stops between chunks and allocates nothing', async (t) => {
  const { path } = t.context;
  await addPiece({ unsealedPath: path, sectorSize: 8 * MiB, paddedOffset: 0, pieceSize: 128, source: new Uint8Array(100) });
  let chunks = 0;
  async function* slow() {
    for (let i = 0; i < 8; i++) yield new Uint8Array(256 * 1024);
  }
  await t.throwsAsync(
    addPiece({
      unsealedPath: path,
      sectorSize: 8 * MiB,
      paddedOffset: 4 * MiB,
      pieceSize: 4 * MiB,
      source: slow(),
      checkCancelled: () => {
        if (++chunks > 3) throw new AbortedError('task cancelled');
      },
    }),
    { instanceOf: AbortedError },
  );
  const pf = await PartialFile.open(path, 8 * MiB, { readOnly: true });
  t.deepEqual(pf.allocated(), [{ start: 0, end: 128 }]);
  await pf.close();
});

test('ReadPiece refuses unallocated ranges and missing files; readPieceToFile writes the bytes', async (t) => {
  const { path, dir } = t.context;
  const data = randomBytes(1016, 5);
  await addPiece({ unsealedPath: path, sectorSize: 2048, paddedOffset: 1024, pieceSize: 1024, source: data });
  await t.throwsAsync(readAll(readPiece({ unsealedPath: path, sectorSize: 2048, unpaddedOffset: 0, size: 1016 })), {
    instanceOf: RangeNotAllocatedError,
    message: /unpadded range \[0, 1016\) of .* is not allocated \(1024 of its 1024 padded bytes hold no data\)/,
  });
  await t.throwsAsync(readAll(readPiece({ unsealedPath: path, sectorSize: 2048, unpaddedOffset: 889, size: 254 })), {
    instanceOf: RangeNotAllocatedError,
    message: /128 of its 256 padded bytes/,
  });
  await t.throwsAsync(readAll(readPiece({ unsealedPath: join(dir, 'missing'), sectorSize: 2048, unpaddedOffset: 0, size: 10 })), {
    instanceOf: FileNotFoundError,
  });
  await t.throwsAsync(readAll(readPiece({ unsealedPath: path, sectorSize: 2048, unpaddedOffset: 2.5, size: 10 })), {
    instanceOf: InvalidArgumentError,
    message: /unpadded offset 2.5 must be a non-negative integer/,
  });
  const out = join(dir, 'out.bin');
  const { bytes } = await readPieceToFile({ unsealedPath: path, sectorSize: 2048, unpaddedOffset: 1016 + 127, size: 500, outPath: out });
  t.is(bytes, 500);
  t.deepEqual(await readFile(out), Buffer.from(data.subarray(127, 627)));
  await writeFile(join(dir, 'keep'), 'x');
  await t.throwsAsync(readPieceToFile({ unsealedPath: path, sectorSize: 2048, unpaddedOffset: 0, size: 10, outPath: join(dir, 'bad.bin') }), {
    instanceOf: RangeNotAllocatedError,
  });
  t.deepEqual((await readdir(dir)).sort(), ['keep', 'out.bin', 's-t01000-1'], 'a failed read leaves no output file');
});

test.serial('AddPiece flushes the file while it is still hashing, every flushEveryBytes, and once more at the end', async (t) => {
  const payload = randomBytes(9 * 127 * 8192, 21); // 9 MiB padded: nine 1 MiB chunks
  const original = PartialFile.prototype.sync;
  const flushedAt: number[] = [];
  let written = 0;
  const originalWrite = PartialFile.prototype.writeAt;
  PartialFile.prototype.writeAt = async function (this: PartialFile, data: Uint8Array, pos: number) {
    await originalWrite.call(this, data, pos);
    written += data.length;
  };
  PartialFile.prototype.sync = async function (this: PartialFile) {
    flushedAt.push(written);
    return original.call(this);
  };
  try {
    const r = await addPiece({ unsealedPath: t.context.path, sectorSize: 16 * MiB, paddedOffset: 0, pieceSize: 16 * MiB, source: payload, flushEveryBytes: 2 * MiB });
    t.is(r.payloadSize, payload.length);
    // a flush was started once 2 MiB had been written, before the hashing was done (one at a
    // time: while one runs, more bytes just wait for the next)
    t.true(flushedAt.length >= 2, `flushes at ${flushedAt.join(', ')}`);
    t.true(flushedAt[0]! >= 2 * MiB && flushedAt[0]! < 9 * MiB, `first flush at ${flushedAt[0]}`);
    t.is(flushedAt.at(-1), 9 * MiB, 'the last flush covers every byte');
    flushedAt.length = 0;
    written = 0;
    await addPiece({ unsealedPath: join(t.context.dir, 'other'), sectorSize: 16 * MiB, paddedOffset: 0, pieceSize: 16 * MiB, source: payload, flushEveryBytes: Number.POSITIVE_INFINITY });
    t.deepEqual(flushedAt, [9 * MiB], 'with no pacing, one flush at the end');
  } finally {
    PartialFile.prototype.sync = original;
    PartialFile.prototype.writeAt = originalWrite;
  }
  const back = await readAll(readPiece({ unsealedPath: t.context.path, sectorSize: 16 * MiB, unpaddedOffset: 0, size: payload.length }));
  t.true(Buffer.from(back).equals(payload), 'the piece reads back');
  await t.throwsAsync(addPiece({ unsealedPath: join(t.context.dir, 'x'), sectorSize: 16 * MiB, paddedOffset: 0, pieceSize: 16 * MiB, source: payload, flushEveryBytes: 0 }), {
    instanceOf: InvalidArgumentError,
    message: /flushEveryBytes must be positive/,
  });
});
