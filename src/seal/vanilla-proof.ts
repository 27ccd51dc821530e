/**
 * The vanilla (non-SNARK) proofs that C1 produces for each interactive PoRep challenge, and
 * their CBOR wire form (rust-fil-proofs `stacked/vanilla/proof.rs`). The contents follow rust-fil-proofs'
 * `stacked::vanilla::Proof`: an inclusion proof of the data node in tree_d, of the replica node
 * in tree_r_last, the challenged column and its 6 DRG + 8 expander parent columns (each with a
 * tree_c path), one labeling proof per layer and the encoding proof.
 *
 * The bytes are our own documented CBOR (cborg), not upstream's bincode of the Rust structs:
 * that layout is an accident of serde and was not re-derived. Field names below are the wire
 * names; byte strings are raw 32-byte nodes in storage order (LE field elements).
 */
import { decode, encode } from 'cborg';
import { InvalidArgumentError } from '../errors.js';

/** Format tag of a C1 output. */
export const C1_OUTPUT_KIND = 'sector-storage/c1-output';
/** Version of the C1 wire format. */
export const C1_OUTPUT_VERSION = 1;

/**
 * An inclusion proof without its root (the verifier knows which root it expects): the leaf and,
 * bottom-up, the siblings of the path node at each level concatenated in order ((arity − 1)·32
 * bytes per level). The position of the path node in each level follows from the challenged
 * index and the tree's arities, so it is not carried.
 */
export interface MerklePath {
  leaf: Uint8Array;
  siblings: Uint8Array[];
}

/** A column of tree_c: node index, its label in every layer (layers·32 bytes) and its tree_c path. */
export interface ColumnProof {
  node: number;
  labels: Uint8Array;
  path: MerklePath;
}

/**
 * The inputs of one label: layer (1-based), node, and the 37 parent labels exactly as hashed
 * (37·32 bytes; empty for node 0). The label itself is recomputed by the verifier.
 */
export interface LabelingProof {
  layer: number;
  node: number;
  parents: Uint8Array;
}

/** Everything proved about one challenged node. */
export interface ChallengeProof {
  challenge: number;
  /** The data (unsealed) node in tree_d (SHA-256 binary tree, root CommD). */
  commDPath: MerklePath;
  /** The replica (sealed) node in tree_r_last (Poseidon, root comm_r_last). */
  commRLastPath: MerklePath;
  /** The challenged column in tree_c. */
  column: ColumnProof;
  /** The columns of the 6 DRG parents, in parent order. */
  drgParents: ColumnProof[];
  /** The columns of the 8 expander parents, in parent order. */
  expParents: ColumnProof[];
  /** One per layer, layer 1 first. */
  labelingProofs: LabelingProof[];
  /** The last layer's labeling again: the key that encodes the data node into the replica node. */
  encodingProof: LabelingProof;
}

/** The output of C1: public inputs plus the vanilla proofs, one list per partition. */
export interface C1Output {
  kind: typeof C1_OUTPUT_KIND;
  v: typeof C1_OUTPUT_VERSION;
  registeredProof: number;
  sectorNumber: number;
  proverId: Uint8Array;
  ticket: Uint8Array;
  seed: Uint8Array;
  replicaId: Uint8Array;
  commD: Uint8Array;
  commR: Uint8Array;
  commC: Uint8Array;
  commRLast: Uint8Array;
  partitions: ChallengeProof[][];
}

/** Serializes a C1 output to CBOR. */
export function encodeC1Output(out: C1Output): Uint8Array {
  return encode(out);
}

/** Parses and shape-checks a C1 output; InvalidArgumentError names the first bad field. */
export function decodeC1Output(bytes: Uint8Array): C1Output {
  let raw: unknown;
  try {
    raw = decode(bytes);
  } catch (err) {
    throw new InvalidArgumentError(`C1 output is not valid CBOR: ${(err as Error).message}`, { cause: err });
  }
  return checkC1Output(raw);
}

type Obj = Record<string, unknown>;

function obj(v: unknown, at: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) {
    throw new InvalidArgumentError(`${at} must be a map`);
  }
  return v as Obj;
}

