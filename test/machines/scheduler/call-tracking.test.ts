import test from 'ava';
import { workIdOf } from '../../../src/tasks/work-id.js';
import { openDatabase } from '../../../src/db/database.js';
import { FileType } from '../../../src/sector/sector-id.js';
import { HARNESS_PATH, schedulerHarness } from '../scheduler-harness.js';

const TICKET = { value: 'aa'.repeat(32), epoch: 1 };
const PC1 = { replicaId: '11'.repeat(32), commDHex: '22'.repeat(32), ticket: 'aa'.repeat(32), layerDigests: ['33'.repeat(32)] };

/** A pledged 2 KiB sector packed (its one filler written) and given a ticket: its PC1 is queued. */
async function pledgedToPc1(h: ReturnType<typeof schedulerHarness>) {
  await h.request({ type: 'scheduler.pledge' });
  await h.finish('AP', { pieceCid: 'filler', pieceCidV2: '', paddedSize: 2048, payloadSize: 0 });
  h.heldOf('chainGetTicket').resolve(TICKET);
  await h.flush();
}

test('a task is dispatched only once its call is committed as started', async (t) => {
  const h = schedulerHarness({ holdCalls: true });
  await h.request({ type: 'scheduler.pledge' });
  t.is(h.runs.length, 0, 'nothing runs before calls.start is committed');
  const [start] = h.calls.open();
  t.is(start?.state, 'started');
  t.is(start?.task, 'AP');
  h.answer();
  await h.flush();
  t.is(h.runs.length, 1);
  h.answer();
  await h.flush();
  t.is(h.calls.get(h.runs[0]!.callId)?.state, 'running');
  t.is(h.calls.get(h.runs[0]!.callId)?.worker, 'local');
  h.stop();
});

test('a sector hears of a result only once it is committed, and its save marks the call returned', async (t) => {
  const h = schedulerHarness({ holdCalls: true });
  await h.request({ type: 'scheduler.pledge' });
  h.answer();
  await h.flush();
  h.answer();
  const run = h.run('AP');
  run.finish({ ok: true, result: { type: 'AP', value: { pieceCid: 'filler', pieceCidV2: '', paddedSize: 2048, payloadSize: 0 } } });
  await h.flush();
  t.is(h.calls.get(run.callId)?.state, 'done');
  t.is(h.sectorState(0), 'Packing', 'the sector has not heard yet');
  t.false(h.saves.some((s) => s.applied.includes(run.callId)));
  h.answer();
  await h.flush();
  t.is(h.sectorState(0), 'GetTicket');
  t.is(h.calls.get(run.callId)?.state, 'returned');
  t.true(h.saves.some((s) => s.applied.includes(run.callId) && s.record.pieces.length === 1));
  h.stop();
});

test('the scheduler waits for the answers of the call writes it acts on (start, finish), and asks for none of calls.run, which dispatch does not wait for', async (t) => {
  const h = schedulerHarness();
  await h.request({ type: 'scheduler.pledge' });
  await h.finish('AP', { pieceCid: 'filler', pieceCidV2: '', paddedSize: 2048, payloadSize: 0 });
  const callWrites = h.indexLog.filter((c) => c.store === 'calls').map((c) => [c.method, c.answered]);
  t.deepEqual(callWrites, [
    ['start', true],
    ['run', false],
    ['finish', true],
  ]);
  t.is(h.sectorState(0), 'GetTicket', 'the sector applied the result');
  t.is(h.calls.open().length, 0, 'and its save marked the call returned');
  h.stop();
});

test('after a restart a finished but unapplied result is delivered instead of run again', async (t) => {
  const db = openDatabase(':memory:');
  const h = schedulerHarness({ db });
  await pledgedToPc1(h);
  const pc1 = h.run('PC1');
  // the result is durable, but the process dies before the sector applied it (the worker had
  // declared the files PC1 wrote, as a real one does before its result)
  h.calls.finish(pc1.callId, { ok: true, result: { type: 'PC1', value: PC1 } });
  h.catalog.storageDeclareSector(HARNESS_PATH, pc1.task.sector, FileType.sealed | FileType.cache, true);
  const record = structuredClone(h.saves.at(-1)!.record);
  t.is(record.state, 'PreCommit1');
  h.stop();
  const r = schedulerHarness({ db, records: [record], nextNumber: 1 });
  await r.flush();
  t.is(r.sectorState(0), 'PreCommit2', 'the restored sector got the PC1 result');
  t.is(r.runs.filter((x) => x.task.type === 'PC1').length, 0, 'PC1 did not run again');
  t.is(r.calls.get(pc1.callId)?.state, 'returned');
  t.is(r.run('PC2').task.type, 'PC2');
  r.stop();
});

