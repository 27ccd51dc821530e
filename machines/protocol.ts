/**
 * The actor protocol of the daemon: every event that crosses an actor boundary, the system ids,
 * and the typed ActorSystem. Event types are dot-namespaced by receiver (`sector.*`, `scheduler.*`,
 * `index.*`); commands are imperative, facts past tense. Payloads are JSON-safe (no Errors, no
 * streams; the one ref is `replyTo`), so the inspection log can record them and a remote transport
 * can carry them: byte sources stay outside the actors, named by `requestId` (see actors/system.ts).
 *
 * Who sends what (the actor map):
 *
 *   facade (SectorService) ──scheduler.addPiece / startPacking / pledge / remove / sector.adopt / call.abort …──▶ scheduler
 *   scheduler ──emit scheduler.reply──▶ facade
 *   scheduler ──sector.addPiece / startPacking / request.cancel / task.done / task.failed / remove / faulty──▶ sector:<n>
 *   sector:<n> ──scheduler.task.request (with its summary when it changed) / task.abort / sector.changed / piece.* / sector.discard──▶ scheduler
 *   sector:<n>, scheduler ──index.call (replyTo: self, or NO_REPLY for a write nobody acts on)──▶ index ──index.result (after the commit)──▶ sender
 *   index client (Promise proxy, outside the actors) ──index.call / index.barrier──▶ index
 *   scheduler ──task.start / task.work / task.abort──▶ tasks (the scheduler's child running every call on its worker)
 *   tasks ──scheduler.task.prepared / finished──▶ scheduler
 *   worker registry (actors/system.ts `workers`), supervision, facade ──scheduler.worker.*──▶ scheduler
 *   schedClock (the scheduler's timers, a child of it) ──scheduler.restore.over / sched.start / storage.refresh / prover.due──▶ scheduler
 */
import type { ActorRef, ActorSystem, Snapshot } from 'xstate';
import type { IndexStores, StoreCallOf } from '../src/db/stores.js';
import type { WireError } from '../src/errors.js';
import type { CallReturn } from '../src/tasks/calls.js';
import type { Task, TaskResult, TaskType } from '../src/tasks/task-types.js';
import type { WorkerInfo } from '../src/tasks/worker-info.js';
import type { PieceRecord, SectorRecordDraft, SectorStateName } from '../src/db/sector-store.js';
import type { SectorInput } from './sector/sector-context.js';

/** System ids of the long-lived actors. */
export const SystemId = {
  /** The root actor: placement, the task queue, the call tracker, supervision of sectors and tasks. */
  scheduler: 'scheduler',
  /** The single SQLite writer. */
  index: 'index',
} as const;

/** Child id and system id of a sector actor (spawned by its group, machines/scheduler/sector-group.machine.ts). */
export function sectorChildId(number: number): `sector:${number}` {
  return `sector:${number}`;
}

/** Child id of the scheduler's actor that runs every started call on its worker (actors/worker-tasks.actor.ts). */
export const TASKS_CHILD = 'tasks';

// ---------------------------------------------------------------------------------------------
// Requests

/** A deal piece a client wants in a sector (sizes already validated by the facade). */
export interface PieceRequest {
  /** Correlation id; the facade keeps the byte source under this id. */
  requestId: string;
  /** Padded piece size (power of two ≥ 128). */
  pieceSize: number;
  /** Bytes the source will yield (≤ the unpadded piece size). */
  payloadSize: number;
}

export type { PieceSource } from '../src/tasks/task-types.js';

/** What a sector tells the scheduler after each change, for placement and supervision. */
export interface SectorSummary {
  number: number;
  state: SectorStateName;
  /** Padded sector size (sectors restored from older records may use another proof). */
  sectorSize: number;
  /** Padded end of the committed pieces plus every accepted, not yet written request. */
  reservedEnd: number;
  /** Takes new deal pieces (WaitDeals/AddPiece and packing not requested). */
  accepting: boolean;
}

// ---------------------------------------------------------------------------------------------
// Events received by a sector actor

