/**
 * Dormant sectors: a sector restored in a state where it waits for nothing (Proving,
 * FaultReported, Removed) gets no actor at start. Most of a miner's sectors are Proving, and an
 * actor each would make a restart of tens of thousands of sectors slow (XState copies a parent's
 * child map on every spawn and stop) for actors that would only sit there. Such a sector's actor is
 * created when the first event for it arrives (a removal, a fault), from its record, which the
 * `dormantSectors` actor keeps until then (outside the scheduler's snapshot, which stays small).
 *
 *   scheduler ──dormant.wake {number}──▶ dormantSectors ──scheduler.sector.wake {record}──▶ scheduler
 *   (the scheduler holds the sector's events meanwhile and delivers them to the new actor in order)
 */
import { fromCallback } from 'xstate';
import type { SectorRecordDraft } from '../../src/db/sector-store.js';
import type { SectorStateName } from '../../src/sector/sector-states.js';
import type { SchedulerEvent } from '../protocol.js';

/** States in which a restored sector gets no actor until an event for it arrives. */
export const DORMANT_STATES: readonly SectorStateName[] = ['Proving', 'FaultReported', 'Removed'];

/** True for a record whose sector starts dormant. */
export function startsDormant(record: Pick<SectorRecordDraft, 'state'>): boolean {
  return DORMANT_STATES.includes(record.state);
}

/** Asks for a dormant sector's record (answered with `scheduler.sector.wake`). */
export type DormantEvent = { type: 'dormant.wake'; number: number };

/** Keeps the records of dormant sectors until they are woken. */
export function dormantSectorsLogic(records: readonly SectorRecordDraft[]) {
  return fromCallback<DormantEvent>(({ receive, sendBack }) => {
    const byNumber = new Map(records.map((r) => [r.number, r]));
    receive((e) => {
      const record = byNumber.get(e.number);
      if (!record) return;
      byNumber.delete(e.number);
      sendBack({ type: 'scheduler.sector.wake', record } satisfies SchedulerEvent);
    });
  });
}
