/**
 * Blocks hashed with BLAKE2b-256 (multihash 0xb220, Filecoin's chain hash): checked and accepted
 * by the CAR scan and the blockstore, refused when their bytes do not match. The CARs are written
 * by @ipld/car's CarWriter with @multiformats/blake2's hasher; the digests are checked against
 * the native addon's BLAKE2b (C, a separate implementation) and a published value.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blake2b256, blake2b512 } from '@multiformats/blake2/blake2b';
import anyTest, { type TestFn } from 'ava';
import { blake2b256 as nativeBlake2b256 } from '../../../native/hash.js';
import { CarBlocks, indexCar } from '../../../src/car/car-blocks.js';
import { scanCar, verifyBlock } from '../../../src/car/car-scan.js';
import { seededBytes } from '../../helpers/bytes.js';
import { dagCar, rawBlock } from '../../helpers/car-build.js';

const BLAKE2B_256 = 0xb220;
const test = anyTest as TestFn<{ dir: string }>;
test.beforeEach((t) => {
  t.context = { dir: mkdtempSync(join(tmpdir(), 'car-blake2b-')) };
});
test.afterEach.always((t) => rmSync(t.context.dir, { recursive: true, force: true }));

test('a BLAKE2b-256 block CID carries the digest an independent BLAKE2b computes (and the published digest of the empty input)', async (t) => {
  const empty = await rawBlock(new Uint8Array(0), blake2b256);
  t.is(empty.cid.multihash.code, BLAKE2B_256);
  // BLAKE2b-256 of the empty input (e.g. Python's hashlib.blake2b(b'', digest_size=32))
  t.is(Buffer.from(empty.cid.multihash.digest).toString('hex'), '0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8');
  for (const n of [1, 127, 128, 129, 5000]) {
    const bytes = seededBytes(n, n);
    const b = await rawBlock(bytes, blake2b256);
    t.deepEqual(Buffer.from(b.cid.multihash.digest), Buffer.from(nativeBlake2b256(bytes)), `${n} bytes`);
    t.notThrows(() => verifyBlock(b.cid, bytes, 'test'));
  }
});

test('a CAR of BLAKE2b-256 blocks is scanned, indexed under code 0xb220 and read back by CID', async (t) => {
  const leaves = [seededBytes(3000, 1), seededBytes(70_000, 2), seededBytes(1, 3)];
  const { car, root, blocks } = await dagCar(leaves, blake2b256);
  const path = join(t.context.dir, 'b2.car');
  writeFileSync(path, car);
  const { scan, index } = await indexCar(path);
  t.deepEqual(scan.roots.map(String), [root.toString()]);
  t.deepEqual(scan.sections.map((s) => s.cid.toString()), blocks.map((b) => b.cid.toString()));
  t.is([...index.records()].filter((r) => r.code === BLAKE2B_256).length, leaves.length);
  const store = await CarBlocks.open(path, index);
  try {
    for (const b of blocks) t.deepEqual(Buffer.from(await store.get(b.cid)), Buffer.from(b.bytes), b.cid.toString());
  } finally {
    await store.close();
  }
});

test('a CAR whose BLAKE2b-256 block bytes do not match its CID is refused CAR_BLOCK_INVALID, naming the block', async (t) => {
  const { car, blocks } = await dagCar([seededBytes(3000, 4), seededBytes(900, 5)], blake2b256);
  const good = join(t.context.dir, 'good.car');
  writeFileSync(good, car);
  const victim = (await scanCar(good)).sections[2]!;
  t.is(victim.cid.toString(), blocks[2]!.cid.toString());
  const bad = Buffer.from(car);
  bad[victim.blockOffset + 10]! ^= 0x01;
  const path = join(t.context.dir, 'bad.car');
  writeFileSync(path, bad);
  await t.throwsAsync(scanCar(path), { code: 'CAR_BLOCK_INVALID', message: `${path}: the bytes of block ${victim.cid} do not hash to its CID` });
  t.throws(() => verifyBlock(victim.cid, bad.subarray(victim.blockOffset, victim.blockOffset + victim.blockLength), 'the block'), { code: 'CAR_BLOCK_INVALID' });
});

test('a block with a multihash that cannot be checked is still refused, naming the code', async (t) => {
  const b = await rawBlock(seededBytes(64, 9), blake2b512);
  t.throws(() => verifyBlock(b.cid, b.bytes, 'here'), { code: 'CAR_BLOCK_INVALID', message: /uses multihash 0xb240, which cannot be checked here/ });
});
