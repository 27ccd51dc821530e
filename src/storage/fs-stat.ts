/**
 * Space accounting of a local storage path (Lotus `extern/sector-storage/stores/local.go` `stat`, `fsutil/statfs.go`).
 *
 * Lotus walks the whole path on every stat when MaxStorage is set ("expensive for very large
 * paths"). Here a {@link PathUsage} caches the on-disk usage of every sector entry, measured once by
 * a full scan when the path is opened and updated entry by entry when the local store declares,
 * drops, moves or fetches a file. Only the files under reservation (being written right now) are
 * re-measured on each stat, and a full rescan runs at most every `rescanIntervalMs` to catch files
 * changed behind the store's back. Everything here is synchronous on purpose: reserve() must check
 * and add in one turn of the event loop so that concurrent allocations cannot both pass the check.
 */
import { lstatSync, readdirSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { FileNotFoundError } from '../errors.js';
import { FILE_TYPES, type FileTypeName } from '../sector/sector-id.js';
import { FETCH_TEMP_DIR, parseWorkingName } from '../sector/layout.js';
import { downloadOf, journalPathOf } from './fetch-journal.js';
import type { Clock, FsStat } from './storage-types.js';
import { systemClock } from './storage-types.js';

/** Filesystem capacity and free space from statfs (bytes). */
export function statFilesystem(path: string): { Capacity: number; FSAvailable: number } {
  try {
    const s = statfsSync(path);
    return { Capacity: s.blocks * s.bsize, FSAvailable: s.bavail * s.bsize };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new FileNotFoundError(`storage path ${path} does not exist`, { cause: err });
    }
    throw err;
  }
}

/**
 * Allocated bytes (512-byte blocks, not apparent size) of all regular files under `path`.
 * Returns 0 for a missing path when `missingOk`, else throws FileNotFoundError.
 */
export function diskUsage(path: string, missingOk = false): number {
  let st: ReturnType<typeof lstatSync>;
  try {
    st = lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      if (missingOk) return 0;
      throw new FileNotFoundError(`${path} does not exist`, { cause: err });
    }
    throw err;
  }
  if (st.isFile()) return st.blocks * 512;
  if (!st.isDirectory()) return 0;
  let total = 0;
  let names: string[];
  try {
    names = readdirSync(path);
  } catch (err) {
    // Removed between lstat and readdir (a concurrent remove): it occupies nothing any more.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  for (const name of names) total += diskUsage(join(path, name), true);
  return total;
}

/** A reservation of space for one sector entry being written on a path. */
export interface Reservation {
  type: FileTypeName;
  /** Sector file name `s-t0<miner>-<number>`. */
  name: string;
  bytes: number;
  /**
   * What the entry occupied when the reservation was made (a write into an existing file): only
   * growth beyond it counts as written into the reservation. @default 0
   */
  base?: number;
}

/**
 * The sector entry a name in a type directory counts for: its own name, or for a working file
 * (an AddPiece temporary, a trailer journal, a replica temporary; sector/layout.ts) the sector
 * entry it belongs to, so that the bytes of a write in progress count where they will end up.
 */
export function entryOf(name: string): string {
  let owner = name;
  for (let w = parseWorkingName(owner); w; w = parseWorkingName(owner)) owner = w.of;
  return owner;
}

/** Filesystem capacity and free bytes of a path (statfs), injectable for tests. */
export type StatFs = (path: string) => { Capacity: number; FSAvailable: number };

/** Options of {@link PathUsage}. */
export interface PathUsageOptions {
  clock?: Clock;
  /** @default statFilesystem */
  statfs?: StatFs;
  /** Full rescan period; 0 disables periodic rescans. @default 300_000 */
  rescanIntervalMs?: number;
}

/**
 * Cached disk usage and reservations of one local storage path, and the FsStat that follows from
 * them. Reserved bytes already written (in the final location or in `fetching/`) are counted once.
 */
export class PathUsage {
  readonly root: string;
  readonly maxStorage: number;
  #entries = new Map<string, number>();
  #other = 0;
  #reservations = new Set<Reservation>();
  #clock: Clock;
  #statfs: StatFs;
  #rescanMs: number;
  #lastScan = 0;

  constructor(root: string, maxStorage: number, options: PathUsageOptions = {}) {
    this.root = root;
    this.maxStorage = maxStorage;
    this.#clock = options.clock ?? systemClock;
    this.#statfs = options.statfs ?? statFilesystem;
    this.#rescanMs = options.rescanIntervalMs ?? 300_000;
  }

