/**
 * Streaming builder of a sealing tree (tree_d, tree_c or tree_r_last) into its cache files.
 *
 * Leaves arrive in order in chunks of any multiple of 32 bytes ({@link TreeBuilder.push}). Each
 * chunk is hashed upwards as far as complete groups allow; the few nodes of an incomplete group
 * wait per level (fewer than `arity` each). Every stored row is written at its fixed offset in
 * the base tree's file, so the builder needs the caller's chunk plus about `chunk / (arity − 1)`
 * bytes of parents, never a whole tree: a 512 MiB sector streams with a 512 MiB or a 1 MiB chunk.
 *
 * Files are written under a temporary name, fsynced and renamed only by
 * {@link TreeBuilder.finish}; a failure (bad node, I/O error) removes them, so a cache directory
 * never holds a half-written tree under a real name.
 */
import { type FileHandle, open, rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { hashLayer } from '../../native/hash.js';
import { poseidonLayer } from '../../native/poseidon.js';
import { InvalidArgumentError } from '../errors.js';
import { renameDurable, tempPathFor } from '../fs/durable.js';
import { type TreeShape, baseTreeFileName, rowOffsets } from './tree-shape.js';

const NODE = 32;

/** Options of the tree builders. */
export interface TreeBuildOptions {
  /**
   * Native threads each Poseidon row may be split across (tree_c and tree_r_last; tree_d's
   * SHA-256 rows stay on the calling thread). Results do not depend on it.
   * @default os.availableParallelism()
   */
  threads?: number;
}

/** The thread count a builder uses: the option, or every core. */
export function buildThreads(options: TreeBuildOptions | undefined): number {
  const threads = options?.threads ?? availableParallelism();
  if (!Number.isSafeInteger(threads) || threads < 1) throw new InvalidArgumentError(`options.threads must be a positive integer (got ${threads})`);
  return threads;
}

/**
 * Hashes a row of complete groups: parents[i] = H(children[i·arity …]). Poseidon rows may use
 * `threads` native threads (default 1: proof reading hashes short rows).
 */
export function hashRow(shape: TreeShape, children: Uint8Array, parents: Uint8Array, arity: number, threads = 1): void {
  if (shape.kind === 'tree-d') {
    if (arity !== 2) throw new InvalidArgumentError(`tree_d is binary, not arity ${arity}`);
    hashLayer(children, parents);
  } else {
    poseidonLayer(children, parents, arity, { threads });
  }
}

/** Root above the base roots: the sub level, then the top level (rust-fil-proofs `storage-proofs-core/src/merkle/`). */
export function composeRoot(shape: TreeShape, baseRoots: Uint8Array): Uint8Array {
  let row = baseRoots;
  for (const arity of [shape.subArity, shape.topArity]) {
    if (arity === 0) continue;
    const parents = new Uint8Array(row.length / arity);
    hashRow(shape, row, parents, arity);
    row = parents;
  }
  if (row.length !== NODE) throw new InvalidArgumentError(`${baseRoots.length / NODE} base roots do not compose into one root`);
  return row;
}

async function writeAll(file: FileHandle, data: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await file.write(data, done, data.length - done, position + done);
    done += bytesWritten;
  }
}

/** Result of a finished build. */
export interface BuiltTree {
  /** Root of the whole tree (CommD, comm_c or comm_r_last). */
  root: Uint8Array;
  /** Roots of the base trees, concatenated in order (32 bytes each). */
  baseRoots: Uint8Array;
  /** Final paths of the files written (empty when built without a directory). */
  files: string[];
}

/** Builds one tree; create with {@link TreeBuilder.create}. */
export class TreeBuilder {
  readonly shape: TreeShape;
  readonly #dir: string | undefined;
  readonly #offsets: (number | undefined)[];
  readonly #baseRoots: Uint8Array;
  readonly #threads: number;
  readonly #files: { temp: string; final: string }[] = [];
  #handle: FileHandle | undefined;
  /** Nodes not yet hashed, per level of the current base tree (fewer than arity each). */
  #pending: Uint8Array[] = [];
  /** Nodes emitted so far per level of the current base tree. */
  #emitted: number[] = [];
  #leaves = 0;
  #failed = false;

  private constructor(shape: TreeShape, dir: string | undefined, threads: number) {
    this.shape = shape;
    this.#dir = dir;
    this.#threads = threads;
    this.#offsets = rowOffsets(shape);
    this.#baseRoots = new Uint8Array(shape.baseTrees * NODE);
  }

  /**
   * A builder writing the shape's files into `dir` (cache directory), or computing roots only
   * when `dir` is undefined.
   */
  static async create(shape: TreeShape, dir: string | undefined, options?: TreeBuildOptions): Promise<TreeBuilder> {
    const b = new TreeBuilder(shape, dir, buildThreads(options));
    await b.#startBaseTree(0);
    return b;
  }

  /** Leaves pushed so far. */
  get leaves(): number {
    return this.#leaves;
  }

