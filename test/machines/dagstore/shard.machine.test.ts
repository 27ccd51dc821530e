/**
 * The shard machine (dagstore v0.4.2 shard states and triggers) and the registry's GC timer, with
 * the world replaced by recorders: initializations resolve or fail when the test says, persisted
 * states and dropped transients are recorded, time is a SimulatedClock.
 */
import test from 'ava';
import { type Actor, SimulatedClock, createActor, fromPromise } from 'xstate';
import type { ShardStateName } from '../../../src/db/shard-store.js';
import { registryMachine } from '../../../machines/dagstore/registry.machine.js';
import { type ShardInput, type ShardReply, shardMachine } from '../../../machines/dagstore/shard.machine.js';

interface World {
  persisted: { state: ShardStateName; error?: string }[];
  dropped: string[];
  indexDropped: string[];
  /** Pending initializations: settle them with resolve()/reject(). */
  inits: { resolve(): void; reject(err: Error): void }[];
  replies: ShardReply[];
}

function world(): World {
  return { persisted: [], dropped: [], indexDropped: [], inits: [], replies: [] };
}

function provided(w: World) {
  return shardMachine.provide({
    actions: {
      persist: (_, p) => {
        w.persisted.push(p.error !== undefined ? { state: p.state, error: p.error } : { state: p.state });
      },
      dropTransient: (_, p) => {
        w.dropped.push(p.key);
      },
      dropIndex: (_, p) => {
        w.indexDropped.push(p.key);
      },
    },
    actors: {
      initialize: fromPromise<void, { key: string }>(() => new Promise<void>((resolve, reject) => w.inits.push({ resolve, reject }))),
    },
  });
}

function start(w: World, input: ShardInput): Actor<typeof shardMachine> {
  const a = createActor(provided(w), { input });
  a.on('shard.reply', (r) => w.replies.push(r));
  a.start();
  return a;
}

const tick = () => new Promise((r) => setImmediate(r));
const state = (a: Actor<typeof shardMachine>) => String(a.getSnapshot().value);

test('a lazy shard stays New until its first acquire, which initializes it and is served when it is Available', async (t) => {
  const w = world();
  const a = start(w, { key: 'k', lazy: true });
  t.is(state(a), 'new');
  t.deepEqual(w.persisted, [{ state: 'ShardStateNew' }]);
  a.send({ type: 'shard.acquire', requestId: 'r1' });
  a.send({ type: 'shard.acquire', requestId: 'r2' });
  t.is(state(a), 'initializing');
  t.is(w.inits.length, 1, 'one initialization for both acquirers');
  t.deepEqual(w.replies, [], 'acquirers are parked');
  w.inits[0]!.resolve();
  await tick();
  t.is(state(a), 'serving');
  t.is(a.getSnapshot().context.refs, 2);
  t.deepEqual(w.replies.map((r) => [r.requestId, r.ok]), [['r1', true], ['r2', true]]);
  a.send({ type: 'shard.release' });
  t.is(state(a), 'serving');
  a.send({ type: 'shard.release' });
  t.is(state(a), 'available');
  t.deepEqual(w.persisted.map((p) => p.state), ['ShardStateNew', 'ShardStateInitializing', 'ShardStateServing', 'ShardStateAvailable']);
});

test('an eager shard initializes at once; Available serves acquires immediately and counts them', async (t) => {
  const w = world();
  const a = start(w, { key: 'k', lazy: false });
  t.is(state(a), 'initializing');
  a.send({ type: 'shard.initialize', requestId: 'reg' });
  w.inits[0]!.resolve();
  await tick();
  t.is(state(a), 'available');
  t.true(w.replies.some((r) => r.requestId === 'reg' && r.ok));
  a.send({ type: 'shard.acquire', requestId: 'a' });
  t.is(state(a), 'serving');
  t.is(a.getSnapshot().context.refs, 1);
});

test('a failed initialization fails the parked acquirers, is recovered once automatically, and a second failure stays Errored', async (t) => {
  const w = world();
  const a = start(w, { key: 'k', lazy: true });
  a.send({ type: 'shard.acquire', requestId: 'r1' });
  w.inits[0]!.reject(Object.assign(new Error('unseal failed'), { code: 'TASK_FAILED' }));
  await tick();
  t.deepEqual(w.replies[0], { type: 'shard.reply', key: 'k', requestId: 'r1', ok: false, error: 'unseal failed', code: 'TASK_FAILED' });
  t.is(state(a), 'recovering', 'one automatic recovery');
  t.deepEqual(w.dropped, ['k']);
  t.deepEqual(w.indexDropped, ['k']);
  w.inits[1]!.reject(new Error('still broken'));
  await tick();
  t.is(state(a), 'errored', 'no second automatic recovery');
  t.is(a.getSnapshot().context.error, 'still broken');
  t.deepEqual(w.persisted.slice(-1), [{ state: 'ShardStateErrored', error: 'still broken' }]);
  a.send({ type: 'shard.acquire', requestId: 'r2' });
  t.deepEqual(w.replies.at(-1), { type: 'shard.reply', key: 'k', requestId: 'r2', ok: false, error: 'shard k is errored: still broken', code: 'SHARD_STATE_INVALID' });
  a.send({ type: 'shard.recover', requestId: 'rec' });
  t.is(state(a), 'recovering');
  w.inits[2]!.resolve();
  await tick();
  t.is(state(a), 'available');
  t.is(a.getSnapshot().context.autoRecoveries, 0, 'a successful recovery resets the count');
  t.true(w.replies.some((r) => r.requestId === 'rec' && r.ok));
});

