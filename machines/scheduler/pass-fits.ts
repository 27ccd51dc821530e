/**
 * The fit keys of one scheduling pass (machines/scheduler/sched-pass.ts), numbered. A call's need
 * and its room in a window depend only on its task type and sector size (its fit key, `fitKey`);
 * a pass sees a handful of them across thousands of calls. Numbering them once lets the pass look
 * a call's key up with two map reads of values it already holds (no string built per call), and
 * keep what it learns per key in arrays: the task type's bit for the workers' offer masks, and
 * each worker's need (which depends on the worker's threads too).
 *
 * A table lives as long as its planner, one pass (or one incremental placement): the workers'
 * resources it read cannot change under it, and the next pass builds a new one from the workers
 * as they are then.
 */
import { TASK_TYPES, type TaskType } from '../../src/tasks/task-types.js';
import type { WorkerResources } from '../../src/tasks/worker-info.js';
import { type Need, needOf } from './resource-pool.js';

/** A fit key as a string (the queue counts its calls by it, machines/scheduler/task-queue.ts). */
export function fitKey(type: TaskType, sectorSize: number): string {
  return `${type}|${sectorSize}`;
}

/** The bit of a task type in a worker's offer mask. */
export function typeBit(type: TaskType): number {
  return 1 << TASK_TYPES.indexOf(type);
}

/** The offer mask of task types a worker runs, less those switched off on it. */
export function offerMask(taskTypes: readonly TaskType[], disabled: readonly TaskType[]): number {
  let mask = 0;
  for (const t of taskTypes) mask |= typeBit(t);
  for (const t of disabled) mask &= ~typeBit(t);
  return mask;
}

export class FitTable {
  /** Fit number by task type, then sector size. */
  readonly #ids = new Map<TaskType, Map<number, number>>();
  readonly type: TaskType[] = [];
  readonly sectorSize: number[] = [];
  /** The task type's bit in an offer mask. */
  readonly bit: number[] = [];
  /** Needs by fit, then by worker index (filled as asked); workers with the same threads and PC1 gathering share one. */
  readonly #needs: (Need | undefined)[][] = [];
  readonly #byThreads: Map<string, Need>[] = [];
  readonly #workers: number;

  constructor(workers: number) {
    this.#workers = workers;
  }

  get size(): number {
    return this.type.length;
  }

  /** The number of a task type and sector size, numbering it when it is new. */
  idOf(type: TaskType, sectorSize: number): number {
    let bySize = this.#ids.get(type);
    if (!bySize) {
      bySize = new Map();
      this.#ids.set(type, bySize);
    }
    let f = bySize.get(sectorSize);
    if (f === undefined) {
      f = this.type.length;
      bySize.set(sectorSize, f);
      this.type.push(type);
      this.sectorSize.push(sectorSize);
      this.bit.push(typeBit(type));
      this.#needs.push(new Array<Need | undefined>(this.#workers));
      this.#byThreads.push(new Map());
    }
    return f;
  }

  /** The need of a call of fit `f` on worker `w`, which has `resources`. */
  need(f: number, w: number, resources: WorkerResources): Need {
    const row = this.#needs[f]!;
    let need = row[w];
    if (need === undefined) {
      const byThreads = this.#byThreads[f]!;
      const key = `${resources.cpus}/${resources.pc1GatherFrom ?? '-'}`;
      need = byThreads.get(key);
      if (need === undefined) {
        need = needOf(this.type[f]!, this.sectorSize[f]!, resources);
        byThreads.set(key, need);
      }
      row[w] = need;
    }
    return need;
  }
}
