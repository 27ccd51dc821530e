/**
 * The scheduler: root of the actor system (`systemId: 'scheduler'`), supervising everything else.
 * It
 * - invokes the index actor (`systemId: 'index'`, the single SQLite writer);
 * - spawns one sector actor per sector (`sector:<n>`), restored from the records it is started
 *   with, and new ones for pieces no open sector has room for, for pledges, and for records the
 *   operator imported from a sector's files (`scheduler.sector.adopt`);
 * - places deal pieces and relays each outcome to the facade as one emitted `scheduler.reply`;
 * - runs the tasks sectors ask for: every task is a tracked call (scheduler/call-tracker.ts), queued
 *   in Lotus's order (scheduler/task-queue.ts) and placed by scheduling passes in the windows of
 *   the workers whose selectors accept it and whose resources can hold it
 *   (docs/design/scheduler.md; scheduler/sched-pass.ts), and run by its `tasks` child
 *   (actors/worker-tasks.actor.ts) on the worker the pass chose;
 * - keeps the workers (`scheduler.worker.*`) and a view of the storage paths' space;
 * - runs CheckProvable over the Proving sectors every `checkProvableMs` and reports the bad ones.
 *
 * Ordering that makes a SIGKILL safe (docs/design/sealing-daemon.md §4): a call is queued only
 * once `calls.start` is committed, and a sector hears of a result only once `calls.finish` is
 * committed; the sector's own save marks the call returned in the same transaction as the record
 * that holds the result. At start, calls still open are restored: a done result is delivered
 * when its sector asks for the same work again, a call that was running is queued again, and
 * calls no sector asks for within `restoreGraceMs` are closed.
 *
 * The actions live by concern: scheduler/sector-actions.ts (sectors, pieces, pledges, removal,
 * dormant and adopted sectors), scheduler/call-actions.ts (the call tracker),
 * scheduler/sched-actions.ts (placement and passes), scheduler/worker-actions.ts (workers and
 * their operator control), over the types and named actors of scheduler/scheduler-base.ts.
 */
import { type DoneActorEvent, assertEvent, enqueueActions, raise, sendTo, setup, spawnChild, stopChild } from 'xstate';
import type { ClockEvent } from './scheduler/sched-clock.machine.js';
import { toWireError } from '../src/errors.js';
import { sealProofInfo } from '../src/sector/proofs.js';
import { type SchedulerEvent, type SchedulerReply, TASKS_CHILD } from './protocol.js';
import * as callActions from './scheduler/call-actions.js';
import { restoredCalls } from './scheduler/call-tracker.js';
import {
  MAX_PLACEMENTS,
  type SchedulerContext,
  type SchedulerInput,
  schedulerActors,
  summaryOfRecord,
} from './scheduler/scheduler-base.js';
import * as sectorActions from './scheduler/sector-actions.js';
import * as schedActions from './scheduler/sched-actions.js';
import { pc1BatchState } from './scheduler/pc1-batch.js';
import { emptyStorageView } from './scheduler/storage-view.js';
import { TaskQueue } from './scheduler/task-queue.js';
import * as workerActions from './scheduler/worker-actions.js';

export type { PendingRequest, SchedulerContext, SchedulerInput } from './scheduler/scheduler-base.js';

