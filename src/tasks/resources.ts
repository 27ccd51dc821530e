/**
 * Lotus's resource table (`extern/sector-storage/resources.go`): what one task of a type needs on a
 * worker, per sector size. V1 and V1_1 proofs of a size share their rows; UNS reuses PC1's; FIN
 * has no row in Lotus and needs nothing. Sizes without a row (test sizes) use the nearest
 * smaller row.
 */
import { InvalidArgumentError } from '../errors.js';
import type { TaskType } from './task-types.js';

/** One row of the table. Memory in bytes. */
export interface TaskResources {
  minMemory: number;
  maxMemory: number;
  /** Threads the task uses: -1 = "every core" (Lotus: 92 % of them), 0 = none of the CPU slots. */
  maxParallelism: number;
  canGpu: boolean;
  baseMinMemory: number;
}

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

type Row = [minMemory: number, maxMemory: number, maxParallelism: number, canGpu: boolean, baseMinMemory: number];
const SIZES = [2 * KiB, 8 * MiB, 512 * MiB, 32 * GiB, 64 * GiB] as const;

const TABLE: Record<Exclude<TaskType, 'UNS' | 'FIN' | 'GET'>, readonly Row[]> = {
  AP: [
    [2 * KiB, 2 * KiB, 1, false, 2 * KiB],
    [8 * MiB, 8 * MiB, 1, false, 8 * MiB],
    [1 * GiB, 1 * GiB, 1, false, 1 * GiB],
    [4 * GiB, 4 * GiB, 1, false, 1 * GiB],
    [8 * GiB, 8 * GiB, 1, false, 1 * GiB],
  ],
  PC1: [
    [2 * KiB, 2 * KiB, 1, false, 2 * KiB],
    [8 * MiB, 8 * MiB, 1, false, 8 * MiB],
    [768 * MiB, 1 * GiB, 1, false, 1 * MiB],
    [56 * GiB, 64 * GiB, 1, false, 10 * MiB],
    [112 * GiB, 128 * GiB, 1, false, 10 * MiB],
  ],
  PC2: [
    [2 * KiB, 2 * KiB, -1, false, 2 * KiB],
    [8 * MiB, 8 * MiB, -1, false, 8 * MiB],
    [1 * GiB, 1.5 * GiB, -1, false, 1 * GiB],
    [15 * GiB, 15 * GiB, -1, true, 1 * GiB],
    [30 * GiB, 30 * GiB, -1, true, 1 * GiB],
  ],
  C1: [
    [2 * KiB, 2 * KiB, 0, false, 2 * KiB],
    [8 * MiB, 8 * MiB, 0, false, 8 * MiB],
    [1 * GiB, 1 * GiB, 0, false, 1 * GiB],
    [1 * GiB, 1 * GiB, 0, false, 1 * GiB],
    [1 * GiB, 1 * GiB, 0, false, 1 * GiB],
  ],
  C2: [
    [2 * KiB, 2 * KiB, 1, true, 2 * KiB],
    [8 * MiB, 8 * MiB, 1, true, 8 * MiB],
    [1 * GiB, 1.5 * GiB, 1, true, 10 * GiB],
    [30 * GiB, 150 * GiB, -1, true, 32 * GiB],
    [60 * GiB, 190 * GiB, -1, true, 64 * GiB],
  ],
};

function rowIndex(sectorSize: number): number {
  let i = 0;
  while (i + 1 < SIZES.length && SIZES[i + 1]! <= sectorSize) i++;
  return i;
}

/** The resources one task of `type` needs for sectors of `sectorSize` bytes. */
export function taskResources(type: TaskType, sectorSize: number): TaskResources {
  if (type === 'FIN') return { minMemory: 0, maxMemory: 0, maxParallelism: 0, canGpu: false, baseMinMemory: 0 };
  if (type === 'GET') return { minMemory: 1 * MiB, maxMemory: 1 * MiB, maxParallelism: 0, canGpu: false, baseMinMemory: 0 };
  const row = TABLE[type === 'UNS' ? 'PC1' : type][rowIndex(sectorSize)]!;
  const [minMemory, maxMemory, maxParallelism, canGpu, baseMinMemory] = row;
  return { minMemory, maxMemory, maxParallelism, canGpu, baseMinMemory };
}

/**
 * Threads a task of `type` occupies on a worker of `cpus` threads (docs/design/scheduler.md §3).
 * Lotus (`resources.go` `Threads`) gives a multithreaded task (−1) `floor(cpus × 92/100)` and
 * the zero-slot tasks (C1, FIN, GET) none. Here:
 * - −1 takes `cpus − floor(cpus × 8/100)`: the 8 % reserve rounded down rather than the share,
 *   so below 13 threads it is the whole pool (Lotus's rounding would reserve a whole core, and on
 *   a 2-thread pool put PC1 beside a PC2 whose Poseidon threads use every core); from 13 up it is
 *   Lotus's figure or one more;
 * - C1 and FIN take one: every worker runs task bodies on a pool thread each, and a task sent to a
 *   full pool would wait inside it while counted as running. GET moves files on the main thread
 *   and takes none, as in Lotus.
 * - PC1 takes two (one on a 1-thread worker) for sectors of `pc1GatherFrom` bytes or more: there
 *   its worker's labeller has a second thread gather the parents (WorkerResources.pc1GatherFrom).
 */
export function threadsOf(type: TaskType, sectorSize: number, cpus: number, pc1GatherFrom?: number): number {
  if (type === 'PC1' && pc1GatherFrom !== undefined && sectorSize >= pc1GatherFrom) return Math.min(2, cpus);
  const p = taskResources(type, sectorSize).maxParallelism;
  if (p === -1) return cpus - Math.floor((cpus * 8) / 100);
  if (p === 0) return type === 'GET' ? 0 : 1;
  return p;
}

/** Lotus's short size names in resource environment variables (`2K`, `8M`, `512M`, `32G`, `64G`). */
export function shortSizeName(sectorSize: number): string {
  const units: [number, string][] = [
    [GiB, 'G'],
    [MiB, 'M'],
    [KiB, 'K'],
  ];
  for (const [unit, suffix] of units) if (sectorSize >= unit && sectorSize % unit === 0) return `${sectorSize / unit}${suffix}`;
  return String(sectorSize);
}

/**
 * Lotus's environment name of a task type's concurrency limit for a sector size
 * (`PC1_32G_MAX_CONCURRENT`); without a size, the name a worker process reads (`PC1_MAX_CONCURRENT`):
 * it learns its miner's sector size only once connected, after it declared its limits.
 */
export function maxConcurrentEnvName(type: TaskType, sectorSize?: number): string {
  return sectorSize === undefined ? `${type}_MAX_CONCURRENT` : `${type}_${shortSizeName(sectorSize)}_MAX_CONCURRENT`;
}

/**
 * Per-type limits read from Lotus's `<TASK>_<SIZE>_MAX_CONCURRENT` variables for `sectorSize`
 * (0 or unset: no limit). A value that is not a non-negative integer is an error naming the variable.
 */
export function limitsFromEnv(env: Readonly<Record<string, string | undefined>>, sectorSize: number | undefined, types: readonly TaskType[]): Partial<Record<TaskType, number>> {
  const out: Partial<Record<TaskType, number>> = {};
  for (const type of types) {
    const name = maxConcurrentEnvName(type, sectorSize);
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    if (!/^\d+$/.test(raw.trim())) throw new InvalidArgumentError(`${name}=${JSON.stringify(raw)} must be a non-negative integer (0 = no limit)`);
    const n = Number(raw.trim());
    if (n > 0) out[type] = n;
  }
  return out;
}
