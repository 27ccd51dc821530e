/**
 * The scheduler's actions of the call tracker (docs/design/sealing-daemon.md §4): a sector's task
 * request attached to its WorkID's open call or recorded as a new one, results made durable
 * before a sector hears of them, aborts, and the closing of restored calls nobody claims.
 * Placement on workers is machines/scheduler/sched-actions.ts.
 */
import { enqueueActions } from 'xstate';
import type { CallReturn } from '../../src/tasks/calls.js';
import { workIdOf } from '../../src/tasks/work-id.js';
import { type IndexEvent, type IndexResult, NO_REPLY, type SectorEvent } from '../protocol.js';
import { type TrackedCall, callOfWaiter, without } from './call-tracker.js';
import { type SchedulerContext, failure, finishWrite, indexRef, resultEvent, schedulerBase } from './scheduler-base.js';
import { sealProofInfo } from '../../src/sector/proofs.js';
import { retriesSolo } from './pc1-batch.js';
import { activateOn, holdersAnswered, passDue, pathsAnswered, queueCall, requestPaths } from './sched-actions.js';
import { type Effects, nextRequestId, step } from './sched-step.js';
import { dropFromWindows, release } from './sched-workers.js';
import { claimOn } from './storage-view.js';
import { drop, put } from './tables.js';

/** Closes restored calls no sector asked for (the sector moved on or is gone). */
export const closeUnclaimed = schedulerBase.createAction(
  enqueueActions(({ context, enqueue }) => {
    let { calls, byWork } = context;
    for (const c of Object.values(context.calls)) {
      if (c.waiter || c.replies || (c.phase !== 'restored' && c.phase !== 'done')) continue;
      enqueue.sendTo(indexRef, { type: 'index.call', requestId: NO_REPLY, store: 'calls', method: 'close', args: [c.callId] } satisfies IndexEvent);
      ({ calls, byWork } = without(calls, byWork, c.callId));
    }
    enqueue.assign({ calls, byWork });
  }),
);

/** A sector asks for work: attach it to the open call of the same WorkID, or start a call. */
export const requestTask = step((d, fx, event) => {
  if (event.type !== 'scheduler.task.request') return;
  const { task, taskId } = event;
  if (event.summary) put(d.sectors, event.summary.number, event.summary);
  const waiter = { sector: task.sector.number, taskId };
  const workId = workIdOf(task);
  const existing = d.byWork[workId] !== undefined ? d.calls[d.byWork[workId]!] : undefined;
  if (existing?.phase === 'done' && existing.ret) {
    // finished before (maybe before a restart) and never applied: deliver, do not redo
    fx.sector.push({ number: waiter.sector, events: [resultEvent(taskId, existing.callId, existing.ret)] });
    Object.assign(d, without(d.calls, d.byWork, existing.callId));
    return;
  }
  if (existing) {
    const attached: TrackedCall = { ...existing, waiter };
    if (existing.phase === 'restored') queueCall(d, fx, attached);
    else put(d.calls, existing.callId, attached);
    return;
  }
  const callId = globalThis.crypto.randomUUID();
  const requestId = nextRequestId(d);
  const call: TrackedCall = { callId, workId, task, phase: 'starting', waiter, seq: requestId, sectorSize: sealProofInfo(task.proofType).sectorSize };
  put(d.calls, callId, call);
  put(d.byWork, workId, callId);
  put(d.writes, requestId, { op: 'start', callId });
  fx.index.push({ requestId, store: 'calls', method: 'start', args: [{ callId, workId, task }] });
});

/** The facade's answer to the requests waiting on a durable UNS call, whose result nobody else applies. */
function replyUnsealed(fx: Effects, call: TrackedCall, ret: CallReturn): void {
  for (const requestId of call.replies ?? []) {
    fx.emit.push(
      ret.ok
        ? { type: 'scheduler.reply', requestId, ok: true, value: { kind: 'unsealed', callId: call.callId, unsealedBytes: ret.result.type === 'UNS' ? ret.result.value.unsealedBytes : 0 } }
        : { type: 'scheduler.reply', requestId, ok: false, error: ret.error },
    );
  }
  fx.index.push({ requestId: NO_REPLY, store: 'calls', method: 'markReturned', args: [[call.callId]] });
}

