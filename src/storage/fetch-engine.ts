/**
 * Downloading a sector file, or a cache directory file by file, from one holder URL into a
 * `fetching/` entry: in parallel byte ranges, at the disk's pace, resumable after a crash.
 *
 * - **Size first.** A file is probed (`Range: bytes=0-0`: its size and validator); a cache
 *   directory is listed (`<entry>/files`, fetch-protocol.ts; a peer without that route gets the
 *   tar path of remote-store.ts). A size beyond what was reserved is refused before anything is
 *   written, and every later response must agree with it (status, `Content-Range`, length).
 * - **Parallel ranges.** What is missing is cut into segments (at least `segmentBytes` each) and
 *   fetched over up to `streams` connections at once, each written at its offset by a
 *   {@link RangeWriter} fed by the raw client (raw-http.ts); a segment whose connection drops is
 *   resumed from the last byte written, a few times.
 * - **Resume.** Every `recordBytes` of new data the ranges written so far are recorded
 *   (fetch-journal.ts), and every `checkpointBytes` the files are first flushed (fdatasync), which
 *   also keeps dirty pages few and the final fsync short. A later fetch into the same entry (after
 *   `kill -9`, a reboot, a failed holder) keeps recorded ranges only after checking them: the
 *   holder's SHA-256 of every 4 MiB chunk (`digests` route) against the same digests of the bytes
 *   on disk, chunk by chunk, so what a power loss took is found and fetched again. A holder
 *   without that route (Lotus) is checked by re-reading the last chunk of each flushed range;
 *   unflushed ranges are not trusted then, and a mismatch drops the file's progress. Only what is
 *   missing or failed the check is fetched again. If-Range (ETag, else Last-Modified) keeps a
 *   holder's file that changed during the fetch from being mixed with the old one.
 *
 * The entry becomes complete files truncated to their sizes and fsynced; giving it its final name,
 * declaring it and removing the record are the caller's (remote-store.ts).
 */
import { constants } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { AbortedError, FetchFailedError } from '../errors.js';
import { fsyncDir } from '../fs/durable.js';
import {
  type ByteRange,
  type FetchJournal,
  JOURNAL_SUFFIX,
  journalPathOf,
  mergeRanges,
  missingRanges,
  rangeBytes,
  readFetchJournal,
  writeFetchJournal,
} from './fetch-journal.js';
import { type CacheFileEntry, cacheFileUrl, DIGEST_CHUNK, filesUrl } from './fetch-protocol.js';
import { directBlock, openDirect, RangeWriter } from './fetch-writer.js';
import { checkOctets, checkRangeHead, get, isFatal, type TransportOptions } from './fetch-transport.js';
import { type Claim, verifyClaim } from './fetch-verify.js';
import { readText, sendRequest } from './http-client.js';
import type { Logger } from '../log/logger.js';

const MiB = 1024 * 1024;

/** Options of one download. */
export interface FetchOptions extends TransportOptions {
  /** Connections at once. */
  streams: number;
  /** Smallest segment worth its own connection. */
  segmentBytes: number;
  /** New bytes between flushing the files (and recording that). */
  checkpointBytes: number;
  /** New bytes between records of what was written. @default the digest chunk (4 MiB) */
  recordBytes?: number;
  /** Range-resume attempts of a segment after its connection dropped. */
  resumeAttempts: number;
  /** The most bytes the download may have in total (what was reserved for it, with slack). */
  maxBytes: number;
  /** Bytes of each write block, and blocks per connection. */
  blockSize?: number;
  blocks?: number;
  /** Bytes present so far (kept + received), after every write. */
  onProgress?: (bytes: number) => void;
  log: Logger;
}

/** What a download did. */
export interface FetchStats {
  /** Total bytes of the entry. */
  size: number;
  /** Bytes kept from an earlier attempt (checked against the holder). */
  kept: number;
  /** Bytes received over the network this time (bodies of data requests and checks). */
  received: number;
  /** How kept bytes were checked. */
  check: 'digests' | 'last-chunk' | 'none';
  /** Bytes written to disk directly (O_DIRECT; the rest went through the page cache). */
  direct: number;
}

