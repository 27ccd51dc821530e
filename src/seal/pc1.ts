/**
 * SealPreCommit1 (rust-fil-proofs `seal_pre_commit_phase1`, lotus `ffiwrapper/sealer_cgo.go`): derive the replica id and
 * label every SDR layer, writing each finished layer to `<cacheDir>/sc-02-data-layer-N.dat`.
 *
 * Memory stays flat in the number of layers: only the layer being labelled and the previous
 * one are in memory, and parents are streamed from the graph's parent cache file in chunks
 * (the next chunk is read while the current one is labelled).
 *
 * Crash safety: each layer file is written to a temp name, fsynced and renamed, then the
 * checkpoint (`pc1-checkpoint.json`, see pc1-checkpoint.ts) records it. A PC1 started again on
 * the same cache directory with the same inputs resumes after the last intact layer (size and
 * SHA-256 match the record) and produces byte-identical files; with other inputs it starts over.
 */
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { allocateLayerBuffer, sdrLabelRange } from '../../native/sdr.js';
import { CacheCorruptError, InvalidArgumentError, PieceDoesNotFitError } from '../errors.js';
import { writeFileDurable } from '../fs/durable.js';
import { crashPoint } from '../lifecycle/crash-points.js';
import type { TaskContext } from '../lifecycle/task-context.js';
import { porepId as porepIdOf, type RegisteredSealProof, type SealProofInfo, sealProofForSectorSize, sealProofInfo } from '../sector/proofs.js';
import { CacheFile } from '../sector/layout.js';
import { type ApiVersion, sdrGraph } from './graph.js';
import { PARENT_CHUNK_NODES, ParentCache, parentCacheBaseName, parentCacheDir } from './parent-cache.js';
import {
  fileDigest,
  type Pc1Checkpoint,
  type Pc1LayerRecord,
  type Pc1RunIdentity,
  readCheckpoint,
  removeCheckpoint,
  sameRun,
  writeCheckpoint,
} from './pc1-checkpoint.js';
import { replicaId as computeReplicaId } from './replica-id.js';
import { unsealedCommD } from './unsealed-comm-d.js';

/** Input of {@link sealPreCommit1}. Give `proof` or `sectorSize`, and `unsealedPath` or `commD`. */
export interface PreCommit1Input {
  /** Registered seal proof (0..9). */
  readonly proof?: RegisteredSealProof | undefined;
  /** Sector size in bytes; selects the V1_1 proof of that size when `proof` is absent. */
  readonly sectorSize?: number | undefined;
  /** The sector's cache directory (created if missing; kept between runs for resume). */
  readonly cacheDir: string;
  /**
   * The unsealed sector file (padded data in its first `sectorSize` bytes, Lotus partial-file
   * trailer after it): CommD is computed from it (and checked against `commD` when both are given).
   */
  readonly unsealedPath?: string | undefined;
  /** Raw 32-byte CommD (or its hex), when the unsealed file is not at hand. */
  readonly commD?: Uint8Array | string | undefined;
  /** Miner actor id (the prover id is derived from it). */
  readonly minerId: number;
  readonly sectorNumber: number;
  /** 32-byte sealing ticket (or its hex). */
  readonly ticket: Uint8Array | string;
  /** The sector's pieces (padded sizes); when given their sizes must add up to the sector size. */
  readonly pieces?: readonly { readonly size: number }[] | undefined;
  /** Parent cache directory. @default parentCacheDir() */
  readonly parentCacheDir?: string | undefined;
  /** Nodes labelled between progress reports and cancellation checks. @default 65536 */
  readonly chunkNodes?: number | undefined;
}

/**
 * The result of PC1, consumed by PC2: plain data (JSON- and structured-clone-safe), byte
 * strings in lowercase hex. The labels themselves are the layer files in `cacheDir`.
 */
export interface PreCommit1Output {
  readonly v: 1;
  readonly proof: RegisteredSealProof;
  readonly apiVersion: ApiVersion;
  /** Sector size in bytes (padded). */
  readonly sectorSize: number;
  /** `sectorSize / 32`. */
  readonly nodes: number;
  /** Number of SDR layers (2 up to 512 MiB, 11 for 32/64 GiB). */
  readonly layers: number;
  readonly minerId: number;
  readonly sectorNumber: number;
  readonly porepId: string;
  readonly replicaId: string;
  readonly ticket: string;
  readonly commD: string;
  readonly cacheDir: string;
  /** File names, relative to `cacheDir`, of layers 1..layers (`sc-02-data-layer-N.dat`). */
  readonly layerFiles: readonly string[];
  /** SHA-256 (hex) of each layer file, same order. */
  readonly layerDigests: readonly string[];
  /** The parent cache file of the graph (14 × u32 LE per node). */
  readonly parentCachePath: string;
  /** Layers reused from a previous interrupted run (0 for a fresh run). */
  readonly resumedLayers: number;
  /** Where the time went in this run (seconds; labelling and writing per labelled layer). */
  readonly stats: Pc1Stats;
}

