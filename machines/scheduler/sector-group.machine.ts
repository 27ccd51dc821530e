/**
 * A sector group: the parent of up to {@link GROUP_SIZE} sector actors (sectors `k·GROUP_SIZE` to
 * `(k+1)·GROUP_SIZE − 1`), spawned by the scheduler as `group:<k>`.
 *
 * Why a level between the scheduler and its sectors: XState copies a parent's map of children on
 * every spawn and every stop, so one parent of N sectors makes starting (and stopping) N sectors
 * cost N² — 10,000 restored sectors took seconds. Under groups each copy is at most a group's
 * size. Sectors still talk to the scheduler directly (through the system, `system.get('scheduler')`);
 * the scheduler reaches a sector through its group, whose mailbox keeps the order of a sector's
 * spawn and of the events that follow it.
 *
 *   scheduler ──group.spawn {id, input} / group.deliver {id, event} / group.stop {id}──▶ group:<k> ──▶ sector:<n>
 *   group:<k> ──scheduler.sector.crashed──▶ scheduler (a sector actor failed: a bug, reported as data)
 */
import { type ErrorActorEvent, enqueueActions, setup } from 'xstate';
import { toWireError } from '../../src/errors.js';
import { type DaemonSystem, type SchedulerEvent, type SectorEvent, sectorChildId } from '../protocol.js';
import type { SectorInput } from '../sector/sector-context.js';
import { sectorMachine } from '../sector/sector.machine.js';

/** Sectors per group. */
export const GROUP_SIZE = 256;

/** Child id of the group that holds sector `number`. */
export function groupIdOf(number: number): `group:${number}` {
  return `group:${Math.floor(number / GROUP_SIZE)}`;
}

/**
 * Sends `events` to sector `number` through its group (whose mailbox keeps them in order after the
 * sector's spawn); nothing when no actor was ever spawned for it (`groups`: the groups spawned).
 */
export function sendToSector(
  groups: Readonly<Record<string, unknown>>,
  number: number,
  events: readonly SectorEvent[],
  send: (group: string, event: GroupEvent) => void,
): void {
  const group = groupIdOf(number);
  if (!groups[group]) return;
  const id = sectorChildId(number);
  for (const event of events) send(group, { type: 'group.deliver', id, event });
}

/** What a group is told. */
export type GroupEvent =
  | { type: 'group.spawn'; id: string; input: SectorInput }
  | { type: 'group.deliver'; id: string; event: SectorEvent }
  | { type: 'group.stop'; id: string };

const ERROR_PREFIX = 'xstate.error.actor.';

export const sectorGroupMachine = setup({
  types: {} as { events: GroupEvent | ErrorActorEvent },
  actors: { sector: sectorMachine },
}).createMachine({
  id: 'sectorGroup',
  on: {
    'group.spawn': {
      actions: enqueueActions(({ event, enqueue }) => {
        if (event.type !== 'group.spawn') return;
        // registered in the system under the same id, so the sector's own sends need no route
        enqueue.spawnChild('sector', { id: event.id, systemId: event.id, input: event.input });
      }),
    },
    'group.deliver': {
      actions: enqueueActions(({ event, enqueue, self }) => {
        if (event.type !== 'group.deliver') return;
        // a sector stopped meanwhile (discarded) gets nothing: sendTo an absent id would throw
        if (self.getSnapshot().children[event.id]) enqueue.sendTo(event.id, event.event);
      }),
    },
    'group.stop': {
      actions: enqueueActions(({ event, enqueue }) => {
        if (event.type === 'group.stop') enqueue.stopChild(event.id);
      }),
    },
    'xstate.error.actor.*': {
      actions: enqueueActions(({ event, enqueue }) => {
        const id = event.type.slice(ERROR_PREFIX.length);
        const number = Number(id.slice('sector:'.length));
        enqueue.sendTo(
          ({ system }) => {
            const s = (system as DaemonSystem).get('scheduler');
            if (!s) throw new Error('no scheduler actor in the system');
            return s;
          },
          { type: 'scheduler.sector.crashed', number, error: toWireError((event as { error?: unknown }).error) } satisfies SchedulerEvent,
        );
      }),
    },
  },
});
