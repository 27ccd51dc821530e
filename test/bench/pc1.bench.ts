/**
 * PC1 on one thread: labels per second for one sector of 8 MiB and 512 MiB (512 MiB skipped with
 * BENCH_QUICK=1), against the single-stream SHA-256 compression rate measured in the same run. A
 * label is 20 chained compressions, so `labels/s × 20 ÷ compressions/s` is the fraction of that
 * one-stream limit labelling reaches (goal ≥ 1.0: the first block of each label is hashed ahead,
 * off the chain). Then batches of 2, 4 and 8 sectors on the same one thread (pc1.ts): labels/s of
 * the whole batch against the one-sector run (goal ≥ 2× for the best batch size), and peak memory
 * per sector. The one sector and the batch of 8 run again with their parents gathered on a second
 * thread (PreCommit1Input.gather: two threads, so their ratios are read against each other and
 * against the one-thread runs). Also parent cache generation: the 512 MiB graph's file once, and the rate of each
 * SIMD path of this CPU (portable BLAKE2b, AVX2, AVX-512) on a slice of it, projected to the file.
 *
 * Every PC1 configuration runs in its own child process, so each peak RSS is its own; the
 * compression rate is the best of many short bursts taken between runs, so a busy moment on the
 * shared machine cannot inflate the ratio (labelling takes whatever the machine gives it).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { freemem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setSimdPath, simdInfo, simdPath, simdPaths } from '../../native/binding.js';
import { benchCompressions } from '../../native/hash.js';
import { graphParents, sdrGraph } from '../../src/seal/graph.js';
import { ParentCache } from '../../src/seal/parent-cache.js';
import { sealPreCommit1Batch } from '../../src/seal/pc1.js';
import { porepId, sealProofForSectorSize } from '../../src/sector/proofs.js';
import { quick, report } from './bench-util.js';

const MiB = 1024 * 1024;
// CommD of an all-zero sector of each size (V-ZERO): PC1 only needs the 32 bytes
const ZERO_COMMD: Record<number, string> = {
  [8 * MiB]: '65f29e5d98d246c38b388cfc06db1f6b021303c5a289000bdce832a9c3ec421c',
  [512 * MiB]: '39560e7b13a93b07a243fd2720ffa7cb3e1d2e505ab3629e79f46313512cda06',
};

/** Peak RSS of this process's own address space (VmHWM), in MiB. */
function ownPeakRssMiB(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : process.resourceUsage().maxRSS / 1024;
}

interface RunResult {
  labelsPerSecond: number;
  cpuLabelsPerSecond: number;
  labelSeconds: number[];
  wall: number;
  rss: number;
  parentCache: string;
  parentCacheSeconds: number;
  writeSeconds: number[];
}

// child mode: one PC1 batch of `k` sectors of `size`, in a fresh process; prints its result
if (process.argv[2] === '--run') {
  const [size, k, work, parents] = [Number(process.argv[3]), Number(process.argv[4]), process.argv[5]!, process.argv[6]!];
  const gather = process.argv[7] === 'gather';
  const t0 = process.hrtime.bigint();
  const outs = await sealPreCommit1Batch(
    Array.from({ length: k }, (_, i) => ({
      sectorSize: size,
      cacheDir: join(work, `sector-${i + 1}`),
      commD: ZERO_COMMD[size]!,
      minerId: 1000,
      sectorNumber: i + 1,
      ticket: new Uint8Array(32).fill(i),
      parentCacheDir: parents,
      gather,
    })),
  );
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const st = outs[0]!.stats;
  const labels = k * outs[0]!.nodes * st.labelSeconds.length;
  const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
  const result: RunResult = {
    labelsPerSecond: labels / sum(st.labelSeconds),
    cpuLabelsPerSecond: labels / sum(st.labelCpuSeconds),
    labelSeconds: [...st.labelSeconds],
    wall,
    rss: ownPeakRssMiB(),
    parentCache: st.parentCache,
    parentCacheSeconds: st.parentCacheSeconds,
    writeSeconds: [...st.writeSeconds],
  };
  console.log(JSON.stringify(result));
  process.exit(0);
}

