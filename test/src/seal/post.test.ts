import test from 'ava';
import { treeRLastFiles } from '../../../src/seal/check-provable.js';
import { generateWindowPoSt, generateWinningPoSt, verifyPoSt, verifyPoStDetailed, winningPoStSectorChallenge } from '../../../src/seal/post.js';
import { sealProofForSectorSize } from '../../../src/sector/proofs.js';
import { sealFixture } from './seal-fixture.js';

test('window PoSt over three 2 KiB sectors proves two partitions and rejects a reordered sector list', async (t) => {
  const fixtures = await Promise.all([1, 2, 3].map((n) => sealFixture({ sectorSize: 2048, sectorNumber: n, ticket: new Uint8Array(32).fill(n) })));
  try {
    const sectors = fixtures.map((f) => ({ sectorNumber: f.sectorNumber, sealProof: f.sealProof, commR: f.pc2.commR, sealedPath: f.sealedPath, cacheDir: f.cacheDir }));
    const randomness = new Uint8Array(32).fill(0xc3);
    const res = await generateWindowPoSt({ minerId: 1000, randomness, sectors });
    t.deepEqual(res.skipped, []);
    t.true(await verifyPoSt({ type: 'window', minerId: 1000, randomness, sectors, proof: res.proof! }));
    const reordered = [sectors[1]!, sectors[0]!, sectors[2]!];
    const bad = await verifyPoStDetailed({ type: 'window', minerId: 1000, randomness, sectors: reordered, proof: res.proof! });
    t.false(bad.ok);
    t.regex(bad.ok ? '' : bad.reason, /proof 0 is for sector 1, expected 2/);

    // winning PoSt: the chain picks one of the eligible sectors, the miner proves that one
    const [index] = winningPoStSectorChallenge(1000, randomness, sectors.length);
    const chosen = sectors[index!]!;
    const win = await generateWinningPoSt({ minerId: 1000, randomness, sectors: [chosen] });
    t.true(await verifyPoSt({ type: 'winning', minerId: 1000, randomness, sectors: [chosen], proof: win }));
    const other = sectors[(index! + 1) % sectors.length]!;
    t.false(await verifyPoSt({ type: 'winning', minerId: 1000, randomness, sectors: [other], proof: win }));
  } finally {
    await Promise.all(fixtures.map((f) => f.cleanup()));
  }
});

test('CheckProvable expects one tree-r-last file up to 512 MiB, 8 for 32 GiB and 16 for 64 GiB', (t) => {
  t.deepEqual(treeRLastFiles(sealProofForSectorSize(512 * 2 ** 20)), ['sc-02-data-tree-r-last.dat']);
  const g32 = treeRLastFiles(sealProofForSectorSize(32 * 2 ** 30));
  t.is(g32.length, 8);
  t.is(g32[7], 'sc-02-data-tree-r-last-7.dat');
  t.is(treeRLastFiles(sealProofForSectorSize(64 * 2 ** 30)).length, 16);
});
