import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import test from 'ava';
import { shaBackend } from '../../native/binding.js';
import { setShaBackend } from '../../native/hash.js';
import { allocateLayerBuffer, batchLayerMerge, batchLayerSplit, blake2b512, chachaWords, sdrFeistelPermute, sdrLabelRange } from '../../native/sdr.js';
import { deinterleave, interleave } from '../helpers/batch-layers.js';
import { drgSeed, feistelKeys, graphParents, nodeParents, sdrGraph } from '../../src/seal/graph.js';
import { createLabels } from '../../src/seal/labels.js';
import { proverIdFromMinerId, replicaId } from '../../src/seal/replica-id.js';
import { porepId } from '../../src/sector/proofs.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const unhex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const u64s = (w: Uint32Array) => Array.from({ length: w.length / 2 }, (_, i) => BigInt(w[2 * i]!) | (BigInt(w[2 * i + 1]!) << 32n));

// --- reference ChaCha in the test (RFC 7539 ChaCha with 8 rounds), independent of the C code ---
function refChachaWords(seed: Uint8Array, rounds: number, count: number): Uint32Array {
  const key = new Uint32Array(new Uint8Array(seed).buffer);
  const out = new Uint32Array(count);
  const rotl = (x: number, n: number) => ((x << n) | (x >>> (32 - n))) >>> 0;
  for (let ctr = 0, o = 0; o < count; ctr++) {
    const st = [0x61707865, 0x3320646e, 0x79622d32, 0x6b206574, ...key, ctr >>> 0, 0, 0, 0];
    const w = st.slice();
    const qr = (a: number, b: number, c: number, d: number) => {
      w[a] = (w[a]! + w[b]!) >>> 0; w[d] = rotl(w[d]! ^ w[a]!, 16);
      w[c] = (w[c]! + w[d]!) >>> 0; w[b] = rotl(w[b]! ^ w[c]!, 12);
      w[a] = (w[a]! + w[b]!) >>> 0; w[d] = rotl(w[d]! ^ w[a]!, 8);
      w[c] = (w[c]! + w[d]!) >>> 0; w[b] = rotl(w[b]! ^ w[c]!, 7);
    };
    for (let r = 0; r < rounds; r += 2) {
      qr(0, 4, 8, 12); qr(1, 5, 9, 13); qr(2, 6, 10, 14); qr(3, 7, 11, 15);
      qr(0, 5, 10, 15); qr(1, 6, 11, 12); qr(2, 7, 8, 13); qr(3, 4, 9, 14);
    }
    for (let i = 0; i < 16 && o < count; i++) out[o++] = (w[i]! + st[i]!) >>> 0;
  }
  return out;
}

test('ChaCha8 with a zero seed gives the rand_chacha ChaCha8Rng stream', (t) => {
  // chacha-rng-c (compatible with rand_chacha): first u64, and the 8 u64 after 3141 draws
  const words = chachaWords(new Uint8Array(32), 8, 2 * (3141 + 8));
  const draws = u64s(words);
  t.is(draws[0], 0xd6405f892fef003en);
  t.deepEqual(draws.slice(3141), [
    0x0fee22eda2aa9ad4n, 0x1777d0b16de665f8n, 0xd5982a26db1ab427n, 0x258c713d160030fbn,
    0xe46846b5a485a788n, 0x5b17880e52a4bf6fn, 0xff7ae1b1f77ad022n, 0xd161b85f84bd6b21n,
  ]);
});

test('ChaCha20 with a zero seed gives the rand_chacha ChaCha20Rng (RFC 7539 key stream) words', (t) => {
  const words = chachaWords(new Uint8Array(32), 20, 20);
  t.deepEqual(Array.from(words.subarray(0, 4)), [0xade0b876, 0x903df1a0, 0xe56a5d40, 0x28bd8653]);
  t.deepEqual(Array.from(words.subarray(16, 20)), [0xbee7079f, 0x7a385155, 0x7c97ba98, 0x0d082d73]);
});

test('ChaCha8 across block boundaries matches a reference implementation for random seeds', (t) => {
  for (let i = 0; i < 20; i++) {
    const seed = new Uint8Array(createHash('sha256').update(`seed ${i}`).digest());
    t.deepEqual(chachaWords(seed, 8, 50), refChachaWords(seed, 8, 50));
  }
});

