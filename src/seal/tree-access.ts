/**
 * Reading a sealed sector's trees back: the names and shapes of the tree files of a sector
 * (sealing-crypto.md §6), `p_aux`, and inclusion paths ({@link MerklePath}) for tree_d, tree_c
 * and tree_r_last read from the files PC2 wrote (stream-tree.ts layout).
 *
 * tree_r_last stores no leaves and discards the lowest rows: a path's lower part is rebuilt from
 * the sealed file (the `arity^(1 + rows_to_discard)` replica nodes around the challenge, 16 KiB
 * for a 32 GiB sector), the upper part is read from the file. Split trees (32/64 GiB) keep one
 * file per base tree; the sub/top levels are hashed from the base trees' roots.
 */
import { type FileHandle, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hashLayer } from '../../native/hash.js';
import { poseidonHash, poseidonLayer } from '../../native/poseidon.js';
import { CacheCorruptError, FileNotFoundError } from '../errors.js';
import type { SealProofInfo } from '../sector/proofs.js';
import { CacheFile } from '../storage/layout.js';
import { rowOffsets, treeLevels } from './stream-tree.js';
import type { MerklePath } from './vanilla-proof.js';

/** Shape of a sector's Poseidon trees (tree_c and tree_r_last). */
export interface PoseidonTreeLayout {
  /** Number of base trees (= files). */
  baseTrees: number;
  /** Leaves per base tree (a power of 8). */
  baseLeaves: number;
  baseArity: number;
  /** Arity of the sub-tree level, 0 for none. */
  sub: number;
  /** Arity of the top level, 0 for none. */
  top: number;
  /** rows_to_discard of tree_r_last's base trees. */
  rowsToDiscard: number;
}

/** rust-fil-proofs `default_rows_to_discard` (default setting 2). */
export function defaultRowsToDiscard(leaves: number, arity: number): number {
  const rowCount = treeLevels(leaves, arity) + 1;
  if (rowCount <= 2) return 0;
  if (rowCount === 3) return 1;
  const max = rowCount - 2;
  return Math.min(max, arity === 2 ? 7 : arity === 4 ? 5 : 2);
}

/** The tree shape of a seal proof. */
export function poseidonTreeLayout(info: SealProofInfo): PoseidonTreeLayout {
  const [base, sub, top] = info.shape;
  const baseTrees = Math.max(1, sub) * Math.max(1, top);
  const baseLeaves = info.nodes / baseTrees;
  return { baseTrees, baseLeaves, baseArity: base, sub, top, rowsToDiscard: defaultRowsToDiscard(baseLeaves, base) };
}

/** File names of tree_c (one per base tree). */
export function treeCFiles(layout: PoseidonTreeLayout): string[] {
  return layout.baseTrees === 1 ? [CacheFile.treeC(undefined)] : Array.from({ length: layout.baseTrees }, (_, i) => CacheFile.treeC(i));
}

/** File names of tree_r_last (one per base tree). */
export function treeRLastFileNames(layout: PoseidonTreeLayout): string[] {
  return layout.baseTrees === 1
    ? [CacheFile.treeRLast(undefined)]
    : Array.from({ length: layout.baseTrees }, (_, i) => CacheFile.treeRLast(i));
}

/** Combines base tree roots through the sub and top levels into the tree's root. */
export function combineBaseRoots(layout: PoseidonTreeLayout, roots: readonly Uint8Array[]): Uint8Array {
  let row = roots.slice();
  for (const arity of [layout.sub, layout.top]) {
    if (arity === 0) continue;
    const next: Uint8Array[] = [];
    for (let i = 0; i < row.length; i += arity) {
      const cat = new Uint8Array(arity * 32);
      for (let j = 0; j < arity; j++) cat.set(row[i + j]!, j * 32);
      next.push(poseidonHash(cat));
    }
    row = next;
  }
  if (row.length !== 1) throw new CacheCorruptError(`${roots.length} base roots do not combine into one root`);
  return row[0]!;
}

