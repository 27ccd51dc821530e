/**
 * The CARv2 `MultihashIndexSorted` index (codec 0x0401) as go-car v2 writes it
 * (`v2/index/mhindexsorted.go`, `indexsorted.go`, `index.go` WriteTo), byte for byte:
 *
 *   uvarint codec 0x0401
 *   int32le  number of multihash codes, then per code (ascending):
 *     uint64le code
 *     int32le  number of digest widths, then per width (ascending):
 *       uint32le width (digest length + 8)
 *       int64le  byte length of the entries
 *       entries  digest ‖ uint64le section offset, sorted by digest
 *
 * Offsets are those of the block sections in the CARv1 payload. As go-car's `LoadIndex`
 * (without `StoreIdentityCIDs`), blocks with identity CIDs are not indexed; they carry their
 * bytes in the CID. Entries with equal digests (a block stored twice) are kept, by offset.
 */
import { IndexCorruptError } from '../errors.js';

export const MULTIHASH_INDEX_SORTED_CODEC = 0x0401;
const CODEC_PREFIX = Uint8Array.from([0x81, 0x08]); // uvarint 0x0401

/** One indexed block: its multihash code and digest, and its section offset in the CARv1 payload. */
export interface IndexRecord {
  code: number;
  digest: Uint8Array;
  offset: number;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}

/** code → width → sorted entries (digest ‖ offset). */
type Buckets = Map<number, Map<number, Uint8Array>>;

export class MultihashIndexSorted {
  readonly #buckets: Buckets;

  private constructor(buckets: Buckets) {
    this.#buckets = buckets;
  }

  /** The index of these records (identity digests are skipped, as go-car does). */
  static fromRecords(records: Iterable<IndexRecord>): MultihashIndexSorted {
    const grouped = new Map<number, Map<number, IndexRecord[]>>();
    for (const r of records) {
      if (r.code === 0x00) continue;
      const byWidth = grouped.get(r.code) ?? new Map<number, IndexRecord[]>();
      grouped.set(r.code, byWidth);
      const width = r.digest.length + 8;
      const list = byWidth.get(width) ?? [];
      byWidth.set(width, list);
      list.push(r);
    }
    const buckets: Buckets = new Map();
    for (const [code, byWidth] of grouped) {
      const widths = new Map<number, Uint8Array>();
      for (const [width, list] of byWidth) {
        list.sort((a, b) => compareBytes(a.digest, b.digest) || a.offset - b.offset);
        const bytes = new Uint8Array(width * list.length);
        const view = new DataView(bytes.buffer);
        list.forEach((r, i) => {
          bytes.set(r.digest, i * width);
          view.setBigUint64(i * width + width - 8, BigInt(r.offset), true);
        });
        widths.set(width, bytes);
      }
      buckets.set(code, widths);
    }
    return new MultihashIndexSorted(buckets);
  }