/** One file of a download. */
interface Target {
  name: string;
  url: string;
  path: string;
  size: number;
  /** `If-Range` value, when the holder gave one. */
  validator?: string;
  fh?: FileHandle;
  /** The same file opened for direct writes, where the filesystem allows it (fetch-writer.ts). */
  direct?: FileHandle;
  /** Written ranges of finished segments (and kept ones). */
  written: ByteRange[];
  /** Segments being written: their start and writer. */
  active: Set<{ start: number; writer: RangeWriter }>;
  /** Ranges flushed to disk (as last recorded). */
  synced: ByteRange[];
}

/** Downloads a file from `url` into `temp` (resuming from `temp`'s progress record). */
export async function fetchFile(url: string, temp: string, o: FetchOptions): Promise<FetchStats> {
  const journalPath = journalPathOf(temp);
  const journal = await readFetchJournal(journalPath);
  const st = await stat(temp).catch(() => undefined);
  if (st && !st.isFile()) await rm(temp, { recursive: true, force: true });
  const fh = await open(temp, constants.O_RDWR | constants.O_CREAT, 0o644);
  const direct = await openDirect(temp);
  const target: Target = { name: '', url, path: temp, size: 0, fh, ...(direct ? { direct } : {}), written: [], active: new Set(), synced: [] };
  const stats: FetchStats = { size: 0, kept: 0, received: 0, check: 'none', direct: 0 };
  try {
    const probe = await probeFile(target, o, stats);
    if (probe === 'whole') {
      // the holder ignores Range: its answer to the probe was the whole file
      target.written = [[0, target.size]];
    } else {
      const p = journal?.kind === 'file' ? journal.files[''] : undefined;
      const claims = new Map<Target, Claim>();
      if (p && p.size === target.size && (p.written ?? p.ranges).length > 0) claims.set(target, { synced: p.ranges, written: p.written ?? p.ranges });
      else await fh.truncate(0);
      const d = new Download('file', journalPath, [target], o, stats);
      await d.run(claims);
    }
    await finishFile(target);
    return stats;
  } finally {
    await target.direct?.close().catch(() => {});
    await target.fh?.close().catch(() => {});
  }
}

/**
 * Downloads a cache directory from `url` into the directory `temp` file by file; resolves with
 * undefined (having written nothing) when the holder has no `files` route.
 */
export async function fetchDirByFiles(url: string, temp: string, o: FetchOptions): Promise<FetchStats | undefined> {
  const list = await listFiles(url, o);
  if (list === undefined) return undefined;
  const total = list.reduce((n, f) => n + f.size, 0);
  if (total > o.maxBytes) {
    throw new FetchFailedError(`${url}: the holder lists ${total} bytes of files, more than the ${o.maxBytes} bytes this fetch may take`);
  }
  const journalPath = journalPathOf(temp);
  const journal = await readFetchJournal(journalPath);
  const st = await stat(temp).catch(() => undefined);
  if (st && !st.isDirectory()) await rm(temp, { force: true });
  await mkdir(temp, { recursive: true, mode: 0o755 });
  const names = new Set(list.map((f) => f.name));
  for (const stale of await readdir(temp)) if (!names.has(stale)) await rm(join(temp, stale), { recursive: true, force: true });
  const targets: Target[] = list.map((f) => ({
    name: f.name,
    url: cacheFileUrl(url, f.name),
    path: join(temp, f.name),
    size: f.size,
    written: [],
    active: new Set(),
    synced: [],
  }));
  const stats: FetchStats = { size: total, kept: 0, received: 0, check: 'none', direct: 0 };
  try {
    for (const t of targets) {
      t.fh = await open(t.path, constants.O_RDWR | constants.O_CREAT, 0o644);
      t.direct = await openDirect(t.path);
    }
    const claims = new Map<Target, Claim>();
    for (const t of targets) {
      const p = journal?.kind === 'dir' ? journal.files[t.name] : undefined;
      if (p && p.size === t.size && (p.written ?? p.ranges).length > 0) claims.set(t, { synced: p.ranges, written: p.written ?? p.ranges });
      else await t.fh?.truncate(0);
    }
    const d = new Download('dir', journalPath, targets, o, stats);
    await d.run(claims);
    for (const t of targets) await finishFile(t);
    await fsyncDir(temp);
    return stats;
  } finally {
    for (const t of targets) {
      await t.direct?.close().catch(() => {});
      await t.fh?.close().catch(() => {});
    }
  }
}

