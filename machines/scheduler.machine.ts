/**
 * The scheduler: root of the actor system (`systemId: 'scheduler'`), supervising everything else.
 * It
 * - invokes the index actor (`systemId: 'index'`, the single SQLite writer);
 * - spawns one sector actor per sector (`sector:<n>`), restored from the records it is started
 *   with, and new ones for pieces no open sector has room for, for pledges, and for records the
 *   operator imported from a sector's files (`scheduler.sector.adopt`);
 * - places deal pieces and relays each outcome to the facade as one emitted `scheduler.reply`;
 * - runs the tasks sectors ask for: every task is a tracked call (scheduler/call-tracker.ts), queued
 *   in Lotus's order and placed on a worker with free threads (scheduler/task-queue.ts), run by a
 *   `workerTask` actor (`task:<callId>`);
 * - runs CheckProvable over the Proving sectors every `checkProvableMs` and reports the bad ones.
 *
 * Ordering that makes a SIGKILL safe (docs/design/sealing-daemon.md §4): a call is queued only
 * once `calls.start` is committed, and a sector hears of a result only once `calls.finish` is
 * committed; the sector's own save marks the call returned in the same transaction as the record
 * that holds the result. At start, calls still open are restored: a done result is delivered
 * when its sector asks for the same work again, a call that was running is queued again, and
 * calls no sector asks for within `restoreGraceMs` are closed.
 */
import { assertEvent, enqueueActions, fromCallback, fromPromise, setup } from 'xstate';
import { toWireError, type WireError } from '../src/errors.js';
import { sealProofInfo } from '../src/sector/proofs.js';
import { paddedSizeError } from '../src/sector/sizes.js';
import type { CallRecord, CallReturn } from '../src/tasks/calls.js';
import type { Task } from '../src/tasks/task-types.js';
import { workIdOf } from '../src/tasks/work-id.js';
import type {
  DaemonSystem,
  IndexEvent,
  PieceRequest,
  SchedulerEvent,
  SchedulerReply,
  SectorEvent,
  SectorSummary,
  TaskActorEvent,
} from './protocol.js';
import { sectorChildId, taskChildId } from './protocol.js';
import { type TrackedCall, callOfWaiter, restoredCalls, without } from './scheduler/call-tracker.js';
import { drop, put } from './scheduler/tables.js';
import { adoptionRefusal } from './scheduler/adoption.js';
import { explicitRefusal, findSector, withPiece } from './scheduler/placement.js';
import { type QueuedCall, type WorkerSlots, enqueue, plan } from './scheduler/task-queue.js';
import type { SectorRecordDraft } from '../src/db/sector-store.js';
import { type GroupEvent, groupIdOf, sectorGroupMachine } from './scheduler/sector-group.machine.js';
import type { DormantEvent } from './scheduler/dormant.js';

/** Construction data of the scheduler. */
export interface SchedulerInput {
  miner: number;
  /** Seal proof of new sectors. */
  proofType: number;
  /** The local worker: its id, hostname and pool threads. */
  worker: { id: string; hostname: string; threads: number };
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
}

/** A facade request the scheduler still owes a reply. */
export interface PendingRequest {
  request: PieceRequest;
  sector: number;
  /** The client named the sector; otherwise the scheduler placed the piece and may re-place it. */
  explicit: boolean;
  attempts: number;
}

/** An index write whose answer the scheduler waits for. */
type PendingWrite = { op: 'start' | 'finish'; callId: string };

export interface SchedulerContext {
  miner: number;
  proofType: number;
  nextNumber: number;
  startedAt: number;
  restoreGraceMs: number;
  checkProvableMs: number;
  hostname: string;
  /** Records still to restore (emptied once their actors are spawned). */
  restore: SectorRecordDraft[];
  /** What each sector last reported, by number. */
  sectors: Record<string, SectorSummary>;
  requests: Record<string, PendingRequest>;
  /** Tracked calls of this run, by call id, and the open call of each WorkID. */
  calls: Record<string, TrackedCall>;
  byWork: Record<string, string>;
  /** Calls waiting for a worker, in Lotus's order. */
  queue: QueuedCall[];
  workers: WorkerSlots[];
  /** Index writes waiting for their answer, by request id. */
  writes: Record<number, PendingWrite>;
  /** The sector groups spawned so far (machines/scheduler/sector-group.machine.ts). */
  groups: Record<string, true>;
  /** Dormant sectors (no actor yet), and the events held for those being woken, by number. */
  dormant: Record<string, true>;
  waking: Record<string, SectorEvent[]>;
  seq: number;
  /** Calls that were running when the previous process died: written back to `started` at start. */
  requeueAtStart: string[];
  /** Why the index actor stopped, once it has. */
  indexError?: WireError;
}

