/**
 * The SDR graph of a sector size and porep id (rust-fil-proofs `stacked/vanilla/graph.rs`, `drgraph.rs`): the DRG seed and
 * Feistel keys derived from the porep id, and the 14 parents of every node (6 DRG parents in
 * the current layer, then 8 expander parents in the previous layer), computed natively.
 */
import { createHash } from 'node:crypto';
import { PARENTS_PER_NODE, sdrParents } from '../../native/sdr.js';
import { InvalidArgumentError } from '../errors.js';

/**
 * Proofs API version of a graph. V1_0 is the legacy parent order (registered proofs 0..4);
 * V1_1 and V1_2 build the same graph (proofs 5..19).
 */
export type ApiVersion = 'V1_0' | 'V1_1' | 'V1_2';

/** An SDR graph: everything that determines the parents of every node. */
export interface SdrGraph {
  /** Node count (sector size / 32). */
  readonly nodes: number;
  /** The 32-byte porep id the graph is seeded from. */
  readonly porepId: Uint8Array;
  readonly apiVersion: ApiVersion;
  /** First 28 bytes of SHA-256("Filecoin_DRSample" || porep_id). */
  readonly drgSeed: Uint8Array;
  /** SHA-256("Filecoin_Feistel" || porep_id): the four u64 LE Feistel keys K0..K3. */
  readonly feistelKeys: Uint8Array;
  /** True for the V1_0 parent order. */
  readonly legacy: boolean;
}

/** Options of {@link sdrGraph}. */
export interface SdrGraphOptions {
  readonly nodes: number;
  readonly porepId: Uint8Array;
  /** @default 'V1_1' */
  readonly apiVersion?: ApiVersion | undefined;
}

const DRG_TAG = 'Filecoin_DRSample';
const FEISTEL_TAG = 'Filecoin_Feistel';

/** `SHA-256(tag || porepId)` with an ASCII tag and no separator. */
function taggedHash(tag: string, porepId: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(tag, 'latin1').update(porepId).digest());
}

/** The 28-byte DRG seed of a porep id. */
export function drgSeed(porepId: Uint8Array): Uint8Array {
  return taggedHash(DRG_TAG, porepId).subarray(0, 28);
}

/** The four Feistel keys of a porep id (K0..K3, u64 LE words of the tagged hash). */
export function feistelKeys(porepId: Uint8Array): [bigint, bigint, bigint, bigint] {
  const raw = taggedHash(FEISTEL_TAG, porepId);
  const v = new DataView(raw.buffer, raw.byteOffset, 32);
  return [v.getBigUint64(0, true), v.getBigUint64(8, true), v.getBigUint64(16, true), v.getBigUint64(24, true)];
}

/** Checks and describes the graph of `nodes` nodes for `porepId`. */
export function sdrGraph(options: SdrGraphOptions): SdrGraph {
  const { nodes, porepId } = options;
  const apiVersion = options.apiVersion ?? 'V1_1';
  if (!Number.isInteger(nodes) || nodes < 2 || nodes >= 2 ** 32) {
    throw new InvalidArgumentError(`options.nodes must be an integer in [2, 2^32), got ${nodes}`);
  }
  if (!(porepId instanceof Uint8Array) || porepId.length !== 32) {
    throw new InvalidArgumentError('options.porepId must be 32 bytes');
  }
  if (apiVersion !== 'V1_0' && apiVersion !== 'V1_1' && apiVersion !== 'V1_2') {
    throw new InvalidArgumentError(`options.apiVersion must be V1_0, V1_1 or V1_2, got ${String(apiVersion)}`);
  }
  return {
    nodes,
    porepId: new Uint8Array(porepId),
    apiVersion,
    drgSeed: drgSeed(porepId),
    feistelKeys: taggedHash(FEISTEL_TAG, porepId),
    legacy: apiVersion === 'V1_0',
  };
}

/**
 * Parents of nodes `[start, start + count)`, 14 per node (6 base then 8 expander); writes into
 * `out` when given (length ≥ 14·count), else allocates.
 */
export function graphParents(graph: SdrGraph, start: number, count: number, out?: Uint32Array): Uint32Array {
  if (!Number.isInteger(count) || count < 0) throw new InvalidArgumentError(`count must be a non-negative integer, got ${count}`);
  if (!Number.isInteger(start) || start < 0 || start + count > graph.nodes) {
    throw new InvalidArgumentError(`nodes [${start}, ${start + count}) are outside the graph of ${graph.nodes} nodes`);
  }
  const target = out ? out.subarray(0, count * PARENTS_PER_NODE) : new Uint32Array(count * PARENTS_PER_NODE);
  if (target.length !== count * PARENTS_PER_NODE) throw new InvalidArgumentError(`out must hold ${count * PARENTS_PER_NODE} parents`);
  if (count > 0) sdrParents(graph, start, target);
  return target;
}

/** The parents of one node: `{ base: 6 DRG parents, exp: 8 expander parents }`. */
export function nodeParents(graph: SdrGraph, node: number): { base: number[]; exp: number[] } {
  const p = graphParents(graph, node, 1);
  return { base: Array.from(p.subarray(0, 6)), exp: Array.from(p.subarray(6, 14)) };
}

/**
 * A stable identity string of the graph (what makes two graphs' parents equal): used to name
 * parent cache files.
 */
export function graphIdentity(graph: SdrGraph): string {
  const order = graph.legacy ? 'v1_0' : 'v1_1';
  return `sdr-graph:nodes=${graph.nodes}:porep=${Buffer.from(graph.porepId).toString('hex')}:order=${order}:base=6:exp=8`;
}
