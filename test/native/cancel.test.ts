import test from 'ava';
import { columnHashes, poseidonLayer } from '../../native/poseidon.js';
import { sdrLabelRange, sdrParents } from '../../native/sdr.js';
import { AbortedError } from '../../src/errors.js';
import { graphParents, sdrGraph } from '../../src/seal/graph.js';
import { porepId } from '../../src/sector/proofs.js';
import { seededBytes } from '../helpers/bytes.js';
import { assertStoppedEarly, cancelLater, nowMs, timeMs } from '../helpers/cancel-later.js';

/** Canonical field elements (top two bits of every node cleared). */
function elements(nodes: number, seed: number): Uint8Array {
  const b = seededBytes(nodes * 32, seed);
  for (let i = 31; i < b.length; i += 32) b[i]! &= 0x3f;
  return b;
}

const setFlag = () => Int32Array.of(1);

test('a Poseidon row whose cancel flag is already set hashes (almost) nothing and throws AbortedError', (t) => {
  for (const threads of [1, 2]) {
    const parents = new Uint8Array(4096 * 32).fill(0xee);
    t.throws(() => poseidonLayer(elements(4096 * 8, 1), parents, 8, { threads, cancel: setFlag() }), { instanceOf: AbortedError });
    t.true(parents.every((b) => b === 0xee), `no hash was written on ${threads} thread(s)`);
  }
});

test('column hashes whose cancel flag is already set throw AbortedError on one and on several threads', (t) => {
  for (const threads of [1, 2]) {
    const out = new Uint8Array(4096 * 32);
    t.throws(() => columnHashes([elements(4096, 2), elements(4096, 3)], out, { threads, cancel: setFlag() }), { instanceOf: AbortedError });
  }
  const clear = new Int32Array(new SharedArrayBuffer(4));
  const out = new Uint8Array(64 * 32);
  columnHashes([elements(64, 2), elements(64, 3)], out, { cancel: clear });
  t.false(out.every((b) => b === 0), 'a flag that stays clear changes nothing');
});

// The calls below take seconds when they run to the end (hundreds of thousands of hashes); the
// flag is set from another thread 100 ms in, so only polling inside the call can stop it early.
for (const threads of [1, 2]) {
  test.serial(`column hashes on ${threads} native thread(s) stop mid-call soon after the flag is set`, async (t) => {
    const nodes = 200_000;
    const layers = [elements(nodes, 4), elements(nodes, 5)];
    const out = new Uint8Array(nodes * 32).fill(0xee);
    const tenth = nodes / 10;
    const wholeMs = 10 * timeMs(() => columnHashes(layers.map((l) => l.subarray(0, tenth * 32)), new Uint8Array(tenth * 32), { threads }));
    const pending = await cancelLater(100);
    t.throws(() => columnHashes(layers, out, { threads, cancel: pending.flag }), { instanceOf: AbortedError });
    const stoppedAfter = nowMs() - pending.firedAt();
    await pending.done();
    assertStoppedEarly(t, stoppedAfter, wholeMs, 'column hashes');
    t.true(out.subarray(-32).every((b) => b === 0xee), 'the last column was never hashed');
  });

  test.serial(`a Poseidon tree row on ${threads} native thread(s) stops mid-call soon after the flag is set`, async (t) => {
    const hashes = 60_000;
    const children = elements(hashes * 8, 6);
    const parents = new Uint8Array(hashes * 32).fill(0xee);
    const tenth = hashes / 10;
    const wholeMs = 10 * timeMs(() => poseidonLayer(children.subarray(0, tenth * 8 * 32), new Uint8Array(tenth * 32), 8, { threads }));
    const pending = await cancelLater(100);
    t.throws(() => poseidonLayer(children, parents, 8, { threads, cancel: pending.flag }), { instanceOf: AbortedError });
    const stoppedAfter = nowMs() - pending.firedAt();
    await pending.done();
    assertStoppedEarly(t, stoppedAfter, wholeMs, 'Poseidon row');
    t.true(parents.subarray(-32).every((b) => b === 0xee), 'the last group was never hashed');
  });
}

test('labelling with a set cancel flag stops at its first poll and throws AbortedError', (t) => {
  const nodes = 8192;
  const graph = sdrGraph({ nodes, porepId: porepId(5) });
  const parents = graphParents(graph, 0, nodes);
  const current = new Uint8Array(nodes * 32);
  t.throws(() => sdrLabelRange({ replicaId: new Uint8Array(32).fill(7), layer: 1, start: 0, parents, current, cancel: setFlag() }), {
    instanceOf: AbortedError,
    message: /layer 1 cancelled/,
  });
  t.true(current.every((b) => b === 0), 'nothing was labelled');
});

test.serial('labelling a large layer stops mid-call soon after the flag is set', async (t) => {
  // 2^19 nodes of layer 2 are ~10 M compressions; stopped at 100 ms, the end is never reached
  const nodes = 1 << 19;
  const graph = sdrGraph({ nodes, porepId: porepId(5) });
  const parents = graphParents(graph, 0, nodes);
  const previous = elements(nodes, 8);
  const current = new Uint8Array(nodes * 32);
  // the first sixteenth of the layer, uncancelled: the whole call takes about 16 times as long
  const part = nodes / 16;
  const wholeMs = 16 * timeMs(() => sdrLabelRange({ replicaId: new Uint8Array(32).fill(7), layer: 2, start: 0, parents: parents.subarray(0, part * 14), current, previous }));
  current.fill(0);
  const pending = await cancelLater(100);
  t.throws(() => sdrLabelRange({ replicaId: new Uint8Array(32).fill(7), layer: 2, start: 0, parents, current, previous, cancel: pending.flag }), {
    instanceOf: AbortedError,
  });
  const stoppedAfter = nowMs() - pending.firedAt();
  await pending.done();
  assertStoppedEarly(t, stoppedAfter, wholeMs, 'labelling');
  t.true(current.subarray((nodes - 1) * 32).every((b) => b === 0), 'the last node was never labelled');
});

test('parent computation with a set cancel flag throws AbortedError', (t) => {
  const graph = sdrGraph({ nodes: 1 << 12, porepId: porepId(5) });
  t.throws(() => sdrParents(graph, 0, new Uint32Array(14 * 1024), setFlag()), { instanceOf: AbortedError });
  t.throws(() => graphParents(graph, 0, 1024, undefined, setFlag()), { instanceOf: AbortedError });
});

test('a cancel flag that is not an Int32Array is refused by name', (t) => {
  const bad = new Uint32Array(1) as unknown as Int32Array;
  t.throws(() => poseidonLayer(elements(8, 1), new Uint8Array(32), 8, { cancel: bad }), { instanceOf: TypeError, message: /options\.cancel must be an Int32Array/ });
  t.throws(() => columnHashes([elements(1, 1), elements(1, 2)], new Uint8Array(32), { cancel: new Int32Array(0) }), {
    instanceOf: TypeError,
    message: /options\.cancel/,
  });
  const graph = sdrGraph({ nodes: 64, porepId: porepId(5) });
  t.throws(() => sdrParents(graph, 0, new Uint32Array(14), bad), { instanceOf: TypeError, message: /cancel must be an Int32Array/ });
});