test('after a restart a call that was running is queued again under the same call id', async (t) => {
  const db = openDatabase(':memory:');
  const h = schedulerHarness({ db });
  await pledgedToPc1(h);
  const pc1 = h.run('PC1');
  t.is(h.calls.get(pc1.callId)?.state, 'running');
  const record = structuredClone(h.saves.at(-1)!.record);
  h.stop();
  const r = schedulerHarness({ db, records: [record], nextNumber: 1 });
  await r.flush();
  const again = r.run('PC1');
  t.is(again.callId, pc1.callId, 're-attached to the call made before the restart');
  t.is(workIdOf(again.task), workIdOf(pc1.task));
  const rec = r.calls.get(pc1.callId)!;
  t.is(rec.state, 'running');
  t.is(rec.attempts, 2, 'the second dispatch of the same call');
  await r.finish('PC1', PC1);
  t.is(r.calls.get(pc1.callId)?.state, 'returned');
  t.is(r.calls.list({ number: 0 }).filter((c) => c.task === 'PC1').length, 1, 'one PC1 call in all');
  r.stop();
});

test('restored calls no sector asks for are closed once restoring is over', async (t) => {
  const db = openDatabase(':memory:');
  const h = schedulerHarness({ db });
  await pledgedToPc1(h);
  const pc1 = h.run('PC1');
  h.stop();
  // the sector is gone (no record restored)
  const r = schedulerHarness({ db, records: [], nextNumber: 1, restoreGraceMs: 5_000 });
  await r.flush();
  t.is(r.calls.get(pc1.callId)?.state, 'started', 'a running call of a dead thread is started again at once');
  r.clock.increment(5_000);
  await r.flush();
  const closed = r.calls.get(pc1.callId)!;
  t.is(closed.state, 'returned');
  t.is(closed.outcome, 'interrupted');
  t.deepEqual(r.calls.open(), []);
  r.stop();
});

test('sealing abort stops a running call on its worker and fails it as aborted', async (t) => {
  const h = schedulerHarness();
  await pledgedToPc1(h);
  const pc1 = h.run('PC1');
  const reply = await h.request({ type: 'scheduler.call.abort', callId: pc1.callId });
  t.like(reply, { ok: true, value: { kind: 'call.aborting', callId: pc1.callId } });
  t.true(pc1.aborted, 'the worker task was told to stop');
  t.is(h.sectorState(0), 'PreCommit1', 'the sector waits until the thread let go');
  pc1.finish({ ok: false, error: { code: 'ABORTED', message: 'stopped' } });
  await h.flush();
  const rec = h.calls.get(pc1.callId)!;
  t.is(rec.outcome, 'aborted');
  t.is(rec.state, 'returned');
  t.is(h.sectorState(0), 'SealPreCommit1Failed');
  const unknown = await h.request({ type: 'scheduler.call.abort', callId: 'no-such-call' });
  t.like(unknown, { ok: false, error: { code: 'CALL_UNKNOWN' } });
  h.stop();
});

test('aborting a queued call fails it at once and it never runs', async (t) => {
  const h = schedulerHarness({ threads: 1 });
  // one thread: the first filler runs, the second holds the preparing pool, the third waits in the queue
  for (let i = 0; i < 3; i++) await h.request({ type: 'scheduler.pledge' });
  t.is(h.runs.length, 1);
  const ctx = h.root.getSnapshot().context;
  const queued = Object.values(ctx.calls).find((c) => c.phase === 'queued')!;
  t.is(queued.task.sector.number, 2);
  await h.request({ type: 'scheduler.call.abort', callId: queued.callId });
  t.is(h.calls.get(queued.callId)?.outcome, 'aborted');
  await h.finish('AP', { pieceCid: 'f', pieceCidV2: '', paddedSize: 2048, payloadSize: 0 });
  await h.finish('AP', { pieceCid: 'f', pieceCidV2: '', paddedSize: 2048, payloadSize: 0 });
  t.is(h.runs.length, 2, 'the aborted call never ran');
  t.deepEqual(h.runs.map((r) => r.task.sector.number), [0, 1]);
  t.is(h.sectorState(2), 'PackingFailed');
  h.stop();
});

test('a second result for the same call is ignored', async (t) => {
  const h = schedulerHarness();
  await h.request({ type: 'scheduler.pledge' });
  const ap = h.run('AP');
  ap.finish({ ok: true, result: { type: 'AP', value: { pieceCid: 'f', pieceCidV2: '', paddedSize: 2048, payloadSize: 0 } } });
  await h.flush();
  ap.finish({ ok: false, error: { code: 'INTERNAL', message: 'late duplicate' } });
  await h.flush();
  t.is(h.calls.get(ap.callId)?.outcome, 'ok');
  t.is(h.sectorState(0), 'GetTicket');
  h.stop();
});

