/**
 * The index actor: the only read-write SQLite connection of the daemon (better-sqlite3, WAL; see
 * src/db/database.ts), holding the storage catalog (StorageCatalog) and the sector records
 * (SectorStore). Its mailbox serialises every call, the job XState's MongoDB example gives its
 * TaskQueue: calls received in the same macrotask are run in one transaction (each inside its own
 * savepoint, so a failing call rolls back alone) and answered only after the commit, so a
 * resolved call is durable.
 *
 * Callers outside the actor system use the {@link IndexClient}: an `Asyncified` proxy per store in
 * which every public method returns a Promise. Actors send `index.*` events directly.
 */
import { fromCallback } from 'xstate';
import { AbortedError, InternalError, InvalidArgumentError, toWireError } from '../src/errors.js';
import type { StorageCatalog } from '../src/db/storage-catalog.js';
import type { Db } from '../src/db/database.js';
import type { SectorStore } from '../src/db/sector-store.js';
import type { DaemonSystem, IndexEvent, IndexStoreName } from '../machines/protocol.js';

/** The stores the index actor owns. */
export interface IndexStores {
  storage: StorageCatalog;
  sectors: SectorStore;
}

/** Every public method of `T`, returning a Promise of its result. */
export type Asyncified<T> = {
  [K in keyof T as T[K] extends (...args: never[]) => unknown ? K : never]: T[K] extends (
    ...args: infer A
  ) => infer R
    ? (...args: A) => Promise<Awaited<R>>
    : never;
};

/** The asynchronous front of the index actor. */
export interface IndexClient {
  /** The storage catalog ({@link StorageCatalog}); assignable to `CatalogClient`. */
  storage: Asyncified<StorageCatalog>;
  /** The sector records. */
  sectors: Asyncified<SectorStore>;
  /** Resolves once every call and write sent before it has been committed. */
  flush(): Promise<void>;
}

export interface IndexActorOptions {
  db: Db;
  stores: IndexStores;
  /**
   * Where failures of `index.sector.save` go (also answered to its `replyTo`, when given).
   * @default console.error
   */
  onWriteError?: (err: unknown, event: IndexEvent) => void;
}

/** The index actor's logic and the factory of its clients. */
export interface IndexActor {
  logic: ReturnType<typeof fromCallback<IndexEvent>>;
  /** A client that reaches the actor registered as `index` in `system`. */
  client(system: DaemonSystem): IndexClient;
}

type SaveEvent = Extract<IndexEvent, { type: 'index.sector.save' }>;

type Outcome =
  | { callId: number; ok: true; value: unknown }
  | { callId: number; ok: false; error: unknown }
  /** A sector record write, answered to its sender after the batch (`error` when it failed). */
  | { save: SaveEvent; error?: unknown };

