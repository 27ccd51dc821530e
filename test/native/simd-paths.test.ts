/**
 * Every SIMD path this CPU runs gives the same bytes. The suite's hashing, labelling, Poseidon
 * and tree tests also run once per path in CI (SECTOR_STORAGE_SIMD, see .ci/run); these tests
 * switch paths inside one thread and compare them with the portable C path directly.
 */
import { execFileSync } from 'node:child_process';
import test, { type ExecutionContext } from 'ava';
import { binding, SIMD_PATH_NEEDS, SIMD_PATHS, type SimdInfo, type SimdPath, setSimdPath, simdInfo, simdPath, simdPaths } from '../../native/binding.js';
import { commPChunk, hashLayer, treeRoot } from '../../native/hash.js';
import { FR_MODULUS, columnHashes, poseidonHashReference, poseidonLayer } from '../../native/poseidon.js';
import { sdrLabelRange, sdrLabelRangeBatch } from '../../native/sdr.js';
import { NativeUnavailableError } from '../../src/errors.js';
import { graphParents, sdrGraph } from '../../src/seal/graph.js';
import { createLabels } from '../../src/seal/labels.js';
import { porepId } from '../../src/sector/proofs.js';
import { deinterleave } from '../helpers/batch-layers.js';
import { hex, seededBytes } from '../helpers/bytes.js';
import { SIMD_VARIANTS, type SimdVariant, onVariant } from '../helpers/simd-variants.js';

const available = simdPaths();

const PORTABLE: SimdVariant = { name: 'portable', path: 'portable', shaNi: true };

/** Canonical field elements. */
function elements(n: number, seed: number): Uint8Array {
  const b = seededBytes(n * 32, seed);
  for (let i = 31; i < b.length; i += 32) b[i]! &= 0x3f;
  return b;
}

/**
 * Registers `title` once per variant other than portable, each comparing with the portable C
 * path; a variant this CPU cannot run is registered as skipped, naming what the CPU lacks.
 */
function perVariant(title: string, body: (t: ExecutionContext, run: <T>(fn: () => T) => { here: T; portable: T }, v: SimdVariant) => void): void {
  for (const v of SIMD_VARIANTS) {
    if (v === SIMD_VARIANTS[0]) continue;
    if (!available.includes(v.path)) {
      test.skip(`${v.name}: ${title} (skipped: this CPU lacks ${SIMD_PATH_NEEDS[v.path]})`, () => {});
      continue;
    }
    test(`${v.name}: ${title}`, (t) => body(t, (fn) => ({ here: onVariant(v, fn), portable: onVariant(PORTABLE, fn) }), v));
  }
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
  t.deepEqual(onVariant(PORTABLE, simdInfo), { path: 'portable', sha256: 'portable', blake2b: 'portable', poseidon: 'portable', pc1Batch8: 'portable' });
  const off = process.env.SECTOR_STORAGE_PORTABLE_SHA;
  const shaNi = (binding() as unknown as { cpuHasShaNi(): boolean }).cpuHasShaNi() && (off === undefined || off === '' || off === '0');
  // with SHA-NI on the path; without it (the CPU's or SECTOR_STORAGE_PORTABLE_SHA) SHA-256 and the
  // pairs of a batch are portable on every path
  const expected: Record<string, Partial<SimdInfo>> = {
    shani: { sha256: 'sha-ni', blake2b: 'portable', pc1Batch8: 'sha-ni-fours' },
    avx2: { sha256: 'sha-ni+avx2', blake2b: 'avx2', pc1Batch8: 'sha-ni-fours' },
    'avx2 without SHA-NI': { sha256: 'portable', blake2b: 'avx2', pc1Batch8: 'portable' },
    avx512: { sha256: 'sha-ni+avx512', blake2b: 'avx512' },
    'avx512 without SHA-NI': { sha256: 'portable', blake2b: 'avx512' },
    "avx512 with Intel's batch kernels": { sha256: 'sha-ni+avx512', blake2b: 'avx512', pc1Batch8: 'avx512-8-lanes' },
    "avx512 with AMD's batch kernels": { sha256: 'sha-ni+avx512', blake2b: 'avx512', pc1Batch8: 'sha-ni-fours' },
    ifma: { sha256: 'sha-ni+avx512', blake2b: 'avx512', poseidon: 'ifma' },
  };
  for (const v of SIMD_VARIANTS.filter((x) => x.path !== 'portable')) {
    if (!available.includes(v.path)) {
      t.log(`${v.name}: not checked, this CPU lacks ${SIMD_PATH_NEEDS[v.path]}`);
      continue;
    }
    const info = onVariant(v, simdInfo);
    const want = { path: v.path, ...expected[v.name]! };
    if (!shaNi) {
      want.sha256 = 'portable';
      if (want.pc1Batch8 === 'sha-ni-fours') want.pc1Batch8 = 'portable';
    }
    t.like(info, want, v.name);
    if (v.path !== 'ifma') t.not(info.poseidon, 'ifma', `${v.name} runs the scalar Poseidon`);
  }
});

