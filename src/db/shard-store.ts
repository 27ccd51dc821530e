/**
 * The dagstore's shard records (dagstore v0.4.2 `shard_persist.go`: `{key, url, transient, state,
 * lazy, error}`, one per shard) and its one-time marks, in the repository database. The shard
 * actors (machines/dagstore/shard.machine.ts) save a record at every state they enter; this store
 * only records. Synchronous, like every store the index actor serves (src/db/stores.ts).
 */
import { InvalidArgumentError, ShardExistsError, ShardUnknownError } from '../errors.js';
import type { Db } from './database.js';

/** dagstore's shard states (`shard_state.go`), by the names Lotus prints. */
export const SHARD_STATES = ['ShardStateNew', 'ShardStateInitializing', 'ShardStateAvailable', 'ShardStateServing', 'ShardStateRecovering', 'ShardStateErrored'] as const;
export type ShardStateName = (typeof SHARD_STATES)[number];

/** A shard as persisted. */
export interface ShardRecord {
  /** The shard key: the piece CID. */
  key: string;
  /** The mount: `lotus://<piece CID>` (markets/dagstore/mount.go). */
  url: string;
  /** The local copy of the payload, when there is one. */
  transient?: string;
  state: ShardStateName;
  lazy: boolean;
  error?: string;
  /** The payload's root CIDs, when an import recorded them. */
  roots?: string[];
  updatedAt: number;
}

interface ShardRow {
  shard_key: string;
  mount_url: string;
  transient: string | null;
  state: string;
  lazy: number;
  error: string | null;
  roots: string | null;
  updated_at: number;
}

function decode(r: ShardRow): ShardRecord {
  const out: ShardRecord = { key: r.shard_key, url: r.mount_url, state: r.state as ShardStateName, lazy: r.lazy !== 0, updatedAt: r.updated_at };
  if (r.transient !== null) out.transient = r.transient;
  if (r.error !== null) out.error = r.error;
  if (r.roots !== null) out.roots = JSON.parse(r.roots) as string[];
  return out;
}

export class ShardStore {
  readonly #db: Db;
  readonly #now: () => number;

  constructor(db: Db, options: { now?: () => number } = {}) {
    this.#db = db;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Registers a new shard (dagstore RegisterShard).
   * @throws ShardExistsError for a key already registered ("shard already exists")
   */
  register(r: { key: string; url: string; lazy: boolean; transient?: string; roots?: string[]; state?: ShardStateName }): ShardRecord {
    if (typeof r.key !== 'string' || r.key === '') throw new InvalidArgumentError('shard key must be a non-empty string');
    if (this.get(r.key)) throw new ShardExistsError(`shard ${r.key} already exists`);
    this.#db
      .prepare('INSERT INTO dagstore_shards (shard_key, mount_url, transient, state, lazy, error, roots, updated_at) VALUES (?, ?, ?, ?, ?, NULL, ?, ?)')
      .run(r.key, r.url, r.transient ?? null, r.state ?? 'ShardStateNew', r.lazy ? 1 : 0, r.roots ? JSON.stringify(r.roots) : null, this.#now());
    return this.get(r.key)!;
  }

  /** Saves a shard's state (and its error, cleared when absent) and transient path. @throws ShardUnknownError */
  save(key: string, change: { state: ShardStateName; error?: string; transient?: string | null }): void {
    if (!SHARD_STATES.includes(change.state)) throw new InvalidArgumentError(`shard state ${JSON.stringify(change.state)} is not one of ${SHARD_STATES.join(', ')}`);
    const res =
      change.transient === undefined
        ? this.#db.prepare('UPDATE dagstore_shards SET state = ?, error = ?, updated_at = ? WHERE shard_key = ?').run(change.state, change.error ?? null, this.#now(), key)
        : this.#db
            .prepare('UPDATE dagstore_shards SET state = ?, error = ?, transient = ?, updated_at = ? WHERE shard_key = ?')
            .run(change.state, change.error ?? null, change.transient, this.#now(), key);
    if (res.changes === 0) throw new ShardUnknownError(`shard ${key} is not registered`);
  }

  /** Sets or clears a shard's transient path. @throws ShardUnknownError */
  setTransient(key: string, transient: string | null): void {
    const res = this.#db.prepare('UPDATE dagstore_shards SET transient = ?, updated_at = ? WHERE shard_key = ?').run(transient, this.#now(), key);
    if (res.changes === 0) throw new ShardUnknownError(`shard ${key} is not registered`);
  }

  get(key: string): ShardRecord | undefined {
    const r = this.#db.prepare<[string], ShardRow>('SELECT * FROM dagstore_shards WHERE shard_key = ?').get(key);
    return r ? decode(r) : undefined;
  }

  /** Every shard, by key. */
  list(): ShardRecord[] {
    return this.#db.prepare<[], ShardRow>('SELECT * FROM dagstore_shards ORDER BY shard_key').all().map(decode);
  }

  /** Removes a shard (dagstore DestroyShard). @throws ShardUnknownError */
  remove(key: string): void {
    if (this.#db.prepare('DELETE FROM dagstore_shards WHERE shard_key = ?').run(key).changes === 0) throw new ShardUnknownError(`shard ${key} is not registered`);
  }

  /** A one-time mark (`.shard-registration-complete` in Lotus's dagstore directory). */
  mark(name: string): string | undefined {
    return this.#db.prepare<[string], { meta_value: string }>('SELECT meta_value FROM dagstore_meta WHERE meta_key = ?').get(name)?.meta_value;
  }

  setMark(name: string, value: string): void {
    this.#db.prepare('INSERT INTO dagstore_meta (meta_key, meta_value) VALUES (?, ?) ON CONFLICT (meta_key) DO UPDATE SET meta_value = excluded.meta_value').run(name, value);
  }
}
