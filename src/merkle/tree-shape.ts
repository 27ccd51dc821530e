/**
 * Shapes of the three sealing trees and their on-disk layout (rust-fil-proofs `storage-proofs-core/src/merkle/`;
 * rust-fil-proofs `builders.rs`, `util.rs` default_rows_to_discard, merkletree `StoreConfig`).
 *
 * A tree over `nodes` leaves is split into `baseTrees` equal consecutive ranges; each range gets
 * a base tree of arity `baseArity` stored in its own file. Above the base roots sit an optional
 * sub level (arity `subArity`, hashing `subArity` consecutive base roots) and an optional top
 * level (arity `topArity`). tree_d is the degenerate case: one binary base tree, no sub/top.
 *
 * A base tree file stores its rows bottom-up, each row's nodes in order. tree_r_last files
 * skip the leaves (the sealed file holds them) and `rowsToDiscard` rows above them.
 */
import { InvalidArgumentError } from '../errors.js';
import type { SealProofInfo } from '../sector/proofs.js';
import { CacheFile } from '../sector/layout.js';

/** Which of the three sealing trees. */
export type TreeKind = 'tree-d' | 'tree-c' | 'tree-r-last';

/** Geometry of one sealing tree. */
export interface TreeShape {
  readonly kind: TreeKind;
  /** Leaves of the whole tree (sector nodes). */
  readonly nodes: number;
  readonly baseArity: number;
  /** Arity of the level above the base roots; 0 = none. */
  readonly subArity: number;
  /** Arity of the level above the sub roots; 0 = none. */
  readonly topArity: number;
  /** Number of base trees (= files). */
  readonly baseTrees: number;
  /** Leaves per base tree (a power of baseArity). */
  readonly baseLeaves: number;
  /** Levels above the leaves inside one base tree. */
  readonly baseLevels: number;
  /** Lowest level stored in a base tree's file (0 = leaves; tree_r_last: 1 + rows_to_discard). */
  readonly storeFrom: number;
}

/** Tree shapes (base, sub, top) by sector size in bytes, including test-only sizes (§3.2). */
const shapesBySize: ReadonlyMap<number, readonly [number, number, number]> = new Map([
  [2048, [8, 0, 0]],
  [4096, [8, 2, 0]],
  [16384, [8, 8, 0]],
  [32768, [8, 8, 2]],
  [8 * 2 ** 20, [8, 0, 0]],
  [16 * 2 ** 20, [8, 2, 0]],
  [512 * 2 ** 20, [8, 0, 0]],
  [2 ** 30, [8, 2, 0]],
  [32 * 2 ** 30, [8, 8, 0]],
  [64 * 2 ** 30, [8, 8, 2]],
]);

/** The (base, sub, top) shape rust-fil-proofs uses for a sector size, or undefined. */
export function shapeForSectorSize(sectorSize: number): readonly [number, number, number] | undefined {
  return shapesBySize.get(sectorSize);
}

/** Levels above the leaves of a complete tree of `leaves` leaves; throws unless a power of arity. */
export function levelsOf(leaves: number, arity: number): number {
  if (!Number.isSafeInteger(leaves) || leaves < 1) throw new InvalidArgumentError(`leaves ${leaves} must be a positive integer`);
  let levels = 0;
  for (let n = leaves; n > 1; n /= arity) {
    if (n % arity !== 0) throw new InvalidArgumentError(`leaves ${leaves} is not a power of arity ${arity}`);
    levels++;
  }
  return levels;
}

/** rust-fil-proofs `default_rows_to_discard` with the default setting 2. */
export function defaultRowsToDiscard(leaves: number, arity: number): number {
  const rows = levelsOf(leaves, arity) + 1;
  if (rows <= 2) return 0;
  if (rows === 3) return 1;
  const max = rows - 2;
  return Math.min(max, arity === 2 ? 7 : arity === 4 ? 5 : 2);
}

