/**
 * A harness for the scheduler machine on a SimulatedClock: real sector machines (their chain and
 * file actors held as deferreds), a fake index actor over a real CallStore and a real
 * StorageCatalog in an in-memory database (so call-tracker transitions and selectors' storage
 * facts come from the real stores), and fake workers whose runs the test finishes by hand. A
 * finished run declares the files its task type creates on its worker's first path, as a real
 * worker would.
 */
import { createActor, fromCallback, fromPromise, SimulatedClock } from 'xstate';
import type { IndexEvent, SchedulerReply, TaskActorEvent, TaskStart } from '../../machines/protocol.js';
import { type SchedulerInput, schedulerMachine } from '../../machines/scheduler.machine.js';
import { sectorGroupMachine } from '../../machines/scheduler/sector-group.machine.js';
import type { SectorLogInput as LogEntryDraft, SectorRecordDraft } from '../../src/db/sector-store.js';
import { sectorMachine } from '../../machines/sector/sector.machine.js';
import { CallStore } from '../../src/db/call-store.js';
import { type Db, openDatabase } from '../../src/db/database.js';
import { toWireError, type WireError } from '../../src/errors.js';
import type { CallReturn } from '../../src/tasks/calls.js';
import { TASK_TYPES, type Task, type TaskOutputs, type TaskType } from '../../src/tasks/task-types.js';
import type { WorkerInfo, WorkerResources } from '../../src/tasks/worker-info.js';
import { StorageCatalog } from '../../src/db/storage-catalog.js';
import { FileType } from '../../src/sector/sector-id.js';

export interface Run {
  callId: string;
  task: Task;
  worker: string;
  /** The PC1 batch it runs in (machines/scheduler/pc1-batch.ts). */
  batch?: { id: string; calls: readonly string[] };
  aborted: boolean;
  finish(ret: CallReturn): void;
}

/** A started call whose prepare step the test releases by hand (option `holdPrepare`). */
export interface Preparing {
  callId: string;
  task: Task;
  worker: string;
  aborted: boolean;
  prepared(): void;
  fail(error: WireError): void;
}

/** Generous resources: nothing but threads limits a task unless a test says otherwise. */
export const BIG: WorkerResources = { cpus: 2, memPhysical: 2 ** 40, memSwap: 0, memReserved: 0, gpus: [] };

/** A worker with every task type and the harness's storage path. */
export function workerInfo(id: string, over: Partial<WorkerInfo> = {}): WorkerInfo {
  return { id, hostname: `${id}-host`, taskTypes: [...TASK_TYPES], resources: BIG, ignoreResources: false, paths: [HARNESS_PATH], ...over };
}

/** The storage path the harness attaches (sealing and storage, 1 TiB available). */
export const HARNESS_PATH = 'seal-1';

