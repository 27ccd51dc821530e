/**
 * Poseidon on one thread: hashes/s per arity (2 = column hashes of small sectors, 8 = tree
 * nodes, 11 = column hashes of 32/64 GiB) on every SIMD path this CPU runs (portable C; MULX/ADX
 * with lazy reduction from `shani` up; the AVX-512 IFMA kernel on `ifma`), each against the
 * scalar permutation as it was before lazy reduction and IFMA (`poseidonLayerEager`: every product
 * reduced, MULX/ADX), measured in the same run; also the textbook reference permutation. Then a
 * tree_r_last build (8 MiB, and 512 MiB unless BENCH_QUICK=1) from a sealed file on disk, against
 * the time its Poseidon8 hashes alone take at the measured rate; peak memory.
 */
import { randomFillSync } from 'node:crypto';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setSimdPath, simdInfo, simdPath, simdPaths } from '../../native/binding.js';
import { poseidonHashReference, poseidonLayer, poseidonLayerEager } from '../../native/poseidon.js';
import { buildTreeRLast } from '../../src/merkle/sector-trees.js';
import { peakRssMiB, quick, report, seconds } from './bench-util.js';

const r2 = (x: number): number => Math.round(x * 100) / 100;
const MiB = 1024 * 1024;

/** Random field elements below 2^254. */
function randomNodes(count: number): Uint8Array {
  const b = new Uint8Array(count * 32);
  randomFillSync(b);
  for (let i = 31; i < b.length; i += 32) b[i] = (b[i] ?? 0) & 0x3f;
  return b;
}

/** Best calls/s of `fn` over a few repeats, times `count` (the machine is shared). */
function rate(count: number, fn: () => void, repeats = quick ? 2 : 5): number {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < repeats; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return count / best;
}

const defaultPath = simdPath();
console.log(`SIMD paths of this CPU: ${simdPaths().join(', ')}; default ${JSON.stringify(simdInfo())}`);
const rates: Record<number, number> = {};
for (const arity of [2, 8, 11]) {
  const count = (quick ? 4000 : 40000) / (arity === 2 ? 1 : 4);
  const children = randomNodes(count * arity);
  const parents = new Uint8Array(count * 32);
  poseidonLayer(children.subarray(0, arity * 32), parents.subarray(0, 32), arity); // build constants
  // every path and the baseline round-robin, best of each: a busy moment hits them all alike
  const best: Record<string, number> = {};
  const runs: [string, () => void][] = [
    ...simdPaths().map((path): [string, () => void] => [path, () => { setSimdPath(path); poseidonLayer(children, parents, arity); }]),
    ['baseline', () => { setSimdPath(defaultPath); poseidonLayerEager(children, parents, arity); }],
  ];
  for (let round = 0; round < (quick ? 2 : 5); round++) {
    for (const [name, fn] of runs) {
      const t0 = process.hrtime.bigint();
      fn();
      best[name] = Math.max(best[name] ?? 0, count / (Number(process.hrtime.bigint() - t0) / 1e9));
    }
  }
  setSimdPath(defaultPath);
  const few = Math.max(200, count / 20);
  const reference = rate(few, () => {
    for (let i = 0; i < few; i++) poseidonHashReference(children.subarray(i * arity * 32, (i + 1) * arity * 32));
  });
  const baseline = best.baseline!;
  rates[arity] = best[defaultPath]!;
  report({
    name: `poseidon.arity${arity}.baseline`,
    value: Math.round(baseline),
    unit: 'hashes/s',
    note: `the scalar permutation before this issue (every product reduced, MULX/ADX); ${r2(baseline / reference)}x the reference permutation (${Math.round(reference)}/s)`,
  });
  for (const path of simdPaths()) {
    const v = best[path]!;
    const goal = path === 'ifma' ? 'goal >= 2x' : path === 'portable' ? 'portable C, no MULX/ADX' : 'goal >= 1.3x';
    report({ name: `poseidon.arity${arity}.${path}`, value: Math.round(v), unit: 'hashes/s', note: `${r2(v / baseline)}x the baseline (${goal})` });
  }
}

async function treeRLastBench(sectorBytes: number, label: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'poseidon-bench-'));
  try {
    const sealed = join(dir, 'sealed');
    const file = await open(sealed, 'w');
    const chunk = Math.min(sectorBytes, 16 * MiB);
    const buf = randomNodes(chunk / 32);
    for (let off = 0; off < sectorBytes; off += chunk) await file.write(buf, 0, chunk, off);
    await file.close();
    const nodes = sectorBytes / 32;
    const rssBefore = peakRssMiB();
    let root: Uint8Array | undefined;
    const s = await seconds(async () => {
      root = (await buildTreeRLast(nodes, dir, sealed)).root;
    });
    // Poseidon8 hashes of an 8-ary tree over `nodes` leaves: (nodes - 1) / 7
    const hashOnly = (nodes - 1) / 7 / rates[8]!;
    report({
      name: `tree_r_last.${label}`,
      value: r2(s),
      unit: 's',
      note: `${r2(sectorBytes / MiB / s)} MiB/s; hashing alone would take ${r2(hashOnly)} s (${Math.round((hashOnly / s) * 100)}%); root ${Buffer.from(root!).toString('hex').slice(0, 8)}…; peak RSS ${Math.round(peakRssMiB())} MiB (was ${Math.round(rssBefore)} before the build)`,
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await treeRLastBench(8 * MiB, '8MiB');
if (!quick) await treeRLastBench(512 * MiB, '512MiB');
report({ name: 'poseidon.peak_rss', value: Math.round(peakRssMiB()), unit: 'MiB' });
