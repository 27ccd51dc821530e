/**
 * Typed facade over the addon's Poseidon and Fr functions (neptune Poseidon, Strength::Standard,
 * HashType::MerkleTree, over BLS12-381 Fr; neptune `poseidon.rs`).
 *
 * Every 32-byte node is a little-endian canonical field element. Inputs that are not (value ≥ r)
 * are refused with a RangeError naming the element, never silently reduced: a node ≥ r cannot
 * come out of a correct sealer, so it signals corrupted input. This module validates lengths
 * and allocates outputs; C computes. Constants per arity are built on first
 * use in each thread (a few milliseconds, once).
 */
import { AbortedError } from '../src/errors.js';
import { binding, NATIVE_CANCELLED } from './binding.js';

/** Arities neptune defines round numbers for (and this addon therefore supports). */
export const POSEIDON_ARITIES: readonly number[] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 24, 36];

/** BLS12-381 scalar field modulus r. */
export const FR_MODULUS = 0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001n;

const NODE = 32;

interface PoseidonBinding {
  poseidonHashMany(arity: number, inputs: Uint8Array, out: Uint8Array, mode: number, threads?: number, cancel?: Int32Array): number;
  poseidonColumns(layers: Uint8Array[], out: Uint8Array, threads?: number, cancel?: Int32Array): number;
  poseidonSplitThreads(hashes: number, threads: number): number;
  frAddNodes(a: Uint8Array, b: Uint8Array, out: Uint8Array): number;
  frSubNodes(a: Uint8Array, b: Uint8Array, out: Uint8Array): number;
  frAdxKernel(op: number, inputs: Uint8Array, out: Uint8Array): boolean;
}

function native(): PoseidonBinding {
  return binding() as unknown as PoseidonBinding;
}

