/**
 * Sets of byte positions as sorted, disjoint, non-adjacent half-open ranges `[start, end)`,
 * and their conversion to and from RLE+ runs. The partial file keeps its allocation bitfield
 * in this form: a sector has at most a few hundred pieces, so linear algorithms are plenty.
 */
import type { Run } from './rleplus.js';

/** A half-open range of positions. */
export interface Range {
  readonly start: number;
  readonly end: number;
}

/** Runs (alternating values, starting at position 0) → ranges of set bits. */
export function runsToRanges(runs: readonly Run[]): Range[] {
  const out: Range[] = [];
  let pos = 0;
  for (const r of runs) {
    if (r.value) out.push({ start: pos, end: pos + r.length });
    pos += r.length;
  }
  return normalize(out);
}

/** Ranges → runs starting at position 0, without a trailing run of zeros. */
export function rangesToRuns(ranges: readonly Range[]): Run[] {
  const runs: Run[] = [];
  let pos = 0;
  for (const r of normalize(ranges)) {
    if (r.start > pos) runs.push({ value: false, length: r.start - pos });
    runs.push({ value: true, length: r.end - r.start });
    pos = r.end;
  }
  return runs;
}

/** Sorts, drops empty ranges and merges overlapping or touching ones. */
export function normalize(ranges: readonly Range[]): Range[] {
  const sorted = ranges.filter((r) => r.end > r.start).sort((a, b) => a.start - b.start);
  const out: { start: number; end: number }[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.start <= last.end) last.end = Math.max(last.end, r.end);
    else out.push({ start: r.start, end: r.end });
  }
  return out;
}

/** `set ∪ [start, end)` */
export function addRange(set: readonly Range[], start: number, end: number): Range[] {
  return normalize([...set, { start, end }]);
}

/** `set − [start, end)` */
export function removeRange(set: readonly Range[], start: number, end: number): Range[] {
  const out: Range[] = [];
  for (const r of set) {
    if (r.end <= start || r.start >= end) {
      out.push(r);
      continue;
    }
    if (r.start < start) out.push({ start: r.start, end: start });
    if (r.end > end) out.push({ start: end, end: r.end });
  }
  return out;
}

/** True when every position of `[start, end)` is in the set (an empty range is covered). */
export function coversRange(set: readonly Range[], start: number, end: number): boolean {
  if (end <= start) return true;
  return set.some((r) => r.start <= start && r.end >= end);
}

/** Number of positions of `[start, end)` that are in the set. */
export function overlapSize(set: readonly Range[], start: number, end: number): number {
  let n = 0;
  for (const r of set) n += Math.max(0, Math.min(r.end, end) - Math.max(r.start, start));
  return n;
}

/** Total number of positions in the set. */
export function rangesSize(set: readonly Range[]): number {
  return set.reduce((n, r) => n + (r.end - r.start), 0);
}
