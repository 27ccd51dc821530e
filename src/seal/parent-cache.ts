/**
 * The parent cache (rust-fil-proofs `stacked/vanilla/cache.rs`): one file per graph holding, for every node in
 * order, its 14 parents as u32 LE (6 base then 8 expander; 56 bytes per node). Parents are
 * computed once per graph (sector size + porep id + API version) and reused by every sector,
 * and PC1 streams them in chunks so its memory stays flat.
 *
 * Files live in a cache directory (`SECTOR_STORAGE_PARENT_CACHE`, default
 * `<tmpdir>/sector-storage-parents`) as `v28-sdr-parent-<hex>.cache`, the naming scheme of
 * rust-fil-proofs; `<hex>` is the SHA-256 of our own graph identity string, so the names do not
 * collide with upstream's files (the layout is the same). Each file has a sidecar
 * `v28-sdr-parent-<hex>.json` recording its SHA-256; a file is verified against it the first
 * time a process opens it and regenerated when it does not match. Both are written atomically
 * (temp file, fsync, rename), so a crash never leaves a half-written cache that looks valid.
 */
import { createHash } from 'node:crypto';
import { constants, type FileHandle, mkdir, open, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PARENTS_PER_NODE } from '../../native/sdr.js';
import { CacheCorruptError, InvalidArgumentError } from '../errors.js';
import { DurableTempFile, writeFileDurable } from '../fs/durable.js';
import { graphIdentity, graphParents, type SdrGraph } from './graph.js';

/** Bytes per node in a cache file. */
export const PARENT_BYTES_PER_NODE = PARENTS_PER_NODE * 4;
/** Nodes per chunk when generating or streaming a cache (3.5 MiB of parents). */
export const PARENT_CHUNK_NODES = 1 << 16;

/** The parent cache directory: `SECTOR_STORAGE_PARENT_CACHE`, else `<tmpdir>/sector-storage-parents`. */
export function parentCacheDir(): string {
  const env = process.env.SECTOR_STORAGE_PARENT_CACHE;
  return env !== undefined && env !== '' ? env : join(tmpdir(), 'sector-storage-parents');
}

/** `v28-sdr-parent-<hex>` for a graph (without extension). */
export function parentCacheBaseName(graph: SdrGraph): string {
  return `v28-sdr-parent-${createHash('sha256').update(graphIdentity(graph)).digest('hex')}`;
}

/** The sidecar record of a cache file. */
interface CacheManifest {
  v: 1;
  identity: string;
  nodes: number;
  size: number;
  sha256: string;
}

/** How {@link ParentCache.open} found the file. */
export type ParentCacheStatus = 'created' | 'verified' | 'repaired';

/** Options of {@link ParentCache.open}. */
export interface ParentCacheOptions {
  /** @default parentCacheDir() */
  readonly dir?: string | undefined;
  /** Called while a missing or damaged cache is generated (nodes done out of total). */
  readonly onProgress?: ((done: number, total: number) => void) | undefined;
  /** Checked between chunks of generation; throw to abandon it (nothing is left behind). */
  readonly throwIfCancelled?: (() => void) | undefined;
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
    let status: ParentCacheStatus = 'verified';
    const check = await checkCache(graph, path, manifestPath);
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

/** 'ok' when the file exists and matches its sidecar digest (checked once per thread). */
async function checkCache(graph: SdrGraph, path: string, manifestPath: string): Promise<'ok' | 'missing' | 'damaged'> {
  let s: Awaited<ReturnType<typeof stat>>;
  try {
    s = await stat(path);
  } catch {
    return 'missing';
  }
  const manifest = await readManifest(manifestPath);
  if (!manifest) return 'missing';
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

/** Computes every node's parents in chunks into a temp file, then publishes file and sidecar. */
async function generate(graph: SdrGraph, path: string, manifestPath: string, options: ParentCacheOptions): Promise<void> {
  const file = await DurableTempFile.open(path);
  const h = createHash('sha256');
  const chunk = new Uint32Array(PARENT_CHUNK_NODES * PARENTS_PER_NODE);
  try {
    for (let start = 0; start < graph.nodes; start += PARENT_CHUNK_NODES) {
      options.throwIfCancelled?.();
      const count = Math.min(PARENT_CHUNK_NODES, graph.nodes - start);
      const parents = graphParents(graph, start, count, chunk);
      const bytes = new Uint8Array(parents.buffer, parents.byteOffset, count * PARENT_BYTES_PER_NODE);
      h.update(bytes);
      await file.handle.write(bytes, 0, bytes.length, start * PARENT_BYTES_PER_NODE);
      options.onProgress?.(start + count, graph.nodes);
    }
    await file.commit();
  } catch (err) {
    await file.discard();
    throw err;
  }
  const manifest: CacheManifest = {
    v: 1,
    identity: graphIdentity(graph),
    nodes: graph.nodes,
    size: graph.nodes * PARENT_BYTES_PER_NODE,
    sha256: h.digest('hex'),
  };
  await writeFileDurable(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  const s = await stat(path);
  verified.set(path, statKey(s));
}
