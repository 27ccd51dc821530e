/**
 * The one SQLite database of a repository (better-sqlite3, WAL). Only the index actor holds a
 * read-write connection in the daemon; tests and offline tools open their own.
 * Schema changes are numbered migrations applied in one transaction at open.
 */
import Database from 'better-sqlite3';
import { migrations } from './migrations.js';

export type Db = Database.Database;

const runners = new WeakMap<Db, (fn: () => unknown) => unknown>();

/**
 * Runs `fn` in a transaction of `db` (a savepoint when one is open), committing when it returns and
 * rolling back when it throws. better-sqlite3 builds four wrapper functions for every
 * `db.transaction(fn)`; this builds them once per database, which matters on paths that run per
 * call (the index actor's batches, a sector record's save).
 */
export function inTransaction<T>(db: Db, fn: () => T): T {
  let run = runners.get(db);
  if (!run) {
    run = db.transaction((f: () => unknown) => f());
    runners.set(db, run);
  }
  return run(fn) as T;
}

/**
 * Opens (creating if needed) the database at `path` and applies pending migrations: the daemon
 * repository's schema, or `options.migrations` (a worker process's, `workerMigrations`).
 */
export function openDatabase(path: string, options: { readonly?: boolean; migrations?: readonly string[] } = {}): Db {
  const db = new Database(path, { readonly: options.readonly ?? false, timeout: 5000 });
  if (!options.readonly) {
    db.pragma('journal_mode = WAL');
    // NORMAL under WAL loses at most the last transactions on power loss, never consistency;
    // sector files are fsynced before their rows are written, so a lost row is re-declared by a scan.
    db.pragma('synchronous = NORMAL');
    // A checkpoint runs inside the commit that crosses the threshold, on the writer's thread. A
    // daemon checkpoints on a thread of its own well before it (src/db/checkpointer.ts), so this is
    // the backstop: at 10 000 pages (about 40 MiB) it finds most frames copied already. Without
    // that thread (a tool's short-lived connection), 10 000 pages still copies each hot page (sector
    // rows, call rows) once per far more commits than SQLite's default of 1 000. The file is cut
    // back to 64 MiB after a checkpoint. Durability is the same: a commit is in the WAL either way.
    db.pragma('wal_autocheckpoint = 10000');
    db.pragma(`journal_size_limit = ${64 * 1024 * 1024}`);
    db.pragma('foreign_keys = ON');
    migrate(db, options.migrations);
  }
  return db;
}

/** Applies every migration newer than `PRAGMA user_version`, all in one transaction. */
export function migrate(db: Db, list: readonly string[] = migrations): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > list.length) {
    throw new Error(`database schema version ${current} is newer than this program understands (${list.length}); refusing to open it`);
  }
  const pending = list.slice(current);
  if (pending.length === 0) return;
  db.transaction(() => {
    for (const m of pending) db.exec(m);
    db.pragma(`user_version = ${list.length}`);
  })();
}
