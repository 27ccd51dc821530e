import { ChainStore } from '../../src/db/chain-store.js';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { type Actor, type ActorRef, type ActorRefFrom, type Snapshot, assign, createActor, fromCallback, sendTo, setup } from 'xstate';
import { createIndexActor, type IndexActor, type IndexClient } from '../../actors/index.actor.js';
import { type DaemonSystem, type IndexCall, type IndexEvent, type IndexResult, type IndexResults, NO_REPLY } from '../../machines/protocol.js';
import { AbortedError, InvalidArgumentError, SectorRecordInvalidError } from '../../src/errors.js';
import { StorageCatalog } from '../../src/db/storage-catalog.js';
import type { CatalogClient } from '../../src/storage/catalog-client.js';
import { CallStore } from '../../src/db/call-store.js';
import { type Db, openDatabase } from '../../src/db/database.js';
import { type SectorRecord, type SectorRecordDraft, SectorStore } from '../../src/db/sector-store.js';
import { ShardStore } from '../../src/db/shard-store.js';
import type { IndexStores } from '../../src/db/stores.js';
import { CounterStore, TEST_STORES } from '../helpers/test-stores.js';
import { StoreThread } from '../../src/db/store-thread.js';
import type { Task } from '../../src/tasks/task-types.js';

type TestStores = IndexStores & { counters: CounterStore };

interface Ctx {
  dir: string;
  db: Db;
  index: IndexActor<TestStores>;
  actor: Actor<IndexActor<TestStores>['logic']>;
  client: IndexClient<TestStores>;
  /** Outermost transactions run by the actor. */
  commits: { n: number };
  errors: unknown[];
}
const test = anyTest as TestFn<Ctx>;

/** Counts the outermost transactions the actor opens (nested ones are savepoints). */
function countingDb(db: Db, commits: { n: number }): Db {
  return new Proxy(db, {
    get(target, prop, receiver) {
      if (prop !== 'transaction') return Reflect.get(target, prop, receiver);
      return (fn: (...a: unknown[]) => unknown) => {
        const tx = target.transaction(fn);
        return (...args: unknown[]) => {
          if (!target.inTransaction) commits.n++;
          return tx(...args);
        };
      };
    },
  });
}

function storesOf(db: Db, now = () => 42): TestStores {
  const calls = new CallStore(db, { now });
  return { catalog: new StorageCatalog(db), sectors: new SectorStore(db, { now, calls }), calls, chain: new ChainStore(db), shards: new ShardStore(db, { now }), counters: new CounterStore(db) };
}

test.beforeEach((t) => {
  const dir = mkdtempSync(join(tmpdir(), 'index-actor-'));
  const db = openDatabase(join(dir, 'db.sqlite'));
  const commits = { n: 0 };
  const errors: unknown[] = [];
  const index = createIndexActor({ db: countingDb(db, commits), stores: storesOf(db), onError: (err) => errors.push(err) });
  const actor = createActor(index.logic, { systemId: 'index' }).start();
  t.context = { dir, db, index, actor, client: index.client(actor.system as DaemonSystem), commits, errors };
});
test.afterEach.always((t) => {
  t.context.actor.stop();
  t.context.db.close();
  rmSync(t.context.dir, { recursive: true, force: true });
});

function draft(number: number, state: SectorRecordDraft['state'] = 'WaitDeals'): SectorRecordDraft {
  return {
    v: 2,
    miner: 1000,
    number,
    proofType: 5,
    state,
    pieces: [],
    packingRequested: false,
    counters: { preCommit2Fails: 0, invalidProofs: 0, retries: 0 },
  };
}

function readOnly(t: { context: Ctx }): Db {
  return openDatabase(join(t.context.dir, 'db.sqlite'), { readonly: true });
}

function counterOf(t: { context: Ctx }, name: string): number {
  const ro = readOnly(t);
  try {
    return (ro.prepare('SELECT n FROM test_counters WHERE name = ?').get(name) as { n: number } | undefined)?.n ?? 0;
  } finally {
    ro.close();
  }
}

/**
 * Records every IndexResult it receives, with the counter `name` as another connection sees it
 * then; `events` counts the events that carried them (an IndexResults carries several).
 */
