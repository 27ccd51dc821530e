/**
 * One dagstore shard (dagstore v0.4.2 `shard_state.go`, `dagstore_control.go`,
 * `dagstore_async.go`): a piece's CAR payload with its CARv2 index, in dagstore's states and on
 * its triggers.
 *
 *   New ──initialize / first acquire──▶ Initializing ──done──▶ Available ⇄ Serving (acquire/release)
 *                                            │fail                 ▲
 *                                            ▼                     │done
 *                                         Errored ──recover──▶ Recovering ──fail──▶ Errored
 *
 * - Acquirers that arrive before the shard is Available are parked and started (each one counted)
 *   when it is; a failure fails them all.
 * - A failure is recovered once automatically (Lotus `markets/dagstore/wrapper.go`
 *   RecoverImmediately with maxRecoverAttempts = 1); the count resets when a recovery succeeds.
 * - Restored from its record (transient states reset, as dagstore `Start`): Serving → Available
 *   (no reader survives a restart), Initializing → Available when its index exists, else New
 *   (initialized again unless lazy), Errored and Recovering → Errored, recovered on next acquire.
 * - GC drops the transient copy in Available and Errored with nobody parked (`dagstore_gc.go`).
 *
 * Every state entered is saved (`persist`); what touches the world (fetching the payload and
 * indexing it, deleting the transient and the index) is bound in actors/dagstore.ts.
 */
import { assign, emit, enqueueActions, fromPromise, setup } from 'xstate';
import type { ShardStateName } from '../../src/db/shard-store.js';

export interface ShardInput {
  key: string;
  lazy: boolean;
  /** The persisted state (absent for a new registration). */
  restored?: ShardStateName;
  error?: string;
  /** An index file exists (a shard restored in Initializing is then Available). */
  indexExists?: boolean;
}

export interface ShardContext {
  key: string;
  lazy: boolean;
  error?: string;
  /** Acquired and not released. */
  refs: number;
  /** Acquire requests waiting for the shard to be Available. */
  parked: string[];
  /** Register/initialize/recover requests waiting for the outcome. */
  waiters: string[];
  recoverOnAcquire: boolean;
  autoRecoveries: number;
  /** Where the shard starts (from its input): restored states reset, a new eager shard initializes. */
  start: 'new' | 'initializing' | 'available' | 'errored';
}

export type ShardEvent =
  | { type: 'shard.initialize'; requestId?: string }
  | { type: 'shard.acquire'; requestId: string }
  | { type: 'shard.release' }
  /** An accessor could not be opened after the acquire counted (the payload or its index failed). */
  | { type: 'shard.fail'; error: string }
  | { type: 'shard.recover'; requestId?: string }
  | { type: 'shard.gc'; requestId?: string };

/** Emitted: the answer to a request, by id (`collected`: a GC request dropped the transient). */
export type ShardReply =
  | { type: 'shard.reply'; key: string; requestId: string; ok: true; collected?: boolean }
  | { type: 'shard.reply'; key: string; requestId: string; ok: false; error: string; code: string };

/** Emitted on every state entered (the registry's trace, dagstore's trace loop). */
export type ShardTrace = { type: 'shard.trace'; key: string; state: ShardStateName; error?: string };

const MAX_AUTO_RECOVERIES = 1;

/** Lotus's state names, for records and refusals. */
const NAMES = {
  new: 'ShardStateNew',
  initializing: 'ShardStateInitializing',
  available: 'ShardStateAvailable',
  serving: 'ShardStateServing',
  recovering: 'ShardStateRecovering',
  errored: 'ShardStateErrored',
} as const satisfies Record<string, ShardStateName>;

const reply = (key: string, requestId: string, error?: { code: string; message: string }): ShardReply =>
  error ? { type: 'shard.reply', key, requestId, ok: false, error: error.message, code: error.code } : { type: 'shard.reply', key, requestId, ok: true };

function errorOf(err: unknown): { code: string; message: string } {
  const e = err as { code?: unknown; message?: unknown } | undefined;
  return { code: typeof e?.code === 'string' ? e.code : 'INTERNAL', message: typeof e?.message === 'string' ? e.message : String(err) };
}

