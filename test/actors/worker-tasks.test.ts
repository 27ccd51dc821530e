/**
 * The `workerTasks` actor (actors/worker-tasks.actor.ts) between the scheduler and the runners:
 * the prepare step, the wait for `task.work`, the call id given to each step, aborts, a runner
 * that is not there, calls kept apart, and a finished call forgotten.
 */
import test from 'ava';
import { createActor, sendTo, setup } from 'xstate';
import type { SchedulerTaskEvent, TaskActorEvent } from '../../machines/protocol.js';
import { type TaskRunner, type TaskRunnerOptions, createWorkerTasksLogic } from '../../actors/worker-tasks.actor.js';
import type { Task, TaskResult } from '../../src/tasks/task-types.js';

const TASK = { type: 'C2', sector: { miner: 1000, number: 3 }, proofType: 5, priority: 0, input: {} } as unknown as Task;
const RESULT = { type: 'C2', value: { proof: 'ab' } } as unknown as TaskResult;

type Command = { type: 'work' | 'abort'; callId?: string } | { type: 'start'; callId: string };

/**
 * A parent that invokes the actor, starts call-1 on `worker`, forwards `work` / `abort` (of call-1
 * unless named) and `start` of further calls, and records what the actor reports.
 */
function parentOf(runners: Map<string, TaskRunner>, worker = 'w') {
  const reports: SchedulerTaskEvent[] = [];
  const logic = createWorkerTasksLogic({ workers: runners, ready: Promise.resolve(), inflight: new Set() });
  const parent = setup({
    types: { events: {} as SchedulerTaskEvent | Command },
    actors: { workerTasks: logic },
  }).createMachine({
    invoke: { id: 'tasks', src: 'workerTasks' },
    on: {
      'scheduler.task.prepared': { actions: ({ event }) => reports.push(event) },
      'scheduler.task.finished': { actions: ({ event }) => reports.push(event) },
      work: { actions: sendTo('tasks', ({ event }) => ({ type: 'task.work', callId: event.callId ?? 'call-1' }) satisfies TaskActorEvent) },
      abort: { actions: sendTo('tasks', ({ event }) => ({ type: 'task.abort', callId: event.callId ?? 'call-1' }) satisfies TaskActorEvent) },
      start: { actions: sendTo('tasks', ({ event }) => ({ type: 'task.start', call: { callId: event.callId!, task: TASK, worker } }) satisfies TaskActorEvent) },
    },
  });
  const actor = createActor(parent);
  actor.start();
  actor.send({ type: 'start', callId: 'call-1' });
  return { actor, reports };
}

const tick = () => new Promise((r) => setImmediate(r));

test('the work runs only after the prepare step reported and task.work arrived, and both steps get the call id', async (t) => {
  const steps: string[] = [];
  const runner: TaskRunner = {
    id: 'w',
    hostname: 'h',
    async prepare(_task, o: TaskRunnerOptions) {
      steps.push(`prepare ${o.callId}`);
    },
    async run(_task, o: TaskRunnerOptions) {
      steps.push(`run ${o.callId}`);
      return RESULT;
    },
  };
  const { actor, reports } = parentOf(new Map([['w', runner]]));
  t.teardown(() => actor.stop());
  for (let i = 0; i < 5; i++) await tick();
  t.deepEqual(steps, ['prepare call-1']);
  t.deepEqual(reports, [{ type: 'scheduler.task.prepared', callId: 'call-1' }]);
  actor.send({ type: 'work' });
  for (let i = 0; i < 5; i++) await tick();
  t.deepEqual(steps, ['prepare call-1', 'run call-1']);
  t.deepEqual(reports.at(-1), { type: 'scheduler.task.finished', callId: 'call-1', ret: { ok: true, result: RESULT } });
});

test('a call whose worker has no runner any more ends WORKER_LOST, so the scheduler queues it again', async (t) => {
  const { actor, reports } = parentOf(new Map(), 'gone');
  t.teardown(() => actor.stop());
  for (let i = 0; i < 5; i++) await tick();
  t.is(reports.length, 1);
  t.like(reports[0], { type: 'scheduler.task.finished', callId: 'call-1', ret: { ok: false, error: { code: 'WORKER_LOST' } } });
});

test('an abort while the prepared call waits for task.work ends it ABORTED without running it', async (t) => {
  let ran = false;
  const runner: TaskRunner = {
    id: 'w',
    hostname: 'h',
    run: async () => {
      ran = true;
      return RESULT;
    },
  };
  const { actor, reports } = parentOf(new Map([['w', runner]]));
  t.teardown(() => actor.stop());
  for (let i = 0; i < 5; i++) await tick();
  actor.send({ type: 'abort' });
  for (let i = 0; i < 5; i++) await tick();
  t.false(ran);
  t.like(reports.at(-1), { type: 'scheduler.task.finished', ret: { ok: false, error: { code: 'ABORTED' } } });
});

