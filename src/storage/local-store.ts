/**
 * The storage paths of one node (Lotus `extern/sector-storage/stores/local.go`): opens the paths listed in `storage.json`,
 * attaches them to the index and declares the sector files found on them, reports their health
 * every ~10 s, and resolves, allocates, reserves, removes and moves sector files.
 *
 * Differences from Lotus, on purpose:
 * - a rescan makes the index agree with the disk (declarations of files that are gone are dropped);
 * - a declaration whose file is missing on disk is dropped when found, not handed out as a path;
 * - reservations count against MaxStorage too, are checked and added in one synchronous step, and a
 *   refusal is a NoSpaceError (code 102 semantics) naming needed vs available bytes;
 * - heartbeats have a real ±5 % jitter and are also sent right after space changes hands;
 * - opening a path recovers the working files a crash left (path-scan.ts), and an entry that is
 *   not a sector file is reported, not declared, instead of stopping the path from opening;
 * - a move reserves destination space only when it copies (across filesystems), not for a rename;
 * - a node that fails to start withdraws the paths it had attached ({@link LocalStore.withdraw}).
 */
import { statSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  FileNotFoundError,
  InvalidArgumentError,
  NoSpaceError,
  NoSuitablePathError,
  StorageExistsError,
  StorageNotFoundError,
} from '../errors.js';
import { sealProofInfo } from '../sector/proofs.js';
import {
  FILE_TYPES,
  FS_OVERHEAD_FINALIZED,
  FS_OVERHEAD_SEAL,
  FileType,
  type FileTypeName,
  type SectorId,
  type SectorRef,
  fileTypesOf,
  sectorName,
} from '../sector/sector-id.js';
import { assertPaddedSize, formatSize } from '../sector/sizes.js';
import { moveEntry } from './file-ops.js';
import { PathUsage, type StatFs } from './fs-stat.js';
import { sectorFetchPath, sectorFilePath } from '../sector/layout.js';
import { recoverWorkingFiles, scanPath, type UnknownEntry } from './path-scan.js';
import type { CatalogClient } from './catalog-client.js';
import {
  addStorageConfigPath,
  readStorageConfig,
  readStorageMeta,
  removeStorageConfigPath,
  type StorageMeta,
} from './storage-config.js';
import {
  type AcquireMode,
  type Clock,
  type FsStat,
  HEARTBEAT_INTERVAL_MS,
  type LocalPathInfo,
  type PathType,
  type SectorPaths,
  systemClock,
} from './storage-types.js';
import { type Logger, defaultLogger } from '../log/logger.js';

/** What {@link LocalStore.redeclare} did on one path. */
export interface RedeclaredPath {
  ID: string;
  LocalPath: string;
  /** Sectors with files found (and declared). */
  sectors: number;
  /** Declarations dropped because their files are gone. */
  dropped: number;
}

/** Which overhead table a reservation uses. */
export type OverheadKind = 'sealing' | 'finalized';

/** Options of {@link LocalStore}. */
export interface LocalStoreOptions {
  catalog: CatalogClient;
  /** This node's `/remote` base URLs, advertised for its paths. */
  urls: string[];
  /**
   * This node's persistent id (the repository's `nodeId`, a worker's own): the index replaces the
   * URLs this node attached before instead of keeping them next to the new ones.
   */
  nodeId?: string;
  /** The repository's `storage.json`; without it paths are attached programmatically (workers). */
  configFile?: string;
  clock?: Clock;
  /** @default 10_000 */
  heartbeatIntervalMs?: number;
  /** @default defaultLogger() (src/log) */
  log?: Logger;
  /** statfs replacement (tests simulate small or full filesystems). */
  statfs?: StatFs;
}

/** An open local path. */
interface LocalPath {
  id: string;
  root: string;
  meta: StorageMeta;
  usage: PathUsage;
  /** Entries found by the last scan that are not sector files (reported, left alone). */
  unknown: UnknownEntry[];
}

/** A set of reservations; `release()` frees them all (idempotent). */
export interface ReservationHandle {
  release(): void;
  [Symbol.dispose](): void;
}

/** Result of {@link LocalStore.allocate}: paths ready to write into and their reservation. */
export interface Allocation extends SectorPaths {
  reservation: ReservationHandle;
}

