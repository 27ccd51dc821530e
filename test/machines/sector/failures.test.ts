import test from 'ava';
import { commit, commitProof, pack, pc1, pc2, preCommit, ticket } from './drive.js';
import { type SectorHarness, sectorHarness } from './sector-harness.js';

const cc = () => sectorHarness({ miner: 1000, number: 7, proofType: 0, cc: true });

/** Advances the simulated clock and lets the actors settle. */
async function wait(h: SectorHarness, ms: number) {
  h.clock.increment(ms);
  await h.flush();
}

async function toPreCommit2(h: SectorHarness) {
  await pack(h);
  await ticket(h);
  await pc1(h);
}

test('SealPreCommit1Failed waits exactly the one-minute cool-down, then retries PC1 with the same inputs', async (t) => {
  const h = cc();
  await pack(h);
  await ticket(h);
  const first = h.lastTask();
  const callId = h.fail('TASK_FAILED', 'labelling blew up');
  await h.flush();
  t.is(h.state(), 'SealPreCommit1Failed');
  t.deepEqual(h.context().error, { code: 'TASK_FAILED', message: 'labelling blew up' });
  t.true(h.saves.some((s) => s.applied.includes(callId) && s.record.state === 'SealPreCommit1Failed'), 'the failure is applied and its call returned');
  await wait(h, 59_999);
  t.is(h.state(), 'SealPreCommit1Failed');
  await wait(h, 1);
  t.is(h.state(), 'PreCommit1');
  t.deepEqual(h.lastTask(), first, 'the retry asks for the same work');
  t.is(h.context().counters.retries, 1);
  t.true(h.logKinds().includes('event;sealing.SectorRetrySealPreCommit1'));
  h.stop();
});

test('PC2 is retried after each of its first three failures and the fourth sends the sector back to PC1', async (t) => {
  const h = cc();
  await toPreCommit2(h);
  for (let i = 1; i <= 3; i++) {
    t.is(h.lastTask().type, 'PC2');
    h.fail('CACHE_CORRUPT', `layer ${i} is damaged`);
    await h.flush();
    t.is(h.state(), 'SealPreCommit2Failed');
    t.is(h.context().counters.preCommit2Fails, i);
    await wait(h, 60_000);
    t.is(h.state(), 'PreCommit2', `failure ${i} retries PC2`);
  }
  h.fail('CACHE_CORRUPT', 'layer 4 is damaged');
  await h.flush();
  t.is(h.context().counters.preCommit2Fails, 4);
  await wait(h, 60_000);
  t.is(h.state(), 'PreCommit1', 'more than 3 PC2 failures fall back to PC1');
  t.is(h.context().counters.preCommit2Fails, 0);
  await pc1(h);
  t.is(h.state(), 'PreCommit2');
  h.stop();
});

test('a failed pre-commit message goes to PreCommitFailed; after the cool-down the chain is asked whether it landed', async (t) => {
  const h = cc();
  await toPreCommit2(h);
  await pc2(h);
  h.invocation('chainSubmitPreCommit').resolve({ message: 'm1' });
  await h.flush();
  h.invocation('chainWaitPreCommit').resolve({ ok: false, reason: 'out of gas' });
  await h.flush();
  t.is(h.state(), 'PreCommitFailed');
  t.regex(h.context().error?.message ?? '', /out of gas/);
  await wait(h, 60_000);
  // not on chain: send it again
  h.invocation('chainPreCommitInfo').resolve(undefined);
  await h.flush();
  t.is(h.state(), 'PreCommitting');
  h.invocation('chainSubmitPreCommit').resolve({ message: 'm2' });
  await h.flush();
  h.invocation('chainWaitPreCommit').reject(new Error('node went away'));
  await h.flush();
  t.is(h.state(), 'PreCommitFailed');
  await wait(h, 60_000);
  // on chain after all, with our CommR
  h.invocation('chainPreCommitInfo').resolve({ commR: 'commR-cid', epoch: 40 });
  await h.flush();
  t.is(h.state(), 'WaitSeed');
  h.stop();
});

