/**
 * SealPreCommit1 (rust-fil-proofs `seal_pre_commit_phase1`, lotus `ffiwrapper/sealer_cgo.go`): derive the replica id and
 * label every SDR layer, writing each finished layer to `<cacheDir>/sc-02-data-layer-N.dat`.
 *
 * Batches: {@link sealPreCommit1Batch} labels up to 8 sectors of the same size on one thread in
 * one pass (what SupraSeal does for Curio): the graph, and so the parents of every node, are the
 * same for all of them (only the replica ids differ), so each chunk of parents is read once and
 * each node's labels are hashed for every sector together, as interleaved SHA-NI streams. The
 * sectors' layers are interleaved in memory (see BatchLayers), so that a parent's labels in
 * every sector share cache lines. One sector is a batch of one.
 *
 * Memory stays flat in the number of layers: only the layer being labelled and the previous
 * one of each sector are in memory, and parents are streamed from the graph's parent cache file
 * in chunks (the next chunk is read while the current one is labelled).
 *
 * Crash safety: each layer file is written to a temp name, fsynced and renamed, then the
 * checkpoint (`pc1-checkpoint.json`, see pc1-checkpoint.ts) records it. A PC1 started again on
 * the same cache directory with the same inputs resumes after the last intact layer (size and
 * SHA-256 match the record) and produces byte-identical files; with other inputs it starts over.
 */
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { allocateLayerBuffer, batchLayerMerge, batchLayerSplit, LABEL_BATCH_MAX, sdrLabelRangeBatch } from '../../native/sdr.js';
import { CacheCorruptError, InvalidArgumentError, PieceDoesNotFitError } from '../errors.js';
import { DurableTempFile } from '../fs/durable.js';
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
import { checkPc1Gather, gathersFor, type Pc1Gather, pc1GatherDefault } from './pc1-gather.js';
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
  /**
   * Nodes labelled per native call, between progress reports; in a batch also the nodes of each
   * sector's layer moved per step between the batch's interleaved buffer and the layer files.
   * @default 65536
   */
  readonly chunkNodes?: number | undefined;
  /**
   * Gather each node's parent labels on a second native thread, a small ring ahead of the
   * labeller (native/sdr.ts `LabelRangeArgs.gather`), which then uses two cores: `true` always,
   * `false` never, `'auto'` where the batch's layer lies beyond the caches (src/seal/pc1-gather.ts).
   * A batch takes the strongest of its inputs' choices.
   * @default pc1GatherDefault() (`SECTOR_STORAGE_PC1_GATHER`, off when unset)
   */
  readonly gather?: Pc1Gather | undefined;
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
  /** Writing (fsync + rename) and digesting each of those layers (of every sector of the batch). */
  readonly writeSeconds: readonly number[];
  /** Sectors labelled together with this one (1 when it was sealed alone); the times are the batch's. */
  readonly batchSize: number;
  /** Whether a second thread gathered the parents (see {@link PreCommit1Input.gather}); absent in outputs of older runs. */
  readonly gather?: boolean;
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

/** A validated input with what PC1 derives from it before labelling. */
interface Prepared {
  readonly input: PreCommit1Input;
  readonly info: SealProofInfo;
  readonly identity: Pc1RunIdentity;
  readonly replicaId: Uint8Array;
  readonly porepId: Uint8Array;
  readonly chunkNodes: number;
}

async function prepare(input: PreCommit1Input, ctx: TaskContext): Promise<Prepared> {
  const info = resolveProof(input);
  const minerId = safeId('minerId', input.minerId);
  const sectorNumber = safeId('sectorNumber', input.sectorNumber);
  const ticket = bytes32('ticket', input.ticket);
  if (typeof input.cacheDir !== 'string' || input.cacheDir === '') throw new InvalidArgumentError('cacheDir is required');
  const chunkNodes = input.chunkNodes ?? PARENT_CHUNK_NODES;
  if (!Number.isSafeInteger(chunkNodes) || chunkNodes < 1) throw new InvalidArgumentError('chunkNodes must be a positive integer');
  if (input.gather !== undefined) checkPc1Gather(input.gather, 'gather');
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
  const identity: Pc1RunIdentity = {
    proof: info.id,
    nodes: info.nodes,
    layers: info.layers,
    porepId: hex(porepId),
    replicaId: hex(replicaId),
    ticket: hex(ticket),
    commD: hex(commD),
    minerId,
    sectorNumber,
  };
  await mkdir(input.cacheDir, { recursive: true });
  return { input, info, identity, replicaId, porepId, chunkNodes };
}

