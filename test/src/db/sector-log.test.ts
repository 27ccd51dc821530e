import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { InvalidArgumentError } from '../../../src/errors.js';
import { type Db, openDatabase } from '../../../src/db/database.js';
import { type SectorLogInput, type SectorRecordDraft, SectorStore } from '../../../src/db/sector-store.js';

interface Ctx {
  dir: string;
  db: Db;
  clock: { t: number };
  store: SectorStore;
}
const test = anyTest as TestFn<Ctx>;

test.beforeEach((t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sector-log-'));
  const db = openDatabase(join(dir, 'db.sqlite'));
  const clock = { t: 1000 };
  t.context = { dir, db, clock, store: new SectorStore(db, { now: () => clock.t }) };
});
test.afterEach.always((t) => {
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

const event = (name: string, message = '{}'): SectorLogInput => ({ kind: `event;sealing.${name}`, message });
const numbered = (from: number, to: number): SectorLogInput[] =>
  Array.from({ length: to - from }, (_, i) => ({ kind: 'event;sealing.SectorRestart', message: `#${from + i}` }));

test('log entries are appended with the record, stamped, and read back in order', (t) => {
  const { store, clock } = t.context;
  store.save(draft(1), { log: [event('SectorStart'), { kind: 'event;sealing.SectorAddPiece', message: '{"x":1}', trace: 'at add' }] });
  clock.t = 2000;
  const saved = store.save(draft(1, 'Packing'), { log: [event('SectorStartPacking')] });
  t.is(saved.lastLogAt, 2000);
  t.deepEqual(store.log(1000, 1), [
    { kind: 'event;sealing.SectorStart', message: '{}', timestamp: 1000 },
    { kind: 'event;sealing.SectorAddPiece', message: '{"x":1}', trace: 'at add', timestamp: 1000 },
    { kind: 'event;sealing.SectorStartPacking', message: '{}', timestamp: 2000 },
  ]);
  t.deepEqual(
    store.log(1000, 1, { limit: 2 }).map((e) => e.kind),
    ['event;sealing.SectorAddPiece', 'event;sealing.SectorStartPacking'],
    'a limit keeps the newest entries, oldest first',
  );
  t.deepEqual(store.log(1000, 1, { limit: 0 }), []);
  t.deepEqual(store.log(1000, 2), [], 'an unknown sector has no log');
});

test('lastLogAt moves only when entries are appended, and survives a reopen', (t) => {
  const { store, clock } = t.context;
  store.save(draft(1), { log: [event('SectorStart')] });
  clock.t = 5000;
  const again = store.save(draft(1, 'AddPiece'));
  t.is(again.lastLogAt, 1000, 'a save without entries keeps the last log time');
  t.is(again.updatedAt, 5000);
  t.is(store.get(1000, 1)?.lastLogAt, 1000);
  clock.t = 7000;
  t.is(store.save(draft(1, 'WaitDeals'), { log: [event('SectorPieceAdded')] }).lastLogAt, 7000);
  t.context.db.close();
  t.context.db = openDatabase(join(t.context.dir, 'db.sqlite'));
  t.is(new SectorStore(t.context.db).get(1000, 1)?.lastLogAt, 7000);
});

test('a bad log entry is refused by position and nothing of the save is kept', (t) => {
  const { store } = t.context;
  store.save(draft(1), { log: [event('SectorStart')] });
  const refused = (log: unknown, message: string) =>
    t.throws(() => store.save(draft(1, 'Packing'), { log: log as SectorLogInput[] }), { instanceOf: InvalidArgumentError, message });
  refused([event('A'), { kind: '', message: 'x' }], 'log entry 1: kind must be a non-empty string');
  refused([{ kind: 'k', message: 3 }], 'log entry 0: message must be a string');
  refused([{ kind: 'k', message: 'm', trace: {} }], 'log entry 0: trace must be a string');
  refused([null], 'log entry 0 must be an object');
  t.is(store.get(1000, 1)?.state, 'WaitDeals');
  t.is(store.log(1000, 1).length, 1);
  t.throws(() => store.log(1000, 1, { limit: -1 }), { instanceOf: InvalidArgumentError, message: /limit must be a non-negative integer/ });
});

test('a message longer than 8000 characters is cut as Lotus cuts it', (t) => {
  const { store } = t.context;
  store.save(draft(1), { log: [{ kind: 'event;sealing.SectorFatalError', message: 'x'.repeat(9000) }] });
  const [entry] = store.log(1000, 1);
  t.is(entry?.message, `${'x'.repeat(8000)}... truncated`);
});

test('past 8000 entries, entries 2000 to 5999 are replaced by one truncate entry in their place', (t) => {
  const { store, clock } = t.context;
  store.save(draft(1), { log: numbered(0, 8000) });
  t.is(store.log(1000, 1).length, 8000, 'exactly 8000 entries are kept whole');
  clock.t = 3000;
  store.save(draft(1), { log: numbered(8000, 8001) });
  const log = store.log(1000, 1);
  t.is(log.length, 2000 + 1 + 2001);
  t.deepEqual(
    log.slice(1998, 2003).map((e) => [e.kind, e.message]),
    [
      ['event;sealing.SectorRestart', '#1998'],
      ['event;sealing.SectorRestart', '#1999'],
      ['truncate', 'truncating log (above 8000 entries)'],
      ['event;sealing.SectorRestart', '#6000'],
      ['event;sealing.SectorRestart', '#6001'],
    ],
  );
  t.is(log[2000]?.timestamp, 3000);
  t.is(log.at(-1)?.message, '#8000');
  // the next truncation cuts the same window again, and the marker stays in order
  store.save(draft(1), { log: numbered(8001, 12000) });
  const again = store.log(1000, 1);
  t.is(again.length, 4002);
  t.deepEqual(
    again.slice(1999, 2002).map((e) => e.message),
    ['#1999', 'truncating log (above 8000 entries)', '#9999'],
  );
  t.is(again.at(-1)?.message, '#11999');
});

test('truncating one sector’s log leaves the others alone', (t) => {
  const { store } = t.context;
  store.save(draft(2), { log: numbered(0, 3) });
  store.save(draft(1), { log: numbered(0, 8001) });
  store.save(draft(2), { log: numbered(3, 5) });
  t.deepEqual(
    store.log(1000, 2).map((e) => e.message),
    ['#0', '#1', '#2', '#3', '#4'],
  );
  t.is(store.log(1000, 1).length, 4002);
});

test('logMarks gives each sector of a miner its first entry and its first entry of a kind, in one query', (t) => {
  const { store, clock } = t.context;
  store.save(draft(1), { log: [event('SectorStart')] });
  store.save({ ...draft(2), miner: 2000 }, { log: [event('SectorStart')] });
  clock.t = 1500;
  store.save(draft(3, 'Packing'), { log: [event('SectorPacked')] });
  clock.t = 4000;
  store.save(draft(1, 'FinalizeSector'), { log: [event('SectorProving')] });
  clock.t = 5000;
  store.save(draft(1, 'Proving'), { log: [event('SectorFinalized'), event('SectorProving', 'again')] });
  store.save(draft(4)); // no log: not listed
  t.deepEqual(store.logMarks(1000, 'event;sealing.SectorProving'), [
    { number: 1, first: 1000, marked: 4000 },
    { number: 3, first: 1500 },
  ]);
  t.deepEqual(store.logMarks(2000, 'event;sealing.SectorProving'), [{ number: 2, first: 1000 }]);
  t.throws(() => store.logMarks(1000, ''), { instanceOf: InvalidArgumentError });
});
