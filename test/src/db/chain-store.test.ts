import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blake2b } from '@noble/hashes/blake2b';
import anyTest, { type TestFn } from 'ava';
import Database from 'better-sqlite3';
import { encode } from 'cborg';
import { CID } from 'multiformats/cid';
import { type ChainGenesis, type ChainMessageDraft, ChainStore } from '../../../src/db/chain-store.js';
import { type Db, openDatabase } from '../../../src/db/database.js';
import { migrations } from '../../../src/db/migrations.js';

const test = anyTest as TestFn<{ dir: string; db: Db; store: ChainStore }>;

test.beforeEach((t) => {
  const dir = mkdtempSync(join(tmpdir(), 'chain-store-'));
  const db = openDatabase(join(dir, 'db.sqlite'));
  t.context = { dir, db, store: new ChainStore(db) };
});
test.afterEach.always((t) => {
  t.context.db.close();
  rmSync(t.context.dir, { recursive: true, force: true });
});

const GENESIS: ChainGenesis = { nonce: 'ab'.repeat(32), genesisTime: 1000, epochMs: 2000, baseEpoch: 0, baseTime: 1000 };
const COMM_R = 'bagboea4b5abcbrshxgmmpaucffwp2elaofbcrvb7hmcu3653o4lsw2arlor4hn3c';

function preCommit(number: number, extra: Partial<ChainMessageDraft> = {}): ChainMessageDraft {
  return {
    kind: 'precommit',
    miner: 1000,
    number,
    params: { sealProof: 5, commR: COMM_R, ticketEpoch: 3, dealIds: [] },
    sentEpoch: 4,
    sentAt: 9000,
    ...extra,
  };
}

test('a new database holds the chain tables at the newest schema version', (t) => {
  t.is(t.context.db.pragma('user_version', { simple: true }), migrations.length);
  const tables = t.context.db
    .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'chain_%' ORDER BY name")
    .all()
    .map((r) => r.name);
  t.deepEqual(tables, ['chain_genesis', 'chain_head', 'chain_messages']);
});

test('the first genesis wins and the head starts at its base epoch', (t) => {
  const { store } = t.context;
  t.is(store.genesis(), undefined);
  t.is(store.head(), undefined);
  t.deepEqual(store.createGenesis(GENESIS), GENESIS);
  t.deepEqual(store.createGenesis({ ...GENESIS, nonce: 'cd'.repeat(32), genesisTime: 5 }), GENESIS);
  t.is(store.head(), 0);
});

test('the head only moves forward', (t) => {
  const { store } = t.context;
  store.createGenesis(GENESIS);
  t.is(store.advance(7, 2000), 7);
  t.is(store.advance(3, 3000), 7);
  t.is(store.advance(8, 4000), 8);
  t.is(store.head(), 8);
});

test('rebase changes the epoch duration and where epochs count from', (t) => {
  const { store } = t.context;
  store.createGenesis(GENESIS);
  t.deepEqual(store.rebase(500, 12, 30_000), { ...GENESIS, epochMs: 500, baseEpoch: 12, baseTime: 30_000 });
  t.deepEqual(store.genesis(), { ...GENESIS, epochMs: 500, baseEpoch: 12, baseTime: 30_000 });
});

test('a message id is the CID of its dag-cbor encoding under BLAKE2b-256, like a Lotus message CID', (t) => {
  const { message } = t.context.store.putMessage(preCommit(1));
  t.regex(message.id, /^bafy2bzace/);
  const cid = CID.parse(message.id);
  t.is(cid.code, 0x71);
  t.is(cid.multihash.code, 0xb220);
  const params = `{"commR":"${COMM_R}","dealIds":[],"sealProof":5,"ticketEpoch":3}`;
  const expected = blake2b(encode(['precommit', 1000, 1, params, 1]), { dkLen: 32 });
  t.deepEqual(new Uint8Array(cid.multihash.digest), new Uint8Array(expected));
});

