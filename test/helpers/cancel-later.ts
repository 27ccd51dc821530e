/**
 * Sets a cancel flag from another thread while the calling thread is blocked in a native call:
 * the only way a test can cancel a synchronous call in the middle. The helper thread is running
 * before `cancelLater` resolves; it sleeps `afterMs`, records the time and stores 1 into
 * `flag[0]`. Tests using it must be serial: another test blocking the thread meanwhile would
 * distort the timing.
 */
import { Worker } from 'node:worker_threads';
import type { ExecutionContext } from 'ava';

const source = `
const { workerData } = require('node:worker_threads');
const { flag, at, afterMs } = workerData;
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, afterMs);
at[0] = performance.timeOrigin + performance.now();
Atomics.store(flag, 0, 1);
`;

/** A pending cancellation: `firedAt()` is the wall time (ms) the flag was set, or NaN before. */
export interface PendingCancel {
  readonly flag: Int32Array;
  firedAt(): number;
  done(): Promise<void>;
}

export async function cancelLater(afterMs: number): Promise<PendingCancel> {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const at = new Float64Array(new SharedArrayBuffer(8)).fill(Number.NaN);
  const worker = new Worker(source, { eval: true, workerData: { flag, at, afterMs } });
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    worker.once('online', () => resolve());
    worker.once('error', reject);
  });
  return { flag, firedAt: () => at[0]!, done: () => exited };
}

/** Wall-clock milliseconds on the same scale as `firedAt()`. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Asserts that a cancelled call stopped well before its work would have ended: within half the
 * time the whole work takes, as measured (or extrapolated from a part of it) in the same run, so
 * that a loaded machine slows the reference and the stop alike. The absolute delay is logged: on
 * an idle machine it is milliseconds, but a wall-clock bound would fail whenever the machine is
 * busy (speed figures belong in benchmarks).
 */
export function assertStoppedEarly(t: ExecutionContext, stopMs: number, wholeMs: number, what: string): void {
  t.log(`${what}: stopped ${stopMs.toFixed(0)} ms after the cancel; the whole work takes ${wholeMs.toFixed(0)} ms`);
  t.true(stopMs < wholeMs / 2, `${what} stopped ${stopMs.toFixed(0)} ms after the cancel, the whole work takes ${wholeMs.toFixed(0)} ms`);
}

/** Wall-clock milliseconds `fn` takes. */
export function timeMs(fn: () => unknown): number {
  const start = nowMs();
  fn();
  return nowMs() - start;
}
