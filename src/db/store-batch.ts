/**
 * One batch of store calls in one transaction: the unit of work of the index actor
 * (actors/index.actor.ts), run either on the actor's own thread ({@link inProcessRunner}, for an
 * in-memory database) or on the store thread (src/db/store-thread.ts). Both run the same
 * {@link runBatch}: each call in its own savepoint, so a failing call rolls back alone, and the
 * whole batch committed at once or not at all.
 */
import { InternalError, InvalidArgumentError } from '../errors.js';
import { type Db, inTransaction } from './database.js';

/** One call of a store's method, as the index actor received it (checked here, not trusted). */
export interface StoreCallRequest {
  store: unknown;
  method: unknown;
  args: unknown;
}

/** How one call of a batch ended. */
export type CallAnswer = { ok: true; value: unknown } | { ok: false; error: unknown };

/**
 * How a batch ended: committed, with an answer per call in order (some calls may have failed and
 * rolled back alone), or not committed, so that no call of it is durable.
 */
export type BatchOutcome = { committed: true; answers: CallAnswer[] } | { committed: false; error: unknown };

/** Runs batches, one at a time, in the order given. */
export interface BatchRunner {
  run(calls: readonly StoreCallRequest[]): BatchOutcome | Promise<BatchOutcome>;
}

/** Method names of each store of a map: what a call may address. */
export type StoreMethodNames = ReadonlyMap<string, ReadonlySet<string>>;

/** Names of a store's methods: its class's and its base classes' (not Object's, not the constructors). */
function methodNames(store: object): Set<string> {
  const names = new Set<string>();
  for (let proto: object | null = Object.getPrototypeOf(store); proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (name !== 'constructor' && typeof Object.getOwnPropertyDescriptor(proto, name)?.value === 'function') names.add(name);
    }
  }
  return names;
}

/** The method names of every store of `stores`. */
export function storeMethodNames(stores: object): StoreMethodNames {
  return new Map(Object.entries(stores).map(([name, store]) => [name, methodNames(store as object)]));
}

type StoreMethods = Record<string, (...args: unknown[]) => unknown>;

/** Runs one call inside the open transaction, in its own savepoint; refuses an unknown store or method by name. */
function apply(db: Db, stores: object, methods: StoreMethodNames, call: StoreCallRequest): CallAnswer {
  const { store, method, args } = call;
  const names = typeof store === 'string' ? methods.get(store) : undefined;
  if (!names) return { ok: false, error: new InvalidArgumentError(`index actor has no store "${String(store)}"`) };
  if (typeof method !== 'string' || !names.has(method)) {
    return { ok: false, error: new InvalidArgumentError(`index store "${store}" has no method "${String(method)}"`) };
  }
  if (!Array.isArray(args)) return { ok: false, error: new InvalidArgumentError(`index call ${store}.${method}: args must be an array`) };
  const target = (stores as Record<string, StoreMethods>)[store as string]!;
  try {
    return { ok: true, value: inTransaction(db, () => target[method]!(...args)) };
  } catch (err) {
    return { ok: false, error: err ?? new InternalError(`${store}.${method} failed`) };
  }
}

/** Runs `calls` in one transaction of `db`. */
export function runBatch(db: Db, stores: object, methods: StoreMethodNames, calls: readonly StoreCallRequest[]): BatchOutcome {
  const answers: CallAnswer[] = [];
  try {
    inTransaction(db, () => {
      for (const c of calls) answers.push(apply(db, stores, methods, c));
    });
  } catch (err) {
    return { committed: false, error: err };
  }
  return { committed: true, answers };
}

/** Runs batches on the calling thread, on `db`'s connection. */
export function inProcessRunner(db: Db, stores: object): BatchRunner {
  const methods = storeMethodNames(stores);
  return { run: (calls) => runBatch(db, stores, methods, calls) };
}
