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
  // 3: which node attached each URL of a storage path (JSON object URL → node id), so that a node
  //    attaching again after a restart on a new address replaces its own URLs instead of adding
  `
  ALTER TABLE storage_paths ADD COLUMN url_nodes TEXT NOT NULL DEFAULT '{}';
  `,
];
