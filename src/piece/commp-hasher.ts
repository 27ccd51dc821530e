/**
 * The streaming piece-commitment engine shared by commP and AddPiece. Bytes are gathered into
 * chunks of 127·2^k unpadded bytes; each chunk is fr32-padded and hashed to its subtree root in
 * one native pass (`commPChunk`), and the roots are combined on a {@link SubtreeStack}. The tail
 * (less than a chunk) is zero-filled to a multiple of 127 and cut into power-of-two groups of
 * 127-byte blocks, largest first, so every subtree stays aligned; the rest of the piece is zero
 * subtrees from the zero table (go-commp-utils `zerocomm`, rust-fil-proofs `fr32`/`commitment`). Memory: two padded chunk buffers.
 *
 * An optional async `sink` receives each padded chunk with its padded offset (AddPiece writes it
 * to disk); the next chunk is hashed while the previous write is in flight (double buffering).
 */
import { commPChunk } from '../../native/hash.js';
import { SubtreeStack } from './tree-stack.js';

/** Default chunk: 127·2^13 unpadded bytes = 1 MiB padded. */
export const DEFAULT_CHUNK_BLOCKS = 2 ** 13;

export type PaddedSink = (padded: Uint8Array, paddedOffset: number) => Promise<void>;

export class CommPHasher {
  readonly #chunk: number;
  readonly #buf: Uint8Array;
  readonly #padded: [Uint8Array, Uint8Array];
  readonly #stack = new SubtreeStack();
  readonly #sink: PaddedSink | undefined;
  #fill = 0;
  #count = 0;
  #which = 0;
  #pending: Promise<void> | undefined;

  /** @param chunkBlocks number of 127-byte blocks per chunk (a power of two) */
  constructor(options: { sink?: PaddedSink; chunkBlocks?: number } = {}) {
    const blocks = options.chunkBlocks ?? DEFAULT_CHUNK_BLOCKS;
    if (!Number.isInteger(Math.log2(blocks)) || blocks < 1) throw new RangeError(`chunkBlocks ${blocks} must be a power of two`);
    this.#chunk = 127 * blocks;
    this.#buf = new Uint8Array(this.#chunk);
    this.#padded = [new Uint8Array(128 * blocks), new Uint8Array(128 * blocks)];
    this.#sink = options.sink;
  }

  /** Unpadded bytes written so far. */
  get count(): number {
    return this.#count;
  }

  /** Padded bytes covered by the tree so far (after `finish`, the whole target). */
  get paddedDone(): number {
    return this.#stack.total;
  }

  /** Consumes `data`; it is not retained after the returned promise settles. */
  async write(data: Uint8Array): Promise<void> {
    let pos = 0;
    this.#count += data.length;
    if (this.#fill > 0) {
      const take = Math.min(this.#chunk - this.#fill, data.length);
      this.#buf.set(data.subarray(0, take), this.#fill);
      this.#fill += take;
      pos = take;
      if (this.#fill < this.#chunk) return;
      await this.#processChunk(this.#buf);
      this.#fill = 0;
    }
    // whole chunks straight from the caller's memory, no copy
    while (data.length - pos >= this.#chunk) {
      await this.#processChunk(data.subarray(pos, pos + this.#chunk));
      pos += this.#chunk;
    }
    if (pos < data.length) {
      this.#buf.set(data.subarray(pos), 0);
      this.#fill = data.length - pos;
    }
  }

  /**
   * Hashes the buffered tail and completes the tree to `targetPadded` bytes (a power of two
   * large enough for what was written) with zero subtrees. Returns the root; the sink has
   * received every padded byte of the data (not the zero fill beyond it).
   */
  async finish(targetPadded: number): Promise<Uint8Array> {
    if (this.#fill > 0) {
      const blocks = Math.ceil(this.#fill / 127);
      this.#buf.fill(0, this.#fill, blocks * 127);
      await this.#pending;
      this.#pending = undefined;
      const out = this.#padded[this.#which]!;
      const writes: Promise<void>[] = [];
      let block = 0;
      // descending powers of two keep each group aligned after the whole chunks before it
      for (let bit = 2 ** Math.floor(Math.log2(blocks)); bit >= 1; bit /= 2) {
        if (blocks - block < bit) continue;
        const unpadded = this.#buf.subarray(block * 127, (block + bit) * 127);
        const padded = out.subarray(block * 128, (block + bit) * 128);
        const root = commPChunk(unpadded, padded);
        const offset = this.#stack.total;
        this.#stack.push(bit * 128, root);
        if (this.#sink) writes.push(this.#sink(padded, offset));
        block += bit;
      }
      await Promise.all(writes);
      this.#fill = 0;
    }
    await this.#pending;
    this.#pending = undefined;
    return this.#stack.fillTo(targetPadded);
  }

  async #processChunk(unpadded: Uint8Array): Promise<void> {
    const padded = this.#padded[this.#which]!;
    const root = commPChunk(unpadded, padded);
    const offset = this.#stack.total;
    this.#stack.push(padded.length, root);
    if (!this.#sink) return;
    // the write of the chunk before this one used the other buffer; wait for it, then hand over
    await this.#pending;
    const write = this.#sink(padded, offset);
    // a failed write is reported when awaited; never as an unhandled rejection meanwhile
    write.catch(() => {});
    this.#pending = write;
    this.#which ^= 1;
  }

  /** Waits for any write in flight, ignoring its outcome (cleanup after an error). */
  async settle(): Promise<void> {
    await this.#pending?.catch(() => {});
    this.#pending = undefined;
  }
}
