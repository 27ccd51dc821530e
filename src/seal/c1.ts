/**
 * SealCommit1 (rust-fil-proofs `seal_commit_phase1`): once the chain's
 * interactive seed is known, derive the PoRep challenges and collect, for each, the vanilla
 * proof (vanilla-proof.ts) from the sector's cache files (layers, tree_d, tree_c, tree_r_last)
 * and sealed file. Like upstream, the proofs are verified before they are returned, so a damaged
 * sealed file, layer or tree is reported here rather than by the chain.
 */
import { type FileHandle, open } from 'node:fs/promises';
import { join } from 'node:path';
import type { CID } from 'multiformats/cid';
import { CacheCorruptError, FileNotFoundError, InvalidArgumentError, ProofInvalidError } from '../errors.js';
import type { TaskContext } from '../lifecycle/task-context.js';
import { porepId, sealProofInfo } from '../sector/proofs.js';
import { CacheFile } from '../sector/layout.js';
import { porepChallenges } from './challenges.js';
import { commitmentBytes } from './commitment-cid.js';
import { nodeParents } from './graph.js';
import { labelParentSequence } from './label-check.js';
import { proverIdFromMinerId, replicaId as computeReplicaId } from './replica-id.js';
import { openSectorTrees, readPAux, type SectorTrees } from './tree-access.js';
import {
  C1_OUTPUT_KIND,
  C1_OUTPUT_VERSION,
  type C1Output,
  type ChallengeProof,
  type ColumnProof,
  encodeC1Output,
  type LabelingProof,
} from './vanilla-proof.js';
import { graphOf, verifyVanillaProofs } from './verify.js';

/** Inputs of {@link sealCommit1}. */
export interface Commit1Input {
  sealProof: number;
  cacheDir: string;
  sealedPath: string;
  minerId: number | bigint;
  sectorNumber: number;
  ticket: Uint8Array;
  /** The interactive randomness (32 bytes) drawn after the pre-commit landed. */
  seed: Uint8Array;
  commD: Uint8Array | CID | string;
  commR: Uint8Array | CID | string;
}

const noContext: TaskContext = { progress() {}, cancelled: false, throwIfCancelled() {} };

function bytes32(v: unknown, what: string): Uint8Array {
  if (!(v instanceof Uint8Array) || v.length !== 32) throw new InvalidArgumentError(`${what} must be 32 bytes`);
  return v;
}

async function readAt(fh: FileHandle, pos: number, len: number, what: string): Promise<Uint8Array> {
  const buf = new Uint8Array(len);
  let got = 0;
  while (got < len) {
    const { bytesRead } = await fh.read(buf, got, len - got, pos + got);
    if (bytesRead === 0) throw new CacheCorruptError(`${what} is too short (reading ${len} bytes at ${pos})`);
    got += bytesRead;
  }
  return buf;
}

