/**
 * RLE+ run-length bitfields, bit-compatible with go-bitfield's `rle` package (the "rlepluslazy"
 * codec Lotus uses for partial-file trailers and the actors use on chain).
 *
 * Bit layout (LSB-first within each byte): version `00`, one bit for the value of the first run,
 * then one block per run, values alternating:
 * - `1`                      run of length 1
 * - `01` + 4 bits            run of length 2..15 (0 here is the end marker)
 * - `00` + unsigned LEB128   run of length ≥ 16, each varint byte written as 8 bits
 * The stream ends at the first zero-length run, which in a minimal encoding is the implicit zero
 * bits past the last byte. Encodings are minimal: trailing zero bytes are trimmed, so the empty
 * bitfield is zero bytes long (go-bitfield ≥ v0.2.3, which every Lotus since 2021 uses).
 *
 * Decoding is strict where go-bitfield is lenient: bits after the end marker ("trailing
 * garbage", which go-bitfield and ref-fvm silently ignore) are refused, as are runs whose total
 * exceeds 2^53 (no real bitfield reaches that). Non-canonical but unambiguous run blocks (a length
 * 3 written as a varint) are accepted, as upstream does.
 */
import { InvalidArgumentError, PartialFileCorruptError } from '../errors.js';

/** A run of equal bits. */
export interface Run {
  readonly value: boolean;
  readonly length: number;
}

class BitWriter {
  readonly #bytes: number[] = [];
  #acc = 0;
  #bits = 0;

  put(value: number, count: number): void {
    for (let i = 0; i < count; i++) {
      if ((value >>> i) & 1) this.#acc |= 1 << this.#bits;
      if (++this.#bits === 8) {
        this.#bytes.push(this.#acc);
        this.#acc = 0;
        this.#bits = 0;
      }
    }
  }

  /** The bytes written, trailing zero bytes trimmed (go-bitfield's minimal encoding). */
  finish(): Uint8Array {
    if (this.#bits > 0) this.#bytes.push(this.#acc);
    let end = this.#bytes.length;
    while (end > 0 && this.#bytes[end - 1] === 0) end--;
    return Uint8Array.from(this.#bytes.slice(0, end));
  }
}

class BitReader {
  #pos = 0;
  constructor(readonly bytes: Uint8Array) {}

  get position(): number {
    return this.#pos;
  }

  /** Reads `count` ≤ 8 bits; bits past the end read as zero (as go-bitfield's reader does). */
  get(count: number): number {
    let out = 0;
    for (let i = 0; i < count; i++, this.#pos++) {
      const byte = this.bytes[this.#pos >>> 3] ?? 0;
      out |= ((byte >>> (this.#pos & 7)) & 1) << i;
    }
    return out;
  }
}

const corrupt = (what: string, detail: string) => new PartialFileCorruptError(`${what}: ${detail}`);

/**
 * Encodes runs as RLE+. Runs must have positive integer lengths and alternate in value; a
 * trailing run of zeros is dropped (it carries no information).
 */
export function encodeRuns(runs: Iterable<Run>): Uint8Array {
  const list = [...runs];
  while (list.length > 0 && !list[list.length - 1]!.value) list.pop();
  const w = new BitWriter();
  if (list.length === 0) return w.finish();
  w.put(0, 2);
  w.put(list[0]!.value ? 1 : 0, 1);
  let prev: boolean | undefined;
  for (const [i, run] of list.entries()) {
    if (!Number.isSafeInteger(run.length) || run.length < 1) {
      throw new InvalidArgumentError(`run ${i} has length ${run.length}; RLE+ runs must be positive integers`);
    }
    if (prev === run.value) {
      throw new InvalidArgumentError(`runs ${i - 1} and ${i} both have value ${run.value}; RLE+ runs must alternate`);
    }
    prev = run.value;
    if (run.length === 1) {
      w.put(1, 1);
    } else if (run.length < 16) {
      w.put(0b10, 2);
      w.put(run.length, 4);
    } else {
      w.put(0, 2);
      // unsigned LEB128, 7 bits per byte; lengths reach 2^53 so avoid 32-bit operators
      let n = run.length;
      for (;;) {
        const low = n % 128;
        n = Math.floor(n / 128);
        w.put(n > 0 ? low | 0x80 : low, 8);
        if (n === 0) break;
      }
    }
  }
  return w.finish();
}

/**
 * Decodes an RLE+ bitfield into runs (alternating values, positive lengths, no trailing zero
 * run). `what` names the data in error messages (e.g. the partial file's path).
 * @throws PartialFileCorruptError naming what is wrong
 */
export function decodeRuns(bytes: Uint8Array, what = 'RLE+ bitfield'): Run[] {
  if (bytes.length === 0) return [];
  if (bytes[bytes.length - 1] === 0) throw corrupt(what, 'RLE+ is not minimally encoded (trailing zero byte)');
  const r = new BitReader(bytes);
  const version = r.get(2);
  if (version !== 0) throw corrupt(what, `RLE+ version ${version} is not supported (expected 0)`);
  let value = r.get(1) === 1;
  const runs: Run[] = [];
  let total = 0;
  for (;;) {
    const start = r.position;
    let length: number;
    const first = r.get(1);
    const second = first === 1 ? 0 : r.get(1);
    if (first === 1) {
      length = 1;
    } else if (second === 1) {
      length = r.get(4);
    } else {
      length = readVarint(r, what);
    }
    if (length === 0) {
      // the end marker: everything from its first bit on must be zero padding
      if (!restZeroFrom(bytes, start)) {
        throw corrupt(what, `RLE+ has a zero-length run at bit ${start} followed by more data (trailing garbage)`);
      }
      break;
    }
    total += length;
    if (!Number.isSafeInteger(total)) throw corrupt(what, 'RLE+ runs add up to more than 2^53 bits');
    runs.push({ value, length });
    value = !value;
  }
  if (runs.length > 0 && !runs[runs.length - 1]!.value) runs.pop();
  return runs;
}

function restZeroFrom(bytes: Uint8Array, bit: number): boolean {
  const total = bytes.length * 8;
  for (let p = bit; p < total; p++) {
    if (((bytes[p >>> 3] ?? 0) >>> (p & 7)) & 1) return false;
  }
  return true;
}

function readVarint(r: BitReader, what: string): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; ; i++) {
    if (i === 8) throw corrupt(what, 'RLE+ run length varint is longer than 8 bytes');
    const b = r.get(8);
    if (b < 0x80) {
      if (b === 0 && i > 0) throw corrupt(what, 'RLE+ run length varint is not minimally encoded');
      value += b * scale;
      if (!Number.isSafeInteger(value)) throw corrupt(what, 'RLE+ run length exceeds 2^53');
      return value;
    }
    value += (b & 0x7f) * scale;
    scale *= 128;
  }
}

/** Number of set bits. */
export function countSet(runs: readonly Run[]): number {
  let n = 0;
  for (const r of runs) if (r.value) n += r.length;
  return n;
}

/** Index one past the last set bit (0 when empty). */
export function lastSetEnd(runs: readonly Run[]): number {
  let pos = 0;
  let end = 0;
  for (const r of runs) {
    pos += r.length;
    if (r.value) end = pos;
  }
  return end;
}
