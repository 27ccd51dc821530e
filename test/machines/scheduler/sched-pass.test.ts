/**
 * The scheduling pass (machines/scheduler/sched-pass.ts) as a pure function: selectors, ranking,
 * windows, space claims and per-type limits, and the no-idle-worker property over random
 * workloads (seeded; the seed is printed).
 */
import test from 'ava';
import { fitKey } from '../../../machines/scheduler/pass-fits.js';
import { type PassCall, type PassWorker, type SchedWindow, placeInOrder, planAll } from '../../../machines/scheduler/sched-pass.js';
import { canHandle, needOf } from '../../../machines/scheduler/resource-pool.js';
import { type SelectorSpec, allocBytes, fetchBytes, offers } from '../../../machines/scheduler/selectors.js';
import { type PathSpace, bestPath, claimOn } from '../../../machines/scheduler/storage-view.js';
import { Planner } from '../../../machines/scheduler/sched-pass.js';
import { FileType } from '../../../src/sector/sector-id.js';
import { TASK_TYPES, type TaskType } from '../../../src/tasks/task-types.js';
import type { WorkerInfo, WorkerResources } from '../../../src/tasks/worker-info.js';

const GiB = 2 ** 30;
const G32 = 32 * GiB;
const SC = FileType.sealed | FileType.cache;
const BIG: WorkerResources = { cpus: 64, memPhysical: 2048 * GiB, memSwap: 0, memReserved: 0, gpus: [] };

function worker(id: string, over: Partial<WorkerInfo> = {}, state: Partial<Omit<PassWorker, 'info'>> = {}): PassWorker {
  return {
    info: { id, hostname: id, taskTypes: [...TASK_TYPES], resources: BIG, ignoreResources: false, paths: [`p-${id}`], ...over },
    schedulable: true,
    disabledTypes: [],
    baseUtil: 0,
    started: {},
    ...state,
  };
}

const path = (available: number, over: Partial<PathSpace> = {}): PathSpace => ({ canSeal: true, canStore: true, weight: 10, available, healthy: true, ...over });
const roomy = (...ids: string[]) => Object.fromEntries(ids.map((id) => [`p-${id}`, path(100 * 1024 * GiB)]));

const ALLOC_PC1: SelectorSpec = { kind: 'alloc', types: SC, pathType: 'sealing' };
const call = (callId: string, type: TaskType, selector: SelectorSpec, over: Partial<PassCall> = {}): PassCall => ({ callId, type, sectorSize: G32, selector, ...over });
const placedOn = (r: ReturnType<typeof planAll>) => Object.fromEntries([...r.placements].map(([id, p]) => [id, p.worker]));

test('alloc: a worker whose paths lack the room for the new files gets nothing, and each placement\'s claim counts against the next (Lotus places on stale space figures: fixed)', (t) => {
  const pc1Bytes = allocBytes(ALLOC_PC1, G32);
  const paths = { 'p-a': path(pc1Bytes - 1), 'p-b': path(pc1Bytes + pc1Bytes / 2) };
  const r = planAll([call('1', 'PC1', ALLOC_PC1), call('2', 'PC1', ALLOC_PC1)], [worker('a'), worker('b')], { paths, claims: {} });
  t.deepEqual(placedOn(r), { 1: 'b' }, 'room for one PC1 on b, none on a');
  t.deepEqual(r.placements.get('1')!.claim, { path: 'p-b', bytes: pc1Bytes });
  const claimed = planAll([call('3', 'PC1', ALLOC_PC1)], [worker('b')], { paths, claims: { 'p-b': pc1Bytes } });
  t.deepEqual(placedOn(claimed), {}, 'space promised to a started call is not offered again');
});

test('alloc: only a healthy path of the right kind counts', (t) => {
  const paths = { 'p-a': path(100 * 1024 * GiB, { healthy: false }), 'p-b': path(100 * 1024 * GiB, { canSeal: false }), 'p-c': path(100 * 1024 * GiB) };
  const r = planAll([call('1', 'PC1', ALLOC_PC1)], [worker('a'), worker('b'), worker('c')], { paths, claims: {} });
  t.deepEqual(placedOn(r), { 1: 'c' });
  const get = planAll([call('g', 'GET', { kind: 'alloc', types: SC, pathType: 'storage' })], [worker('a'), worker('b')], { paths, claims: {} });
  t.deepEqual(placedOn(get), { g: 'b' }, 'a GET to storage needs CanStore, not CanSeal');
});