/**
 * The piece provider asks for an unseal: attach the request to the open call of the same WorkID
 * (two retrievals of one sector unseal once), deliver a result already durable, or start a call.
 */
export const requestUnseal = step((d, fx, event) => {
  if (event.type !== 'scheduler.unseal') return;
  const { task, requestId } = event;
  if (task.type !== 'UNS') {
    fx.emit.push({ type: 'scheduler.reply', requestId, ok: false, error: failure('INVALID_ARGUMENT', `scheduler.unseal runs UNS tasks, not ${task.type}`) });
    return;
  }
  const workId = workIdOf(task);
  const existing = d.byWork[workId] !== undefined ? d.calls[d.byWork[workId]!] : undefined;
  if (existing?.phase === 'done' && existing.ret) {
    replyUnsealed(fx, { ...existing, replies: [requestId] }, existing.ret);
    Object.assign(d, without(d.calls, d.byWork, existing.callId));
    return;
  }
  if (existing) {
    const attached: TrackedCall = { ...existing, replies: [...(existing.replies ?? []), requestId] };
    if (existing.phase === 'restored') queueCall(d, fx, attached);
    else put(d.calls, existing.callId, attached);
    return;
  }
  const callId = globalThis.crypto.randomUUID();
  const writeId = nextRequestId(d);
  const call: TrackedCall = { callId, workId, task, phase: 'starting', replies: [requestId], seq: writeId, sectorSize: sealProofInfo(task.proofType).sectorSize };
  put(d.calls, callId, call);
  put(d.byWork, workId, callId);
  put(d.writes, writeId, { op: 'start', callId });
  fx.index.push({ requestId: writeId, store: 'calls', method: 'start', args: [{ callId, workId, task }] });
});

/** An index call the scheduler waited for is answered. */
function answered(d: SchedulerContext, fx: Effects, event: IndexResult): void {
  const w = d.writes[event.requestId];
  if (!w) return;
  drop(d.writes, event.requestId);
  if (w.op === 'paths') {
    pathsAnswered(d, fx, event);
    return;
  }
  if (w.op === 'holders') {
    holdersAnswered(d, fx, w.callId, event);
    return;
  }
  const call = d.calls[w.callId];
  if (!call) return;
  const tell = (e: SectorEvent) => {
    if (call.waiter) fx.sector.push({ number: call.waiter.sector, events: [e] });
  };
  if (!event.ok) {
    // the call is not durable: the sector is told it failed rather than left waiting
    const what = w.op === 'start' ? 'could not be recorded' : 'finished but its result could not be recorded';
    const error = failure('INTERNAL', `call ${call.callId} (${call.task.type}) ${what}: ${event.error.message}`);
    tell({ type: 'sector.task.failed', taskId: call.waiter?.taskId ?? '', error });
    for (const requestId of call.replies ?? []) fx.emit.push({ type: 'scheduler.reply', requestId, ok: false, error });
    Object.assign(d, without(d.calls, d.byWork, call.callId));
    return;
  }
  if (w.op === 'start') {
    if (call.aborting) {
      const f = finishWrite(d, call, { ok: false, error: failure('ABORTED', `call ${call.callId} aborted before it started`) }, 'aborted');
      Object.assign(d, f.patch);
      fx.index.push(f.call);
      return;
    }
    queueCall(d, fx, call);
    return;
  }
  // finish: durable; tell the sector now, or keep it for when the sector asks
  if (call.replies && call.ret) {
    replyUnsealed(fx, call, call.ret);
    Object.assign(d, without(d.calls, d.byWork, call.callId));
  } else if (call.waiter && call.ret) {
    tell(resultEvent(call.waiter.taskId, call.callId, call.ret));
    Object.assign(d, without(d.calls, d.byWork, call.callId));
  } else {
    put(d.calls, call.callId, { ...call, phase: 'done' });
  }
}

/** One of the scheduler's index calls committed alone in its batch. */
export const writeAnswered = step((d, fx, event) => {
  if (event.type === 'index.result') answered(d, fx, event);
});

/** Several of the scheduler's index calls committed together: each answered in the order made. */
export const writesAnswered = step((d, fx, event) => {
  if (event.type !== 'index.results') return;
  for (const r of event.results) answered(d, fx, r);
});