test('a pre-commit on chain with another CommR stalls the sector for an operator', async (t) => {
  const h = cc();
  await toPreCommit2(h);
  await pc2(h);
  h.invocation('chainSubmitPreCommit').reject(new Error('rejected'));
  await h.flush();
  await wait(h, 60_000);
  h.invocation('chainPreCommitInfo').resolve({ commR: 'someone-elses', epoch: 3 });
  await h.flush();
  t.is(h.state(), 'PreCommitFailed');
  t.regex(h.context().error?.message ?? '', /another CommR/);
  await wait(h, 600_000);
  t.is(h.state(), 'PreCommitFailed', 'it stays');
  h.stop();
});

test('a failed proof computation is retried twice (Lotus counts retries: InvalidProofs > 1), then the sector goes back to PC1', async (t) => {
  const h = cc();
  await toPreCommit2(h);
  await pc2(h);
  await preCommit(h);
  t.is(h.lastTask().type, 'C1');
  h.fail('TASK_FAILED', 'c1 failed');
  await h.flush();
  t.is(h.state(), 'ComputeProofFailed');
  t.is(h.context().counters.invalidProofs, 0, 'a failure is not a retry');
  await wait(h, 60_000);
  t.is(h.state(), 'Committing');
  t.is(h.context().counters.invalidProofs, 1, 'the first retry');
  h.finish('C1', { sha256: 'cc'.repeat(32), bytes: 10 });
  await h.flush();
  t.is(h.lastTask().type, 'C2');
  h.fail('CACHE_CORRUPT', 'commit1.cbor damaged');
  await h.flush();
  t.is(h.state(), 'ComputeProofFailed');
  t.is(h.context().c1, undefined, 'C1 output is recomputed after a C2 failure');
  await wait(h, 60_000);
  t.is(h.state(), 'Committing', 'the second failure is retried too');
  t.is(h.context().counters.invalidProofs, 2);
  t.is(h.lastTask().type, 'C1');
  h.fail('TASK_FAILED', 'c1 failed again');
  await h.flush();
  await wait(h, 60_000);
  t.is(h.state(), 'SealPreCommit1Failed', 'a failure after two retries redoes PC1');
  t.is(h.context().counters.invalidProofs, 0);
  h.stop();
});

test('a commit the chain refuses (invalid proof) recomputes the proof; a second refusal redoes PC1', async (t) => {
  const h = cc();
  await toPreCommit2(h);
  await pc2(h);
  await preCommit(h);
  await commitProof(h);
  h.invocation('chainSubmitCommit').resolve({ message: 'c1' });
  await h.flush();
  h.invocation('chainWaitCommit').resolve({ ok: false, reason: 'invalid proof' });
  await h.flush();
  t.is(h.state(), 'CommitFailed');
  t.is(h.context().error?.code, 'PROOF_INVALID');
  t.is(h.context().c1, undefined);
  await wait(h, 60_000);
  t.is(h.state(), 'Committing');
  t.is(h.lastTask().type, 'C1', 'the proof is computed again from C1');
  await commitProof(h);
  h.invocation('chainSubmitCommit').resolve({ message: 'c2' });
  await h.flush();
  h.invocation('chainWaitCommit').resolve({ ok: false, reason: 'invalid proof again' });
  await h.flush();
  await wait(h, 60_000);
  t.is(h.state(), 'SealPreCommit1Failed');
  h.stop();
});

test('FinalizeFailed retries finalize after the cool-down', async (t) => {
  const h = cc();
  await toPreCommit2(h);
  await pc2(h);
  await preCommit(h);
  await commitProof(h);
  await commit(h);
  t.is(h.lastTask().type, 'FIN');
  h.fail('NO_SPACE', 'no storage path has room');
  await h.flush();
  t.is(h.state(), 'FinalizeFailed');
  await wait(h, 60_000);
  t.is(h.state(), 'FinalizeSector');
  t.is(h.lastTask().type, 'FIN');
  h.stop();
});

