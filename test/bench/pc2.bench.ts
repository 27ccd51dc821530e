/**
 * PC2 wall time and peak memory: 8 MiB and (unless BENCH_QUICK=1) 512 MiB, each on one thread
 * and on every core (the `threads` option, default os.availableParallelism()), each
 * against the time the Poseidon hashing alone takes at rates measured in the same run with the
 * same thread count (column hashes of arity 2 for every node, plus two arity-8 trees:
 * (nodes − 1)/7 hashes each). The SHA-256 tree_d, the Fr encoding and the file I/O are the
 * difference. Each size's every-core line gives its speed-up against its one-thread line.
 *
 * Inputs are synthetic but well-formed: random fr32 data in the unsealed file (CommD computed
 * from it) and random field elements as the two layer files. PC2 does not check labels against
 * the replica id, so its work is exactly that of a real sector; PC1 (seconds to minutes) is not
 * part of this measurement.
 */
import { randomFillSync } from 'node:crypto';
import { mkdir, mkdtemp, open, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { simdInfo } from '../../native/binding.js';
import { columnHashes, poseidonLayer } from '../../native/poseidon.js';
import { porepId, sealProofForSectorSize } from '../../src/sector/proofs.js';
import { CacheFile } from '../../src/sector/layout.js';
import type { PreCommit1Output } from '../../src/seal/pc1.js';
import { sealPreCommit2 } from '../../src/seal/pc2.js';
import { unsealedCommD } from '../../src/seal/unsealed-comm-d.js';
import { peakRssMiB, quick, report, seconds } from './bench-util.js';

const MiB = 1024 * 1024;
const r2 = (x: number) => Math.round(x * 100) / 100;

function randomNodes(count: number): Uint8Array {
  const b = new Uint8Array(count * 32);
  randomFillSync(b);
  for (let i = 31; i < b.length; i += 32) b[i] = b[i]! & 0x3f;
  return b;
}

function bestRate(count: number, fn: () => void): number {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 3; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return count / best;
}

const cores = availableParallelism();
const sample = 8192;
const a = randomNodes(sample);
const b = randomNodes(sample);
const out = new Uint8Array(sample * 32);
const kids = randomNodes(sample * 8);
/** Poseidon rates (hashes/s) on `threads` threads, measured now. */
function rates(threads: number): { columnRate: number; octRate: number } {
  return {
    columnRate: bestRate(sample, () => columnHashes([a, b], out, { threads })),
    octRate: bestRate(sample, () => poseidonLayer(kids, out, 8, { threads })),
  };
}
const rateBy = new Map([1, cores].map((n) => [n, rates(n)]));

async function writeRandomFile(path: string, bytes: number): Promise<void> {
  const fh = await open(path, 'w');
  const chunk = Math.min(bytes, 4 * MiB);
  for (let off = 0; off < bytes; off += chunk) await fh.write(randomNodes(chunk / 32), 0, chunk, off);
  await fh.close();
}

/**
 * Runs PC2 on one input set once per thread count (the sealed file of a run is replaced by the
 * next); throws if the thread counts disagree on comm_r. Returns the first run's MiB/s.
 * `baseline` (MiB/s of a one-thread run) adds a speed-up to every line.
 */
async function bench(sectorSize: number, label: string, threadCounts: number[], baseline?: number): Promise<number> {
  const info = sealProofForSectorSize(sectorSize);
  const dir = await mkdtemp(join(tmpdir(), 'pc2-bench-'));
  try {
    const cacheDir = join(dir, 'cache');
    await mkdir(cacheDir);
    const unsealedPath = join(dir, 'unsealed');
    await writeRandomFile(unsealedPath, sectorSize);
    for (let l = 1; l <= info.layers; l++) await writeRandomFile(join(cacheDir, CacheFile.layer(l)), sectorSize);
    const commD = Buffer.from(await unsealedCommD(unsealedPath, sectorSize)).toString('hex');
    const pc1: PreCommit1Output = {
      v: 1,
      proof: info.id,
      apiVersion: 'V1_1',
      sectorSize,
      nodes: info.nodes,
      layers: info.layers,
      minerId: 1000,
      sectorNumber: 1,
      porepId: Buffer.from(porepId(info.id)).toString('hex'),
      replicaId: '00'.repeat(32),
      ticket: '00'.repeat(32),
      commD,
      cacheDir,
      layerFiles: Array.from({ length: info.layers }, (_, i) => CacheFile.layer(i + 1)),
      layerDigests: [],
      parentCachePath: '',
      resumedLayers: 0,
      stats: { parentCacheSeconds: 0, parentCache: 'unused', allocSeconds: 0, labelSeconds: [], labelCpuSeconds: [], writeSeconds: [], batchSize: 1 },
    };
    let first: number | undefined;
    let firstCommR: string | undefined;
    for (const threads of threadCounts) {
      const rssBefore = peakRssMiB();
      let commR = '';
      const s = await seconds(async () => {
        commR = (await sealPreCommit2(pc1, { cacheDir, sealedPath: join(dir, 'sealed'), unsealedPath }, undefined, { threads })).commR.toString();
      });
      firstCommR ??= commR;
      if (commR !== firstCommR) throw new Error(`PC2 on ${threads} threads gave ${commR}, on ${threadCounts[0]} ${firstCommR}`);
      const rate = rateBy.get(threads);
      if (!rate) throw new Error(`no Poseidon rate measured for ${threads} threads`);
      const { columnRate, octRate } = rate;
      const hashOnly = info.nodes / columnRate + (2 * (info.nodes - 1)) / 7 / octRate;
      const speed = sectorSize / MiB / s;
      first ??= speed;
      const base = baseline ?? (threads === threadCounts[0] ? undefined : first);
      const speedUp = base === undefined ? '' : `; ${r2(speed / base)}× the one-thread ${baseline === undefined ? label : '8 MiB'} throughput of this run`;
      report({
        name: `pc2.${label}.threads${threads}`,
        value: r2(s),
        unit: 's',
        note: `${r2(speed)} MiB/s on ${threads} thread(s)${speedUp}; Poseidon alone (${Math.round(columnRate)} columns/s, ${Math.round(octRate)} arity-8/s) would take ${r2(hashOnly)} s = ${Math.round((hashOnly / s) * 100)}% of it; commR ${commR.slice(0, 16)}…; peak RSS ${Math.round(peakRssMiB())} MiB (${Math.round(rssBefore)} before PC2)`,
      });
    }
    return first ?? 0;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

console.log(`SIMD: ${JSON.stringify(simdInfo())}`);
await bench(8 * MiB, '8MiB', cores > 1 ? [1, cores] : [1]);
if (!quick) await bench(512 * MiB, '512MiB', cores > 1 ? [1, cores] : [1]);
report({ name: 'pc2.peak_rss', value: Math.round(peakRssMiB()), unit: 'MiB', note: quick ? '8 MiB only (BENCH_QUICK)' : '8 MiB and 512 MiB' });