export const schedulerMachine = setup({
  types: {} as {
    context: SchedulerContext;
    events: SchedulerEvent;
    input: SchedulerInput;
    emitted: SchedulerReply;
  },
  actors: schedulerActors,
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
    ...sectorActions,
    ...callActions,
    taskPrepared: schedActions.taskPrepared,
    schedPass: schedActions.schedPass,
    pc1Waited: schedActions.pc1WaitOver,
    refreshStorage: schedActions.refreshStorage,
    schedStart: schedActions.schedStart,
    ...workerActions,
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
      initWaitMs: input.initWaitMs ?? 0,
      storageRefreshMs: input.storageRefreshMs ?? 10_000,
      restore: input.records,
      sectors: Object.fromEntries([...input.records, ...(input.dormant ?? [])].map((r) => [r.number, summaryOfRecord(r)])),
      requests: {},
      calls: restored.calls,
      byWork: restored.byWork,
      queue: new TaskQueue(),
      workers: {},
      heldBy: {},
      storage: emptyStorageView(),
      storageReading: false,
      storageStale: false,
      schedReady: false,
      passDue: false,
      passes: 0,
      writes: {},
      groups: {},
      dormant: Object.fromEntries((input.dormant ?? []).map((d) => [d.number, true as const])),
      waking: {},
      seq: (input.openCalls ?? []).length,
      requeueAtStart: restored.requeue,
      pc1Batch: pc1BatchState(input.pc1BatchSize, input.pc1BatchWaitMs),
    };
  },
  // The index is invoked on the root so it exists before `running`'s entry spawns the sectors
  // (entry actions run before a state's own invocations start).
  invoke: [
    {
      id: 'index',
      systemId: 'index',
      src: 'index',
      onError: {
        target: '.indexFailed',
        actions: enqueueActions(({ event, enqueue }) => enqueue.assign({ indexError: toWireError(event.error) })),
      },
    },
    // the tick that runs a pass marked due, after the events of the current turn (scheduler/sched-tick.ts)
    { id: 'schedTick', src: 'schedTick' },
    // runs the started calls on their workers (actors/worker-tasks.actor.ts); on the root, so the
    // calls keep running while commands are refused after the index failed
    { id: TASKS_CHILD, src: 'workerTasks' },
  ],
  initial: 'running',
  states: {
    /**
     * Normal operation. Its timers (the start-up grace, InitWait, the path view's refresh,
     * CheckProvable) run in the `schedClock` child, which tells it when each is due: a flat state
     * keeps every event cheap (machines/scheduler/sched-clock.machine.ts says why).
     */
    running: {
      invoke: [
        { id: 'dormant', src: 'dormantSectors' },
        {
          id: 'schedClock',
          src: 'schedClock',
          input: ({ context }) => ({
            restoreGraceMs: context.restoreGraceMs,
            initWaitMs: context.initWaitMs,
            storageRefreshMs: context.storageRefreshMs,
            checkProvableMs: context.checkProvableMs,
          }),
        },
      ],
      entry: ['requeueDead', 'refreshStorage', 'restoreSectors'],
      on: {
        'scheduler.addPiece': { actions: 'placePiece' },
        'scheduler.pledge': { actions: 'pledge' },
        'scheduler.startPacking': { actions: 'startPacking' },
        'scheduler.remove': { actions: 'removeSector' },
        'scheduler.sector.adopt': { actions: 'adoptSector' },
        'scheduler.request.cancel': { actions: 'cancelRequest' },
        'scheduler.task.request': { actions: 'requestTask' },
        'scheduler.unseal': { actions: 'requestUnseal' },
        'scheduler.task.abort': { actions: 'abortCall' },
        'scheduler.call.abort': { actions: 'abortCall' },
        'scheduler.task.prepared': { actions: 'taskPrepared' },
        'scheduler.task.finished': { actions: 'taskFinished' },
        'index.result': { actions: 'writeAnswered' },
        'index.results': { actions: 'writesAnswered' },
        'scheduler.worker.connected': { actions: 'workerConnected' },
        'scheduler.worker.disconnected': { actions: 'workerDisconnected' },
        'scheduler.worker.enable': { actions: 'workerEnable' },
        'scheduler.worker.disable': { actions: 'workerEnable' },
        'scheduler.worker.cordon': { actions: 'workerCordon' },
        'scheduler.worker.uncordon': { actions: 'workerCordon' },
        'scheduler.sched.poke': { actions: 'schedPoke' },
        'scheduler.sched.pass': { actions: 'schedPass' },
        'scheduler.pc1.waited': { actions: 'pc1Waited' },
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
        'scheduler.faults': { actions: 'reportFaults' },
        'scheduler.restore.over': { actions: 'closeUnclaimed' },
        'scheduler.sched.start': { actions: 'schedStart' },
        'scheduler.storage.refresh': { actions: 'refreshStorage' },
        'scheduler.workers.open': { actions: sendTo('schedClock', { type: 'clock.workers.open' } satisfies ClockEvent) },
        'scheduler.prover.due': [
          {
            guard: 'hasProving',
            actions: spawnChild('checkProvable', {
              id: 'checkProvable',
              input: ({ context }) => ({
                miner: context.miner,
                numbers: Object.values(context.sectors)
                  .filter((s) => s.state === 'Proving')
                  .map((s) => s.number),
              }),
            }),
          },
          { actions: sendTo('schedClock', { type: 'clock.prover.done' } satisfies ClockEvent) },
        ],
        'xstate.done.actor.checkProvable': {
          actions: [
            raise(({ event }) => ({ type: 'scheduler.faults' as const, faulty: (event as DoneActorEvent<{ number: number; reason: string }[]>).output })),
            stopChild('checkProvable'),
            sendTo('schedClock', { type: 'clock.prover.done' } satisfies ClockEvent),
          ],
        },
        'xstate.error.actor.checkProvable': {
          actions: [stopChild('checkProvable'), sendTo('schedClock', { type: 'clock.prover.done' } satisfies ClockEvent)],
        },
      },
    },
    /** The index actor failed: nothing can be persisted, so every command is refused. */
    indexFailed: {
      on: { 'scheduler.*': { actions: 'refuse' } },
    },
  },
});

export type SchedulerMachine = typeof schedulerMachine;
