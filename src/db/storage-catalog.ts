/**
 * The storage catalog over SQLite: which storage paths exist, their health, and which sector
 * files each holds — what Lotus calls the sector index (`extern/sector-storage/stores/index.go`).
 * Lotus keeps it in memory on the miner; here it is two tables (`storage_paths`, `sector_files`),
 * so it survives restarts.
 *
 * Every method is synchronous with prepared statements created once. The index actor is the only
 * writer of the database and serialises calls through its mailbox; that single-writer rule is what
 * lets this class keep the (small) storage table cached in memory and consistent with the rows.
 */
import type { Statement } from 'better-sqlite3';
import {
  InvalidArgumentError,
  NoSpaceError,
  NoSuitablePathError,
  StorageNotFoundError,
} from '../errors.js';
import {
  FILE_TYPES,
  FileType,
  type FileTypeName,
  type SectorId,
  sealSpaceUse,
  sectorName,
  storeSpaceUse,
} from '../sector/sector-id.js';
import { formatSize } from '../sector/sizes.js';
import type { Db } from './database.js';
import { validStorageId } from '../storage/storage-config.js';
import {
  type Clock,
  type Decl,
  type FsStat,
  type HealthReport,
  type PathType,
  SKIPPED_HEARTBEAT_THRESHOLD_MS,
  type SectorDecl,
  type SectorFileDecl,
  type SectorStorageInfo,
  type StorageInfo,
  systemClock,
  type StorageStatus,
} from '../storage/storage-types.js';
import { CATALOG_METHODS, type CatalogClient } from '../storage/catalog-client.js';

interface StorageRow {
  info: StorageInfo;
  /** URL → id of the node that attached it (URLs attached without a node id are absent). */
  owners: Record<string, string>;
  stat: FsStat;
  lastHeartbeat: number;
  err: string | null;
}

interface DbStorageRow {
  id: string;
  urls: string;
  url_nodes: string;
  weight: number;
  max_storage: number;
  can_seal: number;
  can_store: number;
  fs_stat: string | null;
  last_heartbeat: number;
  heartbeat_err: string | null;
}

const emptyStat: FsStat = { Capacity: 0, Available: 0, FSAvailable: 0, Reserved: 0, Max: 0, Used: 0 };

/** One path as the scheduler sees it ({@link StorageCatalog.storageSpace}). */
export interface StorageSpace {
  ID: string;
  CanSeal: boolean;
  CanStore: boolean;
  Weight: number;
  /** Bytes new files may still take (free minus reservations, within MaxStorage), as last reported. */
  Available: number;
  /** Heartbeat fresh and without error. */
  Healthy: boolean;
}

