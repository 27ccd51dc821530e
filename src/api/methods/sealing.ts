/**
 * Sealing methods: the tracked calls (docs/design/sealing-daemon.md §4) as an operator sees them.
 * - `WorkerJobs()` (admin, Lotus): calls not yet returned, by worker, with Lotus's RunWait codes.
 * - `SealingAbort(call)` (admin, Lotus): stops a queued or running call. Takes Lotus's CallID
 *   `{Sector: {Miner, Number}, ID}`, or (ours) a call id or a unique prefix of one as a string.
 * - `SealingCalls(sector)` (read, ours): every call ever made for a sector, so anyone can check
 *   that no phase ran twice.
 */
import { CallUnknownError, InvalidArgumentError } from '../../errors.js';
import type { CallRecord, CallState } from '../../tasks/calls.js';
import { TASK_WIRE_NAMES, type TaskType } from '../../tasks/task-types.js';
import { expectArity, intParam } from '../params.js';
import { defineMethod } from '../rpc-method.js';
import type { ApiComponents } from '../components.js';
import { type SectorIdJson, sectorService } from './sectors.js';

/** Lotus's storiface.CallID. */
export interface CallIdJson {
  Sector: SectorIdJson;
  /** The call's uuid. */
  ID: string;
}

/** Lotus's RunWait values (`storiface/worker.go`) that the call states map to. */
export const RUN_WAIT = {
  /** On a worker. */
  running: 0,
  /** Waiting for a worker (Lotus: assigned to the first window). */
  assigned: 1,
  /** Finished, result not yet applied by its sector (Lotus RWRetWait). */
  retWait: -1,
  /** Returned to its sector (Lotus RWRetDone). */
  retDone: -3,
} as const;

/** The worker key Lotus lists jobs under when no worker holds them (ret-wait). */
export const NO_WORKER = '00000000-0000-0000-0000-000000000000';

/** Lotus's storiface.WorkerJob. */
export interface WorkerJob {
  ID: CallIdJson;
  Sector: SectorIdJson;
  /** Lotus's wire name (`seal/v0/precommit/1`…). */
  Task: string;
  /** 0 running, 1 waiting for a worker, -1 done and not yet applied by its sector. */
  RunWait: number;
  /** When it was dispatched (running), created (waiting) or started (ret-wait); RFC 3339, as Go encodes time. */
  Start: string;
  Hostname?: string;
  /** Ours: the PC1 batch a running call is labelled in with other calls (docs/design/scheduler.md §8). */
  Batch?: string;
  /** Ours: the latest progress of a started call (PC1 layers, PC2 trees, fetched bytes), local or remote. */
  Progress?: { Phase: string; Done: number; Total: number; Detail?: string };
}

/** One call as `sealing calls` shows it (ours). Times are unix ms. */
export interface SealingCall {
  ID: string;
  /** Same work, same id across restarts. */
  WorkID: string;
  Sector: SectorIdJson;
  /** Lotus's short name: AP, PC1, PC2, C1, C2, FIN, GET, UNS. */
  Task: TaskType;
  State: CallState;
  /** How it ended: ok, failed, aborted, interrupted (once done). */
  Outcome?: string;
  /** Dispatches (more than one: re-queued after the process died). */
  Attempts: number;
  Priority: number;
  Worker?: string;
  Hostname?: string;
  /** The PC1 batch its last run was labelled in with other calls. */
  Batch?: string;
  Created: number;
  Started?: number;
  Finished?: number;
  Returned?: number;
  /** Why it failed, when it did. */
  Error?: { code: string; message: string };
}

const idOf = (c: CallRecord): CallIdJson => ({ Sector: { Miner: c.sector.miner, Number: c.sector.number }, ID: c.callId });

/**
 * A call record as a Lotus WorkerJob and the worker key it is listed under. `placed` is where the
 * scheduler has it now (actors/worker-service.ts `placements`): started on a worker (RunWait 0,
 * its prepare step included: the worker is busy with it) or in window n of one (RunWait n + 1).
 */