/** Timings of one PC1 run. */
export interface Pc1Stats {
  /** Opening (and, if missing, generating) the parent cache. */
  readonly parentCacheSeconds: number;
  /** How the parent cache was found: 'created' | 'verified' | 'repaired', or 'unused'. */
  readonly parentCache: string;
  /** Allocating (and faulting in) the two layer buffers. */
  readonly allocSeconds: number;
  /** Labelling time (wall) of each layer labelled in this run. */
  readonly labelSeconds: readonly number[];
  /**
   * CPU time of the whole process while each layer was labelled (user + system): on a busy
   * machine this shows the labelling cost without the time the thread spent preempted.
   */
  readonly labelCpuSeconds: readonly number[];
  /** Writing (fsync + rename) and digesting each of those layers. */
  readonly writeSeconds: readonly number[];
}

const noContext: TaskContext = { progress() {}, cancelled: false, throwIfCancelled() {} };

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

function bytes32(name: string, v: Uint8Array | string | undefined): Uint8Array {
  const b = typeof v === 'string' && /^[0-9a-fA-F]{64}$/.test(v) ? new Uint8Array(Buffer.from(v, 'hex')) : v;
  if (!(b instanceof Uint8Array) || b.length !== 32) throw new InvalidArgumentError(`${name} must be 32 bytes (or 64 hex digits)`);
  return b;
}

function resolveProof(input: PreCommit1Input): SealProofInfo {
  if (input.proof !== undefined) {
    const info = sealProofInfo(input.proof);
    if (input.sectorSize !== undefined && input.sectorSize !== info.sectorSize) {
      throw new InvalidArgumentError(`sectorSize ${input.sectorSize} does not match seal proof ${info.name} (${info.sectorSize})`);
    }
    return info;
  }
  if (input.sectorSize === undefined) throw new InvalidArgumentError('one of proof or sectorSize is required');
  return sealProofForSectorSize(input.sectorSize);
}

function safeId(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new InvalidArgumentError(`${name} must be a non-negative safe integer`);
  return v;
}

/**
 * Runs PC1: labels every layer into the cache directory, resuming an interrupted run.
 * Reports `{ phase: 'pc1', done, total, detail: 'layer L/N' }` (nodes over all layers) every
 * chunk, and `{ phase: 'parents', … }` while a missing parent cache is generated; checks for
 * cancellation between chunks.
 */