function bytes(v: unknown, at: string, length?: number): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new InvalidArgumentError(`${at} must be a byte string`);
  if (length !== undefined && v.length !== length) throw new InvalidArgumentError(`${at} must be ${length} bytes, got ${v.length}`);
  return v;
}

function uint(v: unknown, at: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new InvalidArgumentError(`${at} must be a non-negative integer`);
  return v;
}

function list<T>(v: unknown, at: string, item: (x: unknown, at: string) => T): T[] {
  if (!Array.isArray(v)) throw new InvalidArgumentError(`${at} must be a list`);
  return v.map((x, i) => item(x, `${at}[${i}]`));
}

/** Shape-checks a decoded merkle path. */
export function checkMerklePath(v: unknown, at: string): MerklePath {
  const o = obj(v, at);
  return {
    leaf: bytes(o.leaf, `${at}.leaf`, 32),
    siblings: list(o.siblings, `${at}.siblings`, (x, a) => {
      const b = bytes(x, a);
      if (b.length === 0 || b.length % 32 !== 0) throw new InvalidArgumentError(`${a} must be a non-empty multiple of 32 bytes`);
      return b;
    }),
  };
}

function checkColumn(v: unknown, at: string): ColumnProof {
  const o = obj(v, at);
  const labels = bytes(o.labels, `${at}.labels`);
  if (labels.length === 0 || labels.length % 32 !== 0) throw new InvalidArgumentError(`${at}.labels must be a multiple of 32 bytes`);
  return { node: uint(o.node, `${at}.node`), labels, path: checkMerklePath(o.path, `${at}.path`) };
}

function checkLabeling(v: unknown, at: string): LabelingProof {
  const o = obj(v, at);
  const parents = bytes(o.parents, `${at}.parents`);
  if (parents.length !== 0 && parents.length !== 37 * 32) throw new InvalidArgumentError(`${at}.parents must be 37 labels`);
  return { layer: uint(o.layer, `${at}.layer`), node: uint(o.node, `${at}.node`), parents };
}

function checkChallenge(v: unknown, at: string): ChallengeProof {
  const o = obj(v, at);
  return {
    challenge: uint(o.challenge, `${at}.challenge`),
    commDPath: checkMerklePath(o.commDPath, `${at}.commDPath`),
    commRLastPath: checkMerklePath(o.commRLastPath, `${at}.commRLastPath`),
    column: checkColumn(o.column, `${at}.column`),
    drgParents: list(o.drgParents, `${at}.drgParents`, checkColumn),
    expParents: list(o.expParents, `${at}.expParents`, checkColumn),
    labelingProofs: list(o.labelingProofs, `${at}.labelingProofs`, checkLabeling),
    encodingProof: checkLabeling(o.encodingProof, `${at}.encodingProof`),
  };
}

/** Shape-checks a decoded C1 output (types and lengths; the cryptography is checked by verify). */
export function checkC1Output(raw: unknown): C1Output {
  const o = obj(raw, 'c1');
  if (o.kind !== C1_OUTPUT_KIND) throw new InvalidArgumentError(`c1.kind must be "${C1_OUTPUT_KIND}", got ${JSON.stringify(o.kind)}`);
  if (o.v !== C1_OUTPUT_VERSION) throw new InvalidArgumentError(`c1.v ${String(o.v)} is not a supported version (${C1_OUTPUT_VERSION})`);
  return {
    kind: C1_OUTPUT_KIND,
    v: C1_OUTPUT_VERSION,
    registeredProof: uint(o.registeredProof, 'c1.registeredProof'),
    sectorNumber: uint(o.sectorNumber, 'c1.sectorNumber'),
    proverId: bytes(o.proverId, 'c1.proverId', 32),
    ticket: bytes(o.ticket, 'c1.ticket', 32),
    seed: bytes(o.seed, 'c1.seed', 32),
    replicaId: bytes(o.replicaId, 'c1.replicaId', 32),
    commD: bytes(o.commD, 'c1.commD', 32),
    commR: bytes(o.commR, 'c1.commR', 32),
    commC: bytes(o.commC, 'c1.commC', 32),
    commRLast: bytes(o.commRLast, 'c1.commRLast', 32),
    partitions: list(o.partitions, 'c1.partitions', (p, a) => list(p, a, checkChallenge)),
  };
}
