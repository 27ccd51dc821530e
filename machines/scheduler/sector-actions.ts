/**
 * The scheduler's actions on sectors: spawning them in their groups and sending to them, restoring,
 * waking dormant ones, adopting imported ones, placing deal pieces, pledges, packing, removal, and
 * relaying what sectors report back to the facade.
 */
import { assertEvent, enqueueActions } from 'xstate';
import { toWireError, type WireError } from '../../src/errors.js';
import { sealProofInfo } from '../../src/sector/proofs.js';
import { paddedSizeError } from '../../src/sector/sizes.js';
import { type IndexEvent, NO_REPLY, type SectorEvent, type SectorSummary, sectorChildId } from '../protocol.js';
import { adoptionRefusal } from './adoption.js';
import type { DormantEvent } from './dormant.js';
import { explicitRefusal, findSector, withPiece } from './placement.js';
import { deliveries, failure, indexRef, schedulerBase, summaryOfRecord } from './scheduler-base.js';
import { type GroupEvent, groupIdOf, sendToSector } from './sector-group.machine.js';
import { drop, put } from './tables.js';
import { without } from './call-tracker.js';

/** Spawns a sector actor in its group (the group first, when this is its first sector), then gives it `events`. */
export const spawnSector = schedulerBase.createAction(
  enqueueActions(({ context, event, enqueue }) => {
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
);

/** Sends events to a sector through its group (whose mailbox keeps them in order after its spawn). */
export const toSector = schedulerBase.createAction(
  enqueueActions(({ context, event, enqueue }) => {
    assertEvent(event, 'scheduler.sector.send');
    sendToSector(context.groups, event.number, event.events, (group, e) => enqueue.sendTo(group, e));
  }),
);

/** Spawns one actor per persisted record (each routes itself to its state) and re-queues dead calls. */
export const restoreSectors = schedulerBase.createAction(
  enqueueActions(({ context, enqueue }) => {
    for (const record of context.restore) {
      enqueue.raise({
        type: 'scheduler.sector.spawn',
        input: { miner: record.miner, number: record.number, proofType: record.proofType, record, restoredAt: context.startedAt },
      });
    }
    enqueue.assign({ restore: [] });
  }),
);

/** Places a deal piece and forwards it to its sector, creating a sector when none has room. */
export const placePiece = schedulerBase.createAction(
  enqueueActions(({ context, event, enqueue }) => {
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
);

/** A new committed-capacity sector (Lotus PledgeSector → SectorStartCC). */
export const pledge = schedulerBase.createAction(
  enqueueActions(({ context, event, enqueue }) => {
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
);

export const startPacking = schedulerBase.createAction(
  enqueueActions(({ context, event, enqueue }) => {
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
);

export const removeSector = schedulerBase.createAction(
  enqueueActions(({ context, event, enqueue }) => {
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
);

/**
 * Starts the actor of a record written outside the sectors (imported from its files), as
 * restoreSectors does; new sectors are numbered above it.
 */
export const adoptSector = schedulerBase.createAction(
  enqueueActions(({ context, event, enqueue }) => {
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
);

/** Drops the request's queued task and tells its sector; a running upload is stopped by the facade's signal. */
export const cancelRequest = schedulerBase.createAction(
  enqueueActions(({ context, event, enqueue }) => {
    assertEvent(event, 'scheduler.request.cancel');
    const pending = context.requests[event.requestId];
    if (!pending) return;
    enqueue.raise({ type: 'scheduler.sector.send', ...{ number: pending.sector, events: [{ type: 'sector.request.cancel', requestId: event.requestId }] } });
  }),
);

export const updateSummary = schedulerBase.createAction(
  enqueueActions(({ context, event, enqueue }) => {
    assertEvent(event, 'scheduler.sector.changed');
    enqueue.assign({ sectors: put(context.sectors, event.summary.number, event.summary) });
  }),
);

/** A new sector whose first piece failed: it never existed; its number is free again if it was the last. */
export const discardSector = schedulerBase.createAction(
  enqueueActions(({ context, event, enqueue }) => {
    assertEvent(event, 'scheduler.sector.discard');
    const sectors = drop(context.sectors, event.number);
    enqueue.sendTo(groupIdOf(event.number), { type: 'group.stop', id: sectorChildId(event.number) } satisfies GroupEvent);
    let { calls, byWork } = context;
    for (const c of Object.values(context.calls)) {
      if (c.task.sector.number !== event.number || c.phase !== 'done') continue;
      enqueue.sendTo(indexRef, { type: 'index.call', requestId: NO_REPLY, store: 'calls', method: 'close', args: [c.callId] } satisfies IndexEvent);
      ({ calls, byWork } = without(calls, byWork, c.callId));
    }
    enqueue.assign({ sectors, calls, byWork, nextNumber: context.nextNumber === event.number + 1 ? event.number : context.nextNumber });
  }),
);

export const replyAdded = schedulerBase.createAction(
  enqueueActions(({ context, event, enqueue }) => {
    assertEvent(event, 'scheduler.piece.added');
    const { [event.requestId]: _, ...requests } = context.requests;
    enqueue.assign({ requests });
    enqueue.emit({ type: 'scheduler.reply', requestId: event.requestId, ok: true, value: { kind: 'piece.added', sector: event.sector, piece: event.piece } });
  }),
);

export const replyFailed = schedulerBase.createAction(
  enqueueActions(({ context, event, enqueue }) => {
    assertEvent(event, 'scheduler.piece.failed');
    const { [event.requestId]: _, ...requests } = context.requests;
    enqueue.assign({ requests });
    enqueue.emit({ type: 'scheduler.reply', requestId: event.requestId, ok: false, error: event.error });
  }),
);

/** Tries another sector for a piece its sector turned down. */
export const replacePiece = schedulerBase.createAction(
  enqueueActions(({ context, event, enqueue }) => {
    assertEvent(event, 'scheduler.piece.failed');
    const pending = context.requests[event.requestId];
    if (pending) enqueue.raise({ type: 'scheduler.addPiece', ...pending.request });
  }),
);

export const numbersSeen = schedulerBase.createAction(
  enqueueActions(({ context, event, enqueue }) => {
    assertEvent(event, 'scheduler.numbers.seen');
    if (event.max + 1 > context.nextNumber) enqueue.assign({ nextNumber: event.max + 1 });
  }),
);

export const filesMissing = schedulerBase.createAction(
  enqueueActions(({ context, event, enqueue }) => {
    assertEvent(event, 'scheduler.files.missing');
    const items = event.sectors
      .filter((x) => context.sectors[x.number])
      .map((x) => ({ number: x.number, event: { type: 'sector.files.missing', message: x.message } as SectorEvent }));
    const d = deliveries(context, items);
    enqueue.assign(d.patch);
    for (const x of d.send) enqueue.raise({ type: 'scheduler.sector.send', ...{ number: x.number, events: [x.event] } });
    for (const n of d.wake) enqueue.sendTo('dormant', { type: 'dormant.wake', number: n } satisfies DormantEvent);
  }),
);

/** A dormant sector's record arrived: its actor is created and gets the events held for it. */
export const wakeSector = schedulerBase.createAction(
  enqueueActions(({ context, event, enqueue }) => {
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
);

/** A sector actor crashed (a bug): fail what waits on it and stop placing pieces there. */
export const sectorCrashed = schedulerBase.createAction(
  enqueueActions(({ context, event, enqueue }) => {
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
);

/** Refuses a command while the index is down. */
export const refuse = schedulerBase.createAction(
  enqueueActions(({ context, event, enqueue }) => {
    if (!('requestId' in event) || typeof event.requestId !== 'string' || event.type === 'scheduler.request.cancel') return;
    enqueue.emit({
      type: 'scheduler.reply',
      requestId: event.requestId,
      ok: false,
      error: failure('INTERNAL', `the index actor stopped: ${context.indexError?.message ?? 'unknown error'}`),
    });
  }),
);

/** Tells each faulty Proving sector CheckProvable's verdict, waking dormant ones. */
export const reportFaults = schedulerBase.createAction(
  enqueueActions(({ context, event, enqueue }) => {
    assertEvent(event, 'scheduler.faults');
    const items = event.faulty
      .filter((f) => context.sectors[f.number]?.state === 'Proving')
      .map((f) => ({ number: f.number, event: { type: 'sector.faulty', reason: f.reason } as SectorEvent }));
    const d = deliveries(context, items);
    enqueue.assign(d.patch);
    for (const x of d.send) enqueue.raise({ type: 'scheduler.sector.send', number: x.number, events: [x.event] });
    for (const n of d.wake) enqueue.sendTo('dormant', { type: 'dormant.wake', number: n } satisfies DormantEvent);
  }),
);