function resultRecorder(t: { context: Ctx }, name: string) {
  const got: { result: IndexResult; durable: number }[] = [];
  const events: string[] = [];
  const ref = createActor(
    fromCallback<IndexResult | IndexResults>(({ receive }) => {
      receive((e) => {
        events.push(e.type);
        for (const result of e.type === 'index.results' ? e.results : [e]) got.push({ result, durable: counterOf(t, name) });
      });
    }),
  ).start();
  return { ref, got, events };
}

/** An actor of the index's own system that calls a store with itself as `replyTo` and keeps the answers. */
const asker = setup({
  types: {} as {
    context: { results: IndexResult[] };
    events: IndexResult | IndexResults | { type: 'ask'; call: IndexCall<TestStores> };
  },
}).createMachine({
  context: { results: [] },
  on: {
    ask: {
      actions: sendTo(
        ({ system }) => (system as DaemonSystem).get('index') as unknown as ActorRef<Snapshot<unknown>, IndexEvent<TestStores>>,
        ({ event, self }) => {
          if (event.type !== 'ask') throw new Error('unreachable');
          return { ...event.call, replyTo: self };
        },
      ),
    },
    'index.result': { actions: assign({ results: ({ context, event }) => [...context.results, event] }) },
    'index.results': { actions: assign({ results: ({ context, event }) => [...context.results, ...event.results] }) },
  },
});

/** A system rooted at the index actor's parent, with the asker beside it. */
function systemWithAsker(index: IndexActor<TestStores>) {
  const root = createActor(
    setup({ actors: { index: index.logic, asker } }).createMachine({
      invoke: [
        { src: 'index', systemId: 'index' },
        { src: 'asker', id: 'asker' },
      ],
    }),
  ).start();
  const ref = root.getSnapshot().children.asker as ActorRefFrom<typeof asker>;
  return { root, ref, results: () => ref.getSnapshot().context.results, client: index.client(root.system as DaemonSystem) };
}

test('every method of every store is reachable through the async proxy, typed from the store classes', async (t) => {
  const { client } = t.context;
  t.deepEqual(Object.keys(client).sort(), ['calls', 'catalog', 'chain', 'counters', 'flush', 'sectors', 'shards']);
  t.true(['save', 'get', 'list', 'listWithErrors', 'log', 'summary', 'listInStates', 'nextNumber', 'findPiece'].every((m) => m in client.sectors));
  t.true(['start', 'run', 'finish', 'requeue', 'markReturned', 'close', 'get', 'findByPrefix', 'open', 'list'].every((m) => m in client.calls));
  t.true('storageAttach' in client.catalog && 'storageFindSector' in client.catalog);
  t.true(['register', 'save', 'get', 'list', 'mark', 'setMark'].every((m) => m in client.shards));
  // the catalog proxy satisfies the stores' async CatalogClient view
  const asCatalog: CatalogClient = client.catalog;
  t.deepEqual(await asCatalog.storageList(), {});
  const saved = await client.sectors.save(draft(1));
  t.is(saved.updatedAt, 42);
  const back: SectorRecord | undefined = await client.sectors.get(1000, 1);
  t.deepEqual(back, saved);
  t.is(await client.sectors.nextNumber(1000), 2);
  // @ts-expect-error results are promises, never plain values
  const sync: SectorRecord = client.sectors.get(1000, 1);
  t.truthy(sync);
  // @ts-expect-error arguments are checked against the store's method
  await t.throwsAsync(client.calls.finish(123));
});

test('calls made in the same tick are committed in one transaction, in order', async (t) => {
  const { client, commits } = t.context;
  const before = commits.n;
  const results = await Promise.all([
    client.sectors.save(draft(1)),
    client.sectors.save(draft(2)),
    client.sectors.save({ ...draft(1), state: 'AddPiece' }),
    client.counters.bump('a'),
    client.sectors.list(1000),
  ]);
  t.is(commits.n - before, 1, 'five calls, one transaction');
  t.deepEqual(
    results[4].map((r: SectorRecord) => [r.number, r.state]),
    [
      [1, 'AddPiece'],
      [2, 'WaitDeals'],
    ],
    'a read sees the writes queued before it',
  );
  await client.sectors.get(1000, 1);
  t.is(commits.n - before, 2, 'a later tick is a new transaction');
});

