/**
 * WorkerService: the operator's view of and control over the scheduler's workers
 * (docs/design/scheduler.md §6), for the API and embedders. Views are read from the scheduler's
 * snapshot (never an event it must answer, so a diagnostics request cannot block it); controls
 * are scheduler commands answered by one `scheduler.reply`.
 */
import { randomUUID } from 'node:crypto';
import type { Actor } from 'xstate';
import { AbortedError, InvalidArgumentError, errorFromWire } from '../src/errors.js';
import { type TaskType, isTaskType } from '../src/tasks/task-types.js';
import type { SchedDiagView, WorkerState } from '../src/tasks/worker-info.js';
import type { TaskProgress } from '../src/lifecycle/task-context.js';
import type { SchedulerEvent, SchedulerReply } from '../machines/protocol.js';
import type { SchedulerMachine } from '../machines/scheduler.machine.js';
import { callPlacements, schedDiag, workerStates } from '../machines/scheduler/sched-views.js';

export class WorkerService {
  readonly #root: Actor<SchedulerMachine>;
  readonly #pending = new Map<string, (reply: SchedulerReply) => void>();
  readonly #sub: { unsubscribe(): void };
  readonly #progress: ReadonlyMap<string, TaskProgress>;
  #stopped = false;

  /** `progress`: the latest progress of each started call, as its worker reports it. */
  constructor(root: Actor<SchedulerMachine>, progress: ReadonlyMap<string, TaskProgress> = new Map()) {
    this.#root = root;
    this.#progress = progress;
    this.#sub = root.on('scheduler.reply', (reply) => {
      const settle = this.#pending.get(reply.requestId);
      if (!settle) return;
      this.#pending.delete(reply.requestId);
      settle(reply);
    });
  }

  /** Every worker the scheduler holds, with its pools and started calls. */
  states(): WorkerState[] {
    return workerStates(this.#root.getSnapshot().context);
  }

  /** Where each placed call is: started on a worker (RunWait 0) or in window n of one (RunWait n + 1). */
  placements(): Record<string, { worker: string; runWait: number; batch?: string }> {
    return callPlacements(this.#root.getSnapshot().context);
  }

  /** The latest progress of a started call (PC1 layers, PC2 trees, fetched bytes), on any worker. */
  progress(callId: string): TaskProgress | undefined {
    return this.#progress.get(callId);
  }

  /** The queue and the open windows; with `force`, after a scheduling pass. */
  async schedDiag(force = false): Promise<SchedDiagView> {
    if (force) await this.#command((requestId) => ({ type: 'scheduler.sched.poke', requestId }));
    return schedDiag(this.#root.getSnapshot().context);
  }

  /** Enables or disables a worker, or one task type on it (WORKER_UNKNOWN, INVALID_ARGUMENT). */
  async setEnabled(worker: string, enabled: boolean, taskType?: TaskType): Promise<void> {
    checkWorkerId(worker);
    if (taskType !== undefined && !isTaskType(taskType)) throw new InvalidArgumentError(`${JSON.stringify(taskType)} is not a task type`);
    const type = enabled ? 'scheduler.worker.enable' : 'scheduler.worker.disable';
    await this.#command((requestId) => ({ type, id: worker, requestId, ...(taskType !== undefined ? { taskType } : {}) }));
  }

  /** Cordons (drains: running work finishes, nothing new) or uncordons a worker (WORKER_UNKNOWN). */
  async setCordoned(worker: string, cordoned: boolean): Promise<void> {
    checkWorkerId(worker);
    await this.#command((requestId) => ({ type: cordoned ? 'scheduler.worker.cordon' : 'scheduler.worker.uncordon', id: worker, requestId }));
  }

  /** Rejects every command still waiting (the system is stopping). @internal */
  close(): void {
    this.#stopped = true;
    this.#sub.unsubscribe();
    for (const [id, settle] of this.#pending) {
      this.#pending.delete(id);
      settle({ type: 'scheduler.reply', requestId: id, ok: false, error: { code: 'ABORTED', message: 'the sector system stopped' } });
    }
  }

  async #command(build: (requestId: string) => SchedulerEvent): Promise<void> {
    if (this.#stopped) throw new AbortedError('the sector system is stopped');
    const requestId = randomUUID();
    const reply = new Promise<SchedulerReply>((resolve) => this.#pending.set(requestId, resolve));
    this.#root.send(build(requestId));
    const r = await reply;
    if (!r.ok) throw errorFromWire(r.error);
  }
}

function checkWorkerId(worker: unknown): void {
  if (typeof worker !== 'string' || worker === '') throw new InvalidArgumentError(`worker id must be a non-empty string, got ${JSON.stringify(worker)}`);
}
