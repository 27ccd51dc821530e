/**
 * The store that workers and the manager use (Lotus `extern/sector-storage/stores/remote.go`): the local store plus
 * fetching missing sector files from other nodes over HTTP.
 *
 * A fetch goes to `<type>/fetching/<name>` on the chosen local path (space reserved first), is
 * fsynced, renamed into place and only then declared in the index; so a process killed midway
 * leaves neither a partial file under a sector name nor an index row. What it leaves in
 * `fetching/` (with its progress record) is resumed by the next fetch of that file, after the
 * kept bytes are checked against the holder's (fetch-engine.ts): files and, from peers that offer
 * it, cache directories file by file, in parallel byte ranges. From a peer that does not (Lotus)
 * a cache directory comes as one tar stream, from the start. A stalled peer fails on an idle
 * timeout rather than an overall deadline (a 32 GiB cache fetch is slow, not dead). Holders are
 * tried best first (weight descending; Lotus sorts ascending by mistake).
 */
import { mkdir, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import {
  AbortedError,
  CacheCorruptError,
  FetchFailedError,
  FileNotFoundError,
  InvalidArgumentError,
  noSpaceFrom,
  StorageNotFoundError,
} from '../errors.js';
import { sealProofInfo } from '../sector/proofs.js';
import {
  FS_OVERHEAD_FINALIZED,
  FS_OVERHEAD_SEAL,
  FileType,
  type FileTypeName,
  type SectorId,
  type SectorRef,
  sectorName,
} from '../sector/sector-id.js';
import { paddedIndex } from '../sector/sizes.js';
import { renameDurable } from '../fs/durable.js';
import { type FetchOptions, type FetchStats, fetchDirByFiles, fetchFile } from './fetch-engine.js';
import { downloadOf, journalPathOf, readFetchJournal, recordedBytes, removeFetchJournal } from './fetch-journal.js';
import { cacheFileUrl } from './fetch-protocol.js';
import { Limiter, readText, sendRequest } from './http-client.js';
import { sectorFetchPath, sectorFilePath } from '../sector/layout.js';
import { type LocalStore, maskTypes } from './local-store.js';
import type { CatalogClient } from './catalog-client.js';
import type { AcquireMode, FsStat, PathType, SectorPaths, SectorStorageInfo } from './storage-types.js';
import { extractTar } from './tar.js';
import { isUnsealed, readUnsealed, type UnsealedReaderDeps } from './unsealed-reader.js';
import { type Logger, defaultLogger } from '../log/logger.js';

const MiB = 1024 * 1024;

/** Options of {@link RemoteStore}. */
export interface RemoteStoreOptions {
  local: LocalStore;
  /** @default local.catalog */
  catalog?: CatalogClient;
  /** Bearer token (admin) sent to other nodes' `/remote`. */
  token?: string;
  /** Concurrent downloads on this node (Lotus: 10 on the miner, 5 on workers). @default 5 */
  parallelFetchLimit?: number;
  /** A download fails when no byte arrives for this long. @default 60_000 */
  idleTimeoutMs?: number;
  /** Range-resume attempts of a byte range after its connection dropped. @default 3 */
  resumeAttempts?: number;
  /**
   * Connections of one download (parallel byte ranges, or cache files at once). Two keep both
   * ends busy while the disk writes; more add no throughput on a loopback of two cores, and each
   * one can hold a full TCP receive window that a killed fetch has to be sent again. @default 2
   */
  streams?: number;
  /** Smallest byte range worth its own connection. @default 64 MiB */
  segmentBytes?: number;
  /** New bytes of a file between flushing it and recording the progress a resume starts from. @default 64 MiB */
  checkpointBytes?: number;
  /** Write block size of a download connection (3 blocks each). @default 4 MiB */
  blockSize?: number;
  /** @default defaultLogger() (src/log) */
  log?: Logger;
  /**
   * Told after each download from a holder: bytes received over the network, bytes written past
   * the page cache (`direct`, fetch-writer.ts), its duration, and whether it succeeded (metrics).
   */
  onFetched?: (f: { type: FileTypeName; bytes: number; direct: number; seconds: number; ok: boolean }) => void;
}

/** Options of one acquire. */
export interface AcquireOptions {
  signal?: AbortSignal;
  /** Observes download progress (bytes received so far of one file). */
  onProgress?: (p: { type: FileTypeName; url: string; bytes: number }) => void;
}

/** Local store + HTTP fetch from other nodes. */
export class RemoteStore {
  readonly local: LocalStore;
  readonly catalog: CatalogClient;
  readonly limiter: Limiter;
  readonly #token: string | undefined;
  readonly #idleMs: number;
  readonly #resumeAttempts: number;
  readonly #streams: number;
  readonly #segmentBytes: number;
  readonly #checkpointBytes: number;
  readonly #blockSize: number | undefined;
  readonly #viaNode = new Set<string>();
  readonly #log: Logger;
  readonly #busy = new Map<string, Promise<void>>();
  /** `fetching/` entries being written by a download of this store right now. */
  readonly #fetching = new Set<string>();
  readonly #onFetched: RemoteStoreOptions['onFetched'];

  constructor(options: RemoteStoreOptions) {
    this.local = options.local;
    this.catalog = options.catalog ?? options.local.catalog;
    this.limiter = new Limiter(options.parallelFetchLimit ?? 5);
    this.#token = options.token;
    this.#idleMs = options.idleTimeoutMs ?? 60_000;
    this.#resumeAttempts = options.resumeAttempts ?? 3;
    this.#streams = positive(options.streams ?? 2, 'streams');
    this.#segmentBytes = positive(options.segmentBytes ?? 64 * MiB, 'segmentBytes');
    this.#checkpointBytes = positive(options.checkpointBytes ?? 64 * MiB, 'checkpointBytes');
    this.#blockSize = options.blockSize;
    this.#log = options.log ?? defaultLogger();
    this.#onFetched = options.onFetched;
  }

  /**
   * Makes the sector's files of `existing` available locally (fetching the missing ones into
   * `pathType` paths; `move` deletes the source and makes the new copy primary) and allocates
   * `allocate`. Acquires of the same sector on this node run one after the other.
   */
  async acquireSector(
    ref: SectorRef,
    existing: number,
    allocate: number,
    pathType: PathType,
    mode: AcquireMode,
    options: AcquireOptions = {},
  ): Promise<SectorPaths> {
    maskTypes(existing);
    maskTypes(allocate);
    if ((existing & allocate) !== 0) throw new InvalidArgumentError("can't both find and allocate a sector");
    if (mode !== 'move' && mode !== 'copy') throw new InvalidArgumentError(`acquire mode ${JSON.stringify(mode)} is not "move" or "copy"`);
    const release = await this.#serialise(ref.id, options.signal);
    try {
      const out = await this.local.acquireSector(ref, existing, allocate, pathType);
      const toFetch = maskTypes(existing).filter((t) => out.paths[t] === undefined);
      if (toFetch.length === 0) return out;
      const mask = toFetch.reduce((m, t) => m | FileType[t], 0);
      const alloc = await this.local.allocate(ref, mask, pathType, pathType === 'sealing' ? 'sealing' : 'finalized');
      try {
        for (const t of toFetch) {
          const destId = alloc.storages[t] as string;
          const root = this.local.pathRoot(destId);
          const url = await this.#fetchFromRemote(ref, t, root, pathType, options);
          try {
            await this.local.declareSector(destId, ref.id, t, mode === 'move');
          } catch (err) {
            // An undeclared copy is invisible to the index and outside any reservation once this
            // returns; drop it (the source is untouched: a move deletes it only after declaring).
            await rm(sectorFilePath(root, t, ref.id), { recursive: true, force: true });
            throw err;
          }
          out.paths[t] = sectorFilePath(root, t, ref.id);
          out.storages[t] = destId;
          if (mode === 'move') await this.#deleteRemote(url);
        }
      } finally {
        alloc.reservation.release();
      }
      return out;
    } finally {
      release();
    }
  }

  /** True when `path` (a `fetching/` entry, its progress record or a temporary of that) is being written by a download of this store now. */
  isFetching(path: string): boolean {
    return this.#fetching.has(join(dirname(path), downloadOf(basename(path))));
  }

  /**
   * One file of the sector's cache directory read from another node into memory
   * (`<entry>/files/<name>`), without copying the cache here: what a task needs of a cache it does
   * not otherwise use (C2 needs only C1's output; Lotus passes that output in the call). Holders
   * are tried best first; FILE_NOT_FOUND when none has the file, FETCH_FAILED when none answered.
   * A file larger than `maxBytes` is refused (CACHE_CORRUPT).
   */
  async readCacheFile(sector: SectorId, name: string, maxBytes: number, signal?: AbortSignal): Promise<Buffer> {
    const holders = sortByWeight(await this.catalog.storageFindSector(sector, FileType.cache, 0, false)).filter(
      (h) => this.local.localRoot(h.ID) === undefined,
    );
    const errors: string[] = [];
    let missing = 0;
    for (const url of holders.flatMap((h) => h.URLs)) {
      const fileUrl = cacheFileUrl(url, name);
      const release = await this.limiter.acquire(signal);
      try {
        const res = await sendRequest(fileUrl, { headers: this.#headers(), signal, idleMs: this.#idleMs });
        if (res.statusCode === 404) {
          res.resume();
          missing++;
          continue;
        }
        if (res.statusCode !== 200) {
          errors.push(`${fileUrl}: HTTP ${res.statusCode} ${(await readText(res)).slice(0, 200)}`);
          continue;
        }
        const chunks: Buffer[] = [];
        let n = 0;
        for await (const chunk of res as AsyncIterable<Buffer>) {
          n += chunk.length;
          if (n > maxBytes) {
            res.destroy();
            throw new CacheCorruptError(`${fileUrl} is larger than the ${maxBytes} bytes expected`);
          }
          chunks.push(chunk);
        }
        return Buffer.concat(chunks);
      } catch (err) {
        if (err instanceof AbortedError || err instanceof CacheCorruptError || signal?.aborted) throw err;
        errors.push(`${fileUrl}: ${(err as Error).message}`);
      } finally {
        release();
      }
    }
    if (errors.length === 0) {
      throw new FileNotFoundError(`no other node holds ${name} of the cache of ${sectorName(sector)}${missing > 0 ? ` (${missing} holder(s) answered 404)` : ''}`);
    }
    throw new FetchFailedError(`reading ${name} of the cache of ${sectorName(sector)} failed from every holder: ${errors.join('; ')}`);
  }

  /** Removes one file type everywhere: local copies first, then each remote holder via HTTP DELETE. */
  async remove(sector: SectorId, type: number, force: boolean): Promise<void> {
    await this.local.remove(sector, type, force);
    const holders = await this.catalog.storageFindSector(sector, type, 0, false);
    for (const h of holders) {
      if (this.local.localRoot(h.ID) !== undefined) continue;
      let ok = false;
      for (const url of h.URLs) {
        try {
          await this.#deleteRemote(url, true);
          ok = true;
          break;
        } catch (err) {
          this.#log.warn(`remove ${url}: ${(err as Error).message}`);
        }
      }
      if (!ok) this.#log.info(`could not remove ${sectorName(sector)} (type ${type}) from storage ${h.ID}`);
    }
  }

  /** Removes non-primary local copies (remote copies are their nodes' business). */
  removeCopies(sector: SectorId, type: number): Promise<void> {
    return this.local.removeCopies(sector, type);
  }

  /** Pulls `types` local (storage path type, move mode), then moves them to a storage path. */
  async moveStorage(ref: SectorRef, types: number, options: AcquireOptions = {}): Promise<SectorPaths> {
    await this.acquireSector(ref, types, 0, 'storage', 'move', options);
    return this.local.moveStorage(ref, types);
  }

  /** FsStat of any storage: local directly, otherwise `GET <url>/stat/<id>` on a node serving it. */
  async fsStat(id: string, signal?: AbortSignal): Promise<FsStat> {
    if (this.local.localRoot(id) !== undefined) return this.local.fsStat(id);
    const info = await this.catalog.storageInfo(id);
    const errors: string[] = [];
    for (const base of info.URLs) {
      try {
        const res = await sendRequest(`${base}/stat/${encodeURIComponent(id)}`, { headers: this.#headers(), signal, idleMs: this.#idleMs });
        const body = await readText(res);
        if (res.statusCode === 200) return JSON.parse(body) as FsStat;
        if (res.statusCode === 404) throw new StorageNotFoundError(`fsstat: path not found: storage ${id} is not local to ${base}`);
        errors.push(`${base}: HTTP ${res.statusCode} ${body.slice(0, 200)}`);
      } catch (err) {
        if (err instanceof StorageNotFoundError || err instanceof AbortedError) throw err;
        errors.push(`${base}: ${(err as Error).message}`);
      }
    }
    throw new FetchFailedError(`fsstat of storage ${id} failed: ${errors.join('; ') || 'it has no URLs'}`);
  }

  /**
   * Whether the unpadded range `[offset, offset+size)` of the sector's unsealed file is allocated,
   * on a local copy or, failing that, on any remote holder (`allocated` probe; best weight first).
   */
  checkAllocated(ref: SectorRef, offset: number, size: number, signal?: AbortSignal): Promise<boolean> {
    return isUnsealed(this.#readerDeps(), ref, paddedIndex(offset), paddedIndex(size), signal);
  }

  /**
   * The padded bytes `[offset, offset+size)` of the sector's unsealed data, read from a local copy
   * or streamed from a remote holder that has the range allocated; null when no copy has it
   * (Lotus `Reader`; see unsealed-reader.ts).
   */
  reader(ref: SectorRef, offset: number, size: number, signal?: AbortSignal): Promise<AsyncGenerator<Uint8Array> | null> {
    return readUnsealed(this.#readerDeps(), ref, offset, size, signal);
  }

  #readerDeps(): UnsealedReaderDeps {
    return { local: this.local, catalog: this.catalog, limiter: this.limiter, headers: (extra) => this.#headers(extra), idleMs: this.#idleMs, log: this.#log };
  }

  #headers(extra: Record<string, string> = {}): Record<string, string> {
    return this.#token ? { Authorization: `Bearer ${this.#token}`, ...extra } : extra;
  }

  /** Waits for other acquires of the same sector on this node; returns this one's release. */
  async #serialise(sector: SectorId, signal?: AbortSignal): Promise<() => void> {
    const key = `${sector.miner}-${sector.number}`;
    for (;;) {
      const running = this.#busy.get(key);
      if (!running) break;
      await abortable(running, signal, `waiting for another acquire of ${sectorName(sector)}`);
    }
    let done!: () => void;
    const p = new Promise<void>((resolve) => {
      done = resolve;
    });
    this.#busy.set(key, p);
    return () => {
      this.#busy.delete(key);
      done();
    };
  }

  /** Downloads one file type from the best remote holder into `root`; returns the URL used. */
  async #fetchFromRemote(ref: SectorRef, t: FileTypeName, root: string, pathType: PathType, options: AcquireOptions): Promise<string> {
    const sector = ref.id;
    const holders = sortByWeight(await this.catalog.storageFindSector(sector, FileType[t], 0, false)).filter(
      (h) => this.local.localRoot(h.ID) === undefined,
    );
    if (holders.length === 0) {
      throw new FileNotFoundError(`sector not found: no other node holds the ${t} file of ${sectorName(sector)}`);
    }
    // the index lists an unhealthy holder without URLs: its node is probably gone
    if (holders.every((h) => h.URLs.length === 0)) {
      throw new FetchFailedError(
        `no holder of the ${t} file of ${sectorName(sector)} is offered for fetching (their paths' heartbeats are stale or failing: ${holders.map((h) => h.ID).join(', ')})`,
      );
    }
    // a holder claiming more than was reserved (with a sector of slack for trailers) is refused
    const ssize = sealProofInfo(ref.proofType).sectorSize;
    const table = pathType === 'sealing' ? FS_OVERHEAD_SEAL : FS_OVERHEAD_FINALIZED;
    const maxBytes = Math.floor((table[t] * ssize) / 10) + ssize + MiB;
    const final = sectorFilePath(root, t, sector);
    const temp = sectorFetchPath(root, t, sector);
    const errors: string[] = [];
    this.#fetching.add(temp);
    try {
      await mkdir(dirname(temp), { recursive: true, mode: 0o755 });
      await rm(final, { recursive: true, force: true });
      for (const h of holders) {
        for (const url of h.URLs) {
          const began = performance.now();
          try {
            const stats = await this.#download(url, temp, t, maxBytes, options);
            this.#onFetched?.({ type: t, bytes: stats.received, direct: stats.direct, seconds: (performance.now() - began) / 1000, ok: true });
            await removeFetchJournal(journalPathOf(temp));
            await renameDurable(temp, final);
            if (errors.length > 0) this.#log.warn(`fetched ${url} after failures: ${errors.join('; ')}`);
            return url;
          } catch (err) {
            this.#onFetched?.({ type: t, bytes: 0, direct: 0, seconds: (performance.now() - began) / 1000, ok: false });
            if (err instanceof AbortedError || options.signal?.aborted) {
              await discardDownload(temp);
              throw err;
            }
            // another holder does not make room on this disk
            const full = noSpaceFrom(err, `the download of ${url} into ${temp}`);
            if (full !== err) {
              await discardDownload(temp);
              throw full;
            }
            errors.push(`${url}: ${(err as Error).message}`);
          }
        }
      }
      // what arrived stays for the next fetch to resume from, if it was recorded
      if (!(await resumable(temp))) await discardDownload(temp);
      throw new FetchFailedError(`fetching ${t} of ${sectorName(sector)} failed from every holder: ${errors.join('; ')}`);
    } finally {
      this.#fetching.delete(temp);
    }
  }

  async #download(url: string, temp: string, t: FileTypeName, maxBytes: number, options: AcquireOptions): Promise<FetchStats> {
    const release = await this.limiter.acquire(options.signal);
    try {
      const o: FetchOptions = {
        headers: (extra) => this.#headers(extra),
        ...(options.signal ? { signal: options.signal } : {}),
        idleMs: this.#idleMs,
        streams: this.#streams,
        segmentBytes: this.#segmentBytes,
        checkpointBytes: this.#checkpointBytes,
        resumeAttempts: this.#resumeAttempts,
        maxBytes,
        ...(this.#blockSize ? { blockSize: this.#blockSize } : {}),
        viaNode: this.#viaNode,
        ...(options.onProgress ? { onProgress: (bytes: number) => options.onProgress?.({ type: t, url, bytes }) } : {}),
        log: this.#log,
      };
      if (t !== 'cache') return await fetchFile(url, temp, o);
      const stats = await fetchDirByFiles(url, temp, o);
      if (stats) return stats;
      // a peer without per-file fetch (Lotus): one tar stream, from the start
      await discardDownload(temp);
      return await this.#downloadTar(url, temp, options);
    } finally {
      release();
    }
  }

  async #downloadTar(url: string, temp: string, options: AcquireOptions): Promise<FetchStats> {
    const res = await sendRequest(url, { headers: this.#headers(), signal: options.signal, idleMs: this.#idleMs });
    await expectOk(res, url, [200]);
    const type = String(res.headers['content-type'] ?? '');
    if (type !== 'application/x-tar') {
      res.resume();
      throw new FetchFailedError(`${url}: unknown content type ${JSON.stringify(type)} for a cache directory`);
    }
    let bytes = 0;
    const counted = async function* (src: AsyncIterable<Buffer>) {
      for await (const c of src) {
        bytes += c.length;
        options.onProgress?.({ type: 'cache', url, bytes });
        yield c;
      }
    };
    await extractTar(counted(res), temp);
    return { size: bytes, kept: 0, received: bytes, check: 'none', direct: 0 };
  }

  async #deleteRemote(url: string, throwOnError = false): Promise<void> {
    try {
      const res = await sendRequest(url, { method: 'DELETE', headers: this.#headers(), idleMs: this.#idleMs });
      const body = await readText(res);
      if (res.statusCode !== 200) throw new FetchFailedError(`DELETE ${url}: HTTP ${res.statusCode} ${body.slice(0, 200)}`);
    } catch (err) {
      if (throwOnError) throw err;
      this.#log.warn(`removing the source copy ${url} failed: ${(err as Error).message}`);
    }
  }
}

/** Holders best first: weight descending, primary copies before others (Lotus sorts ascending). */
export function sortByWeight(holders: readonly SectorStorageInfo[]): SectorStorageInfo[] {
  return [...holders].sort((a, b) => b.Weight - a.Weight || Number(b.Primary) - Number(a.Primary));
}

async function expectOk(res: import('node:http').IncomingMessage, url: string, ok: number[]): Promise<void> {
  if (ok.includes(res.statusCode ?? 0)) return;
  const body = await readText(res, 4096).catch(() => '');
  throw new FetchFailedError(`${url}: HTTP ${res.statusCode} ${body.slice(0, 300)}`.trim());
}

function positive(n: number, what: string): number {
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`options.${what} must be a positive integer (got ${n})`);
  return n;
}

/** True when a `fetching/` entry has a progress record with recorded bytes. */
async function resumable(temp: string): Promise<boolean> {
  const j = await readFetchJournal(journalPathOf(temp));
  return j !== undefined && Object.values(j.files).some((f) => recordedBytes(f) > 0);
}

/** Removes a download and its progress record. */
async function discardDownload(temp: string): Promise<void> {
  await rm(temp, { recursive: true, force: true });
  await removeFetchJournal(journalPathOf(temp));
}

function abortable<T>(p: Promise<T>, signal: AbortSignal | undefined, what: string): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(new AbortedError(`${what} was cancelled`));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new AbortedError(`${what} was cancelled`));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
