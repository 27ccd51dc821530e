/**
 * Typed facade of the native hash machinery: SHA-256, the Filecoin node hash
 * (trunc254(SHA-256(a‖b))), tree layers and roots, fr32 padding, one-pass commP of a chunk, and
 * BLAKE2b-256 (Filecoin's chain hash: randomness, message CIDs).
 * Validates argument types and lengths (TypeError / RangeError naming the argument) and allocates
 * outputs; the C code computes over the caller's buffers. Everything runs synchronously on the
 * calling thread; use the sealer pool for large inputs.
 */
import { binding } from './binding.js';

interface HashBinding {
  sha256(data: Uint8Array, out: Uint8Array): void;
  blake2b256(data: Uint8Array, out: Uint8Array): void;
  hashPair(a: Uint8Array, b: Uint8Array, out: Uint8Array): void;
  hashLayer(children: Uint8Array, parents: Uint8Array): void;
  treeRoot(leaves: Uint8Array, out: Uint8Array): void;
  fr32Pad(input: Uint8Array, output: Uint8Array): void;
  fr32Unpad(input: Uint8Array, output: Uint8Array): void;
  commPChunk(unpadded: Uint8Array, paddedOut: Uint8Array, root: Uint8Array): void;
  benchCompressions(count: number, ways: number): number;
  setShaBackend(useShaNi: boolean): void;
  cpuHasShaNi(): boolean;
}

function native(): HashBinding {
  return binding() as unknown as HashBinding;
}

function bytes(value: unknown, name: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array`);
  return value;
}

function exactly(value: unknown, name: string, length: number): Uint8Array {
  const b = bytes(value, name);
  if (b.length !== length) throw new RangeError(`${name} must be ${length} bytes, got ${b.length}`);
  return b;
}

function isPowerOfTwo(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 1 && 2 ** Math.round(Math.log2(n)) === n;
}

/** Plain SHA-256 of `data`. */
export function sha256(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(32);
  native().sha256(bytes(data, 'data'), out);
  return out;
}

/**
 * Unkeyed BLAKE2b with a 32-byte digest (Go's `blake2b.Sum256`). node:crypto offers only
 * BLAKE2b-512, and BLAKE2b-256 is not its truncation (the digest length is hashed in).
 */
export function blake2b256(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(32);
  native().blake2b256(bytes(data, 'data'), out);
  return out;
}

/** SHA-256 of `data` with the two top bits of byte 31 cleared (trunc254). */
export function sha254(data: Uint8Array): Uint8Array {
  const out = sha256(data);
  out[31] = out[31]! & 0x3f;
  return out;
}

/** The binary-tree node hash: trunc254(SHA-256(a ‖ b)) of two 32-byte nodes. */
export function hashPair(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(32);
  native().hashPair(exactly(a, 'a', 32), exactly(b, 'b', 32), out);
  return out;
}

/**
 * Hashes one tree layer: `parents[i] = hashPair(children[2i], children[2i+1])`, where
 * `children` holds 64·n bytes and `parents` 32·n bytes. `parents` may be the very same memory
 * as the start of `children` (in place); any other overlap is rejected.
 */
export function hashLayer(children: Uint8Array, parents: Uint8Array): void {
  const c = bytes(children, 'children');
  const p = bytes(parents, 'parents');
  if (c.length % 64 !== 0) throw new RangeError(`children must be a multiple of 64 bytes, got ${c.length}`);
  if (p.length * 2 !== c.length) {
    throw new RangeError(`parents must be ${c.length / 2} bytes (half of children), got ${p.length}`);
  }
  native().hashLayer(c, p);
}

/** Root of the binary tree whose leaves are the 32-byte nodes of `leaves` (a power-of-two count). */
export function treeRoot(leaves: Uint8Array): Uint8Array {
  const l = bytes(leaves, 'leaves');
  if (l.length % 32 !== 0 || !isPowerOfTwo(l.length / 32)) {
    throw new RangeError(`leaves must be a power-of-two number of 32-byte nodes, got ${l.length} bytes`);
  }
  const out = new Uint8Array(32);
  native().treeRoot(l, out);
  return out;
}

/** fr32-pads `input` (127·k bytes) into `output` (128·k bytes). The buffers must not overlap. */
export function fr32Pad(input: Uint8Array, output: Uint8Array): void {
  const i = bytes(input, 'input');
  const o = bytes(output, 'output');
  if (i.length % 127 !== 0) throw new RangeError(`input must be a multiple of 127 bytes, got ${i.length}`);
  if (o.length !== (i.length / 127) * 128) {
    throw new RangeError(`output must be ${(i.length / 127) * 128} bytes, got ${o.length}`);
  }
  native().fr32Pad(i, o);
}

/** Inverse of {@link fr32Pad}: `input` (128·k bytes) into `output` (127·k bytes). */
export function fr32Unpad(input: Uint8Array, output: Uint8Array): void {
  const i = bytes(input, 'input');
  const o = bytes(output, 'output');
  if (i.length % 128 !== 0) throw new RangeError(`input must be a multiple of 128 bytes, got ${i.length}`);
  if (o.length !== (i.length / 128) * 127) {
    throw new RangeError(`output must be ${(i.length / 128) * 127} bytes, got ${o.length}`);
  }
  native().fr32Unpad(i, o);
}

/**
 * fr32-pads `unpadded` (127·2^j bytes) into `paddedOut` (128·2^j bytes) and returns the root of
 * the tree over the padded bytes (the commP of that chunk when it is a whole piece), in one pass.
 * @example
 * const root = commPChunk(new Uint8Array(127).fill(0xcc), new Uint8Array(128));
 */
export function commPChunk(unpadded: Uint8Array, paddedOut: Uint8Array): Uint8Array {
  const u = bytes(unpadded, 'unpadded');
  const p = bytes(paddedOut, 'paddedOut');
  if (u.length % 127 !== 0 || !isPowerOfTwo(u.length / 127)) {
    throw new RangeError(`unpadded must be 127·2^j bytes, got ${u.length}`);
  }
  if (p.length !== (u.length / 127) * 128) {
    throw new RangeError(`paddedOut must be ${(u.length / 127) * 128} bytes, got ${p.length}`);
  }
  const root = new Uint8Array(32);
  native().commPChunk(u, p, root);
  return root;
}

/**
 * Benchmark kernel: `ways` independent streams each perform `count` real SHA-256 compressions
 * (interleaved with SHA-NI). Returns a checksum of the final states, identical on both backends.
 */
export function benchCompressions(count: number, ways: 1 | 2 | 4): number {
  if (typeof count !== 'number') throw new TypeError('count must be a number');
  if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`count must be a non-negative integer, got ${count}`);
  if (ways !== 1 && ways !== 2 && ways !== 4) throw new RangeError(`ways must be 1, 2 or 4, got ${String(ways)}`);
  return native().benchCompressions(count, ways);
}

/**
 * Selects the SHA-256 implementation of the calling thread's addon instance only (other worker
 * threads keep theirs). Throws if 'sha-ni' is requested on a CPU without SHA extensions.
 */
export function setShaBackend(backend: 'sha-ni' | 'portable'): void {
  if (backend !== 'sha-ni' && backend !== 'portable') {
    throw new RangeError(`backend must be 'sha-ni' or 'portable', got ${String(backend)}`);
  }
  const b = native();
  if (backend === 'sha-ni' && !b.cpuHasShaNi()) {
    throw new RangeError("backend 'sha-ni' is unavailable: this CPU has no SHA extensions");
  }
  b.setShaBackend(backend === 'sha-ni');
}
