/**
 * Shared helpers for benchmark scenarios: report lines, peak memory, timing.
 */
import type { BenchLine } from './run-bench.js';

/** True when BENCH_QUICK=1: small sizes for a smoke run. */
export const quick = process.env.BENCH_QUICK === '1';

/** Prints one measurement in the format run-bench.ts collects. */
export function report(line: BenchLine): void {
  console.log(`BENCH ${JSON.stringify(line)}`);
}

/** Peak resident set size of this process so far, in MiB. */
export function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/** Runs `fn` and returns its wall time in seconds. */
export async function seconds(fn: () => unknown | Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/**
 * Runs `fn` and returns its wall time and the CPU time the whole process (every thread: the pool's
 * too) spent meanwhile, in seconds. CPU time depends far less than wall time on what else the
 * machine runs, so a figure per unit of work from it can be compared across noisy runs.
 */
export async function timed(fn: () => unknown | Promise<unknown>): Promise<{ wall: number; cpu: number }> {
  const cpu0 = process.cpuUsage();
  const wall = await seconds(fn);
  const cpu = process.cpuUsage(cpu0);
  return { wall, cpu: (cpu.user + cpu.system) / 1e6 };
}

/** The middle value (the upper middle of an even count). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new RangeError('median of no values');
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
}
