import test from 'ava';
import { type WorkerInfo, checkWorkerInfo, parseLocalTasks } from '../../../src/tasks/worker-info.js';
import { declaredResources, localResources, parseMeminfo } from '../../../src/worker/local-resources.js';

const GOOD: WorkerInfo = {
  id: 'w-1',
  hostname: 'box',
  taskTypes: ['PC1', 'PC2'],
  resources: { cpus: 8, memPhysical: 64 << 20, memSwap: 0, memReserved: 1 << 20, gpus: ['RTX 3090'] },
  ignoreResources: false,
  paths: ['p-1'],
  limits: { PC1: 2 },
};

test('run --local-tasks: all, none, or a list to which C1, FIN and GET are always added (as Lotus\'s built-in worker)', (t) => {
  t.deepEqual(parseLocalTasks('all'), ['FIN', 'GET', 'UNS', 'C1', 'C2', 'PC2', 'PC1', 'AP']);
  t.deepEqual(parseLocalTasks('none'), []);
  t.deepEqual(parseLocalTasks('AP,pc1'), ['FIN', 'GET', 'C1', 'PC1', 'AP']);
  t.deepEqual(parseLocalTasks(' C2 '), ['FIN', 'GET', 'C1', 'C2']);
});

test('run --local-tasks with an unknown name is refused naming it and the choices', (t) => {
  t.throws(() => parseLocalTasks('AP,PC3'), { code: 'INVALID_ARGUMENT', message: /--local-tasks: "PC3" is not a task type \(all, none, or a list of FIN, GET, UNS, C1, C2, PC2, PC1, AP\)/ });
  t.throws(() => parseLocalTasks(''), { code: 'INVALID_ARGUMENT', message: /"" is not a task type/ });
});

test('a worker info that checks out comes back as a copy with duplicates dropped', (t) => {
  const out = checkWorkerInfo({ ...GOOD, taskTypes: ['PC1', 'PC1', 'PC2'], paths: ['p-1', 'p-1'] });
  t.deepEqual(out, GOOD);
  t.not(out.resources, GOOD.resources);
});

test('a worker that gathers PC1 parents declares from which sector size; the field is kept', (t) => {
  const info = { ...GOOD, resources: { ...GOOD.resources, pc1GatherFrom: 256 << 20 } };
  t.is(checkWorkerInfo(info).resources.pc1GatherFrom, 256 << 20);
  t.false('pc1GatherFrom' in checkWorkerInfo(GOOD).resources, 'absent stays absent');
});

test('a bad worker info is refused naming the worker and the field', (t) => {
  const cases: [unknown, RegExp][] = [
    [null, /worker info must be an object/],
    [{ ...GOOD, id: '' }, /worker id must be a non-empty string/],
    [{ ...GOOD, taskTypes: ['PC1', 'XX'] }, /worker w-1: task type must be one of .*, got "XX"/],
    [{ ...GOOD, resources: { ...GOOD.resources, cpus: 0 } }, /worker w-1: resources.cpus must be a positive integer, got 0/],
    [{ ...GOOD, resources: { ...GOOD.resources, memSwap: -1 } }, /resources.memSwap must be a non-negative integer of bytes/],
    [{ ...GOOD, resources: { ...GOOD.resources, memPhysical: 0 } }, /resources.memPhysical must be positive/],
    [{ ...GOOD, resources: { ...GOOD.resources, gpus: [1] } }, /resources.gpus must be an array of names/],
    [{ ...GOOD, resources: { ...GOOD.resources, pc1GatherFrom: -1 } }, /worker w-1: resources.pc1GatherFrom must be a non-negative integer of bytes, got -1/],
    [{ ...GOOD, resources: { ...GOOD.resources, pc1GatherFrom: 'auto' } }, /resources.pc1GatherFrom must be a non-negative integer of bytes, got "auto"/],
    [{ ...GOOD, ignoreResources: 'yes' }, /ignoreResources must be a boolean/],
    [{ ...GOOD, paths: [''] }, /paths must be an array of storage ids/],
    [{ ...GOOD, limits: { PC1: 0 } }, /limits.PC1 must be a positive integer, got 0/],
    [{ ...GOOD, limits: { PC9: 1 } }, /limits: task type must be one of/],
  ];
  for (const [info, message] of cases) t.throws(() => checkWorkerInfo(info), { code: 'INVALID_ARGUMENT', message });
});

test('the local machine\'s resources: total memory and swap from /proc/meminfo, what is in use as the reserve, no GPU', (t) => {
  const text = 'MemTotal:       16000000 kB\nMemFree:  100 kB\nMemAvailable:   12000000 kB\nSwapTotal:       2000000 kB\nSwapFree:        1500000 kB\n';
  const m = parseMeminfo(text)!;
  t.deepEqual(m, { memTotal: 16000000 * 1024, memAvailable: 12000000 * 1024, swapTotal: 2000000 * 1024, swapFree: 1500000 * 1024 });
  t.deepEqual(localResources(4, m), { cpus: 4, memPhysical: 16000000 * 1024, memSwap: 2000000 * 1024, memReserved: (4000000 + 500000) * 1024, gpus: [] });
  t.is(parseMeminfo('MemTotal: 1 kB\n'), undefined, 'a needed line missing');
  const here = localResources(2);
  t.is(here.cpus, 2);
  t.true(here.memPhysical > 0 && here.memReserved <= here.memPhysical + here.memSwap);
});

test('a worker declares PC1 gathering from the mode its PC1 runs with alone: auto from 256 MiB, true from 0, false never (a value it was given is dropped)', (t) => {
  const r = GOOD.resources;
  t.is(declaredResources(r, 'auto').pc1GatherFrom, 256 << 20);
  t.is(declaredResources(r, true).pc1GatherFrom, 0);
  t.false('pc1GatherFrom' in declaredResources({ ...r, pc1GatherFrom: 0 }, false));
  t.is(declaredResources({ ...r, pc1GatherFrom: 1 }, 'auto').pc1GatherFrom, 256 << 20);
  t.deepEqual(declaredResources(r, false), r, 'everything else as measured');
});