perVariant('node pairs, roots and commP chunks hash as on the portable path, 8-pair runs and tails included', (t, run) => {
  for (const pairs of [1, 7, 8, 9, 15, 16, 17, 64, 1000, 4099]) {
    const children = seededBytes(pairs * 64, pairs);
    const r = run(() => {
      const parents = new Uint8Array(pairs * 32);
      hashLayer(children, parents);
      const inPlace = children.slice();
      hashLayer(inPlace, inPlace.subarray(0, pairs * 32));
      return hex(parents) + hex(inPlace.subarray(0, pairs * 32));
    });
    t.is(r.here, r.portable, `${pairs} pairs`);
  }
  const leaves = seededBytes(1 << 16, 3);
  const root = run(() => hex(treeRoot(leaves)));
  t.is(root.here, root.portable, 'tree root of 2048 leaves');
  const unpadded = seededBytes(127 * 512, 4);
  const chunk = run(() => hex(commPChunk(unpadded, new Uint8Array(128 * 512))));
  t.is(chunk.here, chunk.portable, 'commP chunk');
});

perVariant('graph parents (expander BLAKE2b lanes and cycle walking) are the portable path’s', (t, run) => {
  for (const nodes of [64, 1000, 1 << 12, 1 << 18]) {
    const graph = sdrGraph({ nodes, porepId: porepId(5) });
    const count = Math.min(nodes, 4096);
    const r = run(() => hex(new Uint8Array(graphParents(graph, nodes - count, count).buffer)));
    t.is(r.here, r.portable, `${nodes}-node graph`);
  }
  const legacy = sdrGraph({ nodes: 1 << 10, porepId: porepId(0), apiVersion: 'V1_0' });
  const r = run(() => hex(new Uint8Array(graphParents(legacy, 0, 1 << 10).buffer)));
  t.is(r.here, r.portable, 'V1_0 graph');
});

perVariant('a PC1 batch of eight sectors labels as eight single portable labellings (SHA-NI pairs or AVX-512VL lanes)', (t, run, v) => {
  const nodes = 2048;
  const graph = sdrGraph({ nodes, porepId: porepId(6) });
  const parents = graphParents(graph, 0, nodes);
  const rids = Array.from({ length: 8 }, (_, i) => new Uint8Array(32).fill(i * 29 + 1).map((b, j) => (j === 31 ? b & 0x3f : b)));
  const r = run(() => {
    const singles = rids.map((replicaId) => {
      const l1 = new Uint8Array(nodes * 32);
      const l2 = new Uint8Array(nodes * 32);
      sdrLabelRange({ replicaId, layer: 1, start: 0, parents, current: l1 });
      sdrLabelRange({ replicaId, layer: 2, start: 0, parents, current: l2, previous: l1 });
      return hex(l1) + hex(l2);
    });
    const l1 = new Uint8Array(nodes * 32 * 8);
    const l2 = new Uint8Array(nodes * 32 * 8);
    sdrLabelRangeBatch({ replicaIds: rids, layer: 1, start: 0, parents, current: l1 });
    sdrLabelRangeBatch({ replicaIds: rids, layer: 2, start: 0, parents, current: l2, previous: l1 });
    const [s1, s2] = [deinterleave(l1, 8), deinterleave(l2, 8)];
    return { singles, batch: rids.map((_, s) => hex(s1[s]!) + hex(s2[s]!)) };
  });
  t.deepEqual(r.here.singles, r.portable.singles, 'single labellings');
  t.deepEqual(r.here.batch, r.portable.singles, 'the batch of eight');
  t.log(`${v.name}: batch of 8 on ${onVariant(v, simdInfo).pc1Batch8}`);
});

perVariant('labels equal the portable path’s and reproduce the V-LABEL vector', (t, run) => {
  const labels = run(() => createLabels({ nodes: 2048, layers: 3, replicaId: new Uint8Array(32).fill(5), porepId: porepId(6) }).map(hex).join(''));
  t.is(labels.here, labels.portable);
  const vector = run(() => hex(createLabels({ nodes: 64, layers: 11, replicaId: new Uint8Array(32).fill(9), porepId: new Uint8Array(32).fill(0x7b) })[10]!.subarray(63 * 32)));
  t.is(vector.here, 'cfef0db78bf3b3ab9f1169774d2e7a77bc9054499d954834b51ca7c788110206');
});