/** How many times an auto-placed piece is re-placed after a sector turned it down. */
const MAX_PLACEMENTS = 4;

function failure(code: WireError['code'], message: string): WireError {
  return { code, message };
}

const indexRef = ({ system }: { system: unknown }) => {
  const index = (system as DaemonSystem).get('index');
  if (!index) throw new Error('scheduler: no index actor in the system');
  return index;
};

/** What a sector hears of a finished call. */
function resultEvent(taskId: string, callId: string, ret: CallReturn): SectorEvent {
  return ret.ok
    ? { type: 'sector.task.done', taskId, callId, result: ret.result }
    : { type: 'sector.task.failed', taskId, callId, error: ret.error };
}

export const schedulerMachine = setup({
  types: {} as {
    context: SchedulerContext;
    events: SchedulerEvent;
    input: SchedulerInput;
    emitted: SchedulerReply;
  },
  actors: {
    /** The index actor (bound in actors/index.actor.ts). */
    index: fromCallback<IndexEvent>(() => {
      throw new Error('index actor is not provided');
    }),
    sectorGroup: sectorGroupMachine,
    /** Runs one call on a worker; answers `scheduler.task.finished`, stops on `task.abort`. */
    workerTask: fromCallback<TaskActorEvent, { callId: string; task: Task; worker: string }>(() => {
      throw new Error('workerTask is not provided');
    }),
    /** Keeps dormant sectors' records until they are woken (machines/scheduler/dormant.ts). */
    dormantSectors: fromCallback<DormantEvent>(() => {}),
    /** CheckProvable over sectors; resolves the bad ones. */
    checkProvable: fromPromise<{ number: number; reason: string }[], { miner: number; numbers: number[] }>(async () => {
      throw new Error('checkProvable is not provided');
    }),
  },
  delays: {
    restoreGrace: ({ context }) => context.restoreGraceMs,
    checkProvable: ({ context }) => context.checkProvableMs,
  },
  guards: {
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
    hasProving: ({ context }) => Object.values(context.sectors).some((s) => s.state === 'Proving'),
  },
  actions: {
    /** Spawns a sector actor in its group (the group first, when this is its first sector), then gives it `events`. */
    spawnSector: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'scheduler.sector.spawn');
      const params = event;
      const group = groupIdOf(params.input.number);
      if (!context.groups[group]) {
        put(context.groups, group, true);
        enqueue.spawnChild('sectorGroup', { id: group });
      }
      const id = sectorChildId(params.input.number);
      enqueue.sendTo(group, { type: 'group.spawn', id, input: params.input } satisfies GroupEvent);
      for (const event of params.events ?? []) enqueue.sendTo(group, { type: 'group.deliver', id, event } satisfies GroupEvent);
    }),
    /** Sends events to a sector through its group (whose mailbox keeps them in order after its spawn). */
    toSector: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'scheduler.sector.send');
      const params = event;
      const group = groupIdOf(params.number);
      if (!context.groups[group]) return; // no actor was ever spawned for it
      for (const event of params.events) enqueue.sendTo(group, { type: 'group.deliver', id: sectorChildId(params.number), event } satisfies GroupEvent);
    }),
    /** Spawns one actor per persisted record (each routes itself to its state) and re-queues dead calls. */
    restoreSectors: enqueueActions(({ context, enqueue }) => {
      for (const record of context.restore) {
        enqueue.raise({
          type: 'scheduler.sector.spawn',
          input: { miner: record.miner, number: record.number, proofType: record.proofType, record, restoredAt: context.startedAt },
        });
      }
      enqueue.assign({ restore: [] });
    }),
    /** Writes `running → started` for calls whose thread died with the previous process. */
    requeueDead: enqueueActions(({ enqueue }, params: { callIds: string[] }) => {
      for (const callId of params.callIds) {
        enqueue.sendTo(indexRef, { type: 'index.call', requestId: -1, store: 'calls', method: 'requeue', args: [callId] } as IndexEvent);
      }
    }),
    /** Closes restored calls no sector asked for (the sector moved on or is gone). */
    closeUnclaimed: enqueueActions(({ context, enqueue }) => {
      let { calls, byWork } = context;
      for (const c of Object.values(context.calls)) {
        if (c.waiter || (c.phase !== 'restored' && c.phase !== 'done')) continue;
        enqueue.sendTo(indexRef, { type: 'index.call', requestId: -1, store: 'calls', method: 'close', args: [c.callId] } as IndexEvent);
        ({ calls, byWork } = without(calls, byWork, c.callId));
      }
      enqueue.assign({ calls, byWork });
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
        const refusal = explicitRefusal(target, event.sector, pieceSize);
        if (refusal) return reply(refusal);
      } else {
        target = findSector(context.sectors, pieceSize);
      }
      let nextNumber = context.nextNumber;
      if (!target) {
        const number = nextNumber++;
        target = { number, state: 'WaitDeals', sectorSize: sealProofInfo(context.proofType).sectorSize, reservedEnd: 0, accepting: true };
        enqueue.raise({ type: 'scheduler.sector.spawn', ...{ input: { miner: context.miner, number, proofType: context.proofType } } });
      }
      const previous = context.requests[requestId];
      enqueue.assign({
        nextNumber,
        sectors: put(context.sectors, target.number, withPiece(target, pieceSize)),
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
      enqueue.raise({ type: 'scheduler.sector.send', ...{ number: target.number, events: [{ type: 'sector.addPiece', requestId, pieceSize, payloadSize }] } });
    }),
    /** A new committed-capacity sector (Lotus PledgeSector → SectorStartCC). */
    pledge: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'scheduler.pledge');
      const number = context.nextNumber;
      enqueue.raise({ type: 'scheduler.sector.spawn', ...{ input: { miner: context.miner, number, proofType: context.proofType, cc: true } } });
      enqueue.assign({
        nextNumber: number + 1,
        sectors: put(context.sectors, number, {
          number,
          state: 'Packing',
          sectorSize: sealProofInfo(context.proofType).sectorSize,
          reservedEnd: 0,
          accepting: false,
        }),
      });
      enqueue.emit({ type: 'scheduler.reply', requestId: event.requestId, ok: true, value: { kind: 'sector.pledged', sector: number } });
    }),
    startPacking: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'scheduler.startPacking');
      const { requestId, sector } = event;
      const s = context.sectors[sector];
      const refuse = (error: WireError) => enqueue.emit({ type: 'scheduler.reply', requestId, ok: false, error });
      if (!s) return refuse(failure('SECTOR_UNKNOWN', `sector ${sector} does not exist`));
      if (!['WaitDeals', 'AddPiece', 'Empty', 'Packing'].includes(s.state)) {
        return refuse(failure('SECTOR_STATE_INVALID', `sector ${sector} is in state ${s.state} and cannot be packed`));
      }
      enqueue.assign({ sectors: put(context.sectors, sector, { ...s, accepting: false }) });
      enqueue.raise({ type: 'scheduler.sector.send', ...{ number: sector, events: [{ type: 'sector.startPacking' }] } });
      enqueue.emit({ type: 'scheduler.reply', requestId, ok: true, value: { kind: 'packing.requested', sector } });
    }),
    removeSector: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'scheduler.remove');
      const { requestId, sector } = event;
      if (!context.sectors[sector]) {
        enqueue.emit({ type: 'scheduler.reply', requestId, ok: false, error: failure('SECTOR_UNKNOWN', `sector ${sector} does not exist`) });
        return;
      }
      const s = context.sectors[sector]!;
      const d = deliveries(context, [{ number: sector, event: { type: 'sector.remove', ...(event.reason !== undefined ? { reason: event.reason } : {}) } }]);
      enqueue.assign({ sectors: put(context.sectors, sector, { ...s, accepting: false }), ...d.patch });
      for (const x of d.send) enqueue.raise({ type: 'scheduler.sector.send', ...{ number: x.number, events: [x.event] } });
      for (const n of d.wake) enqueue.sendTo('dormant', { type: 'dormant.wake', number: n } satisfies DormantEvent);
      enqueue.emit({ type: 'scheduler.reply', requestId, ok: true, value: { kind: 'sector.removing', sector } });
    }),
    /**
     * Starts the actor of a record written outside the sectors (imported from its files), as
     * restoreSectors does; new sectors are numbered above it.
     */
    adoptSector: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'scheduler.sector.adopt');
      const { requestId, record } = event;
      const refusal = adoptionRefusal(context.sectors, context.miner, record);
      if (refusal) return enqueue.emit({ type: 'scheduler.reply', requestId, ok: false, error: refusal });
      enqueue.raise({
        type: 'scheduler.sector.spawn',
        input: { miner: record.miner, number: record.number, proofType: record.proofType, record },
      });
      enqueue.assign({
        sectors: put(context.sectors, record.number, summaryOfRecord(record)),
        nextNumber: Math.max(context.nextNumber, record.number + 1),
      });
      enqueue.emit({ type: 'scheduler.reply', requestId, ok: true, value: { kind: 'sector.adopted', sector: record.number } });
    }),
    /** Drops the request's queued task and tells its sector; a running upload is stopped by the facade's signal. */
    cancelRequest: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'scheduler.request.cancel');
      const pending = context.requests[event.requestId];
      if (!pending) return;
      enqueue.raise({ type: 'scheduler.sector.send', ...{ number: pending.sector, events: [{ type: 'sector.request.cancel', requestId: event.requestId }] } });
    }),
    /** A sector asks for work: attach it to the open call of the same WorkID, or start a call. */
    requestTask: enqueueActions(({ context, event, enqueue, self }) => {
      assertEvent(event, 'scheduler.task.request');
      const { task, taskId } = event;
      const waiter = { sector: task.sector.number, taskId };
      const workId = workIdOf(task);
      const existing = context.byWork[workId] !== undefined ? context.calls[context.byWork[workId]!] : undefined;
      if (existing?.phase === 'done' && existing.ret) {
        // finished before (maybe before a restart) and never applied: deliver, do not redo
        enqueue.raise({ type: 'scheduler.sector.send', ...{ number: waiter.sector, events: [resultEvent(taskId, existing.callId, existing.ret)] } });
        enqueue.assign(without(context.calls, context.byWork, existing.callId));
        return;
      }
      if (existing) {
        const attached: TrackedCall = { ...existing, waiter };
        const queue = existing.phase === 'restored' ? enqueue_(context.queue, attached) : context.queue;
        enqueue.assign({ calls: put(context.calls, existing.callId, existing.phase === 'restored' ? { ...attached, phase: 'queued' } : attached), queue });
        return;
      }
      const callId = globalThis.crypto.randomUUID();
      const requestId = context.seq;
      const call: TrackedCall = {
        callId,
        workId,
        task,
        phase: 'starting',
        waiter,
        seq: context.seq,
        sectorSize: sealProofInfo(task.proofType).sectorSize,
      };
      enqueue.assign({
        seq: context.seq + 1,
        calls: put(context.calls, callId, call),
        byWork: put(context.byWork, workId, callId),
        writes: put(context.writes, requestId, { op: 'start', callId }),
      });
      enqueue.sendTo(indexRef, { type: 'index.call', requestId, store: 'calls', method: 'start', args: [{ callId, workId, task }], replyTo: self } as IndexEvent);
    }),
    /** An index write the scheduler waited for is answered. */
    writeAnswered: enqueueActions(({ context, event, enqueue, self }) => {
      assertEvent(event, 'index.result');
      const w = context.writes[event.requestId];
      if (!w) return;
      const writes = drop(context.writes, event.requestId);
      enqueue.assign({ writes });
      const call = context.calls[w.callId];
      if (!call) return;
      const tell = (e: SectorEvent) => {
        if (call.waiter) enqueue.raise({ type: 'scheduler.sector.send', ...{ number: call.waiter.sector, events: [e] } });
      };
      if (!event.ok) {
        // the call is not durable: the sector is told it failed rather than left waiting
        const what = w.op === 'start' ? 'could not be recorded' : 'finished but its result could not be recorded';
        tell({ type: 'sector.task.failed', taskId: call.waiter?.taskId ?? '', error: failure('INTERNAL', `call ${call.callId} (${call.task.type}) ${what}: ${event.error.message}`) });
        enqueue.assign(without(context.calls, context.byWork, call.callId));
        return;
      }
      if (w.op === 'start') {
        if (call.aborting) {
          const f = finishWrite(context, self, call, { ok: false, error: failure('ABORTED', `call ${call.callId} aborted before it started`) }, 'aborted');
          enqueue.assign(f.patch);
          enqueue.sendTo(indexRef, f.event);
          return;
        }
        enqueue.assign({ calls: put(context.calls, call.callId, { ...call, phase: 'queued' }), queue: enqueue_(context.queue, call) });
        return;
      }
      // finish: durable; tell the sector now, or keep it for when the sector asks
      if (call.waiter && call.ret) {
        tell(resultEvent(call.waiter.taskId, call.callId, call.ret));
        enqueue.assign(without(context.calls, context.byWork, call.callId));
      } else {
        enqueue.assign({ calls: put(context.calls, call.callId, { ...call, phase: 'done' }) });
      }
    }),
    /** Starts every queued call a worker has room for. */
    dispatch: enqueueActions(({ context, enqueue }) => {
      if (context.queue.length === 0) return;
      const { placements, workers } = plan(context.queue, context.workers);
      if (placements.length === 0) return;
      const placed = new Set(placements.map((p) => p.callId));
      const calls = context.calls;
      for (const p of placements) {
        const call = calls[p.callId]!;
        calls[p.callId] = { ...call, phase: 'running', worker: p.worker, threads: p.threads };
        enqueue.spawnChild('workerTask', { id: taskChildId(p.callId), input: { callId: p.callId, task: call.task, worker: p.worker } });
        enqueue.sendTo(indexRef, { type: 'index.call', requestId: -1, store: 'calls', method: 'run', args: [p.callId, p.worker, context.hostname] } as IndexEvent);
      }
      enqueue.assign({ calls, workers, queue: context.queue.filter((q) => !placed.has(q.callId)) });
    }),
    /** A worker finished a call: free its threads and make the result durable before anyone hears of it. */
    taskFinished: enqueueActions(({ context, event, enqueue, self }) => {
      assertEvent(event, 'scheduler.task.finished');
      const call = context.calls[event.callId];
      if (call?.phase !== 'running') return;
      // its run has settled: the task actor is done (a callback actor does not stop by itself)
      enqueue.stopChild(taskChildId(call.callId));
      const workers = context.workers.map((w) => (w.id === call.worker ? { ...w, used: w.used - (call.threads ?? 0) } : w));
      enqueue.assign({ workers });
      // an aborted call ends aborted even if its thread finished first: the operator (or the
      // sector's removal) asked for it to be stopped, and its sector acts on that
      const ret: CallReturn = call.aborting
        ? { ok: false, error: failure('ABORTED', `call ${call.callId} (${call.task.type}) aborted`) }
        : event.ret;
      const outcome = ret.ok ? 'ok' : call.aborting ? 'aborted' : 'failed';
      const f = finishWrite(context, self, call, ret, outcome);
      enqueue.assign(f.patch);
      enqueue.sendTo(indexRef, f.event);
    }),
    /** Stops a call: a queued one ends at once, a running one once its thread let go. */
    abortCall: enqueueActions(({ context, event, enqueue, self }) => {
      assertEvent(event, ['scheduler.task.abort', 'scheduler.call.abort']);
      const call = event.type === 'scheduler.task.abort' ? callOfWaiter(context.calls, event.sector, event.taskId) : context.calls[event.callId];
      if (event.type === 'scheduler.call.abort') {
        if (!call || call.phase === 'finishing' || call.phase === 'done') {
          enqueue.emit({
            type: 'scheduler.reply',
            requestId: event.requestId,
            ok: false,
            error: failure('CALL_UNKNOWN', `call ${event.callId} is not queued or running`),
          });
          return;
        }
        enqueue.emit({ type: 'scheduler.reply', requestId: event.requestId, ok: true, value: { kind: 'call.aborting', callId: call.callId } });
      }
      if (!call) return;
      const aborted = { ok: false as const, error: failure('ABORTED', `call ${call.callId} (${call.task.type}) aborted`) };
      switch (call.phase) {
        case 'queued':
        case 'restored':
        {
          const f = finishWrite(context, self, call, aborted, 'aborted');
          enqueue.assign({ ...f.patch, queue: context.queue.filter((q) => q.callId !== call.callId) });
          enqueue.sendTo(indexRef, f.event);
          return;
        }
        case 'starting':
          enqueue.assign({ calls: put(context.calls, call.callId, { ...call, aborting: true }) });
          return;
        case 'running':
          enqueue.assign({ calls: put(context.calls, call.callId, { ...call, aborting: true }) });
          enqueue.sendTo(taskChildId(call.callId), { type: 'task.abort' } satisfies TaskActorEvent);
          return;
        default:
          return;
      }
    }),
    updateSummary: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'scheduler.sector.changed');
      enqueue.assign({ sectors: put(context.sectors, event.summary.number, event.summary) });
    }),
    /** A new sector whose first piece failed: it never existed; its number is free again if it was the last. */
    discardSector: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'scheduler.sector.discard');
      const sectors = drop(context.sectors, event.number);
      enqueue.sendTo(groupIdOf(event.number), { type: 'group.stop', id: sectorChildId(event.number) } satisfies GroupEvent);
      let { calls, byWork } = context;
      for (const c of Object.values(context.calls)) {
        if (c.task.sector.number !== event.number || c.phase !== 'done') continue;
        enqueue.sendTo(indexRef, { type: 'index.call', requestId: -1, store: 'calls', method: 'close', args: [c.callId] } as IndexEvent);
        ({ calls, byWork } = without(calls, byWork, c.callId));
      }
      enqueue.assign({ sectors, calls, byWork, nextNumber: context.nextNumber === event.number + 1 ? event.number : context.nextNumber });
    }),
    replyAdded: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'scheduler.piece.added');
      const { [event.requestId]: _, ...requests } = context.requests;
      enqueue.assign({ requests });
      enqueue.emit({ type: 'scheduler.reply', requestId: event.requestId, ok: true, value: { kind: 'piece.added', sector: event.sector, piece: event.piece } });
    }),
    replyFailed: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'scheduler.piece.failed');
      const { [event.requestId]: _, ...requests } = context.requests;
      enqueue.assign({ requests });
      enqueue.emit({ type: 'scheduler.reply', requestId: event.requestId, ok: false, error: event.error });
    }),
    /** Tries another sector for a piece its sector turned down. */
    replacePiece: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'scheduler.piece.failed');
      const pending = context.requests[event.requestId];
      if (pending) enqueue.raise({ type: 'scheduler.addPiece', ...pending.request });
    }),
    numbersSeen: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'scheduler.numbers.seen');
      if (event.max + 1 > context.nextNumber) enqueue.assign({ nextNumber: event.max + 1 });
    }),
    filesMissing: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'scheduler.files.missing');
      const items = event.sectors
        .filter((x) => context.sectors[x.number])
        .map((x) => ({ number: x.number, event: { type: 'sector.files.missing', message: x.message } as SectorEvent }));
      const d = deliveries(context, items);
      enqueue.assign(d.patch);
      for (const x of d.send) enqueue.raise({ type: 'scheduler.sector.send', ...{ number: x.number, events: [x.event] } });
      for (const n of d.wake) enqueue.sendTo('dormant', { type: 'dormant.wake', number: n } satisfies DormantEvent);
    }),
    /** Tells each faulty Proving sector (CheckProvable's verdict), waking dormant ones. */
    reportFaults: enqueueActions(({ context, enqueue }, params: { faulty: { number: number; reason: string }[] }) => {
      const items = params.faulty
        .filter((f) => context.sectors[f.number]?.state === 'Proving')
        .map((f) => ({ number: f.number, event: { type: 'sector.faulty', reason: f.reason } as SectorEvent }));
      const d = deliveries(context, items);
      enqueue.assign(d.patch);
      for (const x of d.send) enqueue.raise({ type: 'scheduler.sector.send', ...{ number: x.number, events: [x.event] } });
      for (const n of d.wake) enqueue.sendTo('dormant', { type: 'dormant.wake', number: n } satisfies DormantEvent);
    }),
    /** A dormant sector's record arrived: its actor is created and gets the events held for it. */
    wakeSector: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'scheduler.sector.wake');
      const r = event.record;
      enqueue.raise({
        type: 'scheduler.sector.spawn',
        input: { miner: r.miner, number: r.number, proofType: r.proofType, record: r, restoredAt: context.startedAt },
        events: context.waking[r.number] ?? [],
      });
      const { [r.number]: _, ...waking } = context.waking;
      enqueue.assign({ waking });
    }),
    /** A sector actor crashed (a bug): fail what waits on it and stop placing pieces there. */
    sectorCrashed: enqueueActions(({ context, event, enqueue }) => {
      const id = event.type.slice('xstate.error.actor.'.length);
      const number = Number(id.slice('sector:'.length));
      const error = failure('INTERNAL', `sector ${number} actor failed: ${toWireError((event as unknown as { error: unknown }).error).message}`);
      const requests = { ...context.requests };
      for (const [rid, p] of Object.entries(context.requests)) {
        if (p.sector !== number) continue;
        delete requests[rid];
        enqueue.emit({ type: 'scheduler.reply', requestId: rid, ok: false, error });
      }
      const s = context.sectors[number];
      enqueue.assign({ requests, sectors: s ? put(context.sectors, number, { ...s, accepting: false }) : context.sectors });
    }),
    /** Refuses a command while the index is down. */
    refuse: enqueueActions(({ context, event, enqueue }) => {
      if (!('requestId' in event) || typeof event.requestId !== 'string' || event.type === 'scheduler.request.cancel') return;
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
  context: ({ input }) => {
    const restored = restoredCalls(input.openCalls ?? [], (p) => sealProofInfo(p).sectorSize);
    return {
      miner: input.miner,
      proofType: input.proofType,
      nextNumber: input.nextNumber,
      startedAt: input.startedAt,
      restoreGraceMs: input.restoreGraceMs ?? 0,
      checkProvableMs: input.checkProvableMs ?? 600_000,
      hostname: input.worker.hostname,
      restore: input.records,
      sectors: Object.fromEntries([...input.records, ...(input.dormant ?? [])].map((r) => [r.number, summaryOfRecord(r)])),
      requests: {},
      calls: restored.calls,
      byWork: restored.byWork,
      queue: [],
      workers: [{ id: input.worker.id, threads: input.worker.threads, used: 0 }],
      writes: {},
      groups: {},
      dormant: Object.fromEntries((input.dormant ?? []).map((d) => [d.number, true as const])),
      waking: {},
      seq: (input.openCalls ?? []).length,
      requeueAtStart: restored.requeue,
    };
  },
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
    /** Normal operation, with the start-up grace and the CheckProvable timer beside it. */
    running: {
      type: 'parallel',
      invoke: { id: 'dormant', src: 'dormantSectors' },
      entry: [
        { type: 'requeueDead', params: ({ context }) => ({ callIds: context.requeueAtStart }) },
        'restoreSectors',
      ],
      on: {
        'scheduler.addPiece': { actions: 'placePiece' },
        'scheduler.pledge': { actions: 'pledge' },
        'scheduler.startPacking': { actions: 'startPacking' },
        'scheduler.remove': { actions: 'removeSector' },
        'scheduler.sector.adopt': { actions: 'adoptSector' },
        'scheduler.request.cancel': { actions: 'cancelRequest' },
        'scheduler.task.request': { actions: ['requestTask', 'dispatch'] },
        'scheduler.task.abort': { actions: ['abortCall', 'dispatch'] },
        'scheduler.call.abort': { actions: ['abortCall', 'dispatch'] },
        'scheduler.task.finished': { actions: ['taskFinished', 'dispatch'] },
        'index.result': { actions: ['writeAnswered', 'dispatch'] },
        'scheduler.sector.changed': { actions: 'updateSummary' },
        'scheduler.sector.discard': { actions: 'discardSector' },
        'scheduler.piece.added': { actions: 'replyAdded' },
        'scheduler.piece.failed': [{ guard: 'canReplace', actions: 'replacePiece' }, { actions: 'replyFailed' }],
        'scheduler.numbers.seen': { actions: 'numbersSeen' },
        'scheduler.files.missing': { actions: 'filesMissing' },
        'scheduler.sector.wake': { actions: 'wakeSector' },
        'scheduler.sector.spawn': { actions: 'spawnSector' },
        'scheduler.sector.send': { actions: 'toSector' },
        'scheduler.sector.crashed': { actions: 'sectorCrashed' },
        'scheduler.faults': { actions: { type: 'reportFaults', params: ({ event }) => ({ faulty: event.faulty }) } },
      },
      states: {
        /** Restored calls no sector claims are closed once the sectors had their chance to ask. */
        startup: {
          initial: 'restoring',
          states: {
            restoring: { after: { restoreGrace: { target: 'done', actions: 'closeUnclaimed' } } },
            done: {},
          },
        },
        /** CheckProvable over the Proving sectors (Lotus `faults.go`), one pool task per round. */
        prover: {
          initial: 'idle',
          states: {
            idle: { after: { checkProvable: [{ guard: 'hasProving', target: 'checking' }, { target: 'idle', reenter: true }] } },
            checking: {
              invoke: {
                src: 'checkProvable',
                input: ({ context }) => ({
                  miner: context.miner,
                  numbers: Object.values(context.sectors)
                    .filter((s) => s.state === 'Proving')
                    .map((s) => s.number),
                }),
                onDone: { actions: { type: 'reportFaults', params: ({ event }) => ({ faulty: event.output }) }, target: 'idle' },
                onError: { target: 'idle' },
              },
            },
          },
        },
      },
    },
    /** The index actor failed: nothing can be persisted, so every command is refused. */
    indexFailed: {
      on: { 'scheduler.*': { actions: 'refuse' } },
    },
  },
});