test('stopping the actor aborts the running step\'s signal and reports nothing', async (t) => {
  let signal: AbortSignal | undefined;
  const runner: TaskRunner = {
    id: 'w',
    hostname: 'h',
    run: (_task, o) =>
      new Promise((_, reject) => {
        signal = o.signal;
        o.signal.addEventListener('abort', () => reject(o.signal.reason), { once: true });
      }),
  };
  const { actor, reports } = parentOf(new Map([['w', runner]]));
  for (let i = 0; i < 5; i++) await tick();
  actor.send({ type: 'work' });
  for (let i = 0; i < 5; i++) await tick();
  t.false(signal?.aborted);
  actor.stop();
  for (let i = 0; i < 5; i++) await tick();
  t.true(signal?.aborted);
  t.deepEqual(
    reports.map((r) => r.type),
    ['scheduler.task.prepared'],
  );
});


test('a finished call is forgotten: stopping the actor later aborts nothing, and a late abort is ignored', async (t) => {
  let signal: AbortSignal | undefined;
  let abortsHeard = 0;
  const runner: TaskRunner = {
    id: 'w',
    hostname: 'h',
    run: async (_task, o) => {
      signal = o.signal;
      // a runner that would tell its remote worker to cancel the call, and never removes the listener
      o.signal.addEventListener('abort', () => abortsHeard++);
      return RESULT;
    },
  };
  const { actor, reports } = parentOf(new Map([['w', runner]]));
  for (let i = 0; i < 5; i++) await tick();
  actor.send({ type: 'work' });
  for (let i = 0; i < 5; i++) await tick();
  t.is(reports.at(-1)?.type, 'scheduler.task.finished');
  actor.send({ type: 'abort' });
  actor.stop(); // shutdown
  for (let i = 0; i < 5; i++) await tick();
  t.false(signal?.aborted);
  t.is(abortsHeard, 0);
  t.is(reports.length, 2, 'nothing more was reported');
});

test('calls run side by side, each on its own signal: an abort or a stop reaches only the calls still running', async (t) => {
  const signals = new Map<string, AbortSignal>();
  const release = new Map<string, () => void>();
  const runner: TaskRunner = {
    id: 'w',
    hostname: 'h',
    run: (_task, o) =>
      new Promise((resolve, reject) => {
        signals.set(o.callId, o.signal);
        release.set(o.callId, () => resolve(RESULT));
        o.signal.addEventListener('abort', () => reject(o.signal.reason), { once: true });
      }),
  };
  const { actor, reports } = parentOf(new Map([['w', runner]]));
  actor.send({ type: 'start', callId: 'call-2' });
  actor.send({ type: 'start', callId: 'call-3' });
  for (let i = 0; i < 5; i++) await tick();
  t.deepEqual(reports.map((r) => r.callId).sort(), ['call-1', 'call-2', 'call-3'], 'each prepared');
  for (const callId of ['call-1', 'call-2', 'call-3']) actor.send({ type: 'work', callId });
  for (let i = 0; i < 5; i++) await tick();
  actor.send({ type: 'abort', callId: 'call-2' });
  release.get('call-1')!();
  for (let i = 0; i < 5; i++) await tick();
  t.deepEqual(
    reports.slice(3).map((r) => (r.type === 'scheduler.task.finished' ? `${r.callId} ${r.ret.ok ? 'ok' : r.ret.error.code}` : r.type)).sort(),
    ['call-1 ok', 'call-2 ABORTED'],
  );
  t.false(signals.get('call-3')!.aborted, 'the abort of call-2 left call-3 running');
  actor.stop();
  for (let i = 0; i < 5; i++) await tick();
  t.true(signals.get('call-3')!.aborted, 'the stop aborted the call still running');
  t.false(signals.get('call-1')!.aborted, 'and not the one that had finished');
  t.is(reports.length, 5, 'a stop reports nothing');
});

test('a call that ended WORKER_LOST can start again under the same call id (the scheduler queues it again)', async (t) => {
  const runners = new Map<string, TaskRunner>();
  const { actor, reports } = parentOf(runners, 'late');
  t.teardown(() => actor.stop());
  for (let i = 0; i < 5; i++) await tick();
  t.like(reports.at(-1), { type: 'scheduler.task.finished', callId: 'call-1', ret: { ok: false, error: { code: 'WORKER_LOST' } } });
  runners.set('late', { id: 'late', hostname: 'h', run: async () => RESULT });
  actor.send({ type: 'start', callId: 'call-1' });
  for (let i = 0; i < 5; i++) await tick();
  actor.send({ type: 'work' });
  for (let i = 0; i < 5; i++) await tick();
  t.deepEqual(reports.at(-1), { type: 'scheduler.task.finished', callId: 'call-1', ret: { ok: true, result: RESULT } });
});