test('existing without fetch: only a worker with a path holding the files', (t) => {
  const c1 = call('1', 'C1', { kind: 'existing', types: SC, allowFetch: false }, { holders: ['p-b'] });
  t.deepEqual(placedOn(planAll([c1], [worker('a'), worker('b')], { paths: roomy('a', 'b'), claims: {} })), { 1: 'b' });
  t.deepEqual(placedOn(planAll([c1], [worker('a')], { paths: roomy('a'), claims: {} })), {}, 'no holder: it waits');
});

test('existing with fetch: the holder is preferred even when busier (Lotus ranks holder and fetcher by utilization alone, copying the cache: fixed); a fetcher with room takes it when the holder cannot', (t) => {
  const pc2 = (id: string) => call(id, 'PC2', { kind: 'existing', types: SC, allowFetch: true }, { holders: ['p-busy'] });
  const busy = worker('busy', { resources: { ...BIG, cpus: 64 } }, { baseUtil: 0.5 });
  const r = planAll([pc2('1')], [busy, worker('idle')], { paths: roomy('busy', 'idle'), claims: {} });
  t.deepEqual(placedOn(r), { 1: 'busy' });
  t.is(r.placements.get('1')!.claim, undefined, 'the holder fetches nothing, so claims nothing');
  // the holder's pool fits one PC2 per window; a third goes to the fetcher, which claims the space it fetches into
  const three = planAll([pc2('1'), pc2('2'), pc2('3')], [busy, worker('idle')], { paths: roomy('busy', 'idle'), claims: {} });
  t.deepEqual(placedOn(three), { 1: 'busy', 2: 'busy', 3: 'idle' });
  t.deepEqual(three.placements.get('3')!.claim, { path: 'p-idle', bytes: fetchBytes({ kind: 'existing', types: SC, allowFetch: true }, G32) });
  const full = planAll([pc2('1'), pc2('2'), pc2('3')], [busy, worker('idle')], { paths: { ...roomy('busy'), 'p-idle': path(GiB) }, claims: {} });
  t.deepEqual(placedOn(full), { 1: 'busy', 2: 'busy' }, 'a fetcher without room for the files gets nothing');
});

test('task selector: the worker running fewer task types wins (a dedicated C2 box), then the less loaded', (t) => {
  const c2 = (id: string) => call(id, 'C2', { kind: 'task' });
  const r = planAll([c2('1')], [worker('all'), worker('c2box', { taskTypes: ['C2'] }, { baseUtil: 0.9 })], { paths: {}, claims: {} });
  t.deepEqual(placedOn(r), { 1: 'c2box' });
});

test('equal workers share one pass\'s tasks: each placement re-ranks by utilization (Lotus ranks once per pass and fills one worker\'s windows first: fixed)', (t) => {
  const calls = ['1', '2', '3', '4'].map((id) => call(id, 'PC1', ALLOC_PC1));
  const r = planAll(calls, [worker('a'), worker('b')], { paths: roomy('a', 'b'), claims: {} });
  t.deepEqual(placedOn(r), { 1: 'a', 2: 'b', 3: 'a', 4: 'b' });
});

test('a task goes to the less utilized worker, counting its started work', (t) => {
  const r = planAll([call('1', 'PC1', ALLOC_PC1)], [worker('a', {}, { baseUtil: 0.4 }), worker('b', {}, { baseUtil: 0.1 })], { paths: roomy('a', 'b'), claims: {} });
  t.deepEqual(placedOn(r), { 1: 'b' });
});

