/**
 * Typed facade over the sdr area of the native addon (napi_sdr.c): the SDR graph's parents and
 * the labelling of node ranges. It validates lengths and ranges and allocates nothing large;
 * callers own every buffer. See rust-fil-proofs `storage-proofs-porep/src/stacked/vanilla/`.
 */
import { endianness } from 'node:os';
import { binding } from './binding.js';

/** Graph description as the native code takes it (derive it with `src/seal/graph.ts`). */
export interface NativeGraph {
  /** First 28 bytes of SHA-256("Filecoin_DRSample" || porep_id). */
  readonly drgSeed: Uint8Array;
  /** SHA-256("Filecoin_Feistel" || porep_id): four u64 LE Feistel keys. */
  readonly feistelKeys: Uint8Array;
  /** Node count (sector size / 32), 2 ≤ nodes < 2^32. */
  readonly nodes: number;
  /** True for the V1_0 (legacy) parent order. */
  readonly legacy: boolean;
}

/** Parents per node: 6 base (DRG) then 8 expander. */
export const PARENTS_PER_NODE = 14;
/** Base (DRG) parents per node. */
export const BASE_PARENTS = 6;
/** Expander parents per node. */
export const EXP_PARENTS = 8;

interface SdrBinding {
  sdrParents(drgSeed: Uint8Array, keys: Uint8Array, nodes: number, legacy: boolean, start: number, out: Uint32Array): void;
  sdrPermute(drgSeed: Uint8Array, keys: Uint8Array, nodes: number, legacy: boolean, index: number): number;
  sdrLabelRange(
    replicaId: Uint8Array,
    layer: number,
    start: number,
    parents: Uint32Array,
    current: Uint8Array,
    previous: Uint8Array | null,
  ): number;
  chachaWords(seed: Uint8Array, rounds: number, out: Uint32Array): void;
  blake2b512(data: Uint8Array, out: Uint8Array): void;
  sdrAdviseHugePages(buffer: Uint8Array): boolean;
  sdrAlignOffset(buffer: Uint8Array, alignment: number): number;
}

function sdr(): SdrBinding {
  if (endianness() !== 'LE') throw new RangeError('the SDR parent layout (u32 LE) needs a little-endian host');
  return binding() as unknown as SdrBinding;
}

function checkGraph(g: NativeGraph): void {
  if (g.drgSeed.length !== 28) throw new RangeError('graph.drgSeed must be 28 bytes');
  if (g.feistelKeys.length !== 32) throw new RangeError('graph.feistelKeys must be 32 bytes');
  if (!Number.isInteger(g.nodes) || g.nodes < 2 || g.nodes >= 2 ** 32) {
    throw new RangeError(`graph.nodes must be an integer in [2, 2^32), got ${g.nodes}`);
  }
}

/**
 * Writes the parents of nodes `[start, start + out.length / 14)` into `out`: per node 6 base
 * parents (current layer) then 8 expander parents (previous layer).
 */
export function sdrParents(graph: NativeGraph, start: number, out: Uint32Array): void {
  checkGraph(graph);
  if (out.length % PARENTS_PER_NODE !== 0) throw new RangeError('out.length must be a multiple of 14');
  const count = out.length / PARENTS_PER_NODE;
  if (!Number.isInteger(start) || start < 0 || start + count > graph.nodes) {
    throw new RangeError(`start (${start}) + count (${count}) must be within [0, ${graph.nodes}]`);
  }
  sdr().sdrParents(graph.drgSeed, graph.feistelKeys, graph.nodes, graph.legacy, start, out);
}

/** The Feistel permutation (with cycle walking) of `index` in `[0, 8 · nodes)`. */
export function sdrFeistelPermute(graph: NativeGraph, index: number): number {
  checkGraph(graph);
  if (!Number.isInteger(index) || index < 0 || index >= 8 * graph.nodes) {
    throw new RangeError(`index must be an integer in [0, ${8 * graph.nodes})`);
  }
  return sdr().sdrPermute(graph.drgSeed, graph.feistelKeys, graph.nodes, graph.legacy, index);
}

