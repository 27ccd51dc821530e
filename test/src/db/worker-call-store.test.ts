import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { type Db, openDatabase } from '../../../src/db/database.js';
import { workerMigrations } from '../../../src/db/migrations.js';
import { WorkerCallStore } from '../../../src/db/worker-call-store.js';
import { CallStateInvalidError, CallUnknownError, InvalidArgumentError } from '../../../src/errors.js';
import type { Task } from '../../../src/tasks/task-types.js';

interface Ctx {
  dir: string;
  db: Db;
  store: WorkerCallStore;
}
const test = anyTest as TestFn<Ctx>;

const open = (dir: string) => openDatabase(join(dir, 'worker.db'), { migrations: workerMigrations });

test.beforeEach((t) => {
  const dir = mkdtempSync(join(tmpdir(), 'worker-calls-'));
  const db = open(dir);
  t.context = { dir, db, store: new WorkerCallStore(db, { now: () => 5 }) };
});
test.afterEach.always((t) => {
  t.context.db.close();
  rmSync(t.context.dir, { recursive: true, force: true });
});

const ID = (n: number) => `00000000-0000-4000-8000-${n.toString().padStart(12, '0')}`;
const pc2: Task = {
  type: 'PC2',
  sector: { miner: 1000, number: 3 },
  proofType: 5,
  priority: 0,
  input: { pc1: { replicaId: 'aa'.repeat(32), ticket: 'bb'.repeat(32), commDHex: 'cc'.repeat(32), layerDigests: [] } },
};

test('a successful result is recorded durably, not only a failure (Lotus records only failures)', (t) => {
  const { store, db, dir } = t.context;
  store.start(ID(1), pc2, 's1');
  store.finish(ID(1), { ok: true, result: { type: 'PC2', value: { commD: 'd', commR: 'r' } } });
  db.close();
  const reopened = open(dir);
  t.context.db = reopened;
  const again = new WorkerCallStore(reopened).get(ID(1));
  t.is(again?.state, 'done');
  t.deepEqual(again?.ret, { ok: true, result: { type: 'PC2', value: { commD: 'd', commR: 'r' } } });
  t.deepEqual(again?.task, pc2);
});

test('a call id held already is refused by name, so a re-sent call is never run twice', (t) => {
  const { store } = t.context;
  store.start(ID(1), pc2, 's1');
  const err = t.throws(() => store.start(ID(1), pc2, 's1'));
  t.true(err instanceof CallStateInvalidError);
  t.regex(err!.message, /held already \(it is running\)/);
});

test('a second result for a call is refused and the first one stays', (t) => {
  const { store } = t.context;
  store.start(ID(1), pc2, 's1');
  store.finish(ID(1), { ok: false, error: { code: 'ABORTED', message: 'stop' } });
  t.throws(() => store.finish(ID(1), { ok: true, result: { type: 'PC2', value: { commD: 'd', commR: 'r' } } }), { instanceOf: CallStateInvalidError });
  t.is(store.get(ID(1))?.ret?.ok, false);
  t.throws(() => store.finish(ID(2), { ok: false, error: { code: 'ABORTED', message: 'x' } }), { instanceOf: CallUnknownError });
});

test('malformed calls and results are refused before anything is written', (t) => {
  const { store } = t.context;
  t.throws(() => store.start('not-a-uuid', pc2, 's1'), { instanceOf: InvalidArgumentError });
  t.throws(() => store.start(ID(1), { ...pc2, type: 'XX' } as unknown as Task, 's1'), { instanceOf: InvalidArgumentError, message: /unknown type "XX"/ });
  store.start(ID(1), pc2, 's1');
  t.throws(() => store.finish(ID(1), { ok: false, error: { code: 'NOPE', message: 'x' } } as never), { instanceOf: InvalidArgumentError });
  t.is(store.get(ID(1))?.state, 'running');
});

test('at start, calls running in an earlier session are dropped and done ones are kept for delivery', (t) => {
  const { store } = t.context;
  store.start(ID(1), pc2, 'old');
  store.start(ID(2), pc2, 'old');
  store.finish(ID(2), { ok: true, result: { type: 'PC2', value: { commD: 'd', commR: 'r' } } });
  store.start(ID(3), pc2, 'new');
  const dropped = store.dropInterrupted('new');
  t.deepEqual(dropped.map((c) => c.callId), [ID(1)]);
  t.deepEqual(store.list().map((c) => [c.callId, c.state]), [[ID(2), 'done'], [ID(3), 'running']]);
  t.true(store.remove(ID(2)));
  t.false(store.remove(ID(2)));
});

test('the worker id is made once and kept; each start records its session and learns the previous one', (t) => {
  const { store } = t.context;
  const id = store.workerId();
  t.is(store.workerId(), id);
  t.is(store.beginSession('a'), undefined);
  t.is(store.beginSession('b'), 'a');
  t.throws(() => store.beginSession(''), { instanceOf: InvalidArgumentError });
});
