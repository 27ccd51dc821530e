/**
 * A Merkle tree built from its leaves in chunks, written row by row into one file, with bounded
 * memory: PC2 feeds tree_d, tree_c and tree_r_last one chunk of nodes at a time, so a 512 MiB
 * (or 32 GiB) sector never has to be in memory.
 *
 * File layout (sealing-crypto.md §6; merkletree's DiskStore / LevelCacheStore): the stored rows
 * concatenated bottom-up, each row's nodes in order, 32 bytes per node. `storeFromLevel` = 0
 * stores every row including the leaves (tree_d, tree_c); tree_r_last stores only the rows from
 * `1 + rows_to_discard` up (its leaves are the sealed file, the discarded rows are rebuilt from
 * it when a proof needs them).
 *
 * Each chunk (a power-of-arity number of leaves, aligned) is hashed up inside the chunk as far
 * as it goes; the chunk roots are kept and hashed to the root at the end.
 */
import type { FileHandle } from 'node:fs/promises';
import { InvalidArgumentError } from '../errors.js';

/** Hashes one row: `parents[i] = H(children[i·arity … i·arity + arity − 1])`. */
export type RowHasher = (children: Uint8Array, parents: Uint8Array, arity: number) => void;

/** Options of {@link StreamTree}. */
export interface StreamTreeOptions {
  /** Number of leaves: a power of `arity`. */
  leaves: number;
  arity: number;
  hashRow: RowHasher;
  /** Where stored rows go; undefined computes the root only. */
  file?: FileHandle;
  /** Lowest stored level (0 = leaves). @default 0 */
  storeFromLevel?: number;
}

/** Number of levels above the leaves of a tree of `leaves` leaves (a power of `arity`). */
export function treeLevels(leaves: number, arity: number): number {
  let levels = 0;
  let n = leaves;
  while (n > 1) {
    if (n % arity !== 0) throw new InvalidArgumentError(`${leaves} leaves is not a power of arity ${arity}`);
    n /= arity;
    levels++;
  }
  return levels;
}

/** Byte offset of each level's row in a file storing levels `storeFrom..top` (undefined when not stored). */
export function rowOffsets(leaves: number, arity: number, storeFrom: number): (number | undefined)[] {
  const levels = treeLevels(leaves, arity);
  const out: (number | undefined)[] = [];
  let offset = 0;
  let size = leaves;
  for (let l = 0; l <= levels; l++) {
    if (l >= storeFrom) {
      out.push(offset);
      offset += size * 32;
    } else {
      out.push(undefined);
    }
    size /= arity;
  }
  return out;
}

/** Size in bytes of a stored tree file. */
export function storedTreeBytes(leaves: number, arity: number, storeFrom: number): number {
  let total = 0;
  let size = leaves;
  for (let l = 0; l <= treeLevels(leaves, arity); l++) {
    if (l >= storeFrom) total += size * 32;
    size /= arity;
  }
  return total;
}

export class StreamTree {
  readonly leaves: number;
  readonly arity: number;
  readonly #hashRow: RowHasher;
  readonly #file: FileHandle | undefined;
  readonly #offsets: (number | undefined)[];
  readonly #levels: number;
  #next = 0;
  #chunk = 0;
  #chunkLevel = 0;
  #tops: Uint8Array | undefined;

  constructor(options: StreamTreeOptions) {
    this.leaves = options.leaves;
    this.arity = options.arity;
    this.#hashRow = options.hashRow;
    this.#file = options.file;
    this.#levels = treeLevels(options.leaves, options.arity);
    this.#offsets = rowOffsets(options.leaves, options.arity, options.storeFromLevel ?? 0);
  }

  /** Number of leaves pushed so far. */
  get pushed(): number {
    return this.#next;
  }

  async #write(level: number, firstNode: number, nodes: Uint8Array): Promise<void> {
    const base = this.#offsets[level];
    if (this.#file === undefined || base === undefined) return;
    let done = 0;
    while (done < nodes.length) {
      const { bytesWritten } = await this.#file.write(nodes, done, nodes.length - done, base + firstNode * 32 + done);
      done += bytesWritten;
    }
  }

  /**
   * Adds the next consecutive leaves. Every chunk must have the size of the first one, a power
   * of the arity (or the whole tree).
   */
  async push(leaves: Uint8Array): Promise<void> {
    const count = leaves.length / 32;
    if (this.#chunk === 0) {
      this.#chunkLevel = treeLevels(count, this.arity);
      if (this.leaves % count !== 0) throw new InvalidArgumentError(`chunk of ${count} leaves does not divide ${this.leaves}`);
      this.#chunk = count;
      this.#tops = new Uint8Array((this.leaves / count) * 32);
    } else if (count !== this.#chunk) {
      throw new InvalidArgumentError(`chunk of ${count} leaves, expected ${this.#chunk}`);
    }
    if (this.#next + count > this.leaves) throw new InvalidArgumentError(`more than ${this.leaves} leaves pushed`);
    const chunkIndex = this.#next / count;
    await this.#write(0, this.#next, leaves);
    let row = leaves;
    let first = this.#next;
    for (let l = 1; l <= this.#chunkLevel; l++) {
      const parents = new Uint8Array(row.length / this.arity);
      this.#hashRow(row, parents, this.arity);
      first /= this.arity;
      await this.#write(l, first, parents);
      row = parents;
    }
    this.#tops!.set(row, chunkIndex * 32);
    this.#next += count;
  }

  /** Hashes the chunk roots up to the root (writing the top rows) and returns the root. */
  async finish(): Promise<Uint8Array> {
    if (this.#next !== this.leaves || !this.#tops) throw new InvalidArgumentError(`tree has ${this.#next} of ${this.leaves} leaves`);
    let row = this.#tops;
    for (let l = this.#chunkLevel + 1; l <= this.#levels; l++) {
      const parents = new Uint8Array(row.length / this.arity);
      this.#hashRow(row, parents, this.arity);
      await this.#write(l, 0, parents);
      row = parents;
    }
    return row.slice(0, 32);
  }
}