export interface Held {
  src: string;
  input: unknown;
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

export interface SchedulerHarnessOptions extends Partial<SchedulerInput> {
  /** Threads of the default local worker. @default 2 */
  threads?: number;
  /** The workers connected at start. @default one `local` worker with every task type */
  workers?: WorkerInfo[];
  /** Paths attached to the catalog. @default one `seal-1` of 1 TiB, sealing and storage */
  paths?: { id: string; available: number; canSeal?: boolean; canStore?: boolean; weight?: number }[];
  /** Started calls wait for `prepared()` instead of finishing their prepare step at once. */
  holdPrepare?: boolean;
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
  // the catalog's clock stands still: the paths' heartbeats stay fresh whatever the test's time
  const catalog = new StorageCatalog(db, { clock: { now: () => 0 } });
  for (const p of options.paths ?? [{ id: HARNESS_PATH, available: 2 ** 40 }]) {
    const info = { ID: p.id, URLs: [], Weight: p.weight ?? 10, MaxStorage: 0, CanSeal: p.canSeal ?? true, CanStore: p.canStore ?? true };
    const stat = { Capacity: p.available, Available: p.available, FSAvailable: p.available, Reserved: 0, Max: 0, Used: 0 };
    catalog.storageAttach(info, stat);
  }
  const preparing: Preparing[] = [];
  const workersById = new Map<string, WorkerInfo>();
  const saves: { record: SectorRecordDraft; applied: string[]; log: LogEntryDraft[] }[] = [];
  const runs: Run[] = [];
  const held: Held[] = [];
  const heldAnswers: (() => void)[] = [];
  /** Every index call, and whether its sender asked for the answer (gave `replyTo`). */
  const indexLog: { store: string; method: string; args: unknown[]; answered: boolean }[] = [];
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
      indexLog.push({ store: e.store, method: e.method, args: e.args as unknown[], answered: e.replyTo !== undefined });
      let answer: { ok: true; value: unknown } | { ok: false; error: WireError };
      try {
        if (e.store === 'calls' || e.store === 'catalog') {
          const store = e.store === 'calls' ? calls : catalog;
          const fn = (store as unknown as Record<string, (...a: unknown[]) => unknown>)[e.method]!;
          answer = { ok: true, value: fn.apply(store, e.args as unknown[]) };
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
  // the scheduler's `tasks` actor (actors/worker-tasks.actor.ts), with runs the test finishes by hand
  const workerTasks = fromCallback<TaskActorEvent>(({ sendBack, receive }) => {
    const calls = new Map<string, { input: TaskStart; prep: Preparing; run?: Run }>();
    receive((e) => {
      if (e.type === 'task.start') {
        const input = e.call;
        const prep: Preparing = {
          ...input,
          aborted: false,
          prepared: () => sendBack({ type: 'scheduler.task.prepared', callId: input.callId }),
          fail: (error) => {
            calls.delete(input.callId);
            sendBack({ type: 'scheduler.task.finished', callId: input.callId, ret: { ok: false, error } });
          },
        };
        calls.set(input.callId, { input, prep });
        if (options.holdPrepare) preparing.push(prep);
        else prep.prepared();
        return;
      }
      const c = calls.get(e.callId);
      if (!c) return;
      const { input } = c;
      if (e.type === 'task.work') {
        c.run = {
          ...input,
          aborted: false,
          finish: (ret) => {
            calls.delete(input.callId);
            if (ret.ok) declareOutputs(input.task, input.worker);
            sendBack({ type: 'scheduler.task.finished', callId: input.callId, ret });
          },
        };
        runs.push(c.run);
      } else if (c.run) {
        c.run.aborted = true;
      } else {
        // aborted before its work started: as the real actor, it ends ABORTED at once
        c.prep.aborted = true;
        calls.delete(input.callId);
        sendBack({ type: 'scheduler.task.finished', callId: input.callId, ret: { ok: false, error: { code: 'ABORTED', message: `call ${input.callId} aborted before its work started` } } });
      }
    });
  });
  /** What a real worker would have declared once a task of this type succeeded. */
  const declareOutputs = (task: Task, worker: string) => {
    const path = workersById.get(worker)?.paths[0];
    if (!path) return;
    const types = task.type === 'AP' ? FileType.unsealed : task.type === 'PC1' ? FileType.sealed | FileType.cache : 0;
    if (types !== 0) catalog.storageDeclareSector(path, task.sector, types, true);
  };
  const checkProvable = fromPromise<{ number: number; reason: string }[], { miner: number; numbers: number[] }>(async ({ input }) => {
    checks.push(input.numbers);
    return options.faulty?.(input.numbers) ?? [];
  });
  const machine = schedulerMachine.provide({
    actors: { index, sectorGroup: sectorGroupMachine.provide({ actors: { sector } }), workerTasks, checkProvable },
  });
  const root = createActor(machine, {
    clock,
    systemId: 'scheduler',
    input: {
      miner: options.miner ?? 1000,
      proofType: options.proofType ?? 0,
      records: options.records ?? [],
      openCalls: options.openCalls ?? calls.open(),
      nextNumber: options.nextNumber ?? 0,
      startedAt: options.startedAt ?? 0,
      restoreGraceMs: options.restoreGraceMs ?? 0,
      checkProvableMs: options.checkProvableMs ?? 600_000,
      ...(options.initWaitMs !== undefined ? { initWaitMs: options.initWaitMs } : {}),
      ...(options.storageRefreshMs !== undefined ? { storageRefreshMs: options.storageRefreshMs } : {}),
      ...(options.pc1BatchSize !== undefined ? { pc1BatchSize: options.pc1BatchSize } : {}),
      ...(options.pc1BatchWaitMs !== undefined ? { pc1BatchWaitMs: options.pc1BatchWaitMs } : {}),
    },
  });
  root.on('scheduler.reply', (r) => replies.push(r));
  root.start();
  for (const info of options.workers ?? [workerInfo('local', { hostname: 'test-host', resources: { ...BIG, cpus: options.threads ?? 2 } })]) {
    workersById.set(info.id, info);
    root.send({ type: 'scheduler.worker.connected', info });
  }
  const flush = async () => {
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  };
  let reqSeq = 0;
  const h = {
    root,
    clock,
    calls,
    catalog,
    preparing,
    /** Connects (or updates) a worker. */
    connect: (info: WorkerInfo, holds?: string[]) => {
      workersById.set(info.id, info);
      root.send({ type: 'scheduler.worker.connected', info, ...(holds ? { holds } : {}) });
    },
    /** Disconnects a worker. */
    disconnect: async (id: string) => {
      root.send({ type: 'scheduler.worker.disconnected', id });
      await flush();
    },
    /** The workers the scheduler holds, by id. */
    workers: () => root.getSnapshot().context.workers,
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
