/**
 * Inclusion proofs read from the stored tree files (the layout {@link TreeBuilder} writes, which
 * is upstream's). Only the groups on the path are read: one group of `arity` nodes per stored
 * level, plus the base roots (last node of each file) for the sub/top levels.
 *
 * tree_r_last files hold no leaves and no discarded rows. As upstream does, a proof re-derives
 * them from the sealed file: the `arity^storeFrom` replica nodes of the subtree holding the leaf
 * (512 nodes = 16 KiB for arity 8 and two discarded rows) are read and hashed up to the first
 * stored level.
 */
import { type FileHandle, open } from 'node:fs/promises';
import { join } from 'node:path';
import { CacheCorruptError, FileNotFoundError, InvalidArgumentError } from '../errors.js';
import { type InclusionProof, type ProofLevel, hashOfShape, siblingsOf } from './inclusion-proof.js';
import { composeRoot, hashRow } from './tree-builder.js';
import { type TreeShape, baseTreeFileName, baseTreeFileSize, rowOffsets } from './tree-shape.js';

const NODE = 32;

async function readExactly(file: FileHandle, position: number, length: number, what: string): Promise<Uint8Array> {
  const buf = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await file.read(buf, done, length - done, position + done);
    if (bytesRead === 0) throw new CacheCorruptError(`${what} is too short: cannot read ${length} bytes at offset ${position}`);
    done += bytesRead;
  }
  return buf;
}

async function openReadOnly(path: string): Promise<FileHandle> {
  try {
    return await open(path, 'r');
  } catch (err) {
    throw new FileNotFoundError(`cannot open ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** Reads proofs from one tree's files; {@link TreeReader.close} when done. */
export class TreeReader {
  readonly shape: TreeShape;
  readonly #dir: string;
  readonly #sealedPath: string | undefined;
  readonly #offsets: (number | undefined)[];
  readonly #handles = new Map<string, FileHandle>();
  #baseRoots: Uint8Array | undefined;

  /**
   * `dir` is the sector's cache directory; `sealedPath` (the sealed replica file) is needed
   * for tree_r_last, whose leaves live there.
   */
  constructor(shape: TreeShape, dir: string, sealedPath?: string) {
    if (shape.storeFrom > 0 && sealedPath === undefined) {
      throw new InvalidArgumentError(`${shape.kind} proofs need the sealed file (its leaves are not stored)`);
    }
    this.shape = shape;
    this.#dir = dir;
    this.#sealedPath = sealedPath;
    this.#offsets = rowOffsets(shape);
  }

  async #file(path: string): Promise<FileHandle> {
    let h = this.#handles.get(path);
    if (!h) {
      h = await openReadOnly(path);
      this.#handles.set(path, h);
    }
    return h;
  }

  #basePath(b: number): string {
    return join(this.#dir, baseTreeFileName(this.shape, b));
  }

  /** Roots of all base trees (the last node of each file), checked for file size. */
  async baseRoots(): Promise<Uint8Array> {
    if (this.#baseRoots) return this.#baseRoots;
    const size = baseTreeFileSize(this.shape);
    const roots = new Uint8Array(this.shape.baseTrees * NODE);
    for (let b = 0; b < this.shape.baseTrees; b++) {
      const path = this.#basePath(b);
      const file = await this.#file(path);
      const { size: actual } = await file.stat();
      if (actual !== size) throw new CacheCorruptError(`${path} is ${actual} bytes, expected ${size}`);
      roots.set(await readExactly(file, size - NODE, NODE, path), b * NODE);
    }
    this.#baseRoots = roots;
    return roots;
  }

  /** Root of the whole tree from the stored base roots. */
  async root(): Promise<Uint8Array> {
    return composeRoot(this.shape, await this.baseRoots());
  }

  /** Inclusion proof of leaf `leafIndex`. */
  async proof(leafIndex: number): Promise<InclusionProof> {
    const shape = this.shape;
    if (!Number.isSafeInteger(leafIndex) || leafIndex < 0 || leafIndex >= shape.nodes) {
      throw new RangeError(`leafIndex ${leafIndex} is outside the tree (0 … ${shape.nodes - 1})`);
    }
    const arity = shape.baseArity;
    const b = Math.floor(leafIndex / shape.baseLeaves);
    let local = leafIndex % shape.baseLeaves;
    const path = this.#basePath(b);
    const file = await this.#file(path);
    const levels: ProofLevel[] = [];
    let leaf: Uint8Array;

    if (shape.storeFrom === 0) {
      leaf = await readExactly(file, local * NODE, NODE, path);
    } else {
      // re-derive the discarded rows from the sealed file's nodes of this subtree
      const sealed = await this.#file(this.#sealedPath!);
      const span = arity ** shape.storeFrom;
      const first = leafIndex - (leafIndex % span);
      let row = await readExactly(sealed, first * NODE, span * NODE, this.#sealedPath!);
      let idx = leafIndex - first;
      leaf = row.slice(idx * NODE, idx * NODE + NODE);
      for (let level = 0; level < shape.storeFrom; level++) {
        const start = idx - (idx % arity);
        levels.push({ arity, position: idx % arity, siblings: siblingsOf(row.subarray(start * NODE, (start + arity) * NODE), idx % arity) });
        const parents = new Uint8Array(row.length / arity);
        hashRow(shape, row, parents, arity);
        row = parents;
        idx = Math.floor(idx / arity);
      }
      local = Math.floor(local / span);
    }

    for (let level = shape.storeFrom; level < shape.baseLevels; level++) {
      const start = local - (local % arity);
      const group = await readExactly(file, this.#offsets[level]! + start * NODE, arity * NODE, path);
      levels.push({ arity, position: local % arity, siblings: siblingsOf(group, local % arity) });
      local = Math.floor(local / arity);
    }

    if (shape.baseTrees > 1) {
      let row = await this.baseRoots();
      let idx = b;
      for (const a of [shape.subArity, shape.topArity]) {
        if (a === 0) continue;
        const start = idx - (idx % a);
        levels.push({ arity: a, position: idx % a, siblings: siblingsOf(row.subarray(start * NODE, (start + a) * NODE), idx % a) });
        const parents = new Uint8Array(row.length / a);
        hashRow(shape, row, parents, a);
        row = parents;
        idx = Math.floor(idx / a);
      }
    }
    return { hash: hashOfShape(shape), leafIndex, leaf, levels };
  }

  async close(): Promise<void> {
    const handles = [...this.#handles.values()];
    this.#handles.clear();
    await Promise.all(handles.map((h) => h.close()));
  }
}

/** Opens, proves one leaf, closes: convenience for single proofs. */
export async function readInclusionProof(shape: TreeShape, dir: string, leafIndex: number, sealedPath?: string): Promise<InclusionProof> {
  const reader = new TreeReader(shape, dir, sealedPath);
  try {
    return await reader.proof(leafIndex);
  } finally {
    await reader.close();
  }
}