  /**
   * Parses an index file's bytes (codec prefix included).
   * @throws IndexCorruptError naming what is wrong
   */
  static unmarshal(bytes: Uint8Array, what = 'index'): MultihashIndexSorted {
    const bad = (why: string) => new IndexCorruptError(`${what} is not a CARv2 MultihashIndexSorted index: ${why}`);
    if (bytes.length < 6 || bytes[0] !== CODEC_PREFIX[0] || bytes[1] !== CODEC_PREFIX[1]) throw bad('it does not start with codec 0x0401');
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let pos = 2;
    const need = (n: number) => {
      if (pos + n > bytes.length) throw bad(`it ends at byte ${bytes.length}, inside a field at ${pos}`);
    };
    need(4);
    const codes = view.getInt32(pos, true);
    pos += 4;
    if (codes < 0) throw bad(`negative code count ${codes}`);
    const buckets: Buckets = new Map();
    let lastCode = -1;
    for (let c = 0; c < codes; c++) {
      need(12);
      const code = Number(view.getBigUint64(pos, true));
      const widthCount = view.getInt32(pos + 8, true);
      pos += 12;
      if (code <= lastCode) throw bad('multihash codes are not in ascending order');
      lastCode = code;
      const widths = new Map<number, Uint8Array>();
      let lastWidth = -1;
      for (let w = 0; w < widthCount; w++) {
        need(12);
        const width = view.getUint32(pos, true);
        const length = Number(view.getBigInt64(pos + 4, true));
        pos += 12;
        if (width <= 8 || width <= lastWidth || length < 0 || length % width !== 0) throw bad(`bucket of width ${width} holds ${length} bytes`);
        lastWidth = width;
        need(length);
        const entries = bytes.slice(pos, pos + length);
        pos += length;
        for (let i = width; i < entries.length; i += width) {
          if (compareBytes(entries.subarray(i - width, i - 8), entries.subarray(i, i + width - 8)) > 0) throw bad('entries are not sorted by digest');
        }
        widths.set(width, entries);
      }
      buckets.set(code, widths);
    }
    if (pos !== bytes.length) throw bad(`${bytes.length - pos} bytes follow its last bucket`);
    return new MultihashIndexSorted(buckets);
  }

  /** The index file's bytes (codec prefix included), as go-car's `index.WriteTo`. */
  marshal(): Uint8Array {
    const parts: Uint8Array[] = [CODEC_PREFIX];
    const u32 = (n: number, signed = false) => {
      const b = new Uint8Array(4);
      if (signed) new DataView(b.buffer).setInt32(0, n, true);
      else new DataView(b.buffer).setUint32(0, n, true);
      return b;
    };
    const u64 = (n: number) => {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
      return b;
    };
    parts.push(u32(this.#buckets.size, true));
    for (const code of [...this.#buckets.keys()].sort((a, b) => a - b)) {
      const widths = this.#buckets.get(code)!;
      parts.push(u64(code), u32(widths.size, true));
      for (const width of [...widths.keys()].sort((a, b) => a - b)) {
        const entries = widths.get(width)!;
        parts.push(u32(width), u64(entries.length), entries);
      }
    }
    return Buffer.concat(parts);
  }

  /** Section offsets of the blocks with this multihash (code and digest), in offset order. */
  find(code: number, digest: Uint8Array): number[] {
    const entries = this.#buckets.get(code)?.get(digest.length + 8);
    if (!entries) return [];
    const width = digest.length + 8;
    const n = entries.length / width;
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareBytes(entries.subarray(mid * width, mid * width + digest.length), digest) < 0) lo = mid + 1;
      else hi = mid;
    }
    const out: number[] = [];
    const view = new DataView(entries.buffer, entries.byteOffset, entries.byteLength);
    for (let i = lo; i < n && compareBytes(entries.subarray(i * width, i * width + digest.length), digest) === 0; i++) {
      out.push(Number(view.getBigUint64(i * width + digest.length, true)));
    }
    return out;
  }

  /** Every record, by code, width and digest order. */
  *records(): Generator<IndexRecord> {
    for (const [code, widths] of this.#buckets) {
      for (const [width, entries] of widths) {
        const view = new DataView(entries.buffer, entries.byteOffset, entries.byteLength);
        for (let i = 0; i < entries.length; i += width) {
          yield { code, digest: entries.slice(i, i + width - 8), offset: Number(view.getBigUint64(i + width - 8, true)) };
        }
      }
    }
  }

  /** The section offsets of every record, ascending (a block held twice: its offset once). */
  offsets(): Float64Array {
    const all: number[] = [];
    for (const r of this.records()) all.push(r.offset);
    const sorted = Float64Array.from(all).sort();
    let n = 0;
    for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[n - 1]) sorted[n++] = sorted[i]!;
    return sorted.subarray(0, n);
  }

  /** Number of indexed blocks. */
  get size(): number {
    let n = 0;
    for (const widths of this.#buckets.values()) for (const [width, entries] of widths) n += entries.length / width;
    return n;
  }
}
