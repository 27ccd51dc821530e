/**
 * In-memory SDR labelling of a whole graph (rust-fil-proofs `stacked/vanilla/create_label/single.rs`), for small graphs and for
 * checking against upstream vectors. Sealing real sectors goes through `pc1.ts`, which streams
 * layers to disk and reads parents from the parent cache.
 */
import { sdrLabelRange } from '../../native/sdr.js';
import { CacheCorruptError, InvalidArgumentError } from '../errors.js';
import { type ApiVersion, graphParents, type SdrGraph, sdrGraph } from './graph.js';

/** Options of {@link createLabels}. */
export interface CreateLabelsOptions {
  /** Node count (a sector of `nodes × 32` bytes). */
  readonly nodes: number;
  /** Number of layers (2 for 2 KiB–512 MiB sectors, 11 for 32/64 GiB). */
  readonly layers: number;
  /** 32-byte replica id (used as given). */
  readonly replicaId: Uint8Array;
  /** 32-byte porep id (seeds the graph). */
  readonly porepId: Uint8Array;
  /** @default 'V1_1' */
  readonly apiVersion?: ApiVersion | undefined;
}

/** Largest graph {@link createLabels} accepts: every layer is held in memory at once. */
export const CREATE_LABELS_MAX_NODES = 2 ** 20;

/**
 * Labels every layer of a graph in memory. Returns one buffer per layer (`nodes × 32` bytes,
 * layer 1 first); label `v` of layer `l` is `result[l - 1].subarray(32 v, 32 v + 32)`.
 * @example
 * const layers = createLabels({ nodes: 64, layers: 11, replicaId, porepId });
 * const last = layers[10].subarray(63 * 32); // V-LABEL: cfef0db7…0206
 */
export function createLabels(options: CreateLabelsOptions): Uint8Array[] {
  const { nodes, layers, replicaId } = options;
  if (!Number.isInteger(nodes) || nodes < 2 || nodes > CREATE_LABELS_MAX_NODES) {
    throw new InvalidArgumentError(`options.nodes must be an integer in [2, ${CREATE_LABELS_MAX_NODES}], got ${nodes}`);
  }
  if (!Number.isInteger(layers) || layers < 1 || layers > 64) {
    throw new InvalidArgumentError(`options.layers must be an integer in [1, 64], got ${layers}`);
  }
  if (!(replicaId instanceof Uint8Array) || replicaId.length !== 32) {
    throw new InvalidArgumentError('options.replicaId must be 32 bytes');
  }
  const graph = sdrGraph({ nodes, porepId: options.porepId, apiVersion: options.apiVersion });
  const parents = graphParents(graph, 0, nodes);
  const out: Uint8Array[] = [];
  let previous: Uint8Array | undefined;
  for (let layer = 1; layer <= layers; layer++) {
    const current = new Uint8Array(nodes * 32);
    labelLayerInMemory(graph, replicaId, layer, parents, current, previous);
    out.push(current);
    previous = current;
  }
  return out;
}

/**
 * Labels one whole layer in memory given all parents of the graph (14 per node).
 * Throws CacheCorruptError when a parent is out of range (a corrupt parent list).
 */
export function labelLayerInMemory(
  graph: SdrGraph,
  replicaId: Uint8Array,
  layer: number,
  parents: Uint32Array,
  current: Uint8Array,
  previous: Uint8Array | undefined,
): void {
  const bad = sdrLabelRange({ replicaId, layer, start: 0, parents, current, previous });
  if (bad >= 0) {
    throw new CacheCorruptError(`parents of node ${bad} are invalid for a graph of ${graph.nodes} nodes`);
  }
}
