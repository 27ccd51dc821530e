/**
 * One sector: the deal-filling part of Lotus's sealing state machine (sector-storage.md §7).
 *
 *   Lotus event                 here
 *   SectorStart                 (spawned without a record)
 *   SectorAddPiece              sector.addPiece
 *   SectorPieceAdded            sector.task.done of the deal piece's AddPiece task
 *   SectorAddPieceFailed        sector.task.failed (not caused by the client's input)
 *   SectorStartPacking          sector.startPacking (ignorable where not expected, as in Lotus)
 *   SectorPacked                computeCommD done after the last filler
 *
 * The machine is pure: the only I/O is by named actors (`computeCommD`) bound in actors/ with
 * `provide()`, by tasks the scheduler runs on its behalf (`scheduler.task.request` → `sector.task.*`),
 * and by `index.sector.save` requests to the index actor, each answered (by `saveId`, to `replyTo`)
 * once committed. Alignment padding before each piece
 * (GetRequiredPadding) is the sector's job: it asks for one zero AddPiece per padding piece, then
 * the deal piece.
 *
 * Restoration: `spawn` cannot take a snapshot, so a sector is spawned with its persisted record as
 * input and the `restoring` state routes it with guarded `always` transitions. Transient states
 * reset as dagstore's Start() does: an AddPiece interrupted by a crash goes back to WaitDeals and
 * its partial piece is not counted (its bytes, and even its allocation if the write finished
 * before the record was committed, sit past the last recorded piece; the pool task frees that
 * range before the next piece is written there); a Packing sector re-enters Packing and
 * recomputes its remaining fillers from the recorded pieces, so packing is idempotent.
 *
 * A deal piece is reported added only once the index confirmed the record holding it (Lotus's
 * SectorPieceAdded is applied through the persisted state). If that save fails, the sector rolls its
 * pieces back to the last record the index confirmed and fails the request with the save's error,
 * rather than going to AddPieceFailed: the sector's data is not at fault, its unrecorded bytes are
 * exactly what a crash during AddPiece leaves (and the next AddPiece frees them, see restoration
 * below), and AddPieceFailed would itself need a write to the store that just failed — memory would
 * again disagree with the database. Rolled back, memory equals what a restart would restore.
 *
 * GetTicket is where the next issues continue (PreCommit1, PreCommit2, … as in §7.2); here it has
 * no handler and the sector rests there with its CommD known.
 */
import { and, assertEvent, assign, enqueueActions, fromPromise, sendParent, setup } from 'xstate';
import type { ErrorCode, WireError } from '../src/errors.js';
import { sealProofInfo } from '../src/sector/proofs.js';
import { isValidPaddedSize } from '../src/sector/sizes.js';
import type {
  PieceRecord,
  SectorErrorRecord,
  SectorRecordDraft,
  SectorStateName,
} from '../src/db/sector-store.js';
import type {
  AddPieceTask,
  DaemonSystem,
  PieceRequest,
  PieceSource,
  SchedulerSectorEvent,
  SectorEvent,
  SectorSummary,
} from './protocol.js';
import { fillerPieces, requiredPadding } from '../src/piece/alignment.js';
import { piecesEnd, placePiece, reservedEnd } from './sector-space.js';

/** Construction data: a new sector, or one restored from its persisted record. */
export interface SectorInput {
  miner: number;
  number: number;
  proofType: number;
  /** The persisted record to restore from (absent for a new sector). */
  record?: SectorRecordDraft;
}

/** One AddPiece to do: a zero piece (padding, filler) or the active deal piece. */
export interface SectorStep {
  pieceSize: number;
  payloadSize: number;
  source: PieceSource;
}

/** Sector context. The first group is persisted (see SectorRecord); the rest is transient. */
export interface SectorContext {
  miner: number;
  number: number;
  proofType: number;
  /** Padded sector size, from the proof. */
  sectorSize: number;
  state: SectorStateName;
  pieces: PieceRecord[];
  packingRequested: boolean;
  commD?: string;
  error?: SectorErrorRecord;
  // ---- transient: lost on restart, on purpose
  /** Accepted deal pieces waiting their turn (Lotus's pending pieces). */
  queue: PieceRequest[];
  /** The deal piece being added, and whether its client cancelled it. */
  active?: PieceRequest & { cancelled: boolean };
  /** AddPieces still to do in this state, in order; `steps[0]` is in flight as `taskId`. */
  steps: SectorStep[];
  taskId?: string;
  taskSeq: number;
  /** JSON of the last record written, to skip writes that change nothing. */
  savedKey: string;
  /** The last record the index confirmed durable (the restored record at start). */
  persisted?: SectorRecordDraft;
  /** Records sent to the index and not answered yet, oldest first (answers come in order). */
  saving: { saveId: number; record: SectorRecordDraft }[];
  saveSeq: number;
  /** The save whose confirmation the active deal piece's reply waits for. */
  replyAfterSave?: number;
}