/** Truncates a complete file to its size and fsyncs it. */
async function finishFile(t: Target): Promise<void> {
  const fh = t.fh as FileHandle;
  await fh.truncate(t.size);
  await fh.sync();
}

/** The `files` listing of a cache directory, or undefined when the holder does not offer it. */
async function listFiles(url: string, o: FetchOptions): Promise<CacheFileEntry[] | undefined> {
  const res = await sendRequest(filesUrl(url), { headers: o.headers(), signal: o.signal, idleMs: o.idleMs });
  const text = await readText(res);
  if (res.statusCode !== 200) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new FetchFailedError(`${filesUrl(url)}: the file list is not JSON`);
  }
  if (!Array.isArray(parsed)) throw new FetchFailedError(`${filesUrl(url)}: the file list is not a list`);
  const seen = new Set<string>();
  return parsed.map((e: unknown) => {
    const f = e as { name?: unknown; size?: unknown };
    if (typeof f?.name !== 'string' || f.name === '' || f.name === '.' || f.name === '..' || /[/\\\0]/.test(f.name) || seen.has(f.name)) {
      throw new FetchFailedError(`${filesUrl(url)}: file name ${JSON.stringify(f?.name)} refused (plain, unique names only)`);
    }
    if (!Number.isSafeInteger(f.size) || (f.size as number) < 0) throw new FetchFailedError(`${filesUrl(url)}: size of ${f.name} is not a byte count`);
    seen.add(f.name);
    return { name: f.name, size: f.size as number };
  });
}

/** `Range: bytes=0-0`: the file's size and validator; 'whole' when the holder sent the whole file instead. */
async function probeFile(t: Target, o: FetchOptions, stats: FetchStats): Promise<'ranges' | 'whole'> {
  let whole: RangeWriter | undefined;
  const result = await get(t.url, o, { Range: 'bytes=0-0' }, (head) => {
    if (head.status === 200) {
      checkOctets(t.url, head);
      if (head.length > o.maxBytes) throw tooLarge(t.url, head.length, o.maxBytes);
      t.size = head.length;
      whole = new RangeWriter(t.fh as FileHandle, 0, writerOptions(o, t, () => o.onProgress?.(whole?.done ?? 0)));
      return { sink: whole };
    }
    return { text: true };
  });
  if (whole) {
    stats.size = t.size;
    stats.received += result.received;
    await whole.finish();
    stats.direct += whole.directBytes;
    return 'whole';
  }
  const { head } = result;
  const range = head.headers['content-range'] ?? '';
  let size: number;
  if (head.status === 206) {
    checkOctets(t.url, head);
    const m = /^bytes 0-0\/(\d+)$/.exec(range);
    if (!m) throw new FetchFailedError(`${t.url}: answered bytes=0-0 with Content-Range ${JSON.stringify(range)}`);
    size = Number(m[1]);
  } else if (head.status === 416 && /^bytes \*\/0$/.test(range)) {
    size = 0;
  } else {
    throw new FetchFailedError(`${t.url}: HTTP ${head.status} ${(result.text ?? '').slice(0, 300)}`.trim());
  }
  if (size > o.maxBytes) throw tooLarge(t.url, size, o.maxBytes);
  t.size = size;
  stats.size = size;
  const etag = head.headers.etag;
  t.validator = etag && !etag.startsWith('W/') ? etag : head.headers['last-modified'];
  return 'ranges';
}

function tooLarge(url: string, size: number, max: number): Error {
  return new FetchFailedError(`${url}: the holder says the file has ${size} bytes, more than the ${max} bytes this fetch may take`);
}

function writerOptions(o: FetchOptions, t: Target, onWritten: (n: number) => void) {
  return {
    ...(o.blockSize ? { blockSize: o.blockSize } : {}),
    ...(o.blocks ? { blocks: o.blocks } : {}),
    ...(t.direct ? { direct: t.direct, allocate: directBlock } : {}),
    onWritten,
  };
}

