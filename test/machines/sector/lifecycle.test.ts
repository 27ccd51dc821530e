import test from 'ava';
import { workIdOf } from '../../../src/tasks/work-id.js';
import { commit, commitProof, finalize, pack, pc1, pc2, PC1, preCommit, SEED, TICKET, ticket, toProving } from './drive.js';
import { sectorHarness } from './sector-harness.js';

const PROOF_2K = 0; // StackedDrg2KiBV1

test('a pledged sector seals from Packing to Proving, logging Lotus events in order', async (t) => {
  const h = sectorHarness({ miner: 1000, number: 3, proofType: PROOF_2K, cc: true });
  await toProving(h);
  t.is(h.state(), 'Proving');
  t.deepEqual(
    h.logKinds().filter((k) => k.startsWith('event;')),
    [
      'event;sealing.SectorPacked',
      'event;sealing.SectorTicket',
      'event;sealing.SectorPreCommit1',
      'event;sealing.SectorPreCommit2',
      'event;sealing.SectorPreCommitted',
      'event;sealing.SectorPreCommitLanded',
      'event;sealing.SectorSeedReady',
      'event;sealing.SectorCommitted',
      'event;sealing.SectorCommitSubmitted',
      'event;sealing.SectorProving',
      'event;sealing.SectorFinalized',
    ],
  );
  const states = h.saves.map((s) => s.record.state);
  for (const s of ['Packing', 'GetTicket', 'PreCommit1', 'PreCommit2', 'PreCommitting', 'PreCommitWait', 'WaitSeed', 'Committing', 'SubmitCommit', 'CommitWait', 'FinalizeSector', 'Proving']) {
    t.true(states.includes(s as never), `a record in ${s} was saved`);
  }
  const r = h.lastSave()!.record;
  t.deepEqual(r.ticket, TICKET);
  t.deepEqual(r.seed, SEED);
  t.deepEqual(r.pc1, PC1);
  t.is(r.commR, 'commR-cid');
  t.deepEqual(r.commit, { message: 'c-msg', epoch: 30 });
  t.is(r.proof?.value, undefined, 'the proof bytes are dropped once the commit landed');
  t.is(r.proof?.bytes, 5);
  h.stop();
});

test('every applied result marks its call returned in the same save that records it', async (t) => {
  const h = sectorHarness({ miner: 1000, number: 3, proofType: PROOF_2K, cc: true });
  await pack(h);
  await ticket(h);
  const callId = h.finish('PC1', PC1);
  await h.flush();
  const save = h.saves.find((s) => s.applied.includes(callId));
  t.truthy(save, 'a save carries the PC1 call as applied');
  t.deepEqual(save!.record.pc1, PC1, 'and that save holds the PC1 result');
  t.true(save!.log.some((l) => l.kind === 'event;sealing.SectorPreCommit1'));
  t.is(h.saves.filter((s) => s.applied.includes(callId)).length, 1, 'only once');
  h.stop();
});

test('the sealing tasks carry the inputs their work ids are made of', async (t) => {
  const h = sectorHarness({ miner: 1000, number: 3, proofType: PROOF_2K, cc: true });
  await pack(h);
  await ticket(h);
  const pc1Task = h.lastTask();
  t.is(pc1Task.type, 'PC1');
  t.deepEqual(pc1Task.type === 'PC1' && pc1Task.input.ticket, TICKET.value);
  t.is(pc1Task.type === 'PC1' && pc1Task.input.pieces.reduce((n, p) => n + p.paddedSize, 0), 2048, 'PC1 gets every piece of the sector');
  await pc1(h);
  const pc2Task = h.lastTask();
  t.deepEqual(pc2Task.type === 'PC2' && pc2Task.input.pc1, PC1);
  await pc2(h);
  await preCommit(h);
  const c1Task = h.lastTask();
  t.deepEqual(c1Task.type === 'C1' && c1Task.input, { ticket: TICKET.value, seed: SEED.value, commD: 'commd-of-1', commR: 'commR-cid' });
  t.not(workIdOf(pc1Task), workIdOf(pc2Task));
  h.stop();
});

test('a CC sector runs its tasks at priority 0, a sector with a deal piece at 1024', async (t) => {
  const cc = sectorHarness({ miner: 1000, number: 3, proofType: PROOF_2K, cc: true });
  t.is(cc.lastTask().priority, 0);
  cc.stop();
  const deal = sectorHarness({ miner: 1000, number: 4, proofType: PROOF_2K });
  deal.send({ type: 'sector.addPiece', requestId: 'r1', pieceSize: 1024, payloadSize: 1000 });
  t.is(deal.lastTask().priority, 1024);
  deal.finish('AP', { pieceCid: 'p1', pieceCidV2: 'p1v2', paddedSize: 1024, payloadSize: 1000 });
  await deal.flush();
  deal.send({ type: 'sector.startPacking' });
  await deal.flush();
  t.is(deal.lastTask().type, 'AP');
  t.is(deal.lastTask().priority, 1024, 'fillers of a deal sector too');
  deal.stop();
});

