import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import Database from 'better-sqlite3';
import { CallStateInvalidError, CallUnknownError, InternalError, InvalidArgumentError } from '../../../src/errors.js';
import { CallStore } from '../../../src/db/call-store.js';
import { type Db, openDatabase } from '../../../src/db/database.js';
import { migrations } from '../../../src/db/migrations.js';
import { type SectorRecordDraft, SectorStore } from '../../../src/db/sector-store.js';
import type { CallReturn } from '../../../src/tasks/calls.js';
import type { Task } from '../../../src/tasks/task-types.js';
import { workIdOf } from '../../../src/tasks/work-id.js';

interface Ctx {
  dir: string;
  db: Db;
  clock: { t: number };
  calls: CallStore;
}
const test = anyTest as TestFn<Ctx>;

test.beforeEach((t) => {
  const dir = mkdtempSync(join(tmpdir(), 'call-store-'));
  const db = openDatabase(join(dir, 'db.sqlite'));
  const clock = { t: 1000 };
  t.context = { dir, db, clock, calls: new CallStore(db, { now: () => clock.t }) };
});
test.afterEach.always((t) => {
  t.context.db.close();
  rmSync(t.context.dir, { recursive: true, force: true });
});

const HEX = (b: number) => b.toString(16).padStart(2, '0').repeat(32);

function pc1(number = 1, miner = 1000): Task {
  return {
    type: 'PC1',
    sector: { miner, number },
    proofType: 5,
    priority: 1024,
    input: { ticket: HEX(1), pieces: [{ pieceCid: 'baga-a', paddedSize: 1024 }, { pieceCid: 'baga-b', paddedSize: 1024 }] },
  };
}

const PC1_OK: CallReturn = { ok: true, result: { type: 'PC1', value: { replicaId: HEX(2), commDHex: HEX(3), ticket: HEX(6), layerDigests: [HEX(4), HEX(5)] } } };
const FAILED: CallReturn = { ok: false, error: { code: 'CACHE_CORRUPT', message: 'layer 2 is short' } };

/** Starts a call of `task` with a fresh id. */
function start(t: { context: Ctx }, task: Task = pc1()): string {
  const callId = randomUUID();
  t.context.calls.start({ callId, workId: workIdOf(task), task });
  return callId;
}

/** A call brought to `state` by the transitions that lead there. */
function callIn(t: { context: Ctx }, state: 'started' | 'running' | 'done' | 'returned', number = 1): string {
  const { calls } = t.context;
  const id = start(t, pc1(number));
  if (state === 'started') return id;
  calls.run(id, 'local');
  if (state === 'running') return id;
  calls.finish(id, PC1_OK);
  if (state === 'done') return id;
  calls.markReturned([id]);
  return id;
}

test('a call moves started → running → done → returned, each step stamped', (t) => {
  const { calls, clock } = t.context;
  const task = pc1();
  const callId = randomUUID();
  const started = calls.start({ callId, workId: workIdOf(task), task });
  t.like(started, { callId, workId: workIdOf(task), sector: { miner: 1000, number: 1 }, task: 'PC1', state: 'started', priority: 1024, attempts: 0, createdAt: 1000 });
  t.deepEqual(started.input, task);
  clock.t = 2000;
  t.like(calls.run(callId, 'local', 'host-a'), { state: 'running', worker: 'local', hostname: 'host-a', attempts: 1, startedAt: 2000 });
  clock.t = 3000;
  const done = calls.finish(callId, PC1_OK);
  t.like(done, { state: 'done', outcome: 'ok', finishedAt: 3000 });
  t.deepEqual(done.returned, PC1_OK);
  clock.t = 4000;
  calls.markReturned([callId]);
  t.like(calls.get(callId), { state: 'returned', outcome: 'ok', returnedAt: 4000 });
  t.is(calls.get(randomUUID()), undefined);
});

test('a queued call can be finished without running (an abort), and a failure keeps its error', (t) => {
  const { calls } = t.context;
  const queued = start(t);
  const aborted = calls.finish(queued, { ok: false, error: { code: 'ABORTED', message: 'sealing abort' } }, 'aborted');
  t.like(aborted, { state: 'done', outcome: 'aborted', attempts: 0 });
  t.is(aborted.startedAt, undefined);
  const running = callIn(t, 'running', 2);
  t.like(calls.finish(running, FAILED), { state: 'done', outcome: 'failed', returned: FAILED });
});

