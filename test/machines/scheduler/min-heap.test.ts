/**
 * The scheduling pass's lazy min-heap (machines/scheduler/min-heap.ts) against a sorted list, over
 * random pushes, pops and raised keys (seeded; the seed is printed).
 */
import test from 'ava';
import { MinHeap } from '../../../machines/scheduler/min-heap.js';
import { seededRandom } from '../../helpers/seal-checks.js';

test('the top is always the smallest key, ties to the smaller item, through pushes, pops and a raised top key (random, seeded)', (t) => {
  const seed = Number(process.env.SCHED_PROPERTY_SEED ?? Date.now() % 2 ** 31);
  t.log(`seed ${seed}`);
  const rand = seededRandom(seed);
  for (let round = 0; round < 200; round++) {
    const heap = new MinHeap();
    const model: { key: number; item: number; stamp: number }[] = [];
    const smallest = () => model.reduce((m, e) => (e.key < m.key || (e.key === m.key && e.item < m.item) ? e : m));
    for (let op = 0; op < 200; op++) {
      const r = rand();
      const item = Math.floor(rand() * 1000);
      if ((r < 0.5 || model.length === 0) && !model.some((e) => e.item === item)) {
        // items are distinct, as the pass's workers are in one heap
        const e = { key: Math.floor(rand() * 20), item, stamp: op };
        heap.push(e.key, e.item, e.stamp);
        model.push(e);
      } else if (r < 0.75 && model.length > 0) {
        model.splice(model.indexOf(smallest()), 1);
        heap.pop();
      } else if (model.length > 0) {
        const top = smallest();
        top.key += Math.floor(rand() * 10);
        top.stamp = op;
        heap.replaceTop(top.key, top.stamp);
      }
      t.is(heap.size, model.length);
      if (model.length > 0) {
        const m = smallest();
        if (heap.topItem !== m.item || heap.topStamp !== m.stamp) {
          t.fail(`round ${round}, op ${op}: top (${heap.topItem}, ${heap.topStamp}), expected (${m.item}, ${m.stamp})`);
          return;
        }
      }
    }
  }
});