/** Arguments of {@link sdrLabelRange}. */
export interface LabelRangeArgs {
  /** 32-byte replica id. */
  readonly replicaId: Uint8Array;
  /** 1-based layer number. */
  readonly layer: number;
  /** First node of the range. */
  readonly start: number;
  /** Parents of the range's nodes, 14 per node (count = parents.length / 14). */
  readonly parents: Uint32Array;
  /** The whole current layer (nodes × 32 bytes); nodes before `start` must already be labelled. */
  readonly current: Uint8Array;
  /** The whole previous layer; required for layer ≥ 2. */
  readonly previous?: Uint8Array | undefined;
}

/**
 * Labels nodes `[start, start + parents.length / 14)` of one layer into `current`.
 * Returns -1 on success, or the offset in the range of the first node whose parents are invalid
 * (a base parent ≥ the node, or an expander parent ≥ nodes); nodes before it are labelled.
 */
export function sdrLabelRange(a: LabelRangeArgs): number {
  if (a.replicaId.length !== 32) throw new RangeError('replicaId must be 32 bytes');
  if (!Number.isInteger(a.layer) || a.layer < 1) throw new RangeError(`layer must be an integer >= 1, got ${a.layer}`);
  if (a.current.length % 32 !== 0 || a.current.length < 64) {
    throw new RangeError('current must be a whole number of 32-byte nodes, at least 2');
  }
  const nodes = a.current.length / 32;
  if (a.parents.length % PARENTS_PER_NODE !== 0) throw new RangeError('parents.length must be a multiple of 14');
  const count = a.parents.length / PARENTS_PER_NODE;
  if (!Number.isInteger(a.start) || a.start < 0 || a.start + count > nodes) {
    throw new RangeError(`start (${a.start}) + count (${count}) must be within [0, ${nodes}]`);
  }
  let previous: Uint8Array | null = null;
  if (a.layer >= 2) {
    if (!a.previous) throw new RangeError(`previous is required for layer ${a.layer}`);
    if (a.previous.length !== a.current.length) throw new RangeError('previous must be as long as current');
    if (overlaps(a.previous, a.current)) throw new RangeError('previous and current must not overlap');
    previous = a.previous;
  }
  return sdr().sdrLabelRange(a.replicaId, a.layer, a.start, a.parents, a.current, previous);
}

function overlaps(a: Uint8Array, b: Uint8Array): boolean {
  return a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.length && b.byteOffset < a.byteOffset + a.length;
}

/**
 * Allocates a zero-filled layer buffer, 64-byte aligned so that every 32-byte label lies in one
 * cache line, and asks the kernel to back it with transparent huge pages before any page is
 * touched. Labelling reads parents at random across two layers: a misaligned label costs two
 * cache lines, and with 4 KiB pages most reads also miss the TLB, so prefetches arrive late.
 * Every page is faulted in before returning. All of this is optimisation only: any Uint8Array
 * works as a layer.
 */
export function allocateLayerBuffer(bytes: number): Uint8Array {
  if (!Number.isSafeInteger(bytes) || bytes < 0) throw new RangeError(`bytes must be a non-negative safe integer, got ${bytes}`);
  const raw = new Uint8Array(bytes + 64);
  const b = sdr();
  const buf = raw.subarray(b.sdrAlignOffset(raw, 64)).subarray(0, bytes);
  if (bytes >= 4 << 20) b.sdrAdviseHugePages(buf);
  // Fault every page in now (a write, even of zero, allocates it): otherwise the first layer
  // labelled into this buffer pays for page allocation and zeroing (for huge pages also
  // compaction), about 1 s per 512 MiB, inside the labelling loop.
  for (let i = 0; i < bytes; i += 4096) buf[i] = 0;
  return buf;
}

/**
 * `count` u32 words of the rand_chacha 0.3 `ChaCha{rounds}Rng::from_seed(seed)` stream (test
 * support for the DRG's ChaCha8; rounds 8 or 20).
 */
export function chachaWords(seed: Uint8Array, rounds: number, count: number): Uint32Array {
  if (seed.length !== 32) throw new RangeError('seed must be 32 bytes');
  if (!Number.isInteger(rounds) || rounds < 2 || rounds > 20 || rounds % 2 !== 0) {
    throw new RangeError('rounds must be an even integer in [2, 20]');
  }
  const out = new Uint32Array(count);
  sdr().chachaWords(seed, rounds, out);
  return out;
}

/** Unkeyed BLAKE2b-512 of `data` (the Feistel round function's hash). */
export function blake2b512(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(64);
  sdr().blake2b512(data, out);
  return out;
}