test('BLAKE2b-512 agrees with node:crypto for lengths around the block size', (t) => {
  for (const len of [0, 1, 16, 63, 64, 127, 128, 129, 255, 256, 257, 1000]) {
    const data = new Uint8Array(len).map((_, i) => (i * 7 + len) & 0xff);
    t.is(hex(blake2b512(data)), createHash('blake2b512').update(data).digest('hex'), `length ${len}`);
  }
});

test('V-E2E-2KiB: DRG seed and Feistel keys of the 2 KiB V1_1 porep id', (t) => {
  const pid = porepId(5);
  t.is(hex(drgSeed(pid)), '3be68542ec229705b99be29c2106b0e4222ccd1d0311398ea4d22d7d');
  t.deepEqual(feistelKeys(pid), [0x90b15b1c4509e47an, 0xdc5378c03df3f21bn, 0xfa76fc24deb9d7acn, 0xcdec5e11f7b30a54n]);
});

test('V-E2E-2KiB: base and expander parents of nodes 2, 3, 31 and 63', (t) => {
  const g = sdrGraph({ nodes: 64, porepId: porepId(5) });
  t.deepEqual(nodeParents(g, 0), { base: [0, 0, 0, 0, 0, 0], exp: nodeParents(g, 0).exp });
  t.deepEqual(nodeParents(g, 2), { base: [1, 1, 1, 0, 1, 0], exp: [30, 28, 55, 63, 63, 36, 37, 36] });
  t.deepEqual(nodeParents(g, 3), { base: [2, 1, 1, 2, 2, 2], exp: [10, 46, 59, 7, 43, 29, 9, 16] });
  t.deepEqual(nodeParents(g, 31), { base: [30, 3, 18, 29, 28, 25], exp: [26, 39, 25, 32, 29, 45, 28, 35] });
  t.deepEqual(nodeParents(g, 63), { base: [62, 15, 42, 62, 61, 62], exp: [0, 15, 30, 30, 28, 42, 49, 38] });
});

test('the expander permutation is a bijection of [0, 8·nodes)', (t) => {
  const g = sdrGraph({ nodes: 64, porepId: porepId(5) });
  const seen = new Set<number>();
  for (let i = 0; i < 512; i++) seen.add(sdrFeistelPermute(g, i));
  t.is(seen.size, 512);
  t.true([...seen].every((x) => x < 512));
});

test('the V1_0 graph puts the predecessor last and shares the sampled parents', (t) => {
  const v11 = sdrGraph({ nodes: 1024, porepId: porepId(0), apiVersion: 'V1_1' });
  const v10 = sdrGraph({ nodes: 1024, porepId: porepId(0), apiVersion: 'V1_0' });
  for (const n of [2, 5, 100, 1023]) {
    const a = nodeParents(v11, n);
    const b = nodeParents(v10, n);
    t.deepEqual(b.base, [...a.base.slice(1), n - 1]);
    t.deepEqual(b.exp, a.exp); // the u32 truncation only matters above 2^29 nodes
  }
});

test('parents of a range equal the parents of each node, and every parent is in range', (t) => {
  const g = sdrGraph({ nodes: 4096, porepId: porepId(6) });
  const all = graphParents(g, 0, 4096);
  const part = graphParents(g, 1000, 50);
  t.deepEqual(part, all.subarray(1000 * 14, 1050 * 14));
  for (let v = 2; v < 4096; v++) {
    for (let i = 0; i < 6; i++) t.true(all[v * 14 + i]! < v);
    for (let i = 6; i < 14; i++) t.true(all[v * 14 + i]! < 4096);
  }
});

test('expander parents of a range (8 lanes at a time) equal the scalar Feistel permutation, with cycle walking', (t) => {
  // 2^12 nodes: 8·nodes = 2^15 < 4^8, so about half of the indices walk the cycle
  for (const apiVersion of ['V1_1', 'V1_0'] as const) {
    const g = sdrGraph({ nodes: 1 << 12, porepId: porepId(6), apiVersion });
    const all = graphParents(g, 0, g.nodes);
    for (let v = 0; v < g.nodes; v += 7) {
      for (let i = 0; i < 8; i++) {
        const p = sdrFeistelPermute(g, 8 * v + i);
        t.is(all[v * 14 + 6 + i], Math.floor(p / 8), `node ${v} expander ${i}`);
      }
    }
  }
});