/**
 * Shape of tree_c or tree_r_last for a sector of `nodes` leaves with shape (base, sub, top).
 * `shape` defaults to the table above by sector size.
 */
export function poseidonTreeShape(
  kind: 'tree-c' | 'tree-r-last',
  nodes: number,
  shape: readonly [number, number, number] | undefined = shapeForSectorSize(nodes * 32),
): TreeShape {
  if (shape === undefined) throw new InvalidArgumentError(`no tree shape known for a sector of ${nodes} nodes`);
  const [baseArity, subArity, topArity] = shape;
  const baseTrees = Math.max(1, subArity) * Math.max(1, topArity);
  if (topArity > 0 && subArity === 0) throw new InvalidArgumentError(`shape ${shape.join(',')}: a top level needs a sub level`);
  if (nodes % baseTrees !== 0) throw new InvalidArgumentError(`nodes ${nodes} do not split into ${baseTrees} base trees`);
  const baseLeaves = nodes / baseTrees;
  const baseLevels = levelsOf(baseLeaves, baseArity);
  const storeFrom = kind === 'tree-r-last' ? 1 + defaultRowsToDiscard(baseLeaves, baseArity) : 0;
  return { kind, nodes, baseArity, subArity, topArity, baseTrees, baseLeaves, baseLevels, storeFrom };
}

/** Shape of tree_d: one binary SHA-256 tree over every node, all rows stored. */
export function treeDShape(nodes: number): TreeShape {
  return { kind: 'tree-d', nodes, baseArity: 2, subArity: 0, topArity: 0, baseTrees: 1, baseLeaves: nodes, baseLevels: levelsOf(nodes, 2), storeFrom: 0 };
}

/** The three tree shapes of a registered seal proof. */
export function sealTreeShapes(info: Pick<SealProofInfo, 'nodes' | 'shape'>): { treeD: TreeShape; treeC: TreeShape; treeRLast: TreeShape } {
  return {
    treeD: treeDShape(info.nodes),
    treeC: poseidonTreeShape('tree-c', info.nodes, info.shape),
    treeRLast: poseidonTreeShape('tree-r-last', info.nodes, info.shape),
  };
}

/** Arity of every level of the whole tree, bottom-up (base levels, then sub, then top). */
export function levelArities(shape: TreeShape): number[] {
  const out = new Array<number>(shape.baseLevels).fill(shape.baseArity);
  if (shape.subArity > 0) out.push(shape.subArity);
  if (shape.topArity > 0) out.push(shape.topArity);
  return out;
}

/** Cache file name of base tree `b` (upstream drops the index when there is one base tree). */
export function baseTreeFileName(shape: TreeShape, b: number): string {
  const split = shape.baseTrees === 1 ? undefined : b;
  if (shape.kind === 'tree-d') return CacheFile.treeD;
  return shape.kind === 'tree-c' ? CacheFile.treeC(split) : CacheFile.treeRLast(split);
}

/** Every file name of a tree, base tree order. */
export function treeFileNames(shape: TreeShape): string[] {
  return Array.from({ length: shape.baseTrees }, (_, b) => baseTreeFileName(shape, b));
}

/** Byte offset of each base-tree level's row in its file; undefined for levels not stored. */
export function rowOffsets(shape: TreeShape): (number | undefined)[] {
  const out: (number | undefined)[] = [];
  let offset = 0;
  let width = shape.baseLeaves;
  for (let level = 0; level <= shape.baseLevels; level++) {
    if (level >= shape.storeFrom) {
      out.push(offset);
      offset += width * 32;
    } else {
      out.push(undefined);
    }
    width /= shape.baseArity;
  }
  return out;
}

/** Size in bytes of one base tree file. */
export function baseTreeFileSize(shape: TreeShape): number {
  let total = 0;
  let width = shape.baseLeaves;
  for (let level = 0; level <= shape.baseLevels; level++) {
    if (level >= shape.storeFrom) total += width * 32;
    width /= shape.baseArity;
  }
  return total;
}
