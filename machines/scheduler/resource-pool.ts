/**
 * Resource pools of a worker (Lotus `extern/sector-storage/sched_resources.go`): what the tasks in
 * a pool use, whether one more fits the machine, and how loaded the pool is. A worker has two
 * (`preparing`, `active`) and each of its windows one (docs/design/scheduler.md §3). Pure; pools
 * are small records updated in place by their owner.
 */
import { type TaskResources, taskResources, threadsOf } from '../../src/tasks/resources.js';
import type { TaskType } from '../../src/tasks/task-types.js';
import type { WorkerInfo, WorkerResources } from '../../src/tasks/worker-info.js';

/** What the tasks in a pool use. Memory in bytes. */
export interface ResourcePool {
  cpuUse: number;
  memUsedMin: number;
  memUsedMax: number;
  /** A GPU-capable task holds the worker's GPUs (one at a time, as Lotus's flag). */
  gpuUsed: boolean;
  /** Tasks per type in the pool. */
  counts: Partial<Record<TaskType, number>>;
}

/** One task's demand on a given worker. */
export interface Need {
  type: TaskType;
  res: TaskResources;
  threads: number;
}

export function emptyPool(): ResourcePool {
  return { cpuUse: 0, memUsedMin: 0, memUsedMax: 0, gpuUsed: false, counts: {} };
}

/** The demand of a task of `type` for `sectorSize` sectors on a worker with `resources`. */
export function needOf(type: TaskType, sectorSize: number, resources: Pick<WorkerResources, 'cpus' | 'pc1GatherFrom'>): Need {
  return { type, res: taskResources(type, sectorSize), threads: threadsOf(type, sectorSize, resources.cpus, resources.pc1GatherFrom) };
}

/** Adds a task to a pool (in place). */
export function addTo(pool: ResourcePool, need: Need, resources: WorkerResources): void {
  if (need.res.canGpu && resources.gpus.length > 0) pool.gpuUsed = true;
  pool.cpuUse += need.threads;
  pool.memUsedMin += need.res.minMemory;
  pool.memUsedMax += need.res.maxMemory;
  pool.counts[need.type] = (pool.counts[need.type] ?? 0) + 1;
}

/** Removes a task from a pool (in place). The GPU flag is cleared: one GPU task at a time. */
export function freeFrom(pool: ResourcePool, need: Need, resources: WorkerResources): void {
  if (need.res.canGpu && resources.gpus.length > 0) pool.gpuUsed = false;
  pool.cpuUse -= need.threads;
  pool.memUsedMin -= need.res.minMemory;
  pool.memUsedMax -= need.res.maxMemory;
  const n = (pool.counts[need.type] ?? 0) - 1;
  if (n > 0) pool.counts[need.type] = n;
  else delete pool.counts[need.type];
}

/**
 * Whether `pool` can take one more task (Lotus `canHandleRequest`). `started` is how many tasks of
 * the type the worker already holds beyond this pool's own count (the per-type limit is per
 * worker, docs/design/scheduler.md §3); the limit applies under `ignoreResources` too.
 */
export function canHandle(pool: ResourcePool, need: Need, info: Pick<WorkerInfo, 'resources' | 'ignoreResources' | 'limits'>, started = 0): boolean {
  const limit = info.limits?.[need.type];
  if (limit !== undefined && (pool.counts[need.type] ?? 0) + started >= limit) return false;
  if (info.ignoreResources) return true;
  const r = info.resources;
  if (r.memReserved + pool.memUsedMin + need.res.minMemory + need.res.baseMinMemory > r.memPhysical) return false;
  if (r.memReserved + pool.memUsedMax + need.res.maxMemory + need.res.baseMinMemory > r.memPhysical + r.memSwap) return false;
  if (pool.cpuUse + need.threads > r.cpus) return false;
  if (r.gpus.length > 0 && need.res.canGpu && pool.gpuUsed) return false;
  return true;
}

/** How loaded a pool is, 0 (idle) to 1 (full) and beyond (Lotus `utilization`). */
export function utilization(pool: ResourcePool, r: WorkerResources): number {
  const cpu = pool.cpuUse / r.cpus;
  const mem = (pool.memUsedMin + r.memReserved) / r.memPhysical;
  const vmem = (pool.memUsedMax + r.memReserved) / (r.memPhysical + r.memSwap);
  return Math.max(cpu, mem, vmem);
}

/** A copy of a pool. */
export function clonePool(p: ResourcePool): ResourcePool {
  return { ...p, counts: { ...p.counts } };
}