test('V-LABEL: the last label of layer 11 of the 64-node graph matches rust-fil-proofs', (t) => {
  for (const apiVersion of ['V1_1', 'V1_2'] as const) {
    const layers = createLabels({
      nodes: 64, layers: 11, replicaId: new Uint8Array(32).fill(9), porepId: new Uint8Array(32).fill(0x7b), apiVersion,
    });
    t.is(layers.length, 11);
    t.is(hex(layers[10]!.subarray(63 * 32)), 'cfef0db78bf3b3ab9f1169774d2e7a77bc9054499d954834b51ca7c788110206');
  }
});

test('V-E2E-2KiB: replica id and the first and last labels of both layers', (t) => {
  t.is(hex(proverIdFromMinerId(1000)), 'e807' + '00'.repeat(30));
  const rid = replicaId({
    minerId: 1000, sectorNumber: 1, ticket: Uint8Array.from({ length: 32 }, (_, i) => i + 1),
    commD: unhex('fc7e928296e516faade986b28f92d44a4f24b935485223376a799027bc18f833'), porepId: porepId(5),
  });
  t.is(hex(rid), 'b8b46c93870fa313cf0fca62c81c0dae6bde6d258df8d0f3de5fe3a30d812f0d');
  const [l1, l2] = createLabels({ nodes: 64, layers: 2, replicaId: rid, porepId: porepId(5) });
  t.is(hex(l1!.subarray(0, 32)), '755c1f55e9fa04f4c650e8dd664027d31ef6eade55e2ec57e6d98cadc18b7d06');
  t.is(hex(l1!.subarray(63 * 32)), '5b25f5975f66cebb8d50be38a188f4d74c701edc1e8b58aa4ca1c2b16ec29f31');
  t.is(hex(l2!.subarray(0, 32)), '9e142f2edd2be90fd50df96bdba6c05dfa987a8519e728841bb2c77ac6b56833');
  t.is(hex(l2!.subarray(63 * 32)), 'e0b27819720813fb96864d9d14f47e983932a4f0d2fa1d01571592e6562ae419');
});

test('labels agree with a plain SHA-256 of the §5 message for every node of both layers', (t) => {
  const nodes = 256;
  const pid = porepId(5);
  const rid = new Uint8Array(32).fill(3);
  const [l1, l2] = createLabels({ nodes, layers: 2, replicaId: rid, porepId: pid });
  const parents = graphParents(sdrGraph({ nodes, porepId: pid }), 0, nodes);
  const label = (layer: number, v: number, cur: Uint8Array, prev: Uint8Array | undefined) => {
    const hdr = new Uint8Array(32);
    new DataView(hdr.buffer).setUint32(0, layer, false);
    new DataView(hdr.buffer).setBigUint64(4, BigInt(v), false);
    const h = createHash('sha256').update(rid).update(hdr);
    if (v > 0) {
      const p = parents.subarray(v * 14, v * 14 + 14);
      const uniq = layer === 1 ? [...p.subarray(0, 6)].map((x) => cur.subarray(32 * x, 32 * x + 32))
        : [...[...p.subarray(0, 6)].map((x) => cur.subarray(32 * x, 32 * x + 32)), ...[...p.subarray(6)].map((x) => prev!.subarray(32 * x, 32 * x + 32))];
      for (let i = 0; i < 37; i++) h.update(uniq[i % uniq.length]!);
    }
    const d = h.digest();
    d[31]! &= 0x3f;
    return hex(d);
  };
  for (let v = 0; v < nodes; v++) {
    t.is(hex(l1!.subarray(32 * v, 32 * v + 32)), label(1, v, l1!, undefined));
    t.is(hex(l2!.subarray(32 * v, 32 * v + 32)), label(2, v, l2!, l1));
  }
});

test('labelling a layer in several ranges gives the same labels as one call', (t) => {
  const nodes = 512;
  const g = sdrGraph({ nodes, porepId: porepId(6) });
  const parents = graphParents(g, 0, nodes);
  const rid = new Uint8Array(32).fill(1);
  const whole = createLabels({ nodes, layers: 2, replicaId: rid, porepId: porepId(6) });
  const l1 = new Uint8Array(nodes * 32);
  const l2 = new Uint8Array(nodes * 32);
  for (const [layer, cur, prev] of [[1, l1, undefined], [2, l2, l1]] as const) {
    for (let s = 0; s < nodes; s += 100) {
      const n = Math.min(100, nodes - s);
      t.is(sdrLabelRange({ replicaId: rid, layer, start: s, parents: parents.subarray(s * 14, (s + n) * 14), current: cur, previous: prev }), -1);
    }
  }
  t.deepEqual(l1, whole[0]);
  t.deepEqual(l2, whole[1]);
});

