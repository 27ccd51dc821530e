/**
 * The parent cache (rust-fil-proofs `stacked/vanilla/cache.rs`): one file per graph holding, for every node in
 * order, its 14 parents as u32 LE (6 base then 8 expander; 56 bytes per node). Parents are
 * computed once per graph (sector size + porep id + API version) and reused by every sector,
 * and PC1 streams them in chunks so its memory stays flat.
 *
 * The files are rust-fil-proofs' own (`storage-proofs-porep/src/stacked/vanilla/cache.rs`): the
 * same directory (`FIL_PROOFS_PARENT_CACHE`, default `/var/tmp/filecoin-parents`), the same name
 * (`v28-sdr-parent-<hex>.cache`, `<hex>` the SHA-256 of the hasher name, the stacked graph's
 * identifier string, the four Feistel keys and the node count) and the same bytes, so a machine
 * that ran Lotus reuses its caches (56 GiB for 32 GiB sectors) and Lotus reuses ours.
 *
 * Trust: beside each file we keep a sidecar `<name>.json` with its SHA-256 (the consistency
 * digest rust-fil-proofs computes for the same file); a file is checked against it the first time
 * a process opens it and regenerated when it does not match. A file without our sidecar (written
 * by Lotus) is adopted only after the parents of a sample of its nodes (the first and last 1024,
 * and runs spread over the whole file) have been recomputed and found equal, and its digest is
 * then recorded; otherwise it is regenerated. rust-fil-proofs also embeds a manifest of the
 * digests of its production caches (`parent_cache.json`); that table is not part of this
 * project, which is why adoption recomputes a sample instead of comparing with it. Files and
 * sidecars are written atomically (temp file, fsync, rename), so a crash never leaves a
 * half-written cache that looks valid; the temp a killed process left behind is removed by the
 * next open, once no process with its pid runs.
 */
