/**
 * The index actor: the daemon's one writer of its SQLite database (better-sqlite3, WAL; see
 * src/db/database.ts), serving every store of {@link IndexStores} (storage catalog, sector records,
 * call tracker) through one request/reply protocol (docs/design/sealing-daemon.md §5).
 *
 * Its mailbox serialises every call, the job XState's MongoDB example gives its TaskQueue: calls
 * run in batches, one transaction each, each call inside its own savepoint (a failing call rolls
 * back alone), and are answered only after the commit, so an answered call is durable; an actor
 * with several calls in the transaction gets their answers in one `index.results`. A batch is
 * everything received until a turn of the event loop brings no more calls (group commit, at most
 * four turns or 256 calls): an idle daemon commits on the next turn, a busy one far less often.
 * If the commit itself fails, nothing of the batch is durable and every call of it fails with the
 * commit's error.
 *
 * Where a batch runs is the runner's business (src/db/store-batch.ts): on this thread, on the
 * stores given, or on the store thread (src/db/store-thread.ts), which runs the same stores on its
 * own connection while this thread goes on with the actors. Batches are sent in order, and up to
 * {@link IN_FLIGHT} of them may be on the store thread at once; their answers come back in order.
 *
 * Dispatch is generic: a call names a store of the map and one of its methods, found on the store
 * object at creation, so adding a store is adding it to the map (src/db/stores.ts), with no edit
 * here. Actors send `index.call` with a `replyTo` and get an `index.result` (or several in an
 * `index.results`); code outside the actor system uses the {@link IndexClient}, a proxy in which
 * every store method returns a Promise.
 */
import { type CallbackActorLogic, fromCallback } from 'xstate';
import { AbortedError, InternalError, InvalidArgumentError, toWireError } from '../src/errors.js';
import { type BatchOutcome, type BatchRunner, type CallAnswer, type StoreCallRequest, inProcessRunner, storeMethodNames } from '../src/db/store-batch.js';
import { callCrashPoint, crashPoint } from '../src/lifecycle/crash-points.js';
import { defaultLogger } from '../src/log/logger.js';
import type { CallRecord } from '../src/tasks/calls.js';
import type { Db } from '../src/db/database.js';
import type { IndexStores, StoreClients } from '../src/db/stores.js';
import type { DaemonSystem, IndexEvent, IndexReplyRef, IndexResult } from '../machines/protocol.js';

/**
 * The asynchronous front of the index actor: one asyncified proxy per store of `M` (derived from
 * the store classes, so `client.calls.finish(…)` is typed as `CallStore.finish`), and `flush`.
 */
export type IndexClient<M = IndexStores> = StoreClients<M> & {
  /** Resolves once every call sent before it has been committed. */
  flush(): Promise<void>;
};

export interface IndexActorOptions<M> {
  db: Db;
  /** The stores, by the name calls address them with (over `db`: they run the batches unless a `runner` does). */
  stores: M;
  /**
   * Where the batches run instead of on `db` on this thread: the store thread
   * (src/db/store-thread.ts), whose stores are built alike; answers come back asynchronously.
   */
  runner?: BatchRunner;
  /**
   * Failed commits, and failed calls nobody awaits as a promise (an actor's call fails also to its
   * `replyTo`; an IndexClient call only rejects its promise).
   * @default the default logger (src/log), as errors
   */
  onError?: (err: unknown, event?: IndexEvent<M>) => void;
}

/** The index actor's logic and the factory of its clients. */
export interface IndexActor<M = IndexStores> {
  logic: CallbackActorLogic<IndexEvent<M>>;
  /** A client that reaches the actor registered as `index` in `system`. */
  client(system: DaemonSystem): IndexClient<M>;
  /**
   * Resolves once the actor has stopped and every batch it received has been answered (with a
   * runner, the last batches are still in flight when the actor stops).
   */
  drained(): Promise<void>;
}

/** A batch commits once a turn of the event loop brings no call, or this many turns after it opened … */
const GATHER_TURNS = 4;
/** … or once it holds this many calls. */
const GATHER_CALLS = 256;
/**
 * Batches a runner may hold at once (the store thread runs them one after the other, in order):
 * the actors' thread goes on gathering and sending while the thread commits, instead of waiting
 * for each commit's answer before it sends the next batch.
 */
