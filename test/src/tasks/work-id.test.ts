/**
 * WorkIDs (src/tasks/work-id.ts) are persisted in every call record: a daemon of a later version
 * restored on the same database must compute the same WorkID for the same work, or a restored
 * sector would start its phase again instead of being attached to its call. The values below were
 * computed by the first implementation and must never change.
 */
import test from 'ava';
import { canonicalJson, workIdOf } from '../../../src/tasks/work-id.js';
import type { Task } from '../../../src/tasks/task-types.js';

const INPUT = {
  pc1: { replicaId: 'ab'.repeat(32), ticket: { value: '11'.repeat(32), epoch: 9 }, commDHex: 'cd'.repeat(32), layerDigests: ['01'.repeat(32), '02'.repeat(32)] },
  extra: undefined,
  z: [1, 'x', null, { b: 2, a: 1 }],
};
const PC2 = {
  type: 'PC2',
  sector: { miner: 1000, number: 7 },
  proofType: 5,
  priority: 1024,
  input: INPUT,
} as unknown as Task;

test('a WorkID is the one computed by the first implementation', (t) => {
  t.is(workIdOf(PC2), 'PC2(d563e93ccf92327501d82cd9918cde77dd3419ebf0a1528dde877eba3f445768)');
});

test('a WorkID does not depend on key order or priority, and depends on every input', (t) => {
  const reordered = { input: { z: INPUT.z, pc1: INPUT.pc1 }, priority: 0, proofType: 5, sector: { number: 7, miner: 1000 }, type: 'PC2' } as unknown as Task;
  t.is(workIdOf(reordered), workIdOf(PC2));
  const other = { ...PC2, sector: { miner: 1000, number: 8 } } as Task;
  t.not(workIdOf(other), workIdOf(PC2));
});

test('canonical JSON sorts keys by code unit, drops undefined members, escapes as JSON does', (t) => {
  t.is(canonicalJson({ b: [3, { d: undefined, c: 'é"' }], a: 1.5, é: true, A: null }), '{"A":null,"a":1.5,"b":[3,{"c":"é\\""}],"é":true}');
  t.is(canonicalJson([]), '[]');
  t.is(canonicalJson({}), '{}');
  t.is(canonicalJson({ a: undefined }), '{}');
});

test('canonical JSON refuses what JSON cannot carry, by name', (t) => {
  t.throws(() => canonicalJson({ a: Number.NaN }), { message: 'canonicalJson: NaN is not JSON' });
  t.throws(() => canonicalJson([undefined]), { message: 'canonicalJson: undefined is not JSON' });
  t.throws(() => canonicalJson({ a: [1, Number.POSITIVE_INFINITY] }), { message: 'canonicalJson: Infinity is not JSON' });
});
