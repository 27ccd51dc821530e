/**
 * The local worker's PC1 batches (docs/design/scheduler.md §8): the scheduler starts every member
 * call of a batch on this worker at once, each with the batch's id and member list. Each member's
 * run prepares its own sector (lock, files, checkpoint check, src/worker/tasks/precommit1.ts) and
 * hands its PC1 input here; once every member has, one pool task labels them all together
 * (`pc1Batch`, src/seal/pc1.ts `sealPreCommit1Batch`, per-sector checkpoints after each layer),
 * and each member gets its own sector's output back.
 *
 * A member that is aborted (`sealing abort`, `sectors remove`) or fails before handing its input
 * over stops the batch: the pool task is cancelled, that member ends with its own error, and every
 * other member ends with WORKER_LOST, which puts its call back in the scheduler's queue under the
 * same call id; its next run resumes from its sector's checkpoint. A failure of the pool task is
 * every member's here; the scheduler then runs each member alone once before a failure counts
 * (machines/scheduler/pc1-batch.ts `retriesSolo`).
 */
import { AbortedError, WorkerLostError } from '../errors.js';
import type { TaskProgress } from '../lifecycle/task-context.js';
import type { SealerPool } from '../pool/pool.js';
import type { PreCommit1Input, PreCommit1Output } from '../seal/pc1.js';

/** What a member hands over: its sector's input, its signal and progress sink. */
interface Member {
  input: PreCommit1Input;
  signal: AbortSignal;
  onProgress: ((p: TaskProgress) => void) | undefined;
  resolve(out: PreCommit1Output): void;
  reject(err: unknown): void;
}

/** One batch while its members arrive and while it runs. */
class Assembly {
  readonly members = new Map<string, Member>();
  /** Members that handed their input over or failed before: once all have and it stopped, it is forgotten. */
  readonly arrived = new Set<string>();
  readonly cancel = new AbortController();
  /** Why the batch stopped, once it has: the member that stopped it and its error. */
  broken: { callId: string; error: unknown } | undefined;
  running = false;

  constructor(
    readonly id: string,
    readonly calls: readonly string[],
  ) {}

  /** The batch stops because of member `callId`: it ends with `error`, the others are queued again. */
  break(callId: string, error: unknown): void {
    if (this.broken) return;
    this.broken = { callId, error };
    this.cancel.abort(error);
    for (const [id, m] of this.members) m.reject(id === callId ? error : this.lost(id));
  }

  lost(callId: string): Error {
    const b = this.broken!;
    return new WorkerLostError(
      `PC1 batch ${this.id} stopped (call ${b.callId}: ${(b.error as Error)?.message ?? String(b.error)}); call ${callId} goes back to the queue and resumes from its checkpoint`,
    );
  }
}

/** The batches of one worker's pool. */
export class Pc1Batches {
  readonly #pool: SealerPool;
  readonly #batches = new Map<string, Assembly>();

  constructor(pool: SealerPool) {
    this.#pool = pool;
  }

  /**
   * Member `callId` of `batch` hands over its sector's input; resolves with its sector's output
   * once the batch has run, or rejects (see the module comment).
   */
  label(batch: { id: string; calls: readonly string[] }, callId: string, input: PreCommit1Input, run: { signal: AbortSignal; onProgress?: (p: TaskProgress) => void }): Promise<PreCommit1Output> {
    const g = this.#assembly(batch);
    g.arrived.add(callId);
    return new Promise<PreCommit1Output>((resolve, reject) => {
      if (g.broken) {
        this.#forget(g);
        reject(callId === g.broken.callId ? g.broken.error : g.lost(callId));
        return;
      }
      g.members.set(callId, { input, signal: run.signal, onProgress: run.onProgress, resolve, reject });
      const onAbort = () => {
        g.break(callId, run.signal.reason ?? new AbortedError(`call ${callId} aborted`));
        this.#forget(g);
      };
      if (run.signal.aborted) return onAbort();
      run.signal.addEventListener('abort', onAbort, { once: true });
      if (g.members.size === g.calls.length) this.#run(g);
    });
  }

  /**
   * Member `callId` of `batch` has started (its prepare step): should its call be aborted before
   * it hands its input over (even before its run starts, waiting for room on the worker), the
   * batch stops rather than wait for it.
   */
  watch(batch: { id: string; calls: readonly string[] }, callId: string, signal: AbortSignal): void {
    const g = this.#assembly(batch);
    const onAbort = () => {
      if (!g.arrived.has(callId)) this.abandon(batch, callId, signal.reason ?? new AbortedError(`call ${callId} aborted`));
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  }

  /** Member `callId` failed before it could hand its input over: the batch stops. */
  abandon(batch: { id: string; calls: readonly string[] }, callId: string, error: unknown): void {
    const g = this.#assembly(batch);
    g.arrived.add(callId);
    g.break(callId, error);
    this.#forget(g);
  }

  /** A batch that stopped before it ran is kept until every member has arrived (a late one learns it stopped). */
  #forget(g: Assembly): void {
    if (!g.running && g.arrived.size >= g.calls.length) this.#batches.delete(g.id);
  }

  #assembly(batch: { id: string; calls: readonly string[] }): Assembly {
    let g = this.#batches.get(batch.id);
    if (!g) {
      g = new Assembly(batch.id, batch.calls);
      this.#batches.set(batch.id, g);
    }
    return g;
  }

  #run(g: Assembly): void {
    g.running = true;
    const order = g.calls.map((id) => g.members.get(id)!);
    const progress = (p: TaskProgress) => {
      for (const m of order) m.onProgress?.(p);
    };
    this.#pool.run('pc1Batch', { inputs: order.map((m) => m.input) }, { signal: g.cancel.signal, onProgress: progress }).then(
      (outs) => {
        this.#batches.delete(g.id);
        if (g.broken) return; // a member stopped it as it finished: already told
        for (const [i, m] of order.entries()) m.resolve(outs[i]!);
      },
      (err: unknown) => {
        this.#batches.delete(g.id);
        if (g.broken) return;
        for (const m of order) m.reject(err);
      },
    );
  }
}
