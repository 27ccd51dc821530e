/**
 * Per-sector, per-file-type read/write locks (Lotus `extern/sector-storage/stores/index_locks.go`).
 *
 * A request `(read R, write W)` is compatible with the current holders when no type in W has
 * readers and no type in R∪W is write-locked; granting it is one synchronous step. Lotus wakes all
 * waiters on every unlock and lets whoever re-checks first win, so a stream of readers can starve a
 * writer forever. Here waiters queue in arrival order and a waiter is granted only when it is
 * compatible with the holders *and* with every earlier waiter it conflicts with has been served:
 * requests that do not conflict still overtake each other, but a conflicting later request (a new
 * reader behind a waiting writer) waits its turn. try-lock follows the same rule, so it cannot
 * barge past a waiting writer either.
 *
 * A lock is released by its handle (`release()` or `using`), when the signal it was acquired with
 * aborts (the holder's call ended, Lotus's context-bound lifetime), or when its owner (a worker id)
 * is released with {@link SectorLocks.releaseOwner} or declared dead by the sweep.
 *
 * Owners are remote nodes and are leased ({@link OwnerLeases}): every request naming an owner and
 * every {@link SectorLocks.heartbeat} renews its lease, and a sweep every heartbeat interval
 * releases the locks and rejects the waiting requests of owners not heard from for the threshold
 * (Lotus's 10 s / 50 s). Locks without an owner (in-process calls of the daemon) are not leased:
 * they end with their call's signal or handle.
 */
import { randomUUID } from 'node:crypto';
import { AbortedError, InvalidArgumentError, LockFailedError } from '../errors.js';
import { FILE_TYPES, FileType, type FileTypeName, type SectorId, sectorName } from '../sector/sector-id.js';
import { type OwnerRelease, OwnerLeases } from './owner-leases.js';
import { HEARTBEAT_INTERVAL_MS, SKIPPED_HEARTBEAT_THRESHOLD_MS } from './storage-types.js';
import { type Logger, defaultLogger } from '../log/logger.js';

/** A held lock. */
export interface SectorLock {
  readonly id: string;
  readonly sector: SectorId;
  /** Read-locked types (bitmask). */
  readonly read: number;
  /** Write-locked types (bitmask). */
  readonly write: number;
  readonly owner: string | undefined;
  /** Unix ms when granted. */
  readonly since: number;
  /** True once released (by any of the three ways). */
  readonly released: boolean;
  /** Releases the lock; calling it again does nothing. */
  release(): void;
  [Symbol.dispose](): void;
}

/** Options of a lock request. */
export interface LockOptions {
  /** Aborting it abandons the wait (AbortedError) or, once granted, releases the lock. */
  signal?: AbortSignal;
  /**
   * Who holds the lock (a worker id), for {@link SectorLocks.releaseOwner} and `storage locks`.
   * The request renews the owner's lease; the lock lives until released or the owner is declared dead.
   */
  owner?: string;
}

/** Options of {@link SectorLocks}. */
export interface SectorLocksOptions {
  /** Clock (unix ms) for `since`, leases and the sweep. @default Date.now */
  now?: () => number;
  /** How often the sweep runs (Lotus `HeartbeatInterval`). @default 10_000 */
  heartbeatIntervalMs?: number;
  /** An owner not heard from for longer is declared dead (Lotus `SkippedHeartbeatThresh`). @default 50_000 */
  heartbeatThresholdMs?: number;
  /** Run the sweep on a timer while owners are leased; false when the caller calls {@link SectorLocks.sweep}. @default true */
  autoSweep?: boolean;
  /** Where "declared dead" lines go. @default defaultLogger() (src/log) */
  log?: Logger;
}

/** What an owner's heartbeat learns. */
export interface OwnerHeartbeat {
  /** Locks the owner holds now. */
  locks: number;
  /** Its requests waiting now. */
  waiting: number;
  /**
   * The last time the manager released all of the owner's locks (lease expired, or
   * StorageReleaseOwner) and the owner has not been told yet; null when nothing happened.
   * Locks it thinks it holds from before that moment are gone.
   */
  released: OwnerRelease | null;
}