  /** Measures every sector entry and everything else under the root (one walk). */
  rescan(): void {
    const entries = new Map<string, number>();
    let sectorBytes = 0;
    for (const t of FILE_TYPES) {
      let names: string[] = [];
      try {
        names = readdirSync(join(this.root, t));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      for (const name of names) {
        if (name === FETCH_TEMP_DIR) continue;
        const bytes = diskUsage(join(this.root, t, name), true);
        const key = `${t}/${entryOf(name)}`;
        entries.set(key, (entries.get(key) ?? 0) + bytes);
        sectorBytes += bytes;
      }
    }
    // downloads kept in fetching/ for resuming count for the entry they become
    let fetching = 0;
    for (const t of FILE_TYPES) {
      const dir = join(this.root, t, FETCH_TEMP_DIR);
      for (const name of listDir(dir)) {
        const bytes = diskUsage(join(dir, name), true);
        fetching += bytes;
        const key = `${t}/${downloadOf(name)}`;
        entries.set(key, (entries.get(key) ?? 0) + bytes);
      }
    }
    this.#entries = entries;
    this.#other = Math.max(0, diskUsage(this.root) - sectorBytes - fetching);
    this.#lastScan = this.#clock.now();
  }

  /** Re-measures one sector entry (after it was written, moved in or fetched). */
  update(type: FileTypeName, name: string): void {
    const bytes = this.entryUsage(type, name);
    if (bytes === 0 && !this.#exists(type, name)) this.#entries.delete(`${type}/${name}`);
    else this.#entries.set(`${type}/${name}`, bytes);
  }

  /**
   * Allocated bytes of one sector entry: the entry itself, the working files that belong to it
   * ({@link entryOf}) and its download in `fetching/` with its progress record. `names` is the type directory's listing,
   * when the caller has it.
   */
  entryUsage(type: FileTypeName, name: string, names?: readonly string[]): number {
    const fetching = join(this.root, type, FETCH_TEMP_DIR);
    let bytes = diskUsage(join(this.root, type, name), true) + diskUsage(join(fetching, name), true) + diskUsage(join(fetching, journalPathOf(name)), true);
    for (const other of names ?? listDir(join(this.root, type))) {
      if (other !== name && other !== FETCH_TEMP_DIR && entryOf(other) === name) bytes += diskUsage(join(this.root, type, other), true);
    }
    return bytes;
  }

  /** Forgets one sector entry (after it was removed or moved away). */
  forget(type: FileTypeName, name: string): void {
    this.#entries.delete(`${type}/${name}`);
  }

  /** Adds a reservation; returns its release function (idempotent). */
  addReservation(r: Reservation): () => void {
    const entry = { ...r };
    this.#reservations.add(entry);
    return () => {
      if (this.#reservations.delete(entry)) this.update(entry.type, entry.name);
    };
  }

  /** Sum of reservation sizes (not corrected for bytes already written). */
  get reservedTotal(): number {
    let n = 0;
    for (const r of this.#reservations) n += r.bytes;
    return n;
  }

  /** Current reservations (copies). */
  reservations(): Reservation[] {
    return [...this.#reservations].map((r) => ({ ...r }));
  }

  /**
   * FsStat with reservations subtracted and MaxStorage applied. Unlike Lotus, reservations also
   * count against MaxStorage, so concurrent reservations can never exceed the limit.
   */
  stat(): FsStat {
    if (this.#rescanMs > 0 && this.#clock.now() - this.#lastScan >= this.#rescanMs) this.rescan();
    const fs = this.#statfs(this.root);
    // Reservations of one entry share its written bytes: a write counts once against their sum,
    // not once against each (two reservations of one file would otherwise both shrink by it).
    const byEntry = new Map<string, { type: FileTypeName; name: string; bytes: number; base: number }>();
    for (const r of this.#reservations) {
      const key = `${r.type}/${r.name}`;
      const e = byEntry.get(key);
      if (e) {
        e.bytes += r.bytes;
        e.base = Math.min(e.base, r.base ?? 0);
      } else {
        byEntry.set(key, { type: r.type, name: r.name, bytes: r.bytes, base: r.base ?? 0 });
      }
    }
    let reserved = 0;
    let writtenReserved = 0;
    const listings = new Map<FileTypeName, string[]>();
    for (const e of byEntry.values()) {
      let names = listings.get(e.type);
      if (!names) {
        names = listDir(join(this.root, e.type));
        listings.set(e.type, names);
      }
      const usage = this.entryUsage(e.type, e.name, names);
      reserved += Math.max(0, e.bytes - Math.max(0, usage - e.base));
      writtenReserved += usage;
    }
    let used = this.#other + writtenReserved;
    for (const [key, bytes] of this.#entries) if (!byEntry.has(key)) used += bytes;
    let available = Math.max(0, fs.FSAvailable - reserved);
    if (this.maxStorage > 0) available = Math.min(available, Math.max(0, this.maxStorage - used - reserved));
    return {
      Capacity: fs.Capacity,
      Available: available,
      FSAvailable: fs.FSAvailable,
      Reserved: reserved,
      Max: this.maxStorage,
      Used: used,
    };
  }

  #exists(type: FileTypeName, name: string): boolean {
    try {
      lstatSync(join(this.root, type, name));
      return true;
    } catch {
      return false;
    }
  }
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
