/**
 * Labels of random parent lists against a plain SHA-256 (node:crypto) of the label message, on
 * every SIMD path this CPU runs. The label kernels compute the message schedule of each distinct
 * parent block once and reuse it for the block's repeats (ss_sha256_repeat in sha256.h), with a
 * different code shape per path (portable C, one SHA-NI stream with the next label's first block
 * beside it, SHA-NI streams in fours and pairs in a batch, eight AVX-512VL lanes as on Intel): random parents, with
 * repeated parents and the node just labelled among them, reach every block of each shape.
 */
import { createHash } from 'node:crypto';
import test from 'ava';
import { SIMD_PATH_NEEDS, simdPaths } from '../../native/binding.js';
import { LABEL_BATCH_MAX, sdrLabelRangeBatch } from '../../native/sdr.js';
import { deinterleave } from '../helpers/batch-layers.js';
import { hex, prng } from '../helpers/bytes.js';
import { SIMD_VARIANTS, onVariant } from '../helpers/simd-variants.js';

const NODES = 384;
const LAYERS = 3;
const BASE = 6;
const DEGREE = 14;

/** Random parents of every node: base parents below the node (often the node just before it, and
 * often a parent repeated), expander parents anywhere in the layer. Node 0 has none (zeros). */
function randomParents(seed: number): Uint32Array {
  const rnd = prng(seed);
  const word = () => new DataView(rnd(4).buffer).getUint32(0);
  const p = new Uint32Array(NODES * DEGREE);
  for (let v = 1; v < NODES; v++) {
    for (let i = 0; i < DEGREE; i++) {
      const r = word();
      if (i < BASE) p[v * DEGREE + i] = r % 4 === 0 ? v - 1 : r % 7 === 0 && i > 0 ? p[v * DEGREE + i - 1]! : word() % v;
      else p[v * DEGREE + i] = word() % NODES;
    }
  }
  return p;
}

/** The layers of one sector, each label SHA-256(replica id || layer || node || 20 zero bytes || the
 * 37 parent labels) truncated to 254 bits, built from the message bytes (rust-fil-proofs
 * `create_label`: layer 1 hashes its 6 base parents 6 times and the first once more, layers >= 2
 * their 14 parents twice, the first 8 once more, then the 9th). */
function referenceLayers(rid: Uint8Array, parents: Uint32Array): Uint8Array[] {
  const layers: Uint8Array[] = [];
  for (let layer = 1; layer <= LAYERS; layer++) {
    const cur = new Uint8Array(NODES * 32);
    const prev = layers[layer - 2];
    const node = (buf: Uint8Array, i: number) => buf.subarray(32 * i, 32 * i + 32);
    for (let v = 0; v < NODES; v++) {
      const hdr = new Uint8Array(32);
      new DataView(hdr.buffer).setUint32(0, layer, false);
      new DataView(hdr.buffer).setBigUint64(4, BigInt(v), false);
      const h = createHash('sha256').update(rid).update(hdr);
      if (v > 0) {
        const p = parents.subarray(v * DEGREE, v * DEGREE + DEGREE);
        const labels = [...p.subarray(0, BASE)].map((x) => node(cur, x));
        if (layer > 1) labels.push(...[...p.subarray(BASE)].map((x) => node(prev!, x)));
        for (let i = 0; i < 37; i++) h.update(labels[i % labels.length]!);
      }
      const d = h.digest();
      d[31]! &= 0x3f;
      cur.set(d, 32 * v);
    }
    layers.push(cur);
  }
  return layers;
}


const rids = Array.from({ length: LABEL_BATCH_MAX }, (_, i) => {
  const r = prng(0x51d + i)(32);
  r[31]! &= 0x3f;
  return r;
});
const parents = randomParents(0xa11ce);
const expected = rids.map((rid) => referenceLayers(rid, parents));

for (const v of SIMD_VARIANTS) {
  const title = `${v.name}: batches of 1 to 8 sectors label random parents as node:crypto SHA-256 does, layers 1 to ${LAYERS}`;
  if (!simdPaths().includes(v.path)) {
    test.skip(`${title} (skipped: this CPU lacks ${SIMD_PATH_NEEDS[v.path]})`, () => {});
    continue;
  }
  test(title, (t) => {
    // one line per wrong (batch size, sector, layer): its first wrong node
    const wrong: string[] = [];
    onVariant(v, () => {
      for (let k = 1; k <= LABEL_BATCH_MAX; k++) {
        const layers: Uint8Array[] = [];
        for (let layer = 1; layer <= LAYERS; layer++) {
          const current = new Uint8Array(NODES * 32 * k);
          // two ranges, the second starting mid-layer at a different node for each k
          const split = 1 + ((k * 37 + layer * 11) % (NODES - 1));
          for (const [start, end] of [[0, split], [split, NODES]] as const) {
            const r = sdrLabelRangeBatch({
              replicaIds: rids.slice(0, k),
              layer,
              start,
              parents: parents.subarray(start * DEGREE, end * DEGREE),
              current,
              previous: layer > 1 ? layers[layer - 2] : undefined,
            });
            t.is(r, -1);
          }
          layers.push(current);
        }
        const sectors = layers.map((l) => deinterleave(l, k));
        for (let s = 0; s < k; s++)
          for (let layer = 1; layer <= LAYERS; layer++) {
            const got = sectors[layer - 1]![s]!;
            const want = expected[s]![layer - 1]!;
            if (hex(got) !== hex(want)) wrong.push(`batch of ${k}, sector ${s}, layer ${layer}: node ${got.findIndex((b, i) => b !== want[i]) >> 5}`);
          }
      }
    });
    t.deepEqual(wrong, []);
  });
}
