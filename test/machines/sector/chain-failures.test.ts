/**
 * Transitions of Lotus's sector table (`extern/storage-sealing/fsm.go`) that the other machine
 * tests do not reach: chain steps that fail (the seed, the commit message, the fault declaration,
 * the pre-commit check), a failed move to storage, and the counters of the failure rules
 * (`extern/storage-sealing/fsm_events.go`, `states_failed.go`). All on a simulated clock.
 */
import test from 'ava';
import { commit, commitProof, pack, pc1, pc2, preCommit, ticket, toProving } from './drive.js';
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