test('AddPieceFailed keeps its confirmed pieces and opens for deals again after the cool-down', async (t) => {
  const h = sectorHarness({ miner: 1000, number: 8, proofType: 0 });
  h.send({ type: 'sector.addPiece', requestId: 'r1', pieceSize: 512, payloadSize: 500 });
  h.finish('AP', { pieceCid: 'p1', pieceCidV2: 'p1v2', paddedSize: 512, payloadSize: 500 });
  await h.flush();
  h.send({ type: 'sector.addPiece', requestId: 'r2', pieceSize: 512, payloadSize: 500 });
  h.fail('INTERNAL', 'EIO writing the unsealed file');
  await h.flush();
  t.is(h.state(), 'AddPieceFailed');
  t.is(h.of('scheduler.piece.failed').at(-1)?.requestId, 'r2');
  await wait(h, 60_000);
  t.is(h.state(), 'WaitDeals');
  t.is(h.context().pieces.length, 1);
  h.send({ type: 'sector.addPiece', requestId: 'r3', pieceSize: 512, payloadSize: 500 });
  t.is(h.lastTask().type, 'AP');
  const ap = h.lastTask();
  t.is(ap.type === 'AP' && ap.input.paddedOffset, 512, 'the next piece goes right after the confirmed one');
  h.stop();
});

test('no room on disk fails the piece, not the sector', async (t) => {
  const h = sectorHarness({ miner: 1000, number: 8, proofType: 0 });
  h.send({ type: 'sector.addPiece', requestId: 'r1', pieceSize: 512, payloadSize: 500 });
  h.finish('AP', { pieceCid: 'p1', pieceCidV2: 'p1v2', paddedSize: 512, payloadSize: 500 });
  await h.flush();
  h.send({ type: 'sector.addPiece', requestId: 'r2', pieceSize: 1024, payloadSize: 1000 });
  t.is(h.lastTask().type, 'AP');
  h.fail('NO_SPACE', 'no room for the 512-byte alignment padding');
  await h.flush();
  t.is(h.state(), 'WaitDeals');
  t.is(h.of('scheduler.piece.failed').at(-1)?.error.code, 'NO_SPACE');
  t.is(h.context().pieces.length, 1);
  h.stop();
});

test('a filler that finds no room on disk leaves the sector PackingFailed with its pieces; after the cool-down it packs again', async (t) => {
  const h = sectorHarness({ miner: 1000, number: 8, proofType: 0 });
  h.send({ type: 'sector.addPiece', requestId: 'r1', pieceSize: 512, payloadSize: 500 });
  h.finish('AP', { pieceCid: 'p1', pieceCidV2: 'p1v2', paddedSize: 512, payloadSize: 500 });
  await h.flush();
  h.send({ type: 'sector.startPacking' });
  t.is(h.lastTask().type, 'AP');
  h.fail('NO_SPACE', 'no room for the 512-byte filler');
  await h.flush();
  t.is(h.state(), 'PackingFailed');
  t.is(h.context().error?.code, 'NO_SPACE');
  await wait(h, 59_000);
  t.is(h.state(), 'PackingFailed', 'it waits the cool-down');
  await wait(h, 1_000);
  t.is(h.state(), 'Packing');
  const filler = h.lastTask();
  t.is(filler.type === 'AP' && filler.input.paddedOffset, 512, 'the confirmed piece is kept; the fillers go after it');
  await pack(h);
  t.is(h.state(), 'GetTicket');
  t.deepEqual(
    h.context().pieces.map((p) => [p.paddedOffset, p.filler]),
    [
      [0, false],
      [512, true],
      [1024, true],
    ],
  );
  h.stop();
  // a filler that failed for another reason stays for the operator
  const g = sectorHarness({ miner: 1000, number: 9, proofType: 0 });
  g.send({ type: 'sector.addPiece', requestId: 'r1', pieceSize: 512, payloadSize: 500 });
  g.finish('AP', { pieceCid: 'p1', pieceCidV2: 'p1v2', paddedSize: 512, payloadSize: 500 });
  await g.flush();
  g.send({ type: 'sector.startPacking' });
  g.fail('INTERNAL', 'EIO writing the filler');
  await g.flush();
  await wait(g, 3_600_000);
  t.is(g.state(), 'PackingFailed');
  g.stop();
});

