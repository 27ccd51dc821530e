/**
 * PC1 batches (machines/scheduler/pc1-batch.ts, docs/design/scheduler.md §8): the local worker
 * starts the ready PC1s of one sector size together, up to the batch size, after waiting up to the
 * batch wait (the delayed `scheduler.pc1.waited`) for a batch to fill. On the simulated-clock harness.
 */
import test from 'ava';
import { allocBytes } from '../../../machines/scheduler/selectors.js';
import type { SectorRecordDraft } from '../../../src/db/sector-store.js';
import { FileType } from '../../../src/sector/sector-id.js';
import { HARNESS_PATH, type Run, type SchedulerHarness, schedulerHarness, workerInfo } from '../scheduler-harness.js';

const TICKET = { value: 'aa'.repeat(32), epoch: 1 };
const FILLER = { pieceCid: 'filler', pieceCidV2: '', paddedSize: 2048, payloadSize: 0 };

/** A sector restored at PreCommit1 (it asks for PC1 at once); proof 0 is 2 KiB, 1 is 8 MiB. */
function atPc1(number: number, proofType = 0): SectorRecordDraft {
  const size = proofType === 0 ? 2048 : 8 << 20;
  return {
    v: 2,
    miner: 1000,
    number,
    proofType,
    state: 'PreCommit1',
    pieces: [{ pieceCid: 'filler', paddedOffset: 0, paddedSize: size, payloadSize: 0, filler: true }],
    packingRequested: true,
    counters: { preCommit2Fails: 0, invalidProofs: 0, retries: 0 },
    commD: 'commd-of-1',
    ticket: { value: 'aa'.repeat(32), epoch: 1 },
  };
}

const pc1Runs = (h: SchedulerHarness) => h.runs.filter((r) => r.task.type === 'PC1');
const sectors = (runs: readonly Run[]) => runs.map((r) => r.task.sector.number).sort((a, b) => a - b);
const runArgs = (h: SchedulerHarness) => h.indexLog.filter((l) => l.store === 'calls' && l.method === 'run').map((l) => l.args);

test('batch size 1 (the default): every PC1 runs alone, nothing waits, no call gets a batch', async (t) => {
  const h = schedulerHarness({ threads: 1, records: [atPc1(0), atPc1(1), atPc1(2)] });
  t.teardown(() => h.stop());
  await h.flush();
  t.deepEqual(sectors(pc1Runs(h)), [0], 'one thread: one PC1 at a time, as before batches');
  t.is(pc1Runs(h)[0]!.batch, undefined);
  t.deepEqual(h.root.getSnapshot().context.pc1Batch.waits, {}, 'no wait started');
  t.deepEqual(runArgs(h).map((a) => a.length), [3], 'calls.run without a batch');
  t.is(h.calls.get(pc1Runs(h)[0]!.callId)!.batch, undefined);
});

test('ready PC1s of one size start together as one batch: each keeps its call, all share the batch id', async (t) => {
  const h = schedulerHarness({ threads: 1, pc1BatchSize: 4, records: [0, 1, 2, 3, 4].map((n) => atPc1(n)) });
  t.teardown(() => h.stop());
  await h.flush();
  const runs = pc1Runs(h);
  t.deepEqual(sectors(runs), [0, 1, 2, 3], 'the first four in queue order; the fifth waits for the thread');
  const batch = runs[0]!.batch!;
  t.truthy(batch);
  t.deepEqual(batch.calls, runs.map((r) => r.callId), 'every member knows the members, the first one first');
  t.true(runs.every((r) => r.batch?.id === batch.id));
  t.is(new Set(runs.map((r) => r.callId)).size, 4, 'four calls');
  for (const r of runs) t.like(h.calls.get(r.callId), { state: 'running', batch: batch.id, attempts: 1 });
  const local = h.workers().local!;
  t.is(local.active.cpuUse, 1, 'the batch holds the one thread of one PC1, not four');
  t.is(local.active.counts.PC1, 4, 'every member counts against the PC1 limit');
});

test('with fewer ready than the batch size, the PC1 waits up to the batch wait, then runs with what is ready', async (t) => {
  const h = schedulerHarness({ threads: 1, pc1BatchSize: 4, pc1BatchWaitMs: 30_000, records: [atPc1(0), atPc1(1)] });
  t.teardown(() => h.stop());
  await h.flush();
  t.is(pc1Runs(h).length, 0, 'two ready of four: the batch waits');
  h.clock.increment(29_999);
  await h.flush();
  t.is(pc1Runs(h).length, 0, 'not before the wait is over');
  h.clock.increment(1);
  await h.flush();
  const runs = pc1Runs(h);
  t.deepEqual(sectors(runs), [0, 1]);
  t.is(runs[0]!.batch?.id, runs[1]!.batch?.id, 'one batch of the two');
  t.deepEqual(h.root.getSnapshot().context.pc1Batch.waits, {}, 'the next batch waits anew');
});