/** The SQLite-backed storage catalog. */
export class StorageCatalog {
  readonly #db: Db;
  readonly #clock: Clock;
  readonly #stores = new Map<string, StorageRow>();
  readonly #s: {
    insertStorage: Statement;
    updateStorageInfo: Statement;
    updateHealth: Statement;
    deleteStorage: Statement;
    findSector: Statement;
    getDecl: Statement;
    insertDecl: Statement;
    setPrimary: Statement;
    dropDecl: Statement;
    listDecls: Statement;
    listFiles: Statement;
    countByStorage: Statement;
    declsOfStorage: Statement;
    maxNumber: Statement;
  };

  constructor(db: Db, options: { clock?: Clock } = {}) {
    this.#db = db;
    this.#clock = options.clock ?? systemClock;
    this.#s = {
      insertStorage: db.prepare(
        `INSERT INTO storage_paths (id, urls, url_nodes, weight, max_storage, can_seal, can_store, fs_stat, last_heartbeat, heartbeat_err)
         VALUES (@id, @urls, @url_nodes, @weight, @max_storage, @can_seal, @can_store, @fs_stat, @last_heartbeat, NULL)`,
      ),
      updateStorageInfo: db.prepare(
        `UPDATE storage_paths SET urls = @urls, url_nodes = @url_nodes, weight = @weight, max_storage = @max_storage,
         can_seal = @can_seal, can_store = @can_store WHERE id = @id`,
      ),
      updateHealth: db.prepare(
        'UPDATE storage_paths SET fs_stat = ?, last_heartbeat = ?, heartbeat_err = ? WHERE id = ?',
      ),
      deleteStorage: db.prepare('DELETE FROM storage_paths WHERE id = ?'),
      findSector: db.prepare('SELECT storage_id, file_type, is_primary FROM sector_files WHERE miner = ? AND number = ?'),
      getDecl: db.prepare(
        'SELECT is_primary FROM sector_files WHERE miner = ? AND number = ? AND file_type = ? AND storage_id = ?',
      ),
      insertDecl: db.prepare(
        'INSERT INTO sector_files (miner, number, file_type, storage_id, is_primary) VALUES (?, ?, ?, ?, ?)',
      ),
      setPrimary: db.prepare(
        'UPDATE sector_files SET is_primary = 1 WHERE miner = ? AND number = ? AND file_type = ? AND storage_id = ?',
      ),
      dropDecl: db.prepare('DELETE FROM sector_files WHERE miner = ? AND number = ? AND file_type = ? AND storage_id = ?'),
      listDecls: db.prepare(
        'SELECT storage_id, miner, number, file_type FROM sector_files ORDER BY storage_id, miner, number',
      ),
      listFiles: db.prepare(
        'SELECT storage_id, miner, number, file_type, is_primary FROM sector_files ORDER BY storage_id, miner, number, file_type',
      ),
      countByStorage: db.prepare('SELECT storage_id, file_type, count(*) AS n FROM sector_files GROUP BY storage_id, file_type'),
      declsOfStorage: db.prepare('SELECT miner, number, file_type FROM sector_files WHERE storage_id = ?'),
      maxNumber: db.prepare('SELECT MAX(number) AS n FROM sector_files WHERE miner = ?'),
    };
    for (const r of db.prepare('SELECT * FROM storage_paths').all() as DbStorageRow[]) {
      this.#stores.set(r.id, {
        info: {
          ID: r.id,
          URLs: JSON.parse(r.urls) as string[],
          Weight: r.weight,
          MaxStorage: r.max_storage,
          CanSeal: r.can_seal === 1,
          CanStore: r.can_store === 1,
        },
        owners: JSON.parse(r.url_nodes) as Record<string, string>,
        stat: r.fs_stat ? (JSON.parse(r.fs_stat) as FsStat) : { ...emptyStat },
        lastHeartbeat: r.last_heartbeat,
        err: r.heartbeat_err,
      });
    }
  }

  /**
   * Registers a storage path or, when its id is known, merges the new URLs and overwrites Weight,
   * MaxStorage, CanSeal and CanStore. With `node` (the attaching node's persistent id), the URLs
   * that node attached before are replaced by the new ones, so a node restarted on a new address
   * leaves no dead URL behind; other nodes' URLs (a shared filesystem) stay. Unlike Lotus (which keeps the old stat and heartbeat time), an
   * attach is also a heartbeat: the node has just opened and measured the path, so its stat is
   * stored and the path is healthy at once, not stale until its first heartbeat ~10 s later (a node
   * that was down longer than the threshold could otherwise not place a new file meanwhile).
   */
  storageAttach(info: StorageInfo, stat: FsStat, node?: string): void {
    validateInfo(info);
    validateStat(info.ID, stat);
    if (node !== undefined && (typeof node !== 'string' || node === '')) {
      throw new InvalidArgumentError(`storage ${info.ID}: node id ${JSON.stringify(node)} must be a non-empty string`);
    }
    const owned = (urls: readonly string[]) => (node === undefined ? {} : Object.fromEntries(urls.map((u) => [u, node])));
    const known = this.#stores.get(info.ID);
    if (known) {
      // the node's earlier addresses are dead once it attaches from a new one: replace, not add
      const urls = known.info.URLs.filter((u) => node === undefined || known.owners[u] !== node || info.URLs.includes(u));
      for (const u of info.URLs) if (!urls.includes(u)) urls.push(u);
      const owners = Object.fromEntries(Object.entries({ ...known.owners, ...owned(info.URLs) }).filter(([u]) => urls.includes(u)));
      const next: StorageInfo = { ...info, URLs: urls };
      this.#s.updateStorageInfo.run(infoParams(next, owners));
      known.info = next;
      known.owners = owners;
      this.storageReportHealth(info.ID, { Stat: stat });
      return;
    }
    const now = this.#clock.now();
    const row: StorageRow = { info: { ...info, URLs: [...info.URLs] }, owners: owned(info.URLs), stat: { ...stat }, lastHeartbeat: now, err: null };
    this.#s.insertStorage.run({ ...infoParams(row.info, row.owners), fs_stat: JSON.stringify(stat), last_heartbeat: now });
    this.#stores.set(info.ID, row);
  }

  /**
   * Detaches a storage path. With `url`, only that URL is removed (another node may still serve
   * the same shared filesystem); the path itself and all its declarations go when no URL is left.
   */
  storageDetach(id: string, url?: string): void {
    const row = this.#row(id);
    if (url !== undefined) {
      if (!row.info.URLs.includes(url)) {
        throw new InvalidArgumentError(`storage ${id} has no URL ${url} (URLs: ${row.info.URLs.join(', ') || 'none'})`);
      }
      const urls = row.info.URLs.filter((u) => u !== url);
      if (urls.length > 0) {
        row.info = { ...row.info, URLs: urls };
        const { [url]: _gone, ...owners } = row.owners;
        row.owners = owners;
        this.#s.updateStorageInfo.run(infoParams(row.info, row.owners));
        return;
      }
    }
    // ON DELETE CASCADE removes the path's sector_files rows in the same statement.
    this.#s.deleteStorage.run(id);
    this.#stores.delete(id);
  }

  /** A copy of a storage path's info; StorageNotFoundError for an unknown id. */
  storageInfo(id: string): StorageInfo {
    const row = this.#row(id);
    return { ...row.info, URLs: [...row.info.URLs] };
  }

  /** Every storage path (possibly with no sectors) and, per sector, the OR of its declared types. */
  storageList(): Record<string, Decl[]> {
    const out: Record<string, Decl[]> = {};
    for (const id of this.#stores.keys()) out[id] = [];
    let last: Decl | undefined;
    let lastId = '';
    for (const r of this.#s.listDecls.iterate() as Iterable<{ storage_id: string; miner: number; number: number; file_type: number }>) {
      if (last && lastId === r.storage_id && last.Miner === r.miner && last.Number === r.number) {
        last.SectorFileType |= r.file_type;
        continue;
      }
      last = { Miner: r.miner, Number: r.number, SectorFileType: r.file_type };
      lastId = r.storage_id;
      const list = out[r.storage_id] ?? [];
      out[r.storage_id] = list;
      list.push(last);
    }
    return out;
  }

  /** Every declared sector file, one entry per (storage, sector, type), sorted by storage, sector, type. */
  storageSectorFiles(): SectorFileDecl[] {
    const out: SectorFileDecl[] = [];
    for (const r of this.#s.listFiles.iterate() as Iterable<{ storage_id: string; miner: number; number: number; file_type: number; is_primary: number }>) {
      const type = FILE_TYPES.find((t) => FileType[t] === r.file_type);
      if (type) out.push({ storage: r.storage_id, sector: { miner: r.miner, number: r.number }, type, primary: r.is_primary === 1 });
    }
    return out;
  }

  /** Records a heartbeat: new stat, error text (or none) and the current time. */
  storageReportHealth(id: string, report: HealthReport): void {
    const row = this.#row(id);
    validateStat(id, report?.Stat);
    if (report.Err !== undefined && report.Err !== null && typeof report.Err !== 'string') {
      throw new InvalidArgumentError(`storage ${id}: health report Err must be a string`);
    }
    const now = this.#clock.now();
    const err = report.Err ? report.Err : null;
    this.#s.updateHealth.run(JSON.stringify(report.Stat), now, err, id);
    row.stat = { ...report.Stat };
    row.lastHeartbeat = now;
    row.err = err;
  }

  /** Declares that storage `id` holds the sector's files of `types`; an existing copy is upgraded to primary if asked. */
  storageDeclareSector(id: string, sector: SectorId, types: number, primary: boolean): void {
    this.#row(id);
    checkSector(sector);
    const bits = typeBits(types);
    this.#db.transaction(() => {
      for (const ft of bits) this.#declareOne(id, sector, ft, primary);
    })();
  }

  /**
   * Declares many sectors of one storage in one transaction. With `dropMissing`, declarations of
   * that storage that are not in `decls` are dropped: a rescan of a path makes the index agree with
   * its disk (Lotus can only add, which lets the index drift).
   */
  storageDeclareSectors(id: string, decls: readonly SectorDecl[], dropMissing: boolean): { declared: number; dropped: number } {
    this.#row(id);
    for (const d of decls) {
      checkSector(d.sector);
      typeBits(d.types);
    }
    return this.#db.transaction(() => {
      let dropped = 0;
      if (dropMissing) {
        const keep = new Set<string>();
        for (const d of decls) for (const ft of typeBits(d.types)) keep.add(`${d.sector.miner}-${d.sector.number}-${ft}`);
        const existing = this.#s.declsOfStorage.all(id) as { miner: number; number: number; file_type: number }[];
        for (const e of existing) {
          if (!keep.has(`${e.miner}-${e.number}-${e.file_type}`)) {
            this.#s.dropDecl.run(e.miner, e.number, e.file_type, id);
            dropped++;
          }
        }
      }
      for (const d of decls) for (const ft of typeBits(d.types)) this.#declareOne(id, d.sector, ft, d.primary);
      return { declared: decls.length, dropped };
    })();
  }

  /** Removes storage `id` from the holders of the sector's files of `types`. */
  storageDropSector(id: string, sector: SectorId, types: number): void {
    this.#row(id);
    checkSector(sector);
    const bits = typeBits(types);
    this.#db.transaction(() => {
      for (const ft of bits) this.#s.dropDecl.run(sector.miner, sector.number, ft, id);
    })();
  }

  /**
   * Moves declarations of `types` from storage `from` to storage `to` (declared primary there) in
   * one transaction, so no reader ever sees the file in neither or (after a move) both places.
   */
  storageMoveSector(sector: SectorId, types: number, from: string, to: string): void {
    this.#row(from);
    this.#row(to);
    checkSector(sector);
    const bits = typeBits(types);
    this.#db.transaction(() => {
      for (const ft of bits) {
        this.#s.dropDecl.run(sector.miner, sector.number, ft, from);
        this.#declareOne(to, sector, ft, true);
      }
    })();
  }

  /**
   * Holders of a sector's files of `types`, best first (weight × number of the types held, then
   * primary copies, then id). A holder whose heartbeat is stale or failing is listed without URLs
   * (not offered for fetching). With `allowFetch`, healthy sealing paths with room for the files
   * (`SealSpaceUse`) are appended as candidates with weight 0.
   */
  storageFindSector(sector: SectorId, types: number, ssize: number, allowFetch: boolean): SectorStorageInfo[] {
    checkSector(sector);
    const bits = typeBits(types);
    const mask = bits.reduce((m, b) => m | b, 0);
    const held = new Map<string, { types: number; primary: boolean }>();
    for (const r of this.#s.findSector.all(sector.miner, sector.number) as { storage_id: string; file_type: number; is_primary: number }[]) {
      if ((r.file_type & mask) === 0) continue;
      const h = held.get(r.storage_id) ?? { types: 0, primary: false };
      h.types |= r.file_type;
      h.primary ||= r.is_primary === 1;
      held.set(r.storage_id, h);
    }
    const name = sectorName(sector);
    const out: SectorStorageInfo[] = [];
    for (const [id, h] of held) {
      const row = this.#stores.get(id);
      if (!row) continue;
      const heldTypes = FILE_TYPES.filter((t) => h.types & FileType[t]);
      // a path whose node stopped heartbeating (or reports an error) is still listed as a holder,
      // but with no URL: its node is probably gone, and nothing should try to fetch from it
      const bases = this.#healthy(row) ? row.info.URLs : [];
      out.push({
        ID: id,
        URLs: bases.flatMap((base) => heldTypes.map((t) => `${base}/${t}/${name}`)),
        BaseURLs: [...bases],
        Weight: row.info.Weight * heldTypes.length,
        CanSeal: row.info.CanSeal,
        CanStore: row.info.CanStore,
        Primary: h.primary,
      });
    }
    out.sort((a, b) => b.Weight - a.Weight || Number(b.Primary) - Number(a.Primary) || cmp(a.ID, b.ID));
    if (allowFetch) {
      const need = sealSpaceUse(mask, ssize);
      const candidates: SectorStorageInfo[] = [];
      for (const [id, row] of this.#stores) {
        if (held.has(id) || !row.info.CanSeal || !this.#healthy(row) || row.stat.Available < need) continue;
        const requested = FILE_TYPES.filter((t) => mask & FileType[t]);
        candidates.push({
          ID: id,
          URLs: row.info.URLs.flatMap((base) => requested.map((t) => `${base}/${t}/${name}`)),
          BaseURLs: [...row.info.URLs],
          Weight: 0,
          CanSeal: row.info.CanSeal,
          CanStore: row.info.CanStore,
          Primary: false,
        });
      }
      candidates.sort((a, b) => cmp(a.ID, b.ID));
      out.push(...candidates);
    }
    return out;
  }

  /**
   * Where new files of `types` should go: healthy paths of the right kind whose reported Available
   * (free space minus reservations, within MaxStorage) covers the files, best first by
   * Available × Weight (bigint: the product exceeds 2^53). Throws NoSuitablePathError when no
   * healthy path of that kind exists and NoSpaceError (needed vs largest available) when none has room.
   */
  storageBestAlloc(types: number, ssize: number, pathType: PathType): StorageInfo[] {
    const mask = typeBits(types).reduce((m, b) => m | b, 0);
    if (!Number.isSafeInteger(ssize) || ssize <= 0) throw new InvalidArgumentError(`sector size ${ssize} must be a positive integer`);
    if (pathType !== 'sealing' && pathType !== 'storage') {
      throw new InvalidArgumentError(`path type ${JSON.stringify(pathType)} is not "sealing" or "storage"`);
    }
    const need = pathType === 'sealing' ? sealSpaceUse(mask, ssize) : storeSpaceUse(mask, ssize);
    const kind: StorageRow[] = [];
    for (const row of this.#stores.values()) {
      if (pathType === 'sealing' ? !row.info.CanSeal : !row.info.CanStore) continue;
      if (this.#healthy(row)) kind.push(row);
    }
    if (kind.length === 0) {
      throw new NoSuitablePathError(
        `no ${pathType} path with a fresh heartbeat is attached (need one with ${pathType === 'sealing' ? 'CanSeal' : 'CanStore'})`,
      );
    }
    const fit = kind.filter((r) => r.stat.Available >= need);
    if (fit.length === 0) {
      const best = kind.reduce((a, b) => (b.stat.Available > a.stat.Available ? b : a));
      throw new NoSpaceError(
        `not enough space for ${FILE_TYPES.filter((t) => mask & FileType[t]).join('+')} on any ${pathType} path: ` +
          `need ${need} bytes (${formatSize(need)}), largest available is ${best.stat.Available} bytes ` +
          `(${formatSize(best.stat.Available)}) on ${best.info.ID}`,
      );
    }
    const score = (r: StorageRow) => BigInt(r.stat.Available) * BigInt(r.info.Weight);
    fit.sort((a, b) => {
      const d = score(b) - score(a);
      return d > 0n ? 1 : d < 0n ? -1 : cmp(a.info.ID, b.info.ID);
    });
    return fit.map((r) => ({ ...r.info, URLs: [...r.info.URLs] }));
  }

  /**
   * Every path's kind, weight, health and Available (free minus reservations, within MaxStorage):
   * the scheduler's view of where new files fit (docs/design/scheduler.md §4). From the cached
   * table, no query.
   */
  storageSpace(): StorageSpace[] {
    return [...this.#stores.values()].map((row) => ({
      ID: row.info.ID,
      CanSeal: row.info.CanSeal,
      CanStore: row.info.CanStore,
      Weight: row.info.Weight,
      Available: row.stat.Available,
      Healthy: this.#healthy(row),
    }));
  }

  /** Every storage path with its health and per-type counts (for `storage list`). */
  storageStatus(): StorageStatus[] {
    const counts = new Map<string, Record<FileTypeName, number>>();
    for (const r of this.#s.countByStorage.all() as { storage_id: string; file_type: number; n: number }[]) {
      const c = counts.get(r.storage_id) ?? { unsealed: 0, sealed: 0, cache: 0 };
      const t = FILE_TYPES.find((x) => FileType[x] === r.file_type);
      if (t) c[t] = r.n;
      counts.set(r.storage_id, c);
    }
    return [...this.#stores.values()].map((row) => ({
      info: { ...row.info, URLs: [...row.info.URLs] },
      stat: { ...row.stat },
      lastHeartbeat: row.lastHeartbeat,
      heartbeatErr: row.err,
      healthy: this.#healthy(row),
      counts: counts.get(row.info.ID) ?? { unsealed: 0, sealed: 0, cache: 0 },
    }));
  }

  /**
   * The highest sector number of `miner` with a file declared on any path (local or a worker's),
   * or undefined when there is none: new sector numbers must stay above it, whatever the sector
   * records say (reconcile.ts).
   */
  maxSectorNumberOnPaths(miner: number): number | undefined {
    if (!Number.isSafeInteger(miner) || miner < 0) throw new InvalidArgumentError(`miner ${miner} must be a non-negative integer`);
    const row = this.#s.maxNumber.get(miner) as { n: number | null };
    return row.n ?? undefined;
  }

  /** The last reported stat of a storage path. */
  storageStat(id: string): FsStat {
    return { ...this.#row(id).stat };
  }

  #declareOne(id: string, sector: SectorId, ft: number, primary: boolean): void {
    const existing = this.#s.getDecl.get(sector.miner, sector.number, ft, id) as { is_primary: number } | undefined;
    if (existing === undefined) this.#s.insertDecl.run(sector.miner, sector.number, ft, id, primary ? 1 : 0);
    else if (primary && existing.is_primary === 0) this.#s.setPrimary.run(sector.miner, sector.number, ft, id);
  }

  #healthy(row: StorageRow): boolean {
    return row.err === null && this.#clock.now() - row.lastHeartbeat <= SKIPPED_HEARTBEAT_THRESHOLD_MS;
  }

  #row(id: string): StorageRow {
    const row = this.#stores.get(id);
    if (!row) throw new StorageNotFoundError(`sector store ${JSON.stringify(id)} not found`);
    return row;
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function infoParams(info: StorageInfo, owners: Record<string, string>) {
  return {
    id: info.ID,
    urls: JSON.stringify(info.URLs),
    url_nodes: JSON.stringify(owners),
    weight: info.Weight,
    max_storage: info.MaxStorage,
    can_seal: info.CanSeal ? 1 : 0,
    can_store: info.CanStore ? 1 : 0,
  };
}

