import test from 'ava';
import type { SectorRecordDraft } from '../../../src/db/sector-store.js';
import { workIdOf } from '../../../src/tasks/work-id.js';
import { commit, commitProof, pack, pc1, pc2, preCommit, ticket } from './drive.js';
import { type SectorHarness, sectorHarness } from './sector-harness.js';

/** A harness restored from the last record `h` saved, as a restart would spawn it. */
function restart(h: SectorHarness, options: { lastLogAt?: number; restoredAt?: number } = {}): SectorHarness {
  const record: SectorRecordDraft & { lastLogAt: number } = { ...structuredClone(h.lastSave()!.record), lastLogAt: options.lastLogAt ?? 0 };
  h.stop();
  return sectorHarness({ miner: record.miner, number: record.number, proofType: record.proofType, record, restoredAt: options.restoredAt ?? 0 });
}

test('a sector restored in PreCommit1 asks for the same work and logs its restart once', async (t) => {
  const h = sectorHarness({ miner: 1000, number: 5, proofType: 0, cc: true });
  await pack(h);
  await ticket(h);
  const before = h.lastTask();
  const r = restart(h, { lastLogAt: 1, restoredAt: 2 });
  t.is(r.state(), 'PreCommit1');
  t.deepEqual(r.lastTask(), before);
  t.is(workIdOf(r.lastTask()), workIdOf(before), 'the same WorkID, so the call tracker attaches it to the call already made');
  t.deepEqual(r.logKinds(), ['restart'], 'a restart entry and nothing replayed');
  t.is(r.saves.length, 1);
  t.deepEqual(r.saves[0]!.record, { ...h.lastSave()!.record }, 'the record is unchanged');
  r.stop();
});

test('a sector restored in a failure state waits only what is left of its cool-down', async (t) => {
  const h = sectorHarness({ miner: 1000, number: 5, proofType: 0, cc: true });
  await pack(h);
  await ticket(h);
  h.fail('TASK_FAILED', 'boom');
  await h.flush();
  t.is(h.state(), 'SealPreCommit1Failed');
  const r = restart(h, { lastLogAt: 1_000_000, restoredAt: 1_045_000 });
  t.is(r.state(), 'SealPreCommit1Failed');
  r.clock.increment(14_999);
  await r.flush();
  t.is(r.state(), 'SealPreCommit1Failed');
  r.clock.increment(1);
  await r.flush();
  t.is(r.state(), 'PreCommit1', '15 s after the restart: a minute after the last log entry');
  r.stop();
  const late = restart(h, { lastLogAt: 1_000_000, restoredAt: 9_000_000 });
  await late.flush();
  late.clock.increment(0);
  await late.flush();
  t.is(late.state(), 'PreCommit1', 'a cool-down long over retries at once');
  late.stop();
});

test('a sector restored in Committing after C1 asks for C2 directly', async (t) => {
  const h = sectorHarness({ miner: 1000, number: 5, proofType: 0, cc: true });
  await pack(h);
  await ticket(h);
  await pc1(h);
  await pc2(h);
  await preCommit(h);
  h.finish('C1', { sha256: 'cc'.repeat(32), bytes: 10 });
  await h.flush();
  t.is(h.lastTask().type, 'C2');
  const c2 = h.lastTask();
  const r = restart(h);
  t.is(r.state(), 'Committing');
  t.deepEqual(r.lastTask(), c2);
  r.stop();
});

test('a sector restored in FinalizeSector after FIN asks for GET directly; before FIN, for FIN again', async (t) => {
  const h = sectorHarness({ miner: 1000, number: 5, proofType: 0, cc: true });
  await pack(h);
  await ticket(h);
  await pc1(h);
  await pc2(h);
  await preCommit(h);
  await commitProof(h);
  await commit(h);
  const fin = h.lastTask();
  t.is(fin.type, 'FIN');
  const before = restart(h);
  t.is(before.state(), 'FinalizeSector');
  t.deepEqual(before.lastTask(), fin, 'FIN was not applied: it is asked for again (the same work)');
  before.finish('FIN', { freedBytes: 0, removedFiles: 3 });
  await before.flush();
  const get = before.lastTask();
  t.is(get.type, 'GET');
  t.is(before.lastSave()!.record.c1, undefined, 'the record saved with FIN\'s result no longer points at C1\'s deleted output');
  const after = restart(before);
  t.is(after.state(), 'FinalizeSector');
  t.deepEqual(after.lastTask(), get, 'FIN is not run again');
  t.deepEqual(after.requests().map((r) => r.task.type), ['GET'], 'the one task asked for is GET');
  after.finish('GET', { storage: {} });
  await after.flush();
  t.is(after.state(), 'Proving');
  after.stop();
});