test('a failing call rejects with its own error and rolls back alone', async (t) => {
  const { client } = t.context;
  const bad = client.sectors.save({ ...draft(3), state: 'Nope' as never });
  const good = client.sectors.save(draft(4));
  const half = client.counters.bumpThenFail('x');
  const other = client.counters.bump('y');
  await t.throwsAsync(bad, { instanceOf: SectorRecordInvalidError, message: /field state/ });
  await t.throwsAsync(half, { instanceOf: InvalidArgumentError, message: 'counter x refused' });
  await t.notThrowsAsync(good);
  t.is(await other, 1);
  const ro = readOnly(t);
  try {
    t.deepEqual(new SectorStore(ro).list(1000).map((r) => r.number), [4]);
  } finally {
    ro.close();
  }
  t.is(counterOf(t, 'x'), 0, 'the write the failing call made before throwing is rolled back');
  t.is(counterOf(t, 'y'), 1);
  t.deepEqual(t.context.errors, [], 'a client call fails to its promise only');
});

test('a resolved call is durable: another connection sees it at once', async (t) => {
  await t.context.client.sectors.save(draft(5, 'GetTicket'));
  const ro = readOnly(t);
  try {
    t.is(new SectorStore(ro).get(1000, 5)?.state, 'GetTicket');
  } finally {
    ro.close();
  }
});

test('an extra store registered in a test is served through the client without any edit of the actor', async (t) => {
  const { client } = t.context;
  t.is(await client.counters.bump('pieces', 3), 3);
  t.is(await client.counters.bump('pieces'), 4);
  t.is(await client.counters.value('pieces'), 4);
  t.is(counterOf(t, 'pieces'), 4);
});

test('an actor calls a store with replyTo and gets its result by requestId after the commit', async (t) => {
  const { index } = t.context;
  t.context.actor.stop(); // the asker's system gets its own index actor over the same stores
  const s = systemWithAsker(index);
  try {
    s.ref.send({ type: 'ask', call: { type: 'index.call', requestId: 7, store: 'counters', method: 'bump', args: ['seen', 2] } });
    s.ref.send({ type: 'ask', call: { type: 'index.call', requestId: 8, store: 'counters', method: 'bumpThenFail', args: ['seen'] } });
    s.ref.send({ type: 'ask', call: { type: 'index.call', requestId: 9, store: 'sectors', method: 'save', args: [draft(11)] } });
    await s.client.flush();
    const results = s.results();
    t.deepEqual(
      results.map((r) => [r.requestId, r.ok]),
      [
        [7, true],
        [8, false],
        [9, true],
      ],
      'every call answered once, in the order sent',
    );
    t.like(results[0], { ok: true, value: 2 });
    t.like(results[1], { ok: false, error: { code: 'INVALID_ARGUMENT', message: 'counter seen refused' } });
    t.like(results[2], { ok: true, value: { number: 11, updatedAt: 42 } });
    t.true(JSON.parse(JSON.stringify(results)).length === 3, 'results are JSON-safe');
    t.is(t.context.errors.length, 1, 'an actor’s failed call is also reported to onError');
  } finally {
    s.root.stop();
  }
});

test('an answer reaches replyTo only once its transaction is committed', async (t) => {
  const { actor, client } = t.context;
  const rec = resultRecorder(t, 'c');
  actor.send({ type: 'index.call', requestId: 1, store: 'counters', method: 'bump', args: ['c', 5], replyTo: rec.ref });
  actor.send({ type: 'index.call', requestId: 2, store: 'counters', method: 'bump', args: ['c', 1], replyTo: rec.ref });
  t.is(counterOf(t, 'c'), 0, 'nothing is written before the batch runs');
  await client.flush();
  t.deepEqual(
    rec.got.map((g) => [g.result.requestId, g.durable]),
    [
      [1, 6],
      [2, 6],
    ],
    'both answers were sent after the commit of the batch holding both calls',
  );
  t.deepEqual(rec.events, ['index.results'], 'in one event, in the order of the calls');
  rec.ref.stop();
});