function validateInfo(info: StorageInfo): void {
  if (typeof info.ID !== 'string' || !validStorageId(info.ID)) {
    throw new InvalidArgumentError(`storage id ${JSON.stringify(info.ID)} is not valid`);
  }
  if (!Array.isArray(info.URLs)) throw new InvalidArgumentError(`storage ${info.ID}: URLs must be an array`);
  for (const u of info.URLs) {
    let parsed: URL;
    try {
      parsed = new URL(u);
    } catch {
      throw new InvalidArgumentError(`storage ${info.ID}: URL ${JSON.stringify(u)} does not parse`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new InvalidArgumentError(`storage ${info.ID}: URL ${u} must be http or https`);
    }
  }
  if (!Number.isSafeInteger(info.Weight) || info.Weight < 0) {
    throw new InvalidArgumentError(`storage ${info.ID}: weight ${info.Weight} must be a non-negative integer`);
  }
  if (!Number.isSafeInteger(info.MaxStorage) || info.MaxStorage < 0) {
    throw new InvalidArgumentError(`storage ${info.ID}: MaxStorage ${info.MaxStorage} must be a non-negative integer`);
  }
}

const STAT_FIELDS = ['Capacity', 'Available', 'FSAvailable', 'Reserved', 'Max', 'Used'] as const;

function validateStat(id: string, stat: FsStat | undefined): void {
  if (typeof stat !== 'object' || stat === null) throw new InvalidArgumentError(`storage ${id}: stat must be an FsStat object`);
  for (const f of STAT_FIELDS) {
    const v = stat[f];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
      throw new InvalidArgumentError(`storage ${id}: stat ${f} ${v} must be a non-negative integer of bytes`);
    }
  }
}

