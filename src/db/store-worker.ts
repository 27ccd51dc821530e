/**
 * The store thread (src/db/store-thread.ts): its own read-write connection to the repository
 * database, the stores built over it by the factory it is told to load, and the index actor's
 * batches run on it, one at a time, in the order they come.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { toWireError } from '../errors.js';
import { openDatabase } from './database.js';
import { runBatch, storeMethodNames, type StoreCallRequest } from './store-batch.js';
import type { IndexStoresOptions } from './stores.js';
import type { SectorRecord } from './sector-store.js';
import type { WireError } from '../errors.js';

/** What the store thread is started with. */
export interface StoreWorkerData {
  /** The database file. */
  path: string;
  /** The module whose export `factory` builds the stores: `(db, IndexStoresOptions) => stores`. */
  module: string;
  factory: string;
}

/** Sent to the thread. `now`: the batch's time, which every store of it stamps (the daemon's clock, simulated in tests). */
export type StoreRequest = { type: 'batch'; id: number; now: number; calls: readonly StoreCallRequest[] } | { type: 'close' };

/** A call's answer as it crosses back: errors in their wire form. */
export type WireAnswer = { ok: true; value: unknown } | { ok: false; error: WireError };

/** Sent back: `ready` once the stores are built (or `failed` to build), then one `done` per batch. */
export type StoreReply =
  | { type: 'ready' }
  | { type: 'failed'; message: string }
  | { type: 'done'; id: number; committed: true; answers: WireAnswer[]; saved: SectorRecord[] }
  | { type: 'done'; id: number; committed: false; error: WireError };

const port = parentPort;
if (!port) throw new Error('store-worker.js runs as a worker thread');
const data = workerData as StoreWorkerData;

try {
  const db = openDatabase(data.path);
  let now = 0;
  const saved: SectorRecord[] = [];
  const options: IndexStoresOptions = { now: () => now, onSaved: (r) => saved.push(r) };
  const factory = (await import(data.module))[data.factory] as (db: unknown, options: IndexStoresOptions) => object;
  if (typeof factory !== 'function') throw new Error(`${data.module} has no store factory "${data.factory}"`);
  const stores = factory(db, options);
  const methods = storeMethodNames(stores);
  port.on('message', (m: StoreRequest) => {
    if (m.type === 'close') {
      db.close();
      port.close();
      return;
    }
    now = m.now;
    saved.length = 0;
    const out = runBatch(db, stores, methods, m.calls);
    let reply: StoreReply;
    if (out.committed) {
      const answers = out.answers.map((a): WireAnswer => (a.ok ? a : { ok: false, error: toWireError(a.error) }));
      reply = { type: 'done', id: m.id, committed: true, answers, saved: [...saved] };
    } else {
      reply = { type: 'done', id: m.id, committed: false, error: toWireError(out.error) };
    }
    try {
      port.postMessage(reply);
    } catch (err) {
      // committed, but a value cannot be cloned (a store bug): say so for each call rather than hang
      if (!reply.committed) throw err;
      const error = toWireError(new Error(`committed, but the answer cannot cross to the daemon's thread: ${(err as Error).message}`));
      port.postMessage({ ...reply, answers: reply.answers.map((): WireAnswer => ({ ok: false, error })), saved: [] } satisfies StoreReply);
    }
  });
  port.postMessage({ type: 'ready' } satisfies StoreReply);
} catch (err) {
  port.postMessage({ type: 'failed', message: (err as Error)?.message ?? String(err) } satisfies StoreReply);
}