test('each actor gets its own answers of a batch in one event; an actor with one call gets its IndexResult alone', async (t) => {
  const { actor, client } = t.context;
  const a = resultRecorder(t, 'a');
  const b = resultRecorder(t, 'b');
  actor.send({ type: 'index.call', requestId: 1, store: 'counters', method: 'bump', args: ['a', 1], replyTo: a.ref });
  actor.send({ type: 'index.call', requestId: 2, store: 'counters', method: 'bump', args: ['b', 1], replyTo: b.ref });
  actor.send({ type: 'index.call', requestId: 3, store: 'counters', method: 'bumpThenFail', args: ['a'], replyTo: a.ref });
  actor.send({ type: 'index.call', requestId: 4, store: 'counters', method: 'bump', args: ['a', 2], replyTo: a.ref });
  await client.flush();
  t.deepEqual(a.events, ['index.results']);
  t.deepEqual(
    a.got.map((g) => [g.result.requestId, g.result.ok]),
    [
      [1, true],
      [3, false],
      [4, true],
    ],
    'its three answers, a refused call among them, in the order it sent the calls',
  );
  t.deepEqual(b.events, ['index.result']);
  t.deepEqual(
    b.got.map((g) => g.result.requestId),
    [2],
  );
  a.ref.stop();
  b.ref.stop();
});

test('a failed commit fails every call of the batch, to promises and to replyTo alike, and keeps nothing', async (t) => {
  const { actor, client, errors } = t.context;
  const rec = resultRecorder(t, 'lost');
  const save = client.sectors.save(draft(21));
  const bump = client.counters.bump('lost');
  actor.send({ type: 'index.call', requestId: 3, store: 'counters', method: 'bump', args: ['lost'], replyTo: rec.ref });
  const breaker = client.counters.breakCommit();
  await t.throwsAsync(save, { message: /FOREIGN KEY/ });
  await t.throwsAsync(bump, { message: /FOREIGN KEY/ });
  await t.throwsAsync(breaker, { message: /FOREIGN KEY/ });
  t.is(rec.got.length, 1);
  t.like(rec.got[0]?.result, { requestId: 3, ok: false, error: { code: 'INTERNAL' } });
  t.is(errors.length, 1, 'the commit failure is reported once');
  t.is(counterOf(t, 'lost'), 0);
  t.is(await client.sectors.get(1000, 21), undefined);
  // the actor goes on with the next batch
  t.is(await client.counters.bump('lost'), 1);
  rec.ref.stop();
});

test('a call to an unknown store or method, or with bad args, is refused by name and fails alone', async (t) => {
  const { actor, client } = t.context;
  const rec = resultRecorder(t, 'n');
  const send = (e: object) => actor.send(e as IndexCall<TestStores>);
  send({ type: 'index.call', requestId: 1, store: 'nope', method: 'get', args: [], replyTo: rec.ref });
  send({ type: 'index.call', requestId: 2, store: 'sectors', method: 'drop', args: [], replyTo: rec.ref });
  send({ type: 'index.call', requestId: 3, store: 'sectors', method: 'constructor', args: [], replyTo: rec.ref });
  send({ type: 'index.call', requestId: 4, store: 'counters', method: 'bump', args: 'n', replyTo: rec.ref });
  send({ type: 'index.call', requestId: 5, store: 'counters', method: 'bump', args: ['n'], replyTo: rec.ref });
  await client.flush();
  t.deepEqual(
    rec.got.map((g) => [g.result.requestId, g.result.ok ? 'ok' : `${g.result.error.code}: ${g.result.error.message}`]),
    [
      [1, 'INVALID_ARGUMENT: index actor has no store "nope"'],
      [2, 'INVALID_ARGUMENT: index store "sectors" has no method "drop"'],
      [3, 'INVALID_ARGUMENT: index store "sectors" has no method "constructor"'],
      [4, 'INVALID_ARGUMENT: index call counters.bump: args must be an array'],
      [5, 'ok'],
    ],
  );
  rec.ref.stop();
});