function checkSector(s: SectorId): void {
  if (!s || !Number.isSafeInteger(s.miner) || s.miner < 0 || !Number.isSafeInteger(s.number) || s.number < 0) {
    throw new InvalidArgumentError(`sector id ${JSON.stringify(s)} must have non-negative integer miner and number`);
  }
}

/** The single-type bits of a file type mask, in canonical order; rejects 0 and values above 7. */
export function typeBits(types: number): number[] {
  if (!Number.isInteger(types) || types <= 0 || types > 7) {
    throw new InvalidArgumentError(`file types ${types} must be a non-empty mask of unsealed=1, sealed=2, cache=4`);
  }
  return FILE_TYPES.map((t) => FileType[t] as number).filter((b) => (types & b) !== 0);
}

/**
 * Calls a StorageCatalog directly, as a {@link CatalogClient} (same process, no mailbox). Each
 * call runs in a microtask so that errors surface as rejections, like through the actor.
 */
export function directCatalog(store: StorageCatalog): CatalogClient {
  const out: Record<string, unknown> = {};
  for (const m of CATALOG_METHODS) {
    const fn = (store[m] as (...a: unknown[]) => unknown).bind(store);
    out[m] = async (...args: unknown[]) => fn(...args);
  }
  return out as unknown as CatalogClient;
}