test('PC2 reporting a CommD other than the packed one sends the sector back to PC1', async (t) => {
  const h = sectorHarness({ miner: 1000, number: 3, proofType: PROOF_2K, cc: true });
  await pack(h);
  await ticket(h);
  await pc1(h);
  await pc2(h, 'another-commd');
  t.is(h.state(), 'SealPreCommit1Failed');
  t.is(h.context().error?.code, 'CACHE_CORRUPT');
  h.clock.increment(60_000);
  await h.flush();
  t.is(h.state(), 'PreCommit1');
  t.is(h.lastTask().type, 'PC1');
  h.stop();
});

test('finalize keeps the deal pieces unsealed and moves sealed, cache and unsealed to storage', async (t) => {
  const h = sectorHarness({ miner: 1000, number: 4, proofType: PROOF_2K });
  h.send({ type: 'sector.addPiece', requestId: 'r1', pieceSize: 512, payloadSize: 500 });
  h.finish('AP', { pieceCid: 'p1', pieceCidV2: 'p1v2', paddedSize: 512, payloadSize: 500 });
  await h.flush();
  h.send({ type: 'sector.startPacking' });
  await pack(h);
  await ticket(h);
  await pc1(h);
  await pc2(h);
  await preCommit(h);
  await commitProof(h);
  await commit(h);
  const fin = h.lastTask();
  t.deepEqual(fin.type === 'FIN' && fin.input.keepUnsealed, [{ offset: 0, size: 508 }]);
  h.finish('FIN', { freedBytes: 1536, removedFiles: 3 });
  await h.flush();
  const get = h.lastTask();
  t.deepEqual(get.type === 'GET' && get.input, { types: 7, pathType: 'storage' });
  await finalize(h).catch(() => {});
  h.stop();
});

test('a Proving sector found faulty declares the fault and ends in FaultReported', async (t) => {
  const h = sectorHarness({ miner: 1000, number: 3, proofType: PROOF_2K, cc: true });
  await toProving(h);
  h.send({ type: 'sector.faulty', reason: 'sealed file is wrong size' });
  await h.flush();
  t.is(h.state(), 'Faulty');
  t.is(h.context().error?.message, 'sealed file is wrong size');
  h.invocation('chainDeclareFault').resolve({ message: 'fault-msg' });
  await h.flush();
  t.is(h.state(), 'FaultReported');
  t.true(h.logKinds().includes('event;sealing.SectorFaultReported'));
  h.stop();
});

test('a chain that fails to give a ticket is asked again after the chain retry delay', async (t) => {
  const h = sectorHarness({ miner: 1000, number: 3, proofType: PROOF_2K, cc: true });
  await pack(h);
  h.invocation('chainGetTicket').reject(new Error('node unreachable'));
  await h.flush();
  t.is(h.state(), 'GetTicket');
  t.regex(h.context().error?.message ?? '', /node unreachable/);
  const before = h.invocations.filter((i) => i.src === 'chainGetTicket').length;
  h.clock.increment(9_999);
  await h.flush();
  t.is(h.invocations.filter((i) => i.src === 'chainGetTicket').length, before, 'not before the delay');
  h.clock.increment(1);
  await h.flush();
  t.is(h.invocations.filter((i) => i.src === 'chainGetTicket').length, before + 1);
  await ticket(h);
  t.is(h.state(), 'PreCommit1');
  t.is(h.context().error, undefined, 'the error is cleared once the ticket came');
  h.stop();
});

test('the scheduler hears a summary only when it changed: saves that change the record alone do not repeat it', async (t) => {
  const h = sectorHarness({ miner: 1000, number: 3, proofType: PROOF_2K, cc: true });
  await toProving(h);
  const told = h.summaries().map((s) => `${s.state}|${s.reservedEnd}|${s.accepting}`);
  t.deepEqual(told, [...new Set(told)], 'no summary is told twice');
  t.true(h.saves.length > told.length, `${h.saves.length} saves, ${told.length} summaries`);
  t.deepEqual(
    h.summaries().map((s) => s.state).filter((s, i, all) => s !== all[i - 1]),
    ['Packing', 'GetTicket', 'PreCommit1', 'PreCommit2', 'PreCommitting', 'PreCommitWait', 'WaitSeed', 'Committing', 'SubmitCommit', 'CommitWait', 'FinalizeSector', 'Proving'],
    'every state change is told',
  );
  // a state that asks for a task tells its summary on that request: one event to the scheduler, not two
  for (const [state, type] of [['PreCommit1', 'PC1'], ['PreCommit2', 'PC2']] as const) {
    const request = h.requests().find((r) => r.task.type === type);
    t.is(request?.summary?.state, state, `the ${type} request carries the ${state} summary`);
    t.false(h.of('scheduler.sector.changed').some((e) => e.summary.state === state), `no separate sector.changed for ${state}`);
  }
  h.stop();
});
