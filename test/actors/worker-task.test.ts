/**
 * The `workerTask` actor (actors/worker-task.actor.ts) between the scheduler and a runner: the
 * prepare step, the wait for `task.work`, the call id given to each step, aborts, and a runner
 * that is not there.
 */
import test from 'ava';
import { createActor, sendTo, setup } from 'xstate';
import type { SchedulerTaskEvent, TaskActorEvent } from '../../machines/protocol.js';
import { type TaskRunner, type TaskRunnerOptions, createWorkerTaskLogic } from '../../actors/worker-task.actor.js';
import type { Task, TaskResult } from '../../src/tasks/task-types.js';

const TASK = { type: 'C2', sector: { miner: 1000, number: 3 }, proofType: 5, priority: 0, input: {} } as unknown as Task;
const RESULT = { type: 'C2', value: { proof: 'ab' } } as unknown as TaskResult;

/** A parent that spawns one task actor, forwards `task.*` to it and records what it reports. */
function parentOf(runners: Map<string, TaskRunner>, worker = 'w') {
  const reports: SchedulerTaskEvent[] = [];
  const logic = createWorkerTaskLogic({ workers: runners, ready: Promise.resolve(), inflight: new Set() });
  const parent = setup({
    types: { events: {} as SchedulerTaskEvent | TaskActorEvent },
    actors: { workerTask: logic },
  }).createMachine({
    invoke: { id: 'task', src: 'workerTask', input: { callId: 'call-1', task: TASK, worker } },
    on: {
      'scheduler.task.prepared': { actions: ({ event }) => reports.push(event) },
      'scheduler.task.finished': { actions: ({ event }) => reports.push(event) },
      'task.work': { actions: sendTo('task', { type: 'task.work' }) },
      'task.abort': { actions: sendTo('task', { type: 'task.abort' }) },
    },
  });
  const actor = createActor(parent);
  actor.start();
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
  actor.send({ type: 'task.work' });
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
  actor.send({ type: 'task.abort' });
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
  actor.send({ type: 'task.work' });
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


test('stopping the actor of a call that has finished aborts nothing: its runner\'s abort listeners stay quiet', async (t) => {
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
  actor.send({ type: 'task.work' });
  for (let i = 0; i < 5; i++) await tick();
  t.is(reports.at(-1)?.type, 'scheduler.task.finished');
  actor.stop(); // as the scheduler stops the actor of every finished call
  for (let i = 0; i < 5; i++) await tick();
  t.false(signal?.aborted);
  t.is(abortsHeard, 0);
});
