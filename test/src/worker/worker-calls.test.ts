import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { type Db, openDatabase } from '../../../src/db/database.js';
import { workerMigrations } from '../../../src/db/migrations.js';
import { type WorkerCall, WorkerCallStore } from '../../../src/db/worker-call-store.js';
import { AbortedError, CallUnknownError, DaemonUnreachableError, type SectorStorageError } from '../../../src/errors.js';
import type { CallReturn } from '../../../src/tasks/calls.js';
import type { Task, TaskResult } from '../../../src/tasks/task-types.js';
import { WorkerCalls } from '../../../src/worker/worker-calls.js';
import { messageLogger } from '../../helpers/log-recorder.js';

interface Ctx {
  dir: string;
  db: Db;
  store: WorkerCallStore;
}
const test = anyTest as TestFn<Ctx>;

test.beforeEach((t) => {
  const dir = mkdtempSync(join(tmpdir(), 'worker-tracker-'));
  const db = openDatabase(join(dir, 'worker.db'), { migrations: workerMigrations });
  t.context = { dir, db, store: new WorkerCallStore(db) };
});
test.afterEach.always((t) => {
  t.context.db.close();
  rmSync(t.context.dir, { recursive: true, force: true });
});

const ID = (n: number) => `00000000-0000-4000-8000-${n.toString().padStart(12, '0')}`;
const fin: Task = { type: 'FIN', sector: { miner: 1000, number: 1 }, proofType: 5, priority: 0, input: { keepUnsealed: [] } };
const finResult: TaskResult = { type: 'FIN', value: { freedBytes: 0, removedFiles: 1 } };

/** A task body the test finishes by hand. */
function heldBody() {
  const runs = new Map<string, { resolve(r: TaskResult): void; reject(e: unknown): void; signal: AbortSignal }>();
  let n = 0;
  const body = {
    count: () => n,
    run(task: Task, o: { signal: AbortSignal }) {
      n++;
      return new Promise<TaskResult>((resolve, reject) => {
        runs.set(`${task.sector.number}`, { resolve, reject, signal: o.signal });
        o.signal.addEventListener('abort', () => reject(o.signal.reason), { once: true });
      });
    },
  };
  return { body, runs };
}

const tick = () => new Promise((r) => setTimeout(r, 5));

test('a result finished while no manager is connected is delivered on the next connection and deleted once acknowledged', async (t) => {
  const { body, runs } = heldBody();
  const calls = new WorkerCalls({ store: t.context.store, body, session: 's' });
  t.deepEqual(calls.accept(ID(1), fin), { held: false });
  runs.get('1')!.resolve(finResult);
  await tick();
  t.is(t.context.store.get(ID(1))?.state, 'done');
  t.deepEqual(calls.held(), { running: [], done: [ID(1)] });
  const delivered: CallReturn[] = [];
  calls.connect(async (c) => {
    delivered.push(c.ret);
  });
  await tick();
  t.deepEqual(delivered, [{ ok: true, result: finResult }]);
  t.is(t.context.store.get(ID(1)), undefined);
});

test('a call handed over twice is run once and answered as held the second time', async (t) => {
  const { body, runs } = heldBody();
  const calls = new WorkerCalls({ store: t.context.store, body, session: 's' });
  calls.accept(ID(1), fin);
  t.deepEqual(calls.accept(ID(1), fin), { held: true, state: 'running' });
  t.is(body.count(), 1);
  t.deepEqual(calls.held(), { running: [ID(1)], done: [] });
  runs.get('1')!.resolve(finResult);
  await tick();
  t.deepEqual(calls.accept(ID(1), fin), { held: true, state: 'done' });
  t.is(body.count(), 1);
});

test('a delivery that fails is tried again, and a result the manager refuses for good is dropped', async (t) => {
  const { body, runs } = heldBody();
  const logs: string[] = [];
  const calls = new WorkerCalls({ store: t.context.store, body, session: 's', retryMs: 10, log: messageLogger(logs) });
  let attempts = 0;
  calls.connect(async (c: WorkerCall) => {
    if (c.callId === ID(1) && ++attempts < 3) throw new DaemonUnreachableError('connection reset');
    if (c.callId === ID(2)) throw new CallUnknownError(`no call ${c.callId}`);
  });
  calls.accept(ID(1), fin);
  calls.accept(ID(2), { ...fin, sector: { miner: 1000, number: 2 } });
  runs.get('1')!.resolve(finResult);
  runs.get('2')!.resolve(finResult);
  for (let i = 0; i < 50 && t.context.store.list().length > 0; i++) await tick();
  t.deepEqual(t.context.store.list(), []);
  t.is(attempts, 3, 'delivered on the third attempt');
  t.true(logs.some((l) => /refused the result of call .* for good/.test(l)));
});

