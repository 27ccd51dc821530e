import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { InternalError } from '../../../src/errors.js';
import { type Db, openDatabase } from '../../../src/db/database.js';
import { type SectorRecordDraft, SectorStore } from '../../../src/db/sector-store.js';

const test = anyTest as TestFn<{ dir: string; db: Db }>;

test.beforeEach((t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sector-store-'));
  t.context = { dir, db: openDatabase(join(dir, 'db.sqlite')) };
});
test.afterEach.always((t) => {
  t.context.db.close();
  rmSync(t.context.dir, { recursive: true, force: true });
});

const V1 = 'baga6ea4seaqp3xq5uiz5td26pslqr5gksd7usuiobpwu23emcqmapzsyxgtzkcy';
const V2 = 'bafkzcibcdmbp3xq5uiz5td26pslqr5gksd7usuiobpwu23emcqmapzsyxgtzkcy';
const FILLER = 'baga6ea4seaqdomn3tgwgrh3g532zopskstnbrd2n3sxfqbze7rxt7vqn7veigmy';

function draft(number: number, extra: Partial<SectorRecordDraft> = {}): SectorRecordDraft {
  return {
    v: 1,
    miner: 1000,
    number,
    proofType: 5,
    state: 'WaitDeals',
    pieces: [
      { pieceCid: V1, pieceCidV2: V2, paddedOffset: 0, paddedSize: 128, payloadSize: 100, filler: false },
      { pieceCid: FILLER, paddedOffset: 128, paddedSize: 128, payloadSize: 0, filler: true },
    ],
    packingRequested: false,
    ...extra,
  };
}

test('a saved record reads back with its pieces in order and a stamped updatedAt', (t) => {
  const store = new SectorStore(t.context.db, { now: () => 1234 });
  const saved = store.save(draft(3, { commD: V1, error: { code: 'INTERNAL', message: 'boom' }, state: 'AddPieceFailed' }));
  t.is(saved.updatedAt, 1234);
  const back = store.get(1000, 3);
  t.deepEqual(back, saved);
  t.is(back?.pieces[0]?.pieceCidV2, V2);
  t.is(back?.pieces[1]?.pieceCidV2, undefined, 'fillers have no v2 CID');
  t.is(store.get(1000, 4), undefined);
});

test('saving again replaces the pieces of the sector, leaving no stale rows', (t) => {
  const store = new SectorStore(t.context.db);
  store.save(draft(1));
  store.save(draft(1, { pieces: [{ pieceCid: FILLER, paddedOffset: 0, paddedSize: 2048, payloadSize: 0, filler: true }] }));
  t.is(store.get(1000, 1)?.pieces.length, 1);
  const rows = t.context.db.prepare('SELECT COUNT(*) AS n FROM pieces').get() as { n: number };
  t.is(rows.n, 1);
});

test('list returns one miner’s sectors by number and nextNumber continues after the highest', (t) => {
  const store = new SectorStore(t.context.db);
  t.is(store.nextNumber(1000), 0, 'the first sector is number 0, as in Lotus');
  store.save(draft(5));
  store.save(draft(2));
  store.save({ ...draft(9), miner: 2000 });
  t.deepEqual(
    store.list(1000).map((r) => r.number),
    [2, 5],
  );
  t.is(store.list().length, 3);
  t.is(store.nextNumber(1000), 6);
  t.is(store.nextNumber(2000), 10);
  t.deepEqual(store.list(1000)[0]?.pieces.length, 2);
});

test('findPiece finds a piece by its v1 or its v2 CID', (t) => {
  const store = new SectorStore(t.context.db);
  store.save(draft(1));
  store.save(draft(2));
  t.deepEqual(
    store.findPiece(V1).map((l) => l.number),
    [1, 2],
  );
  t.deepEqual(
    store.findPiece(V2).map((l) => [l.number, l.piece.paddedOffset]),
    [
      [1, 0],
      [2, 0],
    ],
  );
  t.deepEqual(store.findPiece('bagasomethingelse'), []);
});

test('a record of an unknown version is refused, not half-loaded', (t) => {
  const store = new SectorStore(t.context.db);
  t.context.db
    .prepare('INSERT INTO sectors (miner, number, proof_type, state, record, updated_at) VALUES (?, ?, ?, ?, ?, ?)')
    .run(1000, 7, 5, 'WaitDeals', JSON.stringify({ v: 2, miner: 1000, number: 7 }), 1);
  const err = t.throws(() => store.get(1000, 7), { instanceOf: InternalError });
  t.regex(err.message, /miner 1000 sector 7 has version 2/);
  t.throws(() => store.list(1000), { instanceOf: InternalError });
});

test('an invalid record is rejected before anything is written', (t) => {
  const store = new SectorStore(t.context.db);
  store.save(draft(1));
  t.throws(() => store.save({ ...draft(1), state: 'Bogus' as never, pieces: [] }), {
    instanceOf: InternalError,
    message: /field state/,
  });
  t.throws(
    () => store.save({ ...draft(1), pieces: [{ pieceCid: V1, paddedOffset: -1, paddedSize: 128, payloadSize: 1, filler: false }] }),
    { message: /pieces\[0\]/ },
  );
  t.is(store.get(1000, 1)?.pieces.length, 2, 'the previous record is intact');
});

test('records survive closing and reopening the database', (t) => {
  const path = join(t.context.dir, 'db.sqlite');
  new SectorStore(t.context.db).save(draft(4, { state: 'GetTicket', commD: FILLER, packingRequested: true }));
  t.context.db.close();
  t.context.db = openDatabase(path);
  const back = new SectorStore(t.context.db).get(1000, 4);
  t.is(back?.state, 'GetTicket');
  t.is(back?.commD, FILLER);
  t.true(back?.packingRequested);
});
