/**
 * The scheduler's workers over the API (docs/design/scheduler.md §6), in the shapes of Lotus's
 * `WorkerStats` and `SealingSchedDiag` (`extern/sector-storage/manager.go`, `sched.go`
 * `SchedDiag`), plus the operator's control over them:
 * - `WorkerStats() → {workerId: WorkerStats}` (admin, Lotus): each worker's info and its active
 *   pool, plus ours (task types, flags, paths, limits, the preparing pool, started calls).
 * - `SealingSchedDiag(doSched) → SchedDiag` (admin, Lotus): the queue and the open windows; with
 *   `doSched` a scheduling pass runs first.
 * - `SealingWorkerSetEnabled(worker, enabled)`, `SealingWorkerTaskEnable(worker, task)`,
 *   `SealingWorkerTaskDisable(worker, task)`, `SealingWorkerCordon(worker, cordoned)` (admin, ours:
 *   Lotus has the task switches on the worker's own API only).
 */
import { InvalidArgumentError, WorkerUnknownError } from '../../errors.js';
import { TASK_TYPES, TASK_WIRE_NAMES, type TaskType, isTaskType } from '../../tasks/task-types.js';
import type { PoolUse, SchedDiagView, WorkerState } from '../../tasks/worker-info.js';
import type { TaskProgress } from '../../lifecycle/task-context.js';
import { expectArity, stringParam } from '../params.js';
import { defineMethod } from '../rpc-method.js';

/** What the API needs of the scheduler's workers (actors/worker-service.ts), structurally. */
export interface WorkerApiService {
  states(): WorkerState[];
  schedDiag(force?: boolean): Promise<SchedDiagView>;
  placements(): Record<string, { worker: string; runWait: number; batch?: string }>;
  /** The latest progress of a started call. */
  progress(callId: string): TaskProgress | undefined;
  setEnabled(worker: string, enabled: boolean, taskType?: TaskType): Promise<void>;
  setCordoned(worker: string, cordoned: boolean): Promise<void>;
}

declare module '../components.js' {
  interface ApiComponents {
    /** Set once the actor system runs. */
    workers?: WorkerApiService;
  }
}

/** Lotus's storiface.WorkerResources. */
export interface WorkerResourcesJson {
  MemPhysical: number;
  MemSwap: number;
  MemReserved: number;
  CPUs: number;
  GPUs: string[];
  /** Not Lotus's: sectors from this size up have their PC1 parents gathered on a second thread (two threads each). */
  PC1GatherFrom?: number;
}

/** A resource pool's use, as Lotus's WorkerStats fields. */
export interface PoolUseJson {
  MemUsedMin: number;
  MemUsedMax: number;
  GpuUsed: boolean;
  CpuUse: number;
}

/** Lotus's storiface.WorkerStats (the active pool) and ours after it. */
export interface WorkerStatsJson extends PoolUseJson {
  Info: { Hostname: string; IgnoreResources: boolean; Resources: WorkerResourcesJson };
  /** Lotus: the worker takes work (supervision or the operator may have disabled it). */
  Enabled: boolean;
  // ours
  Connected: boolean;
  Cordoned: boolean;
  TaskTypes: TaskType[];
  DisabledTypes: TaskType[];
  Paths: string[];
  Limits: Partial<Record<TaskType, number>>;
  /** Tasks in their prepare step, or prepared and waiting for room in the active pool. */
  Preparing: PoolUseJson;
  /** Call ids whose work runs on it. */
  Running: string[];
  /** Call ids in their prepare step or waiting for room. */
  Prepared: string[];
  /** Call ids assigned to each window, not started. */
  Windows: string[][];
}

/** Lotus's SchedDiagRequestInfo (ours: the call id and where it is assigned). */
export interface SchedDiagRequestJson {
  Sector: { Miner: number; Number: number };
  /** Lotus's wire name (`seal/v0/precommit/1`…). */
  TaskType: string;
  Priority: number;
  CallID: string;
  /** `worker/window` when assigned to a window, absent while queued. */
  Assigned?: string;
}

/** Lotus's `SealingSchedDiag` answer. */
export interface SchedDiagJson {
  SchedInfo: {
    Requests: SchedDiagRequestJson[];
    /** One entry per empty window of a worker that takes work: its worker id. */
    OpenWindows: string[];
    /** ours: the call ids assigned to each window of each worker. */
    AssignedWindows: Record<string, string[][]>;
  };
  /** Call id → WorkID of every open call. */
  CallToWork: Record<string, string>;
  /** WorkIDs done and not yet applied by their sector. */
  ReturnedWork: string[];
  /** WorkIDs a sector waits on. */
  Waiting: string[];
}

const poolJson = (p: PoolUse): PoolUseJson => ({ MemUsedMin: p.memUsedMin, MemUsedMax: p.memUsedMax, GpuUsed: p.gpuUsed, CpuUse: p.cpuUse });

export function workerStatsOf(w: WorkerState): WorkerStatsJson {
  const r = w.info.resources;
  return {
    Info: {
      Hostname: w.info.hostname,
      IgnoreResources: w.info.ignoreResources,
      Resources: { MemPhysical: r.memPhysical, MemSwap: r.memSwap, MemReserved: r.memReserved, CPUs: r.cpus, GPUs: [...r.gpus], ...(r.pc1GatherFrom !== undefined ? { PC1GatherFrom: r.pc1GatherFrom } : {}) },
    },
    Enabled: w.enabled && w.connected,
    ...poolJson(w.active),
    Connected: w.connected,
    Cordoned: w.cordoned,
    TaskTypes: TASK_TYPES.filter((t) => w.info.taskTypes.includes(t)),
    DisabledTypes: [...w.disabledTypes],
    Paths: [...w.info.paths],
    Limits: { ...(w.info.limits ?? {}) },
    Preparing: poolJson(w.preparing),
    Running: w.started.filter((s) => s.stage === 'active').map((s) => s.callId),
    Prepared: w.started.filter((s) => s.stage === 'preparing').map((s) => s.callId),
    Windows: w.windows.map((x) => [...x]),
  };
}

