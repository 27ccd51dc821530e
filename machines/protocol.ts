/**
 * The actor protocol of the daemon: every event that crosses an actor boundary, the system ids,
 * and the typed ActorSystem. Event types are dot-namespaced by receiver (`sector.*`, `scheduler.*`,
 * `index.*`); commands are imperative, facts past tense. Payloads are JSON-safe (no refs, no
 * Errors, no streams), so the inspection log can record them and a future remote transport can
 * carry them: byte sources stay outside the actors, named by `requestId` (see actors/system.ts).
 *
 * Who sends what (the actor map):
 *
 *   facade (SectorService) ──scheduler.addPiece / startPacking / request.cancel──▶ scheduler
 *   scheduler ──emit scheduler.reply──▶ facade
 *   scheduler ──sector.addPiece / startPacking / request.cancel / task.done / task.failed──▶ sector:<n>
 *   sector:<n> ──sendParent scheduler.task.request / sector.changed / piece.added / piece.failed──▶ scheduler
 *   sector:<n> ──sendTo(system.get('index')) index.sector.save──▶ index
 *   index ──replyTo.send sector.save.done / save.failed (by saveId, in the order sent)──▶ sector:<n>
 *   index client (Asyncified proxy) ──index.call / index.barrier──▶ index
 *   task:<id> (promise actor, spawned by the scheduler) ──xstate.done/error.actor.task:<id>──▶ scheduler
 */
import type { ActorRef, ActorSystem, Snapshot } from 'xstate';
import type { WireError } from '../src/errors.js';
import type { SectorId } from '../src/sector/sector-id.js';
import type { PieceRecord, SectorRecordDraft, SectorStateName } from '../src/db/sector-store.js';

/** System ids of the long-lived actors. */
export const SystemId = {
  /** The root actor: placement, admission control, supervision of sectors and tasks. */
  scheduler: 'scheduler',
  /** The single SQLite writer. */
  index: 'index',
} as const;

/** Child id of a sector actor (spawned by the scheduler). */
export function sectorChildId(number: number): `sector:${number}` {
  return `sector:${number}`;
}

/** Child id of the promise actor running one pool task. */
export function taskChildId(taskId: string): `task:${string}` {
  return `task:${taskId}`;
}

// ---------------------------------------------------------------------------------------------
// Requests and tasks

/** A deal piece a client wants in a sector (sizes already validated by the facade). */
export interface PieceRequest {
  /** Correlation id; the facade keeps the byte source under this id. */
  requestId: string;
  /** Padded piece size (power of two ≥ 128). */
  pieceSize: number;
  /** Bytes the source will yield (≤ the unpadded piece size). */
  payloadSize: number;
}

/** Where the bytes of an AddPiece task come from. */
export type PieceSource =
  /** The client stream registered by the facade under this request id. */
  | { type: 'request'; requestId: string }
  /** Zeros: alignment padding and packing fillers (Lotus feeds a NullReader). */
  | { type: 'zeros' };

/**
 * AddPiece at the storage level (§5.3): write `pieceSize` padded bytes at `paddedOffset` of the
 * sector's unsealed file, fr32-padding the source on the way and computing its commP.
 */
export interface AddPieceTask {
  /** Unique id within the running system: `<sector>.<seq>`. */
  id: string;
  kind: 'addPiece';
  sector: SectorId;
  proofType: number;
  paddedOffset: number;
  pieceSize: number;
  payloadSize: number;
  source: PieceSource;
}

/** Output of an AddPiece task. */
export interface AddPieceOutput {
  pieceCid: string;
  pieceCidV2: string;
  paddedSize: number;
  payloadSize: number;
}

/**
 * Every task the scheduler can run. Later issues add PC1/PC2/C1/C2/Finalize tasks here; each one
 * carries what its WorkID is computed from (§2.5), so the call tracker can key it.
 */
export type TaskRequest = AddPieceTask;

