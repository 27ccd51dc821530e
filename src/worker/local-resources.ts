/**
 * The resources of the machine this process runs on, as a worker registers them
 * (docs/design/scheduler.md §2): memory and swap from `/proc/meminfo` (Lotus reads the same
 * figures), memory used by everything else at start as `memReserved`, and the threads the
 * worker's pool has as `cpus`. There is no GPU detection here: `gpus` is empty.
 */
import { readFileSync } from 'node:fs';
import { freemem, totalmem } from 'node:os';
import type { WorkerResources } from '../tasks/worker-info.js';
import { type Pc1Gather, pc1GatherFrom } from '../seal/pc1-gather.js';

/** The `/proc/meminfo` figures the scheduler uses, in bytes. */
export interface MemInfo {
  memTotal: number;
  memAvailable: number;
  swapTotal: number;
  swapFree: number;
}

/** Parses `/proc/meminfo` text (`Name:   123 kB` lines); undefined when a needed line is missing. */
export function parseMeminfo(text: string): MemInfo | undefined {
  const kb = (name: string): number | undefined => {
    const m = new RegExp(`^${name}:\\s+(\\d+)\\s*kB\\s*$`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : undefined;
  };
  const memTotal = kb('MemTotal');
  const memAvailable = kb('MemAvailable');
  const swapTotal = kb('SwapTotal');
  const swapFree = kb('SwapFree');
  if (memTotal === undefined || memAvailable === undefined || swapTotal === undefined || swapFree === undefined) return undefined;
  return { memTotal, memAvailable, swapTotal, swapFree };
}

/**
 * This machine's resources for a worker with `cpus` pool threads. `meminfo` defaults to reading
 * `/proc/meminfo`; where there is none, swap is 0 and the reserve is what `os.freemem()` says is used.
 */
export function localResources(cpus: number, meminfo: MemInfo | undefined = readMeminfo()): WorkerResources {
  if (!meminfo) {
    const total = totalmem();
    return { cpus, memPhysical: total, memSwap: 0, memReserved: Math.max(0, total - freemem()), gpus: [] };
  }
  const used = Math.max(0, meminfo.memTotal - meminfo.memAvailable) + Math.max(0, meminfo.swapTotal - meminfo.swapFree);
  return { cpus, memPhysical: meminfo.memTotal, memSwap: meminfo.swapTotal, memReserved: used, gpus: [] };
}

function readMeminfo(): MemInfo | undefined {
  try {
    return parseMeminfo(readFileSync('/proc/meminfo', 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * `resources` as a worker whose PC1 runs with `pc1Gather` declares them: `pc1GatherFrom` comes
 * from that mode alone (any value `resources` had is dropped), so the scheduler counts a gathered
 * PC1 as the two threads it uses.
 */
export function declaredResources(resources: WorkerResources, pc1Gather: Pc1Gather): WorkerResources {
  const { pc1GatherFrom: _given, ...rest } = resources;
  const from = pc1GatherFrom(pc1Gather);
  return from === undefined ? rest : { ...rest, pc1GatherFrom: from };
}
