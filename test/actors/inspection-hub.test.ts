import test from 'ava';
import { assign, createActor, createMachine, fromPromise, setup } from 'xstate';
import { InspectionHub } from '../../actors/inspection-hub.js';
import { stateString, summarizeContext } from '../../actors/inspection-summary.js';

/** A parent with a child registered as `sector:7`, moving A → B → C on `next`. */
const sectorLike = setup({
  types: { context: {} as { number: number; pieces: string[]; commR?: string }, events: {} as { type: 'next' } },
}).createMachine({
  id: 'sector',
  context: { number: 7, pieces: [] },
  initial: 'A',
  states: {
    A: { on: { next: { target: 'B', actions: assign({ pieces: ({ context }) => [...context.pieces, 'baga…'] }) } } },
    B: { on: { next: { target: 'C', actions: assign({ commR: 'bagboea4b5abc' }) } } },
    C: { type: 'final' },
  },
});

const root = setup({ actors: { sector: sectorLike } }).createMachine({
  id: 'root',
  invoke: { src: 'sector', id: 'sector:7', systemId: 'sector:7' },
  on: { '*': { actions: ({ system, event }) => system.get('sector:7')?.send(event) } },
});

test('inspect only queues events: the tree changes when the batch is folded, not on the actor path', (t) => {
  const hub = new InspectionHub({ intervalMs: 60_000 });
  const actor = createActor(root, { inspect: hub.inspect, systemId: 'scheduler' }).start();
  t.deepEqual(hub.tree().actors, [], 'nothing is folded while the actors run');
  hub.flush();
  const tree = hub.tree();
  const sector = tree.actors.find((a) => a.id === 'sector:7');
  const scheduler = tree.actors.find((a) => a.id === 'scheduler');
  t.truthy(scheduler);
  t.like(sector, { kind: 'sector', state: 'A', parent: scheduler?.session, context: { number: '7', pieces: '[0]' } });
  actor.stop();
  hub.close();
});

test('a sector keeps every state change as its history, with the context at each step, even within one batch', (t) => {
  const hub = new InspectionHub({ intervalMs: 60_000 });
  const actor = createActor(root, { inspect: hub.inspect, systemId: 'scheduler' }).start();
  actor.send({ type: 'next' });
  actor.send({ type: 'next' });
  hub.flush();
  const history = hub.history(7) ?? [];
  t.deepEqual(
    history.map((h) => h.state),
    ['A', 'B', 'C'],
  );
  t.is(history[1]?.event, 'next');
  t.is(history[1]?.context.pieces, '[1]');
  t.is(history[2]?.status, 'done');
  t.is(history[2]?.context.commR, 'bagboea4b5abc');
  t.is(hub.history(8), undefined);
  t.false(
    hub.tree().actors.some((a) => a.id === 'sector:7'),
    'a finished actor leaves the tree',
  );
  actor.stop();
  hub.close();
});

test('live sinks get a sample: the last snapshot of each actor per batch and at most the event budget; the rest is counted', (t) => {
  const counter = createMachine({
    types: {} as { context: { n: number } },
    context: { n: 0 },
    on: { tick: { actions: assign({ n: ({ context }) => context.n + 1 }) } },
  });
  const hub = new InspectionHub({ intervalMs: 60_000, liveEventBudget: 5 });
  const batches: { all: number; snapshots: number; events: number }[] = [];
  hub.addSink(({ all, sample }) =>
    batches.push({
      all: all.length,
      snapshots: sample.filter((e) => e.type === '@xstate.snapshot').length,
      events: sample.filter((e) => e.type === '@xstate.event').length,
    }),
  );
  const frames: number[] = [];
  hub.subscribe((f) => frames.push(f.events.length));
  const actor = createActor(counter, { inspect: hub.inspect }).start();
  for (let i = 0; i < 50; i++) actor.send({ type: 'tick' });
  hub.flush();
  t.is(batches.length, 1);
  t.true(batches[0]!.all > 100, 'the full batch holds every event and snapshot');
  t.is(batches[0]!.snapshots, 1, 'one snapshot per actor');
  t.is(batches[0]!.events, 5);
  t.deepEqual(frames, [5]);
  t.true(hub.dropped >= 45);
  t.is(hub.tree().actors[0]?.context.n, '50', 'the tree shows the latest context');
  actor.stop();
  hub.close();
});

test('a full queue drops new events and counts them instead of growing', (t) => {
  const hub = new InspectionHub({ intervalMs: 60_000, queueLimit: 10, liveEventBudget: 1000 });
  const counter = createMachine({ on: { tick: {} } });
  const actor = createActor(counter, { inspect: hub.inspect }).start();
  for (let i = 0; i < 100; i++) actor.send({ type: 'tick' });
  t.true(hub.dropped >= 90);
  actor.stop();
  hub.close();
});

test('promise actors appear while they run and leave the tree when they settle', async (t) => {
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const m = setup({ actors: { work: fromPromise(() => gate) } }).createMachine({
    initial: 'running',
    states: { running: { invoke: { src: 'work', id: 'chainGetTicket', onDone: 'idle' } }, idle: {} },
  });
  const hub = new InspectionHub({ intervalMs: 60_000 });
  const actor = createActor(m, { inspect: hub.inspect }).start();
  hub.flush();
  t.like(
    hub.tree().actors.find((a) => a.id === 'chainGetTicket'),
    { kind: 'actor', status: 'active' },
  );
  release();
  await gate;
  await new Promise((r) => setImmediate(r));
  hub.flush();
  t.is(
    hub.tree().actors.find((a) => a.id === 'chainGetTicket'),
    undefined,
  );
  t.is(hub.tree().actors[0]?.state, 'idle');
  actor.stop();
  hub.close();
});

test('context summaries keep one short line per field and state values are flattened', (t) => {
  t.deepEqual(
    summarizeContext({
      n: 3,
      text: 'x'.repeat(200),
      bytes: new Uint8Array(32),
      list: [1, 2],
      map: new Map([[1, 2]]),
      small: { a: 1, b: 'z' },
      big: { a: { x: 1 }, b: 2 },
      fn: () => 1,
      missing: undefined,
      err: new Error('boom'),
    }),
    {
      n: '3',
      text: `${'x'.repeat(79)}…`,
      bytes: '32 bytes',
      list: '[2]',
      map: 'Map(1)',
      small: '{a: 1, b: z}',
      big: '{a, b}',
      err: 'Error: boom',
    },
  );
  t.is(stateString({ Committing: 'C2' }), 'Committing.C2');
  t.is(stateString('Proving'), 'Proving');
});
