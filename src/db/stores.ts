/**
 * The stores of the repository database, by the name the index actor serves them under. Each is a
 * class of synchronous methods over prepared statements; the index actor runs them in its
 * transactions and answers through one request/reply protocol (machines/protocol.ts `index.call`).
 * A new store is one more entry here, nothing else: the protocol's call type, the index actor's
 * dispatch and the IndexClient proxy are all derived from this map.
 */
import { StorageCatalog } from './storage-catalog.js';
import { CallStore } from './call-store.js';
import { ChainStore } from './chain-store.js';
import type { Db } from './database.js';
import { type SectorRecord, SectorStore } from './sector-store.js';
import { ShardStore } from './shard-store.js';

export interface IndexStores {
  /** Storage paths and the sector files on them (Lotus's sector index). */
  catalog: StorageCatalog;
  /** Sector records, their pieces and their logs. */
  sectors: SectorStore;
  /** The call tracker. */
  calls: CallStore;
  /** The local chain's epochs and messages (a stand-in for a blockchain, src/chain/local-chain.ts). */
  chain: ChainStore;
  /** The dagstore's shard records and its one-time marks. */
  shards: ShardStore;
}

/** What the stores of a repository database are built with. */
export interface IndexStoresOptions {
  /** Stamps the stores' times (unix ms). @default Date.now */
  now?: () => number;
  /** Hears every sector record saved (SectorStore's `onSaved`). */
  onSaved?: (record: SectorRecord) => void;
}

/**
 * The daemon's stores over one connection: the one place they are built, on the daemon's thread
 * (start-up reads, an in-memory database) and on the store thread (src/db/store-thread.ts).
 */
export function createIndexStores(db: Db, options: IndexStoresOptions = {}): IndexStores {
  const now = options.now ?? Date.now;
  const calls = new CallStore(db, { now });
  return {
    catalog: new StorageCatalog(db, { clock: { now } }),
    sectors: new SectorStore(db, { now, calls, ...(options.onSaved ? { onSaved: options.onSaved } : {}) }),
    calls,
    chain: new ChainStore(db),
    shards: new ShardStore(db, { now }),
  };
}

/** A store's name. */
export type IndexStoreName = keyof IndexStores;

/** Names of the methods of `S`. */
export type StoreMethod<S> = { [K in keyof S]: S[K] extends (...args: never[]) => unknown ? K : never }[keyof S] & string;

/** One call of one method of one store of the map `M`, typed by the method's parameters. */
export type StoreCallOf<M> = {
  [S in keyof M & string]: {
    [K in StoreMethod<M[S]>]: M[S][K] extends (...args: infer A) => unknown ? { store: S; method: K; args: A } : never;
  }[StoreMethod<M[S]>];
}[keyof M & string];

/** One call of a store's method (`{store: 'calls', method: 'finish', args}` is checked against `CallStore.finish`). */
export type StoreCall = StoreCallOf<IndexStores>;

/** Every method of `T`, returning a Promise of its result (how a store looks from outside the index actor). */
export type Asyncified<T> = {
  [K in StoreMethod<T>]: T[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never;
};

/** Every store of the map `M`, asyncified. */
export type StoreClients<M> = { [S in keyof M]: Asyncified<M[S]> };