test('a sector restored in AddPiece resumes in WaitDeals with its recorded pieces', async (t) => {
  const h = sectorHarness({ miner: 1000, number: 5, proofType: 0 });
  h.send({ type: 'sector.addPiece', requestId: 'r1', pieceSize: 512, payloadSize: 500 });
  h.finish('AP', { pieceCid: 'p1', pieceCidV2: 'p1v2', paddedSize: 512, payloadSize: 500 });
  await h.flush();
  h.send({ type: 'sector.addPiece', requestId: 'r2', pieceSize: 512, payloadSize: 500 });
  t.is(h.lastSave()!.record.state, 'AddPiece');
  const r = restart(h);
  t.is(r.state(), 'WaitDeals');
  t.is(r.context().pieces.length, 1);
  t.is(r.requests().length, 0, 'the interrupted upload is not re-run (its client is gone)');
  r.stop();
});

test('a sector restored in Packing writes only the fillers it is missing', async (t) => {
  const h = sectorHarness({ miner: 1000, number: 5, proofType: 0 });
  h.send({ type: 'sector.addPiece', requestId: 'r1', pieceSize: 512, payloadSize: 500 });
  h.finish('AP', { pieceCid: 'p1', pieceCidV2: 'p1v2', paddedSize: 512, payloadSize: 500 });
  await h.flush();
  h.send({ type: 'sector.startPacking' });
  await h.flush();
  const first = h.lastTask();
  t.deepEqual(first.type === 'AP' && [first.input.paddedOffset, first.input.pieceSize], [512, 512]);
  h.finish('AP', { pieceCid: 'f1', pieceCidV2: '', paddedSize: 512, payloadSize: 0 });
  await h.flush();
  const second = h.lastTask();
  t.deepEqual(second.type === 'AP' && [second.input.paddedOffset, second.input.pieceSize], [1024, 1024]);
  const r = restart(h);
  t.is(r.state(), 'Packing');
  t.deepEqual(r.lastTask(), second);
  t.is(r.requests().length, 1, 'the filler already written is not written again');
  r.stop();
});

test('a sector restored in PreCommitting hands the chain the same pre-commit again (submits are idempotent)', async (t) => {
  const h = sectorHarness({ miner: 1000, number: 5, proofType: 0, cc: true });
  await pack(h);
  await ticket(h);
  await pc1(h);
  await pc2(h);
  const sent = h.invocation('chainSubmitPreCommit').input;
  const r = restart(h);
  await r.flush();
  t.is(r.state(), 'PreCommitting');
  t.deepEqual(r.invocation('chainSubmitPreCommit').input, sent);
  r.stop();
});

test('a sector restored in SubmitCommit still has the proof to send', async (t) => {
  const h = sectorHarness({ miner: 1000, number: 5, proofType: 0, cc: true });
  await pack(h);
  await ticket(h);
  await pc1(h);
  await pc2(h);
  await preCommit(h);
  await commitProof(h);
  const r = restart(h);
  await r.flush();
  t.is(r.state(), 'SubmitCommit');
  t.is((r.invocation('chainSubmitCommit').input as { proof: string }).proof, Buffer.from('proof').toString('base64'));
  r.stop();
});

test('a sector restored in ComputeProofFailed counts no new failure and retries the proof as it would have', async (t) => {
  const h = sectorHarness({ miner: 1000, number: 5, proofType: 0, cc: true });
  await pack(h);
  await ticket(h);
  await pc1(h);
  await pc2(h);
  await preCommit(h);
  h.fail('TASK_FAILED', 'c1 failed');
  await h.flush();
  h.clock.increment(60_000);
  await h.flush();
  h.fail('TASK_FAILED', 'c1 failed again');
  await h.flush();
  t.is(h.state(), 'ComputeProofFailed');
  const saved = structuredClone(h.lastSave()!.record);
  t.like(saved.counters, { invalidProofs: 1, retries: 2 });
  const r = restart(h);
  t.deepEqual(r.context().counters, saved.counters, 'a restart is no new failure');
  t.deepEqual(r.lastSave()!.record, saved, 'the record is written back unchanged');
  r.clock.increment(60_000);
  await r.flush();
  t.is(r.state(), 'Committing', 'after one retry the proof is retried again, not sent back to PC1');
  r.stop();
});
