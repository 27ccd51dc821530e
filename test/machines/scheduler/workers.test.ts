/**
 * The scheduler's workers (docs/design/scheduler.md §1): several workers, each call started on the
 * one the pass chose, and what `scheduler.worker.connected` / `disconnected` and a runner's
 * WORKER_LOST do to their calls. On the simulated-clock harness.
 */
import test from 'ava';
import { schedDiag } from '../../../machines/scheduler/sched-views.js';
import type { TaskType } from '../../../src/tasks/task-types.js';
import { type SchedulerHarness, schedulerHarness, workerInfo } from '../scheduler-harness.js';

const TICKET = { value: 'aa'.repeat(32), epoch: 1 };
const PC1 = { replicaId: '11'.repeat(32), commDHex: '22'.repeat(32), ticket: 'aa'.repeat(32), layerDigests: ['33'.repeat(32)] };
const FILLER = { pieceCid: 'filler', pieceCidV2: '', paddedSize: 2048, payloadSize: 0 };
const ALWAYS: TaskType[] = ['C1', 'FIN', 'GET'];

/** A pledged 2 KiB sector packed and given a ticket: its PC1 is queued. */
async function pledgedToPc1(h: SchedulerHarness) {
  await h.request({ type: 'scheduler.pledge' });
  await h.finish('AP', FILLER);
  h.heldOf('chainGetTicket').resolve(TICKET);
  await h.flush();
}

const assignedOf = (h: SchedulerHarness) => Object.fromEntries(schedDiag(h.root.getSnapshot().context).requests.map((r) => [r.sector.number, r.assigned?.worker ?? null]));

test('each task starts on a worker whose task types include it, and the call records that worker', async (t) => {
  const h = schedulerHarness({ workers: [workerInfo('local', { taskTypes: ['AP', ...ALWAYS] }), workerInfo('sealer', { taskTypes: ['PC1', 'PC2'] })] });
  t.teardown(() => h.stop());
  await pledgedToPc1(h);
  t.is(h.run('AP').worker, 'local');
  const pc1 = h.run('PC1');
  t.is(pc1.worker, 'sealer');
  t.like(h.calls.get(pc1.callId), { state: 'running', worker: 'sealer', hostname: 'sealer-host' });
});

test('a task no connected worker runs waits in the queue, and starts when a worker that runs it connects', async (t) => {
  const h = schedulerHarness({ workers: [workerInfo('local', { taskTypes: ['AP', ...ALWAYS] })] });
  t.teardown(() => h.stop());
  await pledgedToPc1(h);
  t.is(h.runs.filter((r) => r.task.type === 'PC1').length, 0);
  t.deepEqual(assignedOf(h), { 0: null }, 'queued, in no window');
  h.connect(workerInfo('late', { taskTypes: ['PC1'] }));
  await h.flush();
  t.is(h.run('PC1').worker, 'late');
});

test('a disconnected worker\'s tasks not started yet go back to the queue and start elsewhere; its started call still ends with the result it returns', async (t) => {
  // one thread: the first filler holds the preparing pool, the second waits in a window
  const one = { cpus: 1, memPhysical: 2 ** 40, memSwap: 0, memReserved: 0, gpus: [] };
  const h = schedulerHarness({ holdPrepare: true, workers: [workerInfo('a', { resources: one })] });
  t.teardown(() => h.stop());
  await h.request({ type: 'scheduler.pledge' });
  await h.request({ type: 'scheduler.pledge' });
  t.deepEqual(
    h.preparing.map((p) => [p.task.sector.number, p.worker]),
    [[0, 'a']],
  );
  t.deepEqual(assignedOf(h), { 1: 'a' }, 'the second filler is in a window of a');

  await h.disconnect('a');
  t.deepEqual(assignedOf(h), { 1: null }, 'back in the queue, in no window');
  t.true(h.workers().a !== undefined && !h.workers().a!.connected, 'a is kept while its started call is open');

  h.connect(workerInfo('b', { resources: one }));
  await h.flush();
  t.deepEqual(
    h.preparing.map((p) => [p.task.sector.number, p.worker]),
    [
      [0, 'a'],
      [1, 'b'],
    ],
  );

  // the call started on a finishes there: its work runs and its result is applied
  h.preparing[0]!.prepared();
  await h.flush();
  const first = h.runs.find((r) => r.task.sector.number === 0)!;
  t.is(first.worker, 'a');
  first.finish({ ok: true, result: { type: 'AP', value: FILLER } });
  await h.flush();
  t.is(h.sectorState(0), 'GetTicket');
  t.is(h.workers().a, undefined, 'a is forgotten once none of its calls is left');
});