/**
 * A worker finished a call: free what it held on the worker and make the result durable before
 * anyone hears of it. A call whose worker was lost for good goes back to the queue instead.
 */
export const taskFinished = step((d, fx, event) => {
  if (event.type !== 'scheduler.task.finished') return;
  const call = d.calls[event.callId];
  if (call?.phase !== 'running' && call?.phase !== 'preparing') return;
  delete d.heldBy[call.callId];
  const w = call.worker !== undefined ? d.workers[call.worker] : undefined;
  if (w) {
    release(w, call.callId);
    if (!w.connected && Object.keys(w.started).length === 0) delete d.workers[w.info.id];
    else activateOn(d, fx, w); // a prepared call takes the room at once; the pass that follows fills the rest
  }
  if (call.claim) claimOn(d.storage.claims, call.claim, -1);
  requestPaths(d, fx); // space changed hands
  const lost = !call.aborting && !event.ret.ok && event.ret.error.code === 'WORKER_LOST';
  // a member of a failed batch is tried once alone (the worker's log names the batch's error)
  const solo = !call.aborting && !event.ret.ok && retriesSolo(call, event.ret.error);
  if (lost || solo) {
    if (call.phase === 'running') fx.index.push({ requestId: NO_REPLY, store: 'calls', method: 'requeue', args: [call.callId] });
    queueCall(d, fx, solo ? { ...call, solo: true } : call);
    passDue(d, fx);
    return;
  }
  // an aborted call ends aborted even if its thread finished first: the operator (or the
  // sector's removal) asked for it to be stopped, and its sector acts on that
  const ret: CallReturn = call.aborting ? { ok: false, error: failure('ABORTED', `call ${call.callId} (${call.task.type}) aborted`) } : event.ret;
  const outcome = ret.ok ? 'ok' : call.aborting ? 'aborted' : 'failed';
  const f = finishWrite(d, call, ret, outcome);
  Object.assign(d, f.patch);
  fx.index.push(f.call);
  passDue(d, fx);
});

/** Stops a call: a queued one ends at once, a started one once its thread let go. */
export const abortCall = step((d, fx, event) => {
  if (event.type !== 'scheduler.task.abort' && event.type !== 'scheduler.call.abort') return;
  const call = event.type === 'scheduler.task.abort' ? callOfWaiter(d.calls, event.sector, event.taskId) : d.calls[event.callId];
  if (event.type === 'scheduler.call.abort') {
    if (!call || call.phase === 'finishing' || call.phase === 'done') {
      fx.emit.push({ type: 'scheduler.reply', requestId: event.requestId, ok: false, error: failure('CALL_UNKNOWN', `call ${event.callId} is not queued or running`) });
      return;
    }
    fx.emit.push({ type: 'scheduler.reply', requestId: event.requestId, ok: true, value: { kind: 'call.aborting', callId: call.callId } });
  }
  if (!call) return;
  const aborted = { ok: false as const, error: failure('ABORTED', `call ${call.callId} (${call.task.type}) aborted`) };
  switch (call.phase) {
    case 'queued':
    case 'restored': {
      const f = finishWrite(d, call, aborted, 'aborted');
      Object.assign(d, f.patch);
      d.queue.remove(call.callId);
      for (const w of Object.values(d.workers)) dropFromWindows(w, call.callId);
      delete d.heldBy[call.callId];
      fx.index.push(f.call);
      passDue(d, fx);
      return;
    }
    case 'starting':
      put(d.calls, call.callId, { ...call, aborting: true });
      return;
    case 'preparing':
    case 'running':
      put(d.calls, call.callId, { ...call, aborting: true });
      fx.abort.push(call.callId);
      return;
    default:
      return;
  }
});

/** Writes `running → started` for calls whose thread died with the previous process. */
export const requeueDead = schedulerBase.createAction(
  enqueueActions(({ context, enqueue }) => {
    for (const callId of context.requeueAtStart) {
      enqueue.sendTo(indexRef, { type: 'index.call', requestId: NO_REPLY, store: 'calls', method: 'requeue', args: [callId] } satisfies IndexEvent);
    }
  }),
);
