import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { type Actor, createActor } from 'xstate';
import { createIndexActor, type IndexActor, type IndexClient } from '../../actors/index.actor.js';
import type { DaemonSystem } from '../../machines/protocol.js';
import { AbortedError, InternalError } from '../../src/errors.js';
import { StorageCatalog } from '../../src/db/storage-catalog.js';
import type { CatalogClient } from '../../src/storage/catalog-client.js';
import { type Db, openDatabase } from '../../src/db/database.js';
import { type SectorRecord, type SectorRecordDraft, SectorStore } from '../../src/db/sector-store.js';

interface Ctx {
  dir: string;
  db: Db;
  index: IndexActor;
  actor: Actor<IndexActor['logic']>;
  client: IndexClient;
  /** Outermost transactions run by the actor. */
  commits: { n: number };
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

test.beforeEach((t) => {
  const dir = mkdtempSync(join(tmpdir(), 'index-actor-'));
  const db = openDatabase(join(dir, 'db.sqlite'));
  const commits = { n: 0 };
  const index = createIndexActor({
    db: countingDb(db, commits),
    stores: { storage: new StorageCatalog(db), sectors: new SectorStore(db, { now: () => 42 }) },
    onWriteError: () => {},
  });
  const actor = createActor(index.logic, { systemId: 'index' }).start();
  t.context = { dir, db, index, actor, client: index.client(actor.system as DaemonSystem), commits };
});
test.afterEach.always((t) => {
  t.context.actor.stop();
  t.context.db.close();
  rmSync(t.context.dir, { recursive: true, force: true });
});

function draft(number: number, state: SectorRecordDraft['state'] = 'WaitDeals'): SectorRecordDraft {
  return { v: 1, miner: 1000, number, proofType: 5, state, pieces: [], packingRequested: false };
}

function readOnly(t: { context: Ctx }): Db {
  return openDatabase(join(t.context.dir, 'db.sqlite'), { readonly: true });
}

test('every public method of the stores is reachable through the async proxy', async (t) => {
  const { client } = t.context;
  t.deepEqual(Object.keys(client.sectors).sort(), ['findPiece', 'get', 'list', 'nextNumber', 'save']);
  t.true('storageAttach' in client.storage && 'storageFindSector' in client.storage);
  // the storage proxy satisfies the stores' async CatalogClient view
  const asIndex: CatalogClient = client.storage;
  t.deepEqual(await asIndex.storageList(), {});
  const saved = await client.sectors.save(draft(1));
  t.is(saved.updatedAt, 42);
  const back: SectorRecord | undefined = await client.sectors.get(1000, 1);
  t.deepEqual(back, saved);
  t.is(await client.sectors.nextNumber(1000), 2);
  // @ts-expect-error results are promises, never plain values
  const sync: SectorRecord = client.sectors.get(1000, 1);
  t.truthy(sync);
});

test('calls made in the same tick are committed in one transaction, in order', async (t) => {
  const { client, commits } = t.context;
  const before = commits.n;
  const results = await Promise.all([
    client.sectors.save(draft(1)),
    client.sectors.save(draft(2)),
    client.sectors.save({ ...draft(1), state: 'AddPiece' }),
    client.sectors.list(1000),
  ]);
  t.is(commits.n - before, 1);
  t.deepEqual(
    results[3].map((r: SectorRecord) => [r.number, r.state]),
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
  await t.throwsAsync(bad, { instanceOf: InternalError, message: /field state/ });
  await t.notThrowsAsync(good);
  const ro = readOnly(t);
  try {
    t.deepEqual(new SectorStore(ro).list(1000).map((r) => r.number), [4]);
  } finally {
    ro.close();
  }
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

test('flush waits for fire-and-forget writes sent before it', async (t) => {
  const { actor, client } = t.context;
  actor.send({ type: 'index.sector.save', record: draft(6) });
  actor.send({ type: 'index.sector.save', record: { ...draft(6), state: 'AddPiece' } });
  await client.flush();
  const ro = readOnly(t);
  try {
    t.is(new SectorStore(ro).get(1000, 6)?.state, 'AddPiece');
  } finally {
    ro.close();
  }
});

test('a failing fire-and-forget write is reported, not thrown, and the actor goes on', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'index-actor-'));
  const db = openDatabase(join(dir, 'db.sqlite'));
  const errors: unknown[] = [];
  const index = createIndexActor({
    db,
    stores: { storage: new StorageCatalog(db), sectors: new SectorStore(db) },
    onWriteError: (err) => errors.push(err),
  });
  const actor = createActor(index.logic, { systemId: 'index' }).start();
  const client = index.client(actor.system as DaemonSystem);
  try {
    actor.send({ type: 'index.sector.save', record: { ...draft(7), number: -1 } });
    await client.flush();
    t.is(errors.length, 1);
    t.true(errors[0] instanceof InternalError);
    t.is(actor.getSnapshot().status, 'active');
    t.is((await client.sectors.list()).length, 0);
  } finally {
    actor.stop();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
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