test('a new sector whose first piece fails is discarded and nothing of it is written', async (t) => {
  const h = sectorHarness({ miner: 1000, number: 9, proofType: 0 });
  h.send({ type: 'sector.addPiece', requestId: 'r1', pieceSize: 512, payloadSize: 500 });
  h.fail('NO_SPACE', 'no sealing path has room');
  await h.flush();
  t.deepEqual(h.of('scheduler.sector.discard'), [{ type: 'scheduler.sector.discard', number: 9 }]);
  t.is(h.of('scheduler.piece.failed').at(-1)?.error.code, 'NO_SPACE');
  t.is(h.saves.length, 0, 'no record was ever written');
  t.not(h.ref()?.getSnapshot().status, 'active', 'the actor has ended');
  h.stop();
});

test('a missing unsealed file makes the sector FailedUnrecoverable, never recreated', async (t) => {
  const h = sectorHarness({ miner: 1000, number: 8, proofType: 0 });
  h.send({ type: 'sector.addPiece', requestId: 'r1', pieceSize: 512, payloadSize: 500 });
  h.finish('AP', { pieceCid: 'p1', pieceCidV2: 'p1v2', paddedSize: 512, payloadSize: 500 });
  await h.flush();
  h.send({ type: 'sector.addPiece', requestId: 'r2', pieceSize: 512, payloadSize: 500 });
  h.fail('FILE_NOT_FOUND', 'the unsealed file of sector 8 is missing');
  await h.flush();
  t.is(h.state(), 'FailedUnrecoverable');
  await wait(h, 3_600_000);
  t.is(h.state(), 'FailedUnrecoverable', 'no retry can help');
  const g = sectorHarness({ miner: 1000, number: 10, proofType: 0, cc: true });
  await pack(g);
  await ticket(g);
  g.send({ type: 'sector.files.missing', message: 'sealed and cache of sector 10 are on no path' });
  await g.flush();
  t.is(g.state(), 'FailedUnrecoverable');
  t.regex(g.context().error?.message ?? '', /on no path/);
  h.stop();
  g.stop();
});

test('removing a sector during PC1 aborts the task, waits for it, then deletes the files', async (t) => {
  const h = cc();
  await pack(h);
  await ticket(h);
  const pc1Request = h.lastRequest();
  h.send({ type: 'sector.remove' });
  await h.flush();
  t.is(h.state(), 'Removing');
  t.deepEqual(h.of('scheduler.task.abort'), [{ type: 'scheduler.task.abort', sector: 7, taskId: pc1Request.taskId }]);
  t.false(h.invocations.some((i) => i.src === 'removeFiles'), 'files stay until the task let go');
  h.send({ type: 'sector.task.failed', taskId: pc1Request.taskId, callId: 'pc1-call', error: { code: 'ABORTED', message: 'aborted' } });
  await h.flush();
  h.invocation('removeFiles').resolve(undefined);
  await h.flush();
  t.is(h.state(), 'Removed');
  t.true(h.saves.some((s) => s.applied.includes('pc1-call')));
  h.send({ type: 'sector.remove' });
  await h.flush();
  t.is(h.state(), 'Removed', 'removing again changes nothing');
  h.stop();
});

test('a removal that fails is retried after the cool-down', async (t) => {
  const h = cc();
  await pack(h);
  await ticket(h);
  h.send({ type: 'sector.task.failed', taskId: h.lastRequest().taskId, callId: 'x', error: { code: 'TASK_FAILED', message: 'x' } });
  await h.flush();
  h.send({ type: 'sector.remove' });
  await h.flush();
  h.invocation('removeFiles').reject(Object.assign(new Error('EACCES'), { code: 'INTERNAL' }));
  await h.flush();
  t.is(h.state(), 'RemoveFailed');
  await wait(h, 60_000);
  t.is(h.state(), 'Removing');
  h.invocation('removeFiles').resolve(undefined);
  await h.flush();
  t.is(h.state(), 'Removed');
  h.stop();
});
