/**
 * The scheduler's actions of the call tracker (docs/design/sealing-daemon.md §4): a sector's task
 * request attached to its WorkID's open call or recorded as a new one, dispatch to workers with
 * free threads, results made durable before a sector hears of them, aborts, and the closing of
 * restored calls nobody claims.
 */
import { assertEvent, enqueueActions } from 'xstate';
import type { CallReturn } from '../../src/tasks/calls.js';
import { workIdOf } from '../../src/tasks/work-id.js';
import { type IndexEvent, type SectorEvent, type TaskActorEvent, taskChildId } from '../protocol.js';
import { type TrackedCall, callOfWaiter, without } from './call-tracker.js';
import { enqueue_, failure, finishWrite, indexRef, resultEvent, schedulerBase } from './scheduler-base.js';
import { sealProofInfo } from '../../src/sector/proofs.js';
import { drop, put } from './tables.js';
import { plan } from './task-queue.js';

/** Closes restored calls no sector asked for (the sector moved on or is gone). */
export const closeUnclaimed = schedulerBase.createAction(
  enqueueActions(({ context, enqueue, self }) => {
    let { calls, byWork } = context;
    for (const c of Object.values(context.calls)) {
      if (c.waiter || (c.phase !== 'restored' && c.phase !== 'done')) continue;
      enqueue.sendTo(indexRef, { type: 'index.call', requestId: -1, store: 'calls', method: 'close', args: [c.callId], replyTo: self } satisfies IndexEvent);
      ({ calls, byWork } = without(calls, byWork, c.callId));
    }
    enqueue.assign({ calls, byWork });
  }),
);

/** A sector asks for work: attach it to the open call of the same WorkID, or start a call. */
export const requestTask = schedulerBase.createAction(
  enqueueActions(({ context, event, enqueue, self }) => {
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
);

/** An index write the scheduler waited for is answered. */
export const writeAnswered = schedulerBase.createAction(
  enqueueActions(({ context, event, enqueue, self }) => {
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
);

/** Starts every queued call a worker has room for. */
export const dispatch = schedulerBase.createAction(
  enqueueActions(({ context, enqueue, self }) => {
    if (context.queue.length === 0) return;
    const { placements, workers } = plan(context.queue, context.workers);
    if (placements.length === 0) return;
    const placed = new Set(placements.map((p) => p.callId));
    const calls = context.calls;
    for (const p of placements) {
      const call = calls[p.callId]!;
      calls[p.callId] = { ...call, phase: 'running', worker: p.worker, threads: p.threads };
      enqueue.spawnChild('workerTask', { id: taskChildId(p.callId), input: { callId: p.callId, task: call.task, worker: p.worker } });
      enqueue.sendTo(indexRef, { type: 'index.call', requestId: -1, store: 'calls', method: 'run', args: [p.callId, p.worker, context.hostname], replyTo: self } satisfies IndexEvent);
    }
    enqueue.assign({ calls, workers, queue: context.queue.filter((q) => !placed.has(q.callId)) });
  }),
);

/** A worker finished a call: free its threads and make the result durable before anyone hears of it. */
export const taskFinished = schedulerBase.createAction(
  enqueueActions(({ context, event, enqueue, self }) => {
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
);

/** Stops a call: a queued one ends at once, a running one once its thread let go. */
export const abortCall = schedulerBase.createAction(
  enqueueActions(({ context, event, enqueue, self }) => {
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
);

/** Writes `running → started` for calls whose thread died with the previous process. */
export const requeueDead = schedulerBase.createAction(
  enqueueActions(({ context, enqueue, self }) => {
    for (const callId of context.requeueAtStart) {
      enqueue.sendTo(indexRef, { type: 'index.call', requestId: -1, store: 'calls', method: 'requeue', args: [callId], replyTo: self } satisfies IndexEvent);
    }
  }),
);
