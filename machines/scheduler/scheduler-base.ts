/**
 * The scheduler's types, its named actors, and the base `setup()` its action modules build on
 * (sector-actions.ts, call-actions.ts); the machine itself is machines/scheduler.machine.ts.
 */
import { fromCallback, fromPromise, setup } from 'xstate';
import type { WireError } from '../../src/errors.js';
import { sealProofInfo } from '../../src/sector/proofs.js';
import type { CallRecord, CallReturn } from '../../src/tasks/calls.js';
import type { SectorRecordDraft } from '../../src/db/sector-store.js';
import type {
  DaemonSystem,
  IndexEvent,
  PieceRequest,
  SchedulerEvent,
  SchedulerReply,
  SectorEvent,
  SectorSummary,
  TaskActorEvent,
} from '../protocol.js';
import type { TrackedCall } from './call-tracker.js';
import type { Pc1BatchState } from './pc1-batch.js';
import type { DormantEvent } from './dormant.js';
import { sectorGroupMachine } from './sector-group.machine.js';
import { pinnedWorkerOf, selectorOf } from './selectors.js';
import type { SchedWorker } from './sched-workers.js';
import type { StorageView } from './storage-view.js';
import { schedClockMachine } from './sched-clock.machine.js';
import { schedTickLogic } from './sched-tick.js';
import type { QueuedCall, TaskQueue } from './task-queue.js';
import { put } from './tables.js';

/** Construction data of the scheduler. */
export interface SchedulerInput {
  miner: number;
  /** Seal proof of new sectors. */
  proofType: number;
  /** Persisted records of this miner's sectors, restored as sector actors at start. */
  records: SectorRecordDraft[];
  /**
   * Sectors restored dormant (machines/scheduler/dormant.ts): no actor until an event for them
   * arrives; their records are kept by the `dormantSectors` actor.
   */
  dormant?: Pick<SectorRecordDraft, 'number' | 'state' | 'proofType'>[];
  /** Calls not yet returned (the call store's `open()`), restored at start. */
  openCalls?: CallRecord[];
  /** Number of the next new sector. */
  nextNumber: number;
  /** Unix ms at start: restored failure states wait what is left of their cool-down. */
  startedAt: number;
  /** How long after start unclaimed restored calls are closed. @default 0 (once restoring is over) */
  restoreGraceMs?: number;
  /** Period of CheckProvable over Proving sectors. @default 600000 */
  checkProvableMs?: number;
  /** No scheduling pass this long after start, so reconnecting workers are there (Lotus InitWait 3 s). @default 0 */
  initWaitMs?: number;
  /** Period of re-reading the storage paths' space and health (the storage heartbeat period). @default 10000 */
  storageRefreshMs?: number;
  /** PC1s of one sector size the local worker labels together (docs/design/scheduler.md §8), 1 to 8. @default 1 (no batches) */
  pc1BatchSize?: number;
  /** How long a PC1 waits for its batch to fill before it runs with what is ready. @default 30000 */
  pc1BatchWaitMs?: number;
}

/** A facade request the scheduler still owes a reply. */
export interface PendingRequest {
  request: PieceRequest;
  sector: number;
  /** The client named the sector; otherwise the scheduler placed the piece and may re-place it. */
  explicit: boolean;
  attempts: number;
}

/** An index call whose answer the scheduler waits for: a write, or a read the scheduling needs. */
type PendingWrite = { op: 'start' | 'finish' | 'holders'; callId: string } | { op: 'paths' };

export interface SchedulerContext {
  miner: number;
  proofType: number;
  nextNumber: number;
  startedAt: number;
  restoreGraceMs: number;
  checkProvableMs: number;
  initWaitMs: number;
  storageRefreshMs: number;
  /** Records still to restore (emptied once their actors are spawned). */
  restore: SectorRecordDraft[];
  /** What each sector last reported, by number. */
  sectors: Record<string, SectorSummary>;
  requests: Record<string, PendingRequest>;
  /** Tracked calls of this run, by call id, and the open call of each WorkID. */
  calls: Record<string, TrackedCall>;
  byWork: Record<string, string>;
  /** Calls waiting to start on a worker (assigned to a window or not), in Lotus's order. */
  queue: TaskQueue;
  /** The workers, by id (machines/scheduler/sched-workers.ts). */
  workers: Record<string, SchedWorker>;
  /** Open calls a connected worker said it still holds (it outlived a restart), by call id: its worker id. */
  heldBy: Record<string, string>;
  /** Where new files fit: the path view and the space claimed by started calls. */
  storage: StorageView;
  /** A path view read is in flight; `storageStale`: another is wanted once it is answered. */
  storageReading: boolean;
  storageStale: boolean;
  /** The start-up wait is over (`initWaitMs`): passes run. */
  schedReady: boolean;
  /** A full pass is due and its tick asked for (machines/scheduler/sched-tick.ts). */
  passDue: boolean;
  /** Full passes run so far (a count for inspection and tests: passes are batched per turn). */
  passes: number;
  /** Index writes waiting for their answer, by request id. */
  writes: Record<number, PendingWrite>;
  /** The sector groups spawned so far (machines/scheduler/sector-group.machine.ts). */
  groups: Record<string, true>;
  /** Dormant sectors (no actor yet), and the events held for those being woken, by number. */
  dormant: Record<string, true>;
  waking: Record<string, SectorEvent[]>;
  seq: number;
  /** PC1 batching: its settings and the waits running (machines/scheduler/pc1-batch.ts). */
  pc1Batch: Pc1BatchState;
  /** Calls that were running when the previous process died: written back to `started` at start. */
  requeueAtStart: string[];
  /** Why the index actor stopped, once it has. */
  indexError?: WireError;
}

