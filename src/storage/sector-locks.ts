/**
 * Per-sector, per-file-type read/write locks (sector-storage.md §4.6).
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
 * is declared dead with {@link SectorLocks.releaseOwner}.
 */
import { randomUUID } from 'node:crypto';
import { AbortedError, InvalidArgumentError, LockFailedError } from '../errors.js';
import { FILE_TYPES, FileType, type FileTypeName, type SectorId, sectorName } from '../sector/sector-id.js';

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
  /** Who holds the lock (e.g. a worker id), for {@link SectorLocks.releaseOwner} and `storage locks`. */
  owner?: string;
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
  holders: { id: string; owner: string | undefined; read: FileTypeName[]; write: FileTypeName[]; since: number }[];
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

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  /** Waits until the lock can be granted; rejects with AbortedError when `signal` aborts first. */
  acquire(sector: SectorId, read: number, write: number, options: LockOptions = {}): Promise<SectorLock> {
    try {
      validate(read, write);
    } catch (err) {
      return Promise.reject(err);
    }
    const { signal, owner } = options;
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

  /** Releases every lock of `owner` (its worker died) and abandons its waiting requests. */
  releaseOwner(owner: string): number {
    // Waiting requests go first: releasing the owner's locks would otherwise grant them.
    for (const state of [...this.#sectors.values()]) {
      const gone = state.waiters.filter((w) => w.owner === owner);
      if (gone.length === 0) continue;
      state.waiters = state.waiters.filter((w) => w.owner !== owner);
      for (const w of gone) {
        w.signal?.removeEventListener('abort', w.onAbort);
        w.reject(new AbortedError(`lock request of ${owner} on ${sectorName(state.sector)} abandoned: owner declared dead`));
      }
      this.#pump(state);
    }
    let n = 0;
    for (const h of [...this.#byId.values()]) {
      if (h.owner === owner) {
        h.release();
        n++;
      }
    }
    return n;
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
