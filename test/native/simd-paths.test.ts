/**
 * Every SIMD path this CPU runs gives the same bytes. The suite's hashing, labelling, Poseidon
 * and tree tests also run once per path in CI (SECTOR_STORAGE_SIMD, see .ci/run); these tests
 * switch paths inside one thread and compare them with the portable C path directly.
 */
import { execFileSync } from 'node:child_process';
import test from 'ava';
import { SIMD_PATHS, type SimdPath, setSimdPath, simdInfo, simdPath, simdPaths } from '../../native/binding.js';
import { commPChunk, hashLayer, treeRoot } from '../../native/hash.js';
import { columnHashes, poseidonLayer } from '../../native/poseidon.js';
import { NativeUnavailableError } from '../../src/errors.js';
import { graphParents, sdrGraph } from '../../src/seal/graph.js';
import { createLabels } from '../../src/seal/labels.js';
import { porepId } from '../../src/sector/proofs.js';
import { hex, seededBytes } from '../helpers/bytes.js';

/** Runs fn on every path this CPU runs, then restores the thread's path; returns results by path. */
function onEveryPath<T>(fn: () => T): Map<SimdPath, T> {
  const before = simdPath();
  const out = new Map<SimdPath, T>();
  try {
    for (const path of simdPaths()) {
      setSimdPath(path);
      out.set(path, fn());
    }
  } finally {
    setSimdPath(before);
  }
  return out;
}

function sameOnEveryPath(t: import('ava').ExecutionContext, results: Map<SimdPath, string>, what: string): void {
  const portable = results.get('portable')!;
  for (const [path, r] of results) t.is(r, portable, `${what} on ${path}`);
}

/** Canonical field elements. */
function elements(n: number, seed: number): Uint8Array {
  const b = seededBytes(n * 32, seed);
  for (let i = 31; i < b.length; i += 32) b[i]! &= 0x3f;
  return b;
}

test('the thread runs the path SECTOR_STORAGE_SIMD names, else the best this CPU runs', (t) => {
  const forced = process.env.SECTOR_STORAGE_SIMD;
  t.is(simdPath() as string, forced ? forced : simdPaths().at(-1)!);
  t.is(simdInfo().path, simdPath());
  t.log(`paths of this CPU: ${simdPaths().join(', ')}; this run: ${JSON.stringify(simdInfo())}`);
});

test('paths are listed lowest first, portable always among them', (t) => {
  const paths = simdPaths();
  t.is(paths[0], 'portable');
  t.deepEqual(paths, SIMD_PATHS.filter((p) => paths.includes(p)));
});

test('each path reports the kernels it runs', (t) => {
  const infos = onEveryPath(() => simdInfo());
  t.deepEqual(infos.get('portable'), { path: 'portable', sha256: 'portable', blake2b: 'portable', poseidon: 'portable', pc1Batch8: 'portable' });
  if (infos.has('shani')) t.like(infos.get('shani'), { sha256: 'sha-ni', blake2b: 'portable', pc1Batch8: 'sha-ni-pairs' });
  if (infos.has('avx2')) t.like(infos.get('avx2'), { blake2b: 'avx2' });
  if (infos.has('avx512')) t.like(infos.get('avx512'), { blake2b: 'avx512' });
  if (infos.has('ifma')) t.like(infos.get('ifma'), { blake2b: 'avx512', poseidon: 'ifma' });
});

test('every path hashes node pairs, roots and commP chunks identically, 8-pair runs and tails included', (t) => {
  for (const pairs of [1, 7, 8, 9, 15, 16, 17, 64, 1000, 4099]) {
    const children = seededBytes(pairs * 64, pairs);
    sameOnEveryPath(t, onEveryPath(() => {
      const parents = new Uint8Array(pairs * 32);
      hashLayer(children, parents);
      const inPlace = children.slice();
      hashLayer(inPlace, inPlace.subarray(0, pairs * 32));
      return hex(parents) + hex(inPlace.subarray(0, pairs * 32));
    }), `${pairs} pairs`);
  }
  const leaves = seededBytes(1 << 16, 3);
  sameOnEveryPath(t, onEveryPath(() => hex(treeRoot(leaves))), 'tree root of 2048 leaves');
  const unpadded = seededBytes(127 * 512, 4);
  sameOnEveryPath(t, onEveryPath(() => hex(commPChunk(unpadded, new Uint8Array(128 * 512)))), 'commP chunk');
});

test('every path computes the same graph parents (expander BLAKE2b lanes and cycle walking)', (t) => {
  for (const nodes of [64, 1000, 1 << 12, 1 << 18]) {
    const graph = sdrGraph({ nodes, porepId: porepId(5) });
    const count = Math.min(nodes, 4096);
    sameOnEveryPath(t, onEveryPath(() => hex(new Uint8Array(graphParents(graph, nodes - count, count).buffer))), `${nodes}-node graph`);
  }
  const legacy = sdrGraph({ nodes: 1 << 10, porepId: porepId(0), apiVersion: 'V1_0' });
  sameOnEveryPath(t, onEveryPath(() => hex(new Uint8Array(graphParents(legacy, 0, 1 << 10).buffer))), 'V1_0 graph');
});

