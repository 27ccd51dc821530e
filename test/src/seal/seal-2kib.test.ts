import { open, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { fr32Unpad } from '../../../native/hash.js';
import { ProofInvalidError } from '../../../src/errors.js';
import { PartialFile } from '../../../src/partial/partial-file.js';
import { sealCommit1 } from '../../../src/seal/c1.js';
import { sealCommit2, VANILLA_BUNDLE_NOTE, vanillaBundleProver } from '../../../src/seal/c2.js';
import { toFrRandomness, windowPoStChallenges } from '../../../src/seal/challenges.js';
import { checkProvable } from '../../../src/seal/check-provable.js';
import { finalizeSector } from '../../../src/seal/finalize.js';
import { generateWindowPoSt, generateWinningPoSt, verifyPoSt } from '../../../src/seal/post.js';
import { unsealRange } from '../../../src/seal/unseal.js';
import { decodeC1Output } from '../../../src/seal/vanilla-proof.js';
import { verifySeal, verifySealDetailed, verifyVanillaProofs } from '../../../src/seal/verify.js';
import { CacheFile } from '../../../src/sector/layout.js';
import { type SealedFixture, sealFixture } from './seal-fixture.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const seed = new Uint8Array(32).fill(7);

function c1Input(f: SealedFixture, s = seed) {
  return {
    sealProof: f.sealProof,
    cacheDir: f.cacheDir,
    sealedPath: f.sealedPath,
    minerId: f.minerId,
    sectorNumber: f.sectorNumber,
    ticket: f.ticket,
    seed: s,
    commD: f.pc2.commD,
    commR: f.pc2.commR,
  };
}

function verifyInput(f: SealedFixture, proof: Uint8Array) {
  return {
    sealProof: f.sealProof,
    commR: f.pc2.commR,
    commD: f.pc2.commD,
    minerId: f.minerId,
    sectorNumber: f.sectorNumber,
    ticket: f.ticket,
    seed,
    proof,
  };
}

async function flipByte(path: string, pos: number): Promise<void> {
  const fh = await open(path, 'r+');
  const b = new Uint8Array(1);
  await fh.read(b, 0, 1, pos);
  b[0] = b[0]! ^ 0x01;
  await fh.write(b, 0, 1, pos);
  await fh.close();
}

function randomPayload(sectorSize: number, seedByte: number): Uint8Array {
  const out = new Uint8Array((sectorSize / 128) * 127);
  let x = seedByte * 2654435761;
  for (let i = 0; i < out.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

test('the V-E2E-2KiB sector seals, proves with challenges [48, 43] and verifies; wrong inputs do not', async (t) => {
  const f = await sealFixture({ sectorSize: 2048 });
  try {
    t.is(hex(f.pc2.raw.commR), '441c6ea9c3a7f254967d8d2477f243d4b049b813a94a6f6784f7578b48913b61');
    const c1 = await sealCommit1(c1Input(f));
    const decoded = decodeC1Output(c1);
    t.deepEqual(
      decoded.partitions.map((p) => p.map((c) => c.challenge)),
      [[48, 43]],
    );
    t.is(hex(decoded.replicaId), 'b8b46c93870fa313cf0fca62c81c0dae6bde6d258df8d0f3de5fe3a30d812f0d');
    t.true(verifyVanillaProofs(c1).ok);
    const proof = await sealCommit2(c1);
    t.true(vanillaBundleProver.recognizes(proof));
    t.true(Buffer.from(proof).includes(Buffer.from(VANILLA_BUNDLE_NOTE)), 'the proof names itself as not accepted on chain');
    t.true(await verifySeal(verifyInput(f, proof)));
    t.false(await verifySeal({ ...verifyInput(f, proof), seed: new Uint8Array(32).fill(8) }));
    t.false(await verifySeal({ ...verifyInput(f, proof), sectorNumber: 2 }));
    t.false(await verifySeal({ ...verifyInput(f, proof), ticket: new Uint8Array(32) }));
    t.false(await verifySeal({ ...verifyInput(f, proof), commD: f.pc2.commR.bytes.subarray(-32) }));
    // a changed label inside a parent column breaks the proof
    const tampered = decodeC1Output(c1);
    tampered.partitions[0]![0]!.drgParents[2]!.labels[0]! ^= 1;
    const bad = await verifySealDetailed(verifyInput(f, await sealCommit2(tampered)));
    t.false(bad.ok);
    t.regex(bad.ok ? '' : bad.reason, /column hash|tree_c/);
  } finally {
    await f.cleanup();
  }
});

test('a 2 KiB sector of data round-trips: seal, C1, C2, verify, unseal, read back the original bytes', async (t) => {
  const payload = randomPayload(2048, 3);
  const f = await sealFixture({ sectorSize: 2048, payload, ticket: new Uint8Array(32).fill(0x21) });
  try {
    const proof = await sealCommit2(await sealCommit1(c1Input(f)));
    t.true(await verifySeal(verifyInput(f, proof)));
    const unsealedPath = join(f.dir, 'unsealed-again');
    const res = await unsealRange({
      sealProof: f.sealProof,
      cacheDir: f.cacheDir,
      sealedPath: f.sealedPath,
      unsealedPath,
      minerId: f.minerId,
      sectorNumber: f.sectorNumber,
      ticket: f.ticket,
      commD: f.pc2.commD,
      offset: 0,
      size: 2032,
      parentCacheDir: f.parentCacheDir,
    });
    t.deepEqual(res.written, [{ start: 0, end: 2048 }]);
    const pf = await PartialFile.open(unsealedPath, 2048);
    const padded = new Uint8Array(2048);
    await pf.readAt(padded, 0);
    t.true(pf.hasAllocated(0, 2032));
    await pf.close();
    const out = new Uint8Array(2032);
    fr32Unpad(padded, out);
    t.deepEqual(out, payload);
  } finally {
    await f.cleanup();
  }
});

test('unsealing writes each missing run at its own offset, never over bytes already present (Lotus quirk fixed)', async (t) => {
  const payload = randomPayload(2048, 5);
  const f = await sealFixture({ sectorSize: 2048, payload });
  try {
    const unsealedPath = join(f.dir, 'partial');
    const pf = await PartialFile.create(unsealedPath, 2048);
    const sentinel = new Uint8Array(1024).fill(0x11);
    await pf.writeAt(sentinel, 0);
    await pf.markAllocated(0, 1024);
    await pf.close();
    const res = await unsealRange({
      sealProof: f.sealProof,
      cacheDir: f.cacheDir,
      sealedPath: f.sealedPath,
      unsealedPath,
      minerId: f.minerId,
      sectorNumber: f.sectorNumber,
      ticket: f.ticket,
      commD: f.pc2.commD,
      offset: 0,
      size: 2032,
      parentCacheDir: f.parentCacheDir,
    });
    t.deepEqual(res.written, [{ start: 1024, end: 2048 }]);
    const after = await PartialFile.open(unsealedPath, 2048);
    const all = new Uint8Array(2048);
    await after.readAt(all, 0);
    t.true(after.isAllocated(0, 2048));
    await after.close();
    t.deepEqual(all.subarray(0, 1024), sentinel, 'the present range was not overwritten');
    const original = new Uint8Array(await readFile(f.unsealedPath)).subarray(0, 2048);
    t.deepEqual(all.subarray(1024), original.subarray(1024), 'the missing run holds its own data');
    // already unsealed: nothing to do
    const again = await unsealRange({ ...c1Input(f), unsealedPath, offset: 0, size: 2032, parentCacheDir: f.parentCacheDir });
    t.deepEqual(again.written, []);
  } finally {
    await f.cleanup();
  }
});

test('unsealing with a wrong ticket is refused instead of writing garbage', async (t) => {
  const f = await sealFixture({ sectorSize: 2048, payload: randomPayload(2048, 9) });
  try {
    const unsealedPath = join(f.dir, 'partial');
    await t.throwsAsync(
      unsealRange({
        ...c1Input(f),
        ticket: new Uint8Array(32).fill(0x42),
        unsealedPath,
        offset: 0,
        size: 2032,
        parentCacheDir: f.parentCacheDir,
      }),
      { instanceOf: ProofInvalidError, message: /non-fr32 data/ },
    );
    const pf = await PartialFile.open(unsealedPath, 2048);
    t.deepEqual(pf.allocated(), []);
    await pf.close();
  } finally {
    await f.cleanup();
  }
});

test('winning and window PoSt of a 2 KiB sector generate and verify, and fail for another CommR', async (t) => {
  const f = await sealFixture({ sectorSize: 2048, payload: randomPayload(2048, 11) });
  try {
    const sector = { sectorNumber: 1, sealProof: f.sealProof, commR: f.pc2.commR, sealedPath: f.sealedPath, cacheDir: f.cacheDir };
    const randomness = new Uint8Array(32).fill(0xab);
    const win = await generateWinningPoSt({ minerId: 1000, randomness, sectors: [sector] });
    t.true(await verifyPoSt({ type: 'winning', minerId: 1000, randomness, sectors: [sector], proof: win }));
    t.false(await verifyPoSt({ type: 'window', minerId: 1000, randomness, sectors: [sector], proof: win }));
    t.false(await verifyPoSt({ type: 'winning', minerId: 1000, randomness: new Uint8Array(32).fill(1), sectors: [sector], proof: win }));
    const wnd = await generateWindowPoSt({ minerId: 1000, randomness, sectors: [sector] });
    t.deepEqual(wnd.skipped, []);
    t.true(await verifyPoSt({ type: 'window', minerId: 1000, randomness, sectors: [sector], proof: wnd.proof! }));
    const other = { ...sector, commR: new Uint8Array(32).fill(3) };
    t.false(await verifyPoSt({ type: 'window', minerId: 1000, randomness, sectors: [other], proof: wnd.proof! }));
  } finally {
    await f.cleanup();
  }
});

test('a flipped byte in the sealed file fails C1, Window PoSt and CheckProvable', async (t) => {
  const f = await sealFixture({ sectorSize: 2048 });
  try {
    const sector = { id: { miner: 1000, number: 1 }, sealProof: f.sealProof, sealedPath: f.sealedPath, cacheDir: f.cacheDir, commR: f.pc2.commR };
    const randomness = new Uint8Array(32).fill(0x5a);
    t.deepEqual(await checkProvable([sector], { vanilla: true, randomness }), []);
    await flipByte(f.sealedPath, 48 * 32);
    await t.throwsAsync(sealCommit1(c1Input(f)), { instanceOf: ProofInvalidError });
    const [challenge] = windowPoStChallenges(toFrRandomness(randomness), 1, 64);
    await flipByte(f.sealedPath, challenge! * 32 + 1);
    const faulty = await checkProvable([sector], { vanilla: true, randomness });
    t.is(faulty.length, 1);
    t.regex(faulty[0]!.reason, /^s-t01000-1: .*(tree_r_last|comm_r_last)/);
    const wnd = await generateWindowPoSt({
      minerId: 1000,
      randomness,
      sectors: [{ sectorNumber: 1, sealProof: f.sealProof, commR: f.pc2.commR, sealedPath: f.sealedPath, cacheDir: f.cacheDir }],
    });
    t.is(wnd.proof, undefined);
    t.is(wnd.skipped[0]?.sectorNumber, 1);
  } finally {
    await f.cleanup();
  }
});

test('CheckProvable reports a short sealed file, a missing tree-r-last file and a p_aux of another sector', async (t) => {
  const f = await sealFixture({ sectorSize: 2048 });
  try {
    const sector = { id: { miner: 1000, number: 1 }, sealProof: f.sealProof, sealedPath: f.sealedPath, cacheDir: f.cacheDir, commR: f.pc2.commR };
    t.deepEqual(await checkProvable([sector]), []);
    const paux = await readFile(join(f.cacheDir, CacheFile.pAux));
    await writeFile(join(f.cacheDir, CacheFile.pAux), new Uint8Array(64));
    t.regex((await checkProvable([sector]))[0]!.reason, /p_aux does not match/);
    await writeFile(join(f.cacheDir, CacheFile.pAux), paux);
    await rm(join(f.cacheDir, CacheFile.treeRLast(undefined)));
    t.regex((await checkProvable([sector]))[0]!.reason, /sc-02-data-tree-r-last\.dat/);
    await truncate(f.sealedPath, 1000);
    t.regex((await checkProvable([sector]))[0]!.reason, /is wrong size \(got 1000, expect 2048\)/);
  } finally {
    await f.cleanup();
  }
});

test('finalize frees exactly the bytes outside the kept ranges and keeps what PoSt needs', async (t) => {
  const f = await sealFixture({ sectorSize: 2048, payload: randomPayload(2048, 13) });
  try {
    // keep the second half: unpadded [1016, 2032) = padded [1024, 2048); Lotus's mixed units would free other bytes
    const res = await finalizeSector({
      sealProof: f.sealProof,
      cacheDir: f.cacheDir,
      unsealedPath: f.unsealedPath,
      keepUnsealed: [{ offset: 1016, size: 1016 }],
    });
    t.deepEqual(res.freed, [{ start: 0, end: 1024 }]);
    const pf = await PartialFile.open(f.unsealedPath, 2048);
    t.deepEqual(pf.allocated(), [{ start: 1024, end: 2048 }]);
    await pf.close();
    t.deepEqual(res.removed.sort(), [
      'pc1-checkpoint.json',
      'sc-02-data-layer-1.dat',
      'sc-02-data-layer-2.dat',
      'sc-02-data-tree-c.dat',
      'sc-02-data-tree-d.dat',
    ]);
    const sector = { sectorNumber: 1, sealProof: f.sealProof, commR: f.pc2.commR, sealedPath: f.sealedPath, cacheDir: f.cacheDir };
    const randomness = new Uint8Array(32).fill(0x77);
    const wnd = await generateWindowPoSt({ minerId: 1000, randomness, sectors: [sector] });
    t.true(await verifyPoSt({ type: 'window', minerId: 1000, randomness, sectors: [sector], proof: wnd.proof! }));
    t.deepEqual(await checkProvable([{ ...sector, id: { miner: 1000, number: 1 } }], { vanilla: true }), []);
  } finally {
    await f.cleanup();
  }
});