test('a parent list with an out-of-range parent is reported, not read', (t) => {
  const nodes = 64;
  const parents = graphParents(sdrGraph({ nodes, porepId: porepId(5) }), 0, nodes);
  const cur = new Uint8Array(nodes * 32);
  const bad = parents.slice();
  bad[10 * 14 + 2] = 10; // a base parent must be < the node
  t.is(sdrLabelRange({ replicaId: new Uint8Array(32), layer: 1, start: 0, parents: bad, current: cur }), 10);
  const bad2 = parents.slice();
  bad2[20 * 14 + 9] = 64; // an expander parent must be < nodes
  t.is(sdrLabelRange({ replicaId: new Uint8Array(32), layer: 2, start: 0, parents: bad2, current: cur, previous: new Uint8Array(nodes * 32) }), 20);
});

test('the facade rejects mismatched buffers with RangeError naming the argument', (t) => {
  const parents = new Uint32Array(14 * 4);
  t.throws(() => sdrLabelRange({ replicaId: new Uint8Array(31), layer: 1, start: 0, parents, current: new Uint8Array(64 * 32) }), { instanceOf: RangeError, message: /replicaId/ });
  t.throws(() => sdrLabelRange({ replicaId: new Uint8Array(32), layer: 2, start: 0, parents, current: new Uint8Array(64 * 32) }), { instanceOf: RangeError, message: /previous/ });
  t.throws(() => sdrLabelRange({ replicaId: new Uint8Array(32), layer: 1, start: 62, parents, current: new Uint8Array(64 * 32) }), { instanceOf: RangeError, message: /start/ });
  const shared = new Uint8Array(128 * 32);
  t.throws(() => sdrLabelRange({ replicaId: new Uint8Array(32), layer: 2, start: 0, parents, current: shared.subarray(0, 64 * 32), previous: shared.subarray(32, 65 * 32) }), { instanceOf: RangeError, message: /overlap/ });
});

test('both SHA-256 backends (SHA-NI and portable) give the same labels', (t) => {
  const before = shaBackend();
  const run = () => createLabels({ nodes: 1024, layers: 3, replicaId: new Uint8Array(32).fill(5), porepId: porepId(6) });
  try {
    setShaBackend('portable');
    t.is(shaBackend(), 'portable');
    const portable = run();
    let accelerated = portable;
    try {
      setShaBackend('sha-ni');
      accelerated = run();
      t.is(shaBackend(), 'sha-ni');
    } catch (err) {
      t.log(`SHA-NI unavailable here: ${(err as Error).message}`);
    }
    t.deepEqual(accelerated, portable);
    // and both agree with the upstream vector
    setShaBackend('portable');
    const v = createLabels({ nodes: 64, layers: 11, replicaId: new Uint8Array(32).fill(9), porepId: new Uint8Array(32).fill(0x7b) });
    t.is(hex(v[10]!.subarray(63 * 32)), 'cfef0db78bf3b3ab9f1169774d2e7a77bc9054499d954834b51ca7c788110206');
  } finally {
    setShaBackend(before);
  }
});

test('layer buffers are zeroed and labels are the same in aligned and misaligned buffers', (t) => {
  const nodes = 1 << 17; // 4 MiB: large enough for the huge-page hint
  const g = sdrGraph({ nodes, porepId: porepId(6) });
  const parents = graphParents(g, 0, nodes);
  const rid = new Uint8Array(32).fill(2);
  const aligned = allocateLayerBuffer(nodes * 32);
  t.is(aligned.length, nodes * 32);
  t.true(aligned.every((b) => b === 0));
  const misaligned = new Uint8Array(nodes * 32 + 16).subarray(16);
  t.is(sdrLabelRange({ replicaId: rid, layer: 1, start: 0, parents, current: aligned }), -1);
  t.is(sdrLabelRange({ replicaId: rid, layer: 1, start: 0, parents, current: misaligned }), -1);
  t.deepEqual(aligned, misaligned);
});

