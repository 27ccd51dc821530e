/**
 * The scheduler's workers (docs/design/scheduler.md §1): several workers, each call started on the
 * one the pass chose, and what `scheduler.worker.connected` / `disconnected` and a runner's
 * WORKER_LOST do to their calls. On the simulated-clock harness.
 */
import test from 'ava';
import { openDatabase } from '../../../src/db/database.js';
import { callPlacements, schedDiag, workerStates } from '../../../machines/scheduler/sched-views.js';
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

const ONE = { cpus: 1, memPhysical: 2 ** 40, memSwap: 0, memReserved: 0, gpus: [] };
const preparingOn = (h: SchedulerHarness) => h.preparing.map((p) => [p.task.sector.number, p.worker]);

test('a task waiting in a busy worker\'s window starts on a worker that is free as soon as there is one (Lotus leaves it in the busy worker\'s window: fixed)', async (t) => {
  const h = schedulerHarness({ holdPrepare: true, workers: [workerInfo('a', { resources: ONE })] });
  t.teardown(() => h.stop());
  await h.request({ type: 'scheduler.pledge' });
  await h.request({ type: 'scheduler.pledge' });
  t.deepEqual(assignedOf(h), { 1: 'a' });
  h.connect(workerInfo('b', { resources: ONE }));
  await h.flush();
  t.deepEqual(preparingOn(h), [
    [0, 'a'],
    [1, 'b'],
  ]);
  t.deepEqual(assignedOf(h), {});
});

test('a worker prepares its next task while its active pool is busy, and starts its work once the pool has room', async (t) => {
  const h = schedulerHarness({ holdPrepare: true, workers: [workerInfo('a', { resources: ONE })] });
  t.teardown(() => h.stop());
  await h.request({ type: 'scheduler.pledge' });
  h.preparing[0]!.prepared();
  await h.flush();
  t.is(h.runs.length, 1, 'the first filler works');
  await h.request({ type: 'scheduler.pledge' });
  t.deepEqual(preparingOn(h), [
    [0, 'a'],
    [1, 'a'],
  ], 'the second prepares meanwhile: preparing and active are separate pools');
  h.preparing[1]!.prepared();
  await h.flush();
  t.is(h.runs.length, 1, 'prepared, it waits for room in active');
  t.is(h.root.getSnapshot().context.calls[h.preparing[1]!.callId]?.phase, 'preparing');
  await h.finish('AP', FILLER);
  t.deepEqual(
    h.runs.map((r) => r.task.sector.number),
    [0, 1],
  );
  t.like(h.calls.get(h.preparing[1]!.callId), { state: 'running', worker: 'a' });
});

test('cordon drains a worker: its started work finishes, its unstarted tasks go back to the queue, nothing new starts there until uncordon', async (t) => {
  const h = schedulerHarness({ holdPrepare: true, workers: [workerInfo('a', { resources: ONE })] });
  t.teardown(() => h.stop());
  await h.request({ type: 'scheduler.pledge' });
  await h.request({ type: 'scheduler.pledge' });
  t.like(await h.request({ type: 'scheduler.worker.cordon', id: 'a' }), { ok: true });
  t.deepEqual(assignedOf(h), { 1: null }, 'the unstarted filler is back in the queue');
  h.preparing[0]!.prepared();
  await h.flush();
  await h.finish('AP', FILLER);
  t.is(h.sectorState(0), 'GetTicket', 'started work finished');
  t.is(h.preparing.length, 1, 'nothing new started on the cordoned worker');
  t.like(await h.request({ type: 'scheduler.worker.uncordon', id: 'a' }), { ok: true });
  t.deepEqual(preparingOn(h), [
    [0, 'a'],
    [1, 'a'],
  ]);
});

test('disabling a task type on a worker sends that type elsewhere; disabling the whole worker gives back its unstarted tasks', async (t) => {
  const h = schedulerHarness({ workers: [workerInfo('a'), workerInfo('b', { taskTypes: ['AP', ...ALWAYS] }, )] });
  t.teardown(() => h.stop());
  t.like(await h.request({ type: 'scheduler.worker.disable', id: 'a', taskType: 'AP' }), { ok: true });
  await h.request({ type: 'scheduler.pledge' });
  t.is(h.run('AP').worker, 'b');
  await h.finish('AP', FILLER);
  t.like(await h.request({ type: 'scheduler.worker.disable', id: 'a' }), { ok: true });
  h.heldOf('chainGetTicket').resolve(TICKET);
  await h.flush();
  t.deepEqual(assignedOf(h), { 0: null }, 'PC1 waits: only the disabled worker runs it');
  t.like(await h.request({ type: 'scheduler.worker.enable', id: 'a' }), { ok: true });
  t.is(h.run('PC1').worker, 'a');
});