test('an actor stopped before its answer is not written to', async (t) => {
  const { actor, client } = t.context;
  const rec = resultRecorder(t, 'gone');
  actor.send({ type: 'index.call', requestId: 1, store: 'counters', method: 'bump', args: ['gone'], replyTo: rec.ref });
  rec.ref.stop();
  await client.flush();
  t.is(rec.got.length, 0);
  t.is(counterOf(t, 'gone'), 1, 'the call itself was committed');
});

test('a write sent as NO_REPLY without replyTo is committed, answers no one, and its failure is reported as an error', async (t) => {
  const { actor, client, errors } = t.context;
  // a client call in flight must not be settled by the write that wants no answer
  const pending = client.counters.bump('other');
  actor.send({ type: 'index.call', requestId: NO_REPLY, store: 'counters', method: 'bump', args: ['quiet'] });
  actor.send({ type: 'index.call', requestId: NO_REPLY, store: 'counters', method: 'bump', args: 'not a list' } as unknown as IndexCall<TestStores>);
  await client.flush();
  t.is(counterOf(t, 'quiet'), 1, 'the write is committed');
  t.is(await pending, 1, 'the client call got its own answer');
  t.is(errors.length, 1, 'the failed write is reported');
  t.regex(String((errors[0] as Error | undefined)?.message), /args must be an array/);
});

test('flush waits for calls actors sent before it', async (t) => {
  const { actor, client } = t.context;
  const rec = resultRecorder(t, 'x');
  actor.send({ type: 'index.call', requestId: 1, store: 'sectors', method: 'save', args: [draft(6)], replyTo: rec.ref });
  actor.send({ type: 'index.call', requestId: 2, store: 'sectors', method: 'save', args: [{ ...draft(6), state: 'AddPiece' }], replyTo: rec.ref });
  await client.flush();
  const ro = readOnly(t);
  try {
    t.is(new SectorStore(ro).get(1000, 6)?.state, 'AddPiece');
  } finally {
    ro.close();
  }
  rec.ref.stop();
});

test('the call tracker is served like any store: a call goes from started to returned through the client', async (t) => {
  const { client } = t.context;
  const task: Task = { type: 'FIN', sector: { miner: 1000, number: 1 }, proofType: 5, priority: 0, input: { keepUnsealed: [] } };
  const callId = randomUUID();
  await client.sectors.save(draft(1));
  t.like(await client.calls.start({ callId, workId: 'FIN(x)', task }), { state: 'started' });
  t.like(await client.calls.run(callId, 'local'), { state: 'running', attempts: 1 });
  t.like(await client.calls.finish(callId, { ok: true, result: { type: 'FIN', value: { freedBytes: 0, removedFiles: 0 } } }), {
    state: 'done',
    outcome: 'ok',
  });
  await client.sectors.save({ ...draft(1), state: 'Proving' }, { applied: [callId] });
  t.like(await client.calls.get(callId), { state: 'returned', returnedAt: 42 });
});

test('stopping the actor commits what it already received and refuses later calls', async (t) => {
  const { actor, client } = t.context;
  const saving = client.sectors.save(draft(8));
  actor.stop();
  await t.notThrowsAsync(saving, 'the queued write was committed on stop');
  await t.throwsAsync(client.sectors.get(1000, 8), { instanceOf: AbortedError, message: /not running/ });
  const ro = readOnly(t);
  try {
    t.truthy(new SectorStore(ro).get(1000, 8));
  } finally {
    ro.close();
  }
});

/**
 * Sends `send(i)` on each of `n` consecutive turns of the event loop (i = 0 at once), each before
 * the index actor's own callback of that turn runs, as calls arriving from the pool and the actors
 * of a busy daemon do. Resolves on the turn after the last.
 */
function stream(n: number, send: (i: number) => void): Promise<void> {
  return new Promise((resolve) => {
    let i = 0;
    const next = () => {
      if (i === n) {
        resolve();
        return;
      }
      setImmediate(next);
      send(i++);
    };
    next();
  });
}

