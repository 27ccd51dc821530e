/**
 * SHA-256 machinery on one thread: raw compressions/s (1, 2 and 4 interleaved streams), fr32
 * pad/unpad, hashLayer, treeRoot and commPChunk throughput, each tied back to the best raw
 * compression rate measured in the same run (a node hash costs 2 compressions), plus node:crypto
 * 64-byte digests/s as the outside baseline. Best of several repeats, because the machine is shared.
 */
import { createHash, randomFillSync } from 'node:crypto';
import { shaBackend } from '../../native/binding.js';
import { benchCompressions, commPChunk, fr32Pad, fr32Unpad, hashLayer, setShaBackend, treeRoot } from '../../native/hash.js';
import { peakRssMiB, quick, report } from './bench-util.js';

const REPEATS = quick ? 2 : 9;
const MiB = 1024 * 1024;

/** Best (shortest) wall time of `fn` over REPEATS runs, in seconds. */
function best(fn: () => unknown): number {
  let min = Number.POSITIVE_INFINITY;
  for (let i = 0; i < REPEATS; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    min = Math.min(min, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return min;
}

const r2 = (x: number): number => Math.round(x * 100) / 100;

// --- raw compression rates -------------------------------------------------------------
const backend = shaBackend();
const perStream = quick ? 200_000 : 1_500_000;
const rates: Record<number, number> = {};
for (const ways of [1, 2, 4] as const) {
  const count = Math.floor(perStream / ways) * (ways === 1 ? 1 : 2); // keep each run near the same length
  const s = best(() => benchCompressions(count, ways));
  rates[ways] = (count * ways) / s;
}
const bestRate = Math.max(rates[1]!, rates[2]!, rates[4]!);
for (const ways of [1, 2, 4] as const) {
  report({
    name: `sha256.compress.${ways}way`,
    value: r2(rates[ways]! / 1e6),
    unit: 'M compressions/s',
    note: `${backend}; ${r2(rates[ways]! / rates[1]!)}x single stream`,
  });
}
let portableRate = 0;
if (backend === 'sha-ni') {
  setShaBackend('portable');
  const count = quick ? 50_000 : 1_000_000;
  portableRate = count / best(() => benchCompressions(count, 1));
  setShaBackend('sha-ni');
  report({
    name: 'sha256.compress.portable',
    value: r2(portableRate / 1e6),
    unit: 'M compressions/s',
    note: `portable C; sha-ni 1-way is ${r2(rates[1]! / portableRate)}x`,
  });
}

// --- node:crypto baseline: one 64-byte digest per call ----------------------------------
{
  const n = quick ? 20_000 : 300_000;
  const msg = new Uint8Array(64);
  const s = best(() => {
    for (let i = 0; i < n; i++) createHash('sha256').update(msg).digest();
  });
  report({ name: 'sha256.node-crypto.64B', value: r2(n / s / 1e6), unit: 'M digests/s', note: 'baseline: createHash per node pair' });
}

// --- fr32 ------------------------------------------------------------------------------
{
  const blocks = quick ? 8192 : 131_072; // 1 MiB / 16 MiB of input
  const input = randomFillSync(new Uint8Array(127 * blocks));
  const padded = new Uint8Array(128 * blocks);
  const back = new Uint8Array(127 * blocks);
  const sp = best(() => fr32Pad(input, padded));
  const su = best(() => fr32Unpad(padded, back));
  report({ name: 'fr32.pad', value: r2(input.length / sp / MiB), unit: 'MiB/s', note: `${(input.length / MiB).toFixed(1)} MiB unpadded input` });
  report({ name: 'fr32.unpad', value: r2(back.length / su / MiB), unit: 'MiB/s', note: `unpad/pad speed ${r2(sp / su)}` });
}

// --- hashLayer -------------------------------------------------------------------------
{
  const pairs = quick ? 16_384 : 262_144; // children 1 MiB / 16 MiB
  const children = randomFillSync(new Uint8Array(64 * pairs));
  const parents = new Uint8Array(32 * pairs);
  const s = best(() => hashLayer(children, parents));
  const rate = pairs / s;
  report({
    name: 'sha.hashLayer',
    value: r2(rate / 1e6),
    unit: 'M node-pairs/s',
    note: `${r2((2 * rate) / bestRate)} of best compression rate (2 compressions per pair; the second one has a precomputed schedule, so > 1 is possible)`,
  });
}

// --- treeRoot --------------------------------------------------------------------------
{
  const bytes = quick ? MiB : 64 * MiB;
  const leaves = randomFillSync(new Uint8Array(bytes));
  const s = best(() => treeRoot(leaves));
  const compressions = 2 * (bytes / 32 - 1);
  report({
    name: 'sha.treeRoot',
    value: r2(bytes / s / MiB),
    unit: 'MiB/s of leaves',
    note: `${r2(compressions / s / bestRate)} of best compression rate`,
  });
}

// --- commPChunk (fr32 pad + tree, one pass) -------------------------------------------
{
  const blocks = quick ? 8192 : 262_144; // 1 MiB / 32 MiB unpadded
  const unpadded = randomFillSync(new Uint8Array(127 * blocks));
  const padded = new Uint8Array(128 * blocks);
  const s = best(() => commPChunk(unpadded, padded));
  const compressions = 2 * (4 * blocks - 1);
  report({
    name: 'sha.commPChunk',
    value: r2(unpadded.length / s / MiB),
    unit: 'MiB/s of unpadded',
    note: `${r2(compressions / s / bestRate)} of best compression rate (bound ${r2((bestRate / 8) * 127 / MiB)} MiB/s)`,
  });
}

report({ name: 'sha.peakRss', value: r2(peakRssMiB()), unit: 'MiB', note: 'peak RSS of this scenario' });