/** Result of {@link LocalStore.prepareAddPiece}. */
export interface AddPieceTarget {
  /** The sector's unsealed file (AddPiece creates it when `created`). */
  path: string;
  storageId: string;
  /** True when the file does not exist yet: declare it (non-primary) once the piece is added. */
  created: boolean;
  reservation: ReservationHandle;
}

/** Allocation unit assumed for the small files of a write (the trailer's block, the journal). */
const BLOCK = 4096;

/**
 * Bytes an AddPiece of `pieceSize` padded bytes can add to a path: the piece's data (with its zero
 * fill, written into an existing file) in whole blocks, a block by which the partial file's
 * trailer can grow (a new file's first trailer), and a block for the trailer journal (written
 * then renamed: one file). A new file's temporary is the same file, linked into place.
 */
export function addPieceSpaceUse(pieceSize: number): number {
  return Math.ceil(pieceSize / BLOCK) * BLOCK + 2 * BLOCK;
}

/** The local store of a node. */
export class LocalStore {
  readonly catalog: CatalogClient;
  readonly urls: string[];
  readonly nodeId: string | undefined;
  readonly #configFile: string | undefined;
  readonly #paths = new Map<string, LocalPath>();
  readonly #clock: Clock;
  readonly #interval: number;
  readonly #log: Logger;
  readonly #statfs: StatFs | undefined;
  #timer: NodeJS.Timeout | undefined;
  #soon: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: LocalStoreOptions) {
    this.catalog = options.catalog;
    this.urls = [...options.urls];
    this.nodeId = options.nodeId;
    this.#configFile = options.configFile;
    this.#clock = options.clock ?? systemClock;
    this.#interval = options.heartbeatIntervalMs ?? HEARTBEAT_INTERVAL_MS;
    this.#log = options.log ?? defaultLogger();
    this.#statfs = options.statfs;
  }

  /** Opens every path of `storage.json` (when configured) and starts the health loop. */
  async open(): Promise<void> {
    if (this.#configFile) {
      for (const p of readStorageConfig(this.#configFile).StoragePaths) await this.openPath(p.Path);
    }
    this.#scheduleHeartbeat();
  }

  /** Stops the health loop. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#soon);
  }

  /**
   * Opens an initialised storage path: validates its `sectorstore.json`, recovers what a crash
   * left in it (journals rolled forward, temporaries and stale downloads removed; see
   * path-scan.ts), scans its sector files, attaches it to the index and declares what it holds.
   * Entries that are not sector files are logged and listed in the path's info, not declared.
   */
  async openPath(dir: string): Promise<LocalPathInfo> {
    const root = resolve(dir);
    const meta = readStorageMeta(root);
    for (const p of this.#paths.values()) {
      if (p.root === root) throw new StorageExistsError(`storage path ${root} is already attached (id ${p.id})`);
      if (p.id === meta.ID) {
        throw new StorageExistsError(`storage path ${root} has id ${meta.ID}, which is already attached from ${p.root}`);
      }
    }
    for (const t of FILE_TYPES) await mkdir(join(root, t), { recursive: true, mode: 0o755 });
    const recovery = await recoverWorkingFiles(root);
    for (const line of recovery.actions) this.#log.info(`storage path ${root}: ${line}`);
    const scan = scanPath(root, meta.CanStore);
    const unknown = [...recovery.problems, ...scan.unknown];
    for (const u of unknown) {
      this.#log.info(`storage path ${root}: ${u.path} is not a sector file (${u.reason}); it is not declared and is left alone: move it out of the path`);
    }
    const usage = new PathUsage(root, meta.MaxStorage, { clock: this.#clock, ...(this.#statfs ? { statfs: this.#statfs } : {}) });
    usage.rescan();
    const path: LocalPath = { id: meta.ID, root, meta, usage, unknown };
    await this.catalog.storageAttach(
      {
        ID: meta.ID,
        URLs: this.urls,
        Weight: meta.Weight,
        MaxStorage: meta.MaxStorage,
        CanSeal: meta.CanSeal,
        CanStore: meta.CanStore,
      },
      usage.stat(),
      this.nodeId,
    );
    await this.catalog.storageDeclareSectors(meta.ID, scan.decls, true);
    this.#paths.set(meta.ID, path);
    return this.#info(path);
  }

  /** Opens a path and adds it to `storage.json` (Lotus `StorageAddLocal`). */
  async addLocalPath(dir: string): Promise<LocalPathInfo> {
    const info = await this.openPath(dir);
    if (this.#configFile) addStorageConfigPath(this.#configFile, info.LocalPath);
    return info;
  }

  /**
   * Detaches a local path by id or directory: removes it from `storage.json`, from this node and
   * (with this node's URLs) from the index. The files stay on disk.
   */
  async detachLocalPath(idOrDir: string): Promise<LocalPathInfo> {
    const abs = resolve(idOrDir);
    const path = this.#paths.get(idOrDir) ?? [...this.#paths.values()].find((p) => p.root === abs);
    if (!path) throw new StorageNotFoundError(`no local storage path ${idOrDir} is attached on this node`);
    this.#paths.delete(path.id);
    if (this.#configFile) removeStorageConfigPath(this.#configFile, path.root);
    for (const url of this.urls) {
      try {
        await this.catalog.storageDetach(path.id, url);
      } catch (err) {
        this.#log.warn(`detach ${path.id}: ${(err as Error).message}`);
      }
    }
    if (this.urls.length === 0) await this.catalog.storageDetach(path.id);
    return this.#info(path);
  }

  /** The open paths (Lotus `StorageLocal`). */
  localPaths(): LocalPathInfo[] {
    return [...this.#paths.values()].map((p) => this.#info(p));
  }

  /** The local directory of storage `id`, if it is open here. */
  localRoot(id: string): string | undefined {
    return this.#paths.get(id)?.root;
  }

  /** FsStat of a local path; StorageNotFoundError ("fsstat: path not found") for others. */
  fsStat(id: string): FsStat {
    return this.#path(id).usage.stat();
  }

  /** Current reservations of a local path. */
  reservations(id: string) {
    return this.#path(id).usage.reservations();
  }

  /**
   * Re-reads metadata, re-attaches and re-scans open paths (all, or the one with `id`) and makes
   * the index agree with their disks (Lotus `StorageRedeclareLocal`): every sector file found is
   * declared and, with `dropMissing` (the default), declarations of files that are gone are
   * dropped. A worker runs it after the manager restarts; `storage redeclare` after files were
   * moved by hand. A path whose metadata id changed is skipped (logged).
   */
  async redeclare(options: { id?: string; dropMissing?: boolean } = {}): Promise<RedeclaredPath[]> {
    const paths = options.id === undefined ? [...this.#paths.values()] : [this.#path(options.id)];
    const out: RedeclaredPath[] = [];
    for (const p of paths) {
      const meta = readStorageMeta(p.root);
      if (meta.ID !== p.id) {
        this.#log.info(`storage path ${p.root}: id changed from ${p.id} to ${meta.ID}; skipping`);
        continue;
      }
      p.usage.rescan();
      await this.catalog.storageAttach(
        { ID: p.id, URLs: this.urls, Weight: meta.Weight, MaxStorage: meta.MaxStorage, CanSeal: meta.CanSeal, CanStore: meta.CanStore },
        p.usage.stat(),
        this.nodeId,
      );
      // working files of operations in progress are skipped, never recovered, on a path in use
      const scan = scanPath(p.root, meta.CanStore);
      p.unknown = scan.unknown;
      const r = await this.catalog.storageDeclareSectors(p.id, scan.decls, options.dropMissing ?? true);
      out.push({ ID: p.id, LocalPath: p.root, sectors: r.declared, dropped: r.dropped });
    }
    return out;
  }

  /**
   * Takes this node's paths out of service in the index after it failed to start (or must stop
   * serving them): for a path other nodes also serve (a shared filesystem) only this node's URLs
   * are detached; otherwise the path is reported failing with `reason`, so that from now on it is
   * neither offered for new files nor for fetching (not only once its heartbeat goes stale, 50 s
   * later), while the index keeps its sector declarations: the files are still on that disk, and
   * the node's next start re-attaches the path, which clears the error. Errors are logged.
   */
  async withdraw(reason: string): Promise<void> {
    this.close();
    for (const p of [...this.#paths.values()]) {
      try {
        const info = await this.catalog.storageInfo(p.id);
        if (info.URLs.some((u) => !this.urls.includes(u))) {
          for (const u of this.urls.filter((x) => info.URLs.includes(x))) await this.catalog.storageDetach(p.id, u);
        } else {
          let stat: FsStat;
          try {
            stat = p.usage.stat();
          } catch {
            stat = { Capacity: 0, Available: 0, FSAvailable: 0, Reserved: 0, Max: 0, Used: 0 };
          }
          await this.catalog.storageReportHealth(p.id, { Stat: stat, Err: reason });
        }
      } catch (err) {
        this.#log.warn(`withdrawing storage path ${p.id} (${p.root}) failed: ${(err as Error).message}`);
      }
    }
  }

  /** Sends one health report per path now. */
  async reportHealth(): Promise<void> {
    for (const p of [...this.#paths.values()]) {
      let report: { Stat: FsStat; Err?: string };
      try {
        report = { Stat: p.usage.stat() };
      } catch (err) {
        report = { Stat: { Capacity: 0, Available: 0, FSAvailable: 0, Reserved: 0, Max: 0, Used: 0 }, Err: (err as Error).message };
      }
      try {
        await this.catalog.storageReportHealth(p.id, report);
      } catch (err) {
        this.#log.warn(`health report for ${p.id} failed: ${(err as Error).message}`);
      }
    }
  }

  /**
   * Resolves existing local files of `existing` and allocates destinations for `allocate`
   * (Lotus AcquireSector). Types not found locally are simply absent from the result.
   * Nothing is created or declared; see {@link allocate} to also reserve space.
   */
  async acquireSector(ref: SectorRef, existing: number, allocate: number, pathType: PathType): Promise<SectorPaths> {
    checkMasks(existing, allocate);
    const out: SectorPaths = { paths: {}, storages: {} };
    for (const t of maskTypes(existing)) {
      const found = await this.findLocal(ref.id, t);
      if (found) {
        out.paths[t] = found.path;
        out.storages[t] = found.id;
      }
    }
    if (allocate !== 0) {
      const alloc = await this.allocate(ref, allocate, pathType, null);
      Object.assign(out.paths, alloc.paths);
      Object.assign(out.storages, alloc.storages);
    }
    return out;
  }

  /**
   * A local copy of one file type of a sector that the index knows about and that is on disk.
   * A declaration here whose file is gone is dropped from the index (drift repair).
   */
  async findLocal(sector: SectorId, type: FileTypeName): Promise<{ id: string; path: string } | undefined> {
    const holders = await this.catalog.storageFindSector(sector, FileType[type], 0, false);
    for (const h of holders) {
      const p = this.#paths.get(h.ID);
      if (!p) continue;
      const path = sectorFilePath(p.root, type, sector);
      if (exists(path)) return { id: p.id, path };
      this.#log.info(`index says ${p.id} holds ${type}/${sectorName(sector)} but ${path} is missing; dropping the declaration`);
      await this.catalog.storageDropSector(p.id, sector, FileType[type]);
    }
    return undefined;
  }

  /**
   * Chooses local paths for new files of `types` (best first as the index ranks them, local and
   * of the right kind) and reserves their space with the overhead table for `pathType`
   * (`sealing` → sealing table, `storage` → finalized table) unless `overhead` is null. A path
   * that turns out to be full is skipped; when none fits: NoSpaceError with needed vs available.
   */
  async allocate(
    ref: SectorRef,
    types: number,
    pathType: PathType,
    overhead: OverheadKind | null = pathType === 'sealing' ? 'sealing' : 'finalized',
  ): Promise<Allocation> {
    const ssize = sealProofInfo(ref.proofType).sectorSize;
    const out: Allocation = { paths: {}, storages: {}, reservation: combine([]) };
    const releases: ReservationHandle[] = [];
    try {
      for (const t of maskTypes(types)) {
        let chosen: string | undefined;
        const refusals: Error[] = [];
        for (const id of await this.#candidates(t, ssize, pathType, ref.id)) {
          if (overhead === null) {
            chosen = id;
            break;
          }
          try {
            releases.push(this.reserve(ref, FileType[t], { [t]: id }, overhead));
            chosen = id;
            break;
          } catch (err) {
            if (!(err instanceof NoSpaceError)) throw err;
            refusals.push(err);
          }
        }
        if (chosen === undefined) throw noSpaceAnywhere(refusals);
        const p = this.#path(chosen);
        out.paths[t] = sectorFilePath(p.root, t, ref.id);
        out.storages[t] = chosen;
      }
    } catch (err) {
      for (const r of releases) r.release();
      throw err;
    }
    out.reservation = combine(releases);
    return out;
  }

  /**
   * Reserves space on local paths for files being written: for each type,
   * `overhead[type] × ssize / 10` bytes on `storages[type]`. Checked against the path's FsStat
   * (free space minus reservations, within MaxStorage) and added in one synchronous step, so two
   * concurrent reservations can never both take the last bytes. All or nothing.
   */
  reserve(
    ref: SectorRef,
    types: number,
    storages: Partial<Record<FileTypeName, string>>,
    overhead: OverheadKind,
  ): ReservationHandle {
    const ssize = sealProofInfo(ref.proofType).sectorSize;
    const table = overhead === 'sealing' ? FS_OVERHEAD_SEAL : FS_OVERHEAD_FINALIZED;
    const name = sectorName(ref.id);
    const handles: ReservationHandle[] = [];
    try {
      for (const t of maskTypes(types)) {
        const id = storages[t];
        if (id === undefined) throw new InvalidArgumentError(`reserve: no storage given for ${t} of ${name}`);
        const need = Math.floor((table[t] * ssize) / 10);
        handles.push(this.#reserveOn(this.#path(id), t, name, need, need, 0));
      }
    } catch (err) {
      for (const h of handles) h.release();
      throw err;
    }
    return combine(handles);
  }

  /**
   * The unsealed file an AddPiece of `pieceSize` padded bytes writes into, with a reservation of
   * everything the write adds ({@link addPieceSpaceUse}: the piece's bytes, the trailer, its
   * journal): the sector's local file when there is one (only its growth counts against the
   * reservation), else a new file on a sealing path that has room for the whole sector, which the
   * file grows to as it fills. Release the reservation when the write is done.
   * @throws NoSpaceError naming needed and available bytes; NoSuitablePathError without a local sealing path
   */
  async prepareAddPiece(ref: SectorRef, pieceSize: number): Promise<AddPieceTarget> {
    assertPaddedSize(pieceSize, 'piece size');
    const ssize = sealProofInfo(ref.proofType).sectorSize;
    const name = sectorName(ref.id);
    const need = addPieceSpaceUse(pieceSize);
    const found = await this.findLocal(ref.id, 'unsealed');
    if (found) {
      const p = this.#path(found.id);
      const reservation = this.#reserveOn(p, 'unsealed', name, need, need, p.usage.entryUsage('unsealed', name));
      return { path: found.path, storageId: found.id, created: false, reservation };
    }
    const refusals: Error[] = [];
    for (const id of await this.#candidates('unsealed', ssize, 'sealing', ref.id)) {
      try {
        const reservation = this.#reserveOn(this.#path(id), 'unsealed', name, need, Math.max(need, ssize), 0);
        return { path: sectorFilePath(this.#path(id).root, 'unsealed', ref.id), storageId: id, created: true, reservation };
      } catch (err) {
        if (!(err instanceof NoSpaceError)) throw err;
        refusals.push(err);
      }
    }
    throw noSpaceAnywhere(refusals);
  }

  /**
   * Adds a reservation of `bytes` for `type/name` on `p` if the path's live figures show at least
   * `atLeast` bytes available; checked and added in one synchronous step.
   */
  #reserveOn(p: LocalPath, type: FileTypeName, name: string, bytes: number, atLeast: number, base: number): ReservationHandle {
    const stat = p.usage.stat();
    if (stat.Available < atLeast) {
      throw new NoSpaceError(
        `not enough space on storage ${p.id} (${p.root}) for ${type} of ${name}: need ${atLeast} bytes (${formatSize(atLeast)}), ` +
          `available ${stat.Available} bytes (${formatSize(stat.Available)}; free ${stat.FSAvailable}, reserved ${stat.Reserved}` +
          `${stat.Max > 0 ? `, used ${stat.Used} of max ${stat.Max}` : ''})`,
      );
    }
    const remove = p.usage.addReservation({ type, name, bytes, base });
    this.#reportSoon();
    const release = () => {
      remove();
      this.#reportSoon();
    };
    return { release, [Symbol.dispose]: release };
  }

  /**
   * Local paths of the right kind for new files of `type`: first those the index offers (best
   * first as it ranks them), then the other local ones of that kind by their live free space. The
   * index judges by the last heartbeats, which can be ~10 s old: a path it saw full may have room
   * now, so its refusal (NO_SPACE) is not final here; every candidate is checked against its live
   * figures when it is reserved.
   */
  async #candidates(type: FileTypeName, ssize: number, pathType: PathType, sector: SectorId): Promise<string[]> {
    const ofKind = (id: string) => {
      const p = this.#paths.get(id);
      return p !== undefined && (pathType === 'sealing' ? p.meta.CanSeal : p.meta.CanStore);
    };
    let offered: string[] = [];
    try {
      offered = (await this.catalog.storageBestAlloc(FileType[type], ssize, pathType)).map((c) => c.ID).filter(ofKind);
    } catch (err) {
      if (!(err instanceof NoSpaceError)) throw err;
    }
    const rest = [...this.#paths.values()]
      .filter((p) => ofKind(p.id) && !offered.includes(p.id))
      .flatMap((p) => {
        try {
          return [{ id: p.id, score: BigInt(p.usage.stat().Available) * BigInt(p.meta.Weight) }];
        } catch {
          return []; // the path cannot be measured (its heartbeat reports the error): not a candidate
        }
      })
      .sort((a, b) => (b.score > a.score ? 1 : b.score < a.score ? -1 : a.id < b.id ? -1 : 1))
      .map((c) => c.id);
    const candidates = [...offered, ...rest];
    if (candidates.length === 0) {
      throw new NoSuitablePathError(
        `couldn't find a suitable ${pathType} path on this node for ${type} of ${sectorName(sector)} (local paths: ${this.localPaths().map((p) => `${p.ID}${p.CanSeal ? ' seal' : ''}${p.CanStore ? ' store' : ''}`).join(', ') || 'none'})`,
      );
    }
    return candidates;
  }

  /** Declares a local file in the index and refreshes the usage cache for it. */
  async declareSector(id: string, sector: SectorId, type: FileTypeName, primary: boolean): Promise<void> {
    const p = this.#path(id);
    await this.catalog.storageDeclareSector(id, sector, FileType[type], primary);
    p.usage.update(type, sectorName(sector));
  }

  /**
   * Removes every local copy of one file type (drop from the index, then delete); resolves with
   * the number of local copies removed (0 when only other nodes hold it). Without `force`, a
   * sector the index knows nowhere is an error.
   */
  async remove(sector: SectorId, type: number, force: boolean): Promise<number> {
    const t = singleType(type, 'delete');
    const holders = await this.catalog.storageFindSector(sector, FileType[t], 0, false);
    if (holders.length === 0 && !force) {
      throw new FileNotFoundError(`can't delete ${t} of sector ${sectorName(sector)}: not found in any storage`);
    }
    let removed = 0;
    for (const h of holders) {
      if (!this.#paths.has(h.ID)) continue;
      await this.#removeLocal(h.ID, sector, t);
      removed++;
    }
    return removed;
  }

  /** Removes the non-primary local copies of one file type, if a primary copy exists somewhere. */
  async removeCopies(sector: SectorId, type: number): Promise<void> {
    const t = singleType(type, 'removeCopies');
    const holders = await this.catalog.storageFindSector(sector, FileType[t], 0, false);
    if (!holders.some((h) => h.Primary)) {
      this.#log.info(`removeCopies: ${t} of ${sectorName(sector)} has no primary copy; keeping all copies`);
      return;
    }
    for (const h of holders) {
      if (!h.Primary && this.#paths.has(h.ID)) await this.#removeLocal(h.ID, sector, t);
    }
  }

  /**
   * Moves local files of `types` from a sealing path to a storage path; same filesystem → rename,
   * else copy + fsync + rename. Only a copy takes new space, so only a destination on another
   * filesystem is reserved (the finalized size; Lotus reserves even for a rename, which fails a
   * move on a full disk that needs no byte). Each type is re-declared atomically (drop at source +
   * primary at destination in one index transaction) before the source is deleted. Types already
   * on a CanStore path stay where they are. With `pathType` 'sealing' it is the other way round:
   * files go to a CanSeal path (sealing overhead reserved) unless they are on one already (a GET
   * task's `pathType`).
   */
  async moveStorage(ref: SectorRef, types: number, pathType: PathType = 'storage'): Promise<SectorPaths> {
    const out: SectorPaths = { paths: {}, storages: {} };
    const sources = new Map<FileTypeName, { id: string; path: string }>();
    for (const t of maskTypes(types)) {
      const src = await this.findLocal(ref.id, t);
      if (!src) throw new FileNotFoundError(`moveStorage: no local ${t} file of ${sectorName(ref.id)} on this node`);
      const meta = this.#path(src.id).meta;
      if (pathType === 'storage' ? meta.CanStore : meta.CanSeal) {
        out.paths[t] = src.path;
        out.storages[t] = src.id;
        continue;
      }
      sources.set(t, src);
    }
    if (sources.size === 0) return out;
    const overhead: OverheadKind = pathType === 'storage' ? 'finalized' : 'sealing';
    const held: ReservationHandle[] = [];
    try {
      // every destination is chosen (and a copy's space reserved) before anything moves
      const dests = new Map<FileTypeName, { id: string; reserved: boolean }>();
      for (const [t, src] of sources) dests.set(t, await this.#moveDestination(ref, t, src.path, pathType, overhead, held));
      for (const [t, src] of sources) {
        const { id: dstId, reserved } = dests.get(t) as { id: string; reserved: boolean };
        const dst = this.#path(dstId);
        const final = sectorFilePath(dst.root, t, ref.id);
        await moveEntry(src.path, final, sectorFetchPath(dst.root, t, ref.id), {
          // same device but another mount (a bind mount): the rename failed after all, so the
          // copy needs its space after all
          beforeCopy: () => {
            if (!reserved) held.push(this.reserve(ref, FileType[t], { [t]: dstId }, overhead));
          },
        });
        try {
          await this.catalog.storageMoveSector(ref.id, FileType[t], src.id, dstId);
        } catch (err) {
          // The index still says "source": put the data back there (a rename moved it away), or
          // drop the destination copy (a cross-filesystem copy left the source in place), so the
          // disk agrees with the index instead of holding an undeclared file at the destination.
          try {
            if (exists(src.path)) await rm(final, { recursive: true, force: true });
            else await moveEntry(final, src.path, sectorFetchPath(this.#path(src.id).root, t, ref.id));
          } catch (undoErr) {
            this.#log.warn(`moveStorage: undoing the move of ${final} after an index error failed: ${(undoErr as Error).message}`);
          }
          dst.usage.forget(t, sectorName(ref.id));
          throw err;
        }
        await rm(src.path, { recursive: true, force: true });
        this.#path(src.id).usage.forget(t, sectorName(ref.id));
        dst.usage.update(t, sectorName(ref.id));
        out.paths[t] = final;
        out.storages[t] = dstId;
      }
    } finally {
      for (const h of held) h.release();
    }
    await this.reportHealth();
    return out;
  }

  /**
   * The destination of a move of `src`: the first candidate path of the right kind (best first)
   * that is on the source's filesystem (a rename: nothing to reserve) or that has room for a copy
   * (reserved, the handle pushed onto `held`). NoSpaceError when neither exists.
   */
  async #moveDestination(
    ref: SectorRef,
    t: FileTypeName,
    src: string,
    pathType: PathType,
    overhead: OverheadKind,
    held: ReservationHandle[],
  ): Promise<{ id: string; reserved: boolean }> {
    const ssize = sealProofInfo(ref.proofType).sectorSize;
    const srcDev = statSync(src).dev;
    const refusals: Error[] = [];
    for (const id of await this.#candidates(t, ssize, pathType, ref.id)) {
      if (statSync(this.#path(id).root).dev === srcDev) return { id, reserved: false };
      try {
        held.push(this.reserve(ref, FileType[t], { [t]: id }, overhead));
        return { id, reserved: true };
      } catch (err) {
        if (!(err instanceof NoSpaceError)) throw err;
        refusals.push(err);
      }
    }
    throw noSpaceAnywhere(refusals);
  }

  /** Reserved bytes summed over a path's reservations (for `storage list`). */
  reservedTotal(id: string): number {
    return this.#path(id).usage.reservedTotal;
  }

  /** The root of a local path, or StorageNotFoundError. @internal */
  pathRoot(id: string): string {
    return this.#path(id).root;
  }

  /** Refreshes the usage cache of one entry after it was written in place. @internal */
  touch(id: string, type: FileTypeName, sector: SectorId): void {
    this.#path(id).usage.update(type, sectorName(sector));
  }

  async #removeLocal(id: string, sector: SectorId, t: FileTypeName): Promise<void> {
    const p = this.#path(id);
    await this.catalog.storageDropSector(id, sector, FileType[t]);
    const path = sectorFilePath(p.root, t, sector);
    try {
      await rm(path, { recursive: true, force: true });
    } catch (err) {
      this.#log.warn(`removing ${path} failed: ${(err as Error).message}`);
    }
    p.usage.forget(t, sectorName(sector));
    this.#reportSoon();
  }

  #path(id: string): LocalPath {
    const p = this.#paths.get(id);
    if (!p) throw new StorageNotFoundError(`fsstat: path not found: storage ${id} is not local to this node`);
    return p;
  }

  #info(p: LocalPath): LocalPathInfo {
    return {
      ID: p.id,
      LocalPath: p.root,
      Weight: p.meta.Weight,
      CanSeal: p.meta.CanSeal,
      CanStore: p.meta.CanStore,
      MaxStorage: p.meta.MaxStorage,
      ...(p.unknown.length > 0 ? { UnknownEntries: p.unknown.map((u) => `${u.path}: ${u.reason}`) } : {}),
    };
  }

  #scheduleHeartbeat(): void {
    if (this.#closed) return;
    // ±5 % jitter so many nodes started together do not report in lock-step (Lotus meant to).
    const delay = this.#interval * (0.95 + Math.random() * 0.1);
    this.#timer = setTimeout(() => {
      this.reportHealth().finally(() => this.#scheduleHeartbeat());
    }, delay);
    this.#timer.unref();
  }

  /** A report shortly after space changed hands, so the index's view of Available stays current. */
  #reportSoon(): void {
    if (this.#closed || this.#soon) return;
    this.#soon = setTimeout(() => {
      this.#soon = undefined;
      void this.reportHealth();
    }, 50);
    this.#soon.unref();
  }
}

/** The refusal of every candidate path (each quoting its live figures) as one NoSpaceError. */
function noSpaceAnywhere(refusals: readonly Error[]): Error {
  if (refusals.length === 1) return refusals[0] as Error;
  return new NoSpaceError(`no path of this node has room: ${refusals.map((e) => e.message).join('; ')}`);
}

function exists(p: string): boolean {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
}

/** The file types of a mask (validating it). */
export function maskTypes(mask: number): FileTypeName[] {
  return fileTypesOf(mask);
}

function checkMasks(existing: number, allocate: number): void {
  maskTypes(existing);
  maskTypes(allocate);
  if ((existing & allocate) !== 0) throw new InvalidArgumentError("can't both find and allocate a sector");
}

function singleType(type: number, what: string): FileTypeName {
  const types = maskTypes(type);
  if (types.length !== 1) throw new InvalidArgumentError(`${what} expects one file type, got mask ${type}`);
  return types[0] as FileTypeName;
}

function combine(handles: ReservationHandle[]): ReservationHandle {
  let done = false;
  const release = () => {
    if (done) return;
    done = true;
    for (const h of handles) h.release();
  };
  return { release, [Symbol.dispose]: release };
}

/** Mode helper shared with the remote store: a fetched copy is primary only when the source goes. @internal */
export function isPrimaryForMode(mode: AcquireMode): boolean {
  return mode === 'move';
}
