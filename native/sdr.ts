/**
 * Typed facade over the sdr area of the native addon (napi_sdr.c): the SDR graph's parents and
 * the labelling of node ranges. It validates lengths and ranges and allocates nothing large;
 * callers own every buffer. See rust-fil-proofs `storage-proofs-porep/src/stacked/vanilla/`.
 */
import { endianness } from 'node:os';
import { AbortedError } from '../src/errors.js';
import { binding, NATIVE_CANCELLED } from './binding.js';

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
  sdrParents(drgSeed: Uint8Array, keys: Uint8Array, nodes: number, legacy: boolean, start: number, out: Uint32Array, cancel?: Int32Array): number;
  sdrPermute(drgSeed: Uint8Array, keys: Uint8Array, nodes: number, legacy: boolean, index: number): number;
  sdrLabelRange(
    replicaId: Uint8Array,
    layer: number,
    start: number,
    parents: Uint32Array,
    current: Uint8Array,
    previous: Uint8Array | null,
    cancel?: Int32Array,
    gather?: boolean,
  ): number;
  sdrLabelRangeBatch(
    replicaIds: Uint8Array[],
    layer: number,
    start: number,
    parents: Uint32Array,
    current: Uint8Array,
    previous: Uint8Array | null,
    cancel?: Int32Array,
    gather?: boolean,
  ): number;
  sdrGatheredRanges(): number;
  sdrBatchSplit(batch: Uint8Array, k: number, start: number, outs: Uint8Array[]): void;
  sdrBatchMerge(batch: Uint8Array, k: number, sector: number, start: number, input: Uint8Array): void;
  chachaWords(seed: Uint8Array, rounds: number, out: Uint32Array): void;
  blake2b512(data: Uint8Array, out: Uint8Array): void;
  sdrLayerBuffer(bytes: number): Uint8Array;
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

function checkCancel(cancel: Int32Array | undefined): Int32Array | undefined {
  if (cancel !== undefined && !(cancel instanceof Int32Array && cancel.length >= 1)) {
    throw new TypeError('cancel must be an Int32Array of at least one element');
  }
  return cancel;
}

/**
 * Writes the parents of nodes `[start, start + out.length / 14)` into `out`: per node 6 base
 * parents (current layer) then 8 expander parents (previous layer). `cancel` (a task's cancel
 * flag, see native/src/cancel.h) is polled every 256 nodes; once it is set the call throws
 * AbortedError with `out` partly written.
 */
export function sdrParents(graph: NativeGraph, start: number, out: Uint32Array, cancel?: Int32Array): void {
  checkGraph(graph);
  if (out.length % PARENTS_PER_NODE !== 0) throw new RangeError('out.length must be a multiple of 14');
  const count = out.length / PARENTS_PER_NODE;
  if (!Number.isInteger(start) || start < 0 || start + count > graph.nodes) {
    throw new RangeError(`start (${start}) + count (${count}) must be within [0, ${graph.nodes}]`);
  }
  const r = sdr().sdrParents(graph.drgSeed, graph.feistelKeys, graph.nodes, graph.legacy, start, out, checkCancel(cancel));
  if (r === NATIVE_CANCELLED) throw new AbortedError('parent computation cancelled');
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
  /**
   * A task's cancel flag (`TaskContext.cancelFlag`), polled every 1024 nodes: once it is set
   * the call throws AbortedError with a prefix of the range labelled.
   */
  readonly cancel?: Int32Array | undefined;
  /**
   * Gather the parents' labels on a second native thread, a small ring ahead of the labeller:
   * beyond the caches the labeller then reads one contiguous slot per node instead of waiting on
   * random reads (a 512 MiB sector's PC1 ran 1.29× as fast on the project machine). It
   * uses another core while the call runs; ranges under 4 096 nodes label without it. Same labels.
   */
  readonly gather?: boolean | undefined;
}