test('calls that keep arriving turn after turn share one commit (group commit)', async (t) => {
  const { actor, client } = t.context;
  const rec = resultRecorder(t, 'g');
  await stream(3, (i) => actor.send({ type: 'index.call', requestId: i + 1, store: 'counters', method: 'bump', args: ['g', 1], replyTo: rec.ref }));
  await client.flush();
  t.deepEqual(rec.events, ['index.results'], 'one commit answered all three');
  t.deepEqual(
    rec.got.map((g) => [g.result.requestId, g.durable]),
    [
      [1, 3],
      [2, 3],
      [3, 3],
    ],
    'each answer sent once all three were durable',
  );
  rec.ref.stop();
});

test('a batch commits at the latest on the fourth turn after it opened: a longer stream of calls is committed in several', async (t) => {
  const { actor, client } = t.context;
  const rec = resultRecorder(t, 'h');
  await stream(12, (i) => actor.send({ type: 'index.call', requestId: i + 1, store: 'counters', method: 'bump', args: ['h', 1], replyTo: rec.ref }));
  await client.flush();
  t.is(rec.got.length, 12);
  const commits = [...new Set(rec.got.map((g) => g.durable))];
  t.deepEqual(commits, [5, 10, 12], 'the call that opened a batch and those of the four turns after it');
  rec.ref.stop();
});

test('a call alone is committed and answered on the next turn of the event loop', async (t) => {
  const { actor } = t.context;
  const rec = resultRecorder(t, 'i');
  actor.send({ type: 'index.call', requestId: 1, store: 'counters', method: 'bump', args: ['i', 1], replyTo: rec.ref });
  t.is(rec.got.length, 0, 'not before its commit');
  await new Promise<void>((resolve) => setImmediate(resolve));
  t.deepEqual(
    rec.got.map((g) => [g.result.requestId, g.durable]),
    [[1, 1]],
  );
  rec.ref.stop();
});

/** An index actor whose batches run on the store thread (src/db/store-thread.ts), with the test stores. */
async function threadedIndex(t: { context: Ctx }) {
  const thread = await StoreThread.start({ path: join(t.context.dir, 'db.sqlite'), stores: TEST_STORES, now: () => 42 });
  const errors: unknown[] = [];
  const index = createIndexActor({ db: t.context.db, stores: storesOf(t.context.db), runner: thread, onError: (err) => errors.push(err) });
  const actor = createActor(index.logic, { systemId: 'index' }).start();
  return { thread, index, actor, errors, client: index.client(actor.system as DaemonSystem) };
}

test('on the store thread, calls sent while batches are in flight are answered in order, each once durable', async (t) => {
  const { thread, actor, client } = await threadedIndex(t);
  try {
    const answers: { value: number; durable: number }[] = [];
    const sent: Promise<void>[] = [];
    // 40 calls on each of 10 turns: several batches are in flight at once
    await stream(10, () => {
      for (let i = 0; i < 40; i++) sent.push(client.counters.bump('p').then((value) => void answers.push({ value, durable: counterOf(t, 'p') })));
    });
    await Promise.all(sent);
    t.deepEqual(
      answers.map((a) => a.value),
      Array.from({ length: 400 }, (_, i) => i + 1),
      'answered in the order sent',
    );
    t.true(
      answers.every((a) => a.durable >= a.value),
      'no answer before its commit',
    );
    const bad = await client.counters.bumpThenFail('q').catch((err: unknown) => err);
    t.true(bad instanceof InvalidArgumentError, 'a store’s typed error keeps its class across the thread');
  } finally {
    actor.stop();
    await thread.close();
  }
});

test('stopping the actor with batches on the store thread still answers them; drained resolves after', async (t) => {
  const { thread, index, actor, client } = await threadedIndex(t);
  const sent = Array.from({ length: 20 }, () => client.counters.bump('s'));
  await new Promise((resolve) => setImmediate(resolve)); // the first batch is on the thread
  sent.push(client.counters.bump('s'));
  actor.stop();
  await index.drained();
  t.deepEqual(await Promise.all(sent), Array.from({ length: 21 }, (_, i) => i + 1));
  await t.throwsAsync(client.counters.bump('s'), { instanceOf: AbortedError, message: /not running/ });
  await thread.close();
  t.is(counterOf(t, 's'), 21);
});