export const shardMachine = setup({
  types: {} as { context: ShardContext; input: ShardInput; events: ShardEvent; emitted: ShardReply | ShardTrace },
  actors: {
    /** Fetches the payload (a transient copy) if needed and builds or loads its index. */
    initialize: fromPromise<void, { key: string }>(async () => {
      throw new Error('initialize is not provided');
    }),
  },
  actions: {
    /** Saves the shard's state and error (bound to the shard store). */
    persist: (_, _params: { key: string; state: ShardStateName; error?: string }) => {},
    /** Deletes the transient copy (GC, recovery). */
    dropTransient: (_, _params: { key: string }) => {},
    /** Deletes the index (recovery rebuilds it). */
    dropIndex: (_, _params: { key: string }) => {},
    addWaiter: assign({
      waiters: ({ context, event }) => ('requestId' in event && event.requestId !== undefined ? [...context.waiters, event.requestId] : context.waiters),
    }),
    park: assign({ parked: ({ context, event }) => (event.type === 'shard.acquire' ? [...context.parked, event.requestId] : context.parked) }),
    acquireNow: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'shard.acquire') return;
      enqueue.assign({ refs: context.refs + 1 });
      enqueue.emit(reply(context.key, event.requestId));
    }),
    release: assign({ refs: ({ context }) => Math.max(0, context.refs - 1) }),
    /** Init or recovery succeeded: answer the waiters, start every parked acquirer. */
    madeAvailable: enqueueActions(({ context, enqueue }) => {
      for (const id of context.waiters) enqueue.emit(reply(context.key, id));
      for (const id of context.parked) enqueue.emit(reply(context.key, id));
      enqueue.assign({ refs: context.refs + context.parked.length, parked: [], waiters: [], error: undefined });
    }),
    /** Fail: keep the error, fail the waiters and every parked acquirer. */
    failed: enqueueActions(({ context, event, enqueue }) => {
      const e = event.type === 'shard.fail' ? { code: 'INTERNAL', message: event.error } : errorOf((event as { error?: unknown }).error);
      for (const id of [...context.waiters, ...context.parked]) enqueue.emit(reply(context.key, id, e));
      enqueue.assign({ parked: [], waiters: [], error: e.message });
    }),
    /** A request the state does not allow, refused with dagstore's wording. */
    refuse: enqueueActions(({ context, event, enqueue, self }, params: { expected: ShardStateName }) => {
      const requestId = 'requestId' in event ? event.requestId : undefined;
      if (requestId === undefined) return;
      const state = NAMES[self.getSnapshot().value as keyof typeof NAMES];
      enqueue.emit(reply(context.key, requestId, { code: 'SHARD_STATE_INVALID', message: `shard ${context.key}: expected state ${params.expected}, was: ${state}` }));
    }),
    /** An acquire of an Errored shard that will not recover: its stored error. */
    refuseAcquire: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'shard.acquire') return;
      enqueue.emit(reply(context.key, event.requestId, { code: 'SHARD_STATE_INVALID', message: `shard ${context.key} is errored: ${context.error ?? 'unknown error'}` }));
    }),
    /** GC dropped the transient. */
    collected: enqueueActions(({ context, event, enqueue }) => {
      if (event.type === 'shard.gc' && event.requestId !== undefined) enqueue.emit({ type: 'shard.reply', key: context.key, requestId: event.requestId, ok: true, collected: true });
    }),
    notCollected: enqueueActions(({ context, event, enqueue }) => {
      if (event.type === 'shard.gc' && event.requestId !== undefined) enqueue.emit({ type: 'shard.reply', key: context.key, requestId: event.requestId, ok: true, collected: false });
    }),
    alreadyDone: enqueueActions(({ context, event, enqueue }) => {
      if ('requestId' in event && event.requestId !== undefined) enqueue.emit(reply(context.key, event.requestId));
    }),
  },
  guards: {
    canAutoRecover: ({ context }) => context.autoRecoveries < MAX_AUTO_RECOVERIES,
    recoverOnAcquire: ({ context }) => context.recoverOnAcquire,
    hasParked: ({ context }) => context.parked.length > 0,
    lastRef: ({ context }) => context.refs <= 1,
    startsIn: ({ context }, params: { state: ShardContext['start'] }) => context.start === params.state,
    nobodyParked: ({ context }) => context.parked.length === 0,
  },
}).createMachine({
  id: 'shard',
  context: ({ input }) => {
    const failedBefore = input.restored === 'ShardStateErrored' || input.restored === 'ShardStateRecovering';
    const wasAvailable =
      input.restored === 'ShardStateAvailable' || input.restored === 'ShardStateServing' || (input.restored === 'ShardStateInitializing' && input.indexExists === true);
    const start: ShardContext['start'] = failedBefore ? 'errored' : wasAvailable ? 'available' : input.lazy ? 'new' : 'initializing';
    return {
      key: input.key,
      lazy: input.lazy,
      ...(input.error !== undefined ? { error: input.error } : {}),
      refs: 0,
      parked: [],
      waiters: [],
      recoverOnAcquire: failedBefore,
      // a failure restored from before a restart is recovered on next acquire, not at once
      autoRecoveries: failedBefore ? MAX_AUTO_RECOVERIES : 0,
      start,
    };
  },
  initial: 'restore',
  on: {
    'shard.release': { actions: 'release' },
  },
  states: {
    /** Where a new or restored shard starts (transient states reset). */
    restore: {
      always: [
        { guard: { type: 'startsIn', params: { state: 'errored' } }, target: 'errored' },
        { guard: { type: 'startsIn', params: { state: 'available' } }, target: 'available' },
        { guard: { type: 'startsIn', params: { state: 'initializing' } }, target: 'initializing' },
        { target: 'new' },
      ],
    },
    new: {
      entry: [
        { type: 'persist', params: ({ context }) => ({ key: context.key, state: NAMES.new }) },
        emit(({ context }) => ({ type: 'shard.trace', key: context.key, state: NAMES.new }) as ShardTrace),
      ],
      on: {
        'shard.initialize': { target: 'initializing', actions: 'addWaiter' },
        'shard.acquire': { target: 'initializing', actions: 'park' },
        'shard.recover': { actions: { type: 'refuse', params: { expected: NAMES.errored } } },
        'shard.gc': { actions: 'notCollected' },
      },
    },
    initializing: {
      entry: [
        { type: 'persist', params: ({ context }) => ({ key: context.key, state: NAMES.initializing }) },
        emit(({ context }) => ({ type: 'shard.trace', key: context.key, state: NAMES.initializing }) as ShardTrace),
      ],
      invoke: {
        src: 'initialize',
        input: ({ context }) => ({ key: context.key }),
        onDone: [
          { guard: 'hasParked', target: 'serving', actions: 'madeAvailable' },
          { target: 'available', actions: 'madeAvailable' },
        ],
        onError: { target: 'errored', actions: 'failed' },
      },
      on: {
        'shard.acquire': { actions: 'park' },
        'shard.initialize': { actions: 'addWaiter' },
        'shard.recover': { actions: { type: 'refuse', params: { expected: NAMES.errored } } },
        'shard.gc': { actions: 'notCollected' },
      },
    },
    available: {
      entry: [
        { type: 'persist', params: ({ context }) => ({ key: context.key, state: NAMES.available }) },
        emit(({ context }) => ({ type: 'shard.trace', key: context.key, state: NAMES.available }) as ShardTrace),
      ],
      on: {
        'shard.acquire': { target: 'serving', actions: 'acquireNow' },
        'shard.initialize': { actions: 'alreadyDone' },
        'shard.recover': { actions: { type: 'refuse', params: { expected: NAMES.errored } } },
        'shard.gc': [{ guard: 'nobodyParked', actions: [{ type: 'dropTransient', params: ({ context }) => ({ key: context.key }) }, 'collected'] }, { actions: 'notCollected' }],
      },
    },
    serving: {
      entry: [
        { type: 'persist', params: ({ context }) => ({ key: context.key, state: NAMES.serving }) },
        emit(({ context }) => ({ type: 'shard.trace', key: context.key, state: NAMES.serving }) as ShardTrace),
      ],
      on: {
        'shard.acquire': { actions: 'acquireNow' },
        'shard.release': [{ guard: 'lastRef', target: 'available', actions: 'release' }, { actions: 'release' }],
        'shard.fail': { target: 'errored', actions: 'failed' },
        'shard.initialize': { actions: 'alreadyDone' },
        'shard.recover': { actions: { type: 'refuse', params: { expected: NAMES.errored } } },
        'shard.gc': { actions: 'notCollected' },
      },
    },
    errored: {
      entry: [
        { type: 'persist', params: ({ context }) => ({ key: context.key, state: NAMES.errored, ...(context.error !== undefined ? { error: context.error } : {}) }) },
        emit(({ context }) => ({ type: 'shard.trace', key: context.key, state: NAMES.errored, ...(context.error !== undefined ? { error: context.error } : {}) }) as ShardTrace),
      ],
      always: { guard: 'canAutoRecover', target: 'recovering', actions: assign({ autoRecoveries: ({ context }) => context.autoRecoveries + 1 }) },
      on: {
        'shard.acquire': [
          { guard: 'recoverOnAcquire', target: 'recovering', actions: ['park', assign({ recoverOnAcquire: false })] },
          { actions: 'refuseAcquire' },
        ],
        'shard.recover': { target: 'recovering', actions: 'addWaiter' },
        'shard.initialize': { actions: { type: 'refuse', params: { expected: NAMES.new } } },
        'shard.gc': [{ guard: 'nobodyParked', actions: [{ type: 'dropTransient', params: ({ context }) => ({ key: context.key }) }, 'collected'] }, { actions: 'notCollected' }],
      },
    },
    recovering: {
      entry: [
        { type: 'dropTransient', params: ({ context }) => ({ key: context.key }) },
        { type: 'dropIndex', params: ({ context }) => ({ key: context.key }) },
        { type: 'persist', params: ({ context }) => ({ key: context.key, state: NAMES.recovering }) },
        emit(({ context }) => ({ type: 'shard.trace', key: context.key, state: NAMES.recovering }) as ShardTrace),
      ],
      invoke: {
        src: 'initialize',
        input: ({ context }) => ({ key: context.key }),
        onDone: [
          { guard: 'hasParked', target: 'serving', actions: ['madeAvailable', assign({ autoRecoveries: 0 })] },
          { target: 'available', actions: ['madeAvailable', assign({ autoRecoveries: 0 })] },
        ],
        onError: { target: 'errored', actions: 'failed' },
      },
      on: {
        'shard.acquire': { actions: 'park' },
        'shard.recover': { actions: 'addWaiter' },
        'shard.initialize': { actions: { type: 'refuse', params: { expected: NAMES.new } } },
        'shard.gc': { actions: 'notCollected' },
      },
    },
  },
});
