/**
 * A harness for the scheduler machine on a SimulatedClock: real sector machines (their chain and
 * file actors held as deferreds), a fake index actor over a real CallStore in an in-memory
 * database (so call-tracker transitions are checked by the real store), and a fake worker whose
 * runs the test finishes by hand.
 */
import { createActor, fromCallback, fromPromise, SimulatedClock } from 'xstate';
import type { IndexEvent, SchedulerReply, TaskActorEvent } from '../../machines/protocol.js';
import { type SchedulerInput, schedulerMachine } from '../../machines/scheduler.machine.js';
import { sectorGroupMachine } from '../../machines/scheduler/sector-group.machine.js';
import type { SectorLogInput as LogEntryDraft, SectorRecordDraft } from '../../src/db/sector-store.js';
import { sectorMachine } from '../../machines/sector/sector.machine.js';
import { CallStore } from '../../src/db/call-store.js';
import { type Db, openDatabase } from '../../src/db/database.js';
import { toWireError, type WireError } from '../../src/errors.js';
import type { CallReturn } from '../../src/tasks/calls.js';
import type { Task, TaskOutputs, TaskType } from '../../src/tasks/task-types.js';

export interface Run {
  callId: string;
  task: Task;
  worker: string;
  aborted: boolean;
  finish(ret: CallReturn): void;
}