/**
 * Labels nodes `[start, start + parents.length / 14)` of one layer into `current`.
 * Returns -1 on success, or the offset in the range of the first node whose parents are invalid
 * (a base parent ≥ the node, or an expander parent ≥ nodes); nodes before it are labelled.
 * Throws AbortedError when `cancel` was set.
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
  const r = sdr().sdrLabelRange(a.replicaId, a.layer, a.start, a.parents, a.current, previous, checkCancel(a.cancel), a.gather === true);
  if (r === NATIVE_CANCELLED) throw new AbortedError(`labelling of layer ${a.layer} cancelled`);
  return r;
}

/**
 * How many labelling calls of this thread had their parents gathered by a second thread (see
 * {@link LabelRangeArgs.gather}): a diagnostic, so that a caller or test can tell a gathered
 * range from one that labelled alone (short ranges, or no thread to be had).
 */
export function sdrGatheredRanges(): number {
  return sdr().sdrGatheredRanges();
}

/** Most sectors one {@link sdrLabelRangeBatch} call labels together. */
export const LABEL_BATCH_MAX = 8;

/** Arguments of {@link sdrLabelRangeBatch}: those of {@link LabelRangeArgs}, for k sectors. */
export interface LabelRangeBatchArgs {
  /** One 32-byte replica id per sector (1 to {@link LABEL_BATCH_MAX} sectors). */
  readonly replicaIds: readonly Uint8Array[];
  readonly layer: number;
  readonly start: number;
  /** Parents of the range's nodes, 14 per node: the graph is the same for every sector. */
  readonly parents: Uint32Array;
  /**
   * The k sectors' whole current layers, interleaved node-major (node v of sector s at
   * `32 · (v · k + s)`, `nodes · k · 32` bytes; see {@link batchLayerSplit}). For k = 1 the
   * plain layout.
   */
  readonly current: Uint8Array;
  /** The k sectors' whole previous layers, interleaved like `current`; required for layer ≥ 2. */
  readonly previous?: Uint8Array | undefined;
  readonly cancel?: Int32Array | undefined;
  readonly gather?: boolean | undefined;
}

/**
 * Labels nodes `[start, start + parents.length / 14)` of one layer in several sectors of the
 * same graph at once. The parents of a node are the same in every sector (only the replica ids
 * differ), and the layers are interleaved so that one parent's labels in all k sectors are k·32
 * adjacent bytes: a node costs 14 runs of one to four cache lines instead of 14·k scattered
 * lines and TLB walks, which at 512 MiB (layers far beyond the caches) held a batch to about
 * 1.3× one sector's labels/s. With SHA-NI the sectors' label hashes run as interleaved streams
 * (a core's SHA unit is only partly busy with one chain). Same labels, bit for bit, as one
 * {@link sdrLabelRange} per sector. Returns -1, or the offset of the first node with invalid
 * parents (nodes before it are labelled in every sector); throws AbortedError when `cancel` was set.
 */
export function sdrLabelRangeBatch(a: LabelRangeBatchArgs): number {
  const k = a.replicaIds.length;
  if (k < 1 || k > LABEL_BATCH_MAX) throw new RangeError(`a batch labels 1 to ${LABEL_BATCH_MAX} sectors, got ${k}`);
  a.replicaIds.forEach((r, i) => {
    if (r.length !== 32) throw new RangeError(`replicaIds[${i}] must be 32 bytes`);
  });
  if (!Number.isInteger(a.layer) || a.layer < 1) throw new RangeError(`layer must be an integer >= 1, got ${a.layer}`);
  const len = a.current.length;
  if (len % (32 * k) !== 0 || len < 64 * k) {
    throw new RangeError(`current must hold ${k} interleaved layers: a whole number of ${32 * k}-byte nodes, at least 2`);
  }
  const nodes = len / (32 * k);
  if (a.parents.length % PARENTS_PER_NODE !== 0) throw new RangeError('parents.length must be a multiple of 14');
  const count = a.parents.length / PARENTS_PER_NODE;
  if (!Number.isInteger(a.start) || a.start < 0 || a.start + count > nodes) {
    throw new RangeError(`start (${a.start}) + count (${count}) must be within [0, ${nodes}]`);
  }
  let previous: Uint8Array | null = null;
  if (a.layer >= 2) {
    if (!a.previous) throw new RangeError(`previous is required for layer ${a.layer}`);
    if (a.previous.length !== len) throw new RangeError('previous must be as long as current');
    if (overlaps(a.previous, a.current)) throw new RangeError('previous and current must not overlap');
    previous = a.previous;
  }
  const r = sdr().sdrLabelRangeBatch([...a.replicaIds], a.layer, a.start, a.parents, a.current, previous, checkCancel(a.cancel), a.gather === true);
  if (r === NATIVE_CANCELLED) throw new AbortedError(`labelling of layer ${a.layer} cancelled`);
  return r;
}

