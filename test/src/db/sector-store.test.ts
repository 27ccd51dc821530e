import { sectorMachine } from '../../../machines/sector/sector.machine.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { InvalidArgumentError, SectorRecordInvalidError } from '../../../src/errors.js';
import { type Db, openDatabase } from '../../../src/db/database.js';
import { SECTOR_STATES, type SectorRecordDraft, SectorStore } from '../../../src/db/sector-store.js';

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
const COMMR = 'bagboea4b5abcbmfzw5ih3cgvjy2bvnuyjbzqa5a3xadoqzyyyvd6r7i2ktgvmbrh';
const HEX = (b: number) => b.toString(16).padStart(2, '0').repeat(32);

function draft(number: number, extra: Partial<SectorRecordDraft> = {}): SectorRecordDraft {
  return {
    v: 2,
    miner: 1000,
    number,
    proofType: 5,
    state: 'WaitDeals',
    pieces: [
      { pieceCid: V1, pieceCidV2: V2, paddedOffset: 0, paddedSize: 128, payloadSize: 100, filler: false },
      { pieceCid: FILLER, paddedOffset: 128, paddedSize: 128, payloadSize: 0, filler: true },
    ],
    packingRequested: false,
    counters: { preCommit2Fails: 0, invalidProofs: 0, retries: 0 },
    ...extra,
  };
}

/** A row written behind the store's back, as a damaged file or a newer program would leave it. */
function rawRow(db: Db, number: number, record: string, state = 'WaitDeals') {
  db.prepare('INSERT INTO sectors (miner, number, proof_type, state, record, updated_at, last_log_at) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
    1000,
    number,
    5,
    state,
    record,
    1,
    1,
  );
}

test('a saved record reads back with its pieces in order and stamped updatedAt and lastLogAt', (t) => {
  const store = new SectorStore(t.context.db, { now: () => 1234 });
  const saved = store.save(draft(3, { commD: V1, error: { code: 'INTERNAL', message: 'boom' }, state: 'AddPieceFailed' }));
  t.is(saved.updatedAt, 1234);
  t.is(saved.lastLogAt, 1234, 'a new record counts its creation as its last log time');
  const back = store.get(1000, 3);
  t.deepEqual(back, saved);
  t.is(back?.pieces[0]?.pieceCidV2, V2);
  t.is(back?.pieces[1]?.pieceCidV2, undefined, 'fillers have no v2 CID');
  t.is(store.get(1000, 4), undefined);
});

test('every version 2 field round-trips, and fields the record does not know are not stored', (t) => {
  const store = new SectorStore(t.context.db, { now: () => 9 });
  const full = draft(1, {
    state: 'CommitWait',
    packingRequested: true,
    commD: V1,
    ticket: { value: HEX(1), epoch: 10 },
    pc1: { replicaId: HEX(2), commDHex: HEX(3), ticket: HEX(6), layerDigests: [HEX(4), HEX(5)] },
    commR: COMMR,
    preCommit: { message: 'local-msg-1', epoch: 12 },
    seed: { value: HEX(6), epoch: 15 },
    c1: { sha256: HEX(7), bytes: 123456 },
    commit: { message: 'local-msg-2' },
    proof: { sha256: HEX(8), bytes: 192, prover: 'vanilla-bundle' },
    counters: { preCommit2Fails: 2, invalidProofs: 1, retries: 5 },
    error: { code: 'PROOF_INVALID', message: 'bad proof' },
    sealStartedAt: 100,
    provingAt: 200,
  });
  store.save({ ...full, stray: 'x' } as SectorRecordDraft);
  const back = store.get(1000, 1);
  t.deepEqual(back, { ...full, lastLogAt: 9, updatedAt: 9 });
  const json = t.context.db.prepare('SELECT record FROM sectors WHERE number = 1').pluck().get() as string;
  t.false(json.includes('stray'));
  t.false(json.includes('pieceCid'), 'pieces live in their table, not in the JSON');
});

