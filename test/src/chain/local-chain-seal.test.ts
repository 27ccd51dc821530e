import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import type { ChainRandomness } from '../../../src/chain/chain-adapter.js';
import type { LocalChain } from '../../../src/chain/local-chain.js';
import { LOTUS_BENCH_SEED, type SealedSector, type SealSectorsOptions, sealSectors } from '../../../src/seal/seal-sector.js';
import { verifySealDetailed } from '../../../src/seal/verify.js';
import { type ChainFixture, chainFixture, passEpochs } from './chain-fixture.js';

const test = anyTest as TestFn<ChainFixture & { sealDir: string }>;
test.beforeEach(async (t) => {
  t.context = { ...(await chainFixture()), sealDir: mkdtempSync(join(tmpdir(), 'chain-seal-')) };
});
test.afterEach.always((t) => {
  t.context.close();
  rmSync(t.context.sealDir, { recursive: true, force: true });
});

const SECTOR = { miner: 1000, number: 1 };
const never = new AbortController().signal;
const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

type SealSectorResult = SealedSector & { sealProof: number; commR: string; proof: Uint8Array };

/** One sector sealed end to end through every phase (sealSectors with the default count of one). */
async function sealSector(options: SealSectorsOptions): Promise<SealSectorResult> {
  const r = await sealSectors(options);
  const s = r.sectors[0]!;
  if (s.commR === undefined || s.proof === undefined) throw new Error('the seal did not run every phase');
  return { ...s, commR: s.commR, proof: s.proof, sealProof: r.sealProof };
}

/** A real 2 KiB seal of SECTOR with these ticket and seed bytes. */
function seal(dir: string, name: string, ticket: Uint8Array, seed: Uint8Array): Promise<SealSectorResult> {
  return sealSector({ sectorSize: 2048, dir: join(dir, name), minerId: SECTOR.miner, sectorNumber: SECTOR.number, ticket, seed });
}

/** Pre-commits `sealed` with `ticket` and waits for it to land and for its seed. */
async function preCommitAndSeed(
  t: { context: ChainFixture },
  chain: LocalChain,
  sealed: SealSectorResult,
  ticket: ChainRandomness,
): Promise<ChainRandomness> {
  const pre = await chain.submitPreCommit(SECTOR, {
    sealProof: sealed.sealProof,
    commD: sealed.commD,
    commR: sealed.commR,
    ticketEpoch: ticket.epoch,
    dealIds: [],
  });
  const landed = chain.waitPreCommit(SECTOR, pre.message, never);
  await passEpochs(t.context.clock, 1);
  const outcome = await landed;
  if (!outcome.ok) throw new Error(`pre-commit failed: ${outcome.reason}`);
  const seed = chain.waitSeed(SECTOR, outcome.epoch, never);
  await passEpochs(t.context.clock, 3);
  return seed;
}