/** How many times an auto-placed piece is re-placed after a sector turned it down. */
export const MAX_PLACEMENTS = 4;

export function failure(code: WireError['code'], message: string): WireError {
  return { code, message };
}

export const indexRef = ({ system }: { system: unknown }) => {
  const index = (system as DaemonSystem).get('index');
  if (!index) throw new Error('scheduler: no index actor in the system');
  return index;
};

/** What a sector hears of a finished call. */
export function resultEvent(taskId: string, callId: string, ret: CallReturn): SectorEvent {
  return ret.ok
    ? { type: 'sector.task.done', taskId, callId, result: ret.result }
    : { type: 'sector.task.failed', taskId, callId, error: ret.error };
}

/** The scheduler's named actors, bound to the world in actors/system.ts. */
export const schedulerActors = {
    /** The index actor (bound in actors/index.actor.ts). */
    index: fromCallback<IndexEvent>(() => {
      throw new Error('index actor is not provided');
    }),
    sectorGroup: sectorGroupMachine,
    /**
     * Runs every started call on its worker (`task.start`): its prepare step, `scheduler.task.prepared`,
     * its work on `task.work`, `scheduler.task.finished`; stops a call on `task.abort`.
     */
    workerTasks: fromCallback<TaskActorEvent>(() => {
      throw new Error('workerTasks is not provided');
    }),
    /** Turns `sched.tick` into `scheduler.sched.pass` on the next turn of the event loop (machines/scheduler/sched-tick.ts). */
    schedTick: schedTickLogic,
    /** The scheduler's timers (machines/scheduler/sched-clock.machine.ts). */
    schedClock: schedClockMachine,
    /** Keeps dormant sectors' records until they are woken (machines/scheduler/dormant.ts). */
    dormantSectors: fromCallback<DormantEvent>(() => {}),
    /** CheckProvable over sectors; resolves the bad ones. */
    checkProvable: fromPromise<{ number: number; reason: string }[], { miner: number; numbers: number[] }>(async () => {
      throw new Error('checkProvable is not provided');
    }),
};

/** The base every scheduler action module is typed against. */
export const schedulerBase = setup({
  types: {} as {
    context: SchedulerContext;
    events: SchedulerEvent;
    input: SchedulerInput;
    emitted: SchedulerReply;
  },
  actors: schedulerActors,
});

/**
 * Where an event for sector `n` goes: to its actor, or — for a dormant sector — held until its
 * actor exists, with its record asked for once (machines/scheduler/dormant.ts).
 */
export function deliveries(
  context: Pick<SchedulerContext, 'dormant' | 'waking'>,
  items: readonly { number: number; event: SectorEvent }[],
): { send: { number: number; event: SectorEvent }[]; wake: number[]; patch: Pick<SchedulerContext, 'dormant' | 'waking'> } {
  const dormant = { ...context.dormant };
  const waking = { ...context.waking };
  const send: { number: number; event: SectorEvent }[] = [];
  const wake: number[] = [];
  for (const it of items) {
    if (dormant[it.number]) {
      delete dormant[it.number];
      waking[it.number] = [it.event];
      wake.push(it.number);
    } else if (waking[it.number]) {
      waking[it.number] = [...waking[it.number]!, it.event];
    } else {
      send.push(it);
    }
  }
  return { send, wake, patch: { dormant, waking } };
}

/** Adds a call's entry to the queue, in order (in place). */
export function enqueue_(queue: TaskQueue, call: TrackedCall): QueuedCall {
  const pinned = pinnedWorkerOf(call.task);
  const entry: QueuedCall = { callId: call.callId, task: call.task, seq: call.seq, sectorSize: call.sectorSize, selector: selectorOf(call.task) };
  if (pinned !== undefined) entry.pinned = pinned;
  queue.add(entry);
  return entry;
}

/**
 * The write of a call's result (`calls.finish`) and the context while it is in flight; the sector
 * hears of the result once it is committed. The index call's `replyTo` is the scheduler.
 */
export function finishWrite(
  context: SchedulerContext,
  call: TrackedCall,
  ret: CallReturn,
  outcome: 'ok' | 'failed' | 'aborted',
): { patch: Partial<SchedulerContext>; call: { requestId: number; store: 'calls'; method: 'finish'; args: [string, CallReturn, 'ok' | 'failed' | 'aborted'] } } {
  const requestId = context.seq;
  return {
    patch: {
      seq: context.seq + 1,
      calls: put(context.calls, call.callId, { ...call, phase: 'finishing', ret }),
      writes: put(context.writes, requestId, { op: 'finish', callId: call.callId }),
    },
    call: { requestId, store: 'calls', method: 'finish', args: [call.callId, ret, outcome] },
  };
}

/** What the scheduler assumes of a restored sector until it reports (pieces are placed only after). */
export function summaryOfRecord(r: Pick<SectorRecordDraft, 'number' | 'state' | 'proofType'>): SectorSummary {
  return { number: r.number, state: r.state, sectorSize: sealProofInfo(r.proofType).sectorSize, reservedEnd: 0, accepting: false };
}

