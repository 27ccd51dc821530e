/**
 * The worker registry of a running system (docs/design/scheduler.md §1): workers other than the
 * daemon's pool are registered with `workers.connect(info, runner)`, each call runs on the runner
 * of the worker the scheduler chose, with its call id, and a worker that goes away gives its
 * unstarted work back. The "remote" runners here run their tasks on the daemon's own pool (the
 * same process and storage path), which is all the scheduler can see of a worker.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestSystem } from '../helpers/test-system.js';
import anyTest, { type TestFn } from 'ava';
import type { DaemonSystemHandle, DaemonSystemOptions } from '../../actors/system.js';
import type { TaskRunner, TaskRunnerOptions } from '../../actors/worker-tasks.actor.js';
import { AbortedError, WorkerLostError } from '../../src/errors.js';
import { SealerPool } from '../../src/pool/pool.js';
import type { Task, TaskResult, TaskType } from '../../src/tasks/task-types.js';
import { type WorkerInfo, parseLocalTasks } from '../../src/tasks/worker-info.js';
import { localResources } from '../../src/worker/local-resources.js';

const P2K = 5; // StackedDrg2KiBV1_1
const FIXED = { ticket: '3c'.repeat(32), seed: 'd7'.repeat(32) };

interface Ctx {
  dir: string;
  systems: DaemonSystemHandle[];
  start(extra?: Partial<DaemonSystemOptions>): Promise<DaemonSystemHandle>;
}
const test = anyTest as TestFn<Ctx>;

let pool: SealerPool;
test.before(() => {
  pool = new SealerPool({ threads: 2 });
});
test.after.always(async () => {
  await pool.close();
});

test.beforeEach((t) => {
  const dir = mkdtempSync(join(tmpdir(), 'worker-registry-'));
  const systems: DaemonSystemHandle[] = [];
  t.context = {
    dir,
    systems,
    async start(extra = {}) {
      const d = await startTestSystem(t, dir, {
        pool,
        sealProof: P2K,
        localChain: { epochMs: 20, seedWaitEpochs: 1, fixedRandomness: FIXED },
        ...extra,
      });
      systems.push(d);
      return d;
    },
  };
});
test.afterEach.always(async (t) => {
  for (const d of t.context.systems) await d.stop();
  rmSync(t.context.dir, { recursive: true, force: true });
});

/** A worker that runs its tasks on the daemon's own pool, recording what it was given. */
function poolRunner(d: DaemonSystemHandle, id: string) {
  const seen: { callId: string; type: TaskType; step: 'prepare' | 'run' }[] = [];
  const runner: TaskRunner = {
    id,
    hostname: `${id}-host`,
    async prepare(task: Task, o: TaskRunnerOptions) {
      seen.push({ callId: o.callId, type: task.type, step: 'prepare' });
    },
    run(task: Task, o: TaskRunnerOptions): Promise<TaskResult> {
      seen.push({ callId: o.callId, type: task.type, step: 'run' });
      return d.worker.run(task, { signal: o.signal });
    },
  };
  return { runner, seen };
}

function infoOf(d: DaemonSystemHandle, id: string, taskTypes: TaskType[]): WorkerInfo {
  return {
    id,
    hostname: `${id}-host`,
    taskTypes,
    resources: localResources(2),
    ignoreResources: false,
    paths: d.localStore!.localPaths().map((p) => p.ID),
  };
}

async function waitForSector(d: DaemonSystemHandle, n: number, state: string): Promise<void> {
  for (let i = 0; i < 3000; i++) {
    const r = await d.sectors.sectorStatus(n).catch(() => undefined);
    if (r?.state === state) return;
    await new Promise((res) => setTimeout(res, 10));
  }
  throw new Error(`sector ${n} never reached ${state}`);
}

test.serial('each call of a pledged sector runs on the runner of a worker that takes its task type, and is told its call id', async (t) => {
  const d = await t.context.start({ localTasks: parseLocalTasks('AP') });
  const remote = poolRunner(d, 'remote-1');
  d.workers.connect(infoOf(d, 'remote-1', ['PC1', 'PC2', 'C2']), remote.runner);
  const n = await d.sectors.pledge();
  await waitForSector(d, n, 'Proving');

  const calls = await d.index.calls.list({ number: n });
  const byType = Object.fromEntries(calls.map((c) => [c.task, c]));
  for (const type of ['PC1', 'PC2', 'C2'] as const) {
    t.is(byType[type]?.worker, 'remote-1', `${type} ran on the remote worker`);
    t.is(byType[type]?.hostname, 'remote-1-host');
    t.deepEqual(
      remote.seen.filter((s) => s.type === type).map((s) => [s.step, s.callId]),
      [
        ['prepare', byType[type]!.callId],
        ['run', byType[type]!.callId],
      ],
      `${type}: prepared, then run, under its call id`,
    );
  }
  for (const type of ['AP', 'C1', 'FIN'] as const) t.is(byType[type]?.worker, 'local', `${type} ran on the local worker`);
  t.deepEqual(
    remote.seen.map((s) => s.type).filter((x) => !['PC1', 'PC2', 'C2'].includes(x)),
    [],
    'nothing else was sent to the remote worker',
  );
});

