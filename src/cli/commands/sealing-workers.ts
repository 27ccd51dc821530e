/**
 * `sector-storage sealing workers | sched-diag`, lotus-miner style (`cmd/lotus-miner/sealing.go`):
 * the scheduler's workers with their resource use, the operator's switches over them, and the
 * scheduler's queue and windows.
 */
import type { SchedDiagJson, WorkerStatsJson } from '../../api/methods/workers.js';
import { InvalidArgumentError } from '../../errors.js';
import { formatSize } from '../../sector/sizes.js';
import { TASK_TYPES, isTaskType } from '../../tasks/task-types.js';
import { defineCommand } from '../command.js';

/** Bar width of lotus-miner's CPU/RAM/VMEM lines. */
const BAR_COLS = 64;

function bar(parts: readonly number[]): string {
  let used = 0;
  let s = '';
  for (const n of parts) {
    const k = Math.max(0, Math.min(BAR_COLS - used, Math.floor(n)));
    s += '|'.repeat(k);
    used += k;
  }
  return s + ' '.repeat(BAR_COLS - used);
}

/** The `sealing workers` text: one block per worker, as lotus-miner prints them, plus our flags and calls. */
export function formatWorkers(stats: Record<string, WorkerStatsJson>): string[] {
  const ids = Object.keys(stats).sort();
  if (ids.length === 0) return ['no workers'];
  const lines: string[] = [];
  for (const id of ids) {
    const s = stats[id]!;
    const r = s.Info.Resources;
    const flags = [!s.Connected ? 'disconnected' : !s.Enabled ? 'disabled' : '', s.Cordoned ? 'cordoned' : '', s.Info.IgnoreResources ? 'ignoring resources' : ''].filter((f) => f !== '');
    lines.push(`Worker ${id}, host ${s.Info.Hostname}${flags.length > 0 ? ` (${flags.join(', ')})` : ''}`);
    const types = s.TaskTypes.map((t) => (s.DisabledTypes.includes(t) ? `${t}(off)` : t));
    lines.push(`\tTASK: ${types.join(' ') || '-'}`);
    lines.push(`\tCPU:  [${bar([(s.CpuUse * BAR_COLS) / r.CPUs])}] ${s.CpuUse}/${r.CPUs} core(s) in use`);
    const ramUsed = r.MemReserved + s.MemUsedMin;
    lines.push(`\tRAM:  [${bar([(r.MemReserved * BAR_COLS) / r.MemPhysical, (s.MemUsedMin * BAR_COLS) / r.MemPhysical])}] ${Math.floor((ramUsed * 100) / r.MemPhysical)}% ${formatSize(ramUsed)}/${formatSize(r.MemPhysical)}`);
    const vmem = r.MemPhysical + r.MemSwap;
    const vmemUsed = r.MemReserved + s.MemUsedMax;
    lines.push(`\tVMEM: [${bar([(r.MemReserved * BAR_COLS) / vmem, (s.MemUsedMax * BAR_COLS) / vmem])}] ${Math.floor((vmemUsed * 100) / vmem)}% ${formatSize(vmemUsed)}/${formatSize(vmem)}`);
    for (const gpu of r.GPUs) lines.push(`\tGPU: ${gpu}, ${s.GpuUsed ? '' : 'not '}used`);
    if (r.PC1GatherFrom !== undefined) lines.push(`\tPC1:  parents gathered on a second thread for ${r.PC1GatherFrom === 0 ? 'every sector' : `sectors of ${formatSize(r.PC1GatherFrom)} and up`} (2 threads each)`);
    const limits = Object.entries(s.Limits).map(([t, n]) => `${t}≤${n}`);
    if (limits.length > 0) lines.push(`\tLIMITS: ${limits.join(' ')}`);
    if (s.Prepared.length > 0) lines.push(`\tPREPARING: ${s.Prepared.join(' ')} (${s.Preparing.CpuUse} core(s) held)`);
    if (s.Running.length > 0) lines.push(`\tRUNNING: ${s.Running.join(' ')}`);
  }
  return lines;
}

