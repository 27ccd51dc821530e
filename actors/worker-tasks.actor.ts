/**
 * The `workerTasks` actor (child `tasks` of the scheduler): runs every tracked call the scheduler
 * starts, each on the worker the scheduler chose (docs/design/scheduler.md §1). One long-lived
 * callback actor for all calls, not one actor per call: spawning and stopping an actor per call
 * cost the scheduler a third of its thread in the tracked-task benchmark (docs/design/sealing-daemon.md
 * §10), and a call's state is the scheduler's (`calls` in its context, `sealing jobs`) anyway.
 * A callback actor rather than promises, because the scheduler must hear when a call's prepare
 * step is done and when an aborted call has really stopped (its thread let go of the sector's
 * files), and because it receives `task.work` and `task.abort`:
 *
 *   scheduler ──task.start {callId, task, worker}──▶ tasks ──runner.prepare(task, signal)
 *   tasks ──scheduler.task.prepared {callId}──▶ scheduler (the call waits for room in `active`)
 *   scheduler ──task.work {callId}──▶ tasks ──runner.run(task, signal)
 *   scheduler ──task.abort {callId}──▶ tasks: aborts the signal of whichever step runs; the call ends ABORTED
 *   tasks ──scheduler.task.finished {callId, ret}──▶ scheduler (once the run has settled; the call is forgotten here)
 *
 * Stopping the actor (shutdown) aborts every run that has not settled, but reports nothing: the
 * calls stay as the call store has them and are queued again when the daemon restarts (shutdown is
 * not an abort). Events for a call that is not running here (finished, or never started) are
 * ignored.
 */
import { fromCallback } from 'xstate';
import { AbortedError, WorkerLostError, toWireError } from '../src/errors.js';
import type { TaskProgress } from '../src/lifecycle/task-context.js';
import type { CallReturn } from '../src/tasks/calls.js';
import type { WireError } from '../src/errors.js';
import type { Task, TaskResult } from '../src/tasks/task-types.js';
import type { SchedulerTaskEvent, TaskActorEvent, TaskStart } from '../machines/protocol.js';

/**
 * What runs calls on one worker: the daemon's own pool (src/worker/local-worker.ts) or a remote
 * worker's connection. Registered with `DaemonSystemHandle.workers.connect(info, runner)`.
 */
export interface TaskRunner {
  readonly id: string;
  readonly hostname: string;
  /** Lotus's prepare step: fetch what the task reads that the worker lacks. Absent: nothing to do. */
  prepare?(task: Task, options: TaskRunnerOptions): Promise<void>;
  /** Runs the task to its result; rejects with the task's typed error (WORKER_LOST: the call is queued again). */
  run(task: Task, options: TaskRunnerOptions): Promise<TaskResult>;
}

/** What a runner gets with each step of a call. */
export interface TaskRunnerOptions {
  /**
   * Aborted when the call is aborted (`task.abort`) and when the system stops: a stop is not an
   * abort (the call stays open and is queued again after a restart), so a runner whose worker
   * outlives the daemon must not pass a stop's abort on to it.
   */
  signal: AbortSignal;
  /**
   * The call's id: the same for every attempt of the call, across restarts of the daemon (Lotus's
   * CallID), so a worker that still runs or has finished this very call can answer with its result
   * instead of running it again.
   */
  callId: string;
  /** The step's progress (PC1 layers, PC2 trees, fetched bytes), for `sealing jobs`. */
  onProgress?: (p: TaskProgress) => void;
  /**
   * The PC1 batch the call runs in (docs/design/scheduler.md §8; only the local worker gets
   * batches): its id and every member's call id. Each member's run hands its sector to one pool
   * task labelling them all.
   */
  batch?: { id: string; calls: readonly string[] };
}

export interface WorkerTasksComponents {
  /** Runners by worker id. */
  workers: ReadonlyMap<string, TaskRunner>;
  /** Resolves when the workers may run (the storage paths are open). */
  ready: Promise<void>;
  /** Every run in flight, so shutdown can wait until the threads let go. */
  inflight: Set<Promise<unknown>>;
  /** The latest progress of each started call, while it runs (read by `WorkerJobs`). */
  progress?: Map<string, TaskProgress>;
  /** Told when a call's work starts on its worker and how it ended (metrics). */
  observer?: TaskObserver;
}

