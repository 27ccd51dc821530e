/**
 * The daemon's stores plus a store the daemon does not have (`counters`): a store factory that
 * the store thread (src/db/store-thread.ts) can load by module and name, as it loads the daemon's
 * own `createIndexStores`, to show that a store is added without any edit of the index actor or
 * the thread.
 */
import type { Db } from '../../src/db/database.js';
import { type IndexStores, type IndexStoresOptions, createIndexStores } from '../../src/db/stores.js';
import { InvalidArgumentError } from '../../src/errors.js';

/**
 * `breakCommit` leaves a deferred foreign-key violation, which SQLite checks only at COMMIT: the
 * call itself succeeds, the transaction holding it cannot commit. `die` ends the thread it runs on.
 */
export class CounterStore {
  readonly #bump;
  readonly #get;
  readonly #orphan;
  constructor(db: Db) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS test_counters (name TEXT PRIMARY KEY, n INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS test_parents (id TEXT PRIMARY KEY);
      CREATE TABLE IF NOT EXISTS test_orphans (parent TEXT REFERENCES test_parents (id) DEFERRABLE INITIALLY DEFERRED);
    `);
    this.#bump = db.prepare<[string, number]>(
      'INSERT INTO test_counters (name, n) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET n = n + excluded.n',
    );
    this.#get = db.prepare<[string], { n: number }>('SELECT n FROM test_counters WHERE name = ?');
    this.#orphan = db.prepare("INSERT INTO test_orphans (parent) VALUES ('nobody')");
  }
  bump(name: string, by = 1): number {
    this.#bump.run(name, by);
    return this.value(name);
  }
  value(name: string): number {
    return this.#get.get(name)?.n ?? 0;
  }
  /** Bumps, then throws: the bump must not survive. */
  bumpThenFail(name: string): never {
    this.#bump.run(name, 1);
    throw new InvalidArgumentError(`counter ${name} refused`);
  }
  breakCommit(): void {
    this.#orphan.run();
  }
  /** Ends the process's thread it runs on (on the store thread: that thread only). */
  die(): never {
    process.exit(3);
  }
}

export type TestStores = IndexStores & { counters: CounterStore };

/** The daemon's stores and the counters (loaded by the store thread as `createTestStores`). */
export function createTestStores(db: Db, options: IndexStoresOptions = {}): TestStores {
  return { ...createIndexStores(db, options), counters: new CounterStore(db) };
}

/** Where the store thread finds {@link createTestStores}. */
export const TEST_STORES = { module: new URL(import.meta.url), factory: 'createTestStores' };