test('a started call whose worker is lost for good (WORKER_LOST) goes back to the queue under the same call id and runs elsewhere; its sector does not fail', async (t) => {
  const h = schedulerHarness({ workers: [workerInfo('local', { taskTypes: ['AP', ...ALWAYS] }), workerInfo('wa', { taskTypes: ['PC1'] })] });
  t.teardown(() => h.stop());
  await pledgedToPc1(h);
  const lost = h.run('PC1');
  t.is(lost.worker, 'wa');
  h.connect(workerInfo('wb', { taskTypes: ['PC1'] }));
  await h.disconnect('wa');
  t.is(h.runs.filter((r) => r.task.type === 'PC1').length, 1, 'a started call is left to its runner');

  lost.finish({ ok: false, error: { code: 'WORKER_LOST', message: 'worker wa did not come back' } });
  await h.flush();
  const again = h.run('PC1');
  t.not(again, lost);
  t.is(again.callId, lost.callId, 'the same call');
  t.is(again.worker, 'wb');
  t.like(h.calls.get(lost.callId), { state: 'running', worker: 'wb', attempts: 2 });
  t.is(h.sectorState(0), 'PreCommit1', 'the sector never heard of the lost worker');
  t.is(h.workers().wa, undefined);

  await h.finish('PC1', PC1);
  t.is(h.sectorState(0), 'PreCommit2');
  t.is(h.calls.list({ number: 0 }).filter((c) => c.task === 'PC1').length, 1, 'one PC1 call in all');
});

test('a worker that connects again keeps its operator flags and its started calls; task types it no longer runs are no longer disabled', async (t) => {
  const h = schedulerHarness({ workers: [workerInfo('local', { taskTypes: ['AP', ...ALWAYS] }), workerInfo('w', { taskTypes: ['PC1', 'PC2'] })] });
  t.teardown(() => h.stop());
  await pledgedToPc1(h);
  const pc1 = h.run('PC1');
  t.like(await h.request({ type: 'scheduler.worker.cordon', id: 'w' }), { ok: true, value: { kind: 'worker.updated', worker: 'w' } });
  t.like(await h.request({ type: 'scheduler.worker.disable', id: 'w', taskType: 'PC2' }), { ok: true });
  await h.disconnect('w');
  h.connect(workerInfo('w', { taskTypes: ['PC1'] }));
  await h.flush();
  const w = h.workers().w!;
  t.true(w.connected);
  t.true(w.cordoned, 'the operator\'s cordon outlives the connection');
  t.deepEqual(w.disabledTypes, [], 'PC2 is not run there any more, so not disabled either');
  t.deepEqual(Object.keys(w.started), [pc1.callId]);
  t.deepEqual(w.info.taskTypes, ['PC1'], 'the new info replaced the old');
});

test('controlling a worker the scheduler does not know is answered WORKER_UNKNOWN, a task type it does not run INVALID_ARGUMENT, and changes nothing', async (t) => {
  const h = schedulerHarness({ workers: [workerInfo('local', { taskTypes: ['AP', ...ALWAYS] })] });
  t.teardown(() => h.stop());
  t.like(await h.request({ type: 'scheduler.worker.cordon', id: 'nobody' }), { ok: false, error: { code: 'WORKER_UNKNOWN', message: 'no connected worker "nobody"' } });
  t.like(await h.request({ type: 'scheduler.worker.disable', id: 'local', taskType: 'PC1' }), {
    ok: false,
    error: { code: 'INVALID_ARGUMENT', message: 'worker local does not run PC1 (it runs AP, C1, FIN, GET)' },
  });
  const w = h.workers().local!;
  t.false(w.cordoned);
  t.deepEqual(w.disabledTypes, []);
});
