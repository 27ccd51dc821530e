/**
 * The store thread: the index actor's batches run on a worker thread of their own, on that
 * thread's read-write connection (src/db/store-worker.ts), so that the statements and commits of a
 * busy daemon no longer take turns with its actors on one thread. The index actor keeps everything
 * else (docs/design/sealing-daemon.md §5): the batching, the order, the answers after the commit.
 * Calls and answers cross by structured clone; errors cross in their wire form and come back as
 * their typed classes (`errorFromWire`).
 *
 * The stores on the thread take the time of each batch from the daemon's clock (`now`, simulated in
 * tests), so a batch's rows carry one time. Sector records saved in a batch come back with its
 * answers and are handed to `onSaved` once the batch has committed (never for a batch that did
 * not commit). The daemon's own connection stays open for the reads at start, before the thread
 * takes the writes.
 *
 * If the thread dies, its batch in flight and every later one fail with an INTERNAL error that
 * says so (whether that batch committed is unknown: the calls must be retried or checked).
 */
import { Worker } from 'node:worker_threads';
import { InternalError, errorFromWire } from '../errors.js';
import type { BatchOutcome, BatchRunner, CallAnswer, StoreCallRequest } from './store-batch.js';
import type { SectorRecord } from './sector-store.js';
import type { StoreReply, StoreRequest, StoreWorkerData } from './store-worker.js';

export interface StoreThreadOptions {
  /** The database file (it must exist, migrated: the daemon's connection opened it). */
  path: string;
  /** The clock each batch is stamped with. @default Date.now */
  now?: () => number;
  /** Hears each sector record saved, after its batch committed. */
  onSaved?: (record: SectorRecord) => void;
  /**
   * The module and export that build the stores on the thread, `(db, IndexStoresOptions) => stores`.
   * @default the daemon's stores (src/db/stores.ts `createIndexStores`)
   */
  stores?: { module: URL; factory: string };
}

/** A batch runner on the store thread. */
export class StoreThread implements BatchRunner {
  readonly #worker: Worker;
  readonly #now: () => number;
  readonly #onSaved: ((record: SectorRecord) => void) | undefined;
  readonly #waiting = new Map<number, (outcome: BatchOutcome) => void>();
  #nextId = 1;
  #dead: Error | undefined;
  #closing: Promise<void> | undefined;
  /** Told when no batch is waiting any more (close waits for that). */
  #whenIdle: (() => void) | undefined;

  private constructor(worker: Worker, options: StoreThreadOptions) {
    this.#worker = worker;
    this.#now = options.now ?? Date.now;
    this.#onSaved = options.onSaved;
  }

  /** Starts the thread; resolves once it has opened the database and built its stores. */
  static async start(options: StoreThreadOptions): Promise<StoreThread> {
    const stores = options.stores ?? { module: new URL('./stores.js', import.meta.url), factory: 'createIndexStores' };
    const worker = new Worker(new URL('./store-worker.js', import.meta.url), {
      workerData: { path: options.path, module: stores.module.href, factory: stores.factory } satisfies StoreWorkerData,
    });
    await new Promise<void>((resolve, reject) => {
      const fail = (err: Error) => {
        worker.terminate().catch(() => {});
        reject(new InternalError(`the store thread did not start: ${err.message}`, { cause: err }));
      };
      worker.once('error', fail);
      worker.once('exit', (code) => fail(new Error(`it exited with code ${code}`)));
      worker.once('message', (m: StoreReply) => {
        worker.removeAllListeners('error');
        worker.removeAllListeners('exit');
        if (m.type === 'ready') resolve();
        else fail(new Error(m.type === 'failed' ? m.message : `unexpected first message ${m.type}`));
      });
    });
    const thread = new StoreThread(worker, options);
    worker.on('message', (m: StoreReply) => thread.#reply(m));
    worker.on('error', (err) => thread.#die(`the store thread failed: ${err.message}`));
    worker.on('exit', (code) => thread.#die(`the store thread exited (code ${code})`));
    // idle, it does not keep the process alive; a batch in flight does (see run)
    worker.unref();
    return thread;
  }

  run(calls: readonly StoreCallRequest[]): Promise<BatchOutcome> {
    if (this.#dead) return Promise.resolve({ committed: false, error: this.#dead });
    if (this.#closing) return Promise.resolve({ committed: false, error: new InternalError('the store thread is closed') });
    const id = this.#nextId++;
    return new Promise((resolve) => {
      if (this.#waiting.size === 0) this.#worker.ref();
      this.#waiting.set(id, resolve);
      this.#worker.postMessage({ type: 'batch', id, now: this.#now(), calls } satisfies StoreRequest);
    });
  }

  /** Waits for the batches in flight, then closes the thread's connection and ends the thread. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#waiting.size > 0) {
        await new Promise<void>((resolve) => {
          this.#whenIdle = resolve;
        });
      }
      if (this.#dead) return;
      const exited = new Promise<void>((resolve) => this.#worker.once('exit', () => resolve()));
      this.#worker.ref();
      this.#worker.postMessage({ type: 'close' } satisfies StoreRequest);
      await exited;
    })();
    return this.#closing;
  }

  #reply(m: StoreReply): void {
    if (m.type !== 'done') return;
    const resolve = this.#waiting.get(m.id);
    if (!resolve) return;
    this.#waiting.delete(m.id);
    if (this.#waiting.size === 0) {
      this.#worker.unref();
      this.#whenIdle?.();
    }
    if (!m.committed) {
      resolve({ committed: false, error: errorFromWire(m.error) });
      return;
    }
    for (const r of m.saved) this.#onSaved?.(r);
    resolve({ committed: true, answers: m.answers.map((a): CallAnswer => (a.ok ? a : { ok: false, error: errorFromWire(a.error) })) });
  }

  #die(reason: string): void {
    // a close that was asked for ends the thread too: that is not a failure
    if (this.#dead || (this.#closing && this.#waiting.size === 0)) return;
    this.#dead = new InternalError(`${reason}; the index's calls fail from now on (a batch in flight may or may not have committed)`);
    for (const [id, resolve] of this.#waiting) {
      this.#waiting.delete(id);
      resolve({ committed: false, error: this.#dead });
    }
    this.#whenIdle?.();
  }
}