/** Reads `p_aux`: comm_c then comm_r_last (64 bytes). */
export async function readPAux(cacheDir: string): Promise<{ commC: Uint8Array; commRLast: Uint8Array }> {
  const path = join(cacheDir, CacheFile.pAux);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new FileNotFoundError(`cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (bytes.length !== 64) throw new CacheCorruptError(`${path} is ${bytes.length} bytes, expected 64`);
  return { commC: new Uint8Array(bytes.subarray(0, 32)), commRLast: new Uint8Array(bytes.subarray(32, 64)) };
}

async function readAt(file: FileHandle, position: number, length: number, what: string): Promise<Uint8Array> {
  const buf = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await file.read(buf, done, length - done, position + done);
    if (bytesRead === 0) throw new CacheCorruptError(`${what} is too short (reading ${length} bytes at ${position})`);
    done += bytesRead;
  }
  return buf;
}

function without(group: Uint8Array, pos: number): Uint8Array {
  const out = new Uint8Array(group.length - 32);
  out.set(group.subarray(0, pos * 32), 0);
  out.set(group.subarray((pos + 1) * 32), pos * 32);
  return out;
}

async function openFile(path: string): Promise<FileHandle> {
  try {
    return await open(path, 'r');
  } catch (err) {
    throw new FileNotFoundError(`cannot open ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** Paths into one sector's trees; close when done. */
export interface SectorTrees {
  treeDPath(node: number): Promise<MerklePath>;
  treeCPath(node: number): Promise<MerklePath>;
  treeRLastPath(node: number): Promise<MerklePath>;
  close(): Promise<void>;
}

/**
 * Opens a sector's tree files lazily (a finalized sector has no tree_d / tree_c; asking for
 * their paths then fails with FileNotFoundError).
 */
export async function openSectorTrees(info: SealProofInfo, cacheDir: string, sealedPath: string): Promise<SectorTrees> {
  const layout = poseidonTreeLayout(info);
  const handles = new Map<string, FileHandle>();
  const get = async (path: string) => {
    let h = handles.get(path);
    if (!h) {
      h = await openFile(path);
      handles.set(path, h);
    }
    return h;
  };
  const baseRoots = new Map<string, Uint8Array[]>();

  /** Siblings from stored rows of one base tree, levels [from, levels). */
  async function storedSiblings(file: FileHandle, name: string, leaves: number, arity: number, storeFrom: number, node: number) {
    const offsets = rowOffsets(leaves, arity, storeFrom);
    const levels = treeLevels(leaves, arity);
    const sibs: Uint8Array[] = [];
    let idx = Math.floor(node / arity ** storeFrom);
    for (let l = storeFrom; l < levels; l++) {
      const groupStart = idx - (idx % arity);
      const group = await readAt(file, offsets[l]! + groupStart * 32, arity * 32, name);
      sibs.push(without(group, idx % arity));
      idx = Math.floor(idx / arity);
    }
    return sibs;
  }

  async function rootsOf(names: string[], leaves: number, arity: number, storeFrom: number): Promise<Uint8Array[]> {
    const key = names.join(',');
    let roots = baseRoots.get(key);
    if (!roots) {
      const offsets = rowOffsets(leaves, arity, storeFrom);
      const top = offsets[offsets.length - 1]!;
      roots = [];
      for (const n of names) roots.push(await readAt(await get(join(cacheDir, n)), top, 32, n));
      baseRoots.set(key, roots);
    }
    return roots;
  }

  /** Siblings of the sub/top levels for base tree `b`. */
  async function upperSiblings(names: string[], b: number, storeFrom: number): Promise<Uint8Array[]> {
    if (layout.baseTrees === 1) return [];
    const roots = await rootsOf(names, layout.baseLeaves, layout.baseArity, storeFrom);
    const sibs: Uint8Array[] = [];
    let row = roots;
    let idx = b;
    for (const arity of [layout.sub, layout.top]) {
      if (arity === 0) continue;
      const start = idx - (idx % arity);
      const group = new Uint8Array(arity * 32);
      for (let j = 0; j < arity; j++) group.set(row[start + j]!, j * 32);
      sibs.push(without(group, idx % arity));
      const next: Uint8Array[] = [];
      for (let i = 0; i < row.length; i += arity) {
        const cat = new Uint8Array(arity * 32);
        for (let j = 0; j < arity; j++) cat.set(row[i + j]!, j * 32);
        next.push(poseidonHash(cat));
      }
      row = next;
      idx = Math.floor(idx / arity);
    }
    return sibs;
  }

  async function poseidonPath(names: string[], node: number, storeFrom: number, leafSource: 'file' | 'sealed'): Promise<MerklePath> {
    if (!Number.isInteger(node) || node < 0 || node >= info.nodes) throw new RangeError(`node ${node} is outside the sector`);
    const b = Math.floor(node / layout.baseLeaves);
    const local = node % layout.baseLeaves;
    const name = names[b]!;
    const file = await get(join(cacheDir, name));
    const arity = layout.baseArity;
    const siblings: Uint8Array[] = [];
    let leaf: Uint8Array;
    if (leafSource === 'file') {
      leaf = await readAt(file, local * 32, 32, name);
    } else {
      // rebuild the discarded rows from the replica nodes of this subtree
      const span = arity ** storeFrom;
      const first = node - (node % span);
      let row = await readAt(await get(sealedPath), first * 32, span * 32, 'sealed file');
      leaf = row.slice((node - first) * 32, (node - first + 1) * 32);
      let idx = node - first;
      for (let l = 0; l < storeFrom; l++) {
        const start = idx - (idx % arity);
        siblings.push(without(row.subarray(start * 32, (start + arity) * 32), idx % arity));
        const parents = new Uint8Array(row.length / arity);
        poseidonLayer(row, parents, arity);
        row = parents;
        idx = Math.floor(idx / arity);
      }
    }
    const from = leafSource === 'file' ? 0 : storeFrom;
    siblings.push(...(await storedSiblings(file, name, layout.baseLeaves, arity, from, local)));
    siblings.push(...(await upperSiblings(names, b, from)));
    return { leaf, siblings };
  }

  return {
    async treeDPath(node) {
      if (!Number.isInteger(node) || node < 0 || node >= info.nodes) throw new RangeError(`node ${node} is outside the sector`);
      const file = await get(join(cacheDir, CacheFile.treeD));
      const leaf = await readAt(file, node * 32, 32, CacheFile.treeD);
      return { leaf, siblings: await storedSiblings(file, CacheFile.treeD, info.nodes, 2, 0, node) };
    },
    treeCPath: (node) => poseidonPath(treeCFiles(layout), node, 0, 'file'),
    treeRLastPath: (node) => poseidonPath(treeRLastFileNames(layout), node, 1 + layout.rowsToDiscard, 'sealed'),
    async close() {
      await Promise.all([...handles.values()].map((h) => h.close()));
      handles.clear();
    },
  };
}

/** Root of tree_d of `leaves` nodes from its file: the last node. Exposed for checks. */
export function treeDRootOffset(nodes: number): number {
  const offsets = rowOffsets(nodes, 2, 0);
  return offsets[offsets.length - 1]!;
}

/** SHA row hasher for {@link StreamTree}: binary, trunc254(SHA-256(left ‖ right)). */
export function shaRowHasher(children: Uint8Array, parents: Uint8Array): void {
  hashLayer(children, parents);
}