function runChild(size: number, k: number, work: string, parents: string, gather = false): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--run', String(size), String(k), work, parents, gather ? 'gather' : 'alone'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let text = '';
    child.stdout.on('data', (d: Buffer) => (text += d.toString()));
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(text) as RunResult) : reject(new Error(`PC1 child exited ${code}`))));
  });
}

/** Best compressions/s of `ways` interleaved streams over `bursts` runs of 100k compressions (~5 ms each). */
function compressionRate(bursts: number, ways: 1 | 4 = 1): number {
  const count = 100_000;
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < bursts; i++) {
    const t0 = process.hrtime.bigint();
    benchCompressions(count, ways);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return (count * ways) / best;
}

const r3 = (x: number) => x.toFixed(3);
console.log(`SIMD paths of this CPU: ${simdPaths().join(', ')}; default ${JSON.stringify(simdInfo())}`);
let cps = compressionRate(quick ? 10 : 50);
report({ name: 'sha256 compressions/s (1 stream)', value: cps, unit: 'ops/s', note: simdInfo().sha256 });
const cps4 = compressionRate(quick ? 10 : 50, 4);
report({
  name: 'sha256 compressions/s (4 streams)',
  value: cps4,
  unit: 'ops/s',
  note: `${(cps4 / cps).toFixed(2)}x one stream: what a core's SHA unit gives interleaved chains, so a batch's labels/s can pass one sector's by about this much (a label's repeated blocks skip their schedule, so a little more)`,
});