export function workerJobOf(c: CallRecord, placed?: { worker: string; runWait: number; hostname?: string; batch?: string }): { worker: string; job: WorkerJob } {
  if (placed && c.state !== 'done') {
    const job: WorkerJob = {
      ID: idOf(c),
      Sector: { Miner: c.sector.miner, Number: c.sector.number },
      Task: TASK_WIRE_NAMES[c.task],
      RunWait: placed.runWait,
      Start: new Date(c.state === 'running' ? (c.startedAt ?? c.createdAt) : c.createdAt).toISOString(),
    };
    if (placed.hostname) job.Hostname = placed.hostname;
    if (placed.batch) job.Batch = placed.batch;
    return { worker: placed.worker, job };
  }
  const running = c.state === 'running';
  const waiting = c.state === 'started';
  const start = running ? (c.startedAt ?? c.createdAt) : waiting ? c.createdAt : (c.startedAt ?? c.createdAt);
  const job: WorkerJob = {
    ID: idOf(c),
    Sector: { Miner: c.sector.miner, Number: c.sector.number },
    Task: TASK_WIRE_NAMES[c.task],
    RunWait: running ? RUN_WAIT.running : waiting ? RUN_WAIT.assigned : c.state === 'returned' ? RUN_WAIT.retDone : RUN_WAIT.retWait,
    Start: new Date(start).toISOString(),
  };
  // a waiting call is on no worker yet (a hostname it carries is from a run before a restart)
  if (!waiting && c.hostname) job.Hostname = c.hostname;
  if (running && c.batch) job.Batch = c.batch;
  return { worker: running && c.worker ? c.worker : NO_WORKER, job };
}

/** `WorkerJobs`'s answer now: the open calls by worker, each running one with its progress. */
export async function workerJobs(components: ApiComponents): Promise<Record<string, WorkerJob[]>> {
  const out: Record<string, WorkerJob[]> = {};
  const calls = await sectorService(components.sectors).jobs();
  const placements = components.workers?.placements() ?? {};
  const hostnames = new Map((components.workers?.states() ?? []).map((w) => [w.info.id, w.info.hostname]));
  for (const call of calls) {
    const p = placements[call.callId];
    const { worker, job } = workerJobOf(call, p && { ...p, ...(hostnames.has(p.worker) ? { hostname: hostnames.get(p.worker)! } : {}) });
    const progress = p?.runWait === RUN_WAIT.running ? components.workers?.progress(call.callId) : undefined;
    if (progress) job.Progress = { Phase: progress.phase, Done: progress.done, Total: progress.total, ...(progress.detail ? { Detail: progress.detail } : {}) };
    const list = out[worker];
    if (list) list.push(job);
    else out[worker] = [job];
  }
  return out;
}

/** A call record as `SealingCalls` reports it. */
export function sealingCallOf(c: CallRecord): SealingCall {
  const out: SealingCall = {
    ID: c.callId,
    WorkID: c.workId,
    Sector: { Miner: c.sector.miner, Number: c.sector.number },
    Task: c.task,
    State: c.state,
    Attempts: c.attempts,
    Priority: c.priority,
    Created: c.createdAt,
  };
  if (c.outcome) out.Outcome = c.outcome;
  if (c.worker) out.Worker = c.worker;
  if (c.hostname) out.Hostname = c.hostname;
  if (c.batch) out.Batch = c.batch;
  if (c.startedAt !== undefined) out.Started = c.startedAt;
  if (c.finishedAt !== undefined) out.Finished = c.finishedAt;
  if (c.returnedAt !== undefined) out.Returned = c.returnedAt;
  if (c.returned && !c.returned.ok) out.Error = { code: c.returned.error.code, message: c.returned.error.message };
  return out;
}

