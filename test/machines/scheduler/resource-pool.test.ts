/**
 * Resource pools (machines/scheduler/resource-pool.ts): Lotus's `canHandleRequest` and
 * `utilization` (extern/sector-storage/sched_resources.go), and the per-type limits.
 */
import test from 'ava';
import { addTo, canHandle, emptyPool, freeFrom, needOf, utilization } from '../../../machines/scheduler/resource-pool.js';
import type { WorkerInfo, WorkerResources } from '../../../src/tasks/worker-info.js';

const GiB = 2 ** 30;
const G32 = 32 * GiB;

function info(resources: Partial<WorkerResources> = {}, over: Partial<WorkerInfo> = {}): WorkerInfo {
  return {
    id: 'w',
    hostname: 'h',
    taskTypes: ['PC1', 'PC2', 'C2'],
    resources: { cpus: 64, memPhysical: 256 * GiB, memSwap: 0, memReserved: 0, gpus: [], ...resources },
    ignoreResources: false,
    paths: [],
    ...over,
  };
}

test('physical memory: reserve + what the pool holds at least + MinMemory + BaseMinMemory must fit MemPhysical', (t) => {
  // a 32 GiB PC1 needs 56 GiB + 10 MiB base
  const w = info({ memPhysical: 120 * GiB, memSwap: 16 * GiB });
  const pool = emptyPool();
  const pc1 = needOf('PC1', G32, w.resources);
  t.true(canHandle(pool, pc1, w));
  addTo(pool, pc1, w.resources);
  t.true(canHandle(pool, pc1, w), '56 + 56 + base ≤ 120 (and 64 + 64 + base ≤ 136 virtual)');
  addTo(pool, pc1, w.resources);
  t.false(canHandle(pool, pc1, w), 'a third does not fit');
  t.false(canHandle(emptyPool(), pc1, info({ memPhysical: 120 * GiB, memReserved: 70 * GiB })), 'the reserve counts');
});

test('virtual memory: MaxMemory is checked against physical + swap', (t) => {
  // a 32 GiB C2 needs min 30 GiB, max 150 GiB, base 32 GiB
  const c2 = needOf('C2', G32, { cpus: 64 });
  t.false(canHandle(emptyPool(), c2, info({ memPhysical: 128 * GiB, memSwap: 0 })), '150 + 32 > 128');
  t.true(canHandle(emptyPool(), c2, info({ memPhysical: 128 * GiB, memSwap: 64 * GiB })), '150 + 32 ≤ 192');
});

test('threads: a multithreaded task does not fit beside another on the same pool', (t) => {
  const w = info({ cpus: 2 });
  const pool = emptyPool();
  addTo(pool, needOf('PC2', 8 << 20, w.resources), w.resources);
  t.is(pool.cpuUse, 2);
  t.false(canHandle(pool, needOf('PC1', 8 << 20, w.resources), w));
  freeFrom(pool, needOf('PC2', 8 << 20, w.resources), w.resources);
  t.true(canHandle(pool, needOf('PC1', 8 << 20, w.resources), w));
  t.deepEqual(pool, emptyPool(), 'free is the reverse of add');
});

test('threads: on a 2-thread worker that gathers PC1 parents, one 512 MiB PC1 fills it; 8 MiB PC1s still run two at once', (t) => {
  const M512 = 512 << 20;
  const gathering = info({ cpus: 2, pc1GatherFrom: 256 << 20 });
  const pool = emptyPool();
  addTo(pool, needOf('PC1', M512, gathering.resources), gathering.resources);
  t.is(pool.cpuUse, 2);
  t.false(canHandle(pool, needOf('PC1', M512, gathering.resources), gathering), 'its labeller and its gatherer hold both threads');
  const small = emptyPool();
  addTo(small, needOf('PC1', 8 << 20, gathering.resources), gathering.resources);
  t.true(canHandle(small, needOf('PC1', 8 << 20, gathering.resources), gathering));
  const plain = info({ cpus: 2 });
  const two = emptyPool();
  addTo(two, needOf('PC1', M512, plain.resources), plain.resources);
  t.true(canHandle(two, needOf('PC1', M512, plain.resources), plain), 'a worker that does not gather runs two');
});

test('a worker with a GPU runs one GPU task at a time; without a GPU the flag never blocks', (t) => {
  const gpu = info({ gpus: ['A100'] });
  const pool = emptyPool();
  const c2 = needOf('C2', 8 << 20, gpu.resources);
  addTo(pool, c2, gpu.resources);
  t.true(pool.gpuUsed);
  t.false(canHandle(pool, c2, gpu), 'a second GPU task waits');
  t.true(canHandle(pool, needOf('PC1', 8 << 20, gpu.resources), gpu), 'a CPU task does not');
  const cpuOnly = info();
  const p2 = emptyPool();
  addTo(p2, c2, cpuOnly.resources);
  t.false(p2.gpuUsed);
  t.true(canHandle(p2, c2, cpuOnly));
});

test('ignore-resources takes any task whatever the pool holds, but the per-type limit still applies', (t) => {
  const tiny = info({ cpus: 1, memPhysical: GiB }, { ignoreResources: true, limits: { PC1: 2 } });
  const pool = emptyPool();
  const pc1 = needOf('PC1', G32, tiny.resources);
  t.true(canHandle(pool, pc1, tiny), '56 GiB on a 1 GiB machine');
  addTo(pool, pc1, tiny.resources);
  t.true(canHandle(pool, pc1, tiny));
  addTo(pool, pc1, tiny.resources);
  t.false(canHandle(pool, pc1, tiny), 'PC1 limit 2');
  t.true(canHandle(pool, needOf('PC2', G32, tiny.resources), tiny), 'other types are not limited');
});

test('the per-type limit counts the tasks of that type the worker holds outside this pool too', (t) => {
  const w = info({}, { limits: { PC1: 2 } });
  const pool = emptyPool();
  const pc1 = needOf('PC1', 8 << 20, w.resources);
  t.true(canHandle(pool, pc1, w, 1));
  t.false(canHandle(pool, pc1, w, 2));
  addTo(pool, pc1, w.resources);
  t.false(canHandle(pool, pc1, w, 1));
});

test('utilization is the largest of the CPU share, physical memory share and virtual memory share', (t) => {
  const r: WorkerResources = { cpus: 10, memPhysical: 100, memSwap: 100, memReserved: 10, gpus: [] };
  t.is(utilization({ cpuUse: 5, memUsedMin: 0, memUsedMax: 0, gpuUsed: false, counts: {} }, r), 0.5);
  t.is(utilization({ cpuUse: 1, memUsedMin: 60, memUsedMax: 0, gpuUsed: false, counts: {} }, r), 0.7);
  t.is(utilization({ cpuUse: 1, memUsedMin: 0, memUsedMax: 170, gpuUsed: false, counts: {} }, r), 0.9);
});