const IN_FLIGHT = 4;

interface Pending {
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

/**
 * The crash points of the call tracker (`call.running.<TASK>`, `call.done.<TASK>`): once a batch
 * holding a call's `run` or `finish` is committed and before anyone hears of it, so a test can
 * kill the daemon with the call durably running, or durably done but not yet applied by its sector.
 */
function crashAfterCommit(events: readonly { type: string }[], answers: readonly CallAnswer[]): void {
  for (const [i, e] of events.entries()) {
    const a = answers[i]!;
    if (e.type !== 'index.call' || !a.ok) continue;
    const { store, method } = e as { store?: unknown; method?: unknown };
    if (store !== 'calls' || (method !== 'run' && method !== 'finish')) continue;
    crashPoint(callCrashPoint(method === 'run' ? 'running' : 'done', (a.value as CallRecord).task));
  }
}

/**
 * Creates the index actor for one database and its stores.
 * @example
 * const index = createIndexActor({ db, stores: { catalog: new StorageCatalog(db), sectors, calls } });
 * const machine = schedulerMachine.provide({ actors: { index: index.logic } });
 * const root = createActor(machine, { systemId: 'scheduler', input }).start();
 * const client = index.client(root.system);
 * await client.catalog.storageList();
 */
export function createIndexActor<M extends object = IndexStores>(options: IndexActorOptions<M>): IndexActor<M> {
  const { db, stores } = options;
  const runner = options.runner ?? inProcessRunner(db, stores);
  const onError = options.onError ?? ((err: unknown) => defaultLogger().child({ component: 'index' }).error({ err }, 'index actor error'));
  const pending = new Map<number, Pending>();
  let nextRequestId = 1;
  const methods = storeMethodNames(stores);
  let drainedNow!: () => void;
  const drainedPromise = new Promise<void>((resolve) => {
    drainedNow = resolve;
  });

  /**
   * Delivers a batch's answers: an IndexClient call's to its promise; an actor's in one event, in
   * the order its calls came (an {@link IndexResults} when it had several, its IndexResult alone
   * otherwise).
   */
  const deliver = (events: readonly IndexEvent<M>[], answers: readonly CallAnswer[], report: boolean) => {
    const byActor = new Map<IndexReplyRef, IndexResult[]>();
    for (const [i, e] of events.entries()) {
      const a = answers[i]!;
      if (!a.ok && report && (e.replyTo || !pending.has(e.requestId))) onError(a.error, e);
      if (e.replyTo) {
        const result: IndexResult = a.ok
          ? { type: 'index.result', requestId: e.requestId, ok: true, value: a.value }
          : { type: 'index.result', requestId: e.requestId, ok: false, error: toWireError(a.error) };
        const results = byActor.get(e.replyTo);
        if (results) results.push(result);
        else byActor.set(e.replyTo, [result]);
        continue;
      }
      const p = pending.get(e.requestId);
      if (!p) continue;
      pending.delete(e.requestId);
      if (a.ok) p.resolve(a.value);
      else p.reject(a.error);
    }
    for (const [ref, results] of byActor) {
      // an actor stopped meanwhile is not written to
      if (ref.getSnapshot().status !== 'active') continue;
      ref.send(results.length === 1 ? results[0]! : { type: 'index.results', results });
    }
  };

  const logic = fromCallback<IndexEvent<M>>(({ receive }) => {
    const batch: IndexEvent<M>[] = [];
    let timer: NodeJS.Immediate | undefined;
    let inFlight = 0;
    let stopped = false;
    const rejectLeft = () => {
      for (const [id, p] of pending) {
        pending.delete(id);
        p.reject(new AbortedError('the index actor stopped before answering'));
      }
      drainedNow();
    };
    /** Answers a batch once its runner is done with it. */
    const settle = (events: readonly IndexEvent<M>[], local: readonly (CallAnswer | undefined)[], out: BatchOutcome) => {
      if (!out.committed) {
        // the commit itself failed: nothing of the batch is durable, so no call of it succeeded
        const err = out.error;
        const error = new InternalError(`index commit failed, no call of its batch is durable: ${(err as Error)?.message ?? String(err)}`, { cause: err });
        onError(error);
        deliver(
          events,
          events.map(() => ({ ok: false, error })),
          false,
        );
        return;
      }
      let next = 0;
      const answers = local.map((a): CallAnswer => a ?? out.answers[next++] ?? { ok: false, error: new InternalError('the index runner gave no answer for a call') });
      crashAfterCommit(events, answers);
      deliver(events, answers, true);
    };
    const flush = () => {
      timer = undefined;
      if (inFlight >= IN_FLIGHT) return; // what gathers meanwhile goes once a batch in flight is answered
      const events = batch.splice(0);
      if (events.length === 0) {
        if (stopped && inFlight === 0) rejectLeft();
        return;
      }
      // barriers and malformed events are answered here; calls go to the runner, in order
      const calls: StoreCallRequest[] = [];
      const local = events.map((e): CallAnswer | undefined => {
        if (e.type === 'index.barrier') return { ok: true, value: undefined };
        if (e.type !== 'index.call') return { ok: false, error: new InvalidArgumentError(`index actor: unknown event type "${(e as { type: unknown }).type}"`) };
        const { store, method, args } = e as { store: unknown; method: unknown; args: unknown };
        calls.push({ store, method, args });
        return undefined;
      });
      let out: BatchOutcome | Promise<BatchOutcome>;
      try {
        out = calls.length > 0 ? runner.run(calls) : { committed: true, answers: [] };
      } catch (err) {
        out = { committed: false, error: err };
      }
      if (!(out instanceof Promise)) {
        settle(events, local, out);
        if (stopped) flush();
        return;
      }
      inFlight++;
      out
        .catch((err: unknown): BatchOutcome => ({ committed: false, error: err }))
        .then((o) => {
          inFlight--;
          settle(events, local, o);
          if ((batch.length > 0 && !timer) || (stopped && inFlight === 0)) flush();
        });
    };
    // Group commit: a batch gathers while the event loop keeps bringing calls, for at most
    // GATHER_TURNS turns or GATHER_CALLS calls, and commits at the first turn that brought none.
    // An idle daemon commits on the next turn as before; a busy one commits a fraction as often
    // (each commit writes every page its calls dirtied, a write per page, and answers each sender).
    let seen = 0;
    let turns = 0;
    const turn = () => {
      if (batch.length > seen && batch.length < GATHER_CALLS && turns < GATHER_TURNS) {
        seen = batch.length;
        turns++;
        timer = setImmediate(turn);
        return;
      }
      flush();
    };
    receive((event) => {
      batch.push(event);
      if (timer || inFlight >= IN_FLIGHT) return;
      // what has arrived when the batch opens does not hold it open: a call alone commits on the next turn
      seen = batch.length;
      turns = 1;
      timer = setImmediate(turn);
    });
    return () => {
      // what was received is still committed and answered (to promises: the actors are stopping),
      // then the calls nobody will answer are refused
      stopped = true;
      if (timer) clearImmediate(timer);
      flush();
    };
  });

  const client = (system: DaemonSystem): IndexClient<M> => {
    const send = (event: { type: 'index.barrier' } | { type: 'index.call'; store: string; method: string; args: unknown[] }) =>
      new Promise<unknown>((resolve, reject) => {
        const ref = system.get('index');
        if (ref?.getSnapshot().status !== 'active') {
          reject(new AbortedError('the index actor is not running'));
          return;
        }
        const requestId = nextRequestId++;
        pending.set(requestId, { resolve, reject });
        // the event is checked against the store map by the types of StoreClients; here it is built generically
        ref!.send({ ...event, requestId } as IndexEvent);
      });
    const proxies: Record<string, Record<string, (...args: unknown[]) => Promise<unknown>>> = {};
    for (const [store, names] of methods) {
      const proxy: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
      for (const method of names) proxy[method] = (...args) => send({ type: 'index.call', store, method, args });
      proxies[store] = proxy;
    }
    return {
      ...(proxies as StoreClients<M>),
      flush: async () => {
        await send({ type: 'index.barrier' });
      },
    };
  };

  return { logic, client, drained: () => drainedPromise };
}