/** What a sector tells the scheduler after each change, for placement. */
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
  | { type: 'sector.task.done'; taskId: string; output: AddPieceOutput }
  | { type: 'sector.task.failed'; taskId: string; error: WireError }
  | SectorSaveReply;

/**
 * The index actor's answer to one `index.sector.save`, sent once the write is committed (or has
 * failed). Answers come in the order the saves were sent.
 */
export type SectorSaveReply =
  | { type: 'sector.save.done'; saveId: number }
  | { type: 'sector.save.failed'; saveId: number; error: WireError };

// ---------------------------------------------------------------------------------------------
// Events received by the scheduler

/** Commands from the facade. A `requestId` is answered by exactly one `scheduler.reply`. */
export type SchedulerCommand =
  | ({ type: 'scheduler.addPiece'; sector?: number } & PieceRequest)
  | { type: 'scheduler.startPacking'; requestId: string; sector: number }
  | { type: 'scheduler.request.cancel'; requestId: string };

/** Facts and requests from sector actors. */
export type SchedulerSectorEvent =
  | { type: 'scheduler.task.request'; task: TaskRequest }
  | { type: 'scheduler.sector.changed'; summary: SectorSummary }
  | { type: 'scheduler.piece.added'; requestId: string; sector: number; piece: PieceRecord }
  | { type: 'scheduler.piece.failed'; requestId: string; sector: number; error: WireError };

/**
 * Results of tasks. The local pool's promise actors produce them from their done/error events;
 * a remote worker (later) would send them as Lotus's Return* callbacks do.
 */
export type SchedulerTaskEvent =
  | { type: 'scheduler.task.done'; taskId: string; output: AddPieceOutput }
  | { type: 'scheduler.task.failed'; taskId: string; error: WireError };

export type SchedulerEvent = SchedulerCommand | SchedulerSectorEvent | SchedulerTaskEvent;

/** Emitted by the scheduler (listen with `actor.on('scheduler.reply', …)`): the answer to a command. */
export type SchedulerReply =
  | { type: 'scheduler.reply'; requestId: string; ok: true; value: ReplyValue }
  | { type: 'scheduler.reply'; requestId: string; ok: false; error: WireError };

/** The value of a successful reply. */
export type ReplyValue =
  | { kind: 'piece.added'; sector: number; piece: PieceRecord }
  | { kind: 'packing.requested'; sector: number };

// ---------------------------------------------------------------------------------------------
// Events received by the index actor

/** The stores the index actor owns, by name. */
export type IndexActorStoreName = 'storage' | 'sectors';

export type IndexEvent =
  /** A proxied method call; answered through the caller's pending-call table by `callId`. */
  | { type: 'index.call'; callId: number; store: IndexActorStoreName; method: string; args: unknown[] }
  /** Resolves `callId` once every event received before it has been committed. */
  | { type: 'index.barrier'; callId: number }
  /**
   * Write of a sector record (from the sector actor itself). With `replyTo`, the index answers
   * `saveId` with a {@link SectorSaveReply} after the commit. `replyTo` is the one ref in the
   * protocol: the inspection log records it as `{ $actor: sessionId }`, and a remote transport
   * would carry the sector's address instead.
   */
  | { type: 'index.sector.save'; record: SectorRecordDraft; saveId?: number; replyTo?: ActorRef<Snapshot<unknown>, SectorSaveReply> };

// ---------------------------------------------------------------------------------------------
// The system

/** Ref to the index actor. */
export type IndexRef = ActorRef<Snapshot<unknown>, IndexEvent>;
/** Ref to the scheduler (root) actor. */
export type SchedulerRef = ActorRef<Snapshot<unknown>, SchedulerEvent, SchedulerReply>;

/** The actor system, typed for `system.get(SystemId.x)`. */
export type DaemonSystem = ActorSystem<{ actors: { scheduler: SchedulerRef; index: IndexRef } }>;
