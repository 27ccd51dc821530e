import test from 'ava';
import { sealCommit1 } from '../../../src/seal/c1.js';
import { sealCommit2 } from '../../../src/seal/c2.js';
import { generateWindowPoSt, verifyPoSt } from '../../../src/seal/post.js';
import { verifySeal } from '../../../src/seal/verify.js';
import { sealFixture } from './seal-fixture.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

// one 8 MiB seal (PC1 + PC2) per test file keeps each file within the test budget
test('the V-E2E-8MiB CC sector with ticket 01×32 seals to its CommR and proves through C1, C2, verify and Window PoSt', async (t) => {
  const f = await sealFixture({ sectorSize: 8 << 20, ticket: new Uint8Array(32).fill(1) });
  try {
    t.is(f.pc1.replicaId, '49808a3f801fc76f8e0a19e5f87f2810b61d0fb8cef7816a7396ab91d1774f3e');
    t.is(hex(f.pc2.raw.commC), '3055f2498a3ad6301740c924cc9f4e056d082583f47f011f268750e1184e2068');
    t.is(hex(f.pc2.raw.commRLast), 'd543873a1829ecfa818046ae29b3d74e707b4f4e883ffa6f330ca1647565533a');
    t.is(f.pc2.commR.toString(), 'bagboea4b5abcacqaofqorympy6ose6yejfg5nqgzfnnqsdc5efmyqmwc6yilvyqh');
    t.is(f.pc2.commD.toString(), 'baga6ea4seaqgl4u6lwmnerwdrm4iz7ag3mpwwaqtapc2fciabpooqmvjypweeha');

    const seed = new Uint8Array(32).fill(9);
    const common = { sealProof: f.sealProof, minerId: 1000, sectorNumber: 1, ticket: f.ticket, commD: f.pc2.commD, commR: f.pc2.commR };
    const c1 = await sealCommit1({ ...common, cacheDir: f.cacheDir, sealedPath: f.sealedPath, seed });
    const proof = await sealCommit2(c1);
    t.true(await verifySeal({ ...common, seed, proof }));
    t.false(await verifySeal({ ...common, seed: new Uint8Array(32).fill(10), proof }));

    const sector = { sectorNumber: 1, sealProof: f.sealProof, commR: f.pc2.commR, sealedPath: f.sealedPath, cacheDir: f.cacheDir };
    const randomness = new Uint8Array(32).fill(0x31);
    const wnd = await generateWindowPoSt({ minerId: 1000, randomness, sectors: [sector] });
    t.true(await verifyPoSt({ type: 'window', minerId: 1000, randomness, sectors: [sector], proof: wnd.proof! }));

  } finally {
    await f.cleanup();
  }
});
