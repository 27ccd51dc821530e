/**
 * The three sealing trees of a sector built from the files PC1/PC2 work with, streaming in
 * chunks (rust-fil-proofs `storage-proofs-core/src/merkle/`):
 *
 * - tree_d over the fr32-padded unsealed data (root = CommD);
 * - tree_c over the column hashes of the layer files (root = comm_c);
 * - tree_r_last over the sealed file's replica nodes (root = comm_r_last);
 *
 * and `comm_r = Poseidon2(comm_c, comm_r_last)`. Memory: one chunk per input file plus the
 * builder's parents, whatever the sector size.
 */
import { type FileHandle, open } from 'node:fs/promises';
import { columnHashes, poseidonHash } from '../../native/poseidon.js';
import { CacheCorruptError, FileNotFoundError, InvalidArgumentError } from '../errors.js';
import { type BuiltTree, buildThreads, buildTree, type TreeBuildOptions } from './tree-builder.js';
import { type TreeShape, poseidonTreeShape, treeDShape } from './tree-shape.js';

const NODE = 32;
/** Default leaves per chunk: 1 MiB of nodes per input. */
export const DEFAULT_CHUNK_NODES = 1 << 15;

/** comm_r = Poseidon2(comm_c, comm_r_last). */
export function commR(commC: Uint8Array, commRLast: Uint8Array): Uint8Array {
  if (commC.length !== NODE || commRLast.length !== NODE) throw new InvalidArgumentError('commC and commRLast must be 32 bytes');
  const both = new Uint8Array(2 * NODE);
  both.set(commC, 0);
  both.set(commRLast, NODE);
  return poseidonHash(both);
}

async function openInput(path: string): Promise<FileHandle> {
  try {
    return await open(path, 'r');
  } catch (err) {
    throw new FileNotFoundError(`cannot open ${path}: ${(err as Error).message}`, { cause: err });
  }
}

async function readFull(file: FileHandle, path: string, position: number, buf: Uint8Array): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesRead } = await file.read(buf, done, buf.length - done, position + done);
    if (bytesRead === 0) throw new CacheCorruptError(`${path} ends before byte ${position + buf.length}`);
    done += bytesRead;
  }
}

async function checkSize(file: FileHandle, path: string, nodes: number): Promise<void> {
  const { size } = await file.stat();
  if (size !== nodes * NODE) throw new CacheCorruptError(`${path} is ${size} bytes, expected ${nodes * NODE}`);
}

/** Builds a tree whose leaves are the nodes of one file (tree_d over data, tree_r_last over the replica). */
async function treeOverFile(
  shape: TreeShape,
  dir: string | undefined,
  path: string,
  chunkNodes: number,
  options: TreeBuildOptions | undefined,
): Promise<BuiltTree> {
  const file = await openInput(path);
  try {
    await checkSize(file, path, shape.nodes);
    return await buildTree(shape, dir, (first, buf) => readFull(file, path, first * NODE, buf), Math.min(chunkNodes, shape.nodes), options);
  } finally {
    await file.close();
  }
}

/** tree_d (`sc-02-data-tree-d.dat`) over a padded data file of `nodes` nodes; root = CommD. */
export function buildTreeD(nodes: number, dir: string | undefined, dataPath: string, chunkNodes = DEFAULT_CHUNK_NODES): Promise<BuiltTree> {
  return treeOverFile(treeDShape(nodes), dir, dataPath, chunkNodes, undefined);
}

/**
 * tree_r_last over the sealed file (the leaves are not stored; the files keep only rows above
 * the discarded ones). `shape` defaults to the sector size's (base, sub, top); `options.threads`
 * (default: every core) splits the Poseidon rows across native threads.
 */
export function buildTreeRLast(
  nodes: number,
  dir: string | undefined,
  sealedPath: string,
  shape?: readonly [number, number, number],
  chunkNodes = DEFAULT_CHUNK_NODES,
  options?: TreeBuildOptions,
): Promise<BuiltTree> {
  return treeOverFile(poseidonTreeShape('tree-r-last', nodes, shape), dir, sealedPath, chunkNodes, options);
}

/**
 * tree_c over the column hashes of the layer files (layer 1 first): leaf v =
 * Poseidon_layers(L_1[v], …, L_layers[v]). All rows are stored. `options.threads` (default:
 * every core) splits the column hashes and the Poseidon rows across native threads.
 */
export async function buildTreeC(
  nodes: number,
  dir: string | undefined,
  layerPaths: readonly string[],
  shape?: readonly [number, number, number],
  chunkNodes = DEFAULT_CHUNK_NODES,
  options?: TreeBuildOptions,
): Promise<BuiltTree> {
  const treeShape = poseidonTreeShape('tree-c', nodes, shape);
  const threads = buildThreads(options);
  const chunk = Math.min(chunkNodes, nodes);
  const files: FileHandle[] = [];
  try {
    for (const path of layerPaths) {
      const f = await openInput(path);
      files.push(f);
      await checkSize(f, path, nodes);
    }
    const buffers = layerPaths.map(() => new Uint8Array(chunk * NODE));
    return await buildTree(
      treeShape,
      dir,
      async (first, out) => {
        const views = buffers.map((b) => b.subarray(0, out.length));
        await Promise.all(views.map((v, i) => readFull(files[i]!, layerPaths[i]!, first * NODE, v)));
        columnHashes(views, out, { threads });
      },
      chunk,
      { threads },
    );
  } finally {
    await Promise.all(files.map((f) => f.close()));
  }
}