interface Pending {
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

/** Names of a store's public methods (own prototype, not the constructor). */
function methodNames(store: object): string[] {
  return Object.getOwnPropertyNames(Object.getPrototypeOf(store)).filter(
    (n) => n !== 'constructor' && typeof (store as Record<string, unknown>)[n] === 'function',
  );
}

/**
 * Creates the index actor for one database.
 * @example
 * const index = createIndexActor({ db, stores: { storage: new StorageCatalog(db), sectors: new SectorStore(db) } });
 * const machine = schedulerMachine.provide({ actors: { index: index.logic } });
 * const root = createActor(machine, { systemId: 'scheduler', input }).start();
 * const client = index.client(root.system);
 * await client.storage.storageList();
 */
export function createIndexActor(options: IndexActorOptions): IndexActor {
  const { db, stores } = options;
  const onWriteError = options.onWriteError ?? ((err) => console.error('index write failed:', err));
  const pending = new Map<number, Pending>();
  let nextCallId = 1;
  const allowed: Record<IndexStoreName, Set<string>> = {
    storage: new Set(methodNames(stores.storage)),
    sectors: new Set(methodNames(stores.sectors)),
  };

  /** Tells a save's sender how it ended (a sector stopped meanwhile is not written to). */
  const answerSave = (e: SaveEvent, error?: unknown) => {
    if (error !== undefined) onWriteError(error, e);
    const { replyTo, saveId } = e;
    if (!replyTo || saveId === undefined || replyTo.getSnapshot().status !== 'active') return;
    replyTo.send(
      error === undefined ? { type: 'sector.save.done', saveId } : { type: 'sector.save.failed', saveId, error: toWireError(error) },
    );
  };

  const settle = (o: Outcome) => {
    if ('save' in o) {
      answerSave(o.save, o.error);
      return;
    }
    const p = pending.get(o.callId);
    if (!p) return;
    pending.delete(o.callId);
    if (o.ok) p.resolve(o.value);
    else p.reject(o.error);
  };

  /** Runs one event inside the batch transaction, in its own savepoint. */
  const apply = (e: IndexEvent): Outcome | undefined => {
    switch (e.type) {
      case 'index.barrier':
        return { callId: e.callId, ok: true, value: undefined };
      case 'index.sector.save':
        try {
          db.transaction(() => stores.sectors.save(e.record))();
          return { save: e };
        } catch (err) {
          // answered after the batch, in order with the other saves
          return { save: e, error: err ?? new InternalError('sector record write failed') };
        }
      case 'index.call': {
        if (!allowed[e.store]?.has(e.method)) {
          return { callId: e.callId, ok: false, error: new InvalidArgumentError(`index store "${e.store}" has no method "${e.method}"`) };
        }
        const store = stores[e.store] as unknown as Record<string, (...a: unknown[]) => unknown>;
        try {
          const value = db.transaction(() => store[e.method]!(...e.args))();
          return { callId: e.callId, ok: true, value };
        } catch (err) {
          return { callId: e.callId, ok: false, error: err };
        }
      }
      default: {
        const never: never = e;
        throw new InternalError(`index actor: unknown event ${JSON.stringify(never)}`);
      }
    }
  };

  const logic = fromCallback<IndexEvent>(({ receive }) => {
    const batch: IndexEvent[] = [];
    let timer: NodeJS.Immediate | undefined;
    const flush = () => {
      timer = undefined;
      const events = batch.splice(0);
      if (events.length === 0) return;
      const outcomes: Outcome[] = [];
      try {
        db.transaction(() => {
          for (const e of events) {
            const o = apply(e);
            if (o) outcomes.push(o);
          }
        })();
      } catch (err) {
        // the commit itself failed: nothing of the batch is durable
        for (const e of events) {
          if (e.type === 'index.sector.save') answerSave(e, err ?? new InternalError('index commit failed'));
          else settle({ callId: e.callId, ok: false, error: err });
        }
        return;
      }
      for (const o of outcomes) settle(o);
    };
    receive((event) => {
      batch.push(event);
      // everything sent during this macrotask joins the batch
      timer ??= setImmediate(flush);
    });
    return () => {
      if (timer) clearImmediate(timer);
      flush();
      for (const [id, p] of pending) {
        pending.delete(id);
        p.reject(new AbortedError('the index actor stopped before answering'));
      }
    };
  });

  const client = (system: DaemonSystem): IndexClient => {
    const send = (event: { type: 'index.barrier' } | Omit<Extract<IndexEvent, { type: 'index.call' }>, 'callId'>) =>
      new Promise<unknown>((resolve, reject) => {
        const ref = system.get('index');
        if (ref?.getSnapshot().status !== 'active') {
          reject(new AbortedError('the index actor is not running'));
          return;
        }
        const callId = nextCallId++;
        pending.set(callId, { resolve, reject });
        ref!.send({ ...event, callId } as IndexEvent);
      });
    const proxy = <S extends IndexStoreName>(store: S) => {
      const out: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
      for (const method of allowed[store]) out[method] = (...args) => send({ type: 'index.call', store, method, args });
      return out as unknown as Asyncified<IndexStores[S]>;
    };
    return {
      storage: proxy('storage'),
      sectors: proxy('sectors'),
      flush: async () => {
        await send({ type: 'index.barrier' });
      },
    };
  };

  return { logic, client };
}
