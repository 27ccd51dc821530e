/**
 * The sector machine's shared vocabulary: its types, the named actors it invokes (bound to the
 * world in actors/system.ts with `provide()`), and its guards, actions and delays. The phases
 * (deal-filling.ts, precommit.ts, commit.ts, proving.ts, removal.ts, failures.ts) are state
 * configs written against this setup and assembled in sector.machine.ts.
 *
 * Every transition that applies an event appends a log entry named as Lotus names the event
 * (`event;sealing.<Event>`, Lotus `extern/storage-sealing/fsm.go`), and every state's entry persists
 * the record: the entries, the record and the `returned` mark of the calls whose results were
 * applied are written in one transaction, so after a crash either all of them hold or none does.
 */
import { type ActorRefFrom, assertEvent, assign, enqueueActions, fromPromise, sendTo, setup } from 'xstate';
import type { ChainRandomness, MessageOutcome, PreCommitParams } from '../../src/chain/chain-adapter.js';
import type { ErrorCode, WireError } from '../../src/errors.js';
import { isValidPaddedSize } from '../../src/sector/sizes.js';
import type { SectorId } from '../../src/sector/sector-id.js';
import type { TaskType } from '../../src/tasks/task-types.js';
import type { StoreCall } from '../../src/db/stores.js';
import type { DaemonSystem, IndexEvent, SchedulerSectorEvent, SectorEvent, SectorSummary } from '../protocol.js';
import { placePiece } from '../sector-space.js';
import {
  CHAIN_RETRY_MS,
  MAX_INVALID_PROOFS,
  MAX_PC2_FAILS,
  MIN_RETRY_MS,
  type SectorContext,
  type SectorInput,
  accepting,
  createContext,
  isUnborn,
  recordOf,
  reserved,
  summaryKey,
  summaryOf,
} from './sector-context.js';
import { addPieceTask, applyResult, taskFor } from './sector-tasks.js';
import * as deals from './deal-logic.js';
import type { SectorLogInput, SectorStateName } from '../../src/db/sector-store.js';

/** Input of the `computeCommD` actor. */
export interface CommDInput {
  proofType: number;
  pieces: { pieceCid: string; paddedSize: number }[];
}

type Sector = { sector: SectorId };

/**
 * Where a sector reports: the scheduler, through the system (a sector's parent is its group, see
 * machines/scheduler/sector-group.machine.ts). Missing, it must fail loudly: sendTo(undefined)
 * would deliver to the sector itself.
 */
const scheduler = ({ system }: { system: unknown }) => {
  const s = (system as DaemonSystem).get('scheduler');
  if (!s) throw new Error('no scheduler actor in the system');
  return s;
};

/** The actors a sector invokes; each is bound to real I/O in actors/system.ts. */
const notProvided = (name: string) => async (): Promise<never> => {
  throw new Error(`sector actor ${name} is not provided`);
};

/**
 * Tells the scheduler the sector's summary, unless it is the summary told last: most saves change
 * the record and not what the scheduler places by, and each event is a macrostep of the scheduler.
 */
function reportSummary(
  context: SectorContext,
  enqueue: { assign: (update: { reported: string }) => void; sendTo: (to: typeof scheduler, event: SchedulerSectorEvent) => void },
): void {
  const changed = changedSummary(context);
  if (!changed) return;
  enqueue.assign({ reported: changed.key });
  enqueue.sendTo(scheduler, { type: 'scheduler.sector.changed', summary: changed.summary });
}

/**
 * The sector's summary and its key if it is not the one told last, else undefined. The caller
 * assigns `reported: key` (in the assignment it makes anyway: each assign is a copy of the context
 * and a new snapshot).
 */
function changedSummary(context: SectorContext): { summary: SectorSummary; key: string } | undefined {
  const summary = summaryOf(context);
  const key = summaryKey(summary);
  return key === context.reported ? undefined : { summary, key };
}

/** A sector log entry of Lotus's event `event` (`event;sealing.<event>`). */
function logEntry(event: string, message = ''): SectorLogInput {
  return { kind: `event;sealing.${event}`, message };
}