const workers = defineCommand({
  path: ['sealing', 'workers'],
  summary: 'list the scheduler\'s workers: host, flags, task types, CPU/RAM/VMEM use of their running tasks, GPUs, and their calls',
  description:
    "As lotus-miner: the bars show the active pool (tasks whose work runs): CPU threads, RAM (the reserve used by everything else, then the tasks' minimum memory) and VMEM (the reserve, then their maximum memory, against RAM + swap). 'local' is the daemon's own pool. Flags: disabled, disconnected (its started calls are left to finish), cordoned (drained: takes nothing new); TASK lists its task types, (off) for those switched off on it.",
  flags: {},
  positionals: [],
  async run({ out, connect, signal }) {
    const api = await connect();
    try {
      out.result(await api.call('WorkerStats', { signal }), formatWorkers);
    } finally {
      api.close();
    }
  },
});

function control(word: 'enable' | 'disable' | 'cordon' | 'uncordon', summary: string) {
  const takesTask = word === 'enable' || word === 'disable';
  return defineCommand({
    path: ['sealing', 'workers', word],
    summary,
    flags: {},
    positionals: [
      { name: 'WORKER', description: "the worker id (as 'sealing workers' shows it; 'local' is the daemon's own pool)" },
      ...(takesTask ? [{ name: 'TASK', description: 'a task type (AP, PC1, PC2, C1, C2, FIN, GET, UNS): only that type on the worker', required: false }] : []),
    ],
    async run({ args, out, connect, signal }) {
      const worker = args.WORKER!;
      const task = args.TASK === undefined ? undefined : args.TASK.toUpperCase();
      if (task !== undefined && !isTaskType(task)) throw new InvalidArgumentError(`${JSON.stringify(args.TASK)} is not a task type (${TASK_TYPES.join(', ')})`);
      const api = await connect();
      try {
        if (word === 'cordon' || word === 'uncordon') await api.call('SealingWorkerCordon', worker, word === 'cordon', { signal });
        else if (task === undefined) await api.call('SealingWorkerSetEnabled', worker, word === 'enable', { signal });
        else await api.call(word === 'enable' ? 'SealingWorkerTaskEnable' : 'SealingWorkerTaskDisable', worker, task, { signal });
        const what = task === undefined ? `worker ${worker}` : `${task} on worker ${worker}`;
        const done = { enable: 'enabled', disable: 'disabled', cordon: 'cordoned', uncordon: 'uncordoned' }[word];
        out.result({ Worker: worker, ...(task !== undefined ? { Task: task } : {}), Done: done }, () => `${what} ${done}`);
      } finally {
        api.close();
      }
    },
  });
}

const schedDiag = defineCommand({
  path: ['sealing', 'sched-diag'],
  summary: 'dump the scheduler\'s state as JSON: the queued requests (and the window each is assigned to), the open windows, and the open calls',
  description:
    "As lotus-miner sealing sched-diag: SchedInfo.Requests in queue order (Lotus's request queue order), SchedInfo.OpenWindows (one worker id per empty window of a worker that takes work), SchedInfo.AssignedWindows (call ids placed in each window, not started), CallToWork, ReturnedWork, Waiting. Read from the scheduler's state: it never waits on the scheduler.",
  flags: {
    'force-sched': { type: 'boolean', description: 'run a scheduling pass first' },
  },
  positionals: [],
  async run({ flags, out, connect, signal }) {
    const api = await connect();
    try {
      const diag: SchedDiagJson = await api.call('SealingSchedDiag', flags['force-sched'] === true, { signal });
      out.result(diag, (d) => JSON.stringify(d, null, 2).split('\n'));
    } finally {
      api.close();
    }
  },
});

export const sealingWorkersCommands = [
  workers,
  control('enable', 'let a worker (or one task type on it) take new tasks again'),
  control('disable', 'stop giving a worker (or one task type on it) new tasks; its unstarted tasks go back to the queue, running ones finish'),
  control('cordon', 'drain a worker: running and preparing work finishes, its unstarted tasks go back to the queue, nothing new is assigned'),
  control('uncordon', 'let a cordoned worker take new tasks again'),
  schedDiag,
];