perVariant('Poseidon rows and column hashes equal the portable path’s', (t, run) => {
  for (const arity of [2, 4, 8, 11, 16]) {
    const hashes = 37; // groups of several lanes, then a tail
    const children = elements(hashes * arity, arity);
    const r = run(() => {
      const parents = new Uint8Array(hashes * 32);
      poseidonLayer(children, parents, arity);
      return hex(parents);
    });
    t.is(r.here, r.portable, `arity ${arity}`);
  }
  for (const k of [2, 11]) {
    const layers = Array.from({ length: k }, (_, i) => elements(101, 100 + i));
    const r = run(() => {
      const out = new Uint8Array(101 * 32);
      columnHashes(layers, out, { threads: 2 });
      return hex(out);
    });
    t.is(r.here, r.portable, `${k} columns`);
  }
});

/** A field element as 32 LE bytes. */
function fe(v: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++, v >>= 8n) out[i] = Number(v & 0xffn);
  return out;
}

// Arity 2 is hashed four at a time by the width-3 kernel on every MULX/ADX path (poseidon_opt.c:
// rescaled partial rounds, register-resident squarings and rows), also on ifma for what is left
// after the groups of eight. 47 hashes = 40 (five ifma groups of eight) + 4 + 3 single hashes:
// hashes 40..43 go through the kernel on every path; on the paths below ifma 0..43 do.
perVariant('Poseidon arity-2 rows (the width-3 kernel) equal the reference permutation, V-POS and r - 1 included', (t, run) => {
  const hashes = 47;
  const children = elements(hashes * 2, 7);
  // neptune hash_values (0, 1) (V-POS, test/native/poseidon.test.ts) in two lanes of the group
  // every path hashes with the kernel, the largest element and zero in the other two
  for (const h of [40, 42]) children.set(new Uint8Array([...fe(0n), ...fe(1n)]), 64 * h);
  children.set(new Uint8Array([...fe(FR_MODULUS - 1n), ...fe(FR_MODULUS - 1n)]), 64 * 41);
  children.set(new Uint8Array([...fe(0n), ...fe(FR_MODULUS - 1n)]), 64 * 43);
  children.set(new Uint8Array([...fe(FR_MODULUS - 1n), ...fe(0n)]), 64 * 1);
  const r = run(() => {
    const parents = new Uint8Array(hashes * 32);
    poseidonLayer(children, parents, 2);
    return hex(parents);
  });
  const vPos2 = 'ffe7029a363c202e9da6059d33a9fba661e1ef02d90f9e736ba5765ed7086539';
  t.is(r.here.slice(64 * 40, 64 * 41), vPos2, 'V-POS in lane 0');
  t.is(r.here.slice(64 * 42, 64 * 43), vPos2, 'V-POS in lane 2');
  for (let h = 0; h < hashes; h++) {
    t.is(r.here.slice(64 * h, 64 * h + 64), hex(poseidonHashReference(children.subarray(64 * h, 64 * h + 64))), `hash ${h}`);
  }
});

test('setSimdPath refuses an unknown path by name', (t) => {
  t.throws(() => setSimdPath('sse9' as SimdPath), { instanceOf: RangeError, message: /portable, shani, avx2, avx512, ifma/ });
  const missing = SIMD_PATHS.find((p) => !simdPaths().includes(p));
  if (missing) t.throws(() => setSimdPath(missing), { instanceOf: NativeUnavailableError, message: new RegExp(`it needs ${SIMD_PATH_NEEDS[missing]}`) });
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

const X8_TITLE = 'SECTOR_STORAGE_SHA_X8 chooses the PC1 batch kernels of either vendor on an AVX-512 path, and nothing elsewhere';
const x8Lacks = !available.includes('avx512') ? SIMD_PATH_NEEDS.avx512 : !available.includes('shani') ? SIMD_PATH_NEEDS.shani : undefined;
if (x8Lacks) test.skip(`${X8_TITLE} (skipped: this CPU lacks ${x8Lacks})`, () => {});
else
  test(X8_TITLE, (t) => {
    const binding = new URL('../../native/binding.js', import.meta.url).href;
    const script = `import(${JSON.stringify(binding)}).then((m) => process.stdout.write(m.simdInfo().pc1Batch8))`;
    const run = (x8: string, simd?: string) => {
      const { SECTOR_STORAGE_SIMD: _, SECTOR_STORAGE_PORTABLE_SHA: __, ...env } = process.env;
      return execFileSync(process.execPath, ['-e', script], { env: { ...env, SECTOR_STORAGE_SHA_X8: x8, ...(simd ? { SECTOR_STORAGE_SIMD: simd } : {}) }, encoding: 'utf8' });
    };
    t.is(run('1', 'avx512'), 'avx512-8-lanes');
    t.is(run('0', 'avx512'), 'sha-ni-fours');
    t.is(run('1', 'avx2'), 'sha-ni-fours', 'no AVX-512 on the path: no lanes');
    t.is(run('1'), 'avx512-8-lanes', 'the best path has AVX-512');
  });
