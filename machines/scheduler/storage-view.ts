/**
 * The scheduler's view of the storage paths (docs/design/scheduler.md §4): each path's kind,
 * weight, health and Available as the catalog last reported them (`catalog.storageSpace()`), and
 * the space the scheduler itself has promised on each (claims of placed calls, held until they
 * finish). Pure.
 */
import type { StorageSpace } from '../../src/db/storage-catalog.js';

/** One path. */
export interface PathSpace {
  canSeal: boolean;
  canStore: boolean;
  weight: number;
  available: number;
  healthy: boolean;
}

/** The paths by id and the bytes claimed on each by started calls. */
export interface StorageView {
  paths: Record<string, PathSpace>;
  claims: Record<string, number>;
  /** A path view has been read at least once (until then nothing that allocates is placed). */
  loaded: boolean;
}

/** Space promised on one path to one call. */
export interface Claim {
  path: string;
  bytes: number;
}

export function emptyStorageView(): StorageView {
  return { paths: {}, claims: {}, loaded: false };
}

/** The paths of a catalog answer. */
export function pathsOf(space: readonly StorageSpace[]): Record<string, PathSpace> {
  const out: Record<string, PathSpace> = {};
  for (const s of space) out[s.ID] = { canSeal: s.CanSeal, canStore: s.CanStore, weight: s.Weight, available: s.Available, healthy: s.Healthy };
  return out;
}

/** Adds (or with a negative `bytes`, removes) a claim, in place. */
export function claimOn(claims: Record<string, number>, c: Claim, sign: 1 | -1): void {
  const n = (claims[c.path] ?? 0) + sign * c.bytes;
  if (n > 0) claims[c.path] = n;
  else delete claims[c.path];
}

/**
 * The best of `pathIds` for `bytes` of new files on a path of `kind`: healthy, of that kind, with
 * `available − claims ≥ bytes`, highest `(available − claims) × weight` first, then id (the order
 * the storage layer itself allocates in).
 */
export function bestPath(
  paths: Readonly<Record<string, PathSpace>>,
  claims: Readonly<Record<string, number>>,
  pathIds: readonly string[],
  kind: 'sealing' | 'storage',
  bytes: number,
): string | undefined {
  let best: string | undefined;
  let bestScore = -1;
  for (const id of pathIds) {
    const p = paths[id];
    if (!p?.healthy || !(kind === 'sealing' ? p.canSeal : p.canStore)) continue;
    const free = p.available - (claims[id] ?? 0);
    if (free < bytes) continue;
    const score = free * p.weight;
    if (score > bestScore || (score === bestScore && best !== undefined && id < best)) {
      best = id;
      bestScore = score;
    }
  }
  return best;
}
