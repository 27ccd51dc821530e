/**
 * The dagstore's registry: a root actor of its own (next to the scheduler, which is not the only
 * root owning long-lived actors) that owns one shard actor per shard (`shard:<key>`) and sends
 * every one a GC request each `gcIntervalMs` (Lotus `markets/dagstore/wrapper.go` gcLoop, every
 * `GCInterval`, a minute by default). The same tick retries the registrations of deal pieces whose
 * shard could not be registered when they were added (`retryRegistrations`, provided by
 * actors/dagstore.ts).
 */
import { type ActorRefFrom, assign, enqueueActions, setup } from 'xstate';
import { type ShardInput, shardMachine } from './shard.machine.js';

export type ShardRef = ActorRefFrom<typeof shardMachine>;

export interface RegistryInput {
  shards: readonly ShardInput[];
  /** @default 60000 (Lotus DAGStoreConfig.GCInterval) */
  gcIntervalMs?: number;
}

export interface RegistryContext {
  gcIntervalMs: number;
  shards: Record<string, ShardRef>;
}

export type RegistryEvent =
  /** A shard just registered (its record is written): spawn its actor. */
  | { type: 'registry.add'; shard: ShardInput }
  /** A GC round now (`dagstore gc` asks each shard itself, to hear its answer). */
  | { type: 'registry.gc' };

export const shardChildId = (key: string) => `shard:${key}`;

export const registryMachine = setup({
  types: {} as { context: RegistryContext; input: RegistryInput; events: RegistryEvent },
  actors: { shard: shardMachine },
  delays: { gcInterval: ({ context }) => context.gcIntervalMs },
  actions: {
    /** Registers the shards still owed to deal pieces added earlier (none by default). */
    retryRegistrations: () => {},
    gcAll: enqueueActions(({ context, enqueue }) => {
      for (const ref of Object.values(context.shards)) enqueue.sendTo(ref, { type: 'shard.gc' });
    }),
  },
}).createMachine({
  id: 'dagstore',
  context: ({ input, spawn }) => ({
    gcIntervalMs: input.gcIntervalMs ?? 60_000,
    shards: Object.fromEntries(input.shards.map((s) => [s.key, spawn('shard', { id: shardChildId(s.key), input: s })])),
  }),
  initial: 'running',
  states: {
    running: {
      after: { gcInterval: { target: 'running', reenter: true, actions: ['gcAll', 'retryRegistrations'] } },
    },
  },
  on: {
    'registry.add': {
      guard: ({ context, event }) => context.shards[event.shard.key] === undefined,
      actions: assign({
        shards: ({ context, event, spawn }) => ({ ...context.shards, [event.shard.key]: spawn('shard', { id: shardChildId(event.shard.key), input: event.shard }) }),
      }),
    },
    'registry.gc': { actions: 'gcAll' },
  },
});