function checkBytes(name: string, value: unknown): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array`);
}

function checkArity(arity: number): void {
  if (!POSEIDON_ARITIES.includes(arity)) {
    throw new RangeError(`arity ${arity} is not supported (expected one of ${POSEIDON_ARITIES.join(', ')})`);
  }
}

function notCanonical(what: string, index: number): RangeError {
  return new RangeError(`${what} ${index} is not a canonical field element (value >= r)`);
}

/** Most threads one bulk call may use (the addon caps a call at 64 anyway). */
const MAX_THREADS = 1024;

/** Options of the bulk calls ({@link poseidonLayer}, {@link columnHashes}). */
export interface PoseidonBulkOptions {
  /**
   * Threads the native call may split the hashes across (the calling thread blocks until all
   * are done; results are bit-identical to one thread). Calls with few hashes (under 256 per
   * thread) use fewer threads or just the caller's. @default 1
   */
  threads?: number;
  /**
   * A task's cancel flag (`TaskContext.cancelFlag`: an Int32Array, usually over shared memory,
   * non-zero once cancelled). Every native thread of the call polls it every four hashes, so a
   * call of any size stops within milliseconds and throws AbortedError; `out` is then partly
   * written.
   */
  cancel?: Int32Array | undefined;
}

function checkCancel(options: PoseidonBulkOptions | undefined): Int32Array | undefined {
  const cancel = options?.cancel;
  if (cancel !== undefined && !(cancel instanceof Int32Array && cancel.length >= 1)) {
    throw new TypeError('options.cancel must be an Int32Array of at least one element');
  }
  return cancel;
}

function checkThreads(options: PoseidonBulkOptions | undefined): number {
  const threads = options?.threads ?? 1;
  if (!Number.isSafeInteger(threads) || threads < 1 || threads > MAX_THREADS) {
    throw new RangeError(`options.threads must be an integer from 1 to ${MAX_THREADS} (got ${threads})`);
  }
  return threads;
}

/**
 * How many threads a bulk call of `hashes` hashes actually runs on when `options.threads` are
 * allowed (the addon keeps at least 256 hashes per thread and at most 64 threads). For tests
 * and tuning.
 */
export function poseidonSplitThreads(hashes: number, options?: PoseidonBulkOptions): number {
  return native().poseidonSplitThreads(hashes, checkThreads(options));
}

/** Native permutation selector (napi_poseidon.c). */
const Mode = { fast: 0, reference: 1, portable: 2, eager: 3 } as const;

function hashOne(inputs: Uint8Array, mode: number): Uint8Array {
  checkBytes('inputs', inputs);
  if (inputs.length === 0 || inputs.length % NODE !== 0) {
    throw new RangeError(`inputs must be a non-empty multiple of 32 bytes (got ${inputs.length})`);
  }
  const arity = inputs.length / NODE;
  checkArity(arity);
  const out = new Uint8Array(NODE);
  const bad = native().poseidonHashMany(arity, inputs, out, mode);
  if (bad >= 0) throw notCanonical('inputs element', bad);
  return out;
}

/**
 * Poseidon of one group of `arity = inputs.length / 32` field elements (each a canonical LE
 * 32-byte value < r). Returns the 32-byte LE digest.
 */
export function poseidonHash(inputs: Uint8Array): Uint8Array {
  return hashOne(inputs, Mode.fast);
}

/**
 * The same hash through the textbook permutation with the portable field product. Slow; the
 * oracle tests check the optimised permutation against.
 */
export function poseidonHashReference(inputs: Uint8Array): Uint8Array {
  return hashOne(inputs, Mode.reference);
}

/**
 * The optimised permutation with the portable (__int128) field product, which is what CPUs
 * without MULX/ADX run; {@link poseidonHash} uses the assembly product where available.
 */
export function poseidonHashPortable(inputs: Uint8Array): Uint8Array {
  return hashOne(inputs, Mode.portable);
}

/**
 * A tree row ({@link poseidonLayer}, one thread) with the scalar permutation as it was before
 * lazy reduction and the IFMA path: every product reduced, the MULX/ADX product where the
 * thread's path has it. Same results; the benchmarks' baseline.
 */
export function poseidonLayerEager(children: Uint8Array, parents: Uint8Array, arity: number): void {
  checkBytes('children', children);
  checkBytes('parents', parents);
  checkArity(arity);
  if (parents.length % NODE !== 0 || children.length !== parents.length * arity) {
    throw new RangeError(`children must be ${parents.length * arity} bytes (parents × arity), got ${children.length}`);
  }
  const bad = native().poseidonHashMany(arity, children, parents, Mode.eager, 1);
  if (bad >= 0) throw notCanonical('children node', bad);
}

/**
 * One tree row: `parents[i] = Poseidon_arity(children[i·arity … i·arity + arity − 1])`.
 * `children.length` must equal `parents.length · arity`. May be called on consecutive slices
 * of a row to stream it. `options.threads` splits the row across native threads.
 */
export function poseidonLayer(children: Uint8Array, parents: Uint8Array, arity: number, options?: PoseidonBulkOptions): void {
  checkBytes('children', children);
  checkBytes('parents', parents);
  checkArity(arity);
  const threads = checkThreads(options);
  if (parents.length % NODE !== 0) throw new RangeError(`parents must be a multiple of 32 bytes (got ${parents.length})`);
  if (children.length !== parents.length * arity) {
    throw new RangeError(`children must be ${parents.length * arity} bytes (parents × arity), got ${children.length}`);
  }
  const bad = native().poseidonHashMany(arity, children, parents, Mode.fast, threads, checkCancel(options));
  if (bad === NATIVE_CANCELLED) throw new AbortedError('Poseidon tree row cancelled');
  if (bad >= 0) throw notCanonical('children node', bad);
}

/**
 * Column hashes (rust-fil-proofs `stacked/vanilla/column.rs`): `out` node v = Poseidon_k(layers[0][v], …, layers[k−1][v])
 * with k = layers.length. Every layer and `out` have the same length (a multiple of 32 bytes).
 * `options.threads` splits the nodes across native threads.
 */
export function columnHashes(layers: readonly Uint8Array[], out: Uint8Array, options?: PoseidonBulkOptions): void {
  if (!Array.isArray(layers)) throw new TypeError('layers must be an array of Uint8Array');
  checkBytes('out', out);
  checkArity(layers.length);
  const threads = checkThreads(options);
  if (out.length % NODE !== 0) throw new RangeError(`out must be a multiple of 32 bytes (got ${out.length})`);
  layers.forEach((layer, i) => {
    checkBytes(`layers[${i}]`, layer);
    if (layer.length !== out.length) throw new RangeError(`layers[${i}] must be ${out.length} bytes like out, got ${layer.length}`);
  });
  const bad = native().poseidonColumns([...layers], out, threads, checkCancel(options));
  if (bad === NATIVE_CANCELLED) throw new AbortedError('column hashes cancelled');
  if (bad >= 0) {
    const k = layers.length;
    throw notCanonical(`layers[${bad % k}] node`, Math.floor(bad / k));
  }
}

/** The MULX/ADX building blocks of the width-3 Poseidon kernel (native/src/fr_adx.h). */
export type FrAdxKernel = 'square' | 'dot3' | 'dot3Plus' | 'mulPlus' | 'add';
const FR_ADX_OPERANDS: Record<FrAdxKernel, number> = { square: 1, dot3: 6, dot3Plus: 7, mulPlus: 3, add: 2 };
const FR_ADX_OP: Record<FrAdxKernel, number> = { square: 0, dot3: 1, dot3Plus: 2, mulPlus: 3, add: 4 };

/**
 * For tests: one MULX/ADX block of the width-3 Poseidon kernel on `operands` (32-byte LE values
 * below r, taken as Montgomery limbs as they are). With M(x) = x · 2^-256 mod r: `square` a →
 * M(a²); `dot3` c0 c1 c2 s0 s1 s2 → M(Σ cᵢsᵢ); `dot3Plus` c0 c1 c2 k s0 s1 s2 → M(Σ cᵢsᵢ) + k;
 * `mulPlus` a b k → M(ab) + k; `add` a b → a + b (all mod r). Undefined when this CPU lacks
 * MULX/ADX.
 */
export function frAdxKernel(kernel: FrAdxKernel, operands: Uint8Array): Uint8Array | undefined {
  checkBytes('operands', operands);
  const n = FR_ADX_OPERANDS[kernel];
  if (n === undefined) throw new RangeError(`unknown kernel ${String(kernel)} (expected one of ${Object.keys(FR_ADX_OP).join(', ')})`);
  if (operands.length !== 32 * n) throw new RangeError(`${kernel} takes ${n} operands (${32 * n} bytes), got ${operands.length} bytes`);
  const out = new Uint8Array(NODE);
  return native().frAdxKernel(FR_ADX_OP[kernel], operands, out) ? out : undefined;
}

function checkNodes(names: [string, string, string], a: Uint8Array, b: Uint8Array, out: Uint8Array): void {
  checkBytes(names[0], a);
  checkBytes(names[1], b);
  checkBytes(names[2], out);
  if (a.length % NODE !== 0) throw new RangeError(`${names[0]} must be a multiple of 32 bytes (got ${a.length})`);
  if (b.length !== a.length) throw new RangeError(`${names[1]} must be ${a.length} bytes like ${names[0]}, got ${b.length}`);
  if (out.length !== a.length) throw new RangeError(`${names[2]} must be ${a.length} bytes like ${names[0]}, got ${out.length}`);
}

/** Locates the failing operand of an add/sub reported at `node` for the error message. */
function badOperand(names: [string, string], a: Uint8Array, node: number): string {
  const top = a.subarray(node * NODE, node * NODE + NODE);
  let v = 0n;
  for (let i = NODE - 1; i >= 0; i--) v = (v << 8n) | BigInt(top[i] ?? 0);
  return v >= FR_MODULUS ? names[0] : names[1];
}

/**
 * Replica encoding (PC2, rust-fil-proofs `storage-proofs-porep/src/encode.rs`): per 32-byte node, `out = (data + key) mod r`.
 * `data` nodes are fr32-padded sector nodes, so each must be < 2^254 (top two bits of byte 31
 * clear): anything else means the input was not fr32-padded and is refused. `key` nodes (the
 * last layer's labels) must be < r. `out` may alias `data`.
 */
export function encodeNodes(data: Uint8Array, key: Uint8Array, out: Uint8Array): void {
  checkNodes(['data', 'key', 'out'], data, key, out);
  for (let i = NODE - 1; i < data.length; i += NODE) {
    if (((data[i] ?? 0) & 0xc0) !== 0) {
      throw new RangeError(`data node ${(i + 1) / NODE - 1} is not fr32-padded (value >= 2^254)`);
    }
  }
  const bad = native().frAddNodes(data, key, out);
  if (bad >= 0) throw notCanonical(`${badOperand(['data', 'key'], data, bad)} node`, bad);
}

/**
 * Replica decoding (unseal): per 32-byte node, `out = (replica − key) mod r`. Both inputs must be
 * canonical (< r). For a replica made by {@link encodeNodes} the result is the original data.
 * `out` may alias `replica`.
 */
export function decodeNodes(replica: Uint8Array, key: Uint8Array, out: Uint8Array): void {
  checkNodes(['replica', 'key', 'out'], replica, key, out);
  const bad = native().frSubNodes(replica, key, out);
  if (bad >= 0) throw notCanonical(`${badOperand(['replica', 'key'], replica, bad)} node`, bad);
}