/** Output of the `computeCommD` actor: the unsealed sector CID. */
export interface CommDInput {
  proofType: number;
  pieces: { pieceCid: string; paddedSize: number }[];
}

/** Error codes that blame the client's input, not the sector: the piece is dropped, the sector goes on. */
const INPUT_ERRORS: readonly ErrorCode[] = [
  'ABORTED',
  'EMPTY_PAYLOAD',
  'PAYLOAD_TOO_LARGE',
  'PAYLOAD_TOO_SMALL',
  'CAR_INVALID',
  // the pool task reports any failure of the client's byte stream as FILE_UNREADABLE
  'FILE_UNREADABLE',
  // the client went silent for the upload idle timeout
  'UPLOAD_STALLED',
];

/** The record a context persists as. */
export function recordOf(c: SectorContext): SectorRecordDraft {
  const r: SectorRecordDraft = {
    v: 1,
    miner: c.miner,
    number: c.number,
    proofType: c.proofType,
    state: c.state,
    pieces: c.pieces,
    packingRequested: c.packingRequested,
  };
  if (c.commD !== undefined) r.commD = c.commD;
  if (c.error !== undefined) r.error = c.error;
  return r;
}

/** Padded end of everything committed, in flight and queued. */
function reserved(c: SectorContext): number {
  const committed = piecesEnd(c.pieces);
  const inFlight = c.steps.reduce((end, s) => end + s.pieceSize, committed);
  return reservedEnd(inFlight, c.queue);
}

function accepting(c: SectorContext): boolean {
  return (c.state === 'WaitDeals' || c.state === 'AddPiece' || c.state === 'Empty') && !c.packingRequested;
}

/** What the scheduler needs for placement. */
export function summaryOf(c: SectorContext): SectorSummary {
  return { number: c.number, state: c.state, sectorSize: c.sectorSize, reservedEnd: reserved(c), accepting: accepting(c) };
}

function toErrorRecord(e: WireError): SectorErrorRecord {
  return { code: e.code, message: e.message };
}