test('a PC1 that becomes ready during the wait fills the batch: it starts at once', async (t) => {
  const h = schedulerHarness({ threads: 1, pc1BatchSize: 2, pc1BatchWaitMs: 30_000, records: [atPc1(0)], nextNumber: 1 });
  t.teardown(() => h.stop());
  await h.flush();
  t.is(pc1Runs(h).length, 0, 'one ready of two: it waits');
  await h.request({ type: 'scheduler.pledge' });
  await h.finish('AP', FILLER); // the held PC1 keeps no other task from the worker
  h.heldOf('chainGetTicket').resolve(TICKET);
  await h.flush();
  const runs = pc1Runs(h);
  t.deepEqual(sectors(runs), [0, 1], 'sector 1 asked for PC1: the batch is full, no need to wait');
  t.is(runs[0]!.batch?.id, runs[1]!.batch?.id);
  h.clock.increment(30_000);
  await h.flush();
  t.is(pc1Runs(h).length, 2, 'the old wait running out does nothing');
});

test('a PC1 held for its batch keeps no new AddPiece from the worker: the PC1s that will ride in its batch take no window', async (t) => {
  const h = schedulerHarness({ threads: 1, pc1BatchSize: 3, pc1BatchWaitMs: 30_000, records: [atPc1(0), atPc1(1)], nextNumber: 2 });
  t.teardown(() => h.stop());
  await h.flush();
  const { calls } = h.root.getSnapshot().context;
  const inWindows = h.workers().local!.windows.flatMap((x) => x.todo.map((id) => calls[id]!.task.sector.number));
  t.deepEqual(inWindows, [0], 'sector 1\'s PC1 rides in sector 0\'s batch: it takes no window');
  await h.request({ type: 'scheduler.pledge' });
  t.is(h.run('AP').task.sector.number, 2, 'the pledge\'s AddPiece runs while the PC1s wait');
  await h.finish('AP', FILLER);
  h.heldOf('chainGetTicket').resolve(TICKET);
  await h.flush();
  t.deepEqual(sectors(pc1Runs(h)), [0, 1, 2], 'its PC1 made the batch full');
});

test('sectors of different sizes never share a batch', async (t) => {
  const h = schedulerHarness({ threads: 2, pc1BatchSize: 4, pc1BatchWaitMs: 1_000, records: [atPc1(0), atPc1(1, 1), atPc1(2), atPc1(3, 1)] });
  t.teardown(() => h.stop());
  await h.flush();
  t.is(pc1Runs(h).length, 0, 'two of each size: both wait');
  h.clock.increment(1_000);
  await h.flush();
  const byBatch = new Map<string, number[]>();
  for (const r of pc1Runs(h)) byBatch.set(r.batch!.id, [...(byBatch.get(r.batch!.id) ?? []), r.task.sector.number].sort());
  t.deepEqual([...byBatch.values()].sort(), [[0, 2], [1, 3]], '2 KiB with 2 KiB, 8 MiB with 8 MiB');
});

test('a remote worker keeps single PC1s: nothing waits for a batch there', async (t) => {
  const h = schedulerHarness({ pc1BatchSize: 4, workers: [workerInfo('w')], records: [atPc1(0), atPc1(1)] });
  t.teardown(() => h.stop());
  await h.flush();
  const runs = pc1Runs(h);
  t.deepEqual(sectors(runs), [0, 1]);
  t.true(runs.every((r) => r.batch === undefined));
});

test('aborting one member: it ends aborted; the others, stopped with the batch, are queued again under their ids and form a new batch', async (t) => {
  const h = schedulerHarness({ threads: 1, pc1BatchSize: 3, pc1BatchWaitMs: 5_000, records: [atPc1(0), atPc1(1), atPc1(2)] });
  t.teardown(() => h.stop());
  await h.flush();
  const [a, b, c] = pc1Runs(h);
  const first = a!.batch!.id;
  t.like(await h.request({ type: 'scheduler.call.abort', callId: b!.callId }), { ok: true });
  t.true(b!.aborted, 'the aborted member is told');
  t.false(a!.aborted || c!.aborted, 'the others are the worker\'s to stop (src/worker/pc1-batch.ts)');
  // what the local worker does: the aborted member ends ABORTED, the batch's others WORKER_LOST
  b!.finish({ ok: false, error: { code: 'ABORTED', message: 'aborted' } });
  for (const r of [a!, c!]) r.finish({ ok: false, error: { code: 'WORKER_LOST', message: `PC1 batch ${first} stopped` } });
  await h.flush();
  t.like(h.calls.get(b!.callId), { outcome: 'aborted' });
  for (const r of [a!, c!]) t.like(h.calls.get(r.callId), { state: 'started', attempts: 1 });
  t.is(pc1Runs(h).length, 3, 'two ready of three: the new batch waits');
  h.clock.increment(5_000);
  await h.flush();
  const again = pc1Runs(h).slice(3).filter((r) => r.callId === a!.callId || r.callId === c!.callId);
  t.deepEqual(sectors(again), [0, 2], 'the same calls run again');
  t.not(again[0]!.batch!.id, first, 'in a new batch');
  t.is(again[0]!.batch!.id, again[1]!.batch!.id);
  for (const r of again) t.like(h.calls.get(r.callId), { state: 'running', attempts: 2, batch: again[0]!.batch!.id });
});