/**
 * The two layer buffers of a batch (layer L is always labelled into, and resumed into, buffer
 * (L - 1) mod 2), each holding the layer of every sector interleaved node-major: node v of
 * sector s at `32 · (v · k + s)` (native/sdr.ts `sdrLabelRangeBatch`), so that one parent's
 * labels in all k sectors are adjacent bytes. For one sector that is the plain layer. Layer
 * files keep the plain layout: a sector's layer is split out chunk by chunk when written and
 * merged in chunk by chunk when resumed, so no second copy of a whole layer is ever held.
 */
class BatchLayers {
  readonly k: number;
  readonly sectorSize: number;
  /** Bytes of each sector's layer moved per step between a buffer and the files. */
  readonly chunkBytes: number;
  /** Time spent allocating (and faulting in) the buffers. */
  allocSeconds = 0;
  readonly #buffers: Uint8Array[] = [];

  constructor(k: number, sectorSize: number, chunkNodes: number) {
    // one buffer holds a layer of every sector: Node 20's typed arrays end at 4 GiB
    if (k * sectorSize > 2 ** 32) {
      throw new InvalidArgumentError(`a PC1 batch holds at most 4 GiB per layer: ${k} sectors of ${sectorSize} bytes are ${k * sectorSize}`);
    }
    this.k = k;
    this.sectorSize = sectorSize;
    this.chunkBytes = Math.min(sectorSize, chunkNodes * 32);
  }

  /** The buffer that holds (or will hold) layer `layer` of every sector. */
  of(layer: number): Uint8Array {
    const i = (layer - 1) % 2;
    let b = this.#buffers[i];
    if (!b) {
      const t = performance.now();
      b = this.#buffers[i] = allocateLayerBuffer(this.k * this.sectorSize);
      this.allocSeconds += (performance.now() - t) / 1000;
    }
    return b;
  }

  /**
   * Reads a layer file of sector `sector` into layer `layer`'s buffer; returns the file's
   * SHA-256, or undefined when it is missing or has another size.
   */
  async read(path: string, layer: number, sector: number): Promise<string | undefined> {
    const batch = this.of(layer);
    if (this.k === 1) return fileDigest(path, this.sectorSize, batch);
    return fileDigest(path, this.sectorSize, (chunk, offset) => batchLayerMerge(batch, this.k, sector, offset / 32, chunk), this.chunkBytes);
  }

  /**
   * Writes layer `layer` of every sector to `paths[s]` durably (temp file, fsync, rename: see
   * src/fs/durable.ts), {@link chunkBytes} per sector at a time (the scratch is k times that);
   * returns each file's SHA-256. A file gets its final name once every sector's file is complete.
   */
  async write(layer: number, paths: readonly string[]): Promise<string[]> {
    const { k, sectorSize } = this;
    const batch = this.of(layer);
    // one sector: its layer is the buffer itself, written in one go as ever
    const step = k === 1 ? sectorSize : this.chunkBytes;
    const scratch = k === 1 ? [] : paths.map(() => new Uint8Array(step));
    const hashes = paths.map(() => createHash('sha256'));
    const files: DurableTempFile[] = [];
    try {
      for (const p of paths) files.push(await DurableTempFile.open(p));
      for (let pos = 0; pos < sectorSize; pos += step) {
        const n = Math.min(step, sectorSize - pos);
        const parts = k === 1 ? [batch.subarray(pos, pos + n)] : scratch.map((b) => b.subarray(0, n));
        if (k > 1) batchLayerSplit(batch, k, pos / 32, parts);
        await Promise.all(parts.map((part, s) => writeAt(files[s]!, part, pos)));
        for (const [s, part] of parts.entries()) hashes[s]!.update(part);
      }
      for (const f of files) await f.commit();
    } catch (err) {
      await Promise.all(files.map((f) => f.discard()));
      throw err;
    }
    return hashes.map((h) => h.digest('hex'));
  }
}

