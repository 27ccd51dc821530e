/**
 * SHA-256 machinery on one thread: raw compressions/s (1, 2 and 4 interleaved streams), fr32
 * pad/unpad, hashLayer, treeRoot and commPChunk throughput, each tied back to the best raw
 * compression rate measured in the same run (a node hash costs 2 compressions), plus node:crypto
 * 64-byte digests/s as the outside baseline. Best of several repeats, because the machine is shared.
 */
import { createHash, randomFillSync } from 'node:crypto';
import { shaBackend, simdInfo } from '../../native/binding.js';
import { benchCompressions, commPChunk, fr32Pad, fr32Unpad, hashLayer, setShaBackend, treeRoot } from '../../native/hash.js';
import { peakRssMiB, quick, report } from './bench-util.js';

const ROUNDS = quick ? 2 : 40;
const MiB = 1024 * 1024;
const r2 = (x: number): number => Math.round(x * 100) / 100;

/**
 * Every case runs once per round, round-robin, and keeps its shortest time: on a shared machine
 * all cases then see the same mix of quiet and busy moments, so their ratios stay meaningful.
 * Runs are kept short (a few ms, inputs of a few MiB) so that some of them fit in one
 * scheduler time slice.
 */
interface Case {
  run: () => unknown;
  best: number;
}
const cases = new Map<string, Case>();
function add(name: string, run: () => unknown): void {
  cases.set(name, { run, best: Number.POSITIVE_INFINITY });
}
function best(name: string): number {
  return cases.get(name)!.best;
}

const backend = shaBackend();
console.log(`SIMD: ${JSON.stringify(simdInfo())}`);
// the same total number of compressions per call for every width, so all runs are equally short
const totalCompressions = quick ? 50_000 : 100_000;
for (const ways of [1, 2, 4] as const) add(`compress${ways}`, () => benchCompressions(totalCompressions / ways, ways));
const portableCount = quick ? 10_000 : 20_000;
if (backend === 'sha-ni') {
  add('portable', () => {
    setShaBackend('portable');
    try {
      benchCompressions(portableCount, 1);
    } finally {
      setShaBackend('sha-ni');
    }
  });
}
const digests = quick ? 2_000 : 5_000;
const msg64 = new Uint8Array(64);
add('node-crypto', () => {
  for (let i = 0; i < digests; i++) createHash('sha256').update(msg64).digest();
});
const fr32Blocks = quick ? 8192 : 32_768; // 1 MiB / 4 MiB of input
const fr32In = randomFillSync(new Uint8Array(127 * fr32Blocks));
const fr32Out = new Uint8Array(128 * fr32Blocks);
const fr32Back = new Uint8Array(127 * fr32Blocks);
add('fr32Pad', () => fr32Pad(fr32In, fr32Out));
add('fr32Unpad', () => fr32Unpad(fr32Out, fr32Back));
const pairs = quick ? 16_384 : 65_536; // children 1 MiB / 4 MiB
const children = randomFillSync(new Uint8Array(64 * pairs));
const parents = new Uint8Array(32 * pairs);
add('hashLayer', () => hashLayer(children, parents));
const leafBytes = quick ? MiB : 4 * MiB;
const leaves = randomFillSync(new Uint8Array(leafBytes));
add('treeRoot', () => treeRoot(leaves));
const commpBlocks = quick ? 8192 : 32_768; // 1 MiB / 4 MiB unpadded
const unpadded = randomFillSync(new Uint8Array(127 * commpBlocks));
const padded = new Uint8Array(128 * commpBlocks);
add('commPChunk', () => commPChunk(unpadded, padded));

for (let round = 0; round < ROUNDS; round++) {
  for (const c of cases.values()) {
    const t0 = process.hrtime.bigint();
    c.run();
    c.best = Math.min(c.best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
}

const rates: Record<number, number> = {};
for (const ways of [1, 2, 4] as const) rates[ways] = totalCompressions / best(`compress${ways}`);
const bestRate = Math.max(rates[1]!, rates[2]!, rates[4]!);
for (const ways of [1, 2, 4] as const) {
  report({
    name: `sha256.compress.${ways}way`,
    value: r2(rates[ways]! / 1e6),
    unit: 'M compressions/s',
    note: `${backend}; ${r2(rates[ways]! / rates[1]!)}x single stream`,
  });
}
if (backend === 'sha-ni') {
  const portableRate = portableCount / best('portable');
  report({
    name: 'sha256.compress.portable',
    value: r2(portableRate / 1e6),
    unit: 'M compressions/s',
    note: `portable C; sha-ni single stream is ${r2(rates[1]! / portableRate)}x`,
  });
}
const nodeRate = digests / best('node-crypto');
report({ name: 'sha256.node-crypto.64B', value: r2(nodeRate / 1e6), unit: 'M digests/s', note: 'baseline: createHash per node pair' });
report({
  name: 'fr32.pad',
  value: r2(fr32In.length / best('fr32Pad') / MiB),
  unit: 'MiB/s',
  note: `${(fr32In.length / MiB).toFixed(1)} MiB unpadded input`,
});
report({
  name: 'fr32.unpad',
  value: r2(fr32Back.length / best('fr32Unpad') / MiB),
  unit: 'MiB/s',
  note: `unpad/pad speed ${r2(best('fr32Pad') / best('fr32Unpad'))}`,
});
const layerRate = pairs / best('hashLayer');
report({
  name: 'sha.hashLayer',
  value: r2(layerRate / 1e6),
  unit: 'M node-pairs/s',
  note: `${r2((2 * layerRate) / bestRate)} of best raw compression rate (2 compressions per pair; the second has a precomputed schedule, so > 1 is possible); ${r2(layerRate / nodeRate)}x node:crypto`,
});
report({
  name: 'sha.treeRoot',
  value: r2(leafBytes / best('treeRoot') / MiB),
  unit: 'MiB/s of leaves',
  note: `${r2((2 * (leafBytes / 32 - 1)) / best('treeRoot') / bestRate)} of best raw compression rate; ${r2((leafBytes / 32 - 1) / best('treeRoot') / layerRate)} of hashLayer rate`,
});
report({
  name: 'sha.commPChunk',
  value: r2(unpadded.length / best('commPChunk') / MiB),
  unit: 'MiB/s of unpadded',
  note: `${r2((2 * (4 * commpBlocks - 1)) / best('commPChunk') / bestRate)} of best raw compression rate; ${r2((4 * commpBlocks - 1) / best('commPChunk') / layerRate)} of hashLayer rate`,
});
report({ name: 'sha.peakRss', value: r2(peakRssMiB()), unit: 'MiB', note: 'peak RSS of this scenario' });
