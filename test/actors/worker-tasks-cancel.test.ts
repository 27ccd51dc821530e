/**
 * The daemon's abort path reaches the native sealer. A tracked call runs in the scheduler's `tasks`
 * actor (actors/worker-tasks.actor.ts) on the local worker; `sealing abort` and `sectors remove`
 * send it `task.abort` for the call, shutdown stops the actor. Either way its AbortSignal sets the pool task's shared cancel
 * flag, which the native PC1 labeller and PC2's Poseidon calls poll while they run. These tests
 * run real PC1 and PC2 calls of an 8 MiB sector (the smallest whose native calls last long enough
 * to be stopped in the middle) and check that the native call itself returned "cancelled" soon
 * after the abort (well within the uninterrupted work's time in the same run; milliseconds on an
 * idle machine), on the same pool thread (the pool's terminate fallback is set to a minute, so a
 * terminated thread could neither stop in time nor keep its thread id), and that the aborted
 * PC1's checkpoint is resumed to layers byte-identical to an uninterrupted run's.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { assign, createActor, sendTo, setup, waitFor } from 'xstate';
import type { SchedulerTaskEvent, TaskActorEvent } from '../../machines/protocol.js';
import { createWorkerTasksLogic, type TaskRunner } from '../../actors/worker-tasks.actor.js';
import type { TaskProgress } from '../../src/lifecycle/task-context.js';
import { SealerPool } from '../../src/pool/pool.js';
import { CacheFile, sectorFilePath } from '../../src/sector/layout.js';
import { readCheckpoint } from '../../src/seal/pc1-checkpoint.js';
import type { CallReturn } from '../../src/tasks/calls.js';
import type { Pc1Result, Task, TaskOf, TaskOutputs } from '../../src/tasks/task-types.js';
import { hex } from '../helpers/bytes.js';
import { assertStoppedEarly } from '../helpers/cancel-later.js';
import { MINER, PROOF_8M, task, type WorkerFixture, workerFixture } from '../src/worker/worker-fixture.js';

const SIZE = 8 << 20;
const SECTOR = { miner: MINER, number: 3 };
const TICKET = hex(new Uint8Array(32).fill(0x3c));

interface Ctx {
  /** The worker whose calls are aborted. */
  f: WorkerFixture;
  /** The same sector sealed without interruption on another worker (its own paths). */
  ref: { f: WorkerFixture; pc1: Pc1Result; pc1Ms: number; pc2: TaskOutputs['PC2']; pc2Ms: number };
  pc1Task: TaskOf<'PC1'>;
  threadId: number;
}
const test = anyTest as TestFn<Ctx>;

let pool: SealerPool;

/** A zero-filled (committed-capacity) 8 MiB sector's AP and its PC1 task. */
async function pledged(f: WorkerFixture): Promise<TaskOf<'PC1'>> {
  const ap = await f.run(task('AP', SECTOR, { paddedOffset: 0, pieceSize: SIZE, payloadSize: SIZE - SIZE / 128, source: { type: 'zeros' } }, PROOF_8M));
  return task('PC1', SECTOR, { ticket: TICKET, pieces: [{ pieceCid: ap.pieceCid, paddedSize: SIZE }] }, PROOF_8M);
}

async function poolThread(): Promise<number> {
  return (await pool.run('nativeInfo', {})).threadId;
}

test.before(async (t) => {
  // one thread, so every task runs on the same one; a minute before a cancelled task's thread is terminated
  pool = new SealerPool({ threads: 1, cancelGraceMs: 60_000 });
  const refF = await workerFixture(pool);
  const refPc1Task = await pledged(refF);
  const pc1Start = performance.now();
  const pc1 = await refF.run(refPc1Task);
  const pc1Ms = performance.now() - pc1Start;
  const pc2Start = performance.now();
  const pc2 = await refF.run(task('PC2', SECTOR, { pc1 }, PROOF_8M));
  const pc2Ms = performance.now() - pc2Start;
  const f = await workerFixture(pool);
  t.context = { f, ref: { f: refF, pc1, pc1Ms, pc2, pc2Ms }, pc1Task: await pledged(f), threadId: await poolThread() };
});

test.after.always(async (t) => {
  t.context.f?.close();
  t.context.ref?.f.close();
  await pool?.close();
});

/** What the scheduler hears from its `workerTask` child, and when. */
interface Finished {
  ret: CallReturn;
  at: number;
}

/**
 * A stand-in for the scheduler around its `tasks` child (actors/worker-tasks.actor.ts) running one
 * call: the call's `scheduler.task.prepared` is answered with `task.work`, `abort` forwards
 * `task.abort`, `stop` stops the child (what the daemon's shutdown does), and the call's
 * `scheduler.task.finished` is recorded. The runner is the fixture's LocalWorker, with a
 * progress sink added so the test can choose the moment of the abort.
 */
