/**
 * The worker protocol: what a worker process (`sector-storage worker`) and its manager daemon say
 * to each other over their WebSocket (`/rpc/worker/v0`, JSON-RPC 2.0 both ways, rpc-peer.ts), with
 * the method names of Lotus's worker API (`api/api_worker.go`) and of the manager's `Return*`
 * methods (`api/api_storage.go`):
 *
 *   worker  ──WorkerConnect(hello)──────────────────────────▶ manager   (first; answered with the welcome)
 *   manager ──AddPiece / SealPreCommit1 / … (CallID, task)──▶ worker    → the CallID, once recorded
 *   worker  ──ReturnAddPiece / ReturnSealPreCommit1 / … (CallID, result, error)──▶ manager
 *                                                                       → true once the result is durable
 *   manager ──Fetch(CallID, task)───────────────────────────▶ worker    → true once the task's inputs are here (its prepare step)
 *   worker  ──ReportProgress(CallID, progress)──────────────▶ manager   (ours: a running step's progress, for `sealing jobs`)
 *   manager ──SealingAbort(CallID)──────────────────────────▶ worker    → whether it was running there
 *   manager ──Session()─────────────────────────────────────▶ worker    (heartbeat)
 *
 * Unlike Lotus, the manager names the call: the CallID's ID is the manager's call id (durable on
 * its side before the call is sent), so a call sent again after a broken connection is recognised
 * by the worker instead of run twice, and a result needs no mapping to be matched. The answer to a
 * `Return*` is the acknowledgement: the worker deletes its record only then
 * (`extern/sector-storage/worker_calltracker.go` keeps it until the manager has it, as here).
 */
import { InvalidArgumentError, isErrorCode, ProtocolMismatchError, type WireError } from '../errors.js';
import type { TaskProgress } from '../lifecycle/task-context.js';
import type { CallReturn } from '../tasks/calls.js';
import { TASK_TYPES, type Task, type TaskOutputs, type TaskResult, type TaskType } from '../tasks/task-types.js';
import { checkWorkerInfo, type WorkerInfo } from '../tasks/worker-info.js';
import type { CallIdJson } from './methods/sealing.js';

/** Version of this protocol; a worker and a manager of different versions refuse each other. */
export const WORKER_PROTOCOL = 1;

/** The manager's WebSocket endpoint for workers. */
export const WORKER_WS_PATH = '/rpc/worker/v0';

/** Close codes of a worker connection (4000–4999 are the application's). */
export const WorkerClose = {
  /** The hello was refused (its error was the answer to WorkerConnect). */
  refused: 4000,
  /** A newer connection of the same worker replaced this one. */
  replaced: 4001,
  /** No hello in time, or heartbeats went unanswered. */
  silent: 4002,
  /** The manager or the worker is shutting down. */
  shutdown: 4003,
} as const;

/** Lotus's worker API names of each task: the manager's call and the worker's answer. */
export const TASK_METHODS: Readonly<Record<TaskType, { call: string; ret: string }>> = {
  AP: { call: 'AddPiece', ret: 'ReturnAddPiece' },
  PC1: { call: 'SealPreCommit1', ret: 'ReturnSealPreCommit1' },
  PC2: { call: 'SealPreCommit2', ret: 'ReturnSealPreCommit2' },
  C1: { call: 'SealCommit1', ret: 'ReturnSealCommit1' },
  C2: { call: 'SealCommit2', ret: 'ReturnSealCommit2' },
  FIN: { call: 'FinalizeSector', ret: 'ReturnFinalizeSector' },
  GET: { call: 'MoveStorage', ret: 'ReturnMoveStorage' },
  UNS: { call: 'UnsealPiece', ret: 'ReturnUnsealPiece' },
};

/** What a worker tells its manager when it connects (`WorkerConnect`). */
export interface WorkerHello {
  Protocol: number;
  /** Program version of the worker. */
  Version: string;
  /** A uuid per worker process start. */
  Session: string;
  /** `http://host:port` of the worker's own server (`/remote`). */
  URL: string;
  /** What it registers with the scheduler; `id` is its persistent id (its repository's uuid). */
  Info: WorkerInfo;
  /** The calls it holds: running in this process, and done but not yet acknowledged. */
  Calls: { Running: string[]; Done: string[] };
}

/** The manager's answer to `WorkerConnect`. */
export interface WorkerWelcome {
  Protocol: number;
  Version: string;
  /** The manager's session (changes when it restarts). */
  Session: string;
  Miner: number;
  /** How often the manager calls `Session`: a worker that hears nothing for three periods reconnects. */
  HeartbeatMs: number;
}

