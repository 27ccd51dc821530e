import { randomBytes } from 'node:crypto';
import { constants, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { DIRECT_IO_ALIGN } from '../../../native/memory.js';
import { directBlock, openDirect, RangeWriter } from '../../../src/storage/fetch-writer.js';

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

/** A file in a fresh directory of the temporary filesystem, with its buffered and direct handles. */
async function realFile(t: { teardown: (fn: () => unknown) => void }) {
  const dir = mkdtempSync(join(tmpdir(), 'ss-direct-'));
  const path = join(dir, 'f');
  const fh = await open(path, constants.O_RDWR | constants.O_CREAT, 0o644);
  const direct = await openDirect(path);
  t.teardown(async () => {
    await direct?.close();
    await fh.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { path, fh, direct };
}

test('aligned full blocks go to the disk directly, the unaligned first and last ones through the page cache, and every byte lands', async (t) => {
  const { path, fh, direct } = await realFile(t);
  t.truthy(direct, 'the temporary filesystem takes O_DIRECT (ext4, xfs and tmpfs since Linux 6.6 do)');
  const start = 5000;
  const size = 7 * BLOCK + 777;
  const data = randomBytes(size);
  const w = new RangeWriter(fh, start, { blockSize: BLOCK, blocks: 3, ...(direct ? { direct } : {}), allocate: directBlock });
  await feed(w, data);
  t.is(await w.finish(), start + size);
  // the first block ends at the next aligned position; whole blocks follow; the tail is buffered
  const firstEnd = start + BLOCK - (start % DIRECT_IO_ALIGN);
  t.is(firstEnd % DIRECT_IO_ALIGN, 0);
  t.is(w.directBytes, Math.floor((start + size - firstEnd) / BLOCK) * BLOCK);
  t.true(readFileSync(path).subarray(start).equals(data));
});

test('a direct handle that refuses the write (EINVAL: a larger logical block) falls back to buffered writes and loses nothing', async (t) => {
  const { path, fh } = await realFile(t);
  let refused = 0;
  const refusing = {
    async write() {
      refused++;
      throw Object.assign(new Error('EINVAL: invalid argument, write'), { code: 'EINVAL' });
    },
  } as unknown as FileHandle;
  const data = randomBytes(4 * BLOCK);
  const w = new RangeWriter(fh, 0, { blockSize: BLOCK, blocks: 3, direct: refusing, allocate: directBlock });
  await feed(w, data);
  t.is(await w.finish(), data.length);
  t.is(refused, 1, 'tried once, then buffered only');
  t.is(w.directBytes, 0);
  t.true(readFileSync(path).equals(data));
});

test('a direct write that fails for another reason (EIO) fails the range instead of being hidden by a buffered retry', async (t) => {
  const { fh } = await realFile(t);
  const failing = {
    async write() {
      throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
    },
  } as unknown as FileHandle;
  let reported: Error | undefined;
  const w = new RangeWriter(fh, 0, { blockSize: BLOCK, blocks: 3, direct: failing, allocate: directBlock, onError: (e) => (reported = e) });
  const data = randomBytes(2 * BLOCK);
  for (let at = 0; at < data.length; ) {
    const space = w.space();
    const k = Math.min(space.length, data.length - at);
    data.copy(space, 0, at, at + k);
    at += k;
    if (!w.filled(k)) break;
  }
  await t.throwsAsync(() => w.finish(), { message: /EIO/ });
  t.regex(reported?.message ?? '', /EIO/);
});

test('direct writes can be turned off (SECTOR_STORAGE_FETCH_DIRECT=0)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ss-direct-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'f');
  (await open(path, 'w')).close();
  const before = process.env.SECTOR_STORAGE_FETCH_DIRECT;
  process.env.SECTOR_STORAGE_FETCH_DIRECT = '0';
  try {
    t.is(await openDirect(path), undefined);
  } finally {
    if (before === undefined) delete process.env.SECTOR_STORAGE_FETCH_DIRECT;
    else process.env.SECTOR_STORAGE_FETCH_DIRECT = before;
  }
  const again = await openDirect(path);
  t.truthy(again);
  await again?.close();
});