/** The work of one download: verify what is kept, fetch the rest in segments, record progress. */
class Download {
  readonly #kind: FetchJournal['kind'];
  readonly #journalPath: string;
  readonly #targets: Target[];
  readonly #o: FetchOptions;
  readonly #stats: FetchStats;
  /** Write blocks of finished segments, for the next ones. */
  readonly #blocks: Buffer[] = [];
  /** New bytes since the last record / the last flush. */
  #sinceRecord = 0;
  #sinceSync = 0;
  /** The flush running now, if any. */
  #syncing: Promise<void> | undefined;
  /** The record writer running now, and what it still has to write. */
  #recording: Promise<void> | undefined;
  #recordDue = false;
  #recordDurable = false;

  constructor(kind: FetchJournal['kind'], journalPath: string, targets: Target[], o: FetchOptions, stats: FetchStats) {
    this.#kind = kind;
    this.#journalPath = journalPath;
    this.#targets = targets;
    this.#o = o;
    this.#stats = stats;
  }

  /** Runs the download from what the progress record claims per target. */
  async run(claims: Map<Target, Claim>): Promise<void> {
    let claimedBytes = 0;
    for (const t of this.#targets) {
      const c = claims.get(t);
      if (!c) continue;
      claimedBytes += rangeBytes(mergeRanges([...c.written, ...c.synced]));
      t.written = await verifyClaim(t, c, this.#o, this.#stats);
      // what passed the check is on disk as the holder has it; flushed with the first flush
      t.synced = mergeRanges(c.synced.flatMap(([s, e]) => t.written.filter(([a, b]) => b > s && a < e).map(([a, b]): ByteRange => [Math.max(a, s), Math.min(b, e)])));
      this.#stats.kept += rangeBytes(t.written);
    }
    if (claimedBytes > 0) {
      const total = this.#targets.reduce((n, t) => n + t.size, 0);
      this.#o.log.info(
        `resuming ${this.#journalPath.slice(0, -JOURNAL_SUFFIX.length)}: ${this.#stats.kept} of ${total} bytes kept (${claimedBytes} recorded, checked by ${this.#stats.check}), fetching ${total - this.#stats.kept}`,
      );
    }
    await this.#writeJournal(new Map(this.#targets.map((t) => [t, t.written])), false);
    const queue: { t: Target; range: ByteRange }[] = [];
    for (const t of this.#targets) {
      for (const [s, e] of missingRanges(t.size, t.written)) {
        const k = Math.max(1, Math.min(this.#o.streams, Math.floor((e - s) / this.#o.segmentBytes)));
        // whole MiB, so that segments start where direct writes can (fetch-writer.ts)
        const step = Math.ceil((e - s) / k / MiB) * MiB;
        for (let a = s; a < e; a += step) queue.push({ t, range: [a, Math.min(e, a + step)] });
      }
    }
    // big segments first, so the connections finish together
    queue.sort((a, b) => b.range[1] - b.range[0] - (a.range[1] - a.range[0]));
    let failed: Error | undefined;
    const worker = async () => {
      for (let job = queue.shift(); job && !failed; job = queue.shift()) {
        try {
          await this.#segment(job.t, job.range[0], job.range[1]);
        } catch (err) {
          failed ??= err as Error;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(this.#o.streams, queue.length)) }, worker));
    await this.#idle();
    if (failed) {
      // flush and record what arrived, so that the next attempt resumes from it
      await this.#sync().catch(() => {});
      await this.#idle();
      throw failed;
    }
    for (const t of this.#targets) {
      const have = rangeBytes(mergeRanges(t.written));
      if (have !== t.size) throw new FetchFailedError(`${t.url}: ${have} of ${t.size} bytes arrived`);
    }
  }

  /** Fetches `[start, end)` of a target, resuming after dropped connections. */
  async #segment(t: Target, start: number, end: number): Promise<void> {
    let from = start;
    for (let attempt = 0; ; attempt++) {
      // a failed write stops the transfer at once (the reader would otherwise wait, paused)
      const stop = new AbortController();
      const signal = this.#o.signal ? AbortSignal.any([this.#o.signal, stop.signal]) : stop.signal;
      const writer = new RangeWriter(t.fh as FileHandle, from, {
        ...writerOptions(this.#o, t, (n) => this.#written(n)),
        pool: this.#blocks,
        onError: () => stop.abort(),
      });
      const entry = { start: from, writer };
      t.active.add(entry);
      let error: unknown;
      try {
        const extra: Record<string, string> = { Range: `bytes=${from}-${end - 1}` };
        if (t.validator) extra['If-Range'] = t.validator;
        const r = await get(
          t.url,
          this.#o,
          extra,
          (head) => {
            checkRangeHead(t.url, t.size, head, from, end);
            return { sink: writer };
          },
          signal,
        );
        this.#stats.received += r.received;
      } catch (err) {
        error = err;
      }
      let done: number;
      try {
        done = await writer.finish();
      } finally {
        t.active.delete(entry);
        this.#stats.direct += writer.directBytes;
      }
      if (done > from) t.written = mergeRanges([...t.written, [from, done]]);
      if (error === undefined) {
        if (done !== end) throw new FetchFailedError(`${t.url}: wrote ${done - from} of ${end - from} bytes of bytes=${from}-${end - 1}`);
        return;
      }
      if (error instanceof AbortedError || this.#o.signal?.aborted) throw error;
      const retriable = error instanceof FetchFailedError && !isFatal(error);
      if (!retriable || attempt >= this.#o.resumeAttempts) throw error;
      this.#o.log.warn(`${t.url}: ${(error as Error).message}; resuming at byte ${done}`);
      from = done;
      if (from >= end) return;
    }
  }

  #written(n: number): void {
    this.#sinceRecord += n;
    this.#sinceSync += n;
    if (this.#o.onProgress) {
      let bytes = 0;
      for (const x of this.#targets) {
        bytes += rangeBytes(mergeRanges(x.written));
        for (const a of x.active) bytes += a.writer.done - a.start;
      }
      this.#o.onProgress(bytes);
    }
    if (this.#sinceSync >= this.#o.checkpointBytes && !this.#syncing) {
      this.#syncing = this.#sync()
        .catch((err) => this.#o.log.warn(`flushing ${this.#journalPath.slice(0, -JOURNAL_SUFFIX.length)}: ${(err as Error).message}`))
        .finally(() => {
          this.#syncing = undefined;
        });
    }
    if (this.#sinceRecord >= (this.#o.recordBytes ?? DIGEST_CHUNK)) this.#requestRecord(false);
  }

  /** Flushes the files, then records (durably) that what was written before is on disk. */
  async #sync(): Promise<void> {
    const before = this.#snapshot();
    this.#sinceSync = 0;
    for (const t of this.#targets) await t.fh?.datasync();
    for (const t of this.#targets) t.synced = before.get(t) ?? t.synced;
    this.#requestRecord(true);
  }

  /**
   * Has the record rewritten with the current progress; writes are one at a time and always
   * write the latest state, so a slow write never puts an older record over a newer one.
   */
  #requestRecord(durable: boolean): void {
    this.#recordDue = true;
    this.#recordDurable ||= durable;
    this.#recording ??= (async () => {
      while (this.#recordDue) {
        const d = this.#recordDurable;
        this.#recordDue = false;
        this.#recordDurable = false;
        this.#sinceRecord = 0;
        try {
          await this.#writeJournal(this.#snapshot(), d);
        } catch (err) {
          this.#o.log.warn(`recording the progress of ${this.#journalPath.slice(0, -JOURNAL_SUFFIX.length)}: ${(err as Error).message}`);
        }
      }
    })().finally(() => {
      this.#recording = undefined;
    });
  }

  /** Waits until no flush and no record write is running. */
  async #idle(): Promise<void> {
    while (this.#syncing || this.#recording) await (this.#syncing ?? this.#recording);
  }

  /** The ranges written so far, per target (finished segments and the written prefix of running ones). */
  #snapshot(): Map<Target, ByteRange[]> {
    const snapshot = new Map<Target, ByteRange[]>();
    for (const t of this.#targets) {
      const ranges = [...t.written];
      for (const a of t.active) if (a.writer.done > a.start) ranges.push([a.start, a.writer.done]);
      snapshot.set(t, mergeRanges(ranges));
    }
    return snapshot;
  }

  async #writeJournal(written: Map<Target, ByteRange[]>, durable: boolean): Promise<void> {
    const files: FetchJournal['files'] = {};
    for (const t of this.#targets) files[t.name] = { size: t.size, ranges: t.synced, written: written.get(t) ?? t.written };
    await writeFetchJournal(this.#journalPath, { v: 1, kind: this.#kind, files }, durable);
  }
}