/** The result a `Return*` carries for each task type. */
export type ReturnValue<T extends TaskType> = TaskOutputs[T];

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** A CallID on the wire. */
export function callIdJson(sector: { miner: number; number: number }, id: string): CallIdJson {
  return { Sector: { Miner: sector.miner, Number: sector.number }, ID: id };
}

/** The call id of a CallID; INVALID_ARGUMENT naming what is wrong. */
export function parseCallId(raw: unknown, what = 'CallID'): { id: string; sector: { miner: number; number: number } } {
  const c = raw as Partial<CallIdJson> | null;
  if (typeof c !== 'object' || c === null || typeof c.ID !== 'string' || !UUID.test(c.ID) || !isCount(c.Sector?.Miner) || !isCount(c.Sector?.Number)) {
    throw new InvalidArgumentError(`${what} must be {Sector: {Miner, Number}, ID: <lowercase uuid>}, got ${JSON.stringify(raw)}`);
  }
  return { id: c.ID, sector: { miner: c.Sector.Miner, number: c.Sector.Number } };
}

/**
 * The call a task method carries: `(CallID, task)` with the task of the method's type and the
 * CallID's sector. INVALID_ARGUMENT naming what is wrong.
 */
export function parseTaskCall(type: TaskType, params: unknown[]): { callId: string; task: Task } {
  const method = TASK_METHODS[type].call;
  if (params.length !== 2) throw new InvalidArgumentError(`${method} takes (CallID, task), got ${params.length} params`);
  const { id, sector } = parseCallId(params[0], `${method}: CallID`);
  const task = params[1] as Partial<Task> | null;
  if (typeof task !== 'object' || task === null || task.type !== type) {
    throw new InvalidArgumentError(`${method} carries a ${type} task, got ${JSON.stringify((task as { type?: unknown } | null)?.type ?? task)}`);
  }
  if (task.sector?.miner !== sector.miner || task.sector?.number !== sector.number) {
    throw new InvalidArgumentError(`${method}: the task's sector ${JSON.stringify(task.sector)} is not the CallID's ${JSON.stringify({ miner: sector.miner, number: sector.number })}`);
  }
  if (!isCount(task.proofType) || typeof task.priority !== 'number' || typeof task.input !== 'object' || task.input === null) {
    throw new InvalidArgumentError(`${method}: the task needs proofType, priority and input`);
  }
  return { callId: id, task: task as Task };
}

/**
 * The call `Fetch` carries: `(CallID, task)` of any task type (the prepare step of that call).
 * Lotus's `Fetch(sector, fileType, pathType, mode)` names the files; here the worker derives them
 * from the task (src/worker/task-inputs.ts), so the two sides cannot disagree about them.
 */
export function parseFetchCall(params: unknown[]): { callId: string; task: Task } {
  const type = (params[1] as { type?: unknown } | null | undefined)?.type;
  if (!TASK_TYPES.includes(type as TaskType)) {
    throw new InvalidArgumentError(`Fetch carries a task of a known type (${TASK_TYPES.join(', ')}), got ${JSON.stringify(type)}`);
  }
  try {
    return parseTaskCall(type as TaskType, params);
  } catch (err) {
    throw new InvalidArgumentError(`Fetch: ${(err as Error).message}`);
  }
}

/** A progress report on the wire: `(CallID, {phase, done, total, detail?})`; INVALID_ARGUMENT naming what is wrong. */
export function parseProgress(params: unknown[]): { callId: string; progress: TaskProgress } {
  if (params.length !== 2) throw new InvalidArgumentError(`ReportProgress takes (CallID, progress), got ${params.length} params`);
  const { id } = parseCallId(params[0], 'ReportProgress: CallID');
  const p = params[1] as Partial<TaskProgress> | null;
  const num = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= 0;
  if (typeof p !== 'object' || p === null || typeof p.phase !== 'string' || !num(p.done) || !num(p.total) || (p.detail !== undefined && typeof p.detail !== 'string')) {
    throw new InvalidArgumentError(`ReportProgress: progress must be {phase, done, total, detail?}, got ${JSON.stringify(params[1])}`);
  }
  return { callId: id, progress: { phase: p.phase, done: p.done as number, total: p.total as number, ...(p.detail !== undefined ? { detail: p.detail } : {}) } };
}

/** The params of the `Return*` of a call's result: `(CallID, value, null)` or `(CallID, null, error)`. */
export function returnParams(sector: { miner: number; number: number }, callId: string, ret: CallReturn): unknown[] {
  return ret.ok ? [callIdJson(sector, callId), ret.result.value, null] : [callIdJson(sector, callId), null, { code: ret.error.code, message: ret.error.message }];
}

