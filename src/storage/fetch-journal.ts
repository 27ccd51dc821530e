/**
 * The progress record of a download in a `fetching/` folder, so that a fetch killed midway (the
 * process, the machine) continues from what is on disk instead of starting again.
 *
 * `fetching/<name>.fetch` sits beside the download `fetching/<name>` (a file, or a directory for a
 * cache) and lists, per file, the byte ranges written so far (`written`, recorded every few MiB
 * without flushing: what survives the process being killed) and those flushed to disk (fdatasync)
 * before the record was made (`ranges`: what survives a power loss). It is a claim, not proof:
 * the fetcher checks kept bytes against the holder's chunk digests before it relies on them, and
 * trusts only `ranges` where it cannot (fetch-engine.ts). The record is replaced by a rename
 * (src/fs/durable.ts; fsynced with each flush, not in between), so after a killed process it is
 * a whole record or absent; one that is missing, unreadable or inconsistent means no progress.
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { replaceFileUnsynced, tempNameTarget, writeFileDurable } from '../fs/durable.js';

/** A byte range `[start, end)`. */
export type ByteRange = [number, number];

/** The progress of one file of a download. */
export interface FileProgress {
  size: number;
  /** Ranges flushed to disk before the record was made, sorted and disjoint. */
  ranges: ByteRange[];
  /** Ranges written (a superset of `ranges`), sorted and disjoint. @default ranges */
  written?: ByteRange[];
}

/** The record of a download: one file (name '') or the files of a cache directory. */
export interface FetchJournal {
  v: 1;
  kind: 'file' | 'dir';
  files: Record<string, FileProgress>;
}

/** Suffix of the record beside a download. */
export const JOURNAL_SUFFIX = '.fetch';

/** `fetching/<name>.fetch` for the download `fetching/<name>`. */
export function journalPathOf(download: string): string {
  return `${download}${JOURNAL_SUFFIX}`;
}

/** The sorted union of ranges (touching ranges merge). */
export function mergeRanges(ranges: readonly ByteRange[]): ByteRange[] {
  const sorted = ranges.filter(([s, e]) => e > s).sort((a, b) => a[0] - b[0]);
  const out: ByteRange[] = [];
  for (const [s, e] of sorted) {
    const last = out[out.length - 1];
    if (last && s <= last[1]) last[1] = Math.max(last[1], e);
    else out.push([s, e]);
  }
  return out;
}

/** `[0, size)` without `have` (sorted, disjoint). */
export function missingRanges(size: number, have: readonly ByteRange[]): ByteRange[] {
  const out: ByteRange[] = [];
  let at = 0;
  for (const [s, e] of mergeRanges(have)) {
    if (s > at) out.push([at, Math.min(s, size)]);
    at = Math.max(at, e);
  }
  if (at < size) out.push([at, size]);
  return out.filter(([s, e]) => e > s);
}

/** Total bytes of disjoint ranges. */
export function rangeBytes(ranges: readonly ByteRange[]): number {
  return ranges.reduce((n, [s, e]) => n + (e - s), 0);
}

/** Reads a record; undefined when it is absent or not a consistent record. */
export async function readFetchJournal(path: string): Promise<FetchJournal | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return validJournal(JSON.parse(text));
  } catch {
    return undefined;
  }
}

function validJournal(j: unknown): FetchJournal | undefined {
  if (typeof j !== 'object' || j === null) return undefined;
  const o = j as Record<string, unknown>;
  if (o.v !== 1 || (o.kind !== 'file' && o.kind !== 'dir') || typeof o.files !== 'object' || o.files === null) return undefined;
  const files: Record<string, FileProgress> = {};
  for (const [name, p] of Object.entries(o.files as Record<string, unknown>)) {
    if (o.kind === 'file' ? name !== '' : name === '' || name.includes('/') || name === '.' || name === '..') return undefined;
    const fp = p as { size?: unknown; ranges?: unknown; written?: unknown };
    if (!Number.isSafeInteger(fp.size) || (fp.size as number) < 0) return undefined;
    const size = fp.size as number;
    const ranges = validRanges(fp.ranges, size);
    const written = fp.written === undefined ? ranges : validRanges(fp.written, size);
    if (!ranges || !written) return undefined;
    files[name] = { size, ranges, written };
  }
  if (o.kind === 'file' && Object.keys(files).length !== 1) return undefined;
  return { v: 1, kind: o.kind, files };
}

/** Sorted, disjoint ranges within `[0, size]`, or undefined. */
function validRanges(v: unknown, size: number): ByteRange[] | undefined {
  if (!Array.isArray(v)) return undefined;
  const out: ByteRange[] = [];
  let last = -1;
  for (const r of v as unknown[]) {
    if (!Array.isArray(r) || r.length !== 2) return undefined;
    const [s, e] = r as [unknown, unknown];
    if (!Number.isSafeInteger(s) || !Number.isSafeInteger(e) || (s as number) <= last || (e as number) <= (s as number) || (e as number) > size) return undefined;
    out.push([s as number, e as number]);
    last = e as number;
  }
  return out;
}

/** Bytes a record claims for a file (written, flushed or not). */
export function recordedBytes(p: FileProgress): number {
  return rangeBytes(p.written ?? p.ranges);
}

/**
 * Replaces a record: durably (temp, fsync, rename, directory fsync) when `durable`, else by a
 * plain rename, which a killed process cannot tear but a power loss may undo (the record is then
 * older, absent or unreadable: less progress, never wrong progress).
 */
export async function writeFetchJournal(path: string, journal: FetchJournal, durable = true): Promise<void> {
  const text = JSON.stringify(journal);
  if (durable) await writeFileDurable(path, text);
  else await replaceFileUnsynced(path, text);
}

/** Removes a record (absent is fine) and temporaries of replacements a killed process left. */
export async function removeFetchJournal(path: string): Promise<void> {
  await rm(path, { force: true });
  const name = basename(path);
  const names = await readdir(dirname(path)).catch(() => [] as string[]);
  for (const n of names) if (tempNameTarget(n) === name) await rm(join(dirname(path), n), { force: true });
}

/**
 * The download a name in a `fetching/` folder belongs to: the download itself, its progress
 * record, or a temporary of a replacement of that record.
 */
export function downloadOf(name: string): string {
  const target = tempNameTarget(name) ?? name;
  return target.endsWith(JOURNAL_SUFFIX) ? target.slice(0, -JOURNAL_SUFFIX.length) : target;
}
