import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { CarInvalidError, FileNotFoundError } from '../../../src/errors.js';
import { carInfo } from '../../../src/piece/car-info.js';

// compiled tests run from dist/test/src/piece; fixtures stay in the source tree
const fixtures = fileURLToPath(new URL('../../../../test/fixtures/', import.meta.url));

test('reads the version and roots of the CARv1 spec fixture', async (t) => {
  const info = await carInfo(join(fixtures, 'carv1-basic.car'));
  t.is(info?.version, 1);
  t.deepEqual(info?.roots.map(String), [
    'bafyreihyrpefhacm6kkp4ql6j6udakdit7g3dmkzfriqfykhjw6cad5lrm',
    'bafyreidj5idub6mapiupjwjsyyxhyhedxycv4vihfsicm2vt46o7morwlm',
  ]);
});

test('reads the inner header of the CARv2 spec fixture at its data offset', async (t) => {
  const info = await carInfo(join(fixtures, 'carv2-basic.car'));
  t.is(info?.version, 2);
  t.deepEqual(info?.roots.map(String), ['QmfEoLyB5NndqeKieExd1rtJzTduQUPEV8TwAYcUiy3H5Z']);
  t.is(info?.dataOffset, 51);
  t.is(info?.dataSize, 448);
});

test('a file with a truncated CAR header is not a CAR; strict mode says why', async (t) => {
  const path = join(fixtures, 'carv1-truncated-header.car');
  t.is(await carInfo(path), null);
  await t.throwsAsync(carInfo(path, { strict: true }), {
    instanceOf: CarInvalidError,
    message: /carv1-truncated-header\.car is not a valid CAR: Unexpected end of data/,
  });
});

test('arbitrary data, a huge bogus header length and a CARv2 data offset past the end are not CARs', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'car-info-'));
  try {
    const random = join(dir, 'random.bin');
    await writeFile(random, Buffer.from('hello, this is not a CAR file at all'));
    t.is(await carInfo(random), null);
    // a varint header length of ~2^28 followed by 8 MiB of zeros: must stop within the header budget
    const bogus = join(dir, 'bogus.car');
    await writeFile(bogus, Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 0x7f]), Buffer.alloc(8 * 2 ** 20)]));
    t.is(await carInfo(bogus), null);
    // a CARv2 pragma whose data offset points past the end of the file
    const v2 = await readFile(join(fixtures, 'carv2-basic.car'));
    const broken = Buffer.from(v2);
    broken.writeBigUInt64LE(10_000n, 11 + 16);
    const brokenPath = join(dir, 'broken-v2.car');
    await writeFile(brokenPath, broken);
    await t.throwsAsync(carInfo(brokenPath, { strict: true }), { instanceOf: CarInvalidError, message: /data offset 10000/ });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a missing payload file is FileNotFoundError', async (t) => {
  await t.throwsAsync(carInfo('/nonexistent/deal.car'), { instanceOf: FileNotFoundError });
});