/** The lock state of one sector, as `storage locks` shows it. */
export interface SectorLockInfo {
  sector: SectorId;
  /** Number of readers per type. */
  read: Record<FileTypeName, number>;
  /** Write-locked types. */
  write: FileTypeName[];
  /** Requests waiting for this sector. */
  waiting: number;
  holders: {
    id: string;
    owner: string | undefined;
    read: FileTypeName[];
    write: FileTypeName[];
    since: number;
    /** Unix ms the owner was last heard from; null for locks without an owner. */
    lastHeard: number | null;
  }[];
}

interface Waiter {
  read: number;
  write: number;
  owner: string | undefined;
  signal: AbortSignal | undefined;
  resolve: (lock: SectorLock) => void;
  reject: (err: Error) => void;
  onAbort: () => void;
}

interface Holder {
  lock: LockHandle;
  onAbort: (() => void) | undefined;
  signal: AbortSignal | undefined;
}

interface SectorState {
  sector: SectorId;
  readers: [number, number, number];
  write: number;
  holders: Set<Holder>;
  waiters: Waiter[];
}

class LockHandle implements SectorLock {
  readonly id = randomUUID();
  released = false;
  constructor(
    readonly sector: SectorId,
    readonly read: number,
    readonly write: number,
    readonly owner: string | undefined,
    readonly since: number,
    private readonly onRelease: (h: LockHandle) => void,
  ) {}
  release(): void {
    if (this.released) return;
    this.released = true;
    this.onRelease(this);
  }
  [Symbol.dispose](): void {
    this.release();
  }
}

const BITS = [FileType.unsealed, FileType.sealed, FileType.cache] as const;

function conflicts(a: { read: number; write: number }, b: { read: number; write: number }): boolean {
  return (a.write & (b.read | b.write)) !== 0 || (b.write & (a.read | a.write)) !== 0;
}

function names(mask: number): FileTypeName[] {
  return FILE_TYPES.filter((t) => (mask & FileType[t]) !== 0);
}

function validate(read: number, write: number): void {
  for (const [what, v] of [
    ['read', read],
    ['write', write],
  ] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 7) {
      throw new InvalidArgumentError(`unknown file types specified: ${what} mask ${v} is not in 0..7`);
    }
  }
  if ((read | write) === 0) throw new LockFailedError('failed to acquire lock: no file types to lock');
}