test('a worker\'s per-type limit counts the tasks started on it and those placed in either of its windows (Lotus counts it per pool: a limit of 1 allowed two)', (t) => {
  const calls = ['1', '2', '3'].map((id) => call(id, 'PC1', ALLOC_PC1));
  const limited = worker('a', { limits: { PC1: 2 } }, { started: { PC1: 1 } });
  t.deepEqual(placedOn(planAll(calls, [limited], { paths: roomy('a'), claims: {} })), { 1: 'a' });
  const fresh = worker('a', { limits: { PC1: 2 } });
  t.deepEqual(placedOn(planAll(calls, [fresh], { paths: roomy('a'), claims: {} })), { 1: 'a', 2: 'a' });
});

test('a cordoned or disabled worker, or a task type disabled on a worker, gets nothing', (t) => {
  const calls = [call('1', 'PC1', ALLOC_PC1)];
  const storage = { paths: roomy('a'), claims: {} };
  t.deepEqual(placedOn(planAll(calls, [worker('a', {}, { schedulable: false })], storage)), {});
  t.deepEqual(placedOn(planAll(calls, [worker('a', {}, { disabledTypes: ['PC1'] })], storage)), {});
  t.deepEqual(placedOn(planAll([call('2', 'PC2', { kind: 'task' })], [worker('a', {}, { disabledTypes: ['PC1'] })], storage)), { 2: 'a' });
});

test('a pinned task (a client\'s upload) goes to its worker only', (t) => {
  const ap = call('1', 'AP', { kind: 'alloc', types: FileType.unsealed, pathType: 'sealing' }, { pinned: 'local' });
  t.deepEqual(placedOn(planAll([ap], [worker('idle'), worker('local', {}, { baseUtil: 0.9 })], { paths: roomy('idle', 'local'), claims: {} })), { 1: 'local' });
  t.deepEqual(placedOn(planAll([ap], [worker('idle')], { paths: roomy('idle'), claims: {} })), {});
});

test('tasks fill the first window that can hold them, then the second; the rest are left queued', (t) => {
  const two = worker('a', { resources: { ...BIG, cpus: 2 } });
  const calls = ['1', '2', '3', '4', '5'].map((id) => call(id, 'PC2', { kind: 'task' }, { sectorSize: 8 << 20 }));
  const r = planAll(calls, [two], { paths: {}, claims: {} });
  t.deepEqual(
    [...r.placements].map(([id, p]) => [id, p.window]),
    [
      ['1', 0],
      ['2', 1],
    ],
  );
});

// ------------------------------------------------------------------------------------------------
// The no-idle-worker property

