/**
 * The store thread (src/db/store-thread.ts): the index actor's batches run on a connection of its
 * own, on a worker thread, with the daemon's clock, and come back as the in-process runner's do.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { type Db, openDatabase } from '../../../src/db/database.js';
import type { SectorRecord, SectorRecordDraft } from '../../../src/db/sector-store.js';
import type { BatchOutcome, StoreCallRequest } from '../../../src/db/store-batch.js';
import { StoreThread, type StoreThreadOptions } from '../../../src/db/store-thread.js';
import { InvalidArgumentError, SectorExistsError } from '../../../src/errors.js';
import { TEST_STORES } from '../../helpers/test-stores.js';

interface Ctx {
  dir: string;
  db: Db;
  threads: StoreThread[];
  start(options?: Partial<StoreThreadOptions>): Promise<StoreThread>;
}
const test = anyTest as TestFn<Ctx>;

test.beforeEach((t) => {
  const dir = mkdtempSync(join(tmpdir(), 'store-thread-'));
  const path = join(dir, 'db.sqlite');
  const db = openDatabase(path);
  const threads: StoreThread[] = [];
  t.context = {
    dir,
    db,
    threads,
    async start(options = {}) {
      const thread = await StoreThread.start({ path, stores: TEST_STORES, ...options });
      threads.push(thread);
      return thread;
    },
  };
});
test.afterEach.always(async (t) => {
  for (const thread of t.context.threads) await thread.close();
  t.context.db.close();
  rmSync(t.context.dir, { recursive: true, force: true });
});

function draft(number: number): SectorRecordDraft {
  return { v: 2, miner: 1000, number, proofType: 5, state: 'WaitDeals', pieces: [], packingRequested: false, counters: { preCommit2Fails: 0, invalidProofs: 0, retries: 0 } };
}
const save = (number: number): StoreCallRequest => ({ store: 'sectors', method: 'save', args: [draft(number), { create: true }] });
const bump = (name: string): StoreCallRequest => ({ store: 'counters', method: 'bump', args: [name] });

function committed(t: { fail(message: string): void }, out: BatchOutcome) {
  if (!out.committed) {
    t.fail(`the batch did not commit: ${String(out.error)}`);
    throw new Error('not committed');
  }
  return out.answers;
}

/** Rows written through this connection since it opened (SQLite counts per connection). */
const changesOn = (db: Db) => db.prepare('SELECT total_changes()').pluck().get() as number;

test('a batch runs on the thread’s own connection and is durable once answered', async (t) => {
  const thread = await t.context.start();
  const before = changesOn(t.context.db);
  const answers = committed(t, await thread.run([save(1), bump('a'), bump('a')]));
  t.deepEqual(
    answers.map((a) => a.ok && (typeof a.value === 'number' ? a.value : (a.value as SectorRecord).number)),
    [1, 1, 2],
  );
  t.is(t.context.db.prepare('SELECT count(*) FROM sectors WHERE number = 1').pluck().get(), 1, 'the daemon’s connection sees the row at once');
  t.is(changesOn(t.context.db), before, 'nothing was written through the daemon’s connection');
});

test('a failing call rolls back alone and comes back as its typed error', async (t) => {
  const thread = await t.context.start();
  const answers = committed(t, await thread.run([save(2), save(2), { store: 'counters', method: 'bumpThenFail', args: ['x'] }, save(3), { store: 'nope', method: 'x', args: [] }]));
  t.true(answers[0]!.ok);
  t.true(!answers[1]!.ok && answers[1]!.error instanceof SectorExistsError, 'a second create of sector 2 is SECTOR_EXISTS, as its class');
  t.true(!answers[2]!.ok && answers[2]!.error instanceof InvalidArgumentError && answers[2]!.error.message === 'counter x refused');
  t.true(answers[3]!.ok);
  t.true(!answers[4]!.ok && /no store "nope"/.test((answers[4] as { error: Error }).error.message));
  t.deepEqual(t.context.db.prepare('SELECT number FROM sectors ORDER BY number').pluck().all(), [2, 3]);
  t.is(t.context.db.prepare("SELECT count(*) FROM test_counters WHERE name = 'x'").pluck().get(), 0, 'the failed call’s bump was rolled back');
});

test('the stores stamp each batch with the daemon’s clock', async (t) => {
  let clock = 1_000_000;
  const thread = await t.context.start({ now: () => clock });
  const [first] = committed(t, await thread.run([save(4)]));
  clock = 2_000_000;
  const [again] = committed(t, await thread.run([{ store: 'sectors', method: 'save', args: [{ ...draft(4), state: 'Packing' }] }]));
  t.is((first as { value: SectorRecord }).value.updatedAt, 1_000_000);
  t.is((again as { value: SectorRecord }).value.updatedAt, 2_000_000);
});

test('saved records are heard after their batch committed, and not at all when it did not', async (t) => {
  const heard: number[] = [];
  const thread = await t.context.start({ onSaved: (r) => heard.push(r.number) });
  const broken = await thread.run([save(5), { store: 'counters', method: 'breakCommit', args: [] }]);
  t.false(broken.committed);
  t.deepEqual(heard, [], 'sector 5 was never saved: nobody hears of it');
  t.is(t.context.db.prepare('SELECT count(*) FROM sectors').pluck().get(), 0);
  committed(t, await thread.run([save(6), save(7)]));
  t.deepEqual(heard, [6, 7]);
});

test('close waits for the batches in flight; a batch after it is refused', async (t) => {
  const thread = await t.context.start();
  const runs = Array.from({ length: 5 }, (_, i) => thread.run([bump('c'), save(10 + i)]));
  await thread.close();
  const outs = await Promise.all(runs);
  t.deepEqual(
    outs.map((o) => o.committed && o.answers[0]!.ok && o.answers[0]!.value),
    [1, 2, 3, 4, 5],
    'every batch sent before close committed, in order',
  );
  const late = await thread.run([bump('c')]);
  t.false(late.committed);
  t.regex(String((late as { error: Error }).error.message), /closed/);
});

test('a thread that dies fails its batch and every later one, saying so', async (t) => {
  const thread = await t.context.start();
  committed(t, await thread.run([bump('d')]));
  const died = await thread.run([bump('d'), { store: 'counters', method: 'die', args: [] }]);
  t.false(died.committed);
  t.regex(String((died as { error: Error }).error.message), /store thread exited .*may or may not have committed/);
  const after = await thread.run([bump('d')]);
  t.false(after.committed);
  t.regex(String((after as { error: Error }).error.message), /store thread exited/);
});

test('a store factory that cannot be loaded fails the start by name', async (t) => {
  await t.throwsAsync(StoreThread.start({ path: join(t.context.dir, 'db.sqlite'), stores: { module: TEST_STORES.module, factory: 'noSuchFactory' } }), {
    message: /store thread did not start: .*no store factory "noSuchFactory"/,
  });
});
