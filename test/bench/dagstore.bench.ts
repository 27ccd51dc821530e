/**
 * The dagstore's read path: CARv2 index build (src/car/car-blocks.ts `indexCar`, which also checks
 * every block's hash) against @ipld/car's `CarIndexer` (no hash check) on the same CAR in the same
 * run; block read latency by CID from an indexed CAR (p50/p99); and a piece's retrieval out of a
 * sector's unsealed (fr32-padded) file against a plain read of the same payload. The retrieval of a
 * sealed-only sector (unseal included) is not measured here: at 512 MiB it is a PC1-sized job.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createHash, randomFillSync } from 'node:crypto';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CarIndexer } from '@ipld/car/indexer';
import { CID } from 'multiformats/cid';
import * as raw from 'multiformats/codecs/raw';
import { create as createDigest } from 'multiformats/hashes/digest';
import { simdInfo } from '../../native/binding.js';
import { CarBlocks, indexCar } from '../../src/car/car-blocks.js';
import { carHeader, carSection } from '../../src/car/car-export.js';
import { addPiece } from '../../src/piece/add-piece.js';
import { readPiece } from '../../src/piece/read-piece.js';
import { peakRssMiB, quick, report, seconds } from './bench-util.js';

const MiB = 2 ** 20;
const r2 = (x: number): number => Math.round(x * 100) / 100;
console.log(`SIMD: ${JSON.stringify(simdInfo())}`);

const dir = await mkdtemp(join(tmpdir(), 'dagstore-bench-'));
try {
  // a CAR of raw 16 KiB blocks (many blocks: the index's work is per block)
  const blockSize = 16 * 1024;
  const carMiB = quick ? 8 : 256;
  const count = (carMiB * MiB) / blockSize;
  const carPath = join(dir, 'blocks.car');
  const cids: CID[] = [];
  const w = createWriteStream(carPath);
  const block = new Uint8Array(blockSize);
  const placeholder = CID.create(1, raw.code, createDigest(0x12, new Uint8Array(32)));
  w.write(carHeader([placeholder]));
  for (let i = 0; i < count; i++) {
    randomFillSync(block);
    const cid = CID.create(1, raw.code, createDigest(0x12, createHash('sha256').update(block).digest()));
    cids.push(cid);
    if (!w.write(carSection(cid, block))) await once(w, 'drain');
  }
  w.end();
  await once(w, 'finish');
  const carBytes = count * (blockSize + 36 + 3);

  const rounds = quick ? 2 : 3;
  let ours = Number.POSITIVE_INFINITY;
  let theirs = Number.POSITIVE_INFINITY;
  let index!: Awaited<ReturnType<typeof indexCar>>['index'];
  for (let r = 0; r < rounds; r++) {
    ours = Math.min(ours, await seconds(async () => ({ index } = await indexCar(carPath))));
    theirs = Math.min(
      theirs,
      await seconds(async () => {
        const idx = await CarIndexer.fromIterable(createReadStream(carPath, { highWaterMark: MiB }));
        for await (const _ of idx) {
          // every entry
        }
      }),
    );
  }
  report({ name: 'index build (hash-checked)', value: r2(count / ours), unit: 'blocks/s', note: `${r2(carBytes / MiB / ours)} MiB/s, ${count} blocks of 16 KiB` });
  report({ name: '@ipld/car CarIndexer (no hash check)', value: r2(count / theirs), unit: 'blocks/s', note: `${r2(carBytes / MiB / theirs)} MiB/s` });
  report({ name: 'index build / CarIndexer', value: r2(theirs / ours), unit: 'ratio', note: '>1: ours is faster' });

  // block reads by CID: random CIDs, one at a time
  const blocks = await CarBlocks.open(carPath, index);
  const lat: number[] = [];
  for (let i = 0; i < (quick ? 500 : 5000); i++) {
    const cid = cids[Math.floor(Math.random() * cids.length)]!;
    const t0 = process.hrtime.bigint();
    await blocks.get(cid);
    lat.push(Number(process.hrtime.bigint() - t0) / 1e3);
  }
  await blocks.close();
  lat.sort((a, b) => a - b);
  report({ name: 'block read p50', value: r2(lat[Math.floor(lat.length * 0.5)]!), unit: 'µs', note: '16 KiB block, hash checked' });
  report({ name: 'block read p99', value: r2(lat[Math.floor(lat.length * 0.99)]!), unit: 'µs' });

  // a piece out of an unsealed (fr32-padded) file, against a plain read of the payload file
  const sectorSize = (quick ? 8 : 512) * MiB;
  const payloadSize = (sectorSize / 128) * 127;
  const payloadPath = join(dir, 'payload.bin');
  const pw = createWriteStream(payloadPath);
  const chunk = new Uint8Array(MiB);
  for (let left = payloadSize; left > 0; left -= chunk.length) {
    randomFillSync(chunk);
    if (!pw.write(chunk.subarray(0, Math.min(chunk.length, left)))) await once(pw, 'drain');
  }
  pw.end();
  await once(pw, 'finish');
  const unsealedPath = join(dir, 'unsealed');
  await addPiece({ unsealedPath, sectorSize, paddedOffset: 0, pieceSize: sectorSize, source: createReadStream(payloadPath, { highWaterMark: MiB }) });
  let piece = Number.POSITIVE_INFINITY;
  let plain = Number.POSITIVE_INFINITY;
  for (let r = 0; r < rounds; r++) {
    piece = Math.min(
      piece,
      await seconds(async () => {
        for await (const _ of readPiece({ unsealedPath, sectorSize, unpaddedOffset: 0, size: payloadSize })) {
          // every chunk
        }
      }),
    );
    plain = Math.min(
      plain,
      await seconds(async () => {
        for await (const _ of createReadStream(payloadPath, { highWaterMark: MiB })) {
          // every chunk
        }
      }),
    );
  }
  report({ name: `piece retrieval from unsealed (${sectorSize / MiB} MiB)`, value: r2(payloadSize / MiB / piece), unit: 'MiB/s', note: 'fr32 unpad included' });
  report({ name: 'plain file read', value: r2(payloadSize / MiB / plain), unit: 'MiB/s' });
  report({ name: 'piece retrieval / plain read', value: r2(plain / piece), unit: 'ratio' });
  report({ name: 'peak RSS', value: r2(peakRssMiB()), unit: 'MiB' });
} finally {
  await rm(dir, { recursive: true, force: true });
}