test('removing a sector aborts its running call before its files are deleted', async (t) => {
  const h = schedulerHarness();
  await pledgedToPc1(h);
  const pc1 = h.run('PC1');
  const reply = await h.request({ type: 'scheduler.remove', sector: 0 });
  t.like(reply, { ok: true, value: { kind: 'sector.removing', sector: 0 } });
  t.true(pc1.aborted);
  t.false(h.held.some((x) => x.src === 'removeFiles'));
  pc1.finish({ ok: false, error: { code: 'ABORTED', message: 'stopped' } });
  await h.flush();
  h.heldOf('removeFiles').resolve(undefined);
  await h.flush();
  t.is(h.sectorState(0), 'Removed');
  t.is(h.calls.get(pc1.callId)?.outcome, 'aborted');
  t.like(await h.request({ type: 'scheduler.remove', sector: 42 }), { ok: false, error: { code: 'SECTOR_UNKNOWN' } });
  h.stop();
});

test('every 10 minutes CheckProvable runs over the Proving sectors and the faulty ones are told', async (t) => {
  const record = {
    v: 2 as const,
    miner: 1000,
    number: 4,
    proofType: 0,
    state: 'Proving' as const,
    pieces: [],
    packingRequested: true,
    counters: { preCommit2Fails: 0, invalidProofs: 0, retries: 0 },
  };
  const h = schedulerHarness({ records: [record, { ...record, number: 5 }], nextNumber: 6, faulty: (ns) => ns.filter((n) => n === 5).map((number) => ({ number, reason: 'sealed file missing' })) });
  await h.flush();
  t.deepEqual(h.checks, []);
  h.clock.increment(600_000);
  await h.flush();
  t.deepEqual(h.checks, [[4, 5]]);
  t.is(h.sectorState(4), 'Proving');
  t.is(h.sectorState(5), 'Faulty');
  h.clock.increment(600_000);
  await h.flush();
  t.deepEqual(h.checks.at(-1), [4], 'only Proving sectors are checked');
  h.stop();
});

test('a refused add of a new sector frees its number', async (t) => {
  const h = schedulerHarness();
  const id = h.send({ type: 'scheduler.addPiece', pieceSize: 512, payloadSize: 500 });
  await h.flush();
  h.run('AP').finish({ ok: false, error: { code: 'NO_SPACE', message: 'no sealing path has room' } });
  await h.flush();
  t.like(h.reply(id), { ok: false, error: { code: 'NO_SPACE' } });
  t.is(h.sectorState(0), undefined);
  const next = await h.request({ type: 'scheduler.pledge' });
  t.like(next, { ok: true, value: { sector: 0 } }, 'the number is given out again');
  h.stop();
});

test('an aborted call ends aborted even when its thread returned a result first', async (t) => {
  const h = schedulerHarness();
  await pledgedToPc1(h);
  const pc1 = h.run('PC1');
  await h.request({ type: 'scheduler.call.abort', callId: pc1.callId });
  pc1.finish({ ok: true, result: { type: 'PC1', value: PC1 } });
  await h.flush();
  t.is(h.calls.get(pc1.callId)?.outcome, 'aborted');
  t.is(h.sectorState(0), 'SealPreCommit1Failed');
  t.is(h.saves.at(-1)?.record.pc1, undefined, 'the result of the aborted call is not applied');
  h.stop();
});

test('calls run in the one `tasks` actor: the scheduler spawns no actor per call', async (t) => {
  const h = schedulerHarness();
  await h.request({ type: 'scheduler.pledge' });
  await h.request({ type: 'scheduler.pledge' });
  const children = () => Object.keys(h.root.getSnapshot().children).filter((id) => !id.startsWith('group:')).sort();
  const fixed = ['dormant', 'index', 'schedClock', 'schedTick', 'tasks'];
  t.is(h.runs.length, 2, 'two calls are running');
  t.deepEqual(children(), fixed);
  await h.finish('AP', { pieceCid: 'f', pieceCidV2: '', paddedSize: 2048, payloadSize: 0 });
  h.runs[0]!.finish({ ok: true, result: { type: 'AP', value: { pieceCid: 'f', pieceCidV2: '', paddedSize: 2048, payloadSize: 0 } } });
  await h.flush();
  t.deepEqual(children(), fixed);
  h.stop();
});

test("the scheduler's view of a sector follows the summaries that ride on its task requests", async (t) => {
  const h = schedulerHarness({});
  t.teardown(() => h.stop());
  await h.request({ type: 'scheduler.pledge' });
  await h.finish('AP', { pieceCid: 'filler', pieceCidV2: '', paddedSize: 2048, payloadSize: 0 });
  h.heldOf('chainGetTicket').resolve(TICKET);
  await h.flush();
  t.is(h.run('PC1').task.sector.number, 0);
  // PreCommit1 was told on the PC1 request alone (machines/sector/sector-setup.ts `persist` with `request`)
  t.is(h.root.getSnapshot().context.sectors[0]?.state, 'PreCommit1');
});