test('a running call whose process died is re-queued under the same id and counts its dispatches', (t) => {
  const { calls } = t.context;
  const id = callIn(t, 'running');
  t.like(calls.requeue(id), { callId: id, state: 'started', attempts: 1 });
  t.like(calls.run(id, 'local'), { state: 'running', attempts: 2 });
  t.like(calls.finish(id, PC1_OK), { state: 'done', attempts: 2 });
});

test('a second result for the same call is refused as already reported, and the first one stays', (t) => {
  const { calls } = t.context;
  const id = callIn(t, 'done');
  const err = t.throws(() => calls.finish(id, FAILED), { instanceOf: CallStateInvalidError });
  t.is(err.message, `cannot finish call ${id}: it is done (already reported: ok), not started or running`);
  t.deepEqual(calls.get(id)?.returned, PC1_OK);
  t.is(calls.get(id)?.outcome, 'ok');
});

test('every transition from a state that does not allow it is refused by name, changing nothing', (t) => {
  const { calls } = t.context;
  const ops: Record<string, { from: string[]; apply: (id: string) => unknown }> = {
    run: { from: ['started'], apply: (id) => calls.run(id, 'local') },
    finish: { from: ['started', 'running'], apply: (id) => calls.finish(id, PC1_OK) },
    requeue: { from: ['running'], apply: (id) => calls.requeue(id) },
    return: { from: ['done'], apply: (id) => calls.markReturned([id]) },
    close: { from: ['started', 'running', 'done'], apply: (id) => calls.close(id) },
  };
  let n = 0;
  for (const state of ['started', 'running', 'done', 'returned'] as const) {
    for (const [name, op] of Object.entries(ops)) {
      const id = callIn(t, state, 100 + n++);
      const before = calls.get(id);
      if (op.from.includes(state)) {
        t.notThrows(() => op.apply(id), `${name} from ${state}`);
        continue;
      }
      const err = t.throws(() => op.apply(id), { instanceOf: CallStateInvalidError }, `${name} from ${state}`);
      t.true(err.message.startsWith(`cannot ${name} call ${id}: it is ${state}`), err.message);
      t.true(err.message.endsWith(`not ${op.from.join(' or ')}`), err.message);
      t.deepEqual(calls.get(id), before, `${name} from ${state} changed nothing`);
    }
  }
});

test('a transition of a call that does not exist is refused as CALL_UNKNOWN naming it', (t) => {
  const { calls } = t.context;
  const id = randomUUID();
  const unknown = { instanceOf: CallUnknownError, message: `call ${id} does not exist` };
  t.throws(() => calls.run(id, 'local'), unknown);
  t.throws(() => calls.finish(id, PC1_OK), unknown);
  t.throws(() => calls.requeue(id), unknown);
  t.throws(() => calls.markReturned([id]), unknown);
  t.throws(() => calls.close(id), unknown);
});

test('close ends an open call nobody will apply as interrupted, a finished one keeping its result, and a failed one its outcome', (t) => {
  const { calls, clock } = t.context;
  const queued = callIn(t, 'started', 1);
  const running = callIn(t, 'running', 2);
  const done = callIn(t, 'done', 3);
  clock.t = 9000;
  t.like(calls.close(queued), { state: 'returned', outcome: 'interrupted', finishedAt: 9000, returnedAt: 9000 });
  t.like(calls.close(running), { state: 'returned', outcome: 'interrupted', finishedAt: 9000 });
  const closedDone = calls.close(done);
  t.like(closedDone, { state: 'returned', outcome: 'interrupted', finishedAt: 1000, returnedAt: 9000 }, 'not ok: its sector never applied it');
  t.deepEqual(closedDone.returned, PC1_OK);
  const failed = callIn(t, 'running', 4);
  calls.finish(failed, FAILED);
  t.like(calls.close(failed), { state: 'returned', outcome: 'failed', returned: FAILED }, 'a failure stays a failure');
  t.deepEqual(calls.open(), []);
});