function mulberry32(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

interface Workload {
  workers: PassWorker[];
  calls: PassCall[];
  storage: { paths: Record<string, PathSpace>; claims: Record<string, number> };
}

function randomWorkload(rand: () => number): Workload {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const nWorkers = 1 + Math.floor(rand() * 12);
  const paths: Record<string, PathSpace> = {};
  const pathIds: string[] = [];
  for (let i = 0; i < nWorkers + 2; i++) {
    const id = `p${i}`;
    pathIds.push(id);
    paths[id] = path(Math.floor(rand() * 2000) * GiB, { healthy: rand() > 0.1, canSeal: rand() > 0.1, canStore: rand() > 0.3, weight: 1 + Math.floor(rand() * 10) });
  }
  const workers: PassWorker[] = [];
  for (let i = 0; i < nWorkers; i++) {
    const taskTypes = TASK_TYPES.filter(() => rand() > 0.3);
    const limits: Partial<Record<TaskType, number>> = {};
    for (const t of taskTypes) if (rand() > 0.8) limits[t] = 1 + Math.floor(rand() * 3);
    const started: Partial<Record<TaskType, number>> = {};
    for (const t of taskTypes) if (rand() > 0.7) started[t] = Math.floor(rand() * 3);
    workers.push(
      worker(
        `w${i}`,
        {
          taskTypes,
          resources: { cpus: 1 + Math.floor(rand() * 32), memPhysical: (16 + Math.floor(rand() * 512)) * GiB, memSwap: Math.floor(rand() * 64) * GiB, memReserved: Math.floor(rand() * 8) * GiB, gpus: rand() > 0.6 ? ['gpu'] : [] },
          ignoreResources: rand() > 0.9,
          paths: pathIds.filter(() => rand() > 0.7),
          limits,
        },
        { schedulable: rand() > 0.15, disabledTypes: taskTypes.filter(() => rand() > 0.9), baseUtil: rand(), started },
      ),
    );
  }
  const calls: PassCall[] = [];
  const nCalls = Math.floor(rand() * 300);
  for (let i = 0; i < nCalls; i++) {
    const type = pick(TASK_TYPES);
    const sectorSize = pick([2048, 8 << 20, 512 << 20, G32, 2 * G32]);
    let selector: SelectorSpec;
    if (type === 'AP' || type === 'PC1') selector = { kind: 'alloc', types: type === 'AP' ? FileType.unsealed : SC, pathType: 'sealing' };
    else if (type === 'GET') selector = { kind: 'alloc', types: SC, pathType: pick(['sealing', 'storage'] as const) };
    else if (type === 'C2') selector = { kind: 'task' };
    else selector = { kind: 'existing', types: SC, allowFetch: type === 'PC2' || type === 'UNS' };
    const c = call(`c${i}`, type, selector, { sectorSize });
    if (selector.kind === 'existing') c.holders = pathIds.filter(() => rand() > 0.8);
    if (type === 'AP' && rand() > 0.8) c.pinned = pick(workers).info.id;
    calls.push(c);
  }
  return { workers, calls, storage: { paths, claims: rand() > 0.5 ? { [pick(pathIds)]: Math.floor(rand() * 500) * GiB } : {} } };
}

/** Whether worker `w` could take `c` now, given the windows and claims after the pass (written apart from the planner). */
function couldTake(w: PassWorker, windows: readonly SchedWindow[], c: PassCall, claims: Record<string, number>, paths: Record<string, PathSpace>): boolean {
  if (c.pinned !== undefined && c.pinned !== w.info.id) return false;
  if (!w.schedulable || !offers(w.info.taskTypes, w.disabledTypes, c.type)) return false;
  const sel = c.selector;
  if (sel.kind === 'alloc' && bestPath(paths, claims, w.info.paths, sel.pathType, allocBytes(sel, c.sectorSize)) === undefined) return false;
  if (sel.kind === 'existing') {
    const holds = (c.holders ?? []).some((h) => w.info.paths.includes(h));
    if (!holds && !(sel.allowFetch && bestPath(paths, claims, w.info.paths, 'sealing', fetchBytes(sel, c.sectorSize)) !== undefined)) return false;
  }
  const need = needOf(c.type, c.sectorSize, w.info.resources);
  let inWindows = 0;
  for (const x of windows) inWindows += x.allocated.counts[c.type] ?? 0;
  const started = w.started[c.type] ?? 0;
  return windows.some((x) => canHandle(x.allocated, need, w.info, started + inWindows - (x.allocated.counts[c.type] ?? 0)));
}

test('no idle worker: after a pass, no queued task is left that a worker could still take (random workloads, seeded)', (t) => {
  const seed = Number(process.env.SCHED_PROPERTY_SEED ?? Date.now() % 2 ** 31);
  t.log(`seed ${seed} (SCHED_PROPERTY_SEED=${seed} repeats it)`);
  const rand = mulberry32(seed);
  let placed = 0;
  let left = 0;
  for (let round = 0; round < 300; round++) {
    const { workers, calls, storage } = randomWorkload(rand);
    const r = planAll(calls, workers, storage);
    const claims = { ...storage.claims };
    for (const ws of Object.values(r.windows)) for (const x of ws) for (const c of x.claims.values()) claimOn(claims, c, 1);
    for (const c of calls) {
      if (r.placements.has(c.callId)) {
        placed++;
        continue;
      }
      left++;
      const taker = workers.find((w) => couldTake(w, r.windows[w.info.id]!, c, claims, storage.paths));
      if (taker) {
        t.fail(`round ${round}: ${c.callId} (${c.type}) was left queued while ${taker.info.id} could take it`);
        return;
      }
    }
  }
  t.log(`${placed} placed, ${left} left queued with no worker able to take them`);
  t.true(placed > 1000 && left > 1000, 'the workloads exercise both outcomes');
});

test('the pass\'s per-shape heaps place exactly as a scan of every worker does (random workloads, seeded)', (t) => {
  const seed = Number(process.env.SCHED_PROPERTY_SEED ?? Date.now() % 2 ** 31) ^ 0x5eed;
  t.log(`seed ${seed}`);
  const rand = mulberry32(seed);
  for (let round = 0; round < 200; round++) {
    const { workers, calls, storage } = randomWorkload(rand);
    const heaps = new Planner(workers, storage);
    const scan = new Planner(workers, storage, { useHeaps: false });
    for (const c of calls) t.deepEqual(heaps.place(c), scan.place(c), `round ${round}, ${c.callId}`);
  }
});

test('a pass stops where nothing left in the queue can fit: thousands waiting behind full windows are not looked at', (t) => {
  const calls = Array.from({ length: 5000 }, (_, i) => call(`pc1-${i}`, 'PC1', ALLOC_PC1));
  const planner = new Planner([worker('a')], { paths: roomy('a'), claims: {} });
  let looked = 0;
  const placed: string[] = [];
  placeInOrder(
    planner,
    calls,
    new Map([[fitKey('PC1', G32), calls.length]]),
    {
      type: (c) => c.type,
      sectorSize: (c) => c.sectorSize,
      call: (c) => {
        looked++;
        return c;
      },
    },
    (c) => placed.push(c.callId),
  );
  t.true(placed.length > 10 && placed.length < 200, `${placed.length} placed: the windows' memory holds a few dozen 32 GiB PC1s`);
  t.deepEqual(placed, calls.slice(0, placed.length).map((c) => c.callId), 'in queue order');
  t.is(looked, placed.length + 1, 'the first that did not fit ends the pass');
});

test('a pass goes on past a full task type while another type left in the queue can still fit', (t) => {
  const limited = worker('a', { limits: { PC1: 1 } });
  const calls = [
    ...Array.from({ length: 10 }, (_, i) => call(`pc1-${i}`, 'PC1', ALLOC_PC1)),
    call('c2', 'C2', { kind: 'task' }),
    ...Array.from({ length: 10 }, (_, i) => call(`pc1-late-${i}`, 'PC1', ALLOC_PC1)),
  ];
  t.deepEqual(placedOn(planAll(calls, [limited], { paths: roomy('a'), claims: {} })), { 'pc1-0': 'a', c2: 'a' });
});

test('stopping early places exactly what placing every call does (random workloads, seeded)', (t) => {
  const seed = Number(process.env.SCHED_PROPERTY_SEED ?? Date.now() % 2 ** 31) ^ 0xea71;
  t.log(`seed ${seed}`);
  const rand = mulberry32(seed);
  for (let round = 0; round < 200; round++) {
    const { workers, calls, storage } = randomWorkload(rand);
    const every = new Planner(workers, storage);
    const expected = new Map<string, unknown>();
    for (const c of calls) {
      const p = every.place(c);
      if (p) expected.set(c.callId, p);
    }
    const r = planAll(calls, workers, storage);
    t.deepEqual(r.placements, expected, `round ${round}`);
    t.deepEqual(r.windows, every.windowsById(), `round ${round}`);
  }
});

test('ignore-resources: a worker takes tasks its memory and threads could not hold, up to its per-type limit', (t) => {
  const tiny = worker('tiny', { resources: { cpus: 1, memPhysical: GiB, memSwap: 0, memReserved: 0, gpus: [] }, ignoreResources: true, limits: { PC1: 3 } });
  const calls = ['1', '2', '3', '4'].map((id) => call(id, 'PC1', ALLOC_PC1));
  t.deepEqual(placedOn(planAll(calls, [tiny], { paths: roomy('tiny'), claims: {} })), { 1: 'tiny', 2: 'tiny', 3: 'tiny' });
  const strict = worker('tiny', { ...tiny.info, ignoreResources: false });
  t.deepEqual(placedOn(planAll(calls, [strict], { paths: roomy('tiny'), claims: {} })), {}, 'without it a 56 GiB PC1 does not fit 1 GiB');
});

// ------------------------------------------------------------------------------------------------
// What a planner keeps for the length of a pass (machines/scheduler/pass-fits.ts, the fit scans)

const K2 = 2048;
const pc2Task = (id: string): PassCall => call(id, 'PC2', { kind: 'task' }, { sectorSize: K2 });

test('a call\'s need is computed with each worker\'s own threads: workers of another size do not share it, whichever comes first', (t) => {
  // a 2 KiB PC2 takes 92 % of a worker's threads: one per window, on either worker
  const calls = Array.from({ length: 10 }, (_, i) => pc2Task(`${i}`));
  const small = worker('small', { resources: { ...BIG, cpus: 100 } });
  const big = worker('big', { resources: { ...BIG, cpus: 200 } });
  const count = (r: ReturnType<typeof planAll>) => {
    const n: Record<string, number> = {};
    for (const p of r.placements.values()) n[p.worker] = (n[p.worker] ?? 0) + 1;
    return n;
  };
  t.deepEqual(count(planAll(calls, [small, big], { paths: {}, claims: {} })), { small: 2, big: 2 });
  t.deepEqual(count(planAll(calls, [big, small], { paths: {}, claims: {} })), { big: 2, small: 2 });
});

test('a pass reads each worker\'s capacity as it is then: a worker whose threads changed gets what its new size holds in the next pass', (t) => {
  const calls = Array.from({ length: 40 }, (_, i) => call(`${i}`, 'PC1', ALLOC_PC1, { sectorSize: K2 }));
  const storage = { paths: roomy('a'), claims: {} };
  t.is(planAll(calls, [worker('a', { resources: { ...BIG, cpus: 8 } })], storage).placements.size, 16, 'one-thread PC1s: 8 per window');
  t.is(planAll(calls, [worker('a', { resources: { ...BIG, cpus: 4 } })], storage).placements.size, 8, 'the same worker with 4 threads');
  t.is(planAll(calls, [worker('a', { resources: { ...BIG, cpus: 8 } }, { disabledTypes: ['PC1'] })], storage).placements.size, 0, 'and with PC1 switched off, none');
});

test('canFit: when the first worker with room fills it looks on to the next one; once none has room it stays false', (t) => {
  const twoThreads = { resources: { ...BIG, cpus: 2 } };
  const c1 = (id: string, holder: string) => call(id, 'C1', { kind: 'existing', types: SC, allowFetch: false }, { sectorSize: K2, holders: [`p-${holder}`] });
  const planner = new Planner([worker('a', twoThreads), worker('b', twoThreads), worker('c', { taskTypes: ['PC1'] })], { paths: roomy('a', 'b', 'c'), claims: {} });
  t.true(planner.canFit('C1', K2));
  for (let i = 0; i < 4; i++) t.is(planner.place(c1(`a${i}`, 'a'))?.worker, 'a', 'a holds two one-thread C1s per window');
  t.is(planner.place(c1('a4', 'a')), undefined, 'a is full and the call cannot be fetched elsewhere');
  t.true(planner.canFit('C1', K2), 'b still has room for a C1');
  for (let i = 0; i < 4; i++) t.is(planner.place(c1(`b${i}`, 'b'))?.worker, 'b');
  t.false(planner.canFit('C1', K2), 'a and b are full, and c does not run C1');
  t.false(planner.canFit('C1', K2));
  t.true(planner.canFit('PC1', K2), 'another fit keeps its own answer');
});

test('a worker that gathers PC1 parents fits one 512 MiB PC1 a window on two threads, beside a worker of as many threads that does not and fits two (their needs are not shared)', (t) => {
  const M512 = 512 * 2 ** 20;
  const two: WorkerResources = { ...BIG, cpus: 2 };
  const calls = Array.from({ length: 8 }, (_, i) => call(String(i), 'PC1', ALLOC_PC1, { sectorSize: M512 }));
  const r = planAll(calls, [worker('plain', { resources: two }), worker('gathers', { resources: { ...two, pc1GatherFrom: 256 * 2 ** 20 } })], { paths: roomy('plain', 'gathers'), claims: {} });
  t.deepEqual(
    r.windows.gathers!.map((w) => w.todo.length),
    [1, 1],
    'its labeller and its gatherer fill both threads',
  );
  t.deepEqual(
    r.windows.plain!.map((w) => w.todo.length),
    [2, 2],
  );
});