test('the same message sent again is the first one, whatever the order of its parameter keys', (t) => {
  const { store } = t.context;
  const first = store.putMessage(preCommit(1));
  t.true(first.created);
  const again = store.putMessage(
    preCommit(1, { params: { dealIds: [], ticketEpoch: 3, commR: COMM_R, sealProof: 5 }, sentEpoch: 9, sentAt: 20_000 }),
  );
  t.false(again.created);
  t.deepEqual(again.message, first.message);
  t.is(store.messagesOf(1000, 1).length, 1);
});

test('other parameters, another kind or another sector make a new message', (t) => {
  const { store } = t.context;
  const a = store.putMessage(preCommit(1)).message;
  const b = store.putMessage(preCommit(1, { params: { sealProof: 5, commR: COMM_R, ticketEpoch: 4, dealIds: [] } })).message;
  const c = store.putMessage(preCommit(2)).message;
  const d = store.putMessage(preCommit(1, { kind: 'fault', params: { reason: 'disk gone' } })).message;
  t.is(new Set([a.id, b.id, c.id, d.id]).size, 4);
  t.deepEqual(
    store.messagesOf(1000, 1).map((m) => m.seq),
    [1, 2, 4],
  );
});

test('a message sent again after it failed is a new message; after it landed it is the same', (t) => {
  const { store } = t.context;
  const failed = store.putMessage(preCommit(1)).message;
  t.true(store.includeMessage(failed.id, { epoch: 5, ok: false, code: 'TICKET_EXPIRED', reason: 'ticket too old' }));
  const retry = store.putMessage(preCommit(1, { sentEpoch: 6 }));
  t.true(retry.created);
  t.not(retry.message.id, failed.id);
  t.true(store.includeMessage(retry.message.id, { epoch: 7, ok: true }));
  const again = store.putMessage(preCommit(1, { sentEpoch: 8 }));
  t.false(again.created);
  t.is(again.message.id, retry.message.id);
  t.deepEqual(store.message(failed.id)?.included, { epoch: 5, ok: false, code: 'TICKET_EXPIRED', reason: 'ticket too old' });
});

test('pending messages sent before an epoch come in sending order, and the first fate recorded stays', (t) => {
  const { store } = t.context;
  const a = store.putMessage(preCommit(1, { sentEpoch: 2 })).message;
  const b = store.putMessage(preCommit(2, { sentEpoch: 2 })).message;
  const c = store.putMessage(preCommit(3, { sentEpoch: 5 })).message;
  t.deepEqual(
    store.pendingMessages(5).map((m) => m.id),
    [a.id, b.id],
  );
  t.true(store.includeMessage(a.id, { epoch: 3, ok: true }));
  t.false(store.includeMessage(a.id, { epoch: 4, ok: false, code: 'PRECOMMIT_REFUSED', reason: 'second opinion' }));
  t.deepEqual(store.message(a.id)?.included, { epoch: 3, ok: true });
  t.deepEqual(
    store.pendingMessages(6).map((m) => m.id),
    [b.id, c.id],
  );
});

test('the landed message of a sector is its latest one of that kind that landed', (t) => {
  const { store } = t.context;
  t.is(store.landedMessage(1000, 1, 'precommit'), undefined);
  const a = store.putMessage(preCommit(1)).message;
  store.includeMessage(a.id, { epoch: 5, ok: true });
  const b = store.putMessage(preCommit(1, { params: { sealProof: 5, commR: COMM_R, ticketEpoch: 9, dealIds: [] } })).message;
  store.includeMessage(b.id, { epoch: 6, ok: false, code: 'PRECOMMIT_REFUSED', reason: 'already pre-committed' });
  t.is(store.landedMessage(1000, 1, 'precommit')?.id, a.id);
  t.is(store.landedMessage(1000, 1, 'commit'), undefined);
  t.is(store.landedMessage(1001, 1, 'precommit'), undefined);
});