test('start refuses a reused call id, a second open call for the same work, and malformed calls', (t) => {
  const { calls } = t.context;
  const task = pc1();
  const first = start(t, task);
  t.throws(() => calls.start({ callId: first, workId: 'PC1(other)', task: pc1(9) }), {
    instanceOf: CallStateInvalidError,
    message: `call ${first} already exists (it is started); call ids are never reused`,
  });
  t.throws(() => calls.start({ callId: randomUUID(), workId: workIdOf(task), task }), {
    instanceOf: CallStateInvalidError,
    message: `work ${workIdOf(task)} already has an open call ${first} (it is started)`,
  });
  calls.run(first, 'local');
  calls.finish(first, FAILED);
  calls.markReturned([first]);
  const retry = start(t, task);
  t.is(calls.openForWork(workIdOf(task))?.callId, retry, 'once the first call is returned, the work can be asked again');
  const bad = (call: unknown, message: RegExp) =>
    t.throws(() => calls.start(call as Parameters<CallStore['start']>[0]), { instanceOf: InvalidArgumentError, message });
  bad({ callId: 'abc', workId: 'w', task }, /call id "abc" is not a lowercase uuid/);
  bad({ callId: randomUUID().toUpperCase(), workId: 'w', task }, /not a lowercase uuid/);
  bad({ callId: randomUUID(), workId: '', task }, /work id must be a non-empty string/);
  bad({ callId: randomUUID(), workId: 'w', task: { ...task, type: 'PC3' } }, /unknown type "PC3"/);
  bad({ callId: randomUUID(), workId: 'w', task: { ...task, sector: { miner: -1, number: 1 } } }, /sector is not/);
  bad({ callId: randomUUID(), workId: 'w', task: { ...task, priority: 1.5 } }, /priority must be an integer/);
  bad({ callId: randomUUID(), workId: 'w', task: { ...task, input: null } }, /has no input/);
  t.is(calls.list().length, 2, 'nothing else was recorded');
});

test('finish refuses malformed results and outcomes that contradict them, writing nothing', (t) => {
  const { calls } = t.context;
  const id = callIn(t, 'running');
  const bad = (ret: unknown, outcome: unknown, message: RegExp) =>
    t.throws(() => calls.finish(id, ret as CallReturn, outcome as 'ok'), { instanceOf: InvalidArgumentError, message });
  bad({ ok: true }, undefined, /a result must be/);
  bad({ ok: true, result: { type: 'PC9', value: {} } }, undefined, /a result must be/);
  bad({ ok: false, error: { code: 'NOPE', message: 'x' } }, undefined, /a result must be/);
  bad({ ok: false, error: { code: 'INTERNAL' } }, undefined, /a result must be/);
  bad({ ok: true, result: { type: 'PC1', value: { n: 1n } } }, undefined, /not JSON-serialisable/);
  bad(PC1_OK, 'failed', /outcome failed does not match a result with ok: true/);
  bad(FAILED, 'ok', /outcome ok does not match a result with ok: false/);
  bad(FAILED, 'interrupted', /outcome must be ok, failed or aborted/);
  t.throws(() => calls.finish(id, { ok: true, result: { type: 'C2', value: { proof: 'AA==', sha256: HEX(1), prover: 'x' } } }), {
    instanceOf: InvalidArgumentError,
    message: `call ${id} is a PC1 call; it cannot take a C2 result`,
  });
  t.like(calls.get(id), { state: 'running' });
  t.is(calls.get(id)?.returned, undefined);
});

test('open lists every call not returned, oldest first, and openForWork finds the open call of a work', (t) => {
  const { calls, clock } = t.context;
  const ids: string[] = [];
  for (const state of ['done', 'returned', 'started', 'running'] as const) {
    clock.t += 10;
    ids.push(callIn(t, state, ids.length));
  }
  t.deepEqual(
    calls.open().map((c) => [c.callId, c.state]),
    [
      [ids[0], 'done'],
      [ids[2], 'started'],
      [ids[3], 'running'],
    ],
  );
  t.is(calls.openForWork(workIdOf(pc1(2)))?.callId, ids[2]);
  t.is(calls.openForWork(workIdOf(pc1(1))), undefined, 'a returned call is not open');
});

test('list filters by miner, sector, states and limit, newest first, and refuses bad filters', (t) => {
  const { calls, clock } = t.context;
  const a = callIn(t, 'returned', 1);
  clock.t = 2000;
  const b = callIn(t, 'running', 2);
  clock.t = 3000;
  const c = start(t, pc1(1, 2000));
  clock.t = 4000;
  const d = start(t, { type: 'FIN', sector: { miner: 1000, number: 1 }, proofType: 5, priority: 0, input: { keepUnsealed: [] } });
  const ids = (f: Parameters<CallStore['list']>[0]) => calls.list(f).map((r) => r.callId);
  t.deepEqual(ids({}), [d, c, b, a]);
  t.deepEqual(ids({ miner: 1000 }), [d, b, a]);
  t.deepEqual(ids({ miner: 1000, number: 1 }), [d, a], 'every call ever made for a sector');
  t.deepEqual(ids({ states: ['running', 'started'] }), [d, c, b]);
  t.deepEqual(ids({ states: [] }), [d, c, b, a]);
  t.deepEqual(ids({ limit: 2 }), [d, c]);
  t.deepEqual(ids({ limit: 0 }), []);
  t.throws(() => calls.list({ limit: Number.NaN }), { instanceOf: InvalidArgumentError, message: /limit must be a non-negative integer/ });
  t.throws(() => calls.list({ miner: -1 }), { instanceOf: InvalidArgumentError, message: /miner/ });
  t.throws(() => calls.list({ states: ['gone' as never] }), { instanceOf: InvalidArgumentError, message: 'not a call state: "gone"' });
});