test('sdrLabelRangeBatch labels 1 to 8 interleaved sectors exactly as one sdrLabelRange per sector, in ranges, over 3 layers', async (t) => {
  const { sdrLabelRangeBatch } = await import('../../native/sdr.js');
  const nodes = 4096;
  const LAYERS = 3;
  const g = sdrGraph({ nodes, porepId: porepId(6) });
  const parents = graphParents(g, 0, nodes);
  const rids = Array.from({ length: 8 }, (_, i) => new Uint8Array(32).fill(0x11 * (i + 1)).map((b, j) => (j === 31 ? b & 0x3f : b)));
  const single = rids.map((rid) => {
    const layers: Uint8Array[] = [];
    for (let layer = 1; layer <= LAYERS; layer++) {
      const cur = new Uint8Array(nodes * 32);
      sdrLabelRange({ replicaId: rid, layer, start: 0, parents, current: cur, previous: layers[layer - 2] });
      layers.push(cur);
    }
    return layers;
  });
  for (let k = 1; k <= 8; k++) {
    const batch: Uint8Array[] = [];
    for (let layer = 1; layer <= LAYERS; layer++) {
      const current = new Uint8Array(nodes * 32 * k);
      // two ranges per layer: the second starts mid-layer, at another node for each layer and k
      const split = 1 + ((k * 997 + layer * 331) % (nodes - 1));
      for (const [start, end] of [[0, split], [split, nodes]] as const) {
        const range = parents.subarray(start * 14, end * 14);
        t.is(sdrLabelRangeBatch({ replicaIds: rids.slice(0, k), layer, start, parents: range, current, previous: batch[layer - 2] }), -1);
      }
      batch.push(current);
    }
    for (let layer = 1; layer <= LAYERS; layer++) {
      const sectors = deinterleave(batch[layer - 1]!, k);
      for (let s = 0; s < k; s++) t.true(Buffer.from(sectors[s]!).equals(single[s]![layer - 1]!), `layer ${layer}, sector ${s} of ${k}`);
    }
  }
});

test('parents gathered on a second thread give the same labels, for one sector and for batches, in ranges over 3 layers', async (t) => {
  const { sdrGatheredRanges, sdrLabelRangeBatch } = await import('../../native/sdr.js');
  const nodes = 16384;
  const LAYERS = 3;
  const parents = graphParents(sdrGraph({ nodes, porepId: porepId(8) }), 0, nodes);
  const rids = Array.from({ length: 8 }, (_, i) => new Uint8Array(32).fill(0x23 * (i + 1)).map((b, j) => (j === 31 ? b & 0x3f : b)));
  for (const k of [1, 3, 8]) {
    const plain: Uint8Array[] = [];
    const gathered: Uint8Array[] = [];
    for (let layer = 1; layer <= LAYERS; layer++) {
      const a = new Uint8Array(nodes * 32 * k);
      t.is(sdrLabelRangeBatch({ replicaIds: rids.slice(0, k), layer, start: 0, parents, current: a, previous: plain[layer - 2] }), -1);
      plain.push(a);
      // ranges of 5 000 and 11 384 nodes: both long enough to gather (4 096), the second
      // starting mid-layer, where every base parent below it is labelled already
      const b = new Uint8Array(nodes * 32 * k);
      const before = sdrGatheredRanges();
      for (const [start, end] of [[0, 5000], [5000, nodes]] as const) {
        const range = parents.subarray(start * 14, end * 14);
        t.is(sdrLabelRangeBatch({ replicaIds: rids.slice(0, k), layer, start, parents: range, current: b, previous: gathered[layer - 2], gather: true }), -1);
      }
      t.is(sdrGatheredRanges() - before, 2, `k=${k} layer ${layer}: both ranges gathered`);
      gathered.push(b);
      t.true(Buffer.from(b).equals(a), `k=${k}, layer ${layer}`);
    }
  }
  // one sector through the single-sector call too, and a range too short to gather
  const cur = new Uint8Array(nodes * 32);
  const before = sdrGatheredRanges();
  t.is(sdrLabelRange({ replicaId: rids[0]!, layer: 1, start: 0, parents: parents.subarray(0, 4095 * 14), current: cur, gather: true }), -1);
  t.is(sdrGatheredRanges(), before, 'under 4 096 nodes the labeller works alone');
  t.is(sdrLabelRange({ replicaId: rids[0]!, layer: 1, start: 4095, parents: parents.subarray(4095 * 14), current: cur, gather: true }), -1);
  t.is(sdrGatheredRanges(), before + 1);
  const ref = new Uint8Array(nodes * 32);
  sdrLabelRange({ replicaId: rids[0]!, layer: 1, start: 0, parents, current: ref });
  t.true(Buffer.from(cur).equals(ref));
});

