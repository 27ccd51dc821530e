/**
 * When scheduling passes run (machines/scheduler/sched-tick.ts, docs/design/scheduler.md §5): the
 * events of one turn of the event loop that want a pass get one pass between them, as Lotus's
 * `runSched` drains its channels before one `trySched`; a prepared call takes room in `active` at
 * once. On the simulated-clock harness: a pass is a tick of the event loop, not a timer.
 */
import test from 'ava';
import type { SectorRecordDraft } from '../../../src/db/sector-store.js';
import { BIG, type SchedulerHarness, schedulerHarness, workerInfo } from '../scheduler-harness.js';

const FILLER = { pieceCid: 'filler', pieceCidV2: '', paddedSize: 2048, payloadSize: 0 };
const passes = (h: SchedulerHarness) => h.root.getSnapshot().context.passes;
const tick = () => new Promise((r) => setImmediate(r));

async function pledge(h: SchedulerHarness, n: number) {
  for (let i = 0; i < n; i++) h.send({ type: 'scheduler.pledge' });
  await h.flush();
}

test('prepare steps that end in the same turn are followed by one pass, not one each', async (t) => {
  const h = schedulerHarness({ holdPrepare: true, workers: [workerInfo('w', { resources: { ...BIG, cpus: 4 } })] });
  t.teardown(() => h.stop());
  await pledge(h, 4);
  t.is(h.preparing.length, 4, 'four fillers in their prepare step');
  const before = passes(h);
  for (const p of h.preparing) p.prepared();
  t.is(h.runs.length, 4, 'each one\'s work started as soon as it was prepared: active had room');
  await h.flush();
  t.is(passes(h) - before, 1);
});

test('tasks that finish in the same turn are followed by one pass, which starts the next tasks of the queue', async (t) => {
  const h = schedulerHarness({ workers: [workerInfo('w', { resources: { ...BIG, cpus: 4 } })] });
  t.teardown(() => h.stop());
  await pledge(h, 20);
  const first = [...h.runs];
  t.deepEqual(first.map((r) => r.task.sector.number), [0, 1, 2, 3], 'four threads: four fillers run, four more are prepared');
  const before = passes(h);
  for (const r of first) r.finish({ ok: true, result: { type: 'AP', value: FILLER } });
  t.deepEqual(h.runs.slice(4).map((r) => r.task.sector.number), [4, 5, 6, 7], 'the prepared ones took the threads at once');
  await h.flush();
  t.is(passes(h) - before, 1);
  const w = h.workers().w!;
  t.deepEqual(
    w.prepared.map((id) => h.root.getSnapshot().context.calls[id]!.task.sector.number),
    [8, 9, 10, 11],
    'the pass started the next four in queue order; they wait for the threads',
  );
});

test('a finished task\'s successor that was prepared starts its work in the same turn, before any pass', async (t) => {
  const h = schedulerHarness({ workers: [workerInfo('w', { resources: { ...BIG, cpus: 1 } })] });
  t.teardown(() => h.stop());
  await pledge(h, 3);
  t.deepEqual(h.runs.map((r) => r.task.sector.number), [0], 'one thread: one filler runs, the next is prepared and waits for active');
  const before = passes(h);
  h.runs[0]!.finish({ ok: true, result: { type: 'AP', value: FILLER } });
  t.deepEqual(h.runs.map((r) => r.task.sector.number), [0, 1], 'its work started with the finish');
  t.is(passes(h), before, 'no pass yet');
  await tick();
  t.is(passes(h), before + 1, 'the pass of the turn');
  await h.flush();
  t.is(h.sectorState(0), 'GetTicket');
  t.deepEqual(h.runs.map((r) => r.task.sector.number), [0, 1]);
  t.is(h.workers().w!.prepared.length, 1, 'sector 2\'s filler started on that pass and waits for active');
});

test('restored sectors that ask for work at start are placed by one pass, not one per request', async (t) => {
  const records: SectorRecordDraft[] = Array.from({ length: 50 }, (_, number) => ({
    v: 2,
    miner: 1000,
    number,
    proofType: 0,
    state: 'PreCommit1',
    pieces: [{ pieceCid: 'filler', paddedOffset: 0, paddedSize: 2048, payloadSize: 0, filler: true }],
    packingRequested: true,
    counters: { preCommit2Fails: 0, invalidProofs: 0, retries: 0 },
    commD: 'commd-of-1',
    ticket: { value: 'aa'.repeat(32), epoch: 1 },
  }));
  const h = schedulerHarness({ records, workers: [workerInfo('w', { resources: { ...BIG, cpus: 2 } })] });
  t.teardown(() => h.stop());
  await h.flush();
  const pc1 = h.runs.filter((r) => r.task.type === 'PC1');
  t.deepEqual(pc1.map((r) => r.task.sector.number), [0, 1], 'two threads: the first two in queue order run');
  t.is(passes(h), 2, 'one pass placed all 50; one followed the first two being prepared');
});
