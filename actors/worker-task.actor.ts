/**
 * The `workerTask` actor: runs one tracked call on a worker. A callback actor rather than a
 * promise actor, because the scheduler must hear when an aborted call has really stopped (its
 * thread let go of the sector's files) — a stopped promise actor reports nothing — and because it
 * receives `task.abort`:
 *
 *   scheduler ──spawn task:<callId> {callId, task, worker}──▶ workerTask ──worker.run(task, signal)
 *   scheduler ──task.abort──▶ workerTask: aborts the signal; the run ends ABORTED
 *   workerTask ──scheduler.task.finished {callId, ret}──▶ scheduler (once the run has settled)
 *
 * Stopping the actor (shutdown) aborts the run too, but reports nothing: the call stays `running`
 * in the call store and is queued again when the daemon restarts (shutdown is not an abort).
 */
import { fromCallback } from 'xstate';
import { AbortedError, InternalError, toWireError } from '../src/errors.js';
import type { CallReturn } from '../src/tasks/calls.js';
import type { Task, TaskResult } from '../src/tasks/task-types.js';
import type { SchedulerTaskEvent, TaskActorEvent } from '../machines/protocol.js';

/** What runs calls: the daemon's own pool (src/worker/local-worker.ts), later remote workers. */
export interface TaskRunner {
  readonly id: string;
  readonly hostname: string;
  readonly threads: number;
  run(task: Task, options: { signal: AbortSignal }): Promise<TaskResult>;
}

export interface WorkerTaskComponents {
  /** Workers by id. */
  workers: ReadonlyMap<string, TaskRunner>;
  /** Resolves when the workers may run (the storage paths are open). */
  ready: Promise<void>;
  /** Every run in flight, so shutdown can wait until the threads let go. */
  inflight: Set<Promise<unknown>>;
}

/** Creates the `workerTask` logic over real workers. */
export function createWorkerTaskLogic(c: WorkerTaskComponents) {
  return fromCallback<TaskActorEvent, { callId: string; task: Task; worker: string }>(({ input, sendBack, receive }) => {
    const abort = new AbortController();
    let stopped = false;
    const run = (async (): Promise<TaskResult> => {
      await c.ready;
      const worker = c.workers.get(input.worker);
      if (!worker) throw new InternalError(`call ${input.callId}: no worker "${input.worker}"`);
      if (abort.signal.aborted) throw new AbortedError(`call ${input.callId} aborted before it started`);
      return worker.run(input.task, { signal: abort.signal });
    })();
    c.inflight.add(run);
    const report = (ret: CallReturn) => {
      c.inflight.delete(run);
      if (!stopped) sendBack({ type: 'scheduler.task.finished', callId: input.callId, ret } satisfies SchedulerTaskEvent);
    };
    run.then(
      (result) => report({ ok: true, result }),
      (err: unknown) => report({ ok: false, error: toWireError(err) }),
    );
    receive((e) => {
      if (e.type === 'task.abort') abort.abort(new AbortedError(`call ${input.callId} (${input.task.type}) aborted`));
    });
    return () => {
      stopped = true;
      abort.abort(new AbortedError('the daemon is stopping'));
    };
  });
}
