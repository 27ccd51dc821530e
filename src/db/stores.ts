/**
 * The stores of the repository database, by the name the index actor serves them under. Each is a
 * class of synchronous methods over prepared statements; the index actor runs them in its
 * transactions and answers through one request/reply protocol (machines/protocol.ts `index.call`).
 * A new store is one more entry here, nothing else.
 */
import type { StorageCatalog } from './storage-catalog.js';
import type { CallStore } from './call-store.js';
import type { SectorStore } from './sector-store.js';

export interface IndexStores {
  /** Storage paths and the sector files on them (Lotus's sector index). */
  catalog: StorageCatalog;
  /** Sector records, their pieces and their logs. */
  sectors: SectorStore;
  /** The call tracker. */
  calls: CallStore;
}

/** A store's name. */
export type IndexStoreName = keyof IndexStores;

/** Names of the methods of `S`. */
export type StoreMethod<S> = { [K in keyof S]: S[K] extends (...args: never[]) => unknown ? K : never }[keyof S] & string;

/** One call of one store's method, typed by its parameters. */
export type StoreCall = {
  [S in IndexStoreName]: {
    [M in StoreMethod<IndexStores[S]>]: IndexStores[S][M] extends (...args: infer A) => unknown
      ? { store: S; method: M; args: A }
      : never;
  }[StoreMethod<IndexStores[S]>];
}[IndexStoreName];