/** The result a `Return*` of `type` carries; INVALID_ARGUMENT naming what is wrong. */
export function parseReturn(type: TaskType, params: unknown[]): { callId: string; sector: { miner: number; number: number }; ret: CallReturn } {
  const method = TASK_METHODS[type].ret;
  if (params.length !== 3) throw new InvalidArgumentError(`${method} takes (CallID, result, error), got ${params.length} params`);
  const { id, sector } = parseCallId(params[0], `${method}: CallID`);
  const [, value, error] = params;
  if (error !== null && error !== undefined) {
    if (value !== null && value !== undefined) throw new InvalidArgumentError(`${method} carries a result or an error, not both`);
    const e = error as Partial<WireError>;
    if (typeof e !== 'object' || !isErrorCode(e.code) || typeof e.message !== 'string') {
      throw new InvalidArgumentError(`${method}: the error must be {code: <a known error code>, message}, got ${JSON.stringify(error)}`);
    }
    return { callId: id, sector, ret: { ok: false, error: { code: e.code, message: e.message } } };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidArgumentError(`${method} carries neither a result object nor an error`);
  }
  // the value's fields are the task body's to trust: a worker of the same protocol made it
  return { callId: id, sector, ret: { ok: true, result: { type, value } as TaskResult } };
}

/**
 * Checks a worker's hello: the protocol first (PROTOCOL_MISMATCH, naming both versions), then each
 * field (INVALID_ARGUMENT naming it; an unknown task type is named with the known ones).
 */
export function parseHello(raw: unknown, manager: { version: string }): WorkerHello {
  const h = raw as Partial<WorkerHello> | null;
  if (typeof h !== 'object' || h === null || Array.isArray(h)) throw new InvalidArgumentError('WorkerConnect takes one hello object');
  if (h.Protocol !== WORKER_PROTOCOL) {
    throw new ProtocolMismatchError(
      `the worker speaks worker protocol ${JSON.stringify(h.Protocol)} (sector-storage ${String(h.Version)}), this manager speaks ${WORKER_PROTOCOL} (sector-storage ${manager.version}); run the same version on both`,
    );
  }
  const text = (v: unknown, name: string): string => {
    if (typeof v !== 'string' || v === '') throw new InvalidArgumentError(`hello.${name} must be a non-empty string`);
    return v;
  };
  text(h.Version, 'Version');
  if (!UUID.test(text(h.Session, 'Session'))) throw new InvalidArgumentError('hello.Session must be a lowercase uuid');
  if (!/^https?:\/\/[^/]+$/.test(text(h.URL, 'URL'))) throw new InvalidArgumentError(`hello.URL must be http(s)://host:port, got ${JSON.stringify(h.URL)}`);
  const info = checkInfo(h.Info);
  const ids = (v: unknown, name: string) => {
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || !UUID.test(x))) throw new InvalidArgumentError(`hello.Calls.${name} must be a list of call ids`);
  };
  ids(h.Calls?.Running, 'Running');
  ids(h.Calls?.Done, 'Done');
  return { ...(h as WorkerHello), Info: info };
}

/** The worker's side of the handshake: the manager's welcome, PROTOCOL_MISMATCH for another version. */
export function parseWelcome(raw: unknown, worker: { version: string }): WorkerWelcome {
  const w = raw as Partial<WorkerWelcome> | null;
  if (typeof w !== 'object' || w === null) throw new InvalidArgumentError(`the manager's welcome must be an object, got ${JSON.stringify(raw)}`);
  if (w.Protocol !== WORKER_PROTOCOL) {
    throw new ProtocolMismatchError(
      `the manager speaks worker protocol ${JSON.stringify(w.Protocol)} (sector-storage ${String(w.Version)}), this worker speaks ${WORKER_PROTOCOL} (sector-storage ${worker.version}); run the same version on both`,
    );
  }
  if (typeof w.Session !== 'string' || !isCount(w.Miner) || !isCount(w.HeartbeatMs) || w.HeartbeatMs === 0) {
    throw new InvalidArgumentError(`the manager's welcome needs Session, Miner and HeartbeatMs, got ${JSON.stringify(raw)}`);
  }
  return w as WorkerWelcome;
}

/** The worker info of a hello: the scheduler's checks (src/tasks/worker-info.ts), and an id that is the worker's uuid. */
function checkInfo(raw: unknown): WorkerInfo {
  const id = (raw as { id?: unknown } | null)?.id;
  if (typeof id !== 'string' || !UUID.test(id)) throw new InvalidArgumentError(`hello.Info.id must be the worker's lowercase uuid, got ${JSON.stringify(id)}`);
  const info = checkWorkerInfo(raw);
  if (info.taskTypes.length === 0) throw new InvalidArgumentError(`worker ${id}: taskTypes must list at least one task type`);
  return info;
}