test('a gathered range stops at a bad parent and when cancelled, and its thread is gone', async (t) => {
  const { sdrGatheredRanges, sdrLabelRangeBatch } = await import('../../native/sdr.js');
  const { AbortedError } = await import('../../src/errors.js');
  const nodes = 8192;
  const parents = graphParents(sdrGraph({ nodes, porepId: porepId(8) }), 0, nodes);
  const rid = new Uint8Array(32).fill(3);
  const prev = new Uint8Array(nodes * 32 * 2).fill(7);
  const bad = parents.slice();
  bad[14 * 6000 + 3] = 6000; // a base parent that is not before its node
  bad[14 * 7000 + 9] = nodes; // an expander parent beyond the layer: never read
  const before = sdrGatheredRanges();
  t.is(sdrLabelRangeBatch({ replicaIds: [rid, rid], layer: 2, start: 0, parents: bad, current: new Uint8Array(nodes * 64), previous: prev, gather: true }), 6000);
  const bad2 = parents.slice();
  bad2[14 * 7000 + 9] = nodes;
  t.is(sdrLabelRange({ replicaId: rid, layer: 2, start: 0, parents: bad2, current: new Uint8Array(nodes * 32), previous: prev.subarray(0, nodes * 32), gather: true }), 7000);
  const cancel = new Int32Array(new SharedArrayBuffer(4));
  cancel[0] = 1;
  t.throws(() => sdrLabelRange({ replicaId: rid, layer: 1, start: 0, parents, current: new Uint8Array(nodes * 32), cancel, gather: true }), { instanceOf: AbortedError });
  t.is(sdrGatheredRanges() - before, 3);
  // every gatherer was joined: this thread's process has no thread left over from them
  const threads = () => Number(/Threads:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]);
  const n = threads();
  for (let i = 0; i < 20; i++) sdrLabelRange({ replicaId: rid, layer: 1, start: 0, parents, current: new Uint8Array(nodes * 32), gather: true });
  t.is(threads(), n);
});

test('the raw labeller and split refuse an argument that should be an array of buffers, naming it', async (t) => {
  const { binding } = await import('../../native/binding.js');
  const raw = binding() as unknown as Record<string, (...args: unknown[]) => unknown>;
  const cur = new Uint8Array(64 * 32);
  const parents = new Uint32Array(14);
  t.throws(() => raw.sdrLabelRangeBatch!(new Uint8Array(32), 1, 0, parents, cur, null), { instanceOf: TypeError, message: 'replicaIds must be an array of Uint8Array' });
  t.throws(() => raw.sdrLabelRangeBatch!([new Uint8Array(32), 'x'], 1, 0, parents, cur, null), { instanceOf: TypeError, message: 'replicaIds must be an array of Uint8Array' });
  t.throws(() => raw.sdrBatchSplit!(cur, 2, 0, new Uint8Array(32)), { instanceOf: TypeError, message: 'outs must be an array of Uint8Array' });
  t.throws(() => raw.sdrLabelRange!(new Uint8Array(32), 1, 0, parents, cur, null, undefined, 'yes'), { instanceOf: TypeError, message: 'gather must be a boolean' });
  // the labeller writes `current` while it, and a gatherer, read the parents and the previous layer
  const shared = new ArrayBuffer(4096 * 32);
  const layer = new Uint8Array(shared, 0, 64 * 32);
  const inside = new Uint32Array(shared, 32 * 32, 14);
  t.throws(() => raw.sdrLabelRange!(new Uint8Array(32), 1, 0, inside, layer, null), { instanceOf: RangeError, message: 'parents and current must not overlap' });
  t.throws(() => raw.sdrLabelRangeBatch!([new Uint8Array(32)], 1, 0, inside, layer, null), { instanceOf: RangeError, message: 'parents and current must not overlap' });
  const half = new Uint8Array(shared, 32 * 32, 64 * 32);
  t.throws(() => raw.sdrLabelRange!(new Uint8Array(32), 2, 0, parents, layer, half), { instanceOf: RangeError, message: 'previous and current must not overlap' });
});