const work = await mkdtemp(join(tmpdir(), 'pc1-bench-'));
const parents = join(work, 'parents');
try {
  // parent cache generation: each SIMD path on a slice of the 512 MiB graph, projected to the file
  const size = quick ? 8 * MiB : 512 * MiB;
  const info = sealProofForSectorSize(size);
  const graph = sdrGraph({ nodes: info.nodes, porepId: porepId(info.id) });
  const slice = Math.min(info.nodes, quick ? 1 << 14 : 1 << 18);
  const out = new Uint32Array(slice * 14);
  const defaultPath = simdPath();
  for (const path of simdPaths()) {
    setSimdPath(path);
    const t0 = process.hrtime.bigint();
    graphParents(graph, info.nodes - slice, slice, out);
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    report({
      name: `parent cache ${size / MiB}MiB generation, ${path}`,
      value: Math.round(slice / s),
      unit: 'nodes/s',
      note: `BLAKE2b ${simdInfo().blake2b}; the ${info.nodes}-node file projected at ${(info.nodes / (slice / s)).toFixed(1)} s (measured on ${slice} nodes)`,
    });
  }
  setSimdPath(defaultPath);
  const t0 = process.hrtime.bigint();
  const cache = await ParentCache.open(graph, { dir: parents });
  await cache.close();
  report({ name: `parent cache ${size / MiB}MiB file`, value: Number(process.hrtime.bigint() - t0) / 1e9, unit: 's', note: `${cache.status}, ${simdInfo().blake2b} BLAKE2b, written and digested` });

  for (const sz of quick ? [8 * MiB] : [8 * MiB, 512 * MiB]) {
    const label = `${sz / MiB}MiB`;
    // 8 MiB runs take under a second: the best of three; 512 MiB once
    const repeats = sz <= 8 * MiB ? 3 : 1;
    const batches = [1, 2, 4, 8];
    const results = new Map<number, RunResult>();
    for (const k of batches) {
      const need = 2 * k * sz + 512 * MiB;
      if (need > freemem() * 0.8) {
        console.log(`skipping the batch of ${k} at ${label}: it needs ${Math.round(need / MiB)} MiB, ${Math.round(freemem() / MiB)} MiB free`);
        continue;
      }
      let best: RunResult | undefined;
      for (let r = 0; r < repeats; r++) {
        const dir = join(work, `${label}-${k}-${r}`);
        const res = await runChild(sz, k, dir, parents);
        await rm(dir, { recursive: true, force: true });
        if (!best || res.labelsPerSecond > best.labelsPerSecond) best = res;
        cps = Math.max(cps, compressionRate(quick ? 10 : 30));
      }
      results.set(k, best!);
    }
    // one sector and the batch of 8 again, their parents gathered on a second thread
    const gathered = new Map<number, RunResult>();
    for (const k of [1, 8]) {
      if (!results.has(k)) continue;
      let best: RunResult | undefined;
      for (let r = 0; r < repeats; r++) {
        const dir = join(work, `${label}-${k}-gather-${r}`);
        const res = await runChild(sz, k, dir, parents, true);
        await rm(dir, { recursive: true, force: true });
        if (!best || res.labelsPerSecond > best.labelsPerSecond) best = res;
        cps = Math.max(cps, compressionRate(quick ? 10 : 30));
      }
      gathered.set(k, best!);
    }
    const one = results.get(1)!;
    const ratio = (one.labelsPerSecond * 20) / cps;
    report({
      name: `pc1 ${label} labels/s, one sector`,
      value: Math.round(one.labelsPerSecond),
      unit: 'labels/s',
      note: `${r3(ratio)} of the one-stream SHA limit (labels/s×20 ÷ ${Math.round(cps)} compressions/s; goal >= 1.0); CPU-time ratio ${r3((one.cpuLabelsPerSecond * 20) / cps)}; layers ${one.labelSeconds.map((s) => s.toFixed(2)).join('+')} s; writes ${one.writeSeconds.map((s) => s.toFixed(2)).join('+')} s`,
    });
    report({ name: `pc1 ${label} peak RSS, one sector`, value: Math.round(one.rss), unit: 'MiB', note: `2 layers = ${(2 * sz) / MiB} MiB` });
    for (const k of batches.slice(1)) {
      const r = results.get(k);
      if (!r) continue;
      report({
        name: `pc1 ${label} batch of ${k}, labels/s (1 thread)`,
        value: Math.round(r.labelsPerSecond),
        unit: 'labels/s',
        note: `${(r.labelsPerSecond / one.labelsPerSecond).toFixed(2)}x one sector on the same core (goal >= 2x for the best batch); CPU time ${(r.cpuLabelsPerSecond / one.cpuLabelsPerSecond).toFixed(2)}x; wall ${r.wall.toFixed(1)} s`,
      });
      report({ name: `pc1 ${label} batch of ${k}, peak RSS per sector`, value: Math.round(r.rss / k), unit: 'MiB', note: `${Math.round(r.rss)} MiB for the batch` });
    }
    const g1 = gathered.get(1);
    if (g1) {
      report({
        name: `pc1 ${label} labels/s, one sector, parents gathered (2 threads)`,
        value: Math.round(g1.labelsPerSecond),
        unit: 'labels/s',
        note: `${r3((g1.labelsPerSecond * 20) / cps)} of the one-stream SHA limit (goal >= 1.0); ${(g1.labelsPerSecond / one.labelsPerSecond).toFixed(2)}x the sector labelled alone; layers ${g1.labelSeconds.map((s) => s.toFixed(2)).join('+')} s; peak RSS ${Math.round(g1.rss)} MiB`,
      });
    }
    const g8 = gathered.get(8);
    if (g1 && g8) {
      report({
        name: `pc1 ${label} batch of 8, parents gathered (2 threads)`,
        value: Math.round(g8.labelsPerSecond),
        unit: 'labels/s',
        note: `${(g8.labelsPerSecond / g1.labelsPerSecond).toFixed(2)}x one sector gathered (same two threads); ${(g8.labelsPerSecond / one.labelsPerSecond).toFixed(2)}x one sector alone; ${r3((g8.labelsPerSecond * 20) / cps4)} of the 4-stream compression rate; wall ${g8.wall.toFixed(1)} s`,
      });
    }
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
