/**
 * Transitions of Lotus's sector table (`extern/storage-sealing/fsm.go`) that the other machine
 * tests do not reach: chain steps that fail (the seed, the commit message, the fault declaration,
 * the pre-commit check), a failed move to storage, and the counters of the failure rules
 * (`extern/storage-sealing/fsm_events.go`, `states_failed.go`). All on a simulated clock.
 */
import test from 'ava';
import type { SectorRecordDraft } from '../../../src/db/sector-store.js';
import { TICKET, commit, commitProof, pack, pc1, pc2, preCommit, ticket, toProving } from './drive.js';
import { type SectorHarness, sectorHarness } from './sector-harness.js';

const cc = () => sectorHarness({ miner: 1000, number: 7, proofType: 0, cc: true });

/** Advances the simulated clock and lets the actors settle. */
async function wait(h: SectorHarness, ms: number) {
  h.clock.increment(ms);
  await h.flush();
}

/** Pledged sector up to PreCommitting (its pre-commit about to be sent). */
async function toPreCommitting(h: SectorHarness) {
  await pack(h);
  await ticket(h);
  await pc1(h);
  await pc2(h);
}

/** How many times `src` was invoked. */
const invoked = (h: SectorHarness, src: string) => h.invocations.filter((i) => i.src === src).length;

test('a seed the chain fails to give moves the sector to PreCommitFailed, which finds the pre-commit on chain and waits for the seed again', async (t) => {
  const h = cc();
  await toPreCommitting(h);
  h.invocation('chainSubmitPreCommit').resolve({ message: 'pc-msg' });
  await h.flush();
  h.invocation('chainWaitPreCommit').resolve({ ok: true, epoch: 12 });
  await h.flush();
  t.is(h.state(), 'WaitSeed');
  h.invocation('chainWaitSeed').reject(new Error('node unreachable'));
  await h.flush();
  t.is(h.state(), 'PreCommitFailed');
  t.regex(h.context().error?.message ?? '', /waiting for the seed failed: node unreachable/);
  t.true(h.logKinds().includes('event;sealing.SectorChainPreCommitFailed'));
  await wait(h, 60_000);
  h.invocation('chainPreCommitInfo').resolve({ commR: 'commR-cid', epoch: 12 });
  await h.flush();
  t.is(h.state(), 'WaitSeed');
  t.is(invoked(h, 'chainSubmitPreCommit'), 1, 'the pre-commit is not sent again');
  t.deepEqual(h.invocation('chainWaitSeed').input, { sector: { miner: 1000, number: 7 }, preCommitEpoch: 12 });
  h.stop();
});

test('PreCommitFailed asks the chain again after another cool-down when the chain cannot say whether the pre-commit landed', async (t) => {
  const h = cc();
  await toPreCommitting(h);
  h.invocation('chainSubmitPreCommit').reject(new Error('mpool full'));
  await h.flush();
  t.is(h.state(), 'PreCommitFailed');
  await wait(h, 60_000);
  t.is(invoked(h, 'chainPreCommitInfo'), 1);
  h.invocation('chainPreCommitInfo').reject(new Error('node unreachable'));
  await h.flush();
  t.is(h.state(), 'PreCommitFailed');
  await wait(h, 59_999);
  t.is(invoked(h, 'chainPreCommitInfo'), 1, 'not before the cool-down');
  await wait(h, 1);
  t.is(invoked(h, 'chainPreCommitInfo'), 2);
  h.invocation('chainPreCommitInfo').resolve(undefined);
  await h.flush();
  t.is(h.state(), 'PreCommitting', 'not on chain: sent again');
  h.stop();
});

test('a commit message that cannot be sent moves the sector to CommitFailed, and after the cool-down the proof is computed again and sent', async (t) => {
  const h = cc();
  await toPreCommitting(h);
  await preCommit(h);
  await commitProof(h);
  t.is(h.state(), 'SubmitCommit');
  h.invocation('chainSubmitCommit').reject(new Error('mpool full'));
  await h.flush();
  t.is(h.state(), 'CommitFailed');
  t.regex(h.context().error?.message ?? '', /sending the commit failed: mpool full/);
  t.true(h.logKinds().includes('event;sealing.SectorCommitFailed'));
  await wait(h, 60_000);
  t.is(h.state(), 'Committing');
  t.is(h.lastTask().type, 'C2', 'C1\'s output is still there: only the proof is computed again');
  h.finish('C2', { proof: Buffer.from('proof').toString('base64'), sha256: 'dd'.repeat(32), prover: 'vanilla' });
  await h.flush();
  t.is(h.state(), 'SubmitCommit');
  h.stop();
});