test('every path labels a batch of eight sectors as eight single labellings (SHA-NI pairs or AVX-512VL lanes)', async (t) => {
  const { sdrLabelRange, sdrLabelRangeBatch } = await import('../../native/sdr.js');
  const nodes = 2048;
  const graph = sdrGraph({ nodes, porepId: porepId(6) });
  const parents = graphParents(graph, 0, nodes);
  const rids = Array.from({ length: 8 }, (_, i) => new Uint8Array(32).fill(i * 29 + 1).map((b, j) => (j === 31 ? b & 0x3f : b)));
  const singles = rids.map((replicaId) => {
    const l1 = new Uint8Array(nodes * 32);
    const l2 = new Uint8Array(nodes * 32);
    sdrLabelRange({ replicaId, layer: 1, start: 0, parents, current: l1 });
    sdrLabelRange({ replicaId, layer: 2, start: 0, parents, current: l2, previous: l1 });
    return hex(l1) + hex(l2);
  });
  const batches = onEveryPath(() => {
    const l1 = rids.map(() => new Uint8Array(nodes * 32));
    const l2 = rids.map(() => new Uint8Array(nodes * 32));
    sdrLabelRangeBatch({ replicaIds: rids, layer: 1, start: 0, parents, currents: l1 });
    sdrLabelRangeBatch({ replicaIds: rids, layer: 2, start: 0, parents, currents: l2, previous: l1 });
    return rids.map((_, s) => hex(l1[s]!) + hex(l2[s]!));
  });
  for (const [path, b] of batches) t.deepEqual(b, singles, path);
  t.log(`batch of 8: ${[...onEveryPath(() => simdInfo().pc1Batch8)].map(([p, k]) => `${p}=${k}`).join(', ')}`);
});

test('every path labels identically and reproduces the V-LABEL vector', (t) => {
  sameOnEveryPath(t, onEveryPath(() => createLabels({ nodes: 2048, layers: 3, replicaId: new Uint8Array(32).fill(5), porepId: porepId(6) }).map(hex).join('')), 'labels');
  const vector = onEveryPath(() => hex(createLabels({ nodes: 64, layers: 11, replicaId: new Uint8Array(32).fill(9), porepId: new Uint8Array(32).fill(0x7b) })[10]!.subarray(63 * 32)));
  for (const [path, v] of vector) t.is(v, 'cfef0db78bf3b3ab9f1169774d2e7a77bc9054499d954834b51ca7c788110206', path);
});

test('every path computes the same Poseidon rows and column hashes', (t) => {
  for (const arity of [2, 4, 8, 11, 16]) {
    const hashes = 37; // groups of several lanes, then a tail
    const children = elements(hashes * arity, arity);
    sameOnEveryPath(t, onEveryPath(() => {
      const parents = new Uint8Array(hashes * 32);
      poseidonLayer(children, parents, arity);
      return hex(parents);
    }), `arity ${arity}`);
  }
  for (const k of [2, 11]) {
    const layers = Array.from({ length: k }, (_, i) => elements(101, 100 + i));
    sameOnEveryPath(t, onEveryPath(() => {
      const out = new Uint8Array(101 * 32);
      columnHashes(layers, out, { threads: 2 });
      return hex(out);
    }), `${k} columns`);
  }
});

test('setSimdPath refuses an unknown path by name', (t) => {
  t.throws(() => setSimdPath('sse9' as SimdPath), { instanceOf: RangeError, message: /portable, shani, avx2, avx512, ifma/ });
  const missing = SIMD_PATHS.find((p) => !simdPaths().includes(p));
  if (missing) t.throws(() => setSimdPath(missing), { instanceOf: NativeUnavailableError });
});

test('SECTOR_STORAGE_SIMD with a name that is not a path stops the addon from loading, naming the paths', (t) => {
  const binding = new URL('../../native/binding.js', import.meta.url).href;
  const script = `import(${JSON.stringify(binding)}).then((m) => m.simdPath()).then(() => process.exit(0), (e) => { process.stdout.write(e.code + ' ' + e.message); process.exit(3); })`;
  let out = '';
  try {
    execFileSync(process.execPath, ['-e', script], { env: { ...process.env, SECTOR_STORAGE_SIMD: 'avx1024' }, encoding: 'utf8' });
  } catch (err) {
    out = (err as { stdout: string }).stdout;
  }
  t.regex(out, /^NATIVE_UNAVAILABLE .*SECTOR_STORAGE_SIMD=avx1024 is not a SIMD path \(this CPU runs: portable/);
});
