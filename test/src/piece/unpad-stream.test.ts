import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { fr32Pad } from '../../../native/hash.js';
import { addPiece } from '../../../src/piece/add-piece.js';
import { readPiece } from '../../../src/piece/read-piece.js';
import { paddedWindow, unpadWindow } from '../../../src/piece/unpad-stream.js';
import { seededBytes } from '../../helpers/bytes.js';

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

/** Yields `bytes` cut at pseudo-random points (never 128-aligned on purpose). */
async function* cut(bytes: Uint8Array, seed: number): AsyncGenerator<Uint8Array> {
  let pos = 0;
  let x = seed;
  while (pos < bytes.length) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    const n = 1 + (x % 301);
    yield bytes.slice(pos, pos + n);
    pos += n;
  }
}

test('the padded window of an unpadded range covers it with whole fr32 blocks and says what to skip', (t) => {
  t.deepEqual(paddedWindow(0, 1), { start: 0, length: 128, skip: 0 });
  t.deepEqual(paddedWindow(126, 2), { start: 0, length: 256, skip: 126 });
  t.deepEqual(paddedWindow(127, 127), { start: 128, length: 128, skip: 0 });
  t.deepEqual(paddedWindow(1000, 300), { start: 7 * 128, length: 4 * 128, skip: 111 });
  t.throws(() => paddedWindow(-1, 1), { code: 'INVALID_ARGUMENT', message: /unpadded offset -1/ });
  t.throws(() => paddedWindow(0, 0), { code: 'INVALID_ARGUMENT', message: /size 0/ });
});

test('unpadWindow yields exactly the range at every offset and length, however the padded stream is cut', async (t) => {
  const data = seededBytes(127 * 16, 3);
  const padded = new Uint8Array(128 * 16);
  fr32Pad(data, padded);
  for (const [offset, size] of [[0, 1], [1, 1], [126, 1], [126, 2], [127, 1], [300, 1000], [5, 127 * 16 - 5], [2000, 32]] as const) {
    const w = paddedWindow(offset, size);
    const got = await collect(unpadWindow(cut(padded.subarray(w.start, w.start + w.length), offset + size), w, size));
    t.deepEqual(got, Buffer.from(data.subarray(offset, offset + size)), `[${offset}, +${size})`);
  }
});

test('unpadWindow fails FETCH_FAILED when the padded stream is short of the range', async (t) => {
  const padded = new Uint8Array(256);
  const w = paddedWindow(0, 200);
  await t.throwsAsync(collect(unpadWindow(cut(padded.subarray(0, 128), 1), w, 200)), { code: 'FETCH_FAILED', message: /73 unpadded bytes short/ });
});

test('readPiece reads any unpadded byte offset and length of a piece, not only multiples of 127', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'unpad-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'unsealed');
  const data = seededBytes(2032, 9);
  await addPiece({ unsealedPath: path, sectorSize: 4096, paddedOffset: 0, pieceSize: 2048, source: data });
  for (const [offset, size] of [[1, 1], [100, 10], [126, 300], [1999, 33], [0, 2032]] as const) {
    const got = await collect(readPiece({ unsealedPath: path, sectorSize: 4096, unpaddedOffset: offset, size }));
    t.deepEqual(got, Buffer.from(data.subarray(offset, offset + size)), `[${offset}, +${size})`);
  }
});