/** Checks `SealingAbort`'s param: Lotus's CallID, or a call id (prefix) string. */
function callParam(raw: unknown[], i: number, name: string): string | CallIdJson {
  const v = raw[i];
  if (typeof v === 'string') {
    if (v === '') throw new InvalidArgumentError(`param ${name} must not be empty`);
    return v;
  }
  const shape = `{"Sector":{"Miner":n,"Number":n},"ID":"<uuid>"} or a call id (prefix) string`;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new InvalidArgumentError(`param ${name} must be ${shape} (got ${JSON.stringify(v)})`);
  const o = v as Record<string, unknown>;
  const s = o.Sector as Record<string, unknown> | undefined;
  const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
  if (typeof o.ID !== 'string' || !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(o.ID)) {
    throw new InvalidArgumentError(`param ${name}.ID must be a call uuid (got ${JSON.stringify(o.ID)})`);
  }
  if (typeof s !== 'object' || s === null || !isCount(s.Miner) || !isCount(s.Number)) {
    throw new InvalidArgumentError(`param ${name}.Sector must be {"Miner":n,"Number":n} with non-negative integers (got ${JSON.stringify(o.Sector)})`);
  }
  return { Sector: { Miner: s.Miner, Number: s.Number }, ID: o.ID };
}

export const sealingMethods = {
  /** `Filecoin.WorkerJobs() → {workerId: WorkerJob[]}` (admin). Calls waiting for a worker or for their sector are under the nil uuid. */
  WorkerJobs: defineMethod({
    perm: 'admin',
    params: (raw): [] => {
      expectArity(raw, 0);
      return [];
    },
    run: async (_p, { components }): Promise<Record<string, WorkerJob[]>> => workerJobs(components),
  }),
  /**
   * `Filecoin.WorkerJobsDone(sinceMs) → {nil uuid: WorkerJob[]}` (admin, ours): calls returned to
   * their sectors since `sinceMs` (unix ms), RunWait −3 (Lotus RWRetDone), for
   * `sealing jobs --show-ret-done` (Lotus's WorkerJobs lists them itself; ours lists open calls only).
   */
  WorkerJobsDone: defineMethod({
    perm: 'admin',
    params: (raw): [number] => {
      expectArity(raw, 1);
      return [intParam(raw, 0, 'sinceMs')];
    },
    run: async ([sinceMs], { components }): Promise<Record<string, WorkerJob[]>> => {
      const s = sectorService(components.sectors);
      const done = s.returnedSince ? await s.returnedSince(sinceMs) : [];
      return done.length === 0 ? {} : { [NO_WORKER]: done.map((c) => workerJobOf(c).job) };
    },
  }),
  /**
   * `Filecoin.SealingAbort(call) → SealingCall` (admin): the call as it was when the stop began
   * (Lotus returns nothing). CALL_UNKNOWN when no call (or several) match, when a CallID's sector
   * is not the call's, or when the call is no longer queued or running.
   */
  SealingAbort: defineMethod({
    perm: 'admin',
    params: (raw): [call: string | CallIdJson] => {
      expectArity(raw, 1);
      return [callParam(raw, 0, 'call')];
    },
    run: async ([target], { components }): Promise<SealingCall> => {
      const sectors = sectorService(components.sectors);
      const call = await sectors.findCall(typeof target === 'string' ? target : target.ID);
      if (typeof target !== 'string' && (target.Sector.Miner !== call.sector.miner || target.Sector.Number !== call.sector.number)) {
        throw new CallUnknownError(
          `call ${call.callId} is of sector ${call.sector.miner}-${call.sector.number}, not ${target.Sector.Miner}-${target.Sector.Number}`,
        );
      }
      await sectors.abort(call.callId);
      return sealingCallOf(call);
    },
  }),
  /** `Filecoin.SealingCalls(sector) → SealingCall[]` (read, ours): every call of the sector, oldest first. */
  SealingCalls: defineMethod({
    perm: 'read',
    params: (raw): [number] => {
      expectArity(raw, 1);
      return [intParam(raw, 0, 'sector')];
    },
    run: async ([sector], { components }): Promise<SealingCall[]> => {
      const sectors = sectorService(components.sectors);
      await sectors.sectorStatus(sector); // SECTOR_UNKNOWN for a sector that never existed
      const calls = await sectors.calls(sector);
      return calls.map(sealingCallOf).sort((a, b) => a.Created - b.Created || a.ID.localeCompare(b.ID));
    },
  }),
};
