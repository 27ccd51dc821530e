/**
 * A full seal on this machine, phase by phase (AddPiece, PC1, PC2, C1, C2, verify) for a
 * 512 MiB CC sector (8 MiB with BENCH_QUICK=1), as `sector-storage seal` runs it, with the peak
 * RSS of the process at the end of each phase (cumulative: the RSS high-water mark so far).
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
try {
  const result = await sealSectors({
    sectorSize,
    dir,
    parentCacheDir: join(dir, 'parents'),
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
  report({ name: `seal.${label}.peak_rss`, value: Math.round(peakRssMiB()), unit: 'MiB' });
} finally {
  await rm(dir, { recursive: true, force: true });
}