test('an aborted call reports ABORTED as its result; stopping the worker records nothing, so the call is dropped at the next start', async (t) => {
  const { body } = heldBody();
  const calls = new WorkerCalls({ store: t.context.store, body, session: 's1' });
  calls.accept(ID(1), fin);
  calls.accept(ID(2), { ...fin, sector: { miner: 1000, number: 2 } });
  t.true(calls.abort(ID(1)));
  t.false(calls.abort(ID(9)));
  await tick();
  t.like(t.context.store.get(ID(1))?.ret, { ok: false, error: { code: 'ABORTED' } });
  await calls.close();
  t.is(t.context.store.get(ID(2))?.state, 'running', 'shutdown is not an abort');
  t.throws(() => calls.accept(ID(3), fin), { instanceOf: AbortedError });
  t.deepEqual(t.context.store.dropInterrupted('s2').map((c) => c.callId), [ID(2)]);
});

test('waitQuiet resolves once no call runs', async (t) => {
  const { body, runs } = heldBody();
  const calls = new WorkerCalls({ store: t.context.store, body, session: 's' });
  await calls.waitQuiet();
  calls.accept(ID(1), fin);
  let quiet = false;
  const q = calls.waitQuiet().then(() => {
    quiet = true;
  });
  await tick();
  t.false(quiet);
  runs.get('1')!.resolve(finResult);
  await q;
  t.true(quiet);
});

test("a call's prepare step runs the body's prepare (not recorded, abortable through abort()), and its progress and the run's reach the connection at most every 500 ms", async (t) => {
  const reports: string[] = [];
  let prepareSignal: AbortSignal | undefined;
  const body = {
    async prepare(_task: Task, o: { signal: AbortSignal; onProgress?: (p: { phase: string; done: number; total: number }) => void }) {
      prepareSignal = o.signal;
      o.onProgress?.({ phase: 'fetch sealed', done: 1, total: 0 });
      o.onProgress?.({ phase: 'fetch sealed', done: 2, total: 0 }); // within 500 ms of the first: not sent
      await new Promise((resolve, reject) => {
        o.signal.addEventListener('abort', () => reject(o.signal.reason), { once: true });
        setTimeout(resolve, 50);
      });
    },
    async run(_task: Task, o: { signal: AbortSignal; onProgress?: (p: { phase: string; done: number; total: number }) => void }) {
      o.onProgress?.({ phase: 'fin', done: 1, total: 1 });
      return finResult;
    },
  };
  const logged: string[] = [];
  const calls = new WorkerCalls({ store: t.context.store, body, session: 's', log: messageLogger(logged) });
  calls.connect(
    async () => {},
    (callId, sector, p) => reports.push(`${callId.slice(-1)} ${sector.number} ${p.phase} ${p.done}`),
  );
  await calls.prepare(ID(7), fin, new AbortController().signal);
  t.is(t.context.store.get(ID(7)), undefined, 'a prepare step records nothing');
  const aborted = calls.prepare(ID(8), fin, new AbortController().signal);
  await tick();
  t.true(calls.abort(ID(8)));
  t.is((await t.throwsAsync<SectorStorageError>(aborted))?.code, 'ABORTED');
  t.true(prepareSignal?.aborted);
  t.true(logged.some((l) => l.startsWith(`the prepare step of call ${ID(8)} (FIN of s-t0`) && l.endsWith('stopped: aborted by the manager')), logged.join('\n'));
  calls.accept(ID(7), fin);
  await tick();
  t.deepEqual(reports, ['7 1 fetch sealed 1', '8 1 fetch sealed 1', '7 1 fin 1']);
  await calls.close();
});

test('a prepare step asked for again while the first still stops (the manager restarted) waits for it and then runs, instead of failing the call', async (t) => {
  const started: string[] = [];
  const body = {
    async prepare(_task: Task, o: { signal: AbortSignal }) {
      started.push(o.signal.aborted ? 'aborted' : 'live');
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, 40);
        // a fetch stops at its next chunk, not at once
        o.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          setTimeout(() => reject(o.signal.reason), 30);
        }, { once: true });
      });
    },
    async run() {
      return finResult;
    },
  };
  const calls = new WorkerCalls({ store: t.context.store, body, session: 's' });
  const oldConnection = new AbortController();
  const first = calls.prepare(ID(9), fin, oldConnection.signal);
  await tick();
  oldConnection.abort(new AbortedError('the connection closed'));
  const second = calls.prepare(ID(9), fin, new AbortController().signal);
  t.is((await t.throwsAsync<SectorStorageError>(first))?.code, 'ABORTED');
  await t.notThrowsAsync(second, 'the second request is answered once its own step ran');
  t.deepEqual(started, ['live', 'live'], 'the step ran again, after the first one had stopped');

  // a request that is itself aborted while it waits ends ABORTED; the step it waited for goes on
  const third = calls.prepare(ID(10), fin, new AbortController().signal);
  await tick();
  const gone = new AbortController();
  const fourth = calls.prepare(ID(10), fin, gone.signal);
  gone.abort();
  t.is((await t.throwsAsync<SectorStorageError>(fourth))?.code, 'ABORTED');
  await t.notThrowsAsync(third);
  t.is(started.length, 3);
  await calls.close();
});