export interface Held {
  src: string;
  input: unknown;
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

export interface SchedulerHarnessOptions extends Partial<Omit<SchedulerInput, 'worker'>> {
  threads?: number;
  /** Holds the index's answers to `calls.*` until `answer()`. */
  holdCalls?: boolean;
  /** An existing call store (to restart over the same calls). */
  db?: Db;
  faulty?: (numbers: number[]) => { number: number; reason: string }[];
}

export function schedulerHarness(options: SchedulerHarnessOptions = {}) {
  const clock = new SimulatedClock();
  const db: Db = options.db ?? openDatabase(':memory:');
  let now = 1_000;
  const calls = new CallStore(db, { now: () => now });
  const saves: { record: SectorRecordDraft; applied: string[]; log: LogEntryDraft[] }[] = [];
  const runs: Run[] = [];
  const held: Held[] = [];
  const heldAnswers: (() => void)[] = [];
  const indexLog: { store: string; method: string; args: unknown[] }[] = [];
  const replies: SchedulerReply[] = [];
  const checks: number[][] = [];
  const hold = (src: string) =>
    fromPromise<unknown, unknown>(({ input }) => new Promise((resolve, reject) => held.push({ src, input, resolve, reject })));
  const sector = sectorMachine.provide({
    actors: {
      computeCommD: fromPromise(async ({ input }) => `commd-of-${(input as { pieces: unknown[] }).pieces.length}`),
      chainGetTicket: hold('chainGetTicket'),
      chainSubmitPreCommit: hold('chainSubmitPreCommit'),
      chainWaitPreCommit: hold('chainWaitPreCommit'),
      chainWaitSeed: hold('chainWaitSeed'),
      chainSubmitCommit: hold('chainSubmitCommit'),
      chainWaitCommit: hold('chainWaitCommit'),
      chainPreCommitInfo: hold('chainPreCommitInfo'),
      chainDeclareFault: hold('chainDeclareFault'),
      removeFiles: hold('removeFiles'),
    } as never,
  });
  const index = fromCallback<IndexEvent>(({ receive }) => {
    receive((e) => {
      if (e.type !== 'index.call') return;
      indexLog.push({ store: e.store, method: e.method, args: e.args as unknown[] });
      let answer: { ok: true; value: unknown } | { ok: false; error: WireError };
      try {
        if (e.store === 'calls') {
          const fn = (calls as unknown as Record<string, (...a: unknown[]) => unknown>)[e.method]!;
          answer = { ok: true, value: fn.apply(calls, e.args as unknown[]) };
        } else if (e.store === 'sectors' && e.method === 'save') {
          const [record, opts] = e.args as unknown as [SectorRecordDraft, { applied: string[]; log: LogEntryDraft[] }];
          db.transaction(() => calls.markReturned(opts.applied))();
          saves.push(structuredClone({ record, applied: opts.applied, log: opts.log }));
          answer = { ok: true, value: undefined };
        } else if (e.store === 'sectors' && e.method === 'note') {
          const [, number, opts] = e.args as unknown as [number, number, { applied: string[]; log: LogEntryDraft[] }];
          db.transaction(() => calls.markReturned(opts.applied))();
          const last = [...saves].reverse().find((x) => x.record.number === number)?.record ?? options.records?.find((r) => r.number === number);
          if (last) saves.push(structuredClone({ record: last, applied: opts.applied, log: opts.log }));
          answer = { ok: true, value: undefined };
        } else {
          answer = { ok: false, error: { code: 'INTERNAL', message: `fake index: no ${e.store}.${e.method}` } };
        }
      } catch (err) {
        answer = { ok: false, error: toWireError(err) };
      }
      const { replyTo, requestId } = e;
      if (!replyTo) return;
      const send = () => replyTo.send({ type: 'index.result', requestId, ...answer } as never);
      if (options.holdCalls && e.store === 'calls') heldAnswers.push(send);
      else send();
    });
  });
  const workerTask = fromCallback<TaskActorEvent, { callId: string; task: Task; worker: string }>(({ input, sendBack, receive }) => {
    const run: Run = {
      ...input,
      aborted: false,
      finish: (ret) => sendBack({ type: 'scheduler.task.finished', callId: input.callId, ret }),
    };
    runs.push(run);
    receive(() => {
      run.aborted = true;
    });
  });
  const checkProvable = fromPromise<{ number: number; reason: string }[], { miner: number; numbers: number[] }>(async ({ input }) => {
    checks.push(input.numbers);
    return options.faulty?.(input.numbers) ?? [];
  });
  const machine = schedulerMachine.provide({
    actors: { index, sectorGroup: sectorGroupMachine.provide({ actors: { sector } }), workerTask, checkProvable },
  });
  const root = createActor(machine, {
    clock,
    systemId: 'scheduler',
    input: {
      miner: options.miner ?? 1000,
      proofType: options.proofType ?? 0,
      worker: { id: 'local', hostname: 'test-host', threads: options.threads ?? 2 },
      records: options.records ?? [],
      openCalls: options.openCalls ?? calls.open(),
      nextNumber: options.nextNumber ?? 0,
      startedAt: options.startedAt ?? 0,
      restoreGraceMs: options.restoreGraceMs ?? 0,
      checkProvableMs: options.checkProvableMs ?? 600_000,
    },
  });
  root.on('scheduler.reply', (r) => replies.push(r));
  root.start();
  const flush = async () => {
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  };
  let reqSeq = 0;
  const h = {
    root,
    clock,
    calls,
    saves,
    runs,
    held,
    indexLog,
    replies,
    checks,
    flush,
    setNow: (ms: number) => {
      now = ms;
    },
    /** Releases held `calls.*` answers, in order. */
    answer: () => {
      for (const a of heldAnswers.splice(0)) a();
    },
    /** The newest run of a task type. */
    run: (type: TaskType): Run => {
      const r = runs.filter((x) => x.task.type === type).at(-1);
      if (!r) throw new Error(`no ${type} run`);
      return r;
    },
    /** Finishes the newest run of `type` successfully. */
    finish: async <T extends TaskType>(type: T, value: TaskOutputs[T]) => {
      h.run(type).finish({ ok: true, result: { type, value } as never });
      await flush();
    },
    heldOf: (src: string) => {
      const x = held.filter((i) => i.src === src).at(-1);
      if (!x) throw new Error(`nothing held for ${src}`);
      return x;
    },
    /** Sends a command with a fresh request id; returns the id. */
    send: (e: Record<string, unknown> & { type: string }) => {
      const requestId = `req-${++reqSeq}`;
      root.send({ requestId, ...e } as never);
      return requestId;
    },
    reply: (requestId: string) => replies.find((r) => r.requestId === requestId),
    /** Sends a command and returns its reply once the actors settled (undefined if none yet). */
    request: async (e: Record<string, unknown> & { type: string }) => {
      const requestId = h.send(e);
      await flush();
      return h.reply(requestId);
    },
    /** The ids of the sector actors, under every group, sorted. */
    sectorIds: (): string[] =>
      Object.values(root.getSnapshot().children)
        .filter((g) => g?.id.startsWith('group:'))
        .flatMap((g) => Object.keys((g!.getSnapshot() as { children: Record<string, unknown> }).children))
        .sort(),
    sectorState: (n: number) => {
      const ref = root.system.get(`sector:${n}`) as { getSnapshot(): { status: string; context: { state: string } } } | undefined;
      return ref?.getSnapshot().status === 'active' ? ref.getSnapshot().context.state : undefined;
    },
    stop: () => root.stop(),
  };
  return h;
}

export type SchedulerHarness = ReturnType<typeof schedulerHarness>;
