/**
 * End to end through a real daemon at 8 MiB (the 2 KiB path is covered by
 * test/src/cli/commands/sealing.test.ts): a committed-capacity sector (`sectors pledge`) and a deal
 * sector (`pieces add` of three files, then `sectors seal N`) reach Proving, and each has the CommD
 * and CommR that the offline `seal` command computes for the same miner, sector number, pieces
 * and ticket. The local chain (stand-in) verified each commit proof when the message landed; the
 * proof is also read back from the repository and verified here with the library's `verifySeal`.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { ChainStore } from '../../../src/db/chain-store.js';
import { openDatabase } from '../../../src/db/database.js';
import { verifySeal } from '../../../src/sector-storage.js';
import { seededBytes } from '../../helpers/bytes.js';
import { cleanup, cliJson, daemonArgs, type DaemonProcess, runCli, startDaemon, tmpDir } from '../../helpers/cli-daemon.js';
import { type AddedPiece, callProblems, type OfflineSeal, offlineSeal, sealingCalls, type SectorStatus, waitForState } from '../../helpers/seal-checks.js';

const TICKET = '3c'.repeat(32);
const SEED = 'd7'.repeat(32);
/** Payload sizes: pieces of 1 MiB, 512 KiB and 2 MiB padded; the third needs 512 KiB of alignment padding before it. */
const PAYLOADS = [1_000_000, 300_000, 1_500_000];

let repo = '';
let daemon: DaemonProcess | undefined;
const files: string[] = [];
/** The offline references, started at once so they run while the daemon seals. */
let ccReference: Promise<OfflineSeal>;
let dealReference: Promise<OfflineSeal>;
const sealed: Record<'cc' | 'deal', { number: number; status?: SectorStatus }> = { cc: { number: 0 }, deal: { number: 1 } };

test.before(async () => {
  repo = tmpDir('ss-e2e-');
  PAYLOADS.forEach((size, i) => {
    const file = join(repo, `piece-${i}.bin`);
    writeFileSync(file, seededBytes(size, 100 + i));
    files.push(file);
  });
  // a fresh repository numbers its sectors from 0: the pledge first, then the deal sector
  ccReference = offlineSeal({ sectorSize: '8MiB', number: sealed.cc.number, ticket: TICKET, seed: SEED });
  dealReference = offlineSeal({ sectorSize: '8MiB', number: sealed.deal.number, ticket: TICKET, seed: SEED, pieces: files });
  ccReference.catch(() => {});
  dealReference.catch(() => {});
  daemon = await startDaemon(repo, daemonArgs({ sectorSize: '8MiB', fixedRandomness: { ticket: TICKET, seed: SEED }, epochMs: 100, seedWaitEpochs: 2 }));
});

test.after.always(async () => {
  await daemon?.stop();
  await Promise.allSettled([ccReference, dealReference]);
  cleanup(repo);
});

test.serial('an 8 MiB pledged sector reaches Proving with the CommD and CommR of the seal command for the same miner, number and ticket', async (t) => {
  const id = await cliJson<{ Number: number }>(repo, ['sectors', 'pledge']);
  t.is(id.Number, sealed.cc.number);
  const status = await waitForState(repo, id.Number, ['Proving']);
  sealed.cc.status = status;
  const reference = await ccReference;
  t.true(reference.verified, 'the seal command verified its own proof');
  t.is(status.CommD, reference.commD);
  t.is(status.CommR, reference.commR);
  t.is(Buffer.from(status.Ticket.Value ?? '', 'base64').toString('hex'), TICKET);
  t.is(Buffer.from(status.Seed.Value ?? '', 'base64').toString('hex'), SEED);
  t.deepEqual(status.Deals, []);
});