test('a commit message whose wait failed is waited for again after the cool-down (Lotus SectorRetryCommitWait), computing no new proof', async (t) => {
  const h = cc();
  await toPreCommitting(h);
  await preCommit(h);
  await commitProof(h);
  h.invocation('chainSubmitCommit').resolve({ message: 'c-msg' });
  await h.flush();
  t.is(h.state(), 'CommitWait');
  const tasks = h.requests().length;
  h.invocation('chainWaitCommit').reject(new Error('node unreachable'));
  await h.flush();
  t.is(h.state(), 'CommitFailed');
  t.regex(h.context().error?.message ?? '', /waiting for the commit failed: node unreachable/);
  await wait(h, 60_000);
  t.is(h.state(), 'CommitWait');
  t.is(h.requests().length, tasks, 'no C1 or C2 was asked for again');
  t.is(invoked(h, 'chainSubmitCommit'), 1, 'the commit is not sent again');
  t.deepEqual(h.invocation('chainWaitCommit').input, { sector: { miner: 1000, number: 7 }, message: 'c-msg' });
  t.true(h.logKinds().includes('event;sealing.SectorRetryCommitWait'));
  h.invocation('chainWaitCommit').resolve({ ok: true, epoch: 30 });
  await h.flush();
  t.is(h.state(), 'FinalizeSector');
  h.stop();
});

test('a failed move to storage (GET) sends the sector to FinalizeFailed, which after the cool-down retries only the move', async (t) => {
  const h = cc();
  await toPreCommitting(h);
  await preCommit(h);
  await commitProof(h);
  await commit(h);
  h.finish('FIN', { freedBytes: 0, removedFiles: 3 });
  await h.flush();
  t.is(h.lastTask().type, 'GET');
  h.fail('NO_SPACE', 'no storage path has room for the sector');
  await h.flush();
  t.is(h.state(), 'FinalizeFailed');
  t.true(h.logKinds().includes('event;sealing.SectorFinalizeFailed'));
  await wait(h, 60_000);
  t.is(h.state(), 'FinalizeSector');
  t.is(h.lastTask().type, 'GET', 'FIN is done: only the move is retried');
  h.finish('GET', { storage: {} });
  await h.flush();
  t.is(h.state(), 'Proving');
  h.stop();
});

test('a fault declaration the chain fails to take is sent again after the chain retry delay', async (t) => {
  const h = cc();
  await toProving(h);
  h.send({ type: 'sector.faulty', reason: 'sealed file is missing' });
  await h.flush();
  t.is(h.state(), 'Faulty');
  h.invocation('chainDeclareFault').reject(new Error('node unreachable'));
  await h.flush();
  t.is(h.state(), 'Faulty');
  await wait(h, 9_999);
  t.is(invoked(h, 'chainDeclareFault'), 1, 'not before the delay');
  await wait(h, 1);
  t.is(invoked(h, 'chainDeclareFault'), 2);
  h.invocation('chainDeclareFault').resolve({ message: 'fault-msg' });
  await h.flush();
  t.is(h.state(), 'FaultReported');
  h.stop();
});

test('a PC1 result resets the PC2 failure count (Lotus SectorPreCommit1), so a later PC2 again gets three retries', async (t) => {
  const h = cc();
  await pack(h);
  await ticket(h);
  await pc1(h);
  for (let i = 1; i <= 2; i++) {
    h.fail('CACHE_CORRUPT', `PC2 failure ${i}`);
    await h.flush();
    await wait(h, 60_000);
  }
  t.is(h.context().counters.preCommit2Fails, 2);
  // the retried PC2 finds PC1's data wrong: PC1 is redone
  await pc2(h, 'another-commd');
  t.is(h.state(), 'SealPreCommit1Failed');
  await wait(h, 60_000);
  await pc1(h);
  t.is(h.state(), 'PreCommit2');
  t.is(h.context().counters.preCommit2Fails, 0, 'the new PC1 result reset the count');
  for (let i = 1; i <= 3; i++) {
    h.fail('CACHE_CORRUPT', `PC2 failure ${i} after the new PC1`);
    await h.flush();
    await wait(h, 60_000);
    t.is(h.state(), 'PreCommit2', `failure ${i} after the new PC1 retries PC2`);
  }
  h.stop();
});

const EXPIRED = { ok: false, code: 'TICKET_EXPIRED', reason: 'ticket epoch 10 is too old: more than 5 epochs before epoch 16' } as const;

test('a pre-commit refused for an expired ticket drops the sealing results (not the pieces or CommD) and goes to SealPreCommit1Failed at once', async (t) => {
  const h = cc();
  await toPreCommitting(h);
  const { pieces, commD } = h.context();
  h.invocation('chainSubmitPreCommit').resolve({ message: 'pc-msg' });
  await h.flush();
  h.invocation('chainWaitPreCommit').resolve(EXPIRED);
  await h.flush();
  t.is(h.state(), 'SealPreCommit1Failed');
  t.deepEqual(h.context().error, { code: 'TICKET_EXPIRED', message: `the pre-commit message failed: ${EXPIRED.reason}` });
  const record = h.lastSave()!.record;
  t.is(record.state, 'SealPreCommit1Failed');
  for (const field of ['ticket', 'pc1', 'commR', 'preCommit', 'seed', 'c1', 'proof', 'commit'] as const) {
    t.is(record[field], undefined, `${field} is dropped from the record`);
  }
  t.deepEqual(record.pieces, pieces);
  t.is(record.commD, commD);
  const entries = h.saves.flatMap((s) => s.log);
  t.deepEqual(
    entries.slice(-2).map((e) => e.kind),
    ['event;sealing.SectorChainPreCommitFailed', 'event;sealing.SectorSealPreCommit1Failed'],
  );
  t.is(entries.at(-1)!.message, `ticket expired error: the pre-commit message failed: ${EXPIRED.reason}`);
  t.is(invoked(h, 'chainPreCommitInfo'), 0, 'no cool-down in PreCommitFailed and no check of a pre-commit that cannot land');
  h.stop();
});