test.serial('connect refuses an info that does not check out, or a runner of another id, and registers nothing', async (t) => {
  const d = await t.context.start();
  const { runner } = poolRunner(d, 'w-1');
  const bad = { ...infoOf(d, 'w-1', ['PC1']), taskTypes: ['PC9'] } as unknown as WorkerInfo;
  t.throws(() => d.workers.connect(bad, runner), { code: 'INVALID_ARGUMENT', message: /worker w-1: task type must be one of/ });
  t.throws(() => d.workers.connect(infoOf(d, 'w-2', ['PC1']), runner), { code: 'INVALID_ARGUMENT', message: /the runner of worker w-2 has id w-1/ });
  t.throws(() => d.workers.connect(infoOf(d, 'w-1', ['PC1']), runner, { holds: [7] as unknown as string[] }), { code: 'INVALID_ARGUMENT', message: 'worker w-1: holds must be a list of call ids' });
  t.is(d.workers.runner('w-1'), undefined);
  t.deepEqual(
    d.workerService.states().map((w) => w.info.id),
    ['local'],
  );
});

test.serial('a worker that disconnects before its placed call starts gives it back: the call runs on another worker under the same id', async (t) => {
  // the local worker does not run PC1: it must go to a remote worker
  const d = await t.context.start({ localTasks: parseLocalTasks('AP,PC2,C2') });
  // the first worker takes PC1 and holds it in its prepare step until it is disconnected
  let releasePrepare!: () => void;
  const held = new Promise<void>((r) => {
    releasePrepare = r;
  });
  let preparing!: () => void;
  const inPrepare = new Promise<void>((r) => {
    preparing = r;
  });
  const first: TaskRunner & { seen: string[] } = {
    id: 'w-gone',
    hostname: 'gone-host',
    seen: [],
    async prepare(_task, o) {
      first.seen.push(o.callId);
      preparing();
      await held;
      throw new WorkerLostError(`worker w-gone went away during the prepare step of call ${o.callId}`);
    },
    run: () => Promise.reject(new AbortedError('never runs')),
  };
  d.workers.connect(infoOf(d, 'w-gone', ['PC1']), first);
  const n = await d.sectors.pledge();
  await inPrepare;
  t.is(Object.values(d.system.getSnapshot().context.calls).find((c) => c.task.type === 'PC1')?.phase, 'preparing');

  const second = poolRunner(d, 'w-next');
  d.workers.connect(infoOf(d, 'w-next', ['PC1']), second.runner);
  d.workers.disconnect('w-gone');
  t.is(d.workers.runner('w-gone'), undefined, 'the registry drops the runner');
  releasePrepare();
  await waitForSector(d, n, 'Proving');

  const pc1 = (await d.index.calls.list({ number: n })).filter((c) => c.task === 'PC1');
  t.is(pc1.length, 1, 'one PC1 call');
  t.is(pc1[0]!.callId, first.seen[0]!);
  t.is(pc1[0]!.worker, 'w-next');
  t.is(pc1[0]!.outcome, 'ok');
  t.deepEqual(
    second.seen.filter((s) => s.step === 'run').map((s) => s.callId),
    [pc1[0]!.callId],
  );
  t.false(
    d.workerService.states().some((w) => w.info.id === 'w-gone'),
    'the gone worker is forgotten once none of its calls is left',
  );
});

test.serial('the local worker registers with the pool\'s threads, this machine\'s memory, --ignore-resources and the *_MAX_CONCURRENT limits of the environment', async (t) => {
  process.env.PC1_2K_MAX_CONCURRENT = '1';
  process.env.C2_2K_MAX_CONCURRENT = '0';
  t.teardown(() => {
    delete process.env.PC1_2K_MAX_CONCURRENT;
    delete process.env.C2_2K_MAX_CONCURRENT;
  });
  const d = await t.context.start({ ignoreResources: true });
  const [local] = d.workerService.states();
  t.is(local?.info.id, 'local');
  t.is(local!.info.resources.cpus, 2, 'the pool\'s threads');
  t.true(local!.info.resources.memPhysical > 0);
  t.true(local!.info.ignoreResources);
  t.deepEqual(local!.info.limits, { PC1: 1 }, '0 is no limit');
  t.deepEqual(local!.info.paths, d.localStore!.localPaths().map((p) => p.ID));
});

test.serial('a *_MAX_CONCURRENT value that is not a count stops the start, naming the variable', async (t) => {
  process.env.PC2_2K_MAX_CONCURRENT = 'lots';
  t.teardown(() => {
    delete process.env.PC2_2K_MAX_CONCURRENT;
  });
  await t.throwsAsync(t.context.start(), { code: 'INVALID_ARGUMENT', message: 'PC2_2K_MAX_CONCURRENT="lots" must be a non-negative integer (0 = no limit)' });
});
