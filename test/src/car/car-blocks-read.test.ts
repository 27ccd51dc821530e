/**
 * A block read from a CAR by CID (CarBlocks.get) reads its section, head and block, with one read
 * of the file when the index says where the section ends; and the blocks it returns are still
 * @ipld/car's, byte for byte, where the next indexed section is further on (an identity block
 * the index skips lies between) or there is none (the last section), and where a section is
 * longer than one read takes.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CarReader } from '@ipld/car/reader';
import anyTest, { type TestFn } from 'ava';
import { CID } from 'multiformats/cid';
import * as raw from 'multiformats/codecs/raw';
import { identity } from 'multiformats/hashes/identity';
import { CarBlocks, indexCar } from '../../../src/car/car-blocks.js';
import { carBytes, linkBlock, rawBlock } from '../../helpers/car-build.js';
import { seededBytes } from '../../helpers/bytes.js';

const fixtures = fileURLToPath(new URL('../../../../test/fixtures/', import.meta.url));

const test = anyTest as TestFn<{ dir: string }>;
test.beforeEach((t) => {
  t.context = { dir: mkdtempSync(join(tmpdir(), 'car-blocks-read-')) };
});
test.afterEach.always((t) => rmSync(t.context.dir, { recursive: true, force: true }));

/** Counts the reads of every FileHandle while `work` runs (it patches their prototype: serial tests only). */
async function countingReads<T>(work: () => Promise<T>): Promise<{ result: T; reads: number }> {
  const probe: FileHandle = await open(fileURLToPath(import.meta.url), 'r');
  const proto = Object.getPrototypeOf(probe) as { read: FileHandle['read'] };
  await probe.close();
  const read = proto.read;
  let reads = 0;
  proto.read = function (this: FileHandle, ...args: Parameters<FileHandle['read']>) {
    reads++;
    return (read as (...a: unknown[]) => ReturnType<FileHandle['read']>).apply(this, args);
  } as FileHandle['read'];
  try {
    return { result: await work(), reads };
  } finally {
    proto.read = read;
  }
}

/** Every block of the CAR at `path`, read by CID, against @ipld/car; returns the reads made per block. */
async function readsPerBlock(t: { true: (v: boolean, m?: string) => void }, path: string): Promise<number[]> {
  const { index } = await indexCar(path);
  const blocks = await CarBlocks.open(path, index);
  const perBlock: number[] = [];
  try {
    for await (const b of (await CarReader.fromBytes(readFileSync(path))).blocks()) {
      if (b.cid.multihash.code === identity.code) continue;
      const { result, reads } = await countingReads(() => blocks.get(b.cid));
      // Buffer#equals: ava's deepEqual of megabytes is slow
      t.true(Buffer.from(result).equals(b.bytes), b.cid.toString());
      perBlock.push(reads);
    }
  } finally {
    await blocks.close();
  }
  return perBlock;
}

for (const name of ['carv1-basic.car', 'carv2-basic.car', 'ipfs-car-comic.car', 'ipfs-car-multi-root.car']) {
  test.serial(`every block of ${name} is read by CID with one read of the file, byte-identical to @ipld/car`, async (t) => {
    const reads = await readsPerBlock(t, join(fixtures, name));
    t.true(reads.length > 0);
    t.deepEqual(reads, reads.map(() => 1));
  });
}

test.serial('a section followed by an identity block (which the index skips) is read whole in one read that runs on to the next indexed section', async (t) => {
  const before = await rawBlock(seededBytes(5000, 1));
  const inline = { cid: CID.create(1, raw.code, identity.digest(seededBytes(30, 2))), bytes: seededBytes(30, 2) };
  const after = await rawBlock(seededBytes(7000, 3));
  const root = await linkBlock([before.cid, inline.cid, after.cid]);
  const path = join(t.context.dir, 'identity.car');
  writeFileSync(path, await carBytes([root.cid], [root, before, inline, after]));
  // the identity block's section sits between `before` and `after`, so the index's next offset
  // after `before` is `after`'s: one read covers `before` and the identity section, and is enough
  const reads = await readsPerBlock(t, path);
  t.deepEqual(reads, [1, 1, 1]);
});

test.serial('a block longer than one read takes, and the last block of a CAR, are read whole', async (t) => {
  const big = await rawBlock(seededBytes(5 * 1024 * 1024, 4));
  const small = await rawBlock(seededBytes(100, 5));
  const root = await linkBlock([big.cid, small.cid]);
  const path = join(t.context.dir, 'big.car');
  writeFileSync(path, await carBytes([root.cid], [root, big, small]));
  const reads = await readsPerBlock(t, path);
  t.is(reads[0], 1, 'the root: one read');
  t.true(reads[1]! > 1, 'the 5 MiB block: its head first, then the block');
  t.is(reads[2], 1, 'the last block: one read up to the end of the payload');
});
