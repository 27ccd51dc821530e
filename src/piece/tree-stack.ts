/**
 * Incremental root of a binary SHA-256 (trunc254) tree from subtree roots given left to right:
 * a stack of (size, root) in strictly decreasing sizes, where two equal neighbours merge into
 * their parent. Used by streaming commP (one root per chunk), by AddPiece and by CommD over a
 * list of pieces (compute_comm_d). Memory is one node per tree level.
 */
import { hashPair } from '../../native/hash.js';
import { zeroSubtreeRoot } from './zero-comm.js';

export class SubtreeStack {
  readonly #sizes: number[] = [];
  readonly #roots: Uint8Array[] = [];
  #total = 0;

  /** Padded bytes covered so far. */
  get total(): number {
    return this.#total;
  }

  /**
   * Appends a subtree of `size` padded bytes (a power of two ≥ 32). It must start at a multiple
   * of its own size, which is what keeps the tree well formed.
   */
  push(size: number, root: Uint8Array): void {
    if (this.#total % size !== 0) {
      throw new RangeError(`subtree of ${size} bytes at offset ${this.#total} is not aligned to its size`);
    }
    this.#sizes.push(size);
    this.#roots.push(root);
    this.#total += size;
    this.#reduce();
  }

  /** Appends `size` bytes of zeros (a power of two, aligned), using the zero table. */
  pushZeros(size: number): void {
    this.push(size, zeroSubtreeRoot(size));
  }

  /**
   * Appends zero subtrees until the tree covers exactly `target` bytes (a power of two ≥ the
   * total) and returns its root. With nothing pushed, the root of `target` zero bytes.
   */
  fillTo(target: number): Uint8Array {
    if (target < this.#total) throw new RangeError(`tree of ${this.#total} bytes does not fit in ${target}`);
    if (this.#sizes.length === 0) return zeroSubtreeRoot(target);
    while (!(this.#sizes.length === 1 && this.#sizes[0] === target)) {
      this.pushZeros(this.#sizes[this.#sizes.length - 1]!);
    }
    return this.#roots[0]!;
  }

  #reduce(): void {
    let n = this.#sizes.length;
    while (n >= 2 && this.#sizes[n - 1] === this.#sizes[n - 2]) {
      const right = this.#roots.pop()!;
      const left = this.#roots.pop()!;
      const size = this.#sizes.pop()!;
      this.#sizes.pop();
      this.#sizes.push(size * 2);
      this.#roots.push(hashPair(left, right));
      n--;
    }
  }
}
