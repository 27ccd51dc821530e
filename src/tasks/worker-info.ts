/**
 * A worker as the scheduler sees it (docs/design/scheduler.md §1): what it runs, what it has, and
 * which storage paths it reads and writes. Library layer: the scheduler, the API, the CLI and
 * remote workers share these types. Lotus: `storiface.WorkerInfo` plus the worker's `TaskTypes()`
 * and `Paths()`.
 */
import { InvalidArgumentError } from '../errors.js';
import { TASK_TYPES, type TaskType, isTaskType } from './task-types.js';

/** The machine a worker runs on. Memory in bytes. */
export interface WorkerResources {
  /** Threads the scheduler may hand out: the worker's pool threads. */
  cpus: number;
  memPhysical: number;
  memSwap: number;
  /** Memory used by everything else on the machine. */
  memReserved: number;
  /** GPU names; empty when the worker has none. */
  gpus: string[];
  /**
   * Sectors of this many bytes or more have their PC1 parents gathered on a second thread
   * (`SECTOR_STORAGE_PC1_GATHER=1` on the worker, src/seal/pc1-gather.ts), so such a PC1 takes
   * two threads. Absent: the worker's PC1 never gathers.
   */
  pc1GatherFrom?: number;
}

/** A worker, as it registers with the scheduler. */
export interface WorkerInfo {
  /** Stable for the worker process's session; `local` is the daemon's own pool. */
  id: string;
  hostname: string;
  taskTypes: TaskType[];
  resources: WorkerResources;
  /** Lotus ResourceFiltering "disabled": only the per-type limits apply. */
  ignoreResources: boolean;
  /** Storage path ids (catalog ids) this worker reads and writes. */
  paths: string[];
  /** At most this many tasks of a type started on the worker at once (Lotus `*_MAX_CONCURRENT`). */
  limits?: Partial<Record<TaskType, number>>;
}

/** The id of the daemon's own pool as a worker. */
export const LOCAL_WORKER_ID = 'local';

/** Task types Lotus's built-in worker always runs, whatever it is configured with. */
export const ALWAYS_LOCAL_TASKS: readonly TaskType[] = ['C1', 'FIN', 'GET'];

const count = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Checks a worker's registration; InvalidArgumentError naming the worker and the field otherwise. */
export function checkWorkerInfo(info: unknown): WorkerInfo {
  if (typeof info !== 'object' || info === null) throw new InvalidArgumentError(`worker info must be an object, got ${JSON.stringify(info)}`);
  const w = info as Record<string, unknown>;
  if (typeof w.id !== 'string' || w.id === '' || w.id.length > 200) throw new InvalidArgumentError(`worker id must be a non-empty string, got ${JSON.stringify(w.id)}`);
  const bad = (what: string, v: unknown) => new InvalidArgumentError(`worker ${w.id}: ${what}, got ${JSON.stringify(v)}`);
  if (typeof w.hostname !== 'string') throw bad('hostname must be a string', w.hostname);
  if (!Array.isArray(w.taskTypes)) throw bad('taskTypes must be an array of task types', w.taskTypes);
  for (const t of w.taskTypes) if (!isTaskType(t)) throw bad(`task type must be one of ${TASK_TYPES.join(', ')}`, t);
  const r = w.resources as Record<string, unknown> | undefined;
  if (typeof r !== 'object' || r === null) throw bad('resources must be an object', r);
  if (!count(r.cpus) || r.cpus === 0) throw bad('resources.cpus must be a positive integer', r.cpus);
  for (const f of ['memPhysical', 'memSwap', 'memReserved'] as const) if (!count(r[f])) throw bad(`resources.${f} must be a non-negative integer of bytes`, r[f]);
  if ((r.memPhysical as number) === 0) throw bad('resources.memPhysical must be positive', r.memPhysical);
  if (!Array.isArray(r.gpus) || !r.gpus.every((g) => typeof g === 'string')) throw bad('resources.gpus must be an array of names', r.gpus);
  if (r.pc1GatherFrom !== undefined && !count(r.pc1GatherFrom)) throw bad('resources.pc1GatherFrom must be a non-negative integer of bytes', r.pc1GatherFrom);
  if (typeof w.ignoreResources !== 'boolean') throw bad('ignoreResources must be a boolean', w.ignoreResources);
  if (!Array.isArray(w.paths) || !w.paths.every((p) => typeof p === 'string' && p !== '')) throw bad('paths must be an array of storage ids', w.paths);
  if (w.limits !== undefined) {
    if (typeof w.limits !== 'object' || w.limits === null) throw bad('limits must be an object of task type → count', w.limits);
    for (const [t, n] of Object.entries(w.limits)) {
      if (!isTaskType(t)) throw bad(`limits: task type must be one of ${TASK_TYPES.join(', ')}`, t);
      if (!count(n) || n === 0) throw bad(`limits.${t} must be a positive integer`, n);
    }
  }
  const out: WorkerInfo = {
    id: w.id,
    hostname: w.hostname,
    taskTypes: [...new Set(w.taskTypes as TaskType[])],
    resources: {
      cpus: r.cpus as number,
      memPhysical: r.memPhysical as number,
      memSwap: r.memSwap as number,
      memReserved: r.memReserved as number,
      gpus: [...(r.gpus as string[])],
      ...(r.pc1GatherFrom !== undefined ? { pc1GatherFrom: r.pc1GatherFrom as number } : {}),
    },
    ignoreResources: w.ignoreResources,
    paths: [...new Set(w.paths as string[])],
  };
  if (w.limits !== undefined) out.limits = { ...(w.limits as Partial<Record<TaskType, number>>) };
  return out;
}

