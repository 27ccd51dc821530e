/**
 * One full scheduling pass (machines/scheduler/sched-pass.ts `planAll`, the pure function the
 * scheduler runs after every change of capacity) over R queued requests and W workers: 10,000 ×
 * 1,000, then 10× each (100,000 × 10,000). The workload mixes Lotus's selectors: AP and PC1
 * (alloc, each worker with its own sealing path), PC2 (existing with fetch; holders spread over
 * the workers), C1 (existing, no fetch) and C2 (task); 32-thread, 256 GiB workers with every task
 * type; 32 GiB sectors.
 *
 * Baseline in the same run: the same pass scanning every worker for every request (the planner
 * without its per-shape heaps, as Lotus's trySched looks at every open window per request), at
 * the first size. Goal: under 50 ms at 10,000 × 1,000, and growth no worse than linear in
 * requests × open windows (100× from the first size to the second).
 */
import { type PassCall, type PassWorker, Planner, planAll } from '../../machines/scheduler/sched-pass.js';
import type { SelectorSpec } from '../../machines/scheduler/selectors.js';
import type { PathSpace } from '../../machines/scheduler/storage-view.js';
import { FileType } from '../../src/sector/sector-id.js';
import { TASK_TYPES } from '../../src/tasks/task-types.js';
import { peakRssMiB, quick, report, seconds } from './bench-util.js';

const GiB = 2 ** 30;
const SC = FileType.sealed | FileType.cache;

function workload(requests: number, workers: number): { calls: PassCall[]; workers: PassWorker[]; storage: { paths: Record<string, PathSpace>; claims: Record<string, number> } } {
  const paths: Record<string, PathSpace> = {};
  const ws: PassWorker[] = [];
  for (let i = 0; i < workers; i++) {
    paths[`p${i}`] = { canSeal: true, canStore: true, weight: 10, available: 20 * 1024 * GiB, healthy: true };
    ws.push({
      info: { id: `w${String(i).padStart(6, '0')}`, hostname: `h${i}`, taskTypes: [...TASK_TYPES], resources: { cpus: 32, memPhysical: 256 * GiB, memSwap: 64 * GiB, memReserved: 4 * GiB, gpus: i % 4 === 0 ? ['gpu'] : [] }, ignoreResources: false, paths: [`p${i}`] },
      schedulable: true,
      disabledTypes: [],
      baseUtil: (i % 10) / 20,
      started: {},
    });
  }
  const calls: PassCall[] = [];
  for (let i = 0; i < requests; i++) {
    const kind = i % 5;
    const type = (['AP', 'PC1', 'PC2', 'C1', 'C2'] as const)[kind]!;
    let selector: SelectorSpec;
    if (type === 'AP') selector = { kind: 'alloc', types: FileType.unsealed, pathType: 'sealing' };
    else if (type === 'PC1') selector = { kind: 'alloc', types: SC, pathType: 'sealing' };
    else if (type === 'C2') selector = { kind: 'task' };
    else selector = { kind: 'existing', types: SC, allowFetch: type === 'PC2' };
    const c: PassCall = { callId: `c${i}`, type, sectorSize: 32 * GiB, selector };
    if (selector.kind === 'existing') c.holders = [`p${(i * 7919) % workers}`];
    calls.push(c);
  }
  return { calls, workers: ws, storage: { paths, claims: {} } };
}

async function timePass(requests: number, workers: number, scan: boolean): Promise<{ ms: number; placed: number }> {
  const w = workload(requests, workers);
  let placed = 0;
  // one warm-up pass (JIT), then the best of three
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 4; round++) {
    const s = await seconds(() => {
      if (scan) {
        const p = new Planner(w.workers, w.storage, { useHeaps: false });
        placed = 0;
        for (const c of w.calls) if (p.place(c)) placed++;
      } else {
        placed = planAll(w.calls, w.workers, w.storage).placements.size;
      }
    });
    if (round > 0) best = Math.min(best, s * 1000);
  }
  return { ms: best, placed };
}

const [R, W] = quick ? [1_000, 100] : [10_000, 1_000];
const small = await timePass(R, W, false);
const baseline = await timePass(R, W, true);
const large = await timePass(R * 10, W * 10, false);
report({
  name: `scheduling pass, ${R} requests × ${W} workers`,
  value: Number(small.ms.toFixed(2)),
  unit: 'ms',
  note: `${small.placed} placed; full scan of every worker per request ${baseline.ms.toFixed(1)} ms (${(baseline.ms / small.ms).toFixed(1)}× slower); goal < 50 ms; peak RSS ${peakRssMiB().toFixed(0)} MiB`,
});
report({
  name: `scheduling pass, ${R * 10} requests × ${W * 10} workers`,
  value: Number(large.ms.toFixed(2)),
  unit: 'ms',
  note: `${large.placed} placed; ${(large.ms / small.ms).toFixed(1)}× the first size for 100× requests × windows (goal: ≤ 100×); peak RSS ${peakRssMiB().toFixed(0)} MiB`,
});
