/**
 * The scheduler: root of the actor system (`systemId: 'scheduler'`). It
 * - invokes the index actor (`systemId: 'index'`, the single SQLite writer);
 * - spawns one sector actor per sector (`sector:<n>`), restored from the persisted records it is
 *   started with, and creates new sectors when no open sector has room for a piece;
 * - places deal pieces (explicit sector, or the lowest-numbered open sector with room) and relays
 *   each outcome to the facade as one emitted `scheduler.reply`;
 * - runs the tasks sectors ask for on the pool through the named promise actor `poolTask`
 *   (`task:<id>`), with admission control: at most `maxTasks` (the pool's thread count) in flight,
 *   the rest queued in arrival order.
 *
 * How the later issues fit without a rewrite:
 * - Request queue with priorities (§3.3): `enqueueTask` is the only place that orders `queue`;
 *   it becomes a sorted insert by (priority, task type, sector number, arrival).
 * - Workers and resource windows (§3.5–3.6): `dispatch` is the only place that admits tasks; the
 *   single `maxTasks` window becomes per-worker windows of resources (trySched), and `running`
 *   records which worker holds each task.
 * - Remote workers: a task's result arrives as `scheduler.task.done/failed`, whether from a local
 *   `poolTask` promise actor (translated from its done/error event below) or from a remote
 *   worker's return call (Lotus's Return* callbacks); `poolTask` is swapped with `provide()`.
 * - Call tracker (§2.5): around `dispatch` and `finishTask`, the scheduler sends `index.*` writes
 *   for the task's WorkID (kind + JSON of its input) — started before spawning, running once a
 *   worker took it, done with the result — and on restart a sector re-requesting the same work
 *   gets the same WorkID and is re-attached instead of re-run. Tasks already carry everything
 *   their WorkID is computed from, and sectors already re-drive their state on restore.
 */
import { assertEvent, enqueueActions, fromCallback, fromPromise, raise, setup } from 'xstate';
import type { DoneActorEvent, ErrorActorEvent } from 'xstate';
import { toWireError, type ErrorCode, type WireError } from '../src/errors.js';
import { sealProofInfo } from '../src/sector/proofs.js';
import { paddedSizeError } from '../src/sector/sizes.js';
import type { SectorRecordDraft } from '../src/db/sector-store.js';
import {
  type AddPieceOutput,
  type IndexEvent,
  type PieceRequest,
  type SchedulerEvent,
  type SchedulerReply,
  type SectorEvent,
  type SectorSummary,
  type TaskRequest,
  sectorChildId,
  taskChildId,
} from './protocol.js';
import { sectorMachine } from './sector.machine.js';
import { piecesEnd, placePiece } from './sector-space.js';

/** Construction data of the scheduler. */
export interface SchedulerInput {
  miner: number;
  /** Seal proof of new sectors. */
  proofType: number;
  /** At most this many tasks in flight: the pool's thread count. */
  maxTasks: number;
  /** Persisted records of this miner's sectors, restored as sector actors at start. */
  records: SectorRecordDraft[];
  /** Number of the next new sector. */
  nextNumber: number;
}

/** A facade request the scheduler still owes a reply. */
export interface PendingRequest {
  request: PieceRequest;
  sector: number;
  /** The client named the sector; otherwise the scheduler placed the piece and may re-place it. */
  explicit: boolean;
  attempts: number;
}

export interface SchedulerContext {
  miner: number;
  proofType: number;
  maxTasks: number;
  nextNumber: number;
  /** Records still to restore (emptied once their actors are spawned). */
  restore: SectorRecordDraft[];
  /** What each sector last reported, by number. */
  sectors: Record<string, SectorSummary>;
  requests: Record<string, PendingRequest>;
  /** Tasks waiting for a slot, in admission order. */
  queue: TaskRequest[];
  /** Tasks in flight, by task id. */
  running: Record<string, TaskRequest>;
  /** Why the index actor stopped, once it has. */
  indexError?: WireError;
}

type SchedulerInternalEvent =
  | DoneActorEvent<AddPieceOutput, string>
  | ErrorActorEvent<unknown, string>;

const DONE_PREFIX = 'xstate.done.actor.';
const ERROR_PREFIX = 'xstate.error.actor.';
/** How many times an auto-placed piece is re-placed after a sector turned it down. */
const MAX_PLACEMENTS = 4;

function childIdOf(eventType: string): string {
  return eventType.startsWith(DONE_PREFIX) ? eventType.slice(DONE_PREFIX.length) : eventType.slice(ERROR_PREFIX.length);
}

