/**
 * Lotus's resource table (`extern/sector-storage/resources.go`): what one task of a type needs on a
 * worker, per sector size. V1 and V1_1 proofs of a size share their rows; UNS reuses PC1's; FIN
 * has no row in Lotus and needs nothing. Sizes without a row (test sizes) use the nearest
 * smaller row.
 */
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
 * Pool threads a task occupies on the daemon's local worker of `threads` threads. A task that
 * parallelises inside (-1) takes every thread: PC2's native Poseidon threads fan out over all
 * cores, so running anything beside it would oversubscribe them (Lotus keeps 8 % of the cores
 * free instead, which on a 2-core machine would put PC2 beside PC1). Every other task takes one
 * thread, including Lotus's zero-slot C1/GET/FIN: on a pool each still blocks a thread while it
 * runs.
 */
export function localThreads(type: TaskType, sectorSize: number, threads: number): number {
  return taskResources(type, sectorSize).maxParallelism === -1 ? threads : 1;
}