  async #startBaseTree(index: number): Promise<void> {
    this.#pending = Array.from({ length: this.shape.baseLevels + 1 }, () => new Uint8Array(0));
    this.#emitted = new Array<number>(this.shape.baseLevels + 1).fill(0);
    if (this.#dir === undefined) return;
    const final = join(this.#dir, baseTreeFileName(this.shape, index));
    const temp = tempPathFor(final);
    this.#files.push({ temp, final });
    this.#handle = await open(temp, 'w');
  }

  async #endBaseTree(index: number): Promise<void> {
    const top = this.#pending[this.shape.baseLevels];
    if (!top || top.length !== NODE) throw new InvalidArgumentError(`base tree ${index} ended without a root`);
    this.#baseRoots.set(top, index * NODE);
    if (this.#handle) {
      await this.#handle.sync();
      await this.#handle.close();
      this.#handle = undefined;
    }
  }

  /** Emits `nodes` at `level` of the current base tree: store them, then hash complete groups. */
  async #emit(level: number, nodes: Uint8Array): Promise<void> {
    const offset = this.#offsets[level];
    if (offset !== undefined && this.#handle) await writeAll(this.#handle, nodes, offset + this.#emitted[level]! * NODE);
    this.#emitted[level]! += nodes.length / NODE;
    if (level === this.shape.baseLevels) {
      this.#pending[level] = nodes.slice();
      return;
    }
    const arity = this.shape.baseArity;
    const group = arity * NODE;
    let input = nodes;
    const waiting = this.#pending[level]!;
    if (waiting.length > 0) {
      input = new Uint8Array(waiting.length + nodes.length);
      input.set(waiting, 0);
      input.set(nodes, waiting.length);
    }
    const complete = input.length - (input.length % group);
    this.#pending[level] = input.slice(complete);
    if (complete === 0) return;
    const parents = new Uint8Array(complete / arity);
    hashRow(this.shape, input.subarray(0, complete), parents, arity, this.#threads);
    await this.#emit(level + 1, parents);
  }

  /** Adds the next leaves (any multiple of 32 bytes, in order). */
  async push(leaves: Uint8Array): Promise<void> {
    if (this.#failed) throw new InvalidArgumentError('tree builder already failed or finished');
    if (!(leaves instanceof Uint8Array) || leaves.length % NODE !== 0) {
      throw new InvalidArgumentError(`leaves must be a Uint8Array of a multiple of 32 bytes`);
    }
    const count = leaves.length / NODE;
    if (this.#leaves + count > this.shape.nodes) {
      throw new InvalidArgumentError(`${this.#leaves + count} leaves pushed, the tree has ${this.shape.nodes}`);
    }
    try {
      let at = 0;
      while (at < count) {
        const base = Math.floor(this.#leaves / this.shape.baseLeaves);
        const room = (base + 1) * this.shape.baseLeaves - this.#leaves;
        const take = Math.min(room, count - at);
        await this.#emit(0, leaves.subarray(at * NODE, (at + take) * NODE));
        this.#leaves += take;
        at += take;
        if (this.#leaves % this.shape.baseLeaves === 0) {
          await this.#endBaseTree(base);
          if (base + 1 < this.shape.baseTrees) await this.#startBaseTree(base + 1);
        }
      }
    } catch (err) {
      await this.abort();
      throw err;
    }
  }

  /** After every leaf: renames the files to their real names and returns the roots. */
  async finish(): Promise<BuiltTree> {
    if (this.#failed) throw new InvalidArgumentError('tree builder already failed or finished');
    if (this.#leaves !== this.shape.nodes) {
      await this.abort();
      throw new InvalidArgumentError(`tree has ${this.#leaves} of ${this.shape.nodes} leaves`);
    }
    this.#failed = true;
    const root = composeRoot(this.shape, this.#baseRoots);
    for (const f of this.#files) await renameDurable(f.temp, f.final);
    return { root, baseRoots: this.#baseRoots.slice(), files: this.#files.map((f) => f.final) };
  }

  /** Drops the partial build and its temporary files. */
  async abort(): Promise<void> {
    this.#failed = true;
    await this.#handle?.close().catch(() => undefined);
    this.#handle = undefined;
    await Promise.all(this.#files.map((f) => rm(f.temp, { force: true })));
  }
}

/**
 * Builds a whole tree from a source that reads leaves into a buffer (`read(firstNode, buf)`
 * fills `buf` with the leaves starting at `firstNode`), `chunkNodes` leaves at a time.
 */
export async function buildTree(
  shape: TreeShape,
  dir: string | undefined,
  read: (firstNode: number, buf: Uint8Array) => Promise<void> | void,
  chunkNodes = Math.min(shape.nodes, 1 << 15),
  options?: TreeBuildOptions,
): Promise<BuiltTree> {
  const builder = await TreeBuilder.create(shape, dir, options);
  const buf = new Uint8Array(chunkNodes * NODE);
  try {
    for (let first = 0; first < shape.nodes; first += chunkNodes) {
      const n = Math.min(chunkNodes, shape.nodes - first);
      const view = buf.subarray(0, n * NODE);
      await read(first, view);
      await builder.push(view);
    }
  } catch (err) {
    await builder.abort();
    throw err;
  }
  return builder.finish();
}