/** The lock table of one node (the manager's index holds the cluster-wide one). */
export class SectorLocks {
  readonly #sectors = new Map<string, SectorState>();
  readonly #byId = new Map<string, LockHandle>();
  readonly #now: () => number;
  readonly #leases: OwnerLeases;
  readonly #intervalMs: number;
  readonly #autoSweep: boolean;
  readonly #log: Logger;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(options: SectorLocksOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#intervalMs = options.heartbeatIntervalMs ?? HEARTBEAT_INTERVAL_MS;
    if (!(this.#intervalMs > 0)) throw new InvalidArgumentError(`heartbeatIntervalMs ${this.#intervalMs} must be positive`);
    this.#leases = new OwnerLeases({ now: this.#now, thresholdMs: options.heartbeatThresholdMs ?? SKIPPED_HEARTBEAT_THRESHOLD_MS });
    this.#autoSweep = options.autoSweep ?? true;
    this.#log = options.log ?? defaultLogger();
  }

  /** Waits until the lock can be granted; rejects with AbortedError when `signal` aborts first. */
  acquire(sector: SectorId, read: number, write: number, options: LockOptions = {}): Promise<SectorLock> {
    try {
      validate(read, write);
    } catch (err) {
      return Promise.reject(err);
    }
    const { signal, owner } = options;
    if (owner !== undefined) this.#touch(owner);
    if (signal?.aborted) return Promise.reject(abortError(sector, signal));
    const state = this.#state(sector);
    if (this.#grantable(state, read, write, state.waiters.length)) {
      return Promise.resolve(this.#grant(state, read, write, owner, signal));
    }
    return new Promise<SectorLock>((resolve, reject) => {
      const waiter: Waiter = {
        read,
        write,
        owner,
        signal,
        resolve,
        reject,
        onAbort: () => {
          const i = state.waiters.indexOf(waiter);
          if (i < 0) return;
          state.waiters.splice(i, 1);
          reject(abortError(sector, signal));
          this.#pump(state);
        },
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      state.waiters.push(waiter);
    });
  }

  /** One attempt without waiting: the lock, or null when it is not grantable right now. */
  tryAcquire(sector: SectorId, read: number, write: number, options: { owner?: string; signal?: AbortSignal } = {}): SectorLock | null {
    validate(read, write);
    if (options.owner !== undefined) this.#touch(options.owner);
    if (options.signal?.aborted) return null;
    const state = this.#state(sector);
    if (!this.#grantable(state, read, write, state.waiters.length)) {
      this.#gc(state);
      return null;
    }
    return this.#grant(state, read, write, options.owner, options.signal);
  }

  /** Releases a held lock by id (for the JSON-RPC API); false when no such lock is held. */
  release(id: string): boolean {
    const h = this.#byId.get(id);
    if (!h) return false;
    h.release();
    return true;
  }

  /**
   * Releases every lock of `owner` (its worker died or is shutting down), rejects its waiting
   * requests and ends its lease; returns the number of locks released.
   */
  releaseOwner(owner: string): number {
    const leased = this.#leases.lastHeard(owner) !== null;
    this.#leases.forget(owner);
    const r = this.#releaseOwner(owner, 'owner released');
    if (leased || r.locks + r.waiting > 0) this.#leases.noteRelease(owner, { at: this.#now(), reason: 'released', ...r });
    return r.locks;
  }

  /**
   * The owner is alive: renews its lease and reports what it holds, and whether its locks were
   * released since it last called in (so a worker that was cut off learns its locks are gone).
   */
  heartbeat(owner: string): OwnerHeartbeat {
    if (owner === '') throw new InvalidArgumentError('owner must not be empty');
    this.#touch(owner);
    let locks = 0;
    let waiting = 0;
    for (const h of this.#byId.values()) if (h.owner === owner) locks++;
    for (const s of this.#sectors.values()) for (const w of s.waiters) if (w.owner === owner) waiting++;
    return { locks, waiting, released: this.#leases.takeRelease(owner) };
  }

  /**
   * Declares dead every owner not heard from for the threshold: its locks are released and its
   * waiting requests rejected. Runs on a timer (see {@link SectorLocksOptions.autoSweep});
   * returns the owners declared dead.
   */
  sweep(): string[] {
    const dead = this.#leases.expire();
    for (const { owner, lastHeard } of dead) {
      const r = this.#releaseOwner(owner, `owner not heard from for ${this.#leases.thresholdMs / 1000} s, declared dead`);
      const at = this.#now();
      this.#leases.noteRelease(owner, { at, reason: 'expired', ...r });
      this.#log.info(
        `sector locks: owner ${owner} not heard from for ${((at - lastHeard) / 1000).toFixed(1)} s (threshold ${this.#leases.thresholdMs / 1000} s): declared dead, released ${r.locks} lock(s) and rejected ${r.waiting} waiting request(s)`,
      );
    }
    if (this.#leases.size === 0) this.#stopTimer();
    return dead.map((d) => d.owner);
  }

  /** Stops the sweep timer (the table stays usable; a later owner request restarts it). */
  close(): void {
    this.#stopTimer();
  }

  #touch(owner: string): void {
    this.#leases.touch(owner);
    if (this.#autoSweep && !this.#timer) {
      this.#timer = setInterval(() => this.sweep(), this.#intervalMs);
      // a lock table must not keep a process alive on its own
      this.#timer.unref();
    }
  }

  #stopTimer(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #releaseOwner(owner: string, why: string): { locks: number; waiting: number } {
    let waiting = 0;
    // Waiting requests go first: releasing the owner's locks would otherwise grant them.
    for (const state of [...this.#sectors.values()]) {
      const gone = state.waiters.filter((w) => w.owner === owner);
      if (gone.length === 0) continue;
      state.waiters = state.waiters.filter((w) => w.owner !== owner);
      for (const w of gone) {
        w.signal?.removeEventListener('abort', w.onAbort);
        w.reject(new AbortedError(`lock request of ${owner} on ${sectorName(state.sector)} abandoned: ${why}`));
        waiting++;
      }
      this.#pump(state);
    }
    let locks = 0;
    for (const h of [...this.#byId.values()]) {
      if (h.owner === owner) {
        h.release();
        locks++;
      }
    }
    return { locks, waiting };
  }

  /** Lock state of every sector with holders or waiters. */
  list(): SectorLockInfo[] {
    return [...this.#sectors.values()]
      .map((s) => ({
        sector: s.sector,
        read: { unsealed: s.readers[0], sealed: s.readers[1], cache: s.readers[2] },
        write: names(s.write),
        waiting: s.waiters.length,
        holders: [...s.holders].map((h) => ({
          id: h.lock.id,
          owner: h.lock.owner,
          read: names(h.lock.read),
          write: names(h.lock.write),
          since: h.lock.since,
          lastHeard: h.lock.owner === undefined ? null : this.#leases.lastHeard(h.lock.owner),
        })),
      }))
      .sort((a, b) => a.sector.miner - b.sector.miner || a.sector.number - b.sector.number);
  }

  #state(sector: SectorId): SectorState {
    const key = `${sector.miner}-${sector.number}`;
    let s = this.#sectors.get(key);
    if (!s) {
      s = { sector: { miner: sector.miner, number: sector.number }, readers: [0, 0, 0], write: 0, holders: new Set(), waiters: [] };
      this.#sectors.set(key, s);
    }
    return s;
  }

  /** Compatible with the holders and with every waiter queued before position `before`. */
  #grantable(s: SectorState, read: number, write: number, before: number): boolean {
    if (((read | write) & s.write) !== 0) return false;
    for (let i = 0; i < 3; i++) if (write & (BITS[i] as number) && s.readers[i] !== 0) return false;
    for (let i = 0; i < before; i++) {
      const w = s.waiters[i] as Waiter;
      if (conflicts(w, { read, write })) return false;
    }
    return true;
  }

  #grant(s: SectorState, read: number, write: number, owner: string | undefined, signal: AbortSignal | undefined): SectorLock {
    for (let i = 0; i < 3; i++) if (read & (BITS[i] as number)) s.readers[i as 0 | 1 | 2]++;
    s.write |= write;
    const lock = new LockHandle(s.sector, read, write, owner, this.#now(), (h) => this.#unlock(s, holder, h));
    const holder: Holder = { lock, signal, onAbort: undefined };
    if (signal) {
      holder.onAbort = () => lock.release();
      signal.addEventListener('abort', holder.onAbort, { once: true });
    }
    s.holders.add(holder);
    this.#byId.set(lock.id, lock);
    return lock;
  }

  #unlock(s: SectorState, holder: Holder, h: LockHandle): void {
    for (let i = 0; i < 3; i++) if (h.read & (BITS[i] as number)) s.readers[i as 0 | 1 | 2]--;
    s.write &= ~h.write;
    if (holder.onAbort) holder.signal?.removeEventListener('abort', holder.onAbort);
    s.holders.delete(holder);
    this.#byId.delete(h.id);
    this.#pump(s);
  }

  /** Grants every waiter that has become grantable, in queue order. */
  #pump(s: SectorState): void {
    for (let i = 0; i < s.waiters.length; ) {
      const w = s.waiters[i] as Waiter;
      if (this.#grantable(s, w.read, w.write, i)) {
        s.waiters.splice(i, 1);
        w.signal?.removeEventListener('abort', w.onAbort);
        w.resolve(this.#grant(s, w.read, w.write, w.owner, w.signal));
      } else {
        i++;
      }
    }
    this.#gc(s);
  }

  #gc(s: SectorState): void {
    if (s.holders.size === 0 && s.waiters.length === 0) this.#sectors.delete(`${s.sector.miner}-${s.sector.number}`);
  }
}

function abortError(sector: SectorId, signal: AbortSignal | undefined): Error {
  const reason = signal?.reason instanceof Error ? `: ${signal.reason.message}` : '';
  return new AbortedError(`waiting for a lock on ${sectorName(sector)} was cancelled${reason}`, { cause: signal?.reason });
}
