/**
 * PC1 on one thread: labels per second for 8 MiB and 512 MiB sectors (512 MiB skipped with
 * BENCH_QUICK=1), against the single-stream SHA-256 compression rate measured in the same run.
 * A label is 20 chained compressions, so `labels/s × 20 ÷ compressions/s` is the fraction of the
 * SHA limit that labelling reaches (goal ≥ 0.85). Also: parent cache generation time (once per
 * graph; reused from the parent cache directory on later runs), layer write time and peak RSS,
 * which must stay flat: two layers + a parent chunk, not all layers.
 *
 * 8 MiB keeps the best of 3 runs. The compression rate is the best of many short bursts taken before and after each PC1, so a
 * busy moment on the shared machine cannot inflate the ratio; labelling is one long run and
 * takes whatever the machine gives it, so the ratio is, if anything, pessimistic.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { shaBackend } from '../../native/binding.js';
import { benchCompressions } from '../../native/hash.js';
import { type PreCommit1Output, sealPreCommit1 } from '../../src/seal/pc1.js';
import { parentCacheDir } from '../../src/seal/parent-cache.js';
import { peakRssMiB, quick, report } from './bench-util.js';

const MiB = 1024 * 1024;
// CommD of an all-zero sector of each size (V-ZERO): PC1 only needs the 32 bytes
const ZERO_COMMD: Record<number, string> = {
  [8 * MiB]: '65f29e5d98d246c38b388cfc06db1f6b021303c5a289000bdce832a9c3ec421c',
  [512 * MiB]: '39560e7b13a93b07a243fd2720ffa7cb3e1d2e505ab3629e79f46313512cda06',
};
const sizes = quick ? [8 * MiB] : [8 * MiB, 512 * MiB];

/** Best single-stream compressions/s over `bursts` runs of 100k compressions (~4 ms each). */
function compressionRate(bursts: number): number {
  const count = 100_000;
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < bursts; i++) {
    const t0 = process.hrtime.bigint();
    benchCompressions(count, 1);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return count / best;
}

const backend = shaBackend();
let cps = compressionRate(quick ? 10 : 50);
report({ name: 'sha256 compressions/s (1 stream)', value: cps, unit: 'ops/s', note: backend });

const work = await mkdtemp(join(tmpdir(), 'pc1-bench-'));
try {
  for (const size of sizes) {
    const label = `${size / MiB}MiB`;
    // 8 MiB runs take well under a second: keep the best of a few (fresh cache dir each time)
    const repeats = size <= 8 * MiB ? 3 : 1;
    let out: PreCommit1Output | undefined;
    let wall = 0;
    for (let r = 0; r < repeats; r++) {
      await rm(join(work, label), { recursive: true, force: true });
      const t0 = process.hrtime.bigint();
      const run = await sealPreCommit1({
        sectorSize: size,
        cacheDir: join(work, label),
        commD: ZERO_COMMD[size]!,
        minerId: 1000,
        sectorNumber: 1,
        ticket: new Uint8Array(32),
      });
      const w = Number(process.hrtime.bigint() - t0) / 1e9;
      const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
      if (!out || sum(run.stats.labelSeconds) < sum(out.stats.labelSeconds)) {
        out = run;
        wall = w;
      }
      cps = Math.max(cps, compressionRate(quick ? 10 : 50));
    }
    if (!out) throw new Error('no PC1 run');
    const labelSeconds = out.stats.labelSeconds.reduce((a, b) => a + b, 0);
    const labelsPerSecond = (out.nodes * out.stats.labelSeconds.length) / labelSeconds;
    const ratio = (labelsPerSecond * 20) / cps;
    const cpuSeconds = out.stats.labelCpuSeconds.reduce((a, b) => a + b, 0);
    const cpuRatio = (((out.nodes * out.stats.labelCpuSeconds.length) / cpuSeconds) * 20) / cps;
    report({
      name: `pc1 ${label} labels/s (1 thread)`,
      value: labelsPerSecond,
      unit: 'labels/s',
      note: `${ratio.toFixed(3)} of the SHA limit (labels/s×20 ÷ ${Math.round(cps)} compressions/s); layers ${out.stats.labelSeconds.map((s) => s.toFixed(2)).join('+')} s`,
    });
    report({ name: `pc1 ${label} ratio to SHA-256 limit`, value: ratio, unit: 'ratio', note: 'wall time; goal >= 0.85' });
    report({
      name: `pc1 ${label} ratio to SHA-256 limit (CPU time)`,
      value: cpuRatio,
      unit: 'ratio',
      note: 'process CPU time while labelling: excludes time preempted by other processes',
    });
    report({
      name: `pc1 ${label} wall`,
      value: wall,
      unit: 's',
      note: `parent cache ${out.stats.parentCache} in ${out.stats.parentCacheSeconds.toFixed(1)} s (${parentCacheDir()}); layer buffers ${out.stats.allocSeconds.toFixed(2)} s; layer writes ${out.stats.writeSeconds.map((s) => s.toFixed(2)).join('+')} s`,
    });
    report({
      name: `pc1 ${label} peak RSS`,
      value: peakRssMiB(),
      unit: 'MiB',
      note: `2 layers = ${(2 * size) / MiB} MiB; all ${out.layers} layers would be ${(out.layers * size) / MiB} MiB`,
    });
    await rm(join(work, label), { recursive: true, force: true });
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