test('a task that needs a sector\'s files that are on no storage path fails FILE_NOT_FOUND naming them, instead of waiting in the queue for ever (Lotus waits: fixed)', async (t) => {
  const h = schedulerHarness();
  await pledgedToPc1(h);
  await h.finish('PC1', PC1);
  const record = structuredClone(h.saves.at(-1)!.record);
  t.is(record.state, 'PreCommit2');
  h.stop();
  // a new database: the catalog lists no file of the sector anywhere
  const r = schedulerHarness({ records: [record], nextNumber: 1 });
  t.teardown(() => r.stop());
  await r.flush();
  const pc2 = r.calls.list({ number: 0 }).find((c) => c.task === 'PC2')!;
  t.like(pc2, { state: 'returned', outcome: 'failed' });
  t.is(pc2.returned?.ok, false);
  const error = pc2.returned?.ok === false ? pc2.returned.error : undefined;
  t.is(error?.code, 'FILE_NOT_FOUND');
  t.regex(error?.message ?? '', /the sealed\+cache files of s-t01000-0 are on no storage path: no worker can run PC2/);
  t.is(r.sectorState(0), 'SealPreCommit2Failed');
});

test('the jobs view puts a started call under its worker with RunWait 0 and a window\'s call with RunWait window + 1', async (t) => {
  const h = schedulerHarness({ holdPrepare: true, workers: [workerInfo('a', { resources: ONE })] });
  t.teardown(() => h.stop());
  await h.request({ type: 'scheduler.pledge' });
  await h.request({ type: 'scheduler.pledge' });
  const [first, second] = h.calls.open().sort((x, y) => x.sector.number - y.sector.number);
  t.deepEqual(callPlacements(h.root.getSnapshot().context), { [first!.callId]: { worker: 'a', runWait: 0 }, [second!.callId]: { worker: 'a', runWait: 1 } });
  const states = workerStates(h.root.getSnapshot().context);
  t.like(states[0], { connected: true, enabled: true, cordoned: false, windows: [[second!.callId], []], started: [{ callId: first!.callId, type: 'AP', stage: 'preparing' }] });
  t.like(states[0]!.preparing, { cpuUse: 1 });
});

/** PC1 of sector 0 running on worker `remote` when the daemon stops; the restarted scheduler (InitWait 3 s) has only `local` at first. */
async function restartedWithPc1OnRemote(t: import('ava').ExecutionContext) {
  const db = openDatabase(':memory:');
  const h = schedulerHarness({ db, workers: [workerInfo('local', { taskTypes: ['AP', ...ALWAYS] }), workerInfo('remote', { taskTypes: ['PC1'] })] });
  await pledgedToPc1(h);
  const pc1 = h.run('PC1');
  t.is(pc1.worker, 'remote');
  const record = structuredClone(h.saves.at(-1)!.record);
  h.stop();
  const r = schedulerHarness({ db, records: [record], nextNumber: 1, initWaitMs: 3_000, workers: [workerInfo('local')] });
  t.teardown(() => r.stop());
  await r.flush();
  return { r, pc1 };
}

test('after a daemon restart a call a reconnecting worker still holds runs on that worker again under its id, even cordoned, not elsewhere', async (t) => {
  const { r, pc1 } = await restartedWithPc1OnRemote(t);
  r.connect(workerInfo('remote', { taskTypes: ['PC1'], resources: ONE, limits: { PC1: 1 } }), [pc1.callId, 'a-call-nobody-knows']);
  await r.flush();
  t.like(await r.request({ type: 'scheduler.worker.cordon', id: 'remote' }), { ok: true });
  r.clock.increment(3_000);
  await r.flush();
  const again = r.run('PC1');
  t.is(again.callId, pc1.callId);
  t.is(again.worker, 'remote');
  t.is(r.runs.filter((x) => x.task.type === 'PC1').length, 1, 'it did not run on the idle local worker');
  await r.finish('PC1', PC1);
  t.is(r.sectorState(0), 'PreCommit2');
  t.deepEqual(r.root.getSnapshot().context.heldBy, {}, 'nothing is left held');
});

test('after a daemon restart a call whose worker does not come back (or no longer holds it) runs on any worker once InitWait is over', async (t) => {
  const { r, pc1 } = await restartedWithPc1OnRemote(t);
  r.connect(workerInfo('remote', { taskTypes: ['PC1'] }), []);
  r.clock.increment(3_000);
  await r.flush();
  const again = r.run('PC1');
  t.is(again.callId, pc1.callId);
  t.is(again.worker, 'local', 'placed by the pass (the tie goes to the first worker id)');
});