test.serial('an 8 MiB deal sector of three uploads, sealed with sectors seal, has the seal command\'s pieces, CommD and CommR and still reads back', async (t) => {
  const added: AddedPiece[] = [];
  for (const file of files) added.push(await cliJson<AddedPiece>(repo, ['pieces', 'add', file]));
  t.deepEqual(
    added.map((p) => p.sector),
    added.map(() => sealed.deal.number),
    'the three pieces went to one new sector',
  );
  const r = await runCli(repo, ['sectors', 'seal', String(sealed.deal.number)]);
  t.is(r.code, 0, r.stderr);
  const status = await waitForState(repo, sealed.deal.number, ['Proving']);
  sealed.deal.status = status;
  const reference = await dealReference;
  t.true(reference.verified);
  // the daemon placed every piece (alignment fillers and packing fillers included) where the seal command did
  t.deepEqual(
    status.Pieces.map((p) => ({ pieceCid: p.PieceCID, paddedOffset: p.PaddedOffset, paddedSize: p.PaddedSize, payloadSize: p.PayloadSize })),
    reference.pieces.map((p) => ({ pieceCid: p.pieceCid, paddedOffset: p.paddedOffset, paddedSize: p.paddedSize, payloadSize: p.payloadSize })),
  );
  t.true(
    reference.pieces.some((p) => p.payloadSize === 0 && p.paddedOffset < added[2]!.paddedOffset),
    'the third piece needed alignment padding before it',
  );
  t.is(status.CommD, reference.commD);
  t.is(status.CommR, reference.commR);
  t.deepEqual(status.Deals, added.map((p) => p.pieceCid));
  for (const [i, p] of added.entries()) {
    const out = join(repo, `read-${i}.bin`);
    const read = await runCli(repo, ['pieces', 'read', String(p.sector), String(p.offset), String(p.payloadSize), '--out', out, '--json']);
    t.is(read.code, 0, read.stderr);
    t.true(JSON.parse(read.stdout).verified, 'a whole-piece read is verified against the piece CID');
    t.true(readFileSync(out).equals(readFileSync(files[i]!)), `piece ${i} reads back byte-exact after finalize`);
  }
});

test.serial('each sector ran AddPiece per piece and PC1, PC2, C1, C2, FIN and GET exactly once, each dispatched once and returned ok', async (t) => {
  for (const which of ['cc', 'deal'] as const) {
    const { number, status } = sealed[which];
    if (!status) return t.fail(`the ${which} sector did not reach Proving`);
    const { problems, summary } = callProblems(await sealingCalls(repo, number), status.Pieces.length);
    t.deepEqual(problems, [], `sector ${number}`);
    t.deepEqual(summary.notOk, [], `sector ${number}: no call ended other than ok`);
    t.deepEqual(summary.requeued, [], `sector ${number}: no call was dispatched twice`);
  }
});

test.serial('each commit proof landed on the local chain and verifies with the library\'s verifySeal; one changed byte does not', async (t) => {
  const statuses = [sealed.cc, sealed.deal].map((s) => s.status);
  if (statuses.some((s) => s === undefined)) return t.fail('a sector did not reach Proving');
  // the daemon stops first: the proof is read from its repository as an auditor would
  await daemon!.stop();
  daemon = undefined;
  const db = openDatabase(join(repo, 'sector-storage.db'), { readonly: true });
  try {
    const chain = new ChainStore(db);
    for (const status of statuses as SectorStatus[]) {
      const n = status.SectorID;
      const commit = chain.landedMessage(1000, n, 'commit');
      t.truthy(commit, `sector ${n}'s commit message landed`);
      t.true(commit!.included?.ok, 'the local chain verified the proof when it included the message');
      const proof = new Uint8Array(Buffer.from(commit!.params.proof as string, 'base64'));
      t.is(createHash('sha256').update(proof).digest('hex'), status.ProofInfo?.Sha256 ?? '', 'the proof on chain is the one sectors status reports');
      const input = {
        sealProof: status.SealProof,
        commR: status.CommR!,
        commD: status.CommD!,
        minerId: 1000,
        sectorNumber: n,
        ticket: new Uint8Array(Buffer.from(TICKET, 'hex')),
        seed: new Uint8Array(Buffer.from(SEED, 'hex')),
      };
      t.true(await verifySeal({ ...input, proof }), `sector ${n}'s proof verifies`);
      const bad = proof.slice();
      bad[bad.length >> 1]! ^= 0x01;
      t.false(await verifySeal({ ...input, proof: bad }).catch(() => false), `sector ${n}'s proof with one byte changed does not`);
      t.false(await verifySeal({ ...input, proof, sectorNumber: n + 7 }).catch(() => false), `sector ${n}'s proof does not verify for another sector`);
    }
  } finally {
    db.close();
  }
});