import { createHash } from 'node:crypto';
import { constants, type FileHandle, mkdir, open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { BASE_PARENTS, EXP_PARENTS, PARENTS_PER_NODE } from '../../native/sdr.js';
import { CacheCorruptError, InvalidArgumentError } from '../errors.js';
import { DurableTempFile, removeOrphanTemps, writeFileDurable } from '../fs/durable.js';
import { crashPoint } from '../lifecycle/crash-points.js';
import { graphIdentity, graphParents, type SdrGraph } from './graph.js';

/** Bytes per node in a cache file. */
export const PARENT_BYTES_PER_NODE = PARENTS_PER_NODE * 4;
/** Nodes per chunk when generating or streaming a cache (3.5 MiB of parents). */
export const PARENT_CHUNK_NODES = 1 << 16;

/** The parent cache directory, as rust-fil-proofs: `FIL_PROOFS_PARENT_CACHE`, else `/var/tmp/filecoin-parents`. */
export function parentCacheDir(): string {
  const env = process.env.FIL_PROOFS_PARENT_CACHE;
  return env !== undefined && env !== '' ? env : '/var/tmp/filecoin-parents';
}

/** rust-fil-proofs' name of the hasher of the sealing graph (`PoseidonHasher::name()`). */
const GRAPH_HASHER = 'poseidon_hasher';

/**
 * rust-fil-proofs' file name of a graph's cache, without extension: `v28-sdr-parent-<hex>`,
 * `<hex>` = SHA-256(hasher name ‖ StackedGraph identifier ‖ Feistel keys as u64 LE ‖ nodes as
 * u32 LE), as `cache_path` in cache.rs computes it.
 */
export function parentCacheBaseName(graph: SdrGraph): string {
  const identifier =
    `stacked_graph::StackedGraph{expansion_degree: ${EXP_PARENTS} base_graph: ` +
    `drgraph::BucketGraph{size: ${graph.nodes}; degree: ${BASE_PARENTS}; hasher: ${GRAPH_HASHER}} }`;
  const nodes = new Uint8Array(4);
  new DataView(nodes.buffer).setUint32(0, graph.nodes, true);
  const h = createHash('sha256').update(GRAPH_HASHER).update(identifier).update(graph.feistelKeys).update(nodes);
  return `v28-sdr-parent-${h.digest('hex')}`;
}

/** The sidecar record of a cache file. */
interface CacheManifest {
  v: 1;
  identity: string;
  nodes: number;
  size: number;
  sha256: string;
  /** 'generated' by this project, or 'adopted' (found without a sidecar and checked). */
  source?: 'generated' | 'adopted';
}

/**
 * How {@link ParentCache.open} found the file: 'created' (missing, generated), 'verified' (its
 * digest matches our record), 'adopted' (found without our record, e.g. written by Lotus, and
 * its sampled parents are right), 'repaired' (damaged or wrong, regenerated).
 */
export type ParentCacheStatus = 'created' | 'verified' | 'adopted' | 'repaired';

/** Options of {@link ParentCache.open}. */
export interface ParentCacheOptions {
  /** @default parentCacheDir() */
  readonly dir?: string | undefined;
  /** Called while a missing or damaged cache is generated (nodes done out of total). */
  readonly onProgress?: ((done: number, total: number) => void) | undefined;
  /** Checked between chunks of generation; throw to abandon it (nothing is left behind). */
  readonly throwIfCancelled?: (() => void) | undefined;
  /** A task's cancel flag, polled inside each chunk's native call as well. */
  readonly cancel?: Int32Array | undefined;
}

/* Files already verified by this thread, keyed by path, with the stat that was verified. */
const verified = new Map<string, string>();

function statKey(s: { ino: number; size: number; mtimeMs: number; ctimeMs: number }): string {
  return `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
}

/** An open, verified parent cache file of one graph. */
export class ParentCache {
  readonly graph: SdrGraph;
  readonly path: string;
  readonly status: ParentCacheStatus;
  #fh: FileHandle;

  private constructor(graph: SdrGraph, path: string, fh: FileHandle, status: ParentCacheStatus) {
    this.graph = graph;
    this.path = path;
    this.#fh = fh;
    this.status = status;
  }

  /**
   * Opens the cache of `graph`, generating it when missing and regenerating it when its
   * digest does not match the sidecar.
   */
  static async open(graph: SdrGraph, options: ParentCacheOptions = {}): Promise<ParentCache> {
    const dir = options.dir ?? parentCacheDir();
    await mkdir(dir, { recursive: true });
    const base = join(dir, parentCacheBaseName(graph));
    const path = `${base}.cache`;
    const manifestPath = `${base}.json`;
    // temps of a generation or sidecar write whose process was killed would stay for ever
    await removeOrphanTemps(path);
    await removeOrphanTemps(manifestPath);
    let status: ParentCacheStatus = 'verified';
    let check = await checkCache(graph, path, manifestPath);
    if (check === 'foreign') {
      check = (await adopt(graph, path, manifestPath, options)) ? 'ok' : 'damaged';
      if (check === 'ok') status = 'adopted';
    }
    if (check !== 'ok') {
      await generate(graph, path, manifestPath, options);
      status = check === 'missing' ? 'created' : 'repaired';
    }
    const fh = await open(path, constants.O_RDONLY);
    const s = await fh.stat();
    if (s.size !== graph.nodes * PARENT_BYTES_PER_NODE) {
      await fh.close();
      throw new CacheCorruptError(`parent cache ${path} changed size while being opened`);
    }
    return new ParentCache(graph, path, fh, status);
  }

  /**
   * Reads the parents of nodes `[start, start + count)` into `out` (or a new array).
   * The file was verified at open; the labeller still bounds-checks every parent it uses.
   */
  async read(start: number, count: number, out?: Uint32Array): Promise<Uint32Array> {
    if (!Number.isInteger(start) || !Number.isInteger(count) || start < 0 || count < 0 || start + count > this.graph.nodes) {
      throw new InvalidArgumentError(`nodes [${start}, ${start + count}) are outside the graph of ${this.graph.nodes} nodes`);
    }
    const target = out ? out.subarray(0, count * PARENTS_PER_NODE) : new Uint32Array(count * PARENTS_PER_NODE);
    const bytes = new Uint8Array(target.buffer, target.byteOffset, count * PARENT_BYTES_PER_NODE);
    let done = 0;
    while (done < bytes.length) {
      const { bytesRead } = await this.#fh.read(bytes, done, bytes.length - done, start * PARENT_BYTES_PER_NODE + done);
      if (bytesRead === 0) throw new CacheCorruptError(`parent cache ${this.path} is shorter than expected`);
      done += bytesRead;
    }
    return target;
  }

  async close(): Promise<void> {
    await this.#fh.close();
  }
}

async function readManifest(manifestPath: string): Promise<CacheManifest | undefined> {
  try {
    const m = JSON.parse(await readFile(manifestPath, 'utf8')) as Partial<CacheManifest>;
    if (m.v !== 1 || typeof m.sha256 !== 'string' || typeof m.size !== 'number' || typeof m.identity !== 'string') return undefined;
    return m as CacheManifest;
  } catch {
    return undefined;
  }
}

/**
 * 'ok' when the file exists and matches its sidecar digest (checked once per thread), 'foreign'
 * when it exists without a sidecar (another program wrote it).
 */
async function checkCache(graph: SdrGraph, path: string, manifestPath: string): Promise<'ok' | 'missing' | 'damaged' | 'foreign'> {
  let s: Awaited<ReturnType<typeof stat>>;
  try {
    s = await stat(path);
  } catch {
    return 'missing';
  }
  const manifest = await readManifest(manifestPath);
  if (!manifest) return s.size === graph.nodes * PARENT_BYTES_PER_NODE ? 'foreign' : 'damaged';
  const expectedSize = graph.nodes * PARENT_BYTES_PER_NODE;
  if (manifest.identity !== graphIdentity(graph) || manifest.size !== expectedSize || s.size !== expectedSize) return 'damaged';
  const key = statKey(s);
  if (verified.get(path) === key) return 'ok';
  if ((await fileSha256(path)) !== manifest.sha256) return 'damaged';
  verified.set(path, key);
  return 'ok';
}

async function fileSha256(path: string): Promise<string> {
  const h = createHash('sha256');
  const fh = await open(path, constants.O_RDONLY);
  try {
    const buf = new Uint8Array(4 << 20);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
    }
  } finally {
    await fh.close();
  }
  return h.digest('hex');
}

/** Nodes per sampled run when a foreign file is checked, and runs spread over the file. */
const SAMPLE_RUN = 64;
const SAMPLE_SPREAD = 62;
const SAMPLE_EDGE = 1024;

/** The node ranges a foreign file is checked on: both ends and runs spread evenly between. */
export function parentCacheSample(nodes: number): [start: number, count: number][] {
  const runs: [number, number][] = [[0, Math.min(SAMPLE_EDGE, nodes)]];
  for (let i = 1; i <= SAMPLE_SPREAD; i++) {
    const start = Math.floor((nodes * i) / (SAMPLE_SPREAD + 1));
    runs.push([start, Math.min(SAMPLE_RUN, nodes - start)]);
  }
  runs.push([Math.max(0, nodes - SAMPLE_EDGE), Math.min(SAMPLE_EDGE, nodes)]);
  return runs;
}

/**
 * Checks a file found without our sidecar: the parents of the sampled nodes must equal the
 * graph's; then its digest is recorded (source 'adopted'). False when a sampled node differs.
 */
async function adopt(graph: SdrGraph, path: string, manifestPath: string, options: ParentCacheOptions): Promise<boolean> {
  const fh = await open(path, constants.O_RDONLY);
  try {
    for (const [start, count] of parentCacheSample(graph.nodes)) {
      options.throwIfCancelled?.();
      const expected = graphParents(graph, start, count, undefined, options.cancel);
      const found = new Uint8Array(count * PARENT_BYTES_PER_NODE);
      const { bytesRead } = await fh.read(found, 0, found.length, start * PARENT_BYTES_PER_NODE);
      if (bytesRead !== found.length || Buffer.compare(found, new Uint8Array(expected.buffer)) !== 0) return false;
    }
  } finally {
    await fh.close();
  }
  const manifest: CacheManifest = {
    v: 1,
    identity: graphIdentity(graph),
    nodes: graph.nodes,
    size: graph.nodes * PARENT_BYTES_PER_NODE,
    sha256: await fileSha256(path),
    source: 'adopted',
  };
  await writeFileDurable(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  verified.set(path, statKey(await stat(path)));
  return true;
}

/** Computes every node's parents in chunks into a temp file, then publishes file and sidecar. */
async function generate(graph: SdrGraph, path: string, manifestPath: string, options: ParentCacheOptions): Promise<void> {
  const file = await DurableTempFile.open(path);
  const h = createHash('sha256');
  const chunk = new Uint32Array(PARENT_CHUNK_NODES * PARENTS_PER_NODE);
  try {
    for (let start = 0; start < graph.nodes; start += PARENT_CHUNK_NODES) {
      options.throwIfCancelled?.();
      const count = Math.min(PARENT_CHUNK_NODES, graph.nodes - start);
      const parents = graphParents(graph, start, count, chunk, options.cancel);
      const bytes = new Uint8Array(parents.buffer, parents.byteOffset, count * PARENT_BYTES_PER_NODE);
      h.update(bytes);
      await file.handle.write(bytes, 0, bytes.length, start * PARENT_BYTES_PER_NODE);
      options.onProgress?.(start + count, graph.nodes);
      if (start + count < graph.nodes) crashPoint('parent-cache.mid-generation');
    }
    // the sidecar goes first: a .cache file under its real name then always has its record, so
    // another process opening it meanwhile never mistakes it for a file someone else wrote
    const manifest: CacheManifest = {
      v: 1,
      identity: graphIdentity(graph),
      nodes: graph.nodes,
      size: graph.nodes * PARENT_BYTES_PER_NODE,
      sha256: h.digest('hex'),
      source: 'generated',
    };
    await writeFileDurable(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
    await file.commit();
  } catch (err) {
    await file.discard();
    throw err;
  }
  const s = await stat(path);
  verified.set(path, statKey(s));
}