test('bad input is refused by name and writes nothing', (t) => {
  const { store } = t.context;
  t.throws(() => store.createGenesis({ ...GENESIS, nonce: 'xyz' }), { code: 'INVALID_ARGUMENT', message: /nonce/ });
  t.throws(() => store.createGenesis({ ...GENESIS, epochMs: 0 }), { code: 'INVALID_ARGUMENT', message: /epoch duration/ });
  t.is(store.genesis(), undefined);
  t.throws(() => store.rebase(1000, 0, 0), { code: 'INTERNAL', message: /no genesis/ });
  t.throws(() => store.advance(3, 0), { code: 'INTERNAL', message: /no genesis/ });
  t.throws(() => store.putMessage(preCommit(1, { kind: 'vote' as 'fault' })), { code: 'INVALID_ARGUMENT', message: /kind "vote"/ });
  t.throws(() => store.putMessage(preCommit(-1)), { code: 'INVALID_ARGUMENT', message: /number -1/ });
  t.throws(() => store.includeMessage('x', { epoch: -2, ok: true }), { code: 'INVALID_ARGUMENT', message: /epoch -2/ });
  const m = store.putMessage(preCommit(2)).message;
  t.throws(() => store.includeMessage(m.id, { epoch: 5, ok: false, code: 'TOO_OLD' as 'TICKET_EXPIRED', reason: 'r' }), {
    code: 'INVALID_ARGUMENT',
    message: /refusal code "TOO_OLD"/,
  });
  t.is(store.message(m.id)?.included, undefined);
  t.deepEqual(store.messagesOf(1000, 1), []);
});

test('refusals recorded before refusal codes existed get the code their reason names when the database is migrated', (t) => {
  const path = join(t.context.dir, 'v6.sqlite');
  const old = new Database(path);
  old.exec(migrations.slice(0, 6).join('\n'));
  old.pragma('user_version = 6');
  const insert = old.prepare(
    `INSERT INTO chain_messages (id, seq, kind, miner, number, params, sent_epoch, sent_at, included_epoch, ok, reason)
     VALUES (?, ?, ?, 1000, ?, '{}', 1, 0, 2, ?, ?)`,
  );
  insert.run('m1', 1, 'precommit', 1, 0, 'ticket epoch 4 is too old: more than 5 epochs before epoch 10');
  insert.run('m2', 2, 'precommit', 2, 0, 'sector 2 is already pre-committed (message m9)');
  insert.run('m3', 3, 'commit', 3, 0, 'invalid seal proof: bad');
  insert.run('m4', 4, 'commit', 4, 0, 'sector 4 has no pre-commit on chain');
  insert.run('m5', 5, 'fault', 5, 0, 'sector 5 is not proven: there is no fault to declare');
  insert.run('m6', 6, 'precommit', 6, 1, null);
  old.close();
  const db = openDatabase(path);
  try {
    const store = new ChainStore(db);
    t.deepEqual(
      ['m1', 'm2', 'm3', 'm4', 'm5', 'm6'].map((id) => store.message(id)?.included),
      [
        { epoch: 2, ok: false, code: 'TICKET_EXPIRED', reason: 'ticket epoch 4 is too old: more than 5 epochs before epoch 10' },
        { epoch: 2, ok: false, code: 'PRECOMMIT_REFUSED', reason: 'sector 2 is already pre-committed (message m9)' },
        { epoch: 2, ok: false, code: 'PROOF_INVALID', reason: 'invalid seal proof: bad' },
        { epoch: 2, ok: false, code: 'COMMIT_REFUSED', reason: 'sector 4 has no pre-commit on chain' },
        { epoch: 2, ok: false, code: 'FAULT_REFUSED', reason: 'sector 5 is not proven: there is no fault to declare' },
        { epoch: 2, ok: true },
      ],
    );
  } finally {
    db.close();
  }
});

test('a refusal stored without a known code is refused by name when read', (t) => {
  const { db, store } = t.context;
  const m = store.putMessage(preCommit(1)).message;
  db.prepare("UPDATE chain_messages SET included_epoch = 5, ok = 0, reason = 'r', code = 'NOPE' WHERE id = ?").run(m.id);
  t.throws(() => store.message(m.id), { code: 'INTERNAL', message: `chain message ${m.id} failed with unknown refusal code "NOPE"` });
});