/** Observes the calls the workers run (src/daemon/metrics.ts counts them). */
export interface TaskObserver {
  /** The call's work started on its worker (its prepare step is done). */
  started(task: Task, worker: string): void;
  /**
   * The call ended: `seconds` of work since it started (undefined when it ended before its work
   * started), and its error, if it failed. Not told when the system stops (the call stays open).
   */
  finished(task: Task, worker: string, seconds: number | undefined, error?: WireError): void;
}

/** What the actor keeps of a call it runs. */
interface Running {
  /** `task.work`: the scheduler gave the call its room in `active`. */
  work(): void;
  /** `task.abort`. */
  abort(): void;
  /** The actor stops (shutdown): abort without reporting. */
  stop(): void;
}

/** Creates the `workerTasks` logic over real workers. */
export function createWorkerTasksLogic(c: WorkerTasksComponents) {
  return fromCallback<TaskActorEvent>(({ sendBack, receive }) => {
    const running = new Map<string, Running>();
    let stopped = false;
    const start = (input: TaskStart) => {
      if (running.has(input.callId)) return;
      const abort = new AbortController();
      let settled = false;
      let startWork!: () => void;
      const workGranted = new Promise<void>((resolve, reject) => {
        startWork = resolve;
        abort.signal.addEventListener('abort', () => reject(abort.signal.reason), { once: true });
      });
      workGranted.catch(() => {});
      let workStarted: number | undefined;
      const checkAborted = (what: string) => {
        if (abort.signal.aborted) throw new AbortedError(`call ${input.callId} aborted ${what}`);
      };
      running.set(input.callId, {
        work: startWork,
        abort: () => abort.abort(new AbortedError(`call ${input.callId} (${input.task.type}) aborted`)),
        stop: () => {
          if (!settled) abort.abort(new AbortedError('the daemon is stopping'));
        },
      });
      const run = (async (): Promise<TaskResult> => {
        await c.ready;
        const runner = c.workers.get(input.worker);
        // the worker disconnected between the placement and this start: the call goes back to the queue
        if (!runner) throw new WorkerLostError(`call ${input.callId} (${input.task.type}): worker "${input.worker}" went away before the call started`);
        checkAborted('before it started');
        const progress = c.progress;
        const options: TaskRunnerOptions = {
          signal: abort.signal,
          callId: input.callId,
          ...(input.batch ? { batch: input.batch } : {}),
          ...(progress ? { onProgress: (p: TaskProgress) => progress.set(input.callId, p) } : {}),
        };
        await runner.prepare?.(input.task, options);
        checkAborted('after its prepare step');
        if (!stopped) sendBack({ type: 'scheduler.task.prepared', callId: input.callId } satisfies SchedulerTaskEvent);
        await workGranted;
        workStarted = performance.now();
        c.observer?.started(input.task, input.worker);
        return runner.run(input.task, options);
      })();
      c.inflight.add(run);
      const report = (ret: CallReturn) => {
        settled = true;
        running.delete(input.callId);
        c.inflight.delete(run);
        c.progress?.delete(input.callId);
        if (stopped) return;
        const seconds = workStarted === undefined ? undefined : (performance.now() - workStarted) / 1000;
        c.observer?.finished(input.task, input.worker, seconds, ret.ok ? undefined : ret.error);
        sendBack({ type: 'scheduler.task.finished', callId: input.callId, ret } satisfies SchedulerTaskEvent);
      };
      run.then(
        (result) => report({ ok: true, result }),
        (err: unknown) => report({ ok: false, error: toWireError(err) }),
      );
    };
    receive((e) => {
      if (e.type === 'task.start') start(e.call);
      else if (e.type === 'task.work') running.get(e.callId)?.work();
      else if (e.type === 'task.abort') running.get(e.callId)?.abort();
    });
    return () => {
      stopped = true;
      for (const r of running.values()) r.stop();
    };
  });
}
