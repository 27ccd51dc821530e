import { randomBytes } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import test from 'ava';
import { RangeWriter } from '../../../src/storage/fetch-writer.js';

const BLOCK = 64 * 1024;

/** A file in memory whose writes take a few milliseconds and record how many ran at once. */
function slowFile(size: number) {
  const bytes = Buffer.alloc(size);
  let running = 0;
  let most = 0;
  const fh = {
    async write(data: Buffer, offset: number, length: number, position: number) {
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 2));
      data.copy(bytes, position, offset, offset + length);
      running--;
      return { bytesWritten: length, buffer: data };
    },
  };
  return { fh: fh as unknown as FileHandle, bytes, most: () => most };
}

/** Feeds `data` to a writer the way the raw client does (into space(), then filled()), waiting while it pauses. */
async function feed(w: RangeWriter, data: Buffer): Promise<void> {
  let paused: (() => void) | undefined;
  w.resume = () => paused?.();
  for (let at = 0; at < data.length; ) {
    const space = w.space();
    // uneven reads, as a socket delivers them
    const k = Math.min(space.length, data.length - at, 10_000 + (at % 7_777));
    data.copy(space, 0, at, at + k);
    at += k;
    if (!w.filled(k)) await new Promise<void>((r) => (paused = r));
  }
}

test('parallel ranges of one file write to it one block at a time, and every byte lands at its position', async (t) => {
  const size = 20 * BLOCK + 333;
  const data = randomBytes(size);
  const file = slowFile(size);
  const half = 10 * BLOCK + 100;
  const a = new RangeWriter(file.fh, 0, { blockSize: BLOCK, blocks: 3 });
  const b = new RangeWriter(file.fh, half, { blockSize: BLOCK, blocks: 3 });
  await Promise.all([feed(a, data.subarray(0, half)), feed(b, data.subarray(half))]);
  t.is(await a.finish(), half);
  t.is(await b.finish(), size);
  t.is(file.most(), 1);
  t.true(file.bytes.equals(data));
});

test('a finished writer gives its blocks to the next writer of the download, and a late read lands outside them', async (t) => {
  const size = 8 * BLOCK;
  const data = randomBytes(size);
  const file = slowFile(size);
  const pool: Buffer[] = [];
  const first = new RangeWriter(file.fh, 0, { blockSize: BLOCK, blocks: 3, pool });
  await feed(first, data.subarray(0, 4 * BLOCK));
  await first.finish();
  t.is(pool.length, 3);
  const blocks = new Set(pool.map((b) => b.buffer));
  const late = first.space();
  t.false(blocks.has(late.buffer as ArrayBuffer));
  t.false(first.filled(late.length));
  const second = new RangeWriter(file.fh, 4 * BLOCK, { blockSize: BLOCK, blocks: 3, pool });
  t.is(pool.length, 0);
  t.true(blocks.has(second.space().buffer as ArrayBuffer));
  await feed(second, data.subarray(4 * BLOCK));
  t.is(await second.finish(), size);
  t.true(file.bytes.equals(data));
});