export function schedDiagOf(v: SchedDiagView, states: readonly WorkerState[]): SchedDiagJson {
  return {
    SchedInfo: {
      Requests: v.requests.map((r) => {
        const out: SchedDiagRequestJson = { Sector: { Miner: r.sector.miner, Number: r.sector.number }, TaskType: TASK_WIRE_NAMES[r.type], Priority: r.priority, CallID: r.callId };
        if (r.assigned) out.Assigned = `${r.assigned.worker}/${r.assigned.window}`;
        return out;
      }),
      OpenWindows: [...v.openWindows],
      AssignedWindows: Object.fromEntries(states.filter((w) => w.windows.some((x) => x.length > 0)).map((w) => [w.info.id, w.windows.map((x) => [...x])])),
    },
    CallToWork: { ...v.callToWork },
    ReturnedWork: [...v.returnedWork],
    Waiting: [...v.waiting],
  };
}

export function workerService(w: WorkerApiService | undefined): WorkerApiService {
  if (!w) throw new WorkerUnknownError('this node has no scheduler');
  return w;
}

const WIRE_TO_SHORT = new Map(Object.entries(TASK_WIRE_NAMES).map(([short, wire]) => [wire, short as TaskType]));

/** A task type param: the short name (PC1) or Lotus's wire name (seal/v0/precommit/1). */
export function taskTypeParam(raw: unknown[], i: number, name: string): TaskType {
  const v = stringParam(raw, i, name);
  const short = isTaskType(v.toUpperCase()) ? (v.toUpperCase() as TaskType) : WIRE_TO_SHORT.get(v);
  if (!short) throw new InvalidArgumentError(`param ${name} must be a task type (${TASK_TYPES.join(', ')} or Lotus's seal/v0/… name), got ${JSON.stringify(v)}`);
  return short;
}

function boolParam(raw: unknown[], i: number, name: string): boolean {
  const v = raw[i];
  if (typeof v !== 'boolean') throw new InvalidArgumentError(`param ${name} must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

export const workersMethods = {
  /** `Filecoin.WorkerStats() → {workerId: WorkerStats}` (admin). */
  WorkerStats: defineMethod({
    perm: 'admin',
    params: (raw): [] => {
      expectArity(raw, 0);
      return [];
    },
    run: async (_p, { components }): Promise<Record<string, WorkerStatsJson>> =>
      Object.fromEntries(workerService(components.workers).states().map((w) => [w.info.id, workerStatsOf(w)])),
  }),
  /** `Filecoin.SealingSchedDiag(doSched) → SchedDiag` (admin): read from the scheduler's state, never blocked by it. */
  SealingSchedDiag: defineMethod({
    perm: 'admin',
    params: (raw): [boolean] => {
      expectArity(raw, 1);
      return [boolParam(raw, 0, 'doSched')];
    },
    run: async ([doSched], { components }): Promise<SchedDiagJson> => {
      const w = workerService(components.workers);
      const view = await w.schedDiag(doSched);
      return schedDiagOf(view, w.states());
    },
  }),
  /** `Filecoin.SealingWorkerSetEnabled(worker, enabled)` (admin): a disabled worker takes nothing new; its unstarted tasks go back to the queue. */
  SealingWorkerSetEnabled: defineMethod({
    perm: 'admin',
    params: (raw): [string, boolean] => {
      expectArity(raw, 2);
      return [stringParam(raw, 0, 'worker'), boolParam(raw, 1, 'enabled')];
    },
    run: async ([worker, enabled], { components }): Promise<void> => workerService(components.workers).setEnabled(worker, enabled),
  }),
  /** `Filecoin.SealingWorkerTaskEnable(worker, task)` (admin). */
  SealingWorkerTaskEnable: defineMethod({
    perm: 'admin',
    params: (raw): [string, TaskType] => {
      expectArity(raw, 2);
      return [stringParam(raw, 0, 'worker'), taskTypeParam(raw, 1, 'task')];
    },
    run: async ([worker, task], { components }): Promise<void> => workerService(components.workers).setEnabled(worker, true, task),
  }),
  /** `Filecoin.SealingWorkerTaskDisable(worker, task)` (admin): the worker takes no new task of the type. */
  SealingWorkerTaskDisable: defineMethod({
    perm: 'admin',
    params: (raw): [string, TaskType] => {
      expectArity(raw, 2);
      return [stringParam(raw, 0, 'worker'), taskTypeParam(raw, 1, 'task')];
    },
    run: async ([worker, task], { components }): Promise<void> => workerService(components.workers).setEnabled(worker, false, task),
  }),
  /** `Filecoin.SealingWorkerCordon(worker, cordoned)` (admin): drain (running work finishes, nothing new) or undo. */
  SealingWorkerCordon: defineMethod({
    perm: 'admin',
    params: (raw): [string, boolean] => {
      expectArity(raw, 2);
      return [stringParam(raw, 0, 'worker'), boolParam(raw, 1, 'cordoned')];
    },
    run: async ([worker, cordoned], { components }): Promise<void> => workerService(components.workers).setCordoned(worker, cordoned),
  }),
};
