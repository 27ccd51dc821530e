/**
 * Wire types of the storage layer (Lotus `extern/sector-storage/stores/index.go` and `fsutil/`). Records that Lotus exposes over its
 * API keep Lotus's field names (`ID`, `URLs`, `Weight`, …) so the JSON matches `lotus-miner`;
 * sector ids stay in the project's `{ miner, number }` form.
 */
import type { FileTypeName, SectorId } from '../sector/sector-id.js';

/** Space statistics of one storage path, in bytes (Lotus `fsutil.FsStat`). */
export interface FsStat {
  /** Filesystem size. */
  Capacity: number;
  /** Space usable for new sector data: free space minus reservations, limited by MaxStorage. */
  Available: number;
  /** Free space as the filesystem reports it (statfs bavail × bsize). */
  FSAvailable: number;
  /** Reserved for files being written, minus what those files already occupy. */
  Reserved: number;
  /** MaxStorage of the path (0 = unlimited). */
  Max: number;
  /** Bytes of sector data on the path (Lotus computes it only when Max > 0; here it is always cached). */
  Used: number;
}

/** What the index knows about one storage path (Lotus `StorageInfo`). */
export interface StorageInfo {
  ID: string;
  /** Base URLs of the nodes serving this path, each ending in `/remote`. */
  URLs: string[];
  Weight: number;
  MaxStorage: number;
  CanSeal: boolean;
  CanStore: boolean;
}

/** A heartbeat: the path's stat and, when the node could not stat it, the error text. */
export interface HealthReport {
  Stat: FsStat;
  Err?: string;
}

/** One holder (or, with allowFetch, candidate) of a sector file (Lotus `SectorStorageInfo`). */
export interface SectorStorageInfo {
  ID: string;
  /**
   * Download URLs `<base>/<type>/<s-t0…>`, one per base URL and per requested type this storage
   * holds, always with a single-type segment (Lotus writes `<unknown 6>` for multi-type queries).
   */
  URLs: string[];
  /** The storage's base URLs (without the type/sector suffix). */
  BaseURLs: string[];
  /** Storage weight × number of the requested types held there (0 for fetch candidates). */
  Weight: number;
  CanSeal: boolean;
  CanStore: boolean;
  /** True when any of the held copies is declared primary. */
  Primary: boolean;
}

/** A sector's file types declared in one storage (`StorageList` entries, Lotus `Decl`). */
export interface Decl {
  Miner: number;
  Number: number;
  SectorFileType: number;
}

/** One declared sector file: one file type of one sector on one storage path. */
export interface SectorFileDecl {
  storage: string;
  sector: SectorId;
  type: FileTypeName;
  primary: boolean;
}

/** One sector declaration for batch declares. */
export interface SectorDecl {
  sector: SectorId;
  /** File type bitmask. */
  types: number;
  primary: boolean;
}

/** Where new files go: scratch space for sealing or long-term storage (Lotus `storiface.PathType`). */
export type PathType = 'sealing' | 'storage';
/** What happens to the source of a fetched copy (Lotus `storiface.AcquireMode`). */
export type AcquireMode = 'move' | 'copy';

/** A local path as `StorageLocalPaths` reports it. */
export interface LocalPathInfo {
  ID: string;
  LocalPath: string;
  Weight: number;
  CanSeal: boolean;
  CanStore: boolean;
  MaxStorage: number;
  /** Entries of the path that are not sector files (`path: reason`), left alone; absent when none. */
  UnknownEntries?: string[];
}

/** Paths and storage ids per file type returned by acquireSector. */
export interface SectorPaths {
  paths: Partial<Record<FileTypeName, string>>;
  storages: Partial<Record<FileTypeName, string>>;
}

/** Time source, injectable for heartbeat tests. */
export interface Clock {
  now(): number;
}

/** The wall clock. */
export const systemClock: Clock = { now: () => Date.now() };

/** Lotus `HeartbeatInterval`. */
export const HEARTBEAT_INTERVAL_MS = 10_000;
/** Lotus `SkippedHeartbeatThresh`: a path whose last heartbeat is older is not offered. */
export const SKIPPED_HEARTBEAT_THRESHOLD_MS = 50_000;

/** A storage path as the storage catalog sees it, with its health. */
export interface StorageStatus {
  info: StorageInfo;
  stat: FsStat;
  /** Unix ms of the last heartbeat. */
  lastHeartbeat: number;
  heartbeatErr: string | null;
  /** Heartbeat younger than 50 s and without error: the path is offered for new data. */
  healthy: boolean;
  /** Number of declared sector entries per type. */
  counts: Record<FileTypeName, number>;
}