export type SectorEvent =
  | ({ type: 'sector.addPiece' } & PieceRequest)
  | { type: 'sector.startPacking' }
  | { type: 'sector.request.cancel'; requestId: string }
  /** The result of the task `taskId` the sector asked for, durable as call `callId`. */
  | { type: 'sector.task.done'; taskId: string; callId: string; result: TaskResult }
  /** The task failed (or was aborted); `callId` when a call was made for it. */
  | { type: 'sector.task.failed'; taskId: string; callId?: string; error: WireError }
  /** Lotus SectorRemove: from any state; a running task is aborted first. `reason` goes into its log entry. */
  | { type: 'sector.remove'; reason?: string }
  /** CheckProvable found the sector's files unfit for proving. */
  | { type: 'sector.faulty'; reason: string }
  /** Start-up reconciliation found files of the sector missing from every path. */
  | { type: 'sector.files.missing'; message: string }
  | IndexResult
  | IndexResults;

// ---------------------------------------------------------------------------------------------
// Events received by the scheduler

/** Commands from the facade. A `requestId` is answered by exactly one `scheduler.reply`. */
export type SchedulerCommand =
  | ({ type: 'scheduler.addPiece'; sector?: number } & PieceRequest)
  | { type: 'scheduler.startPacking'; requestId: string; sector: number }
  | { type: 'scheduler.request.cancel'; requestId: string }
  /** `sectors pledge`: a new committed-capacity sector (Lotus PledgeSector). */
  | { type: 'scheduler.pledge'; requestId: string }
  /** `sectors remove N`; `sectors drift resolve N --lost` gives the `reason` the sector logs. */
  | { type: 'scheduler.remove'; requestId: string; sector: number; reason?: string }
  /**
   * `sectors drift resolve N --import`: start an actor for a record the facade has just written
   * (imported from the sector's files); refused for a number that already has an actor.
   */
  | { type: 'scheduler.sector.adopt'; requestId: string; record: SectorRecordDraft }
  /** `sealing abort CALLID`: stop a queued or running call and fail it. */
  | { type: 'scheduler.call.abort'; requestId: string; callId: string }
  /** CheckProvable's verdict on Proving sectors (from the periodic check). */
  | { type: 'scheduler.faults'; faulty: { number: number; reason: string }[] }
  /** Sector numbers seen on storage (reconciliation, storage attach): new sectors are numbered above. */
  | { type: 'scheduler.numbers.seen'; max: number }
  /** Sectors whose files reconciliation found missing. */
  | { type: 'scheduler.files.missing'; sectors: { number: number; message: string }[] }
  /**
   * Runs an UNS task for the piece provider (src/storage/piece-provider.ts) and answers when its
   * result is durable; requests for the same work share one call.
   */
  | { type: 'scheduler.unseal'; requestId: string; task: Task }
  /** A dormant sector's record, to create its actor (machines/scheduler/dormant.ts). */
  | { type: 'scheduler.sector.wake'; record: SectorRecordDraft & { lastLogAt?: number } };

/** Facts and requests from sector actors. */
export type SchedulerSectorEvent =
  /** `summary`: the sector's new summary, when it changed since it last told one (it rides here rather than in its own `sector.changed`). */
  | { type: 'scheduler.task.request'; taskId: string; task: Task; summary?: SectorSummary }
  /** The sector no longer wants its task (removal): abort it; the sector still gets its failed/done. */
  | { type: 'scheduler.task.abort'; sector: number; taskId: string }
  | { type: 'scheduler.sector.changed'; summary: SectorSummary }
  | { type: 'scheduler.piece.added'; requestId: string; sector: number; piece: PieceRecord }
  | { type: 'scheduler.piece.failed'; requestId: string; sector: number; error: WireError }
  /** A new sector whose first piece failed holds nothing durable: stop it and free its number. */
  | { type: 'scheduler.sector.discard'; number: number }
  /** A sector actor failed (a bug), reported by its group. */
  | { type: 'scheduler.sector.crashed'; number: number; error: WireError };