test('findByPrefix finds the one call a prefix names, and refuses ambiguous, unknown and malformed prefixes', (t) => {
  const { calls } = t.context;
  const ids = ['aaaaaaaa-0000-4000-8000-000000000001', 'aaaaaaaa-0000-4000-8000-000000000002', 'bbbbbbbb-0000-4000-8000-000000000003'] as const;
  for (const [i, callId] of ids.entries()) calls.start({ callId, workId: `PC1(${i})`, task: pc1(i) });
  t.is(calls.findByPrefix(ids[0]).callId, ids[0]);
  t.is(calls.findByPrefix('aaaaaaaa-0000-4000-8000-000000000002').callId, ids[1]);
  t.is(calls.findByPrefix('b').callId, ids[2]);
  t.is(calls.findByPrefix('BBBB').callId, ids[2], 'a prefix is read case-insensitively');
  t.throws(() => calls.findByPrefix('aaaa'), { instanceOf: CallUnknownError, message: 'more than one call id starts with "aaaa"; give more of it' });
  t.throws(() => calls.findByPrefix('cc'), { instanceOf: CallUnknownError, message: 'no call id starts with "cc"' });
  for (const bad of ['', 'xyz', 'aa%', 'aa_', `${ids[0]}0`, ' aa']) {
    t.throws(() => calls.findByPrefix(bad), { instanceOf: InvalidArgumentError, message: /is not a call id or a prefix of one/ }, JSON.stringify(bad));
  }
});

test('inputs and results round-trip through the database as they were handed in', (t) => {
  const { calls } = t.context;
  const tasks: Task[] = [
    pc1(),
    { type: 'AP', sector: { miner: 1000, number: 2 }, proofType: 5, priority: 0, input: { paddedOffset: 0, pieceSize: 1024, payloadSize: 1000, source: { type: 'zeros' } } },
    { type: 'C1', sector: { miner: 1000, number: 3 }, proofType: 5, priority: 0, input: { ticket: HEX(1), seed: HEX(2), commD: 'baga-d', commR: 'bagb-r' } },
    { type: 'UNS', sector: { miner: 1000, number: 4 }, proofType: 5, priority: 7, input: { range: { offset: 0, size: 127 }, ticket: HEX(3), commD: 'baga-d' } },
  ];
  const results: CallReturn[] = [
    PC1_OK,
    { ok: true, result: { type: 'AP', value: { pieceCid: 'baga-p', pieceCidV2: 'bafk-p', paddedSize: 1024, payloadSize: 1000 } } },
    { ok: true, result: { type: 'C1', value: { sha256: HEX(9), bytes: 123_456_789 } } },
    { ok: false, error: { code: 'RANGE_NOT_ALLOCATED', message: 'range 0+127 "quoted" \u00e9' } },
  ];
  const ids = tasks.map((task) => start(t, task));
  for (const [i, id] of ids.entries()) calls.finish(id, results[i]!);
  t.context.db.close();
  t.context.db = openDatabase(join(t.context.dir, 'db.sqlite'));
  const reopened = new CallStore(t.context.db);
  ids.forEach((id, i) => {
    const r = reopened.get(id);
    t.deepEqual(r?.input, tasks[i]);
    t.deepEqual(r?.returned, results[i]);
    t.is(r?.workId, workIdOf(tasks[i]!));
  });
});

test('a damaged call row is refused by name', (t) => {
  const id = callIn(t, 'started');
  t.context.db.prepare("UPDATE calls SET input = '{' WHERE call_id = ?").run(id);
  t.throws(() => t.context.calls.get(id), { instanceOf: InternalError, message: `call ${id} has an input that is not JSON` });
});

// ---- markReturned in the sector record's transaction

function record(state: SectorRecordDraft['state']): SectorRecordDraft {
  return {
    v: 2,
    miner: 1000,
    number: 1,
    proofType: 5,
    state,
    pieces: [],
    packingRequested: false,
    counters: { preCommit2Fails: 0, invalidProofs: 0, retries: 0 },
  };
}