test('batchLayerSplit and batchLayerMerge move a range of every sector between the interleaved and the plain layout', (t) => {
  const nodes = 300;
  for (const k of [1, 2, 3, 8]) {
    const plain = Array.from({ length: k }, (_, s) => new Uint8Array(nodes * 32).map((_, i) => (i * 7 + s * 131 + (i >> 5)) & 0xff));
    const batch = interleave(plain);
    // split nodes [100, 250) of every sector out
    const outs = plain.map(() => new Uint8Array(150 * 32));
    batchLayerSplit(batch, k, 100, outs);
    for (const [s, o] of outs.entries()) t.deepEqual(o, plain[s]!.subarray(100 * 32, 250 * 32), `split, sector ${s} of ${k}`);
    // merge each sector back in two ranges, the second starting mid-layer
    const merged = new Uint8Array(batch.length);
    plain.forEach((p, s) => {
      batchLayerMerge(merged, k, s, 0, p.subarray(0, 77 * 32));
      batchLayerMerge(merged, k, s, 77, p.subarray(77 * 32));
    });
    t.deepEqual(merged, batch, `merge, ${k} sectors`);
  }
  const batch = new Uint8Array(64 * 32 * 2);
  t.throws(() => batchLayerSplit(batch, 2, 0, [new Uint8Array(32)]), { instanceOf: RangeError, message: /outs must hold 2/ });
  t.throws(() => batchLayerSplit(batch, 2, 60, [new Uint8Array(5 * 32), new Uint8Array(5 * 32)]), { message: /within \[0, 64\]/ });
  t.throws(() => batchLayerSplit(batch, 2, 0, [batch.subarray(0, 32), new Uint8Array(32)]), { message: /must not overlap/ });
  t.throws(() => batchLayerMerge(batch, 2, 2, 0, new Uint8Array(32)), { message: /sector must be an integer in \[0, 2\)/ });
  t.throws(() => batchLayerMerge(batch, 2, 0, 0, new Uint8Array(33)), { message: /32-byte nodes/ });
  t.throws(() => batchLayerMerge(batch, 9, 0, 0, new Uint8Array(32)), { message: /1 to 8 sectors, got 9/ });
});

test('sdrLabelRangeBatch refuses bad batches by name and reports a bad parent once for all sectors', async (t) => {
  const { sdrLabelRangeBatch } = await import('../../native/sdr.js');
  const rid = new Uint8Array(32);
  const parents = new Uint32Array(14 * 4);
  const cur = (k: number) => new Uint8Array(64 * 32 * k);
  t.throws(() => sdrLabelRangeBatch({ replicaIds: [], layer: 1, start: 0, parents, current: cur(1) }), { instanceOf: RangeError, message: /1 to 8 sectors, got 0/ });
  t.throws(() => sdrLabelRangeBatch({ replicaIds: Array(9).fill(rid), layer: 1, start: 0, parents, current: cur(9) }), { message: /got 9/ });
  t.throws(() => sdrLabelRangeBatch({ replicaIds: [rid, rid, rid], layer: 1, start: 0, parents, current: cur(2) }), { message: /3 interleaved layers/ });
  t.throws(() => sdrLabelRangeBatch({ replicaIds: [rid, rid], layer: 1, start: 0, parents, current: new Uint8Array(32 * 2) }), { message: /at least 2/ });
  t.throws(() => sdrLabelRangeBatch({ replicaIds: [rid, rid], layer: 2, start: 0, parents, current: cur(2) }), { message: /previous is required/ });
  t.throws(() => sdrLabelRangeBatch({ replicaIds: [rid, rid], layer: 2, start: 0, parents, current: cur(2), previous: cur(1) }), { message: /as long as current/ });
  const shared = new Uint8Array(192 * 32);
  t.throws(() => sdrLabelRangeBatch({ replicaIds: [rid, rid], layer: 2, start: 0, parents, current: shared.subarray(0, 128 * 32), previous: shared.subarray(64 * 32) }), { message: /must not overlap/ });
  const g = sdrGraph({ nodes: 64, porepId: porepId(6) });
  const good = graphParents(g, 0, 64);
  const bad = good.slice();
  bad[14 * 40 + 2] = 40; // a base parent that is not before its node
  t.is(sdrLabelRangeBatch({ replicaIds: [rid, rid], layer: 1, start: 0, parents: bad, current: cur(2) }), 40);
});