test('after the cool-down a sector whose ticket expired draws a new ticket (Lotus SectorOldTicket) and redoes PC1 and PC2 with it', async (t) => {
  const h = cc();
  await toPreCommitting(h);
  const firstPc1 = h.requests().find((r) => r.task.type === 'PC1')!.task;
  h.invocation('chainSubmitPreCommit').resolve({ message: 'pc-msg' });
  await h.flush();
  h.invocation('chainWaitPreCommit').resolve(EXPIRED);
  await h.flush();
  await wait(h, 59_999);
  t.is(h.state(), 'SealPreCommit1Failed');
  t.is(invoked(h, 'chainGetTicket'), 1, 'not before the cool-down');
  await wait(h, 1);
  t.is(h.state(), 'GetTicket');
  t.deepEqual(h.logKinds().slice(-2), ['event;sealing.SectorRetrySealPreCommit1', 'event;sealing.SectorOldTicket']);
  t.is(invoked(h, 'chainGetTicket'), 2);
  const fresh = { value: 'cd'.repeat(32), epoch: 40 };
  h.invocation('chainGetTicket').resolve(fresh);
  await h.flush();
  t.is(h.state(), 'PreCommit1');
  const redo = h.lastTask();
  t.is(redo.type, 'PC1');
  t.deepEqual(redo, { ...firstPc1, input: { ...(firstPc1.input as object), ticket: fresh.value } } as typeof redo, 'the same pieces, the new ticket');
  t.not((firstPc1.input as { ticket: string }).ticket, fresh.value);
  await pc1(h);
  await pc2(h);
  t.is(h.state(), 'PreCommitting');
  t.is((h.invocation('chainSubmitPreCommit').input as { params: { ticketEpoch: number } }).params.ticketEpoch, 40, 'the pre-commit carries the new ticket epoch');
  t.is(invoked(h, 'chainSubmitPreCommit'), 2);
  h.stop();
});

test('a sector restored in PreCommitFailed with an expired ticket, or in SealPreCommit1Failed without a ticket, still seals again from a new ticket', async (t) => {
  const h = cc();
  await toPreCommitting(h);
  const base = structuredClone(h.lastSave()!.record);
  h.stop();
  const preCommitFailed: SectorRecordDraft = {
    ...base,
    state: 'PreCommitFailed',
    preCommit: { message: 'pc-msg' },
    error: { code: 'TICKET_EXPIRED', message: 'the pre-commit message failed: too old' },
  };
  const r = sectorHarness({ miner: 1000, number: 7, proofType: 0, record: { ...preCommitFailed, lastLogAt: 0 }, restoredAt: 0 });
  await r.flush();
  t.is(r.state(), 'SealPreCommit1Failed');
  t.is(r.lastSave()!.record.ticket, undefined);
  t.is(r.lastSave()!.record.commR, undefined);
  r.stop();
  const { ticket: _t, pc1: _p, commR: _r, ...dropped } = base;
  const restored = sectorHarness({
    miner: 1000,
    number: 7,
    proofType: 0,
    record: { ...dropped, state: 'SealPreCommit1Failed', lastLogAt: 1_000_000 },
    restoredAt: 1_030_000,
  });
  await restored.flush();
  t.is(restored.state(), 'SealPreCommit1Failed');
  await wait(restored, 30_000);
  t.is(restored.state(), 'GetTicket', 'what was left of the cool-down, then a new ticket');
  restored.invocation('chainGetTicket').resolve(TICKET);
  await restored.flush();
  t.is(restored.lastTask().type, 'PC1');
  restored.stop();
});

test('a pre-commit refused for another reason keeps its results and is checked on chain after the cool-down', async (t) => {
  const h = cc();
  await toPreCommitting(h);
  h.invocation('chainSubmitPreCommit').resolve({ message: 'pc-msg' });
  await h.flush();
  h.invocation('chainWaitPreCommit').resolve({ ok: false, code: 'PRECOMMIT_REFUSED', reason: 'sector 7 is already pre-committed (message m0)' });
  await h.flush();
  t.is(h.state(), 'PreCommitFailed');
  t.is(h.context().error?.code, 'PRECOMMIT_REFUSED');
  t.is(h.context().ticket?.epoch, TICKET.epoch);
  t.is(h.context().commR, 'commR-cid');
  await wait(h, 60_000);
  t.is(invoked(h, 'chainPreCommitInfo'), 1);
  h.stop();
});