export const sectorMachine = setup({
  types: {} as {
    context: SectorContext;
    events: SectorEvent;
    input: SectorInput;
  },
  actors: {
    /** GenerateUnsealedCID over the sector's pieces (bound in actors/system.ts). */
    computeCommD: fromPromise<string, CommDInput>(async () => {
      throw new Error('computeCommD is not provided');
    }),
  },
  guards: {
    /** The persisted state the sector was restored with is one of `states`. */
    restoredIn: ({ context }, params: { states: readonly SectorStateName[] }) => params.states.includes(context.state),
    hasQueued: ({ context }) => context.queue.length > 0,
    /** Packing was asked for, or nothing more fits. */
    packingDue: ({ context }) => context.packingRequested || reserved(context) >= context.sectorSize,
    acceptingPieces: ({ context }) => accepting(context),
    fits: ({ context, event }) => {
      assertEvent(event, 'sector.addPiece');
      if (!isValidPaddedSize(event.pieceSize)) return false;
      return placePiece(reserved(context), event.pieceSize).end <= context.sectorSize;
    },
    isCurrentTask: ({ context, event }) => {
      assertEvent(event, ['sector.task.done', 'sector.task.failed']);
      return event.taskId === context.taskId;
    },
    moreSteps: ({ context }) => context.steps.length > 1,
    activeCancelled: ({ context }) => context.active?.cancelled === true,
    noSteps: ({ context }) => context.steps.length === 0,
    isAwaitedSave: ({ context, event }) => {
      assertEvent(event, ['sector.save.done', 'sector.save.failed']);
      return event.saveId === context.replyAfterSave;
    },
    isActiveRequest: ({ context, event }) => {
      assertEvent(event, 'sector.request.cancel');
      return context.active?.requestId === event.requestId;
    },
    isInputError: ({ context, event }) => {
      assertEvent(event, 'sector.task.failed');
      // only the deal piece's own task reads client bytes
      return context.steps.length === 1 && context.active !== undefined && INPUT_ERRORS.includes(event.error.code);
    },
  },
  actions: {
    setState: assign((_, params: { state: SectorStateName }) => ({ state: params.state })),
    /**
     * Writes the record if a persisted field changed, then tells the scheduler the new summary.
     * With `awaitReply`, the record is written even if unchanged and the active deal piece's reply
     * waits for its confirmation (`replyAfterSave`).
     */
    persist: enqueueActions(({ context, enqueue, self }, params?: { awaitReply: boolean }) => {
      const record = recordOf(context);
      const key = JSON.stringify(record);
      if (key !== context.savedKey || params?.awaitReply) {
        const saveId = context.saveSeq;
        enqueue.sendTo(
          ({ system }) => {
            const index = (system as DaemonSystem).get('index');
            // a missing index must fail loudly: sendTo(undefined) would deliver to self and lose the write
            if (!index) throw new Error(`sector ${context.number}: no index actor in the system`);
            return index;
          },
          { type: 'index.sector.save', record, saveId, replyTo: self },
        );
        enqueue.assign({
          savedKey: key,
          saveSeq: saveId + 1,
          saving: [...context.saving, { saveId, record }],
          ...(params?.awaitReply ? { replyAfterSave: saveId } : {}),
        });
      }
      enqueue.sendParent({ type: 'scheduler.sector.changed', summary: summaryOf(context) } satisfies SchedulerSectorEvent);
    }),
    /** The index committed a save: its record (and every earlier answered one) is durable. */
    confirmSave: assign(({ context, event }) => {
      assertEvent(event, 'sector.save.done');
      const done = context.saving.find((s) => s.saveId === event.saveId);
      return {
        saving: context.saving.filter((s) => s.saveId > event.saveId),
        ...(done ? { persisted: done.record } : {}),
      };
    }),
    /**
     * A save failed (its error already went to the index's error log): forget it, and make the
     * next persist write again even if nothing changes, since the last write did not land.
     */
    forgetSave: assign(({ context, event }) => {
      assertEvent(event, 'sector.save.failed');
      return {
        saving: context.saving.filter((s) => s.saveId > event.saveId),
        savedKey: context.persisted ? JSON.stringify(context.persisted) : '',
      };
    }),
    /** Back to the pieces of the last confirmed record (see the header: a failed save keeps no piece). */
    rollBackPieces: assign(({ context }) => ({ pieces: context.persisted?.pieces ?? [], replyAfterSave: undefined })),
    /** Fails the active deal piece with the error of the save that was to record it. */
    replySaveFailed: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'sector.save.failed');
      const piece = context.pieces.at(-1);
      if (!context.active) return;
      enqueue.sendParent({
        type: 'scheduler.piece.failed',
        requestId: context.active.requestId,
        sector: context.number,
        error: {
          code: event.error.code,
          message:
            `piece ${piece?.pieceCid ?? '?'} was written to sector ${context.number} but its sector record could not be saved; ` +
            `it is not added: ${event.error.message}`,
        },
      } satisfies SchedulerSectorEvent);
      enqueue.assign({ active: undefined });
    }),
    report: sendParent(({ context }) => ({ type: 'scheduler.sector.changed', summary: summaryOf(context) }) satisfies SchedulerSectorEvent),
    enqueueRequest: assign(({ context, event }) => {
      assertEvent(event, 'sector.addPiece');
      const { requestId, pieceSize, payloadSize } = event;
      return { queue: [...context.queue, { requestId, pieceSize, payloadSize }] };
    }),
    /** Turns a request down, then re-reports the summary (the scheduler reserved its space optimistically). */
    rejectRequest: enqueueActions(({ context, event, enqueue }, params: { code: ErrorCode }) => {
      assertEvent(event, 'sector.addPiece');
      const message =
        params.code === 'PIECE_DOES_NOT_FIT'
          ? `piece of ${event.pieceSize} padded bytes does not fit in sector ${context.number}: ` +
            `${context.sectorSize - reserved(context)} padded bytes left before alignment`
          : `sector ${context.number} is in state ${context.state}${context.packingRequested ? ' (packing requested)' : ''} and takes no pieces`;
      enqueue.sendParent({
        type: 'scheduler.piece.failed',
        requestId: event.requestId,
        sector: context.number,
        error: { code: params.code, message },
      } satisfies SchedulerSectorEvent);
      enqueue.sendParent({ type: 'scheduler.sector.changed', summary: summaryOf(context) } satisfies SchedulerSectorEvent);
    }),
    /** Fails every queued request (the sector can no longer take them). */
    rejectQueued: enqueueActions(({ context, enqueue }) => {
      for (const r of context.queue) {
        enqueue.sendParent({
          type: 'scheduler.piece.failed',
          requestId: r.requestId,
          sector: context.number,
          error: { code: 'SECTOR_STATE_INVALID', message: `sector ${context.number} failed before this piece was added` },
        } satisfies SchedulerSectorEvent);
      }
      enqueue.assign({ queue: [] });
    }),
    dropQueued: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'sector.request.cancel');
      if (!context.queue.some((r) => r.requestId === event.requestId)) return;
      enqueue.assign({ queue: context.queue.filter((r) => r.requestId !== event.requestId) });
      enqueue.sendParent({
        type: 'scheduler.piece.failed',
        requestId: event.requestId,
        sector: context.number,
        error: { code: 'ABORTED', message: `piece request ${event.requestId} cancelled before it started` },
      } satisfies SchedulerSectorEvent);
    }),
    markActiveCancelled: assign(({ context }) => (context.active ? { active: { ...context.active, cancelled: true } } : {})),
    markPackingRequested: assign({ packingRequested: true }),
    /** Takes the next queued request: padding zero pieces first, then the deal piece. */
    startNextPiece: assign(({ context }) => {
      const [next, ...rest] = context.queue;
      if (!next) return {};
      const padding = requiredPadding(piecesEnd(context.pieces), next.pieceSize).pieces;
      const steps: SectorStep[] = [
        ...padding.map((size) => ({ pieceSize: size, payloadSize: 0, source: { type: 'zeros' } as const })),
        { pieceSize: next.pieceSize, payloadSize: next.payloadSize, source: { type: 'request', requestId: next.requestId } },
      ];
      return { queue: rest, active: { ...next, cancelled: false }, steps };
    }),
    planFillers: assign(({ context }) => ({
      steps: fillerPieces(piecesEnd(context.pieces), context.sectorSize).map((size) => ({
        pieceSize: size,
        payloadSize: 0,
        source: { type: 'zeros' } as const,
      })),
    })),
    /** Asks the scheduler to run the first step as an AddPiece task. */
    requestStep: enqueueActions(({ context, enqueue }) => {
      const step = context.steps[0];
      if (!step) return;
      const id = `${context.number}-${context.taskSeq}`;
      const task: AddPieceTask = {
        id,
        kind: 'addPiece',
        sector: { miner: context.miner, number: context.number },
        proofType: context.proofType,
        paddedOffset: piecesEnd(context.pieces),
        pieceSize: step.pieceSize,
        payloadSize: step.payloadSize,
        source: step.source,
      };
      enqueue.assign({ taskId: id, taskSeq: context.taskSeq + 1 });
      enqueue.sendParent({ type: 'scheduler.task.request', task } satisfies SchedulerSectorEvent);
    }),
    /** Commits the finished step as a piece. */
    recordStep: assign(({ context, event }) => {
      assertEvent(event, 'sector.task.done');
      const [step, ...rest] = context.steps;
      if (!step) return {};
      const piece: PieceRecord = {
        pieceCid: event.output.pieceCid,
        paddedOffset: piecesEnd(context.pieces),
        paddedSize: event.output.paddedSize,
        payloadSize: step.source.type === 'zeros' ? 0 : event.output.payloadSize,
        filler: step.source.type === 'zeros',
      };
      if (step.source.type === 'request') piece.pieceCidV2 = event.output.pieceCidV2;
      return { pieces: [...context.pieces, piece], steps: rest, taskId: undefined };
    }),
    replyAdded: enqueueActions(({ context, enqueue }) => {
      const piece = context.pieces.at(-1);
      if (!context.active || !piece) return;
      enqueue.sendParent({
        type: 'scheduler.piece.added',
        requestId: context.active.requestId,
        sector: context.number,
        piece,
      } satisfies SchedulerSectorEvent);
      enqueue.assign({ active: undefined, replyAfterSave: undefined });
    }),
    replyFailed: enqueueActions(({ context, event, enqueue }, params: { error?: WireError }) => {
      if (!context.active) return;
      const error =
        params.error ??
        (event.type === 'sector.task.failed'
          ? event.error
          : { code: 'INTERNAL' as const, message: `sector ${context.number}: AddPiece ended unexpectedly` });
      enqueue.sendParent({
        type: 'scheduler.piece.failed',
        requestId: context.active.requestId,
        sector: context.number,
        error,
      } satisfies SchedulerSectorEvent);
      enqueue.assign({ active: undefined, steps: [], taskId: undefined });
    }),
    storeTaskError: assign(({ event }) => {
      assertEvent(event, 'sector.task.failed');
      return { error: toErrorRecord(event.error), steps: [], taskId: undefined };
    }),
  },
}).createMachine({
  id: 'sector',
  context: ({ input }) => {
    const sectorSize = sealProofInfo(input.proofType).sectorSize;
    const r = input.record;
    const base: SectorContext = {
      miner: input.miner,
      number: input.number,
      proofType: input.proofType,
      sectorSize,
      state: r?.state ?? 'WaitDeals',
      pieces: r?.pieces ?? [],
      packingRequested: r?.packingRequested ?? false,
      queue: [],
      steps: [],
      taskSeq: 0,
      savedKey: '',
      saving: [],
      saveSeq: 0,
    };
    if (r?.commD !== undefined) base.commD = r.commD;
    if (r?.error !== undefined) base.error = r.error;
    if (r) {
      base.persisted = recordOf(base);
      base.savedKey = JSON.stringify(base.persisted);
    }
    return base;
  },
  initial: 'restoring',
  // Fallbacks for states that do not handle these themselves.
  on: {
    'sector.addPiece': { actions: { type: 'rejectRequest', params: { code: 'SECTOR_STATE_INVALID' } } },
    'sector.request.cancel': { actions: 'dropQueued' },
    'sector.save.done': { actions: 'confirmSave' },
    'sector.save.failed': { actions: 'forgetSave' },
    // SectorStartPacking is "ignorable" in Lotus: silently dropped where not expected
  },
  states: {
    /**
     * Lotus's UndefinedSectorState: routes a spawned sector to the state of its record. Interrupted
     * transient states reset here (AddPiece → WaitDeals through `routing`).
     */
    restoring: {
      always: [
        { guard: { type: 'restoredIn', params: { states: ['GetTicket'] } }, target: 'GetTicket' },
        { guard: { type: 'restoredIn', params: { states: ['Packing'] } }, target: 'Packing' },
        { guard: { type: 'restoredIn', params: { states: ['AddPieceFailed'] } }, target: 'AddPieceFailed' },
        { guard: { type: 'restoredIn', params: { states: ['PackingFailed'] } }, target: 'PackingFailed' },
        // Empty, WaitDeals, AddPiece and new sectors
        { target: 'routing' },
      ],
    },
    /** Not a Lotus state: picks what comes after WaitDeals/AddPiece (next queued piece, packing, or waiting). */
    routing: {
      always: [
        { guard: 'hasQueued', target: 'AddPiece' },
        { guard: 'packingDue', target: 'Packing' },
        { target: 'WaitDeals' },
      ],
    },
    /**
     * Open for deals. A piece that fits (after its alignment padding) is accepted and the sector
     * moves to AddPiece; `sector.startPacking` moves it to Packing.
     */
    WaitDeals: {
      entry: [{ type: 'setState', params: { state: 'WaitDeals' } }, 'persist'],
      on: {
        'sector.addPiece': [
          { guard: and(['acceptingPieces', 'fits']), actions: 'enqueueRequest', target: 'AddPiece' },
          { guard: 'acceptingPieces', actions: { type: 'rejectRequest', params: { code: 'PIECE_DOES_NOT_FIT' } } },
          { actions: { type: 'rejectRequest', params: { code: 'SECTOR_STATE_INVALID' } } },
        ],
        'sector.startPacking': { actions: 'markPackingRequested', target: 'Packing' },
      },
    },
    /**
     * Writing one deal piece: its padding zero pieces, then the piece itself, each as an AddPiece
     * task run by the scheduler and committed as it finishes; the sector leaves AddPiece when the
     * index answers the save of the record holding the deal piece. Further pieces that fit queue up
     * (Lotus applies SectorAddPiece here without a state change); `sector.startPacking` is noted
     * and acted on when the queue drains.
     */
    AddPiece: {
      entry: [{ type: 'setState', params: { state: 'AddPiece' } }, 'startNextPiece', 'persist', 'requestStep'],
      on: {
        'sector.task.done': [
          {
            // the client cancelled while padding was being written: keep the padding, drop the piece
            guard: and(['isCurrentTask', 'moreSteps', 'activeCancelled']),
            actions: [
              'recordStep',
              'persist',
              { type: 'replyFailed', params: { error: { code: 'ABORTED', message: 'piece cancelled by the client' } } },
            ],
            target: 'routing',
          },
          { guard: and(['isCurrentTask', 'moreSteps']), actions: ['recordStep', 'persist', 'requestStep'] },
          // the deal piece: reported added once the record holding it is committed (below)
          { guard: 'isCurrentTask', actions: ['recordStep', { type: 'persist', params: { awaitReply: true } }] },
        ],
        'sector.save.done': [
          { guard: 'isAwaitedSave', actions: ['confirmSave', 'replyAdded'], target: 'routing' },
          { actions: 'confirmSave' },
        ],
        'sector.save.failed': [
          { guard: 'isAwaitedSave', actions: ['replySaveFailed', 'forgetSave', 'rollBackPieces'], target: 'routing' },
          { actions: 'forgetSave' },
        ],
        'sector.task.failed': [
          { guard: and(['isCurrentTask', 'isInputError']), actions: { type: 'replyFailed', params: {} }, target: 'routing' },
          {
            guard: 'isCurrentTask',
            actions: [{ type: 'replyFailed', params: {} }, 'storeTaskError', 'rejectQueued'],
            target: 'AddPieceFailed',
          },
        ],
        'sector.addPiece': [
          { guard: and(['acceptingPieces', 'fits']), actions: ['enqueueRequest', 'report'] },
          { guard: 'acceptingPieces', actions: { type: 'rejectRequest', params: { code: 'PIECE_DOES_NOT_FIT' } } },
          { actions: { type: 'rejectRequest', params: { code: 'SECTOR_STATE_INVALID' } } },
        ],
        'sector.startPacking': { actions: ['markPackingRequested', 'persist'] },
        'sector.request.cancel': [
          { guard: 'isActiveRequest', actions: 'markActiveCancelled' },
          { actions: ['dropQueued', 'report'] },
        ],
      },
    },
    /**
     * Filling the rest of the sector with filler pieces (one per set bit of the free space,
     * smallest first), then computing CommD over all pieces. Takes no more deals.
     */
    Packing: {
      entry: [{ type: 'setState', params: { state: 'Packing' } }, 'markPackingRequested', 'persist'],
      initial: 'filling',
      states: {
        filling: {
          entry: ['planFillers', 'requestStep'],
          always: { guard: 'noSteps', target: 'committing' },
          on: {
            'sector.task.done': [
              { guard: and(['isCurrentTask', 'moreSteps']), actions: ['recordStep', 'persist', 'requestStep'] },
              { guard: 'isCurrentTask', actions: ['recordStep', 'persist'], target: 'committing' },
            ],
            'sector.task.failed': { guard: 'isCurrentTask', actions: 'storeTaskError', target: '#sector.PackingFailed' },
          },
        },
        committing: {
          invoke: {
            src: 'computeCommD',
            input: ({ context }) => ({
              proofType: context.proofType,
              pieces: context.pieces.map((p) => ({ pieceCid: p.pieceCid, paddedSize: p.paddedSize })),
            }),
            onDone: { actions: assign({ commD: ({ event }) => event.output }), target: '#sector.GetTicket' },
            onError: {
              actions: assign({
                error: ({ event }) => ({
                  code: 'INTERNAL' as const,
                  message: `CommD failed: ${event.error instanceof Error ? event.error.message : String(event.error)}`,
                }),
              }),
              target: '#sector.PackingFailed',
            },
          },
        },
      },
    },
    /**
     * Packed, CommD known. PreCommit1 starts from here in the next issues (SectorTicket → PreCommit1);
     * until then the sector rests here.
     */
    GetTicket: {
      entry: [{ type: 'setState', params: { state: 'GetTicket' } }, 'persist'],
    },
    /** An AddPiece failed for a reason other than the client's input. No automatic recovery (as Lotus). */
    AddPieceFailed: {
      entry: [{ type: 'setState', params: { state: 'AddPieceFailed' } }, 'persist'],
    },
    /** A filler AddPiece or CommD failed. Lotus treats it as deprecated/DealsExpired; kept for inspection. */
    PackingFailed: {
      entry: [{ type: 'setState', params: { state: 'PackingFailed' } }, 'persist'],
    },
  },
});

export type SectorMachine = typeof sectorMachine;
