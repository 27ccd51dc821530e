/**
 * Numbered schema migrations; index i brings the schema from version i to i+1.
 * Never edit a migration that has shipped: append a new one.
 */
export const migrations: readonly string[] = [
  // 1: storage paths, sector files, sector records and their pieces
  `
  CREATE TABLE storage_paths (
    id            TEXT PRIMARY KEY,          -- sectorstore.json ID (uuid)
    urls          TEXT NOT NULL DEFAULT '[]',-- JSON array of base URLs ending in /remote
    weight        INTEGER NOT NULL,
    max_storage   INTEGER NOT NULL DEFAULT 0,
    can_seal      INTEGER NOT NULL,
    can_store     INTEGER NOT NULL,
    local_path    TEXT,                      -- set when the path is on this node
    fs_stat       TEXT,                      -- JSON FsStat from the last heartbeat
    last_heartbeat INTEGER NOT NULL,         -- unix ms
    heartbeat_err TEXT
  );
  CREATE TABLE sector_files (
    miner       INTEGER NOT NULL,
    number      INTEGER NOT NULL,
    file_type   INTEGER NOT NULL CHECK (file_type IN (1, 2, 4)),
    storage_id  TEXT NOT NULL REFERENCES storage_paths(id) ON DELETE CASCADE,
    is_primary  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (miner, number, file_type, storage_id)
  ) WITHOUT ROWID;
  CREATE INDEX sector_files_by_storage ON sector_files(storage_id);
  CREATE TABLE sectors (
    miner       INTEGER NOT NULL,
    number      INTEGER NOT NULL,
    proof_type  INTEGER NOT NULL,
    state       TEXT NOT NULL,
    record      TEXT NOT NULL,               -- JSON persisted sector record ({ v: 1, ... })
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (miner, number)
  ) WITHOUT ROWID;
  CREATE TABLE pieces (
    miner        INTEGER NOT NULL,
    number       INTEGER NOT NULL,
    idx          INTEGER NOT NULL,           -- order in the sector
    piece_cid    TEXT NOT NULL,
    padded_size  INTEGER NOT NULL,
    padded_offset INTEGER NOT NULL,
    payload_size INTEGER NOT NULL,           -- 0 for filler pieces
    is_filler    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (miner, number, idx),
    FOREIGN KEY (miner, number) REFERENCES sectors(miner, number) ON DELETE CASCADE
  ) WITHOUT ROWID;
  CREATE INDEX pieces_by_cid ON pieces(piece_cid);
  `,
  // 2: the FRC-0069 piece CID v2 of each piece (it encodes the payload size, so it is stored
  //    rather than recomputed); NULL for rows written before this migration
  `
  ALTER TABLE pieces ADD COLUMN piece_cid_v2 TEXT;
  `,
  // 3: the call tracker (docs/design/sealing-daemon.md §4); rows are never deleted
  `
  CREATE TABLE calls (
    call_id     TEXT PRIMARY KEY,            -- uuid, never reused
    work_id     TEXT NOT NULL,               -- <task>(<sha256>), same work across restarts
    miner       INTEGER NOT NULL,
    number      INTEGER NOT NULL,
    task        TEXT NOT NULL,               -- AP, PC1, PC2, C1, C2, FIN, GET, UNS
    state       TEXT NOT NULL CHECK (state IN ('started', 'running', 'done', 'returned')),
    priority    INTEGER NOT NULL,
    input       TEXT NOT NULL,               -- JSON of the whole task
    worker      TEXT,
    hostname    TEXT,
    attempts    INTEGER NOT NULL DEFAULT 0,
    outcome     TEXT CHECK (outcome IN ('ok', 'failed', 'aborted', 'interrupted')),
    result      TEXT,                        -- JSON CallReturn once done
    created_at  INTEGER NOT NULL,
    started_at  INTEGER,
    finished_at INTEGER,
    returned_at INTEGER
  );
  CREATE INDEX calls_by_work ON calls (work_id);
  CREATE INDEX calls_by_sector ON calls (miner, number);
  CREATE INDEX calls_open ON calls (state) WHERE state <> 'returned';
  `,
  // 4: sector records version 2 (docs/design/sealing-daemon.md §7): the sector log, appended in the
  //    transaction that saves the record, and when its last entry was appended (the failure
  //    cool-down counts from it); version 1 records keep their JSON and are upgraded when read
  `
  ALTER TABLE sectors ADD COLUMN last_log_at INTEGER;
  UPDATE sectors SET last_log_at = updated_at;
  CREATE TABLE sector_log (
    id          INTEGER PRIMARY KEY,         -- order of the entries of a sector
    miner       INTEGER NOT NULL,
    number      INTEGER NOT NULL,
    kind        TEXT NOT NULL,               -- Lotus's kind: event;sealing.<EventName>, truncate, …
    message     TEXT NOT NULL,
    trace       TEXT,
    timestamp   INTEGER NOT NULL,            -- unix ms
    FOREIGN KEY (miner, number) REFERENCES sectors (miner, number) ON DELETE CASCADE
  );
  CREATE INDEX sector_log_by_sector ON sector_log (miner, number, id);
  `,
  // 5: the local chain (src/chain/local-chain.ts, a stand-in for a blockchain): its genesis, its
  //    head and the messages sectors sent to it. Randomness is derived from the genesis nonce and
  //    the epoch, so none is stored.
  `
  CREATE TABLE chain_genesis (
    id           INTEGER PRIMARY KEY CHECK (id = 1),  -- one row
    nonce        TEXT NOT NULL,             -- 32 random bytes (hex), drawn once per repository
    genesis_time BIGINT NOT NULL,           -- unix ms of epoch 0
    epoch_ms     INTEGER NOT NULL,          -- the epoch duration in force
    base_epoch   BIGINT NOT NULL,           -- epochs count from base_epoch at base_time (moved
    base_time    BIGINT NOT NULL            --   when the epoch duration changes)
  );
  CREATE TABLE chain_head (
    id          INTEGER PRIMARY KEY CHECK (id = 1),   -- one row
    epoch       BIGINT NOT NULL,            -- the highest epoch reached; never goes back
    updated_at  BIGINT NOT NULL             -- unix ms
  );
  CREATE TABLE chain_messages (
    id             TEXT PRIMARY KEY,        -- message CID (dag-cbor, BLAKE2b-256)
    seq            BIGINT NOT NULL UNIQUE,  -- order of sending
    kind           TEXT NOT NULL CHECK (kind IN ('precommit', 'commit', 'fault')),
    miner          BIGINT NOT NULL,
    number         BIGINT NOT NULL,
    params         TEXT NOT NULL,           -- canonical JSON
    sent_epoch     BIGINT NOT NULL,
    sent_at        BIGINT NOT NULL,         -- unix ms
    included_epoch BIGINT,                  -- NULL while pending
    ok             INTEGER,                 -- 1 landed, 0 failed, NULL while pending
    reason         TEXT                     -- why it failed
  );
  CREATE INDEX chain_messages_sector ON chain_messages (miner, number, kind);
  CREATE INDEX chain_messages_pending ON chain_messages (seq) WHERE included_epoch IS NULL;
  `,
  // 6: which node attached each URL of a storage path (JSON object URL → node id), so that a node
  //    attaching again after a restart on a new address replaces its own URLs instead of adding
  `
  ALTER TABLE storage_paths ADD COLUMN url_nodes TEXT NOT NULL DEFAULT '{}';
  `,
  // 7: why the local chain refused a message, as an error code a sector branches on (an expired
  //    ticket means sealing again from a new ticket); refusals recorded before get the code their
  //    reason text names (the reasons src/chain/local-chain.ts wrote)
  `
  ALTER TABLE chain_messages ADD COLUMN code TEXT;
  UPDATE chain_messages SET code = CASE
    WHEN kind = 'precommit' AND reason LIKE 'ticket epoch % is too old:%' THEN 'TICKET_EXPIRED'
    WHEN kind = 'precommit' THEN 'PRECOMMIT_REFUSED'
    WHEN kind = 'commit' AND reason LIKE 'invalid seal proof:%' THEN 'PROOF_INVALID'
    WHEN kind = 'commit' THEN 'COMMIT_REFUSED'
    ELSE 'FAULT_REFUSED'
  END
  WHERE ok = 0;
  `,
  // 8: the dagstore's shards (Lotus markets/dagstore, dagstore v0.4.2 shard_persist.go: key, mount
  //    URL, transient path, state, lazy, error) with the payload roots an import recorded, and its
  //    one-time marks (the migration of sealed deal pieces into shards)
  `
  CREATE TABLE dagstore_shards (
    shard_key   TEXT PRIMARY KEY,            -- the piece CID
    mount_url   TEXT NOT NULL,               -- lotus://<piece CID>
    transient   TEXT,                        -- local copy of the payload, when there is one
    state       TEXT NOT NULL,               -- ShardStateNew, ShardStateAvailable, ...
    lazy        INTEGER NOT NULL,
    error       TEXT,
    roots       TEXT,                        -- JSON array of root CIDs, when known
    updated_at  BIGINT NOT NULL              -- unix ms
  );
  CREATE TABLE dagstore_meta (
    meta_key    TEXT PRIMARY KEY,
    meta_value  TEXT NOT NULL
  );
  `,
  // 9: the PC1 batch a call's last run belonged to (docs/design/scheduler.md §8): every call keeps
  //    its own row, this column names the batch task that labelled it with others; NULL for calls
  //    run alone and for rows written before this migration
  `
  ALTER TABLE calls ADD COLUMN batch TEXT;
  `,
];

/**
 * The schema of a worker process's own database (`sector-storage worker`, its `--repo`), numbered
 * like {@link migrations}: the worker's identity and its durable call store
 * (src/db/worker-call-store.ts).
 */
export const workerMigrations: readonly string[] = [
  // 1: the worker's id and last session, and the calls it runs for its manager
  `
  CREATE TABLE worker_meta (
    key         TEXT PRIMARY KEY,          -- 'worker_id', 'session'
    value       TEXT NOT NULL
  );
  CREATE TABLE worker_calls (
    call_id     TEXT PRIMARY KEY,          -- the manager's call id (the ID of its CallID)
    task        TEXT NOT NULL,             -- AP, PC1, …
    miner       INTEGER NOT NULL,
    number      INTEGER NOT NULL,
    input       TEXT NOT NULL,             -- JSON task, as the manager sent it
    state       TEXT NOT NULL CHECK (state IN ('running', 'done')),
    session     TEXT NOT NULL,             -- the worker process that accepted it
    result      TEXT,                      -- JSON {ok, result} or {ok: false, error} once done
    created_at  INTEGER NOT NULL,          -- unix ms
    finished_at INTEGER
  );
  `,
];