/**
 * From the `tasks` actor: a call's prepare step is done (the call waits for room in the worker's
 * active pool), or how the call ended (a remote worker's Return* arrives the same way). An error
 * with code WORKER_LOST puts the call back in the queue instead (docs/design/scheduler.md §1).
 */
export type SchedulerTaskEvent =
  | { type: 'scheduler.task.prepared'; callId: string }
  | { type: 'scheduler.task.finished'; callId: string; ret: CallReturn };

/** A call the scheduler starts on a worker; `batch`: the PC1 batch it runs in, every member's call id in order. */
export interface TaskStart {
  callId: string;
  task: Task;
  worker: string;
  batch?: { id: string; calls: readonly string[] };
}

/**
 * To the `tasks` actor: start a call (its prepare step), run its work now (the active pool has
 * room), or stop it (its `scheduler.task.finished` follows once the thread let go).
 */
export type TaskActorEvent = { type: 'task.start'; call: TaskStart } | { type: 'task.work'; callId: string } | { type: 'task.abort'; callId: string };

/**
 * Workers coming and going and the operator's control over them (docs/design/scheduler.md §1).
 * A `requestId` is answered by one `scheduler.reply`; supervision sends them without one.
 */
export type SchedulerWorkerEvent =
  /**
   * Registers a worker, or replaces a known one's info keeping its pools, calls and flags.
   * `holds`: ids of calls the worker still runs or has finished (it outlived a restart of the
   * daemon); each of them that is open runs on it, not elsewhere.
   */
  | { type: 'scheduler.worker.connected'; info: WorkerInfo; holds?: readonly string[] }
  /** Its unstarted tasks go back to the queue; its started calls are left to supervision. */
  | { type: 'scheduler.worker.disconnected'; id: string }
  /** The whole worker, or one task type on it. */
  | { type: 'scheduler.worker.enable'; id: string; taskType?: TaskType; requestId?: string }
  | { type: 'scheduler.worker.disable'; id: string; taskType?: TaskType; requestId?: string }
  /** Drain: running work finishes, nothing new is taken. */
  | { type: 'scheduler.worker.cordon'; id: string; requestId?: string }
  | { type: 'scheduler.worker.uncordon'; id: string; requestId?: string }
  /** A scheduling pass now (`SealingSchedDiag(true)`). */
  | { type: 'scheduler.sched.poke'; requestId?: string }
  /**
   * Remote workers can connect from now on: an InitWait still running starts over, so it counts
   * from when reconnecting workers can be accepted, not from the scheduler's start (the restore
   * between the two can itself outlast InitWait on a loaded machine).
   */
  | { type: 'scheduler.workers.open' };

/**
 * Raised by the scheduler to itself: spawning a sector in its group and sending to a sector go
 * through these, so that every route to a sector is one action (machines/scheduler/sector-group.machine.ts).
 */
export type SchedulerInternalEvent =
  | { type: 'scheduler.sector.spawn'; input: SectorInput; events?: SectorEvent[] }
  | { type: 'scheduler.sector.send'; number: number; events: SectorEvent[] }
  /** The pass marked due is to run now (from the `schedTick` actor, machines/scheduler/sched-tick.ts). */
  | { type: 'scheduler.sched.pass' }
  /** The PC1 batch wait of a sector size is over (delayed, machines/scheduler/pc1-batch.ts); `gen` names the wait. */
  | { type: 'scheduler.pc1.waited'; sectorSize: number; gen: number };

/** From the scheduler's clock (machines/scheduler/sched-clock.machine.ts): a timer of the scheduler is due. */
export type SchedulerClockEvent =
  /** `restoreGraceMs` after start: restored calls no sector claimed are closed. */
  | { type: 'scheduler.restore.over' }
  /** InitWait is over: passes run from now on. */
  | { type: 'scheduler.sched.start' }
  /** Re-read the storage paths' space. */
  | { type: 'scheduler.storage.refresh' }
  /** A CheckProvable round is due (the clock waits for `clock.prover.done` before timing the next). */
  | { type: 'scheduler.prover.due' };

