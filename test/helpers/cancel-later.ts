/**
 * Sets a cancel flag from another thread while the calling thread is blocked in a native call:
 * the only way a test can cancel a synchronous call in the middle. The helper thread is running
 * before `cancelLater` resolves; it sleeps `afterMs`, records the time and stores 1 into
 * `flag[0]`. Tests using it must be serial: another test blocking the thread meanwhile would
 * distort the timing.
 */
import { Worker } from 'node:worker_threads';

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