test("a commit lands only with a proof made with the chain's own ticket and seed, for the pre-committed CommR", async (t) => {
  const { chain, clock, sealDir } = t.context;
  await passEpochs(clock, 2);
  const ticket = await chain.getTicket(SECTOR);
  const ticketBytes = Buffer.from(ticket.value, 'hex');
  // the seed is not known before the pre-commit lands: this first seal uses lotus-bench's
  const early = await seal(sealDir, 'early', ticketBytes, LOTUS_BENCH_SEED);
  const seed = await preCommitAndSeed(t, chain, early, ticket);
  t.is(seed.epoch, 6);
  const sealed = await seal(sealDir, 'sealed', ticketBytes, Buffer.from(seed.value, 'hex'));
  t.is(sealed.commR, early.commR, 'CommR depends on the ticket, not on the seed');
  const corrupt = sealed.proof.slice();
  corrupt[corrupt.length >> 1]! ^= 0x01;
  // a 2 KiB sector has two challenges among 63 nodes: about one chain seed in 4 000 asks the same
  // two as lotus-bench's, and then the early proof is valid; another wrong seed is taken then
  let wrong = early;
  const chainSeed = Buffer.from(seed.value, 'hex');
  const validFor = (proof: Uint8Array) =>
    verifySealDetailed({ sealProof: sealed.sealProof, commR: sealed.commR, commD: sealed.commD, minerId: SECTOR.miner, sectorNumber: SECTOR.number, ticket: ticketBytes, seed: chainSeed, proof });
  for (let flip = 0; (await validFor(wrong.proof)).ok; flip++) {
    const other = Uint8Array.from(LOTUS_BENCH_SEED);
    other[flip]! ^= 0xff;
    wrong = await seal(sealDir, `wrong-${flip}`, ticketBytes, other);
  }

  const wrongSeed = await chain.submitCommit(SECTOR, { proof: b64(wrong.proof) });
  const corrupted = await chain.submitCommit(SECTOR, { proof: b64(corrupt) });
  const valid = await chain.submitCommit(SECTOR, { proof: b64(sealed.proof) });
  const outcomes = Promise.all([wrongSeed, corrupted, valid].map((m) => chain.waitCommit(SECTOR, m.message, never)));
  await passEpochs(clock, 1);
  const [a, b, c] = await outcomes;
  t.like(a, { ok: false, code: 'PROOF_INVALID' });
  // made with another seed, the proof answers other challenges than the chain's seed asks
  t.regex((a as { reason: string }).reason, /^invalid seal proof: .*challenge/);
  t.like(b, { ok: false, code: 'PROOF_INVALID' });
  t.regex((b as { reason: string }).reason, /^invalid seal proof: /);
  t.deepEqual(c, { ok: true, epoch: 7 });

  // sent again, the landed commit is the same message; the sector is proven, so a fault lands
  t.deepEqual(await chain.submitCommit(SECTOR, { proof: b64(sealed.proof) }), valid);
  const fault = await chain.declareFault(SECTOR, 'sealed file corrupted');
  await passEpochs(clock, 1);
  await chain.head();
  t.deepEqual(t.context.store.message(fault.message)?.included, { epoch: 8, ok: true });
  t.like(await chain.preCommitInfo(SECTOR), { commR: sealed.commR, commD: sealed.commD, ticketEpoch: 2, epoch: 3 });
});

test('a proof made for another sector number does not prove this sector', async (t) => {
  const { chain, sealDir } = t.context;
  const ticket = await chain.getTicket(SECTOR);
  const ticketBytes = Buffer.from(ticket.value, 'hex');
  const sealed = await seal(sealDir, 'a', ticketBytes, LOTUS_BENCH_SEED);
  const seed = await preCommitAndSeed(t, chain, sealed, ticket);
  const other = await sealSector({
    sectorSize: 2048,
    dir: join(sealDir, 'b'),
    minerId: SECTOR.miner,
    sectorNumber: 2,
    ticket: ticketBytes,
    seed: Buffer.from(seed.value, 'hex'),
  });
  const commit = await chain.submitCommit(SECTOR, { proof: b64(other.proof) });
  const outcome = chain.waitCommit(SECTOR, commit.message, never);
  await passEpochs(t.context.clock, 1);
  const result = await outcome;
  t.like(result, { ok: false, code: 'PROOF_INVALID' });
  t.regex((result as { reason: string }).reason, /^invalid seal proof: /);
});

test("with fixed randomness, a seal with the seal command's defaults (lotus-bench's ticket and seed) commits", async (t) => {
  const zeroTicket = '00'.repeat(32);
  const chain = t.context.restart({ fixedRandomness: { ticket: zeroTicket, seed: Buffer.from(LOTUS_BENCH_SEED).toString('hex') } });
  const ticket = await chain.getTicket(SECTOR);
  t.is(ticket.value, zeroTicket);
  const sealed = await sealSector({ sectorSize: 2048, dir: t.context.sealDir }); // t01000, sector 1, defaults
  const seed = await preCommitAndSeed(t, chain, sealed, ticket);
  t.is(seed.value, Buffer.from(LOTUS_BENCH_SEED).toString('hex'));
  const commit = await chain.submitCommit(SECTOR, { proof: b64(sealed.proof) });
  const outcome = chain.waitCommit(SECTOR, commit.message, never);
  await passEpochs(t.context.clock, 1);
  t.true((await outcome).ok);
});