/**
 * Where an event for sector `n` goes: to its actor, or — for a dormant sector — held until its
 * actor exists, with its record asked for once (machines/scheduler/dormant.ts).
 */
function deliveries(
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

/** Queue entry of a call. */
function enqueue_(queue: readonly QueuedCall[], call: TrackedCall): QueuedCall[] {
  return enqueue(queue, { callId: call.callId, task: call.task, seq: call.seq, sectorSize: call.sectorSize });
}

/** The write of a call's result (`calls.finish`) and the context while it is in flight; the sector hears of the result once it is committed. */
function finishWrite(
  context: SchedulerContext,
  self: unknown,
  call: TrackedCall,
  ret: CallReturn,
  outcome: 'ok' | 'failed' | 'aborted',
): { patch: Partial<SchedulerContext>; event: IndexEvent } {
  const requestId = context.seq;
  return {
    patch: {
      seq: context.seq + 1,
      calls: put(context.calls, call.callId, { ...call, phase: 'finishing', ret }),
      writes: put(context.writes, requestId, { op: 'finish', callId: call.callId }),
    },
    event: { type: 'index.call', requestId, store: 'calls', method: 'finish', args: [call.callId, ret, outcome], replyTo: self } as IndexEvent,
  };
}

/** What the scheduler assumes of a restored sector until it reports (pieces are placed only after). */
function summaryOfRecord(r: Pick<SectorRecordDraft, 'number' | 'state' | 'proofType'>): SectorSummary {
  return { number: r.number, state: r.state, sectorSize: sealProofInfo(r.proofType).sectorSize, reservedEnd: 0, accepting: false };
}

export type SchedulerMachine = typeof schedulerMachine;
