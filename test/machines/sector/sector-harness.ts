/**
 * A pure harness for the sector machine: a parent on a SimulatedClock that registers a fake index
 * actor (recording every save, answering `index.result` after the "commit"), spawns one sector,
 * records every event the sector sends upward, and holds every chain/file actor invocation as a
 * deferred the test settles by hand. Tests answer the sector's task requests by hand too.
 */
import { type ActorRefFrom, createActor, fromCallback, fromPromise, setup, SimulatedClock, spawnChild } from 'xstate';
import type { IndexEvent, SchedulerSectorEvent, SectorEvent } from '../../../machines/protocol.js';
import type { SectorLogInput as LogEntryDraft, SectorRecordDraft } from '../../../src/db/sector-store.js';
import type { SectorInput } from '../../../machines/sector/sector-context.js';
import { sectorMachine } from '../../../machines/sector/sector.machine.js';
import type { CommDInput } from '../../../machines/sector/sector-setup.js';
import type { WireError } from '../../../src/errors.js';
import type { Task, TaskOutputs, TaskType } from '../../../src/tasks/task-types.js';

/** One invocation of a named actor, settled by the test. */
export interface Invocation {
  src: string;
  input: unknown;
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

export interface HarnessOptions {
  /** Makes the fake index fail a save (answered with this error, not recorded). */
  failSave?: (record: SectorRecordDraft) => WireError | undefined;
  /** Holds the index's answers back until `answerSaves()` (as a slow commit would). */
  holdAnswers?: boolean;
  /** Settles these actors at once instead of holding them (e.g. computeCommD). */
  auto?: Partial<Record<string, (input: never) => unknown>>;
}

export interface Save {
  record: SectorRecordDraft;
  applied: string[];
  log: LogEntryDraft[];
}

const ACTORS = [
  'computeCommD',
  'chainGetTicket',
  'chainSubmitPreCommit',
  'chainWaitPreCommit',
  'chainWaitSeed',
  'chainSubmitCommit',
  'chainWaitCommit',
  'chainPreCommitInfo',
  'chainDeclareFault',
  'removeFiles',
] as const;

/** A restored record as a sector would write it (the store stamps lastLogAt). */
function withoutStamps(r: SectorRecordDraft & { lastLogAt?: number }): SectorRecordDraft {
  const { lastLogAt: _, ...rest } = r;
  return rest;
}

export function sectorHarness(input: SectorInput, options: HarnessOptions = {}) {
  const clock = new SimulatedClock();
  const saves: Save[] = [];
  const failedSaves: SectorRecordDraft[] = [];
  const held: (() => void)[] = [];
  const up: SchedulerSectorEvent[] = [];
  const invocations: Invocation[] = [];
  const defaults: Record<string, (input: never) => unknown> = {
    computeCommD: (i: CommDInput) => `commd-of-${i.pieces.length}`,
  };
  const auto = { ...defaults, ...options.auto };
  const actors = Object.fromEntries(
    ACTORS.map((src) => [
      src,
      fromPromise<unknown, unknown>(({ input: i }) => {
        const fn = auto[src];
        if (fn) return Promise.resolve(fn(i as never));
        return new Promise((resolve, reject) => invocations.push({ src, input: i, resolve, reject }));
      }),
    ]),
  );
  const sector = sectorMachine.provide({ actors: actors as never });
  const parent = setup({
    actors: {
      sector,
      index: fromCallback<IndexEvent>(({ receive }) => {
        receive((e) => {
          if (e.type !== 'index.call' || e.store !== 'sectors' || (e.method !== 'save' && e.method !== 'note')) return;
          // a note appends to the log of the record as it is: recorded as a save of that record
          const [record, opts] =
            e.method === 'save'
              ? (e.args as unknown as [SectorRecordDraft, { applied: string[]; log: LogEntryDraft[] }])
              : [saves.at(-1)?.record ?? withoutStamps(input.record!), (e.args as unknown as [number, number, { applied: string[]; log: LogEntryDraft[] }])[2]];
          const error = options.failSave?.(record);
          if (error) failedSaves.push(structuredClone(record));
          else saves.push(structuredClone({ record, applied: opts.applied, log: opts.log }));
          const { replyTo, requestId } = e;
          if (!replyTo) return;
          const answer = () =>
            replyTo.send(error ? { type: 'index.result', requestId, ok: false, error } : { type: 'index.result', requestId, ok: true, value: undefined });
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
  // sectors report to the system's scheduler: the harness's parent stands in for it
  const root = createActor(parent, { clock, systemId: 'scheduler' }).start();
  const ref = () => root.getSnapshot().children.sector as ActorRefFrom<typeof sector> | undefined;
  const context = () => ref()!.getSnapshot().context;
  const send = (e: SectorEvent) => ref()!.send(e);
  const of = <T extends SchedulerSectorEvent['type']>(type: T) =>
    up.filter((e): e is Extract<SchedulerSectorEvent, { type: T }> => e.type === type);
  const requests = () => of('scheduler.task.request');
  /** Every summary told to the scheduler, in order: in `sector.changed`, or riding on a task request. */
  const summaries = () =>
    up.flatMap((e) => (e.type === 'scheduler.sector.changed' ? [e.summary] : e.type === 'scheduler.task.request' && e.summary ? [e.summary] : []));
  const lastRequest = () => {
    const r = requests().at(-1);
    if (!r) throw new Error('no task requested');
    return r;
  };
  let callSeq = 0;
  /** Completes the last requested task with `value` (a fresh call id each time). */
  const finish = <T extends TaskType>(type: T, value: TaskOutputs[T], callId = `call-${++callSeq}`) => {
    const r = lastRequest();
    if (r.task.type !== type) throw new Error(`the last request is ${r.task.type}, not ${type}`);
    send({ type: 'sector.task.done', taskId: r.taskId, callId, result: { type, value } as never });
    return callId;
  };
  const fail = (code: WireError['code'], message = 'it failed', callId = `call-${++callSeq}`) => {
    const r = lastRequest();
    send({ type: 'sector.task.failed', taskId: r.taskId, callId, error: { code, message } });
    return callId;
  };
  /** The pending invocation of `src` (the newest). */
  const invocation = (src: string): Invocation => {
    const i = invocations.filter((x) => x.src === src).at(-1);
    if (!i) throw new Error(`no invocation of ${src}`);
    return i;
  };
  /** Lets promise callbacks run (actors settle in microtasks). */
  const flush = async () => {
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  };
  return {
    root,
    clock,
    saves,
    failedSaves,
    up,
    invocations,
    ref,
    context,
    send,
    of,
    summaries,
    requests,
    lastRequest,
    lastTask: (): Task => lastRequest().task,
    finish,
    fail,
    invocation,
    flush,
    answerSaves: () => {
      for (const a of held.splice(0)) a();
    },
    value: () => ref()!.getSnapshot().value,
    state: () => context().state,
    lastSave: () => saves.at(-1),
    /** Every log kind written, in order. */
    logKinds: () => saves.flatMap((s) => s.log.map((l) => l.kind)),
    stop: () => root.stop(),
  };
}

export type SectorHarness = ReturnType<typeof sectorHarness>;
