/**
 * Which workers may run a task and how they rank (Lotus `selector_alloc.go`,
 * `selector_existing.go`, `selector_task.go`, and `manager.go` for which task uses which;
 * docs/design/scheduler.md §4). Pure: the storage facts come in the path view and, for
 * existing-selector tasks, the holders the catalog listed when the call was queued.
 */
import { FileType, sealSpaceUse, storeSpaceUse } from '../../src/sector/sector-id.js';
import type { Task, TaskType } from '../../src/tasks/task-types.js';
import { LOCAL_WORKER_ID } from '../../src/tasks/worker-info.js';

/** The selector of a task. */
export type SelectorSpec =
  /** New files of `types` on a path of `pathType`. */
  | { kind: 'alloc'; types: number; pathType: 'sealing' | 'storage' }
  /** A worker with a path holding any of `types`; with `allowFetch`, any worker that can fetch them. */
  | { kind: 'existing'; types: number; allowFetch: boolean }
  /** Any worker running the type; fewer task types ranks first. */
  | { kind: 'task' };

const SEALED_CACHE = FileType.sealed | FileType.cache;

/** The selector Lotus's manager uses for each task (AP's depends on whether it is the sector's first piece). */
export function selectorOf(task: Task): SelectorSpec {
  switch (task.type) {
    case 'AP':
      return task.input.paddedOffset === 0
        ? { kind: 'alloc', types: FileType.unsealed, pathType: 'sealing' }
        : { kind: 'existing', types: FileType.unsealed, allowFetch: false };
    case 'PC1':
      return { kind: 'alloc', types: SEALED_CACHE, pathType: 'sealing' };
    case 'PC2':
    case 'UNS':
      return { kind: 'existing', types: SEALED_CACHE, allowFetch: true };
    case 'C1':
    case 'FIN':
      return { kind: 'existing', types: SEALED_CACHE, allowFetch: false };
    case 'C2':
      return { kind: 'task' };
    case 'GET':
      return { kind: 'alloc', types: task.input.types, pathType: task.input.pathType };
    default: {
      const never: never = task;
      throw new Error(`no selector for task ${String((never as { type: unknown }).type)}`);
    }
  }
}

/**
 * The one worker a task can run on, if it is tied to one: a client's upload is bytes in the
 * daemon's memory, so its AddPiece runs on the local worker.
 */
export function pinnedWorkerOf(task: Task): string | undefined {
  return task.type === 'AP' && task.input.source.type === 'request' ? LOCAL_WORKER_ID : undefined;
}

/** Bytes an alloc task's new files take on their path. */
export function allocBytes(spec: Extract<SelectorSpec, { kind: 'alloc' }>, sectorSize: number): number {
  return spec.pathType === 'sealing' ? sealSpaceUse(spec.types, sectorSize) : storeSpaceUse(spec.types, sectorSize);
}

/** Bytes a worker that does not hold an existing-selector task's files fetches onto a sealing path. */
export function fetchBytes(spec: Extract<SelectorSpec, { kind: 'existing' }>, sectorSize: number): number {
  return sealSpaceUse(spec.types, sectorSize);
}

/** Whether a worker offers a task type: it runs it and the operator has not switched it off there. */
export function offers(taskTypes: readonly TaskType[], disabled: readonly TaskType[], type: TaskType): boolean {
  return taskTypes.includes(type) && !disabled.includes(type);
}