test('requests a state does not allow are refused with dagstore\'s wording', async (t) => {
  const w = world();
  const a = start(w, { key: 'k', lazy: true });
  a.send({ type: 'shard.recover', requestId: 'x' });
  t.deepEqual(w.replies.at(-1), { type: 'shard.reply', key: 'k', requestId: 'x', ok: false, error: 'shard k: expected state ShardStateErrored, was: ShardStateNew', code: 'SHARD_STATE_INVALID' });
});

const restarts: [ShardStateName, boolean, boolean, string][] = [
  ['ShardStateNew', true, false, 'new'],
  ['ShardStateNew', false, false, 'initializing'],
  ['ShardStateInitializing', true, false, 'new'],
  ['ShardStateInitializing', true, true, 'available'],
  ['ShardStateInitializing', false, false, 'initializing'],
  ['ShardStateAvailable', true, true, 'available'],
  ['ShardStateServing', true, true, 'available'],
  ['ShardStateRecovering', true, false, 'errored'],
  ['ShardStateErrored', true, false, 'errored'],
];
for (const [restored, lazy, indexExists, expected] of restarts) {
  test(`a shard restored in ${restored} (${lazy ? 'lazy' : 'eager'}, ${indexExists ? 'with' : 'without'} index) starts in ${expected}`, async (t) => {
    const w = world();
    const a = start(w, { key: 'k', lazy, restored, indexExists, ...(restored === 'ShardStateErrored' ? { error: 'old' } : {}) });
    t.is(state(a), expected);
    t.is(a.getSnapshot().context.refs, 0, 'no reader survives a restart');
    if (expected === 'errored') {
      t.is(w.inits.length, 0, 'a failure from before the restart is not recovered at once');
      a.send({ type: 'shard.acquire', requestId: 'r' });
      t.is(state(a), 'recovering', 'but on next acquire');
      w.inits[0]!.resolve();
      await tick();
      t.is(state(a), 'serving');
      t.true(w.replies.some((r) => r.requestId === 'r' && r.ok));
    }
  });
}

test('the registry drops transient copies every GC interval on the simulated clock, only of shards nobody is reading', async (t) => {
  const w = world();
  const clock = new SimulatedClock();
  const registry = registryMachine.provide({ actors: { shard: provided(w) } });
  const root = createActor(registry, {
    clock,
    input: {
      gcIntervalMs: 60_000,
      shards: [
        { key: 'idle', lazy: true, restored: 'ShardStateAvailable', indexExists: true },
        { key: 'busy', lazy: true, restored: 'ShardStateAvailable', indexExists: true },
        { key: 'new', lazy: true },
      ],
    },
  }).start();
  root.getSnapshot().context.shards.busy!.send({ type: 'shard.acquire', requestId: 'b' });
  clock.increment(59_999);
  t.deepEqual(w.dropped, []);
  clock.increment(1);
  t.deepEqual(w.dropped, ['idle']);
  clock.increment(60_000);
  t.deepEqual(w.dropped, ['idle', 'idle'], 'every interval');
  root.getSnapshot().context.shards.busy!.send({ type: 'shard.release' });
  clock.increment(60_000);
  t.deepEqual(w.dropped.sort(), ['busy', 'idle', 'idle', 'idle']);
  root.stop();
});

test('the registry retries owed shard registrations every GC interval on the simulated clock, and not before', (t) => {
  const w = world();
  const clock = new SimulatedClock();
  let retries = 0;
  const registry = registryMachine.provide({ actors: { shard: provided(w) }, actions: { retryRegistrations: () => void retries++ } });
  const root = createActor(registry, { clock, input: { gcIntervalMs: 60_000, shards: [] } }).start();
  clock.increment(59_999);
  t.is(retries, 0);
  clock.increment(1);
  t.is(retries, 1);
  root.send({ type: 'registry.gc' });
  t.is(retries, 1, 'an explicit GC round collects transients only');
  clock.increment(60_000);
  t.is(retries, 2, 'every interval');
  root.stop();
});
