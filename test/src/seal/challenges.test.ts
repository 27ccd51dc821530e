import test from 'ava';
import { sealProofForSectorSize } from '../../../src/sector/proofs.js';
import {
  porepChallenges,
  postLeafChallenges,
  toFrRandomness,
  windowPoStChallenges,
  winningPoStChallenges,
  winningPoStSectorIndices,
} from '../../../src/seal/challenges.js';
import { cidToCommR, commDToCid, commRToCid } from '../../../src/seal/commitment-cid.js';

const hex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));

test('the V-E2E-2KiB replica id and seed 0x07×32 give the interactive challenges [48, 43]', (t) => {
  const info = sealProofForSectorSize(2048);
  const replicaId = hex('b8b46c93870fa313cf0fca62c81c0dae6bde6d258df8d0f3de5fe3a30d812f0d');
  t.deepEqual(porepChallenges(info, replicaId, new Uint8Array(32).fill(7)), [[48, 43]]);
});

test('interactive challenges never pick node 0 and stay inside the sector', (t) => {
  const info = sealProofForSectorSize(2048);
  for (let s = 0; s < 50; s++) {
    const [part] = porepChallenges(info, new Uint8Array(32).fill(s), new Uint8Array(32).fill(255 - s));
    for (const c of part!) t.true(c >= 1 && c < info.nodes);
  }
});

test('a 32 GiB sector gets 10 partitions of 18 interactive challenges', (t) => {
  const info = sealProofForSectorSize(32 * 1024 ** 3);
  const parts = porepChallenges(info, new Uint8Array(32).fill(1), new Uint8Array(32).fill(2));
  t.is(parts.length, 10);
  t.true(parts.every((p) => p.length === 18));
});

test('winning PoSt derives 66 leaf challenges and window PoSt 10, all inside the sector', (t) => {
  const r = toFrRandomness(new Uint8Array(32).fill(0xff));
  t.is(r[31], 0x3f);
  const win = winningPoStChallenges(r, 7, 64);
  const wdp = windowPoStChallenges(r, 7, 64);
  t.is(win.length, 66);
  t.is(wdp.length, 10);
  // V1_1 indexing: the window challenges are the first ten winning ones (same index n)
  t.deepEqual(wdp, win.slice(0, 10));
  t.true(win.every((c) => c >= 0 && c < 64));
  t.notDeepEqual(postLeafChallenges(r, 7, 10, 64, 1), wdp, 'legacy indexing offsets by sector index');
});

test('winning PoSt sector choice is an index into the eligible set', (t) => {
  const prover = new Uint8Array(32);
  prover.set([0xe8, 0x07]);
  const [i] = winningPoStSectorIndices(prover, new Uint8Array(32).fill(3), 5);
  t.true(i! >= 0 && i! < 5);
  t.deepEqual(winningPoStSectorIndices(prover, new Uint8Array(32).fill(3), 1), [0]);
  t.throws(() => winningPoStSectorIndices(prover, new Uint8Array(32), 0), { message: /eligibleCount 0/ });
});

test('CommR and CommD CIDs use the Filecoin codecs and round-trip', (t) => {
  const commR = hex('441c6ea9c3a7f254967d8d2477f243d4b049b813a94a6f6784f7578b48913b61');
  const cid = commRToCid(commR);
  t.is(cid.toString(), 'bagboea4b5abcara4n2u4hj7skslh3djeo7zehvfqjg4bhkkkn5tyj52xrnejco3b');
  t.deepEqual(cidToCommR(cid.toString()), commR);
  t.is(
    commDToCid(hex('fc7e928296e516faade986b28f92d44a4f24b935485223376a799027bc18f833')).toString(),
    'baga6ea4seaqpy7usqklokfx2vxuynmupslkeutzexe2uqurdg5vhtebhxqmpqmy',
  );
  t.throws(() => cidToCommR('baga6ea4seaqpy7usqklokfx2vxuynmupslkeutzexe2uqurdg5vhtebhxqmpqmy'), {
    message: /not a sealed commitment CID/,
  });
});