function checkBatchRange(batch: Uint8Array, k: number, start: number, bytes: number): void {
  if (!Number.isInteger(k) || k < 1 || k > LABEL_BATCH_MAX) throw new RangeError(`a batch has 1 to ${LABEL_BATCH_MAX} sectors, got ${k}`);
  if (batch.length % (32 * k) !== 0) throw new RangeError(`the batch layer must be a whole number of ${32 * k}-byte nodes`);
  if (bytes % 32 !== 0) throw new RangeError('a sector\'s part must be a whole number of 32-byte nodes');
  const nodes = batch.length / (32 * k);
  if (!Number.isInteger(start) || start < 0 || start + bytes / 32 > nodes) {
    throw new RangeError(`start (${start}) + count (${bytes / 32}) must be within [0, ${nodes}]`);
  }
}

/**
 * Copies nodes `[start, start + outs[0].length / 32)` of each sector of an interleaved batch
 * layer (see {@link LabelRangeBatchArgs.current}) into `outs[s]`, in the plain layout of a layer
 * file, in one pass over the batch's memory.
 */
export function batchLayerSplit(batch: Uint8Array, k: number, start: number, outs: readonly Uint8Array[]): void {
  if (outs.length !== k) throw new RangeError(`outs must hold ${k} buffers, one per sector`);
  const bytes = outs[0]?.length ?? 0;
  outs.forEach((o, i) => {
    if (o.length !== bytes) throw new RangeError(`outs[${i}] must be ${bytes} bytes like outs[0]`);
    if (overlaps(o, batch)) throw new RangeError(`outs[${i}] must not overlap the batch`);
  });
  checkBatchRange(batch, k, start, bytes);
  sdr().sdrBatchSplit(batch, k, start, [...outs]);
}

/** The reverse of {@link batchLayerSplit} for one sector: `input` (plain layout) into nodes from `start` of sector `sector`. */
export function batchLayerMerge(batch: Uint8Array, k: number, sector: number, start: number, input: Uint8Array): void {
  checkBatchRange(batch, k, start, input.length);
  if (!Number.isInteger(sector) || sector < 0 || sector >= k) throw new RangeError(`sector must be an integer in [0, ${k}), got ${sector}`);
  if (overlaps(input, batch)) throw new RangeError('input must not overlap the batch');
  sdr().sdrBatchMerge(batch, k, sector, start, input);
}

function overlaps(a: Uint8Array, b: Uint8Array): boolean {
  return a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.length && b.byteOffset < a.byteOffset + a.length;
}

/**
 * Allocates a zero-filled layer buffer (up to 4 GiB: one sector's layer, or the interleaved
 * layers of a batch), 2 MiB-aligned so that every label lies in one cache line and transparent
 * huge pages can back all of it, advised before any page is touched. Labelling reads parents at
 * random across two layers: a misaligned label costs two cache lines, and with 4 KiB pages most
 * reads also miss the TLB, so prefetches arrive late. Every page is faulted in before returning:
 * otherwise the first layer labelled into this buffer pays for page allocation and zeroing (for
 * huge pages also compaction), about 1 s per 512 MiB, inside the labelling loop. All of this is
 * optimisation only: any Uint8Array works as a layer.
 */
export function allocateLayerBuffer(bytes: number): Uint8Array {
  if (!Number.isSafeInteger(bytes) || bytes < 0 || bytes > 2 ** 32) throw new RangeError(`bytes must be an integer in [0, 2^32], got ${bytes}`);
  if (bytes === 0) return new Uint8Array(0);
  const b = sdr().sdrLayerBuffer(bytes); // a Buffer: handed out as the plain Uint8Array a layer is
  return new Uint8Array(b.buffer, b.byteOffset, b.length);
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
