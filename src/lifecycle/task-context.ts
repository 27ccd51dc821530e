/**
 * What a task handler running on a pool thread gets besides its input: a progress sink (a
 * Comlink proxy of the caller's callback, so progress crosses the thread boundary as typed calls)
 * and a cooperative cancellation check backed by shared memory (readable without a round trip).
 */
import { AbortedError } from '../errors.js';

/** Progress of a long task: `done` out of `total` units, with an optional phase label. */
export interface TaskProgress {
  readonly phase: string;
  readonly done: number;
  readonly total: number;
  /** Extra detail such as the layer being labelled. */
  readonly detail?: string;
}

/** The receiving side of progress reports (exposed with Comlink by the caller). */
export interface ProgressSink {
  report(progress: TaskProgress): void;
}

export interface TaskContext {
  /** Reports progress; cheap to call often (reports are throttled). */
  progress(p: TaskProgress): void;
  /** True once the caller asked to cancel. */
  readonly cancelled: boolean;
  /** Throws AbortedError if the caller asked to cancel. */
  throwIfCancelled(): void;
  /**
   * The cancel flag itself (non-zero at {@link CANCEL_FLAG} once cancelled), for long native
   * calls: they poll it while they run and stop within milliseconds (native/src/cancel.h),
   * where a check between calls would wait for the whole call. Absent: not cancellable.
   */
  readonly cancelFlag?: Int32Array | undefined;
}

/** Index of the cancel flag in the shared Int32Array. */
export const CANCEL_FLAG = 0;

/**
 * A cancel flag that follows an AbortSignal, for work that runs in the signal's own thread
 * (`sealSectors` without a pool): set when the abort event is delivered. Native calls made by
 * that thread see it only if the event came first; work that must stop in the middle of a long
 * native call runs on a pool thread, whose flag the caller's thread sets directly.
 */
export function cancelFlagFor(signal: AbortSignal | undefined): Int32Array {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  if (signal?.aborted) flag[CANCEL_FLAG] = 1;
  else signal?.addEventListener('abort', () => Atomics.store(flag, CANCEL_FLAG, 1), { once: true });
  return flag;
}

/** The context a pool thread builds for a handler, plus what only the thread itself uses. */
export interface ThreadTaskContext extends TaskContext {
  /**
   * Resolves once the caller has received every report sent so far. The result travels on
   * another channel than the reports, so a thread that returned without waiting could have its
   * result arrive before its final report.
   */
  delivered(): Promise<void>;
}

/** Builds the handler-side context from the shared flag and an optional progress sink. */
export function createTaskContext(
  cancelFlag: Int32Array | undefined,
  sink: { report(p: TaskProgress): unknown } | undefined,
  minIntervalMs = 100,
): ThreadTaskContext {
  let last = 0;
  // reports are answered in order on one port, so the latest answer covers every earlier report
  let latest: Promise<unknown> = Promise.resolve();
  return {
    cancelFlag,
    progress(p) {
      if (!sink) return;
      const now = Date.now();
      // always deliver the final report so callers see 100 %
      if (now - last < minIntervalMs && p.done < p.total) return;
      last = now;
      latest = Promise.resolve(sink.report(p)).catch(() => {});
    },
    delivered: () => latest.then(() => {}),
    get cancelled() {
      return cancelFlag !== undefined && Atomics.load(cancelFlag, CANCEL_FLAG) !== 0;
    },
    throwIfCancelled() {
      if (cancelFlag !== undefined && Atomics.load(cancelFlag, CANCEL_FLAG) !== 0) {
        throw new AbortedError('task cancelled');
      }
    },
  };
}
