/**
 * A pure harness for the sector machine: a parent that registers a fake index actor (recording
 * every record written) and spawns one sector, recording every event the sector sends upward.
 * Tests answer the sector's task requests by hand.
 */
import { type ActorRefFrom, createActor, fromCallback, fromPromise, setup, spawnChild } from 'xstate';
import type { AddPieceTask, IndexEvent, IndexResult, SchedulerSectorEvent, SectorEvent } from '../../machines/protocol.js';
import { type CommDInput, type SectorInput, sectorMachine } from '../../machines/sector.machine.js';
import type { WireError } from '../../src/errors.js';
import type { SectorRecordDraft } from '../../src/db/sector-store.js';

export interface HarnessOptions {
  commD?: (input: CommDInput) => Promise<string>;
  /** Makes the fake index fail a save (answered `index.result` with `ok: false` and this error, not recorded). */
  failSave?: (record: SectorRecordDraft) => WireError | undefined;
  /** Holds the index's answers back until `answerSaves()` (as a slow commit would). */
  holdAnswers?: boolean;
}

export function sectorHarness(input: SectorInput, options: HarnessOptions = {}) {
  const saves: SectorRecordDraft[] = [];
  const failedSaves: SectorRecordDraft[] = [];
  const held: (() => void)[] = [];
  const up: SchedulerSectorEvent[] = [];
  const commDCalls: CommDInput[] = [];
  const sector = sectorMachine.provide({
    actors: {
      computeCommD: fromPromise<string, CommDInput>(async ({ input: i }) => {
        commDCalls.push(i);
        return options.commD ? options.commD(i) : `commd-of-${i.pieces.length}`;
      }),
    },
  });
  const parent = setup({
    actors: {
      sector,
      index: fromCallback<IndexEvent>(({ receive }) => {
        // answers every save at once, as the real index does after its commit
        receive((e) => {
          if (e.type !== 'index.call' || e.store !== 'sectors' || e.method !== 'save') return;
          const [record] = e.args;
          const error = options.failSave?.(record);
          if (error) failedSaves.push(structuredClone(record));
          else saves.push(structuredClone(record));
          const { replyTo, requestId } = e;
          if (!replyTo) return;
          const result: IndexResult = error
            ? { type: 'index.result', requestId, ok: false, error }
            : { type: 'index.result', requestId, ok: true, value: { ...record, lastLogAt: 0, updatedAt: 0 } };
          const answer = () => replyTo.send(result);
          if (options.holdAnswers) held.push(answer);
          else answer();
        });
      }),
    },
  }).createMachine({
    invoke: { src: 'index', systemId: 'index' },
    initial: 'on',
    states: {
      on: {
        entry: spawnChild('sector', { id: 'sector', input }),
        on: { '*': { actions: ({ event }) => up.push(event as SchedulerSectorEvent) } },
      },
    },
  });
  const root = createActor(parent).start();
  const ref = () => root.getSnapshot().children.sector as ActorRefFrom<typeof sector>;
  const context = () => ref().getSnapshot().context;
  const send = (e: SectorEvent) => ref().send(e);
  const of = <T extends SchedulerSectorEvent['type']>(type: T) =>
    up.filter((e): e is Extract<SchedulerSectorEvent, { type: T }> => e.type === type);
  const tasks = (): AddPieceTask[] => of('scheduler.task.request').map((e) => e.task);
  const lastTask = (): AddPieceTask => {
    const t = tasks().at(-1);
    if (!t) throw new Error('no task requested');
    return t;
  };
  /** Completes the last requested task with a fake commitment. */
  const finish = (task: AddPieceTask = lastTask(), payloadSize = task.payloadSize) =>
    send({
      type: 'sector.task.done',
      taskId: task.id,
      output: {
        pieceCid: `cid-${task.pieceSize}@${task.paddedOffset}`,
        pieceCidV2: `cidv2-${task.pieceSize}@${task.paddedOffset}`,
        paddedSize: task.pieceSize,
        payloadSize,
      },
    });
  /** Completes requested tasks until none is outstanding. */
  const finishAll = () => {
    for (let i = 0; i < 1000 && context().taskId !== undefined; i++) finish();
  };
  const h = {
    root,
    saves,
    failedSaves,
    /** Sends every held answer, in order. */
    answerSaves: () => {
      for (const a of held.splice(0)) a();
    },
    up,
    commDCalls,
    ref,
    snapshot: () => ref().getSnapshot(),
    value: () => ref().getSnapshot().value,
    context,
    send,
    lastSave: () => saves.at(-1),
    of,
    tasks,
    lastTask,
    finish,
    finishAll,
    stop: () => root.stop(),
  };
  return h;
}