test('with PC1 disabled on the local worker, no PC1 waits to ride in a batch: another worker runs them', async (t) => {
  const h = schedulerHarness({ pc1BatchSize: 3, workers: [workerInfo('local'), workerInfo('w')], records: [atPc1(0), atPc1(1), atPc1(2)] });
  t.teardown(() => h.stop());
  // before the first pass (the next turn of the event loop)
  h.send({ type: 'scheduler.worker.disable', id: 'local', taskType: 'PC1' });
  await h.flush();
  const runs = pc1Runs(h);
  t.deepEqual(sectors(runs), [0, 1], 'two threads on w: two PC1s run there');
  t.true(runs.every((r) => r.worker === 'w' && r.batch === undefined));
});

test('a PC1 whose files have no room on the local worker\'s paths is not taken into the batch', async (t) => {
  const pc1Bytes = allocBytes({ kind: 'alloc', types: FileType.sealed | FileType.cache, pathType: 'sealing' }, 2048);
  const h = schedulerHarness({ threads: 1, pc1BatchSize: 2, paths: [{ id: HARNESS_PATH, available: pc1Bytes + pc1Bytes / 2 }], records: [atPc1(0), atPc1(1)] });
  t.teardown(() => h.stop());
  await h.flush();
  const runs = pc1Runs(h);
  t.deepEqual(sectors(runs), [0], 'room for one sector\'s files: it runs alone');
  t.is(runs[0]!.batch, undefined);
  t.is(h.root.getSnapshot().context.calls[h.calls.list({ number: 1 })[0]!.callId]?.phase, 'queued', 'the other waits for room');
});

test('a wait whose PC1 was aborted meanwhile ends without a trace: the next PC1 of that size waits anew', async (t) => {
  const h = schedulerHarness({ threads: 1, pc1BatchSize: 2, pc1BatchWaitMs: 1_000, records: [atPc1(0)], nextNumber: 1 });
  t.teardown(() => h.stop());
  await h.flush();
  const [call] = h.calls.list({ number: 0 });
  t.like(await h.request({ type: 'scheduler.call.abort', callId: call!.callId }), { ok: true });
  h.clock.increment(1_000);
  await h.flush();
  t.deepEqual(h.root.getSnapshot().context.pc1Batch.waits, {});
  await h.request({ type: 'scheduler.pledge' });
  await h.finish('AP', FILLER);
  h.heldOf('chainGetTicket').resolve(TICKET);
  await h.flush();
  t.is(pc1Runs(h).length, 0, 'sector 1\'s PC1 waits for a second one');
});

test('a batch whose pool task failed: each member is queued again under its id and runs alone; only a member that fails alone fails', async (t) => {
  const h = schedulerHarness({ threads: 1, pc1BatchSize: 3, pc1BatchWaitMs: 5_000, records: [atPc1(0), atPc1(1), atPc1(2)] });
  t.teardown(() => h.stop());
  await h.flush();
  const first = pc1Runs(h);
  t.deepEqual(sectors(first), [0, 1, 2]);
  // what the local worker does when the pool task fails (src/worker/pc1-batch.ts): every member
  // ends with its error; here sector 1's layer file was unreadable
  const broken = { ok: false as const, error: { code: 'FILE_NOT_FOUND' as const, message: 'PC1: the layer 3 file of s-t01000-1 is gone' } };
  for (const r of first) r.finish(broken);
  await h.flush();
  for (const r of first) t.is(h.calls.get(r.callId)!.outcome, undefined, 'not failed: queued again');
  t.like(h.calls.get(first[2]!.callId), { state: 'started', attempts: 1 }, 'back in the queue; the first already runs again');
  const pc2Done = new Set<Run>();
  for (const expected of [0, 1, 2]) {
    // a finished PC1's sector asks for PC2, which goes first in queue order (Lotus's) and takes the thread
    for (const r of h.runs.filter((x) => x.task.type === 'PC2' && !pc2Done.has(x))) {
      pc2Done.add(r);
      r.finish({ ok: true, result: { type: 'PC2', value: { commD: 'commd-of-1', commR: 'commR-cid' } } as never });
    }
    await h.flush();
    const r = pc1Runs(h).at(-1)!;
    t.false(first.includes(r), 'a new run');
    t.is(r.task.sector.number, expected, 'in queue order, one at a time (one thread)');
    t.is(r.batch, undefined, 'alone, with no wait for a batch');
    t.is(r.callId, first[expected]!.callId, 'the same call');
    t.is(pc1Runs(h).length, 4 + expected);
    r.finish(expected === 1 ? broken : { ok: true, result: { type: 'PC1', value: { replicaId: '11'.repeat(32), commDHex: '22'.repeat(32), ticket: 'aa'.repeat(32), layerDigests: [] } } as never });
    await h.flush();
  }
  t.like(h.calls.get(first[1]!.callId), { outcome: 'failed', attempts: 2 }, 'sector 1 failed on its own: its failure counts');
  for (const i of [0, 2]) t.like(h.calls.get(first[i]!.callId), { outcome: 'ok', attempts: 2 });
  t.is(pc1Runs(h).length, 6, 'nothing ran a third time');
});
