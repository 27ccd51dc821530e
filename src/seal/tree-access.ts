/**
 * Reading a sealed sector's trees back for proofs: `p_aux`, and inclusion paths of tree_d,
 * tree_c and tree_r_last as the compact {@link MerklePath} wire form of vanilla proofs.
 *
 * The files and their layout are src/merkle's (tree-shape.ts, written by its TreeBuilder in PC2,
 * read by its TreeReader, which rebuilds tree_r_last's discarded rows from the sealed file);
 * this module only opens the three readers of a sector lazily and drops what the wire form
 * does not carry (hash kind, arities and positions follow from the sector's shape and the
 * challenged index, so the verifier derives them instead of trusting them).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CacheCorruptError, FileNotFoundError } from '../errors.js';
import type { InclusionProof } from '../merkle/inclusion-proof.js';
import { TreeReader } from '../merkle/tree-reader.js';
import { sealTreeShapes, type TreeShape } from '../merkle/tree-shape.js';
import type { SealProofInfo } from '../sector/proofs.js';
import { CacheFile } from '../sector/layout.js';
import type { MerklePath } from './vanilla-proof.js';

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

/** An inclusion proof in the vanilla-proof wire form. */
export function toMerklePath(proof: InclusionProof): MerklePath {
  return { leaf: proof.leaf, siblings: proof.levels.map((l) => l.siblings) };
}

/** Paths into one sector's trees; close when done. */
export interface SectorTrees {
  treeDPath(node: number): Promise<MerklePath>;
  treeCPath(node: number): Promise<MerklePath>;
  treeRLastPath(node: number): Promise<MerklePath>;
  close(): Promise<void>;
}

/**
 * Opens a sector's trees lazily: a finalized sector has no tree_d / tree_c, and asking for their
 * paths then fails with FileNotFoundError while tree_r_last paths still work.
 */
export async function openSectorTrees(info: SealProofInfo, cacheDir: string, sealedPath: string): Promise<SectorTrees> {
  const shapes = sealTreeShapes(info);
  const readers = new Map<TreeShape, TreeReader>();
  const reader = (shape: TreeShape) => {
    let r = readers.get(shape);
    if (!r) {
      r = new TreeReader(shape, cacheDir, sealedPath);
      readers.set(shape, r);
    }
    return r;
  };
  return {
    treeDPath: async (node) => toMerklePath(await reader(shapes.treeD).proof(node)),
    treeCPath: async (node) => toMerklePath(await reader(shapes.treeC).proof(node)),
    treeRLastPath: async (node) => toMerklePath(await reader(shapes.treeRLast).proof(node)),
    async close() {
      const all = [...readers.values()];
      readers.clear();
      await Promise.all(all.map((r) => r.close()));
    },
  };
}