function errorOf(e: unknown, fallback: ErrorCode = 'INTERNAL'): WireError {
  if (typeof e === 'object' && e !== null && 'code' in e && 'message' in e && typeof e.message === 'string') {
    return { code: (e as { code: ErrorCode }).code, message: e.message };
  }
  return { code: fallback, message: e instanceof Error ? e.message : String(e) };
}

export const sectorSetup = setup({
  types: {} as {
    context: SectorContext;
    events: SectorEvent;
    input: SectorInput;
  },
  actors: {
    /** GenerateUnsealedCID over the sector's pieces. */
    computeCommD: fromPromise<string, CommDInput>(notProvided('computeCommD')),
    chainGetTicket: fromPromise<ChainRandomness, Sector>(notProvided('chainGetTicket')),
    chainSubmitPreCommit: fromPromise<{ message: string }, Sector & { params: PreCommitParams }>(notProvided('chainSubmitPreCommit')),
    chainWaitPreCommit: fromPromise<MessageOutcome, Sector & { message: string }>(notProvided('chainWaitPreCommit')),
    chainWaitSeed: fromPromise<ChainRandomness, Sector & { preCommitEpoch: number }>(notProvided('chainWaitSeed')),
    chainSubmitCommit: fromPromise<{ message: string }, Sector & { proof: string }>(notProvided('chainSubmitCommit')),
    chainWaitCommit: fromPromise<MessageOutcome, Sector & { message: string }>(notProvided('chainWaitCommit')),
    chainPreCommitInfo: fromPromise<{ commR: string; epoch: number } | undefined, Sector>(notProvided('chainPreCommitInfo')),
    chainDeclareFault: fromPromise<{ message: string }, Sector & { reason: string }>(notProvided('chainDeclareFault')),
    /** Removes every file of the sector from every path and its rows from the storage catalog. */
    removeFiles: fromPromise<void, Sector>(notProvided('removeFiles')),
  },
  delays: {
    /** Lotus's failedCooldown: one minute after the last log entry (less for a restored sector). */
    cooldown: ({ context }) => context.cooldownMs,
    chainRetry: CHAIN_RETRY_MS,
  },
  guards: {
    /** The state the sector was restored in (or created as) is one of `states`. */
    restoredIn: ({ context }, params: { states: readonly SectorStateName[] }) => params.states.includes(context.state),
    isCc: ({ context }) => context.cc,
    /** Spawned without a record: a new sector. */
    isNew: ({ context }) => context.persisted === undefined,
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
    hasTask: ({ context }) => context.taskId !== undefined,
    isAwaitedSave: ({ context, event }) => {
      assertEvent(event, 'index.result');
      return event.requestId === context.replyAfterSave;
    },
    saveFailed: ({ event }) => {
      assertEvent(event, 'index.result');
      return !event.ok;
    },
    isActiveRequest: ({ context, event }) => {
      assertEvent(event, 'sector.request.cancel');
      return context.active?.requestId === event.requestId;
    },
    /** The failure is the piece's, not the sector's: the piece is dropped, the sector stays open. */
    failsPieceOnly: ({ context, event }) => {
      assertEvent(event, 'sector.task.failed');
      return deals.failsPieceOnly(context, event.error);
    },
    /** The sector's data is gone: no retry can help. */
    filesLost: ({ event }) => {
      assertEvent(event, 'sector.task.failed');
      return event.error.code === 'FILE_NOT_FOUND';
    },
    /** The sector's failure was a full disk: a retry can succeed once space is freed. */
    failedForSpace: ({ context }) => context.error?.code === 'NO_SPACE',
    /** The chain refused the pre-commit because its ticket is too old (Lotus ErrExpiredTicket). */
    ticketExpired: ({ context }) => context.error?.code === 'TICKET_EXPIRED',
    /** The sealing results were dropped with their ticket: sealing starts over from GetTicket. */
    noTicket: ({ context }) => context.ticket === undefined,
    /** Nothing of this new sector is durable and no other piece waits for it: it can vanish. */
    unbornAndIdle: ({ context }) => isUnborn(context) && context.queue.length === 0,
    hasC1: ({ context }) => context.c1 !== undefined,
    /** A commit message was sent and not refused (CommitWait drops a refused one with its proof). */
    hasCommitMessage: ({ context }) => context.commit !== undefined,
    commDMatches: ({ context, event }) => {
      assertEvent(event, 'sector.task.done');
      return event.result.type !== 'PC2' || event.result.value.commD === context.commD;
    },
    messageOk: (_, params: { outcome: MessageOutcome }) => params.outcome.ok,
    pc2FailedTooOften: ({ context }) => context.counters.preCommit2Fails > MAX_PC2_FAILS,
    proofsFailedTooOften: ({ context }) => context.counters.invalidProofs > MAX_INVALID_PROOFS,
    /** The pre-commit is on chain with this sector's CommR. */
    preCommitLanded: ({ context }, params: { info: { commR: string } | undefined }) => params.info !== undefined && params.info.commR === context.commR,
    preCommitMismatch: ({ context }, params: { info: { commR: string } | undefined }) => params.info !== undefined && params.info.commR !== context.commR,
  },
  actions: {
    /** Appends a log entry (Lotus's event name); the next save writes it. */
    log: assign(({ context }, params: { event: string; message?: string }) => ({
      pendingLog: [...context.pendingLog, logEntry(params.event, params.message)],
    })),
    /** Logs the sector's restart as its own kind (Lotus does not log restarts at all). */
    logRestart: assign(({ context }) => ({
      pendingLog: [...context.pendingLog, { kind: 'restart', message: `restored in ${context.state}` }],
    })),
    /**
     * Writes the record if anything persisted changed (or log entries or applied calls wait), then
     * tells the scheduler the new summary. A new sector with nothing durable yet is not written.
     * With `state`, the sector enters that state first (an entry's `persist`).
     * With `awaitReply`, the active deal piece's reply waits for this save's confirmation. With
     * `request`, the task request that follows it in the same step carries the summary instead
     * (one event to the scheduler, not two).
     */
    persist: enqueueActions(({ context: current, enqueue, self }, params?: { state?: SectorStateName; awaitReply?: boolean; request?: boolean }) => {
      // entering a state: the new state is set in this action's one assignment (an assign of its
      // own would be one more copy of the context and one more snapshot)
      const context = params?.state !== undefined ? { ...current, state: params.state } : current;
      const update: Partial<SectorContext> = params?.state !== undefined ? { state: params.state } : {};
      const record = recordOf(context);
      const key = JSON.stringify(record);
      const extra = context.applied.length > 0 || context.pendingLog.length > 0;
      const unborn = isUnborn(context) && !context.cc;
      if (!unborn && (key !== context.savedKey || extra || params?.awaitReply)) {
        const saveId = context.saveSeq;
        const applied = context.applied;
        const log = context.pendingLog;
        // an unchanged record (a restart's entry, a result that changed nothing persisted) is not rewritten
        const call: StoreCall =
          key === context.savedKey && !params?.awaitReply
            ? { store: 'sectors', method: 'note', args: [context.miner, context.number, { applied, log }] }
            : { store: 'sectors', method: 'save', args: [record, { applied, log }] };
        enqueue.sendTo(
          ({ system }) => {
            const index = (system as DaemonSystem).get('index');
            // a missing index must fail loudly: sendTo(undefined) would deliver to self and lose the write
            if (!index) throw new Error(`sector ${context.number}: no index actor in the system`);
            return index;
          },
          { type: 'index.call', requestId: saveId, replyTo: self, ...call } satisfies IndexEvent,
        );
        Object.assign(update, {
          savedKey: key,
          saveSeq: saveId + 1,
          saving: [...context.saving, { saveId, record, applied, log }],
          applied: [],
          pendingLog: [],
          ...(params?.awaitReply ? { replyAfterSave: saveId } : {}),
        });
      }
      const changed = params?.request ? undefined : changedSummary(context);
      if (changed) update.reported = changed.key;
      if (Object.keys(update).length > 0) enqueue.assign(update);
      if (changed) enqueue.sendTo(scheduler, { type: 'scheduler.sector.changed', summary: changed.summary });
    }),
    /**
     * Several saves committed together (machines/protocol.ts IndexResults): each answer is taken as
     * its own `index.result`, in order, before any other event.
     */
    splitResults: enqueueActions(({ event, enqueue }) => {
      assertEvent(event, 'index.results');
      for (const r of event.results) enqueue.raise(r);
    }),
    /** The index committed a save: its record (and every earlier answered one) is durable. */
    confirmSave: assign(({ context, event }) => {
      assertEvent(event, 'index.result');
      const done = context.saving.find((s) => s.saveId === event.requestId);
      return {
        saving: context.saving.filter((s) => s.saveId > event.requestId),
        ...(done ? { persisted: done.record } : {}),
      };
    }),
    /**
     * A save failed (the index logged why): its applied calls and log entries go into the next save,
     * and the next persist writes even if nothing changes, since the last write did not land.
     */
    forgetSave: assign(({ context, event }) => {
      assertEvent(event, 'index.result');
      const failed = context.saving.find((s) => s.saveId === event.requestId);
      return {
        saving: context.saving.filter((s) => s.saveId > event.requestId),
        savedKey: context.persisted ? JSON.stringify(context.persisted) : '',
        applied: [...(failed?.applied ?? []), ...context.applied],
        pendingLog: [...(failed?.log ?? []), ...context.pendingLog],
      };
    }),
    report: enqueueActions(({ context, enqueue }) => reportSummary(context, enqueue)),
    /** Asks the scheduler to run this phase's task. */
    requestTask: enqueueActions(({ context, enqueue }, params: { type: Exclude<TaskType, 'AP' | 'UNS'> }) => {
      const taskId = `${context.number}-${context.taskSeq}`;
      const changed = changedSummary(context);
      enqueue.assign({ taskId, taskSeq: context.taskSeq + 1, ...(changed ? { reported: changed.key } : {}) });
      enqueue.sendTo(scheduler, { type: 'scheduler.task.request', taskId, task: taskFor(context, params.type), ...(changed ? { summary: changed.summary } : {}) } satisfies SchedulerSectorEvent);
    }),
    /** Asks the scheduler to run the first pending AddPiece step. */
    requestStep: enqueueActions(({ context, enqueue }) => {
      const task = addPieceTask(context);
      // no step to ask for: the summary a `persist` left to this request is told on its own
      if (!task) return reportSummary(context, enqueue);
      const taskId = `${context.number}-${context.taskSeq}`;
      const changed = changedSummary(context);
      enqueue.assign({ taskId, taskSeq: context.taskSeq + 1, ...(changed ? { reported: changed.key } : {}) });
      enqueue.sendTo(scheduler, { type: 'scheduler.task.request', taskId, task, ...(changed ? { summary: changed.summary } : {}) } satisfies SchedulerSectorEvent);
    }),
    /** Asks the scheduler to abort the task in flight (removal); its failed/done still arrives. */
    abortTask: enqueueActions(({ context, enqueue }) => {
      if (context.taskId === undefined) return;
      enqueue.sendTo(scheduler, { type: 'scheduler.task.abort', sector: context.number, taskId: context.taskId } satisfies SchedulerSectorEvent);
    }),
    /**
     * Applies a sealing task's result; the next save marks its call returned. `log`: the event to
     * log with it, in the same assignment (each assign copies the context and builds a snapshot).
     */
    takeResult: assign(({ context, event }, params?: { log: string }) => {
      assertEvent(event, 'sector.task.done');
      return {
        ...applyResult(context, event.result),
        applied: [...context.applied, event.callId],
        taskId: undefined,
        ...(params ? { pendingLog: [...context.pendingLog, logEntry(params.log)] } : {}),
      };
    }),
    /** Keeps a task's failure as the sector's error; the next save marks its call returned. */
    takeFailure: assign(({ context, event }) => {
      assertEvent(event, 'sector.task.failed');
      return {
        error: { code: event.error.code, message: event.error.message },
        applied: event.callId ? [...context.applied, event.callId] : context.applied,
        taskId: undefined,
        steps: [],
      };
    }),
    /** The task ended after the sector stopped wanting it (removal): note its call as applied. */
    takeAborted: assign(({ context, event }) => {
      assertEvent(event, ['sector.task.done', 'sector.task.failed']);
      return { applied: event.callId ? [...context.applied, event.callId] : context.applied, taskId: undefined, steps: [] };
    }),
    setError: assign((_, params: WireError) => ({ error: { code: params.code, message: params.message } })),
    /** Keeps an invoked actor's failure (chain, files) as the sector's error. */
    storeActorError: assign((_, params: { what: string; error: unknown }) => {
      const e = errorOf(params.error);
      return { error: { code: e.code, message: `${params.what}: ${e.message}` } };
    }),
    /** Keeps a chain message's refusal, with the chain's code (TICKET_EXPIRED, PROOF_INVALID, …), as the sector's error. */
    storeRefusal: assign((_, params: { what: string; outcome: MessageOutcome }) =>
      params.outcome.ok ? {} : { error: { code: params.outcome.code, message: `${params.what}: ${params.outcome.reason}` } },
    ),
    /** Clears the error, if there is one (most results arrive with none: no copy of the context then). */
    clearError: enqueueActions(({ context, enqueue }) => {
      if (context.error !== undefined) enqueue.assign({ error: undefined });
    }),
    /**
     * Each entry to a failure state counts as a retry (Lotus's `Retries`). Runs before the state is
     * set (`persist` with `state`): a sector restored in `state` enters it with `state` already set,
     * and a restart is no new failure.
     */
    countRetry: assign(({ context }, params: { state: SectorStateName }) =>
      context.state === params.state ? {} : { counters: { ...context.counters, retries: context.counters.retries + 1 } },
    ),
    /** The next failure waits the full minute (a restored sector's first wait was what was left). */
    resetCooldown: assign({ cooldownMs: MIN_RETRY_MS }),
    countPc2Failure: assign(({ context }) => ({ counters: { ...context.counters, preCommit2Fails: context.counters.preCommit2Fails + 1 } })),
    resetPc2Failures: assign(({ context }) => ({ counters: { ...context.counters, preCommit2Fails: 0 } })),
    countInvalidProof: assign(({ context }) => ({ counters: { ...context.counters, invalidProofs: context.counters.invalidProofs + 1 } })),
    resetProofCounters: assign(({ context }) => ({ counters: { ...context.counters, invalidProofs: 0, retries: 0 } })),
    assignTicket: assign((_, params: { ticket: ChainRandomness }) => ({ ticket: params.ticket })),
    assignSeed: assign((_, params: { seed: ChainRandomness }) => ({ seed: params.seed })),
    assignPreCommit: assign((_, params: { message: string }) => ({ preCommit: { message: params.message } })),
    assignPreCommitEpoch: assign(({ context }, params: { epoch: number }) => ({
      preCommit: { message: context.preCommit?.message ?? '', epoch: params.epoch },
    })),
    assignCommit: assign((_, params: { message: string }) => ({ commit: { message: params.message } })),
    /** The commit landed: the chain holds the proof, the record keeps its digest only. */
    assignCommitLanded: assign(({ context }, params: { epoch: number }) => {
      const { value: _, ...proof } = context.proof ?? { sha256: '', bytes: 0, prover: '' };
      return { commit: { message: context.commit?.message ?? '', epoch: params.epoch }, proof };
    }),
    /**
     * Starts the sealing over from a new ticket (a different ticket gives different work ids, and
     * PC1 does not resume a checkpoint of another ticket): everything derived from the ticket goes,
     * the pieces and CommD stay.
     */
    dropSealingResults: assign({ ticket: undefined, pc1: undefined, commR: undefined, preCommit: undefined, seed: undefined, c1: undefined, proof: undefined, commit: undefined }),
    /** A proof will be computed again from C1. */
    dropProof: assign({ c1: undefined, proof: undefined, commit: undefined }),
    storeFault: assign(({ event }) => {
      assertEvent(event, 'sector.faulty');
      return { error: { code: 'FILE_NOT_FOUND' as const, message: event.reason } };
    }),
    storeFilesMissing: assign(({ event }) => {
      assertEvent(event, 'sector.files.missing');
      return { error: { code: 'FILE_NOT_FOUND' as const, message: event.message } };
    }),
    assignCommD: assign((_, params: { commD: string }) => ({ commD: params.commD, cc: false })),
    // ---- deal filling (see deal-logic.ts)
    enqueueRequest: assign(({ context, event }) => {
      assertEvent(event, 'sector.addPiece');
      return deals.enqueue(context, event);
    }),
    rejectRequest: enqueueActions(({ context, event, enqueue }, params: { code: ErrorCode }) => {
      assertEvent(event, 'sector.addPiece');
      enqueue.sendTo(scheduler, deals.rejection(context, event, params.code));
      reportSummary(context, enqueue);
    }),
    rejectQueued: enqueueActions(({ context, enqueue }, params?: { message?: string }) => {
      for (const e of deals.queuedFailures(context, params?.message)) enqueue.sendTo(scheduler, e);
      enqueue.assign({ queue: [] });
    }),
    dropQueued: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'sector.request.cancel');
      const out = deals.dropQueued(context, event.requestId);
      if (!out) return;
      enqueue.assign({ queue: out.queue });
      enqueue.sendTo(scheduler, out.failure);
    }),
    markActiveCancelled: assign(({ context }) => (context.active ? { active: { ...context.active, cancelled: true } } : {})),
    markPackingRequested: assign({ packingRequested: true }),
    startNextPiece: assign(({ context }) => deals.startNextPiece(context)),
    planFillers: assign(({ context }) => deals.planFillers(context)),
    recordStep: assign(({ context, event }) => {
      assertEvent(event, 'sector.task.done');
      return { ...deals.recordStep(context, event), applied: [...context.applied, event.callId] };
    }),
    replyAdded: enqueueActions(({ context, enqueue }) => {
      const e = deals.addedReply(context);
      if (!e) return;
      enqueue.sendTo(scheduler, e);
      enqueue.assign({ active: undefined, replyAfterSave: undefined });
    }),
    replyFailed: enqueueActions(({ context, event, enqueue }, params: { error?: WireError }) => {
      if (!context.active) return;
      const error =
        params.error ??
        (event.type === 'sector.task.failed'
          ? event.error
          : { code: 'INTERNAL' as const, message: `sector ${context.number}: AddPiece ended unexpectedly` });
      enqueue.sendTo(scheduler, { type: 'scheduler.piece.failed', requestId: context.active.requestId, sector: context.number, error } satisfies SchedulerSectorEvent);
      enqueue.assign({ active: undefined, steps: [], taskId: undefined, replyAfterSave: undefined });
    }),
    /** Fails the active deal piece with the error of the save that was to record it. */
    replySaveFailed: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'index.result');
      if (!context.active || event.ok) return;
      enqueue.sendTo(scheduler, deals.saveFailedReply(context, event.error));
      enqueue.assign({ active: undefined });
    }),
    /** Back to the pieces of the last confirmed record (a failed save keeps no piece). */
    rollBackPieces: assign(({ context }) => ({ pieces: context.persisted?.pieces ?? [], replyAfterSave: undefined })),
    /** The failed piece's call is applied (dropping the piece is applying it). */
    noteFailedCall: assign(({ context, event }) => {
      assertEvent(event, 'sector.task.failed');
      return { applied: event.callId ? [...context.applied, event.callId] : context.applied, steps: [], taskId: undefined };
    }),
    discard: sendTo(scheduler, ({ context }) => ({ type: 'scheduler.sector.discard', number: context.number }) satisfies SchedulerSectorEvent),
  },
});

/** Builds the initial context (re-exported for the machine config). */
export { createContext };

/** A ref to a running sector actor. */
export type SectorRef = ActorRefFrom<ReturnType<typeof sectorSetup.createMachine>>;
