/**
 * The sealer thread pool: Piscina threads, each hosting its own instance of the native addon.
 * `run()` is typed per task kind, carries progress back through Comlink and cancels
 * cooperatively through a shared flag (the handler stops at its next check and cleans up);
 * if a handler does not stop within `cancelGraceMs` the thread is terminated.
 */
import { availableParallelism } from 'node:os';
import { MessageChannel, type TransferListItem } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { Piscina } from 'piscina';
import { AbortedError, errorFromWire } from '../errors.js';
import type { TaskInput, TaskKind, TaskOutput } from './handlers.js';
import { CANCEL_FLAG, type ProgressSink, type TaskProgress } from '../lifecycle/task-context.js';
import type { TaskMessage, TaskResult } from './worker.js';

export interface SealerPoolOptions {
  /** Number of threads. @default os.availableParallelism() */
  threads?: number;
  /** How long a cancelled task may take to stop by itself before its thread is terminated. @default 10000 */
  cancelGraceMs?: number;
}

export interface RunOptions {
  signal?: AbortSignal;
  /**
   * Receives the task's progress reports, in order. The result is returned only after the last
   * report has been received (and, when the receiver returns a promise, after it has settled).
   */
  onProgress?: (p: TaskProgress) => unknown;
  /** Objects inside `input` to transfer rather than clone (MessagePorts, large ArrayBuffers). */
  transfer?: TransferListItem[];
}

export class SealerPool {
  readonly #pool: Piscina;
  readonly #cancelGraceMs: number;
  readonly threads: number;

  constructor(options: SealerPoolOptions = {}) {
    const threads = options.threads ?? availableParallelism();
    if (!Number.isInteger(threads) || threads < 1) {
      throw new RangeError(`options.threads must be a positive integer, got ${threads}`);
    }
    this.threads = threads;
    this.#cancelGraceMs = options.cancelGraceMs ?? 10_000;
    this.#pool = new Piscina({
      filename: new URL(POOL_THREAD_ENTRY, import.meta.url).href,
      minThreads: threads,
      maxThreads: threads,
      // sealing tasks run for minutes; never reap idle threads that hold warm caches
      idleTimeout: Number.POSITIVE_INFINITY,
    });
  }

  /** Tasks waiting for a thread. */
  get queueSize(): number {
    return this.#pool.queueSize;
  }

  /** Runs one task on a pool thread. Rejects with the task's typed error. */
  async run<K extends TaskKind>(kind: K, input: TaskInput<K>, options: RunOptions = {}): Promise<TaskOutput<K>> {
    const { signal, onProgress } = options;
    if (signal?.aborted) throw new AbortedError(`${kind} cancelled before it started`);
    const cancel = new Int32Array(new SharedArrayBuffer(4));
    const hardAbort = new AbortController();
    let channel: MessageChannel | undefined;
    const transferList: TransferListItem[] = [...(options.transfer ?? [])];
    const msg: TaskMessage = { kind, input, cancel };
    if (onProgress) {
      channel = new MessageChannel();
      const sink: ProgressSink = { report: (p) => onProgress(p) };
      Comlink.expose(sink, nodeEndpoint(channel.port1));
      msg.progressPort = channel.port2;
      transferList.push(channel.port2);
    }
    let graceTimer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      Atomics.store(cancel, CANCEL_FLAG, 1);
      graceTimer = setTimeout(() => hardAbort.abort(), this.#cancelGraceMs);
      graceTimer.unref();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const result = (await this.#pool.run(msg, { transferList, signal: hardAbort.signal })) as TaskResult;
      if (!result.ok) throw errorFromWire(result.error);
      return result.value as TaskOutput<K>;
    } catch (err) {
      if (err instanceof Error && err.name === 'AbortError') {
        throw new AbortedError(`${kind} cancelled; its thread was terminated`, { cause: err });
      }
      throw err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      if (graceTimer) clearTimeout(graceTimer);
      channel?.port1.close();
    }
  }

  /** Waits for running tasks and stops every thread. */
  async close(): Promise<void> {
    await this.#pool.close();
  }
}

/** The file Piscina loads in every pool thread: CommonJS, so that it never `require()`s an ES module (see it). */
export const POOL_THREAD_ENTRY = './worker-entry.cjs';