function schedulerOf(f: WorkerFixture, callTask: Task, onProgress: (p: TaskProgress) => void) {
  const inflight = new Set<Promise<unknown>>();
  const runner: TaskRunner = {
    id: 'local',
    hostname: f.worker.hostname,
    run: (tk, options) => f.worker.run(tk, { signal: options.signal, onProgress }),
  };
  const workerTasks = createWorkerTasksLogic({ workers: new Map([['local', runner]]), ready: Promise.resolve(), inflight });
  const machine = setup({
    types: {} as { context: { finished?: Finished }; events: SchedulerTaskEvent | { type: 'abort' } | { type: 'stop' } },
    actors: { workerTasks },
  }).createMachine({
    context: {},
    initial: 'running',
    states: {
      running: {
        invoke: { id: 'tasks', src: 'workerTasks' },
        on: {
          // the active pool has room at once: the prepared call may run
          'scheduler.task.prepared': { actions: sendTo('tasks', { type: 'task.work', callId: 'call-1' } satisfies TaskActorEvent) },
          abort: { actions: sendTo('tasks', { type: 'task.abort', callId: 'call-1' } satisfies TaskActorEvent) },
          stop: 'stopped',
          'scheduler.task.finished': { target: 'stopped', actions: assign({ finished: ({ event }) => ({ ret: event.ret, at: performance.now() }) }) },
        },
      },
      stopped: {},
    },
  });
  const actor = createActor(machine).start();
  actor.getSnapshot().children.tasks?.send({ type: 'task.start', call: { callId: 'call-1', task: callTask, worker: 'local' } } satisfies TaskActorEvent);
  const [run] = [...inflight];
  if (!run) throw new Error('the tasks child did not start the call');
  return { actor, run, inflight };
}

test.serial('sealing abort of a running PC1 stops its native labeller mid-layer at once on the same pool thread, and the next PC1 resumes to the same layers', async (t) => {
  const { f, pc1Task } = t.context;
  let abortedAt = 0;
  const s = schedulerOf(f, pc1Task, (p) => {
    // layer 1 is written and checkpointed; the first chunk of layer 2 is labelled
    if (!abortedAt && p.phase === 'pc1' && p.detail === 'layer 2/2') {
      abortedAt = performance.now();
      s.actor.send({ type: 'abort' });
    }
  });
  const { finished } = (await waitFor(s.actor, (snap) => snap.context.finished !== undefined, { timeout: 120_000 })).context;
  t.truthy(abortedAt, 'the abort came from the progress of layer 2');
  if (!finished || finished.ret.ok) return t.fail('the aborted PC1 returned a result');
  t.is(finished.ret.error.code, 'ABORTED');
  // the native labeller's own error: not the handler's check between chunks ("task cancelled"),
  // not the pool's fallback ("its thread was terminated")
  t.is(finished.ret.error.message, 'labelling of layer 2 cancelled');
  // a layer takes about half of the whole uninterrupted PC1
  assertStoppedEarly(t, finished.at - abortedAt, t.context.ref.pc1Ms / 2, 'PC1');
  t.is(await poolThread(), t.context.threadId, 'the pool thread that ran PC1 runs the next task');
  t.deepEqual(f.locks.list().flatMap((l) => l.holders), [], 'the aborted call let go of its lock');

  const cacheDir = sectorFilePath(f.sealRoot, 'cache', SECTOR);
  t.deepEqual((await readCheckpoint(cacheDir))?.done.map((d) => d.layer), [1], 'the checkpoint names layer 1 only');
  t.false(readdirSync(cacheDir).includes(CacheFile.layer(2)), 'layer 2 was not written');

  const resumed = await f.run(pc1Task);
  t.true(f.logs.some((l) => l.includes('resumed after 1 of 2 layers')), f.logs.join('\n'));
  t.deepEqual(resumed, t.context.ref.pc1, 'the same PC1 result as the uninterrupted run');
  const refCache = sectorFilePath(t.context.ref.f.sealRoot, 'cache', SECTOR);
  for (const layer of [1, 2]) {
    const name = CacheFile.layer(layer);
    t.true(readFileSync(join(cacheDir, name)).equals(readFileSync(join(refCache, name))), `${name} is byte-identical to the uninterrupted run's`);
  }
});

test.serial('a daemon stopping during PC2 stops its native Poseidon work at once on the same pool thread, leaves no output, and PC2 then seals the same CommR', async (t) => {
  const { f, ref, pc1Task } = t.context;
  // PC1 of this sector is complete after the test above (this only checks its checkpoint)
  const pc1 = await f.run(pc1Task);
  const pc2Task = task('PC2', SECTOR, { pc1 }, PROOF_8M);
  const cacheDir = sectorFilePath(f.sealRoot, 'cache', SECTOR);
  const before = readdirSync(cacheDir).sort();
  let timer: NodeJS.Timeout | undefined;
  let stoppedAt = 0;
  const s = schedulerOf(f, pc2Task, (p) => {
    // the layers are verified; PC2's one 8 MiB chunk is in its column hashes and tree rows
    if (p.phase === 'layer-check' && p.done === p.total && !timer) {
      timer = setTimeout(() => {
        stoppedAt = performance.now();
        s.actor.send({ type: 'stop' });
      }, 300);
    }
  });
  const error = await s.run.then(
    () => undefined,
    (err: unknown) => err as Error & { code?: string },
  );
  const stopMs = performance.now() - stoppedAt;
  await Promise.allSettled([...s.inflight]);
  t.truthy(stoppedAt, 'the daemon stopped while PC2 ran');
  t.is(s.actor.getSnapshot().context.finished, undefined, 'a stopped call reports nothing (it is queued again on restart)');
  t.is(error?.code, 'ABORTED', String(error));
  t.regex(error?.message ?? '', /^(column hashes|Poseidon tree row) cancelled$/, 'the native Poseidon call returned cancelled');
  assertStoppedEarly(t, stopMs, ref.pc2Ms, 'PC2');
  t.is(await poolThread(), t.context.threadId, 'the pool thread that ran PC2 runs the next task');
  t.deepEqual(readdirSync(cacheDir).sort(), before, 'no tree, p_aux, t_aux or temporary file is left');
  t.deepEqual(f.locks.list().flatMap((l) => l.holders), [], 'the stopped call let go of its lock');

  const again = await f.run(pc2Task);
  t.deepEqual(again, ref.pc2, 'the next PC2 seals the CommD and CommR of the uninterrupted run');
});
