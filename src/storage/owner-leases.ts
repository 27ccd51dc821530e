/**
 * Liveness of sector-lock owners (issue 4: locks are "released when … its worker dies").
 *
 * A lock taken over JSON-RPC outlives the call that took it (a JSON-RPC call cannot hold a lock
 * for the lifetime of a Go context), so the manager cannot see its holder go away. Owners are
 * therefore leased, the way Lotus treats storage paths and workers: the manager records when it
 * last heard from each owner (every lock call naming it, and its explicit heartbeat), and an
 * owner not heard from for longer than `SkippedHeartbeatThresh` (50 s; heartbeats every 10 s) is
 * declared dead by the sweep in {@link SectorLocks}, which releases its locks and rejects its
 * waiting requests.
 *
 * This file only keeps the bookkeeping (who was heard when, and which owners were released since
 * they last called in); the lock table acts on it.
 */
import { InvalidArgumentError } from '../errors.js';
import { HEARTBEAT_INTERVAL_MS, SKIPPED_HEARTBEAT_THRESHOLD_MS } from './storage-types.js';

/**
 * Environment variable that scales owner heartbeats, for tests and small clusters: its value is
 * the heartbeat interval in ms (the worker heartbeats, and the manager sweeps, that often) and
 * the dead-owner threshold is five times it, Lotus's ratio. Unset: 10 s and 50 s, as in Lotus.
 */
export const HEARTBEAT_ENV = 'SECTOR_STORAGE_HEARTBEAT_MS';

/** Heartbeat interval and dead-owner threshold. */
export interface HeartbeatTiming {
  intervalMs: number;
  thresholdMs: number;
}

/** The timing {@link HEARTBEAT_ENV} selects (Lotus's defaults when unset or empty). */
export function heartbeatTimingFromEnv(env: NodeJS.ProcessEnv = process.env): HeartbeatTiming {
  const raw = env[HEARTBEAT_ENV];
  if (raw === undefined || raw.trim() === '') {
    return { intervalMs: HEARTBEAT_INTERVAL_MS, thresholdMs: SKIPPED_HEARTBEAT_THRESHOLD_MS };
  }
  const ms = Number(raw);
  if (!Number.isSafeInteger(ms) || ms < 10) {
    throw new InvalidArgumentError(`${HEARTBEAT_ENV}="${raw}" must be a whole number of milliseconds ≥ 10 (the heartbeat interval)`);
  }
  return { intervalMs: ms, thresholdMs: ms * (SKIPPED_HEARTBEAT_THRESHOLD_MS / HEARTBEAT_INTERVAL_MS) };
}

/** How the manager last released every lock of an owner. */
export interface OwnerRelease {
  /** Unix ms of the release. */
  at: number;
  /** `expired` (not heard from for the threshold) or `released` (StorageReleaseOwner). */
  reason: 'expired' | 'released';
  /** Locks released. */
  locks: number;
  /** Waiting requests rejected. */
  waiting: number;
}

/** An owner whose lease ran out. */
export interface ExpiredOwner {
  owner: string;
  /** Unix ms it was last heard from. */
  lastHeard: number;
}

/** Releases remembered for the owners' next heartbeat; beyond this the oldest are forgotten. */
const MAX_REMEMBERED_RELEASES = 1000;

/** When each owner was last heard from, and releases its next heartbeat should learn about. */
export class OwnerLeases {
  readonly #lastHeard = new Map<string, number>();
  readonly #released = new Map<string, OwnerRelease>();
  readonly #now: () => number;
  readonly thresholdMs: number;

  constructor(options: { now?: () => number; thresholdMs?: number } = {}) {
    this.#now = options.now ?? Date.now;
    this.thresholdMs = options.thresholdMs ?? SKIPPED_HEARTBEAT_THRESHOLD_MS;
    if (!(this.thresholdMs > 0)) throw new InvalidArgumentError(`owner lease threshold ${this.thresholdMs} ms must be positive`);
  }

  /** Number of owners with a running lease. */
  get size(): number {
    return this.#lastHeard.size;
  }

  /** The owner just called in. */
  touch(owner: string): void {
    this.#lastHeard.set(owner, this.#now());
  }

  /** Unix ms the owner was last heard from, or null when it has no lease. */
  lastHeard(owner: string): number | null {
    return this.#lastHeard.get(owner) ?? null;
  }

  /** Ends the owner's lease without waiting for it to run out. */
  forget(owner: string): void {
    this.#lastHeard.delete(owner);
  }

  /** Removes and returns every owner not heard from for longer than the threshold. */
  expire(): ExpiredOwner[] {
    const now = this.#now();
    const out: ExpiredOwner[] = [];
    for (const [owner, lastHeard] of this.#lastHeard) {
      if (now - lastHeard > this.thresholdMs) out.push({ owner, lastHeard });
    }
    for (const { owner } of out) this.#lastHeard.delete(owner);
    return out;
  }

  /** Remembers a release for the owner's next {@link takeRelease}. */
  noteRelease(owner: string, release: OwnerRelease): void {
    this.#released.delete(owner);
    this.#released.set(owner, release);
    if (this.#released.size > MAX_REMEMBERED_RELEASES) {
      const oldest = this.#released.keys().next();
      if (!oldest.done) this.#released.delete(oldest.value);
    }
  }

  /** The release the owner has not been told about yet (each is reported once). */
  takeRelease(owner: string): OwnerRelease | null {
    const r = this.#released.get(owner);
    this.#released.delete(owner);
    return r ?? null;
  }
}
