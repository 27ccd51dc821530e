/**
 * The scheduler's long-lived timers on the simulated clock: InitWait (no pass until reconnecting
 * workers had time to come back, Lotus `sched.go` InitWait) and the periodic re-read of the
 * storage paths' space.
 */
import test from 'ava';
import { allocBytes } from '../../../machines/scheduler/selectors.js';
import { FileType } from '../../../src/sector/sector-id.js';
import { HARNESS_PATH, schedulerHarness, workerInfo } from '../scheduler-harness.js';

const TICKET = { value: 'aa'.repeat(32), epoch: 1 };
const FILLER = { pieceCid: 'filler', pieceCidV2: '', paddedSize: 2048, payloadSize: 0 };

test('no task starts during InitWait; when it ends the first pass places the waiting tasks on the workers that came meanwhile', async (t) => {
  const h = schedulerHarness({ initWaitMs: 3_000, workers: [] });
  t.teardown(() => h.stop());
  await h.request({ type: 'scheduler.pledge' });
  h.connect(workerInfo('back', { hostname: 'back-host' }));
  await h.flush();
  h.clock.increment(2_999);
  await h.flush();
  t.is(h.runs.length, 0, 'nothing before InitWait is over');
  h.clock.increment(1);
  await h.flush();
  t.is(h.run('AP').worker, 'back');
});

test('InitWait counts again from the moment remote workers can connect, so a slow restore does not use it up', async (t) => {
  const h = schedulerHarness({ initWaitMs: 3_000, workers: [] });
  t.teardown(() => h.stop());
  await h.request({ type: 'scheduler.pledge' });
  // the daemon's restore took 2.5 s before it accepted workers
  h.clock.increment(2_500);
  h.root.send({ type: 'scheduler.workers.open' });
  await h.flush();
  h.clock.increment(2_999);
  h.connect(workerInfo('back', { hostname: 'back-host' }));
  await h.flush();
  t.is(h.runs.length, 0, 'still waiting: 2 999 ms since workers could connect');
  h.clock.increment(1);
  await h.flush();
  t.is(h.run('AP').worker, 'back');
  // once the passes run, the event changes nothing: the next task is placed at once, no new wait
  h.root.send({ type: 'scheduler.workers.open' });
  await h.flush();
  await h.request({ type: 'scheduler.pledge' });
  await h.flush();
  t.is(h.runs.filter((r) => r.task.type === 'AP').length, 2, 'the second pledge\'s AddPiece starts without waiting');
});

test('a task that waits for room on a path starts once the periodic re-read of the paths sees the space freed outside the scheduler', async (t) => {
  const pc1Bytes = allocBytes({ kind: 'alloc', types: FileType.sealed | FileType.cache, pathType: 'sealing' }, 2048);
  // room for the filler, not for PC1's files
  const h = schedulerHarness({ storageRefreshMs: 10_000, paths: [{ id: HARNESS_PATH, available: pc1Bytes - 1 }] });
  t.teardown(() => h.stop());
  await h.request({ type: 'scheduler.pledge' });
  await h.finish('AP', FILLER);
  h.heldOf('chainGetTicket').resolve(TICKET);
  await h.flush();
  t.is(h.runs.filter((r) => r.task.type === 'PC1').length, 0, 'PC1 waits: the path lacks the room');
  const stat = { Capacity: 2 ** 40, Available: 2 ** 40, FSAvailable: 2 ** 40, Reserved: 0, Max: 0, Used: 0 };
  h.catalog.storageReportHealth(HARNESS_PATH, { Stat: stat });
  h.clock.increment(9_999);
  await h.flush();
  t.is(h.runs.filter((r) => r.task.type === 'PC1').length, 0, 'not before the re-read');
  h.clock.increment(1);
  await h.flush();
  t.is(h.run('PC1').task.sector.number, 0);
});