async function writeAt(file: DurableTempFile, data: Uint8Array, position: number): Promise<void> {
  for (let done = 0; done < data.length; ) {
    const { bytesWritten } = await file.handle.write(data, done, data.length - done, position + done);
    done += bytesWritten;
  }
}

/** One sector of a batch while it is labelled: its finished layers; its labels are in the batch's {@link BatchLayers}. */
class SectorRun {
  readonly prep: Prepared;
  readonly done: Pc1LayerRecord[] = [];
  resumedLayers = 0;
  readonly #layers: BatchLayers;
  /** This sector's place in the batch. */
  readonly #index: number;

  constructor(prep: Prepared, layers: BatchLayers, index: number) {
    this.prep = prep;
    this.#layers = layers;
    this.#index = index;
  }

  get cacheDir(): string {
    return this.prep.input.cacheDir;
  }

  /** Reads layer `layer` of an earlier run into the batch's buffer; true when it matches the record. */
  async load(rec: Pc1LayerRecord): Promise<boolean> {
    if (rec.size !== this.prep.info.sectorSize) return false;
    return (await this.#layers.read(join(this.cacheDir, CacheFile.layer(rec.layer)), rec.layer, this.#index)) === rec.sha256;
  }

  /**
   * Keeps the finished layers (at most `upTo`) of an earlier run with the same inputs that are
   * still intact, reading each into its buffer. A checkpoint of other inputs is removed.
   */
  async resume(upTo: number): Promise<void> {
    const cp = await readCheckpoint(this.cacheDir);
    if (cp && sameRun(cp, this.prep.identity)) {
      for (const rec of cp.done.slice(0, upTo)) {
        if (!(await this.load(rec))) break; // damaged or missing: relabel from here
        this.done.push(rec);
      }
    } else if (cp) {
      await removeCheckpoint(this.cacheDir); // another run's layers: start over
    }
  }

  /** Drops the records after layer `keep`, making sure layer `keep` is the one in memory. */
  async truncate(keep: number): Promise<void> {
    if (this.done.length > keep) {
      this.done.length = keep;
      // the later layers went through the buffers too: read layer `keep` back
      if (keep > 0 && !(await this.load(this.done[keep - 1]!))) {
        throw new CacheCorruptError(`layer ${keep} in ${this.cacheDir} changed while PC1 resumed`);
      }
    }
    this.resumedLayers = this.done.length;
  }

  /** How many layers an earlier run left that could be resumed (from the checkpoint only). */
  async candidateLayers(): Promise<number> {
    const cp = await readCheckpoint(this.cacheDir);
    return cp && sameRun(cp, this.prep.identity) ? Math.min(cp.done.length, this.prep.info.layers) : 0;
  }

  async writeCheckpoint(): Promise<void> {
    await writeCheckpoint(this.cacheDir, { v: 1, ...this.prep.identity, done: this.done } satisfies Pc1Checkpoint);
  }
}

/**
 * Runs PC1: labels every layer into the cache directory, resuming an interrupted run.
 * Reports `{ phase: 'pc1', done, total, detail: 'layer L/N' }` (nodes over all layers) every
 * chunk, and `{ phase: 'parents', … }` while a missing parent cache is generated; checks for
 * cancellation between chunks (and the native labeller inside them).
 */
export async function sealPreCommit1(input: PreCommit1Input, ctx: TaskContext = noContext): Promise<PreCommit1Output> {
  const [out] = await sealPreCommit1Batch([input], ctx);
  return out!;
}

/**
 * PC1 of 1 to 8 sectors of the same seal proof together (see the module comment): the outputs,
 * layer files and checkpoints are exactly those of {@link sealPreCommit1} for each sector, in the
 * order of `inputs`. A batch resumes from the last layer every sector still has intact.
 */
export async function sealPreCommit1Batch(inputs: readonly PreCommit1Input[], ctx: TaskContext = noContext): Promise<PreCommit1Output[]> {
  if (!Array.isArray(inputs) || inputs.length < 1 || inputs.length > LABEL_BATCH_MAX) {
    throw new InvalidArgumentError(`a PC1 batch has 1 to ${LABEL_BATCH_MAX} sectors, got ${Array.isArray(inputs) ? inputs.length : 'none'}`);
  }
  const preps: Prepared[] = [];
  for (const input of inputs) preps.push(await prepare(input, ctx));
  const { info, porepId } = preps[0]!;
  for (const p of preps) {
    if (p.info.id !== info.id) throw new InvalidArgumentError(`a PC1 batch seals one proof: ${p.info.name} differs from ${info.name}`);
  }
  const dirs = new Set(preps.map((p) => p.input.cacheDir));
  if (dirs.size !== preps.length) throw new InvalidArgumentError('every sector of a PC1 batch needs its own cacheDir');
  const chunkNodes = Math.min(...preps.map((p) => p.chunkNodes));
  const { nodes, layers, sectorSize } = info;
  const modes = inputs.map((i) => i.gather ?? pc1GatherDefault());
  const gather = gathersFor(modes.includes(true) || (modes.includes('auto') ? 'auto' : false), sectorSize * inputs.length);
  const buffers = new BatchLayers(preps.length, sectorSize, chunkNodes);
  const runs = preps.map((p, i) => new SectorRun(p, buffers, i));

  // Resume from the last layer every sector of the batch still has intact.
  const candidate = Math.min(...(await Promise.all(runs.map((r) => r.candidateLayers()))));
  for (const r of runs) await r.resume(candidate);
  const from = Math.min(...runs.map((r) => r.done.length));
  for (const r of runs) {
    await r.truncate(from);
    // record the (possibly truncated) list before relabelling, so a stale entry never survives
    if (from < layers) await r.writeCheckpoint();
  }

  const graph = sdrGraph({ nodes, porepId, apiVersion: info.api });
  const dir = preps[0]!.input.parentCacheDir;
  let parentCachePath = join(dir ?? parentCacheDir(), `${parentCacheBaseName(graph)}.cache`);
  const stats = { parentCacheSeconds: 0, parentCache: 'unused', labelSeconds: [] as number[], labelCpuSeconds: [] as number[], writeSeconds: [] as number[] };
  if (from < layers) {
    const t0 = performance.now();
    const cache = await ParentCache.open(graph, {
      dir,
      onProgress: (d, t) => ctx.progress({ phase: 'parents', done: d, total: t, detail: 'parent cache' }),
      throwIfCancelled: () => ctx.throwIfCancelled(),
      cancel: ctx.cancelFlag,
    });
    parentCachePath = cache.path;
    stats.parentCacheSeconds = (performance.now() - t0) / 1000;
    stats.parentCache = cache.status;
    // The two parent buffers of the double-buffered reads, made once and touched here: a fresh
    // pair per layer had the reads fault in their pages while the labeller ran, which cost an
    // 8 MiB layer about a tenth of its labelling time on the project's VM.
    const parentWords = Math.min(chunkNodes, nodes) * 14;
    const parentBuffers: ParentBuffers = [new Uint32Array(parentWords).fill(1), new Uint32Array(parentWords).fill(1)];
    try {
      for (let layer = from + 1; layer <= layers; layer++) {
        const t1 = performance.now();
        const cpu0 = process.cpuUsage();
        await labelLayer({ cache, runs, buffers, layer, layers, chunkNodes, gather, ctx, parentBuffers });
        const t2 = performance.now();
        const cpu = process.cpuUsage(cpu0);
        const digests = await buffers.write(
          layer,
          runs.map((r) => join(r.cacheDir, CacheFile.layer(layer))),
        );
        for (const [s, r] of runs.entries()) {
          r.done.push({ layer, size: sectorSize, sha256: digests[s]! });
          await r.writeCheckpoint();
        }
        stats.labelSeconds.push((t2 - t1) / 1000);
        stats.labelCpuSeconds.push((cpu.user + cpu.system) / 1e6);
        stats.writeSeconds.push((performance.now() - t2) / 1000);
      }
    } finally {
      await cache.close();
    }
  }
  return runs.map((r) => {
    const id = r.prep.identity;
    return {
      v: 1,
      proof: info.id,
      apiVersion: info.api,
      sectorSize,
      nodes,
      layers,
      minerId: id.minerId,
      sectorNumber: id.sectorNumber,
      porepId: id.porepId,
      replicaId: id.replicaId,
      ticket: id.ticket,
      commD: id.commD,
      cacheDir: r.cacheDir,
      layerFiles: r.done.map((d) => CacheFile.layer(d.layer)),
      layerDigests: r.done.map((d) => d.sha256),
      parentCachePath,
      resumedLayers: r.resumedLayers,
      stats: { ...stats, allocSeconds: buffers.allocSeconds, batchSize: runs.length, gather },
    } satisfies PreCommit1Output;
  });
}

interface LabelLayerArgs {
  readonly cache: ParentCache;
  readonly runs: readonly SectorRun[];
  readonly buffers: BatchLayers;
  readonly layer: number;
  readonly layers: number;
  readonly chunkNodes: number;
  readonly gather: boolean;
  readonly ctx: TaskContext;
  /** The double buffer of parents, `min(chunkNodes, nodes) · 14` words each. */
  readonly parentBuffers: ParentBuffers;
}

type ParentBuffers = [Uint32Array, Uint32Array];

/**
 * Labels one layer of every sector of the batch chunk by chunk. Parents are double-buffered:
 * the read of the next chunk runs on the libuv pool while the (synchronous) native labeller
 * works on the current one. Cancellation is the native labeller's alone: it polls the task's
 * cancel flag when it starts and every 1024 nodes, so a cancelled PC1 stops within milliseconds
 * whatever the chunk size (a flag set between two chunks stops the next one at its first node,
 * and a check here would only race it). The unfinished layer is never written, and the
 * checkpoint still names only the finished ones (a new run resumes after them).
 */
async function labelLayer(a: LabelLayerArgs): Promise<void> {
  const { cache, runs, buffers, layer, layers, chunkNodes, gather, ctx } = a;
  const nodes = cache.graph.nodes;
  const replicaIds = runs.map((r) => r.prep.replicaId);
  const current = buffers.of(layer);
  const previous = layer > 1 ? buffers.of(layer - 1) : undefined;
  let [ready, spare] = a.parentBuffers;
  let pending = cache.read(0, Math.min(chunkNodes, nodes), ready);
  try {
    for (let start = 0; start < nodes; start += chunkNodes) {
      // crash-safety test hook: the layers before this one are checkpointed, this one is half done
      if (layer > 1 && start > 0 && start >= nodes / 2 && start - chunkNodes < nodes / 2) crashPoint('pc1.mid-layer');
      const parents = await pending;
      const next = Math.min(nodes, start + chunkNodes);
      if (next < nodes) {
        pending = cache.read(next, Math.min(chunkNodes, nodes - next), spare);
        [ready, spare] = [spare, ready];
      }
      const bad = sdrLabelRangeBatch({ replicaIds, layer, start, parents, current, previous, cancel: ctx.cancelFlag, gather });
      if (bad >= 0) throw new CacheCorruptError(`parent cache ${cache.path} has invalid parents for node ${start + bad}`);
      ctx.progress({ phase: 'pc1', done: (layer - 1) * nodes + next, total: layers * nodes, detail: `layer ${layer}/${layers}` });
    }
  } catch (err) {
    await pending.catch(() => undefined); // no read may still be running when the cache closes
    throw err;
  }
}