export type SchedulerEvent =
  | SchedulerCommand
  | SchedulerSectorEvent
  | SchedulerTaskEvent
  | SchedulerWorkerEvent
  | SchedulerInternalEvent
  | SchedulerClockEvent
  | IndexResult
  | IndexResults;

/** Emitted by the scheduler (listen with `actor.on('scheduler.reply', …)`): the answer to a command. */
export type SchedulerReply =
  | { type: 'scheduler.reply'; requestId: string; ok: true; value: ReplyValue }
  | { type: 'scheduler.reply'; requestId: string; ok: false; error: WireError };

/** The value of a successful reply. */
export type ReplyValue =
  | { kind: 'piece.added'; sector: number; piece: PieceRecord }
  | { kind: 'packing.requested'; sector: number }
  | { kind: 'sector.pledged'; sector: number }
  | { kind: 'sector.removing'; sector: number }
  | { kind: 'sector.adopted'; sector: number }
  | { kind: 'call.aborting'; callId: string }
  | { kind: 'unsealed'; callId: string; unsealedBytes: number }
  | { kind: 'worker.updated'; worker: string }
  | { kind: 'sched.poked' };

// ---------------------------------------------------------------------------------------------
// Events received by the index actor

/**
 * The one request/reply protocol of the index actor (docs/design/sealing-daemon.md §5): a call of
 * a store's method, run in the index actor's transaction. With `replyTo`, the answer comes back as
 * an {@link IndexResult} carrying the sender's `requestId`, sent only after the commit. Without it,
 * the call is one of the IndexClient's (code outside the actor system), whose promise is settled by
 * `requestId`; an actor therefore gives `replyTo`, unless the call is a write whose answer it does
 * not act on: it then sends {@link NO_REPLY} as the `requestId` and no `replyTo` (no client promise
 * has that id; a failure goes to the index actor's error report, as every unawaited call's does),
 * which spares the sender an event per such write. `replyTo` is the one ref in the protocol: the
 * inspection log records it as `{ $actor: sessionId }`, and a remote transport would carry the
 * sender's address instead.
 */
export type IndexEvent<M = IndexStores> =
  | IndexCall<M>
  /** Answered once every event received before it has been committed. */
  | { type: 'index.barrier'; requestId: number; replyTo?: IndexReplyRef };

/** The `requestId` of an actor's index write that wants no answer (sent without `replyTo`). */
export const NO_REPLY = -1;

/** One `index.call` to a store of the map `M` (the daemon's {@link IndexStores} unless a test adds stores). */
export type IndexCall<M = IndexStores> = { type: 'index.call'; requestId: number; replyTo?: IndexReplyRef } & StoreCallOf<M>;

/** Where an actor wants its {@link IndexResult}s. */
export type IndexReplyRef = ActorRef<Snapshot<unknown>, IndexResult | IndexResults>;

/**
 * The index actor's answer to one `index.call` (or barrier), sent after the commit of the
 * transaction that ran it. `ok: false` when the call threw (its savepoint was rolled back alone)
 * or when the commit failed (then every call of the transaction fails with the commit's error).
 */
export type IndexResult =
  | { type: 'index.result'; requestId: number; ok: true; value: unknown }
  | { type: 'index.result'; requestId: number; ok: false; error: WireError };

/**
 * The answers to several calls of one sender committed in one transaction, in the order the calls
 * were received: one event instead of one per call (a busy scheduler's writes share commits, and
 * each event is a whole macrostep of its machine). A sender with one call in the transaction gets
 * its {@link IndexResult} alone.
 */
export type IndexResults = { type: 'index.results'; results: IndexResult[] };

// ---------------------------------------------------------------------------------------------
// The system

/** Ref to the index actor. */
export type IndexRef = ActorRef<Snapshot<unknown>, IndexEvent>;
/** Ref to the scheduler (root) actor. */
export type SchedulerRef = ActorRef<Snapshot<unknown>, SchedulerEvent, SchedulerReply>;

/** The actor system, typed for `system.get(SystemId.x)`. */
export type DaemonSystem = ActorSystem<{ actors: { scheduler: SchedulerRef; index: IndexRef } }>;
