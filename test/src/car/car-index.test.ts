import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CarIndexer } from '@ipld/car/indexer';
import { CarReader } from '@ipld/car/reader';
import anyTest, { type TestFn } from 'ava';
import { CID } from 'multiformats/cid';
import { CarBlocks, indexCar, loadOrBuildIndex } from '../../../src/car/car-blocks.js';
import { MultihashIndexSorted } from '../../../src/car/car-index.js';
import { scanCar } from '../../../src/car/car-scan.js';

// compiled tests run from dist/test/src/car; fixtures stay in the source tree
const fixtures = fileURLToPath(new URL('../../../../test/fixtures/', import.meta.url));
const V1 = join(fixtures, 'carv1-basic.car');
const V2 = join(fixtures, 'carv2-basic.car');

const test = anyTest as TestFn<{ dir: string }>;
test.beforeEach((t) => {
  t.context = { dir: mkdtempSync(join(tmpdir(), 'car-index-')) };
});
test.afterEach.always((t) => rmSync(t.context.dir, { recursive: true, force: true }));

/** @ipld/car's own indexer over the same file: [cid, section offset in the CARv1 payload]. */
async function ipldEntries(path: string, dataOffset: number): Promise<[string, number][]> {
  const indexer = await CarIndexer.fromBytes(readFileSync(path));
  const out: [string, number][] = [];
  for await (const e of indexer) out.push([e.cid.toString(), e.offset - dataOffset]);
  return out;
}

for (const [name, path, version, dataOffset] of [['carv1-basic', V1, 1, 0], ['carv2-basic', V2, 2, 51]] as const) {
  test(`the index of the CAR spec's ${name} fixture agrees with @ipld/car's CarIndexer block for block`, async (t) => {
    const { scan, index } = await indexCar(path);
    t.is(scan.version, version);
    t.is(scan.dataOffset, dataOffset);
    const reader = await CarReader.fromBytes(readFileSync(path));
    t.deepEqual(scan.roots.map(String), (await reader.getRoots()).map(String));
    const expected = await ipldEntries(path, dataOffset);
    t.deepEqual(scan.sections.map((s) => [s.cid.toString(), s.offset]), expected);
    t.is(index.size, expected.length);
    for (const [cid, offset] of expected) {
      const c = CID.parse(cid);
      t.deepEqual(index.find(c.multihash.code, c.multihash.digest), [offset], cid);
    }
    // written and read back unchanged
    const again = MultihashIndexSorted.unmarshal(index.marshal());
    t.deepEqual(Buffer.from(again.marshal()), Buffer.from(index.marshal()));
  });
}

test("the index's bytes are go-car's layout: codec 0x0401, code buckets, width buckets, and entries as go-car wrote them into the carv2-basic fixture", async (t) => {
  const { index } = await indexCar(V2);
  const bytes = Buffer.from(index.marshal());
  const file = readFileSync(V2);
  const indexOffset = Number(file.readBigUInt64LE(11 + 32));
  // go-car's index of the fixture: one bucket of width 40 (sha2-256 digest + offset), 200 bytes of entries
  const goBucket = file.subarray(indexOffset);
  t.is(goBucket.readUInt32LE(4), 40);
  t.is(Number(goBucket.readBigInt64LE(8)), 200);
  const goEntries = goBucket.subarray(16, 216);
  t.deepEqual(bytes.subarray(0, 2), Buffer.from([0x81, 0x08]), 'uvarint 0x0401');
  t.is(bytes.readInt32LE(2), 1, 'one multihash code');
  t.is(Number(bytes.readBigUInt64LE(6)), 0x12, 'sha2-256');
  t.is(bytes.readInt32LE(14), 1, 'one width');
  t.is(bytes.readUInt32LE(18), 40);
  t.is(Number(bytes.readBigInt64LE(22)), 200);
  t.deepEqual(bytes.subarray(30), goEntries, 'entries byte for byte as go-car sorted and wrote them');
});

