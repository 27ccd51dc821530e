/**
 * A repository written by the deal-filling daemon (schema version 2, sector records version 1),
 * built here from that version's own DDL and rows, opened by this program.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import Database from 'better-sqlite3';
import { openDatabase } from '../../../src/db/database.js';
import { migrations } from '../../../src/db/migrations.js';
import { SectorStore } from '../../../src/db/sector-store.js';

/** The schema as version 2 of the program created it (migrations 1 and 2 as they shipped). */
const V1_SCHEMA = `
  CREATE TABLE storage_paths (
    id TEXT PRIMARY KEY, urls TEXT NOT NULL DEFAULT '[]', weight INTEGER NOT NULL, max_storage INTEGER NOT NULL DEFAULT 0,
    can_seal INTEGER NOT NULL, can_store INTEGER NOT NULL, local_path TEXT, fs_stat TEXT,
    last_heartbeat INTEGER NOT NULL, heartbeat_err TEXT
  );
  CREATE TABLE sector_files (
    miner INTEGER NOT NULL, number INTEGER NOT NULL, file_type INTEGER NOT NULL CHECK (file_type IN (1, 2, 4)),
    storage_id TEXT NOT NULL REFERENCES storage_paths(id) ON DELETE CASCADE, is_primary INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (miner, number, file_type, storage_id)
  ) WITHOUT ROWID;
  CREATE INDEX sector_files_by_storage ON sector_files(storage_id);
  CREATE TABLE sectors (
    miner INTEGER NOT NULL, number INTEGER NOT NULL, proof_type INTEGER NOT NULL, state TEXT NOT NULL,
    record TEXT NOT NULL, updated_at INTEGER NOT NULL, PRIMARY KEY (miner, number)
  ) WITHOUT ROWID;
  CREATE TABLE pieces (
    miner INTEGER NOT NULL, number INTEGER NOT NULL, idx INTEGER NOT NULL, piece_cid TEXT NOT NULL,
    padded_size INTEGER NOT NULL, padded_offset INTEGER NOT NULL, payload_size INTEGER NOT NULL,
    is_filler INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (miner, number, idx),
    FOREIGN KEY (miner, number) REFERENCES sectors(miner, number) ON DELETE CASCADE
  ) WITHOUT ROWID;
  CREATE INDEX pieces_by_cid ON pieces(piece_cid);
  ALTER TABLE pieces ADD COLUMN piece_cid_v2 TEXT;
  PRAGMA user_version = 2;
`;

const CID = 'baga6ea4seaqp3xq5uiz5td26pslqr5gksd7usuiobpwu23emcqmapzsyxgtzkcy';
const CID_V2 = 'bafkzcibcdmbp3xq5uiz5td26pslqr5gksd7usuiobpwu23emcqmapzsyxgtzkcy';
const FILLER = 'baga6ea4seaqdomn3tgwgrh3g532zopskstnbrd2n3sxfqbze7rxt7vqn7veigmy';

/** Rows exactly as version 1 wrote them: the record JSON held `updatedAt`, pieces had their own rows. */
function buildV1Repository(path: string) {
  const db = new Database(path);
  db.exec(V1_SCHEMA);
  const sector = db.prepare('INSERT INTO sectors (miner, number, proof_type, state, record, updated_at) VALUES (?, ?, ?, ?, ?, ?)');
  const piece = db.prepare(
    'INSERT INTO pieces (miner, number, idx, piece_cid, piece_cid_v2, padded_size, padded_offset, payload_size, is_filler) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const v1 = (number: number, state: string, updatedAt: number, extra: object = {}) =>
    sector.run(
      1000,
      number,
      5,
      state,
      JSON.stringify({ v: 1, miner: 1000, number, proofType: 5, state, packingRequested: false, ...extra, updatedAt }),
      updatedAt,
    );
  v1(0, 'WaitDeals', 1_700_000_000_000);
  piece.run(1000, 0, 0, CID, CID_V2, 1024, 0, 1000, 0);
  piece.run(1000, 0, 1, FILLER, null, 1024, 1024, 0, 1);
  v1(1, 'GetTicket', 1_700_000_100_000, { packingRequested: true, commD: CID });
  v1(2, 'AddPieceFailed', 1_700_000_200_000, { error: { code: 'PARTIAL_FILE_CORRUPT', message: 'bad trailer' } });
  sector.run(1000, 3, 5, 'WaitDeals', '{"v":1,"miner":1000,"num', 1_700_000_300_000);
  db.close();
}

test('a version 1 repository opens migrated: its records read as version 2 and a damaged one is reported', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sector-v1-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'db.sqlite');
  buildV1Repository(path);

  const db = openDatabase(path);
  t.teardown(() => db.close());
  t.is(db.pragma('user_version', { simple: true }), migrations.length);
  const store = new SectorStore(db, { now: () => 1_800_000_000_000 });
  const { records, unreadable } = store.listWithErrors(1000);
  const zero = { preCommit2Fails: 0, invalidProofs: 0, retries: 0 };
  t.deepEqual(records, [
    {
      v: 2,
      miner: 1000,
      number: 0,
      proofType: 5,
      state: 'WaitDeals',
      pieces: [
        { pieceCid: CID, pieceCidV2: CID_V2, paddedOffset: 0, paddedSize: 1024, payloadSize: 1000, filler: false },
        { pieceCid: FILLER, paddedOffset: 1024, paddedSize: 1024, payloadSize: 0, filler: true },
      ],
      packingRequested: false,
      counters: zero,
      lastLogAt: 1_700_000_000_000,
      updatedAt: 1_700_000_000_000,
    },
    {
      v: 2,
      miner: 1000,
      number: 1,
      proofType: 5,
      state: 'GetTicket',
      pieces: [],
      packingRequested: true,
      commD: CID,
      counters: zero,
      lastLogAt: 1_700_000_100_000,
      updatedAt: 1_700_000_100_000,
    },
    {
      v: 2,
      miner: 1000,
      number: 2,
      proofType: 5,
      state: 'AddPieceFailed',
      pieces: [],
      packingRequested: false,
      error: { code: 'PARTIAL_FILE_CORRUPT', message: 'bad trailer' },
      counters: zero,
      lastLogAt: 1_700_000_200_000,
      updatedAt: 1_700_000_200_000,
    },
  ]);
  t.deepEqual(unreadable, [{ miner: 1000, number: 3, state: 'WaitDeals', reason: 'its JSON does not parse' }]);

  // written back, a migrated record is version 2 and gets a log
  const [first] = records;
  const saved = store.save({ ...first!, state: 'Packing' }, { log: [{ kind: 'event;sealing.SectorStartPacking', message: '{}' }] });
  t.is(saved.lastLogAt, 1_800_000_000_000);
  const json = JSON.parse(db.prepare('SELECT record FROM sectors WHERE number = 0').pluck().get() as string);
  t.like(json, { v: 2, state: 'Packing', counters: zero });
  t.false('updatedAt' in json, 'store-stamped times live in their columns');
  t.is(store.log(1000, 0).length, 1);
  t.is(store.get(1000, 1)?.lastLogAt, 1_700_000_100_000, 'untouched records keep their migrated last log time');
  t.is(store.nextNumber(1000), 4);
});