function failure(code: ErrorCode, message: string): WireError {
  return { code, message };
}

/** The lowest-numbered accepting sector where the piece fits, if any. */
function findSector(sectors: Record<string, SectorSummary>, pieceSize: number): SectorSummary | undefined {
  return Object.values(sectors)
    .filter((s) => s.accepting && placePiece(s.reservedEnd, pieceSize).end <= s.sectorSize)
    .sort((a, b) => a.number - b.number)[0];
}

export const schedulerMachine = setup({
  types: {} as {
    context: SchedulerContext;
    events: SchedulerEvent | SchedulerInternalEvent;
    input: SchedulerInput;
    emitted: SchedulerReply;
  },
  actors: {
    /** The index actor (bound in actors/index.actor.ts). */
    index: fromCallback<IndexEvent>(() => {
      throw new Error('index actor is not provided');
    }),
    sector: sectorMachine,
    /** Runs one task on the pool (bound in actors/pool-task.actor.ts); aborted when stopped. */
    poolTask: fromPromise<AddPieceOutput, TaskRequest>(async () => {
      throw new Error('poolTask is not provided');
    }),
  },
  guards: {
    isTaskChild: ({ event }) => childIdOf(event.type).startsWith('task:'),
    isSectorChild: ({ event }) => childIdOf(event.type).startsWith('sector:'),
    /** An auto-placed piece turned down for lack of room or state: try another sector. */
    canReplace: ({ context, event }) => {
      assertEvent(event, 'scheduler.piece.failed');
      const pending = context.requests[event.requestId];
      return (
        pending !== undefined &&
        !pending.explicit &&
        pending.attempts < MAX_PLACEMENTS &&
        (event.error.code === 'PIECE_DOES_NOT_FIT' || event.error.code === 'SECTOR_STATE_INVALID')
      );
    },
  },
  actions: {
    /** Spawns one actor per persisted record (the records route themselves to their state). */
    restoreSectors: enqueueActions(({ context, enqueue }) => {
      const sectors = { ...context.sectors };
      for (const record of context.restore) {
        enqueue.spawnChild('sector', {
          id: sectorChildId(record.number),
          input: { miner: record.miner, number: record.number, proofType: record.proofType, record },
        });
        const state = record.state === 'AddPiece' || record.state === 'Empty' ? 'WaitDeals' : record.state;
        sectors[record.number] = {
          number: record.number,
          state,
          sectorSize: sealProofInfo(record.proofType).sectorSize,
          reservedEnd: piecesEnd(record.pieces),
          accepting: state === 'WaitDeals' && !record.packingRequested,
        };
      }
      enqueue.assign({ restore: [], sectors });
    }),
    /** Places a deal piece and forwards it to its sector, creating a sector when none has room. */
    placePiece: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'scheduler.addPiece');
      const { requestId, pieceSize, payloadSize } = event;
      const reply = (error: WireError) => enqueue.emit({ type: 'scheduler.reply', requestId, ok: false, error });
      const badSize = paddedSizeError(pieceSize, 'piece size');
      if (badSize) return reply(toWireError(badSize));
      let target: SectorSummary | undefined;
      if (event.sector !== undefined) {
        target = context.sectors[event.sector];
        if (!target) return reply(failure('SECTOR_UNKNOWN', `sector ${event.sector} does not exist`));
        if (!target.accepting) {
          return reply(failure('SECTOR_STATE_INVALID', `sector ${event.sector} is in state ${target.state} and takes no pieces`));
        }
        const free = target.sectorSize - target.reservedEnd;
        if (placePiece(target.reservedEnd, pieceSize).end > target.sectorSize) {
          return reply(
            failure(
              'PIECE_DOES_NOT_FIT',
              `piece of ${pieceSize} padded bytes does not fit in sector ${event.sector}: ${free} padded bytes left before alignment`,
            ),
          );
        }
      } else {
        target = findSector(context.sectors, pieceSize);
      }
      let nextNumber = context.nextNumber;
      if (!target) {
        const number = nextNumber++;
        target = {
          number,
          state: 'WaitDeals',
          sectorSize: sealProofInfo(context.proofType).sectorSize,
          reservedEnd: 0,
          accepting: true,
        };
        enqueue.spawnChild('sector', {
          id: sectorChildId(number),
          input: { miner: context.miner, number, proofType: context.proofType },
        });
      }
      const previous = context.requests[requestId];
      enqueue.assign({
        nextNumber,
        // optimistic until the sector reports; the sector's own fit check is authoritative
        sectors: { ...context.sectors, [target.number]: { ...target, reservedEnd: placePiece(target.reservedEnd, pieceSize).end } },
        requests: {
          ...context.requests,
          [requestId]: {
            request: { requestId, pieceSize, payloadSize },
            sector: target.number,
            explicit: event.sector !== undefined,
            attempts: (previous?.attempts ?? 0) + 1,
          },
        },
      });
      enqueue.sendTo(sectorChildId(target.number), { type: 'sector.addPiece', requestId, pieceSize, payloadSize } satisfies SectorEvent);
    }),
    startPacking: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'scheduler.startPacking');
      const { requestId, sector } = event;
      const s = context.sectors[sector];
      if (!s) {
        enqueue.emit({ type: 'scheduler.reply', requestId, ok: false, error: failure('SECTOR_UNKNOWN', `sector ${sector} does not exist`) });
        return;
      }
      if (s.state === 'AddPieceFailed' || s.state === 'PackingFailed') {
        enqueue.emit({
          type: 'scheduler.reply',
          requestId,
          ok: false,
          error: failure('SECTOR_STATE_INVALID', `sector ${sector} is in state ${s.state} and cannot be packed`),
        });
        return;
      }
      enqueue.assign({ sectors: { ...context.sectors, [sector]: { ...s, accepting: false } } });
      enqueue.sendTo(sectorChildId(sector), { type: 'sector.startPacking' } satisfies SectorEvent);
      enqueue.emit({ type: 'scheduler.reply', requestId, ok: true, value: { kind: 'packing.requested', sector } });
    }),
    /** Drops the request's queued task and tells its sector; a running task is aborted by the facade's signal. */
    cancelRequest: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'scheduler.request.cancel');
      const pending = context.requests[event.requestId];
      if (!pending) return;
      const isIt = (t: TaskRequest) => t.source.type === 'request' && t.source.requestId === event.requestId;
      const dropped = context.queue.filter(isIt);
      enqueue.sendTo(sectorChildId(pending.sector), { type: 'sector.request.cancel', requestId: event.requestId } satisfies SectorEvent);
      if (dropped.length === 0) return;
      enqueue.assign({ queue: context.queue.filter((t) => !isIt(t)) });
      for (const t of dropped) {
        enqueue.sendTo(sectorChildId(t.sector.number), {
          type: 'sector.task.failed',
          taskId: t.id,
          error: failure('ABORTED', `piece request ${event.requestId} cancelled while queued`),
        } satisfies SectorEvent);
      }
    }),
    /** Appends a task to the queue (FIFO; the priority queue of §3.3 replaces this). */
    enqueueTask: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'scheduler.task.request');
      enqueue.assign({ queue: [...context.queue, event.task] });
    }),
    /** Admission control: starts queued tasks while fewer than `maxTasks` are in flight. */
    dispatch: enqueueActions(({ context, enqueue }) => {
      const free = context.maxTasks - Object.keys(context.running).length;
      if (free <= 0 || context.queue.length === 0) return;
      const starting = context.queue.slice(0, free);
      enqueue.assign({
        queue: context.queue.slice(starting.length),
        running: { ...context.running, ...Object.fromEntries(starting.map((t) => [t.id, t])) },
      });
      for (const task of starting) enqueue.spawnChild('poolTask', { id: taskChildId(task.id), input: task });
    }),
    /** Relays a task's result to its sector and frees its slot. */
    finishTask: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, ['scheduler.task.done', 'scheduler.task.failed']);
      const task = context.running[event.taskId];
      if (!task) return; // a stale result (cancelled or from before a restart)
      const { [event.taskId]: _, ...running } = context.running;
      enqueue.assign({ running });
      const to = sectorChildId(task.sector.number);
      if (event.type === 'scheduler.task.done') {
        enqueue.sendTo(to, { type: 'sector.task.done', taskId: event.taskId, output: event.output } satisfies SectorEvent);
      } else {
        enqueue.sendTo(to, { type: 'sector.task.failed', taskId: event.taskId, error: event.error } satisfies SectorEvent);
      }
    }),
    updateSummary: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'scheduler.sector.changed');
      enqueue.assign({ sectors: { ...context.sectors, [event.summary.number]: event.summary } });
    }),
    replyAdded: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'scheduler.piece.added');
      const { [event.requestId]: _, ...requests } = context.requests;
      enqueue.assign({ requests });
      enqueue.emit({
        type: 'scheduler.reply',
        requestId: event.requestId,
        ok: true,
        value: { kind: 'piece.added', sector: event.sector, piece: event.piece },
      });
    }),
    replyFailed: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'scheduler.piece.failed');
      const { [event.requestId]: _, ...requests } = context.requests;
      enqueue.assign({ requests });
      enqueue.emit({ type: 'scheduler.reply', requestId: event.requestId, ok: false, error: event.error });
    }),
    /** Tries another sector for a piece its sector turned down. */
    replacePiece: raise(({ context, event }) => {
      assertEvent(event, 'scheduler.piece.failed');
      const pending = context.requests[event.requestId];
      const r = pending?.request ?? { requestId: event.requestId, pieceSize: 0, payloadSize: 0 };
      return { type: 'scheduler.addPiece' as const, ...r };
    }),
    /** A sector actor crashed (a bug): fail what waits on it and stop placing pieces there. */
    sectorCrashed: enqueueActions(({ context, event, enqueue }) => {
      const number = Number(childIdOf(event.type).slice('sector:'.length));
      const error = failure('INTERNAL', `sector ${number} actor failed: ${toWireError((event as ErrorActorEvent).error).message}`);
      const requests = { ...context.requests };
      for (const [id, p] of Object.entries(context.requests)) {
        if (p.sector !== number) continue;
        delete requests[id];
        enqueue.emit({ type: 'scheduler.reply', requestId: id, ok: false, error });
      }
      const s = context.sectors[number];
      enqueue.assign({ requests, sectors: s ? { ...context.sectors, [number]: { ...s, accepting: false } } : context.sectors });
    }),
    /** Refuses a command while the index is down. */
    refuse: enqueueActions(({ context, event, enqueue }) => {
      if (!('requestId' in event) || event.type === 'scheduler.request.cancel') return;
      enqueue.emit({
        type: 'scheduler.reply',
        requestId: event.requestId,
        ok: false,
        error: failure('INTERNAL', `the index actor stopped: ${context.indexError?.message ?? 'unknown error'}`),
      });
    }),
  },
}).createMachine({
  id: 'scheduler',
  context: ({ input }) => ({
    miner: input.miner,
    proofType: input.proofType,
    maxTasks: input.maxTasks,
    nextNumber: input.nextNumber,
    restore: input.records,
    sectors: {},
    requests: {},
    queue: [],
    running: {},
  }),
  // The index is invoked on the root so it exists before `running`'s entry spawns the sectors
  // (entry actions run before a state's own invocations start).
  invoke: {
    id: 'index',
    systemId: 'index',
    src: 'index',
    onError: {
      target: '.indexFailed',
      actions: enqueueActions(({ event, enqueue }) => enqueue.assign({ indexError: toWireError(event.error) })),
    },
  },
  initial: 'running',
  states: {
    /** Normal operation. */
    running: {
      entry: 'restoreSectors',
      on: {
        'scheduler.addPiece': { actions: 'placePiece' },
        'scheduler.startPacking': { actions: 'startPacking' },
        'scheduler.request.cancel': { actions: 'cancelRequest' },
        'scheduler.task.request': { actions: ['enqueueTask', 'dispatch'] },
        'scheduler.task.done': { actions: ['finishTask', 'dispatch'] },
        'scheduler.task.failed': { actions: ['finishTask', 'dispatch'] },
        'scheduler.sector.changed': { actions: 'updateSummary' },
        'scheduler.piece.added': { actions: 'replyAdded' },
        'scheduler.piece.failed': [{ guard: 'canReplace', actions: 'replacePiece' }, { actions: 'replyFailed' }],
        'xstate.done.actor.*': {
          guard: 'isTaskChild',
          actions: raise(({ event }) => ({
            type: 'scheduler.task.done' as const,
            taskId: childIdOf(event.type).slice('task:'.length),
            output: (event as DoneActorEvent<AddPieceOutput>).output,
          })),
        },
        'xstate.error.actor.*': [
          {
            guard: 'isTaskChild',
            actions: raise(({ event }) => ({
              type: 'scheduler.task.failed' as const,
              taskId: childIdOf(event.type).slice('task:'.length),
              error: toWireError((event as ErrorActorEvent).error),
            })),
          },
          { guard: 'isSectorChild', actions: 'sectorCrashed' },
        ],
      },
    },
    /** The index actor failed: nothing can be persisted, so every command is refused. */
    indexFailed: {
      on: {
        'scheduler.*': { actions: 'refuse' },
      },
    },
  },
});

export type SchedulerMachine = typeof schedulerMachine;