test('a record may hold exactly the states the sector machine persists', (t) => {
  const store = new SectorStore(t.context.db);
  // the machine's top-level states, less the ones that are never persisted (routing steps, and a
  // new sector discarded before anything of it was written)
  const transient = ['restoring', 'routing', 'Discarded'];
  // plus Lotus's deprecated Empty, which is read (and resumed as WaitDeals) but never entered
  const phases = [...Object.keys(sectorMachine.root.states).filter((s) => !transient.includes(s)), 'Empty'];
  t.deepEqual([...SECTOR_STATES].sort(), [...phases].sort());
  for (const [i, state] of phases.entries()) store.save(draft(i, { state: state as SectorRecordDraft['state'] }));
  t.deepEqual(
    store.list(1000).map((r) => r.state),
    phases,
  );
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

test('summary counts one miner’s sectors per state and listInStates returns those in the given states', (t) => {
  const store = new SectorStore(t.context.db);
  store.save(draft(1, { state: 'PreCommit1' }));
  store.save(draft(2, { state: 'Proving' }));
  store.save(draft(3, { state: 'Proving' }));
  store.save(draft(4, { state: 'WaitDeals' }));
  store.save({ ...draft(5, { state: 'Proving' }), miner: 2000 });
  t.deepEqual(store.summary(1000), { PreCommit1: 1, Proving: 2, WaitDeals: 1 });
  t.deepEqual(store.summary(3000), {});
  t.deepEqual(
    store.listInStates(1000, ['Proving', 'PreCommit1']).map((r) => [r.number, r.state, r.pieces.length]),
    [
      [1, 'PreCommit1', 2],
      [2, 'Proving', 2],
      [3, 'Proving', 2],
    ],
  );
  t.deepEqual(store.listInStates(1000, []), []);
  t.throws(() => store.listInStates(1000, ['Proving', 'Sealing' as never]), { instanceOf: InvalidArgumentError, message: 'not a sector state: "Sealing"' });
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

test('an unreadable record is refused by name and does not take the other records down', (t) => {
  const { db } = t.context;
  const store = new SectorStore(db);
  store.save(draft(1));
  rawRow(db, 7, JSON.stringify({ v: 3, miner: 1000, number: 7 }));
  rawRow(db, 8, '{"v": 2, "miner": 10', 'Proving');
  rawRow(db, 9, JSON.stringify({ ...draft(9), pieces: undefined, miner: 1001 }));
  rawRow(db, 10, JSON.stringify({ ...draft(10), pieces: undefined, counters: { retries: -1 } }));
  store.save(draft(11));
  const err = t.throws(() => store.get(1000, 7), { instanceOf: SectorRecordInvalidError });
  t.is(err.message, 'sector record of miner 1000 sector 7 is unreadable: its version 3 is not one this program reads (1 or 2)');
  const { records, unreadable } = store.listWithErrors(1000);
  t.deepEqual(
    records.map((r) => r.number),
    [1, 11],
  );
  t.deepEqual(unreadable, [
    { miner: 1000, number: 7, state: 'WaitDeals', reason: 'its version 3 is not one this program reads (1 or 2)' },
    { miner: 1000, number: 8, state: 'Proving', reason: 'its JSON does not parse' },
    { miner: 1000, number: 9, state: 'WaitDeals', reason: 'it names miner 1001 sector 9' },
    {
      miner: 1000,
      number: 10,
      state: 'WaitDeals',
      reason: 'sector record field counters must be {preCommit2Fails, invalidProofs, retries}',
    },
  ]);
  t.deepEqual(
    store.list(1000).map((r) => r.number),
    [1, 11],
  );
  t.is(store.nextNumber(1000), 12, 'unreadable sectors keep their numbers');
  t.deepEqual(store.summary(1000), { Proving: 1, WaitDeals: 5 }, 'the summary counts rows by their state column, readable or not');
});

test('an invalid record is refused by field before anything is written', (t) => {
  const store = new SectorStore(t.context.db);
  store.save(draft(1));
  const refused = (d: unknown, message: RegExp) =>
    t.throws(() => store.save(d as SectorRecordDraft), { instanceOf: SectorRecordInvalidError, message });
  refused({ ...draft(1), state: 'Bogus', pieces: [] }, /field state is not a sector state: "Bogus"/);
  refused({ ...draft(1), pieces: [{ pieceCid: V1, paddedOffset: -1, paddedSize: 128, payloadSize: 1, filler: false }] }, /pieces\[0\]/);
  refused({ ...draft(1), v: 1 }, /field v must be 2/);
  refused({ ...draft(1), counters: undefined }, /field counters/);
  refused({ ...draft(1), ticket: { value: 'ABCD', epoch: 1 } }, /field ticket must be \{value: 64 hex digits, epoch\}/);
  refused({ ...draft(1), seed: { value: HEX(1), epoch: -1 } }, /field seed/);
  refused({ ...draft(1), pc1: { replicaId: HEX(1), commDHex: HEX(2), ticket: HEX(3), layerDigests: ['x'] } }, /field pc1/);
  refused({ ...draft(1), preCommit: { epoch: 3 } }, /field preCommit must be \{message, epoch\?\}/);
  refused({ ...draft(1), commit: { message: 'm', epoch: 1.5 } }, /field commit.epoch/);
  refused({ ...draft(1), c1: { sha256: HEX(1) } }, /field c1/);
  refused({ ...draft(1), proof: { sha256: HEX(1), bytes: '1' } }, /field proof/);
  refused({ ...draft(1), commR: 7 }, /field commR/);
  refused({ ...draft(1), error: { code: 'NOPE', message: 'x' } }, /field error/);
  refused({ ...draft(1), provingAt: -5 }, /field provingAt/);
  t.is(store.get(1000, 1)?.pieces.length, 2, 'the previous record is intact');
  t.deepEqual(
    store.list().map((r) => r.number),
    [1],
  );
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

test('a save with create writes a new record and its log, and is refused with SECTOR_EXISTS over any existing row, readable or not', (t) => {
  const store = new SectorStore(t.context.db, { now: () => 5 });
  store.save(draft(2, { state: 'Proving', packingRequested: true, commR: COMMR }), { create: true, log: [{ kind: 'import', message: 'from its files' }] });
  t.is(store.get(1000, 2)?.state, 'Proving');
  t.deepEqual(store.log(1000, 2), [{ kind: 'import', message: 'from its files', timestamp: 5 }]);

  const err = t.throws(() => store.save(draft(2), { create: true, log: [{ kind: 'import', message: 'again' }] }), { code: 'SECTOR_EXISTS' });
  t.is(err?.message, 'sector 2 of miner 1000 already has a record');
  t.is(store.get(1000, 2)?.state, 'Proving', 'the record is untouched');
  t.is(store.get(1000, 2)?.pieces.length, 2);
  t.is(store.log(1000, 2).length, 1, 'and so is its log');

  rawRow(t.context.db, 3, '{"v": 99}');
  t.throws(() => store.save(draft(3), { create: true }), { code: 'SECTOR_EXISTS' });
  t.throws(() => store.get(1000, 3), { code: 'SECTOR_RECORD_INVALID' }, 'the unreadable row is not overwritten');
  store.save(draft(3));
  t.is(store.get(1000, 3)?.state, 'WaitDeals', 'without create a save replaces the row, as before');
});

test('a save that changes only the state leaves the piece rows alone; one that changes a piece rewrites them', (t) => {
  const store = new SectorStore(t.context.db);
  const changes = () => (t.context.db.prepare('SELECT total_changes() AS n').get() as { n: number }).n;
  store.save(draft(4));
  let before = changes();
  store.save(draft(4, { state: 'Packing' }));
  t.is(changes() - before, 1, 'the sectors row only');
  t.deepEqual(store.get(1000, 4)?.pieces.map((p) => p.pieceCid), [V1, FILLER]);
  before = changes();
  const pieces = [draft(4).pieces[0]!, { pieceCid: FILLER, paddedOffset: 128, paddedSize: 128, payloadSize: 0, filler: true }, { pieceCid: FILLER, paddedOffset: 256, paddedSize: 256, payloadSize: 0, filler: true }];
  store.save(draft(4, { state: 'Packing', pieces }));
  t.is(changes() - before, 1 + 2 + 3, 'the sectors row, the two old piece rows deleted, three written');
  t.deepEqual(
    store.get(1000, 4)?.pieces.map((p) => [p.paddedOffset, p.paddedSize]),
    [
      [0, 128],
      [128, 128],
      [256, 256],
    ],
  );
});