test('every block of both fixtures reads back by CID byte-identical to @ipld/car, and an unknown CID is BLOCK_NOT_FOUND', async (t) => {
  for (const path of [V1, V2]) {
    const { index } = await indexCar(path);
    const blocks = await CarBlocks.open(path, index);
    try {
      const reader = await CarReader.fromBytes(readFileSync(path));
      for await (const b of reader.blocks()) t.deepEqual(Buffer.from(await blocks.get(b.cid)), Buffer.from(b.bytes));
      const unknown = CID.parse('bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy');
      t.false(await blocks.has(unknown));
      await t.throwsAsync(blocks.get(unknown), { code: 'BLOCK_NOT_FOUND', message: /bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy is not in/ });
    } finally {
      await blocks.close();
    }
  }
});

test('bad CARs are refused with a coded error naming the problem', async (t) => {
  const { dir } = t.context;
  const v1 = readFileSync(V1);
  const write = (name: string, bytes: Uint8Array) => {
    const p = join(dir, name);
    writeFileSync(p, bytes);
    return p;
  };
  await t.throwsAsync(scanCar(join(fixtures, 'carv1-truncated-header.car')), { code: 'CAR_INVALID', message: /is not a valid CAR/ });
  await t.throwsAsync(scanCar(write('text.car', Buffer.from('hello, this is not a CAR file at all\n'))), { code: 'CAR_INVALID' });
  await t.throwsAsync(scanCar(write('cut.car', v1.subarray(0, 300))), { code: 'CAR_INVALID', message: /payload offset 192 is truncated|section at payload offset 192/ });
  const flipped = Buffer.from(v1);
  flipped[700]! ^= 0xff; // inside the last block's bytes
  await t.throwsAsync(scanCar(write('flipped.car', flipped)), { code: 'CAR_BLOCK_INVALID', message: /the bytes of block bafyreidj5idub6mapiupjwjsyyxhyhedxycv4vihfsicm2vt46o7morwlm do not hash to its CID/ });
  const v2 = Buffer.from(readFileSync(V2));
  v2.writeBigUInt64LE(100_000n, 11 + 24); // data size past the end of the file
  await t.throwsAsync(scanCar(write('v2.car', v2)), { code: 'CAR_INVALID', message: /CARv2 payload \[51, \+100000\) lies outside the 715-byte file/ });
});

test('a missing or corrupt index file is rebuilt from the CAR; a good one is used as it is', async (t) => {
  const idx = join(t.context.dir, 'x.full.idx');
  const first = await loadOrBuildIndex(V1, idx);
  t.true(first.rebuilt);
  t.regex(first.reason ?? '', /is missing/);
  const second = await loadOrBuildIndex(V1, idx);
  t.false(second.rebuilt);
  t.deepEqual(Buffer.from(second.index.marshal()), readFileSync(idx));
  writeFileSync(idx, readFileSync(idx).subarray(0, 40));
  const third = await loadOrBuildIndex(V1, idx);
  t.true(third.rebuilt);
  t.regex(third.reason ?? '', /is not a CARv2 MultihashIndexSorted index: it ends at byte 40/);
  t.deepEqual(readFileSync(idx), Buffer.from(first.index.marshal()));
  t.throws(() => MultihashIndexSorted.unmarshal(Buffer.from('nonsense')), { code: 'INDEX_CORRUPT', message: /codec 0x0401/ });
});

test('offsets() lists every section offset the index holds once, ascending', (t) => {
  const d = (b: number) => new Uint8Array(32).fill(b);
  const index = MultihashIndexSorted.fromRecords([
    { code: 0x12, digest: d(9), offset: 500 },
    { code: 0x12, digest: d(1), offset: 40 },
    { code: 0xb220, digest: d(5), offset: 300 },
    { code: 0x12, digest: d(5), offset: 300 },
    { code: 0x00, digest: d(7), offset: 200 },
  ]);
  t.deepEqual([...index.offsets()], [40, 300, 500], 'identity records are not indexed; a shared offset once');
});
