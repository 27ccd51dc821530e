/**
 * Shared helpers for benchmark scenarios: report lines, peak memory, timing.
 */
import { readFileSync } from 'node:fs';
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
export async function timed(fn: () => unknown | Promise<unknown>): Promise<{ wall: number; cpu: number; mainCpu?: number }> {
  const cpu0 = process.cpuUsage();
  const main0 = mainThreadCpu();
  const wall = await seconds(fn);
  const cpu = process.cpuUsage(cpu0);
  const main1 = mainThreadCpu();
  return { wall, cpu: (cpu.user + cpu.system) / 1e6, ...(main0 !== undefined && main1 !== undefined ? { mainCpu: main1 - main0 } : {}) };
}

/**
 * CPU seconds of the main thread alone (Linux: its /proc stat, in clock ticks of 10 ms), or
 * undefined elsewhere. Node 20 has no per-thread CPU clock; on a machine shared with other load it
 * is steadier than wall time, and it says whether the main thread is what bounds a figure.
 */
export function mainThreadCpu(): number | undefined {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    // the fields after the command's closing parenthesis; utime and stime are the 14th and 15th of the line
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return undefined;
  }
}

/** The middle value (the upper middle of an even count). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new RangeError('median of no values');
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
}
