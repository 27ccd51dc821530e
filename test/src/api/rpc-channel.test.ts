import test from 'ava';
import { ChannelWriter } from '../../../src/api/rpc-channel.js';

/** A transport whose send buffer the test fills and drains. */
function fakeTransport() {
  const frames: Array<{ method: string; params: unknown[] }> = [];
  const pendingFlush: Array<() => void> = [];
  const io = {
    full: false,
    frames,
    send(text: string, flushed: () => void) {
      frames.push(JSON.parse(text));
      if (io.full) pendingFlush.push(flushed);
      else queueMicrotask(flushed);
    },
    buffered: () => (io.full ? 1 << 30 : 0),
    /** The peer reads again: everything buffered is flushed. */
    drain() {
      io.full = false;
      for (const f of pendingFlush.splice(0)) f();
    },
  };
  return io;
}

const tick = () => new Promise((r) => setImmediate(r));

test('values wait until the call is answered, then go out in order; close sends xrpc.ch.close after them', async (t) => {
  const io = fakeTransport();
  const writer = new ChannelWriter(io);
  const ch = writer.create<number>();
  ch.push(1);
  ch.push(2);
  await tick();
  t.deepEqual(io.frames, [], 'nothing before start (the answer naming the channel goes first)');
  ch.start();
  ch.close();
  ch.push(3);
  await tick();
  t.deepEqual(io.frames, [
    { jsonrpc: '2.0', method: 'xrpc.ch.val', params: [ch.id, 1] },
    { jsonrpc: '2.0', method: 'xrpc.ch.val', params: [ch.id, 2] },
    { jsonrpc: '2.0', method: 'xrpc.ch.close', params: [ch.id] },
  ] as unknown as typeof io.frames);
  t.is(writer.open, 0);
});

test('a slow client gets every state change and only the newest progress per key; the queue stays bounded', async (t) => {
  const io = fakeTransport();
  const writer = new ChannelWriter(io);
  const ch = writer.create<string>();
  ch.start();
  ch.push('first');
  await tick();
  io.full = true; // the client stops reading
  for (let i = 0; i < 100_000; i++) {
    ch.latest('pc1', `pc1 ${i}`);
    ch.latest('pc2', `pc2 ${i}`);
    if (i % 20_000 === 0) ch.push(`state ${i}`);
  }
  t.true(ch.pending <= 7, `at most the 5 state changes and one value per progress key wait (${ch.pending})`);
  t.is(ch.dropped, 2 * 100_000 - 2);
  io.drain();
  await tick();
  const values = io.frames.map((f) => f.params[1]);
  t.deepEqual(values, ['first', 'state 0', 'state 20000', 'state 40000', 'state 60000', 'state 80000', 'pc1 99999', 'pc2 99999']);
});

test('state changes are never dropped: past maxPending waiting the channel closes instead', async (t) => {
  const io = fakeTransport();
  const writer = new ChannelWriter(io, { maxPending: 3 });
  const ch = writer.create<number>();
  let closed = 0;
  ch.onClosed = () => closed++;
  ch.start();
  io.full = true;
  for (let i = 0; i < 5; i++) ch.push(i);
  t.true(ch.overflowed);
  t.true(ch.closed);
  t.is(closed, 1);
  io.drain();
  await tick();
  t.deepEqual(
    io.frames.map((f) => [f.method, f.params[1]]),
    [['xrpc.ch.val', 0], ['xrpc.ch.val', 1], ['xrpc.ch.val', 2], ['xrpc.ch.close', undefined]],
  );
});

test('a connection full of other frames (answers) still resumes the channel once it drains', async (t) => {
  let buffered = 1 << 30;
  const frames: string[] = [];
  const send = (text: string, flushed: () => void) => {
    frames.push(text);
    queueMicrotask(flushed);
  };
  const writer = new ChannelWriter({ send, buffered: () => buffered });
  const ch = writer.create<number>();
  ch.start();
  ch.push(1);
  await new Promise((r) => setTimeout(r, 30));
  t.is(frames.length, 0);
  buffered = 0;
  await new Promise((r) => setTimeout(r, 60));
  t.is(frames.length, 1);
});

test('channels of one connection share it round-robin, and dropAll forgets every queue without a frame', async (t) => {
  const io = fakeTransport();
  const writer = new ChannelWriter(io);
  const a = writer.create<string>();
  const b = writer.create<string>();
  let closedA = 0;
  a.onClosed = () => closedA++;
  a.start();
  b.start();
  a.push('a1');
  a.push('a2');
  b.push('b1');
  await tick();
  t.deepEqual(io.frames.map((f) => f.params[1]), ['a1', 'b1', 'a2']);
  io.full = true;
  a.push('a3');
  writer.dropAll();
  io.drain();
  await tick();
  t.is(io.frames.length, 3);
  t.is(writer.open, 0);
  t.is(closedA, 1, 'its producer is told');
});