export async function sealPreCommit1(input: PreCommit1Input, ctx: TaskContext = noContext): Promise<PreCommit1Output> {
  const info = resolveProof(input);
  const minerId = safeId('minerId', input.minerId);
  const sectorNumber = safeId('sectorNumber', input.sectorNumber);
  const ticket = bytes32('ticket', input.ticket);
  if (typeof input.cacheDir !== 'string' || input.cacheDir === '') throw new InvalidArgumentError('cacheDir is required');
  const chunkNodes = input.chunkNodes ?? PARENT_CHUNK_NODES;
  if (!Number.isSafeInteger(chunkNodes) || chunkNodes < 1) throw new InvalidArgumentError('chunkNodes must be a positive integer');
  if (input.pieces !== undefined) {
    const total = input.pieces.reduce((s, p) => s + p.size, 0);
    if (total !== info.sectorSize) {
      throw new PieceDoesNotFitError(`pieces add up to ${total} padded bytes, sector ${info.name} needs exactly ${info.sectorSize}`);
    }
  }
  let commD = input.commD !== undefined ? bytes32('commD', input.commD) : undefined;
  if (input.unsealedPath !== undefined) {
    const computed = await unsealedCommD(input.unsealedPath, info.sectorSize, ctx);
    if (commD && hex(commD) !== hex(computed)) {
      throw new InvalidArgumentError(`commD ${hex(commD)} does not match the unsealed file ${input.unsealedPath} (${hex(computed)})`);
    }
    commD = computed;
  }
  if (!commD) throw new InvalidArgumentError('one of unsealedPath or commD is required');

  const porepId = porepIdOf(info.id);
  const replicaId = computeReplicaId({ minerId, sectorNumber, ticket, commD, porepId });
  const { nodes, layers, sectorSize } = info;
  const identity: Pc1RunIdentity = {
    proof: info.id,
    nodes,
    layers,
    porepId: hex(porepId),
    replicaId: hex(replicaId),
    ticket: hex(ticket),
    commD: hex(commD),
    minerId,
    sectorNumber,
  };
  const cacheDir = input.cacheDir;
  await mkdir(cacheDir, { recursive: true });

  // Resume: keep the finished layers of a run with the same inputs that are still intact.
  // Two layer buffers are all PC1 ever holds; verification reads candidates into them in turn,
  // so the last intact layer ends up in memory as the previous layer.
  const buffers: Uint8Array[] = [];
  let allocSeconds = 0;
  const buffer = (i: number): Uint8Array => {
    let b = buffers[i % 2];
    if (!b) {
      const t = performance.now();
      b = buffers[i % 2] = allocateLayerBuffer(sectorSize);
      allocSeconds += (performance.now() - t) / 1000;
    }
    return b;
  };
  let previous: Uint8Array | undefined;
  const done: Pc1LayerRecord[] = [];
  const cp = await readCheckpoint(cacheDir);
  if (cp && sameRun(cp, identity)) {
    for (const rec of cp.done.slice(0, layers)) {
      const into = buffer(done.length);
      const digest = rec.size === sectorSize ? await fileDigest(join(cacheDir, CacheFile.layer(rec.layer)), sectorSize, into) : undefined;
      if (digest !== rec.sha256) break; // damaged or missing: relabel from here
      done.push(rec);
      previous = into;
    }
  } else if (cp) {
    await removeCheckpoint(cacheDir); // another run's layers: start over
  }
  const resumedLayers = done.length;
  if (done.length < layers) {
    // record the (possibly truncated) list before relabelling, so a stale entry never survives
    await writeCheckpoint(cacheDir, { v: 1, ...identity, done });
  }

  const graph = sdrGraph({ nodes, porepId, apiVersion: info.api });
  let parentCachePath = join(input.parentCacheDir ?? parentCacheDir(), `${parentCacheBaseName(graph)}.cache`);
  const stats = { parentCacheSeconds: 0, parentCache: 'unused', allocSeconds: 0, labelSeconds: [] as number[], labelCpuSeconds: [] as number[], writeSeconds: [] as number[] };
  if (done.length < layers) {
    const t0 = performance.now();
    const cache = await ParentCache.open(graph, {
      dir: input.parentCacheDir,
      onProgress: (d, t) => ctx.progress({ phase: 'parents', done: d, total: t, detail: 'parent cache' }),
      throwIfCancelled: () => ctx.throwIfCancelled(),
    });
    parentCachePath = cache.path;
    stats.parentCacheSeconds = (performance.now() - t0) / 1000;
    stats.parentCache = cache.status;
    try {
      for (let layer = done.length + 1; layer <= layers; layer++) {
        const current = buffer(layer - 1); // the buffer not holding the previous layer
        const t1 = performance.now();
        const cpu0 = process.cpuUsage();
        await labelLayer({ cache, replicaId, layer, layers, current, previous, chunkNodes, ctx });
        const t2 = performance.now();
        const cpu = process.cpuUsage(cpu0);
        await writeFileDurable(join(cacheDir, CacheFile.layer(layer)), current);
        done.push({ layer, size: sectorSize, sha256: createHash('sha256').update(current).digest('hex') });
        await writeCheckpoint(cacheDir, { v: 1, ...identity, done } satisfies Pc1Checkpoint);
        stats.labelSeconds.push((t2 - t1) / 1000);
        stats.labelCpuSeconds.push((cpu.user + cpu.system) / 1e6);
        stats.writeSeconds.push((performance.now() - t2) / 1000);
        previous = current;
      }
    } finally {
      await cache.close();
    }
  }
  return {
    v: 1,
    proof: info.id,
    apiVersion: info.api,
    sectorSize,
    nodes,
    layers,
    minerId,
    sectorNumber,
    porepId: identity.porepId,
    replicaId: identity.replicaId,
    ticket: identity.ticket,
    commD: identity.commD,
    cacheDir,
    layerFiles: done.map((d) => CacheFile.layer(d.layer)),
    layerDigests: done.map((d) => d.sha256),
    parentCachePath,
    resumedLayers,
    stats: { ...stats, allocSeconds },
  };
}

interface LabelLayerArgs {
  readonly cache: ParentCache;
  readonly replicaId: Uint8Array;
  readonly layer: number;
  readonly layers: number;
  readonly current: Uint8Array;
  readonly previous: Uint8Array | undefined;
  readonly chunkNodes: number;
  readonly ctx: TaskContext;
}

/**
 * Labels one layer chunk by chunk. Parents are double-buffered: the read of the next chunk
 * runs on the libuv pool while the (synchronous) native labeller works on the current one.
 */
async function labelLayer(a: LabelLayerArgs): Promise<void> {
  const { cache, layer, layers, current, chunkNodes, ctx } = a;
  const nodes = cache.graph.nodes;
  const size = Math.min(chunkNodes, nodes) * 14;
  let ready = new Uint32Array(size);
  let spare = new Uint32Array(size);
  let pending = cache.read(0, Math.min(chunkNodes, nodes), ready);
  for (let start = 0; start < nodes; start += chunkNodes) {
    ctx.throwIfCancelled();
    // crash-safety test hook: the layers before this one are checkpointed, this one is half done
    if (layer > 1 && start > 0 && start >= nodes / 2 && start - chunkNodes < nodes / 2) crashPoint('pc1.mid-layer');
    const parents = await pending;
    const next = Math.min(nodes, start + chunkNodes);
    if (next < nodes) {
      pending = cache.read(next, Math.min(chunkNodes, nodes - next), spare);
      [ready, spare] = [spare, ready];
    }
    const previous = layer > 1 ? a.previous : undefined;
    const bad = sdrLabelRange({ replicaId: a.replicaId, layer, start, parents, current, previous });
    if (bad >= 0) throw new CacheCorruptError(`parent cache ${cache.path} has invalid parents for node ${start + bad}`);
    ctx.progress({ phase: 'pc1', done: (layer - 1) * nodes + next, total: layers * nodes, detail: `layer ${layer}/${layers}` });
  }
}
