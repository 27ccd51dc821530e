/**
 * A full seal on this machine, phase by phase (AddPiece, PC1, PC2, C1, C2, verify) for a
 * 512 MiB CC sector (8 MiB with BENCH_QUICK=1), as `sector-storage seal` runs it, with the peak
 * RSS of the process at the end of each phase (cumulative: the RSS high-water mark so far); then
 * a batch of four such sectors as `seal --num-sectors 4` runs it (every core: PC1 batches side
 * by side on pool threads, then PC2 after PC2), against four times the one sector.
 *
 * Baselines measured in the same run: PC1 against the SHA-256 compression limit (a label is
 * 20 chained compressions: 1248 message bytes + padding), PC2 against its Poseidon hashes alone
 * (column hashes + two arity-8 trees). The proof is a vanilla proof bundle (not a Groth16 SNARK,
 * whose parameters are unavailable), so C2 here costs nothing like the reference's minutes.
 */
import { availableParallelism } from 'node:os';
import { randomFillSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchCompressions } from '../../native/hash.js';
import { columnHashes, poseidonLayer } from '../../native/poseidon.js';
import { simdInfo } from '../../native/binding.js';
import { SealerPool } from '../../src/pool/pool.js';
import { sealStepsOnPool } from '../../src/pool/seal-steps.js';
import { SEAL_PHASES, type SealPhase, sealSectors } from '../../src/seal/seal-sector.js';
import { sealProofForSectorSize } from '../../src/sector/proofs.js';
import { peakRssMiB, quick, report } from './bench-util.js';

const MiB = 1024 * 1024;
const r2 = (x: number) => Math.round(x * 100) / 100;
const sectorSize = quick ? 8 * MiB : 512 * MiB;
const label = quick ? '8MiB' : '512MiB';
const info = sealProofForSectorSize(sectorSize);

function timeIt(fn: () => void): number {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 3; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return best;
}

// SHA-256 compressions per second on one thread, one stream (labels are chained)
const compressions = 2_000_000;
const shaRate = compressions / timeIt(() => benchCompressions(compressions, 1));
const sample = 4096;
const nodes = (n: number) => {
  const b = new Uint8Array(n * 32);
  randomFillSync(b);
  for (let i = 31; i < b.length; i += 32) b[i] = b[i]! & 0x3f;
  return b;
};
const x = nodes(sample);
const y = nodes(sample);
const out = new Uint8Array(sample * 32);
const columnRate = sample / timeIt(() => columnHashes([x, y], out));
const kids = nodes(sample * 8);
const octRate = sample / timeIt(() => poseidonLayer(kids, out, 8));

const dir = await mkdtemp(join(tmpdir(), 'seal-bench-'));
const rss: Partial<Record<SealPhase, number>> = {};
console.log(`SIMD: ${JSON.stringify(simdInfo())}`);
const pool = new SealerPool({ threads: availableParallelism() });
try {
  const result = await sealSectors({
    sectorSize,
    dir: join(dir, 'one'),
    parentCacheDir: join(dir, 'parents'),
    steps: sealStepsOnPool(pool),
    onPhase: (e) => {
      if (e.state === 'done') rss[e.phase] = peakRssMiB();
    },
  });
  const pc1Limit = (info.nodes * info.layers * 20) / shaRate;
  // PC2 hashes on every core (threads = availableParallelism); the rates above are one thread's
  const pc2Threads = availableParallelism();
  const pc2Limit = (info.nodes / columnRate + (2 * (info.nodes - 1)) / 7 / octRate) / pc2Threads;
  for (const phase of SEAL_PHASES) {
    const s = (result.times[phase] ?? 0) / 1000;
    let note = `peak RSS ${Math.round(rss[phase] ?? 0)} MiB so far`;
    if (phase === 'pc1') {
      note += `; SHA-256 limit ${r2(pc1Limit)} s at ${Math.round(shaRate / 1e6)}M compressions/s = ${Math.round((pc1Limit / s) * 100)}% (includes the parent cache build on a fresh cache)`;
    }
    if (phase === 'pc2') {
      note += `; Poseidon alone on ${pc2Threads} thread(s) ${r2(pc2Limit)} s = ${Math.round((pc2Limit / s) * 100)}%`;
    }
    if (phase === 'c2') note += `; ${result.prover.name} (${result.sectors[0]!.proof!.length} bytes, not a Groth16 SNARK)`;
    report({ name: `seal.${label}.${phase}`, value: r2(s), unit: 's', note });
  }
  const total = SEAL_PHASES.reduce((sum, p) => sum + (result.times[p] ?? 0), 0) / 1000;
  report({
    name: `seal.${label}.total`,
    value: r2(total),
    unit: 's',
    note: `CommR ${result.sectors[0]!.commR}; verified ${result.sectors[0]!.verified}; ${r2(sectorSize / MiB / total)} MiB/s end to end`,
  });
  report({ name: `seal.${label}.peak_rss`, value: Math.round(peakRssMiB()), unit: 'MiB', note: 'this process (the pool threads run in it)' });
  await rm(join(dir, 'one'), { recursive: true, force: true });

  // four sectors, as `seal --num-sectors 4` (the parent cache exists now, as for the one's PC1
  // line it did not: compare PC1 labelling through the batch's time per sector)
  const batch = await sealSectors({ sectorSize, dir: join(dir, 'four'), parentCacheDir: join(dir, 'parents'), count: 4, steps: sealStepsOnPool(pool) });
  for (const phase of SEAL_PHASES) {
    const s = (batch.times[phase] ?? 0) / 1000;
    const one = (result.times[phase] ?? 0) / 1000;
    report({
      name: `seal.${label}.batch4.${phase}`,
      value: r2(s),
      unit: 's',
      note: `${r2(s / 4)} s per sector; one sector alone ${r2(one)} s${phase === 'pc1' ? ` (PC1 batches ${batch.pc1Batches.join('+')} side by side)` : ''}`,
    });
  }
  const total4 = SEAL_PHASES.reduce((sum, p) => sum + (batch.times[p] ?? 0), 0) / 1000;
  report({
    name: `seal.${label}.batch4.total`,
    value: r2(total4),
    unit: 's',
    note: `${r2(total4 / 4)} s per sector against ${r2(total)} s alone (${r2((4 * total) / total4)}x the throughput); all verified ${batch.sectors.every((x) => x.verified)}`,
  });
  report({ name: `seal.${label}.batch4.peak_rss`, value: Math.round(peakRssMiB()), unit: 'MiB', note: 'this process, both runs' });
} finally {
  await pool.close();
  await rm(dir, { recursive: true, force: true });
}