/**
 * The task types of `run --local-tasks`: `all`, `none`, or a comma-separated list of short names
 * to which C1, FIN and GET are always added (Lotus's built-in worker has them whatever
 * `Allow*` says). InvalidArgumentError for an unknown name.
 */
export function parseLocalTasks(spec: string): TaskType[] {
  const s = spec.trim();
  if (s === 'all') return [...TASK_TYPES];
  if (s === 'none') return [];
  const names = s.split(',').map((x) => x.trim().toUpperCase());
  const types = new Set<TaskType>();
  for (const n of names) {
    if (!isTaskType(n)) {
      throw new InvalidArgumentError(`--local-tasks: ${JSON.stringify(n)} is not a task type (all, none, or a list of ${TASK_TYPES.join(', ')})`);
    }
    types.add(n);
  }
  for (const t of ALWAYS_LOCAL_TASKS) types.add(t);
  return TASK_TYPES.filter((t) => types.has(t));
}

/** What the tasks in one of a worker's pools use (Lotus `activeResources`). Memory in bytes. */
export interface PoolUse {
  cpuUse: number;
  memUsedMin: number;
  memUsedMax: number;
  gpuUsed: boolean;
}

/** A call started on a worker: preparing (its prepare step, or waiting for room) or active (its work runs). */
export interface StartedCallView {
  callId: string;
  sector: { miner: number; number: number };
  type: TaskType;
  stage: 'preparing' | 'active';
}

/** A worker as the scheduler holds it now (`WorkerStats`, `sealing workers`). */
export interface WorkerState {
  info: WorkerInfo;
  connected: boolean;
  enabled: boolean;
  cordoned: boolean;
  disabledTypes: TaskType[];
  active: PoolUse;
  preparing: PoolUse;
  started: StartedCallView[];
  /** Call ids assigned to each of its windows, not started yet. */
  windows: string[][];
}

/** A call waiting to start, as the scheduler's queue holds it. */
export interface QueuedRequestView {
  callId: string;
  sector: { miner: number; number: number };
  type: TaskType;
  priority: number;
  /** The worker and window it is assigned to, if any. */
  assigned?: { worker: string; window: number };
  /** Its holders are still being read from the catalog. */
  holdersPending?: boolean;
}

/** The scheduler's state for `SealingSchedDiag` (Lotus `SchedDiag`). */
export interface SchedDiagView {
  /** Every call waiting to start, in queue order. */
  requests: QueuedRequestView[];
  /** One entry per empty window of a worker that takes work: its worker id. */
  openWindows: string[];
  /** Call id → WorkID of every open call the scheduler tracks. */
  callToWork: Record<string, string>;
  /** WorkIDs whose result is durable and not yet applied by their sector. */
  returnedWork: string[];
  /** WorkIDs a sector waits on. */
  waiting: string[];
}