/** Reads the labels of node columns from the layer files. */
class LayerReader {
  readonly #handles: FileHandle[];
  private constructor(handles: FileHandle[]) {
    this.#handles = handles;
  }
  static async open(cacheDir: string, layers: number): Promise<LayerReader> {
    const handles: FileHandle[] = [];
    try {
      for (let l = 1; l <= layers; l++) {
        const path = join(cacheDir, CacheFile.layer(l));
        handles.push(
          await open(path, 'r').catch((err: Error) => {
            throw new FileNotFoundError(`layer file ${path} cannot be opened (was the sector finalized?): ${err.message}`, { cause: err });
          }),
        );
      }
    } catch (err) {
      await Promise.all(handles.map((h) => h.close()));
      throw err;
    }
    return new LayerReader(handles);
  }
  /** `layers·32` bytes: the node's label in every layer, layer 1 first. */
  async column(node: number): Promise<Uint8Array> {
    const out = new Uint8Array(this.#handles.length * 32);
    for (let i = 0; i < this.#handles.length; i++) {
      out.set(await readAt(this.#handles[i]!, node * 32, 32, CacheFile.layer(i + 1)), i * 32);
    }
    return out;
  }
  async close(): Promise<void> {
    await Promise.all(this.#handles.map((h) => h.close()));
  }
}

async function columnProof(node: number, layers: LayerReader, trees: SectorTrees): Promise<ColumnProof> {
  return { node, labels: await layers.column(node), path: await trees.treeCPath(node) };
}

/**
 * Runs C1 and returns its output as CBOR bytes (decode with `decodeC1Output`). Throws
 * ProofInvalidError when the collected proofs do not verify (damaged files), CacheCorruptError
 * when p_aux does not match CommR.
 */
export async function sealCommit1(input: Commit1Input, ctx: TaskContext = noContext): Promise<Uint8Array> {
  const info = sealProofInfo(input.sealProof);
  const ticket = bytes32(input.ticket, 'ticket');
  const seed = bytes32(input.seed, 'seed');
  const commD = commitmentBytes(input.commD, 'commD');
  const commR = commitmentBytes(input.commR, 'commR');
  const proverId = proverIdFromMinerId(input.minerId);
  const rid = computeReplicaId({ proverId, sectorNumber: input.sectorNumber, ticket, commD, porepId: porepId(info.id) });
  const challenges = porepChallenges(info, rid, seed);
  const { commC, commRLast } = await readPAux(input.cacheDir);
  const graph = graphOf(info);
  const total = challenges.flat().length;

  const trees = await openSectorTrees(info, input.cacheDir, input.sealedPath);
  let layers: LayerReader | undefined;
  try {
    layers = await LayerReader.open(input.cacheDir, info.layers);
    const partitions: ChallengeProof[][] = [];
    let done = 0;
    for (const part of challenges) {
      const proofs: ChallengeProof[] = [];
      for (const c of part) {
        ctx.throwIfCancelled();
        const parents = nodeParents(graph, c);
        const column = await columnProof(c, layers, trees);
        const drgParents: ColumnProof[] = [];
        for (const p of parents.base) drgParents.push(await columnProof(p, layers, trees));
        const expParents: ColumnProof[] = [];
        for (const p of parents.exp) expParents.push(await columnProof(p, layers, trees));
        const labelingProofs: LabelingProof[] = [];
        for (let layer = 1; layer <= info.layers; layer++) {
          const drg = drgParents.map((col) => col.labels.subarray((layer - 1) * 32, layer * 32));
          const exp = layer > 1 ? expParents.map((col) => col.labels.subarray((layer - 2) * 32, (layer - 1) * 32)) : [];
          labelingProofs.push({ layer, node: c, parents: labelParentSequence(layer, drg, exp) });
        }
        const last = labelingProofs[info.layers - 1]!;
        proofs.push({
          challenge: c,
          commDPath: await trees.treeDPath(c),
          commRLastPath: await trees.treeRLastPath(c),
          column,
          drgParents,
          expParents,
          labelingProofs,
          encodingProof: { layer: last.layer, node: last.node, parents: last.parents },
        });
        ctx.progress({ phase: 'c1', done: ++done, total });
      }
      partitions.push(proofs);
    }
    const out: C1Output = {
      kind: C1_OUTPUT_KIND,
      v: C1_OUTPUT_VERSION,
      registeredProof: info.id,
      sectorNumber: input.sectorNumber,
      proverId,
      ticket,
      seed,
      replicaId: rid,
      commD,
      commR,
      commC,
      commRLast,
      partitions,
    };
    // upstream's sanity check: never hand out proofs that do not verify
    const check = verifyVanillaProofs(out);
    if (!check.ok) throw new ProofInvalidError(`C1 of sector ${input.sectorNumber} produced invalid proofs: ${check.reason}`);
    return encodeC1Output(out);
  } finally {
    await layers?.close();
    await trees.close();
  }
}