test('a sector record that applies a call not done is refused, and the record, its log and the other calls roll back together', (t) => {
  const { calls, db } = t.context;
  const sectors = new SectorStore(db, { calls, now: () => 5000 });
  sectors.save(record('PreCommit1'), { log: [{ kind: 'event;sealing.SectorTicket', message: '{}' }] });
  const done = callIn(t, 'done', 1);
  const running = callIn(t, 'running', 2);
  const err = t.throws(
    () => sectors.save(record('PreCommit2'), { applied: [done, running], log: [{ kind: 'event;sealing.SectorPreCommit1', message: '{}' }] }),
    { instanceOf: CallStateInvalidError },
  );
  t.is(err.message, `cannot return call ${running}: it is running, not done`);
  t.is(sectors.get(1000, 1)?.state, 'PreCommit1', 'the record was not written');
  t.is(sectors.log(1000, 1).length, 1, 'nor its log entry');
  t.is(calls.get(done)?.state, 'done', 'nor the mark of the call that was done');
  const unknown = randomUUID();
  t.throws(() => sectors.save(record('PreCommit2'), { applied: [done, unknown] }), { instanceOf: CallUnknownError, message: `call ${unknown} does not exist` });
  t.is(calls.get(done)?.state, 'done');

  calls.finish(running, PC1_OK);
  const saved = sectors.save(record('PreCommit2'), { applied: [done, running], log: [{ kind: 'event;sealing.SectorPreCommit1', message: '{}' }] });
  t.is(saved.state, 'PreCommit2');
  t.like(calls.get(done), { state: 'returned', returnedAt: 1000 });
  t.like(calls.get(running), { state: 'returned' });
  t.throws(() => sectors.save(record('PreCommitting'), { applied: [done] }), { instanceOf: CallStateInvalidError, message: /it is returned/ }, 'a result is applied once');
});

test('markReturned marks all of its calls or none', (t) => {
  const { calls } = t.context;
  const done = callIn(t, 'done', 1);
  const started = callIn(t, 'started', 2);
  t.throws(() => calls.markReturned([done, started]), { instanceOf: CallStateInvalidError });
  t.is(calls.get(done)?.state, 'done');
  t.throws(() => calls.markReturned('x' as never), { instanceOf: InvalidArgumentError });
});

test('a sector store without a call store refuses to apply calls', (t) => {
  const sectors = new SectorStore(t.context.db);
  const done = callIn(t, 'done', 1);
  t.throws(() => sectors.save(record('WaitDeals'), { applied: [done] }), { instanceOf: InternalError, message: /no call store/ });
  t.is(sectors.get(1000, 1), undefined);
  t.throws(() => new SectorStore(t.context.db, { calls: t.context.calls }).save(record('WaitDeals'), { applied: [3 as never] }), {
    instanceOf: InvalidArgumentError,
    message: 'save: applied must be an array of call ids',
  });
});

test('a run in a PC1 batch records the batch; a later run alone clears it; a bad batch id is refused', (t) => {
  const { calls } = t.context;
  const id = randomUUID();
  calls.start({ callId: id, workId: workIdOf(pc1()), task: pc1() });
  t.throws(() => calls.run(id, 'local', 'h', ''), { instanceOf: InvalidArgumentError, message: /batch must be a non-empty string/ });
  const batch = randomUUID();
  t.like(calls.run(id, 'local', 'h', batch), { state: 'running', batch });
  t.is(calls.get(id)?.batch, batch);
  calls.requeue(id);
  t.is(calls.run(id, 'local', 'h').batch, undefined, 'the second attempt ran alone');
});

test('a database from before PC1 batches gains the batch column; its calls have none', (t) => {
  const path = join(t.context.dir, 'v8.sqlite');
  const old = new Database(path);
  old.exec(migrations.slice(0, 8).join('\n'));
  old.pragma('user_version = 8');
  old
    .prepare(
      `INSERT INTO calls (call_id, work_id, miner, number, task, state, priority, input, attempts, created_at)
       VALUES (?, ?, 1000, 1, 'PC1', 'started', 1024, ?, 0, 5)`,
    )
    .run('00000000-0000-4000-8000-000000000001', workIdOf(pc1()), JSON.stringify(pc1()));
  old.close();
  const db = openDatabase(path);
  try {
    t.is(db.pragma('user_version', { simple: true }), migrations.length);
    const store = new CallStore(db);
    const before = store.get('00000000-0000-4000-8000-000000000001');
    t.like(before, { state: 'started', task: 'PC1' });
    t.false(before !== undefined && 'batch' in before);
    t.like(store.run('00000000-0000-4000-8000-000000000001', 'local', 'h', 'b-1'), { state: 'running', batch: 'b-1' });
  } finally {
    db.close();
  }
});
