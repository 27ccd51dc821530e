import { join } from 'node:path';
import test from 'ava';
import { readPiece } from '../../../src/piece/read-piece.js';
import { sealCommit1 } from '../../../src/seal/c1.js';
import { sealCommit2 } from '../../../src/seal/c2.js';
import { unsealRange } from '../../../src/seal/unseal.js';
import { verifySeal } from '../../../src/seal/verify.js';
import { sealFixture } from './seal-fixture.js';

function pattern(n: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = 0x9e3779b9;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

test('an 8 MiB sector of data round-trips: seal, C1, C2, verify, unseal, ReadPiece gives back the original bytes', async (t) => {
  const payload = pattern((8 << 20) / 128 * 127);
  const f = await sealFixture({ sectorSize: 8 << 20, payload, ticket: new Uint8Array(32).fill(0x5c), sectorNumber: 7 });
  try {
    const seed = new Uint8Array(32).fill(0x44);
    const common = { sealProof: f.sealProof, minerId: 1000, sectorNumber: 7, ticket: f.ticket, commD: f.pc2.commD, commR: f.pc2.commR };
    const proof = await sealCommit2(await sealCommit1({ ...common, cacheDir: f.cacheDir, sealedPath: f.sealedPath, seed }));
    t.true(await verifySeal({ ...common, seed, proof }));
    const unsealedPath = join(f.dir, 'unsealed-again');
    await unsealRange({
      sealProof: f.sealProof,
      cacheDir: f.cacheDir,
      sealedPath: f.sealedPath,
      unsealedPath,
      minerId: 1000,
      sectorNumber: 7,
      ticket: f.ticket,
      commD: f.pc2.commD,
      offset: 0,
      size: payload.length,
      parentCacheDir: f.parentCacheDir,
    });
    const chunks: Uint8Array[] = [];
    for await (const c of readPiece({ unsealedPath, sectorSize: 8 << 20, unpaddedOffset: 0, size: payload.length })) chunks.push(c);
    t.true(Buffer.concat(chunks).equals(payload));
  } finally {
    await f.cleanup();
  }
});
