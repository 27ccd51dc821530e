/**
 * Storage methods (Lotus names, all `admin` as in Lotus): the sector index (`StorageAttach`,
 * `StorageInfo`, `StorageReportHealth`, `StorageDeclareSector`, `StorageDropSector`,
 * `StorageFindSector`, `StorageBestAlloc`, `StorageList`, `StorageDetach`), this node's paths
 * (`StorageLocal`, `StorageStat`, `StorageAddLocal`, `StorageRedeclareLocal`) and sector locks
 * (`StorageLock`, `StorageTryLock`, `StorageGetLocks`).
 *
 * Additions over Lotus: `StorageDeclareSectors` (one call per rescan instead of one per sector,
 * with drift repair), `StorageMoveSector` (atomic re-declaration), the drift an attached or
 * declared path brought (sector files no record knows: logged by the daemon, and returned by
 * `StorageAddLocal` and `StorageDeclareSectors`), `StorageSummary` (health and counts for
 * `storage list`), `StorageSectorFiles` and `StorageListSectors` (`storage list sectors`),
 * `StorageCleanup` (`storage cleanup`), `StorageDetachLocal`, and, because a JSON-RPC call cannot hold a
 * lock for the lifetime of a Go context, `StorageLock`/`StorageTryLock` return a lock id that
 * `StorageUnlock` releases; `StorageReleaseOwner` releases every lock of a dead worker.
 * Owners are leased: `StorageOwnerHeartbeat(owner)` (sent by workers every heartbeat interval)
 * and every lock call naming the owner renew the lease, and the lock table releases the locks and
 * waiting requests of an owner not heard from for 50 s (env `SECTOR_STORAGE_HEARTBEAT_MS` scales
 * the 10 s / 50 s pair; see storage/owner-leases.ts).
 *
 * Sector ids are accepted as `{miner, number}` or Lotus's `{Miner, Number}`.
 */
import type { ApiComponents } from '../components.js';
import { AbortedError, DaemonUnreachableError, InvalidArgumentError } from '../../errors.js';
import { type SectorId, sectorName } from '../../sector/sector-id.js';
import type { StorageStatus } from '../../storage/storage-types.js';
import type { RemoteStore } from '../../storage/remote-store.js';
import type { CatalogClient } from '../../storage/catalog-client.js';
import type { OwnerHeartbeat, SectorLock, SectorLockInfo, SectorLocks } from '../../storage/sector-locks.js';
import type {
  AcquireMode,
  Decl,
  FsStat,
  HealthReport,
  LocalPathInfo,
  PathType,
  SectorDecl,
  SectorFileDecl,
  SectorPaths,
  SectorStorageInfo,
  StorageInfo,
} from '../../storage/storage-types.js';
import type { LocalStore, RedeclaredPath } from '../../storage/local-store.js';
import { type CleanupReport, cleanupPaths } from '../../storage/path-cleanup.js';
import { expectArity, intParam, objectParam, stringParam } from '../params.js';
import { defineMethod, type RpcContext } from '../rpc-method.js';
import { type UnrecordedSectorInfo, unrecordedInfo } from './drift.js';

/** The storage side of a node, as the API reaches it. */
export interface StorageComponents {
  catalog: CatalogClient;
  local: LocalStore;
  remote: RemoteStore;
  locks: SectorLocks;
}

declare module '../components.js' {
  interface ApiComponents {
    /** Storage components, built by the daemon's composition root once its paths are open. */
    storage?: StorageComponents;
  }
}

/** The storage components of a daemon (refused while it is still starting). */
export function storageComponents(c: ApiComponents): StorageComponents {
  if (!c.storage) throw new DaemonUnreachableError('storage is not available yet: the daemon is still starting');
  return c.storage;
}

const st = (ctx: RpcContext) => storageComponents(ctx.components);

/** One row of `storage list sectors`. */
export interface SectorFileRow extends SectorFileDecl {
  /** The state of the sector's record on this daemon (absent for another miner's or an unrecorded sector). */
  state?: string;
  canSeal: boolean;
  canStore: boolean;
  /** The path's base URLs (empty when its heartbeat is stale or failing). */
  urls: string[];
}

/** A path attached to the daemon, with the drift it brought. */
export interface AttachedPathInfo extends LocalPathInfo {
  /** Sector files on the path that no record knows: their numbers are never handed out to new sectors. */
  Unrecorded: UnrecordedSectorInfo[];
}

/**
 * After a path was attached or files on it declared: sector numbers on the paths stay out of use,
 * and the files on `storageId` no record knows (of the sectors `only`) are logged and returned.
 */
async function attachedDrift(ctx: RpcContext, storageId: string, only?: readonly number[]): Promise<UnrecordedSectorInfo[]> {
  const found = (await ctx.components.sectors?.storageAttached(storageId, only)) ?? [];
  return found.map(unrecordedInfo);
}

// ---- param validation -------------------------------------------------------------------------

function sectorParam(raw: unknown[], i: number, name: string): SectorId {
  const o = objectParam(raw, i, name);
  const miner = o.miner ?? o.Miner;
  const number = o.number ?? o.Number;
  if (typeof miner !== 'number' || !Number.isSafeInteger(miner) || miner < 0 || typeof number !== 'number' || !Number.isSafeInteger(number) || number < 0) {
    throw new InvalidArgumentError(`param ${name} must be {miner, number} with non-negative integers (got ${JSON.stringify(raw[i])})`);
  }
  return { miner, number };
}

function boolParam(raw: unknown[], i: number, name: string): boolean {
  if (typeof raw[i] !== 'boolean') throw new InvalidArgumentError(`param ${name} must be true or false (got ${JSON.stringify(raw[i])})`);
  return raw[i] as boolean;
}

function maskParam(raw: unknown[], i: number, name: string): number {
  const v = intParam(raw, i, name);
  if (v > 7) throw new InvalidArgumentError(`param ${name} ${v} is not a file type mask (unsealed=1, sealed=2, cache=4)`);
  return v;
}

function optionalString(raw: unknown[], i: number, name: string): string | undefined {
  return raw[i] === undefined || raw[i] === null ? undefined : stringParam(raw, i, name);
}

function infoParam(raw: unknown[], i: number): StorageInfo {
  const o = objectParam(raw, i, 'info');
  if (!Array.isArray(o.URLs) || o.URLs.some((u) => typeof u !== 'string')) throw new InvalidArgumentError('param info.URLs must be a list of strings');
  for (const k of ['CanSeal', 'CanStore'] as const) {
    if (typeof o[k] !== 'boolean') throw new InvalidArgumentError(`param info.${k} must be true or false`);
  }
  if (typeof o.ID !== 'string') throw new InvalidArgumentError('param info.ID must be a string');
  return {
    ID: o.ID,
    URLs: o.URLs as string[],
    Weight: o.Weight as number,
    MaxStorage: (o.MaxStorage ?? 0) as number,
    CanSeal: o.CanSeal as boolean,
    CanStore: o.CanStore as boolean,
  };
}

function statParam(raw: unknown[], i: number, name: string): FsStat {
  // field checks happen in StorageCatalog (one place for the rules)
  return objectParam(raw, i, name) as unknown as FsStat;
}

function pathTypeParam(raw: unknown[], i: number): PathType {
  const v = raw[i];
  if (v !== 'sealing' && v !== 'storage') throw new InvalidArgumentError(`param pathType must be "sealing" or "storage" (got ${JSON.stringify(v)})`);
  return v;
}

function declsParam(raw: unknown[], i: number): SectorDecl[] {
  const v = raw[i];
  if (!Array.isArray(v)) throw new InvalidArgumentError('param decls must be a list');
  return v.map((d, j) => {
    const row = [d] as unknown[];
    const o = objectParam(row, 0, `decls[${j}]`);
    return {
      sector: sectorParam([o.sector], 0, `decls[${j}].sector`),
      types: maskParam([o.types], 0, `decls[${j}].types`),
      primary: boolParam([o.primary], 0, `decls[${j}].primary`),
    };
  });
}

// ---- methods ----------------------------------------------------------------------------------

export const storageMethods = {
  /**
   * `StorageAttach(info, stat, node?)`: registers a path (or merges URLs of a known id); with the
   * attaching node's id (an addition over Lotus), that node's earlier URLs are replaced.
   */
  StorageAttach: defineMethod({
    perm: 'admin',
    params: (raw): [StorageInfo, FsStat, string?] => {
      expectArity(raw, 2, 3);
      return [infoParam(raw, 0), statParam(raw, 1, 'stat'), optionalString(raw, 2, 'node')];
    },
    run: async ([info, stat, node], ctx): Promise<null> => {
      await st(ctx).catalog.storageAttach(info, stat, node);
      return null;
    },
  }),
  /** `StorageDetach(id, url?)`: removes a URL of a path, or the path when no URL is left. */
  StorageDetach: defineMethod({
    perm: 'admin',
    params: (raw): [string, string?] => {
      expectArity(raw, 1, 2);
      return [stringParam(raw, 0, 'id'), optionalString(raw, 1, 'url')];
    },
    run: async ([id, url], ctx): Promise<null> => {
      await st(ctx).catalog.storageDetach(id, url);
      return null;
    },
  }),
  /** `StorageInfo(id) → StorageInfo`. */
  StorageInfo: defineMethod({
    perm: 'admin',
    params: (raw): [string] => {
      expectArity(raw, 1);
      return [stringParam(raw, 0, 'id')];
    },
    run: ([id], ctx): Promise<StorageInfo> => st(ctx).catalog.storageInfo(id),
  }),
  /** `StorageList() → {id: Decl[]}`. */
  StorageList: defineMethod({
    perm: 'admin',
    params: (raw): [] => {
      expectArity(raw, 0);
      return [];
    },
    run: (_p, ctx): Promise<Record<string, Decl[]>> => st(ctx).catalog.storageList(),
  }),
  /** `StorageSummary() → StorageStatus[]`: every path with heartbeat health and per-type counts. */
  StorageSummary: defineMethod({
    perm: 'admin',
    params: (raw): [] => {
      expectArity(raw, 0);
      return [];
    },
    run: (_p, ctx): Promise<StorageStatus[]> => st(ctx).catalog.storageStatus(),
  }),
  /** `StorageSectorFiles() → SectorFileDecl[]`: every declared sector file (storage, sector, type, primary). */
  StorageSectorFiles: defineMethod({
    perm: 'admin',
    params: (raw): [] => {
      expectArity(raw, 0);
      return [];
    },
    run: (_p, ctx): Promise<SectorFileDecl[]> => st(ctx).catalog.storageSectorFiles(),
  }),
  /**
   * `StorageListSectors() → SectorFileRow[]`: every declared sector file with its path's use and
   * URLs and its sector's state (`storage list sectors`), store paths first, then by storage id,
   * sector and type (Lotus's order).
   */
  StorageListSectors: defineMethod({
    perm: 'admin',
    params: (raw): [] => {
      expectArity(raw, 0);
      return [];
    },
    run: async (_p, ctx): Promise<SectorFileRow[]> => {
      const [files, status, records] = await Promise.all([
        st(ctx).catalog.storageSectorFiles(),
        st(ctx).catalog.storageStatus(),
        ctx.components.sectors?.listSectors() ?? [],
      ]);
      const miner = ctx.components.daemon.minerId;
      const states = new Map(records.map((r) => [r.number, r.state as string]));
      const info = new Map(status.map((s) => [s.info.ID, s]));
      const rows = files.map((f): SectorFileRow => {
        const s = info.get(f.storage);
        const state = f.sector.miner === miner ? states.get(f.sector.number) : undefined;
        return {
          ...f,
          ...(state !== undefined ? { state } : {}),
          canSeal: s?.info.CanSeal ?? false,
          canStore: s?.info.CanStore ?? false,
          urls: s?.healthy ? s.info.URLs : [],
        };
      });
      const order = { unsealed: 0, sealed: 1, cache: 2 } as const;
      return rows.sort(
        (a, b) =>
          Number(b.canStore) - Number(a.canStore) ||
          (a.storage < b.storage ? -1 : a.storage > b.storage ? 1 : 0) ||
          a.sector.miner - b.sector.miner ||
          a.sector.number - b.sector.number ||
          order[a.type] - order[b.type],
      );
    },
  }),
  /**
   * `StorageCleanup(apply) → CleanupReport`: the drift between the daemon's paths and the index
   * (files not in the index, declarations whose files are gone, leftovers in `fetching/`); with
   * `apply` true it is removed (storage/path-cleanup.ts says what is kept and why).
   */
  StorageCleanup: defineMethod({
    perm: 'admin',
    params: (raw): [boolean] => {
      expectArity(raw, 1);
      return [boolParam(raw, 0, 'apply')];
    },
    run: async ([apply], ctx): Promise<CleanupReport> => {
      const { local, catalog, locks, remote } = st(ctx);
      const records = (await ctx.components.sectors?.listSectors()) ?? [];
      const live = new Map(records.filter((r) => r.state !== 'Removed').map((r) => [r.number, r.state as string]));
      return cleanupPaths(
        {
          local,
          catalog,
          locks,
          minerId: ctx.components.daemon.minerId,
          liveState: (n) => live.get(n),
          fetchInProgress: (p) => remote.isFetching(p),
        },
        apply,
      );
    },
  }),
  /**
   * `StorageRedeclareLocal(id | null, dropMissing) → RedeclaredPath[]` (Lotus's name): re-scans
   * one of the daemon's paths (or all, for null) and makes the index agree with the disk; with
   * `dropMissing`, declarations of files that are gone are dropped.
   */
  StorageRedeclareLocal: defineMethod({
    perm: 'admin',
    params: (raw): [string | undefined, boolean] => {
      expectArity(raw, 2);
      return [optionalString(raw, 0, 'id'), boolParam(raw, 1, 'dropMissing')];
    },
    run: async ([id, dropMissing], ctx): Promise<RedeclaredPath[]> => {
      const out = await st(ctx).local.redeclare({ ...(id !== undefined ? { id } : {}), dropMissing });
      // sector numbers of files found are never handed out to new sectors; unrecorded ones are logged
      for (const p of out) await attachedDrift(ctx, p.ID);
      return out;
    },
  }),
  /** `StorageReportHealth(id, {Stat, Err})`: a heartbeat. */
  StorageReportHealth: defineMethod({
    perm: 'admin',
    params: (raw): [string, HealthReport] => {
      expectArity(raw, 2);
      const o = objectParam(raw, 1, 'report');
      if (o.Err !== undefined && o.Err !== null && typeof o.Err !== 'string') throw new InvalidArgumentError('param report.Err must be a string');
      return [stringParam(raw, 0, 'id'), { Stat: statParam([o.Stat], 0, 'report.Stat'), ...(typeof o.Err === 'string' ? { Err: o.Err } : {}) }];
    },
    run: async ([id, report], ctx): Promise<null> => {
      await st(ctx).catalog.storageReportHealth(id, report);
      return null;
    },
  }),
  /** `StorageDeclareSector(id, sector, types, primary)`. */
  StorageDeclareSector: defineMethod({
    perm: 'admin',
    params: (raw): [string, SectorId, number, boolean] => {
      expectArity(raw, 4);
      return [stringParam(raw, 0, 'id'), sectorParam(raw, 1, 'sector'), maskParam(raw, 2, 'types'), boolParam(raw, 3, 'primary')];
    },
    run: async ([id, sector, types, primary], ctx): Promise<null> => {
      await st(ctx).catalog.storageDeclareSector(id, sector, types, primary);
      // a worker's file of a sector the records do not know keeps its number out of use (and is logged)
      if (sector.miner === ctx.components.daemon.minerId) await attachedDrift(ctx, id, [sector.number]);
      return null;
    },
  }),
  /**
   * `StorageDeclareSectors(id, [{sector, types, primary}], dropMissing) → {declared, dropped, unrecorded}`:
   * `unrecorded` lists the declared sectors that no record knows.
   */
  StorageDeclareSectors: defineMethod({
    perm: 'admin',
    params: (raw): [string, SectorDecl[], boolean] => {
      expectArity(raw, 3);
      return [stringParam(raw, 0, 'id'), declsParam(raw, 1), boolParam(raw, 2, 'dropMissing')];
    },
    run: async ([id, decls, drop], ctx): Promise<{ declared: number; dropped: number; unrecorded: UnrecordedSectorInfo[] }> => {
      const result = await st(ctx).catalog.storageDeclareSectors(id, decls, drop);
      // sector numbers found on a worker's (newly attached) path are never handed out to new sectors
      const miner = ctx.components.daemon.minerId;
      const numbers = [...new Set(decls.filter((d) => d.sector.miner === miner).map((d) => d.sector.number))];
      const unrecorded = numbers.length > 0 ? await attachedDrift(ctx, id, numbers) : [];
      return { ...result, unrecorded };
    },
  }),
  /** `StorageDropSector(id, sector, types)`. */
  StorageDropSector: defineMethod({
    perm: 'admin',
    params: (raw): [string, SectorId, number] => {
      expectArity(raw, 3);
      return [stringParam(raw, 0, 'id'), sectorParam(raw, 1, 'sector'), maskParam(raw, 2, 'types')];
    },
    run: async ([id, sector, types], ctx): Promise<null> => {
      await st(ctx).catalog.storageDropSector(id, sector, types);
      return null;
    },
  }),
  /** `StorageMoveSector(sector, types, from, to)`: atomic re-declaration after a move. */
  StorageMoveSector: defineMethod({
    perm: 'admin',
    params: (raw): [SectorId, number, string, string] => {
      expectArity(raw, 4);
      return [sectorParam(raw, 0, 'sector'), maskParam(raw, 1, 'types'), stringParam(raw, 2, 'from'), stringParam(raw, 3, 'to')];
    },
    run: async ([sector, types, from, to], ctx): Promise<null> => {
      await st(ctx).catalog.storageMoveSector(sector, types, from, to);
      return null;
    },
  }),
  /** `StorageFindSector(sector, types, ssize, allowFetch) → SectorStorageInfo[]`. */
  StorageFindSector: defineMethod({
    perm: 'admin',
    params: (raw): [SectorId, number, number, boolean] => {
      expectArity(raw, 4);
      return [sectorParam(raw, 0, 'sector'), maskParam(raw, 1, 'types'), intParam(raw, 2, 'ssize'), boolParam(raw, 3, 'allowFetch')];
    },
    run: ([sector, types, ssize, allowFetch], ctx): Promise<SectorStorageInfo[]> =>
      st(ctx).catalog.storageFindSector(sector, types, ssize, allowFetch),
  }),
  /** `StorageBestAlloc(types, ssize, pathType) → StorageInfo[]`. */
  StorageBestAlloc: defineMethod({
    perm: 'admin',
    params: (raw): [number, number, PathType] => {
      expectArity(raw, 3);
      return [maskParam(raw, 0, 'types'), intParam(raw, 1, 'ssize'), pathTypeParam(raw, 2)];
    },
    run: ([types, ssize, pathType], ctx): Promise<StorageInfo[]> => st(ctx).catalog.storageBestAlloc(types, ssize, pathType),
  }),
  /** `StorageLocal() → {id: path}`: this node's open paths, in Lotus's shape. */
  StorageLocal: defineMethod({
    perm: 'admin',
    params: (raw): [] => {
      expectArity(raw, 0);
      return [];
    },
    run: (_p, ctx): Record<string, string> => Object.fromEntries(st(ctx).local.localPaths().map((p) => [p.ID, p.LocalPath])),
  }),
  /** `StorageLocalPaths() → LocalPathInfo[]` (ours): this node's open paths with what `storage list` shows of them. */
  StorageLocalPaths: defineMethod({
    perm: 'admin',
    params: (raw): [] => {
      expectArity(raw, 0);
      return [];
    },
    run: (_p, ctx): LocalPathInfo[] => st(ctx).local.localPaths(),
  }),
  /** `StorageStat(id) → FsStat`: live stat (local, or through the holder's `/remote/stat`). */
  StorageStat: defineMethod({
    perm: 'admin',
    params: (raw): [string] => {
      expectArity(raw, 1);
      return [stringParam(raw, 0, 'id')];
    },
    run: ([id], ctx): Promise<FsStat> => st(ctx).remote.fsStat(id, ctx.signal),
  }),
  /**
   * `StorageAddLocal(path) → AttachedPathInfo`: opens an initialised path on the daemon and adds it
   * to storage.json; `Unrecorded` lists the sector files found there that no record knows (Lotus
   * returns nothing; an old repository's path attached to a new one is the case it shows).
   */
  StorageAddLocal: defineMethod({
    perm: 'admin',
    params: (raw): [string] => {
      expectArity(raw, 1);
      return [stringParam(raw, 0, 'path')];
    },
    run: async ([path], ctx): Promise<AttachedPathInfo> => {
      const info = await st(ctx).local.addLocalPath(path);
      // sector numbers found on the new path are never handed out to new sectors
      ctx.components.sectors?.storagePathsChanged?.();
      return { ...info, Unrecorded: await attachedDrift(ctx, info.ID) };
    },
  }),
  /** `StorageDetachLocal(pathOrId) → LocalPathInfo`: detaches a daemon path (files stay on disk). */
  StorageDetachLocal: defineMethod({
    perm: 'admin',
    params: (raw): [string] => {
      expectArity(raw, 1);
      return [stringParam(raw, 0, 'pathOrId')];
    },
    run: async ([p], ctx): Promise<LocalPathInfo> => {
      const info = await st(ctx).local.detachLocalPath(p);
      ctx.components.sectors?.storagePathsChanged?.();
      return info;
    },
  }),
  /**
   * `StorageFetch(sector, types, pathType, mode) → SectorPaths`: makes the sector's files of
   * `types` local to the daemon, fetching them from other nodes (`move` makes the daemon's copy
   * primary and removes the source). The operator's tool to pull data home; the scheduler's
   * prepare step does the same on workers.
   */
  StorageFetch: defineMethod({
    perm: 'admin',
    params: (raw): [SectorId, number, PathType, AcquireMode] => {
      expectArity(raw, 4);
      const mode = raw[3];
      if (mode !== 'move' && mode !== 'copy') throw new InvalidArgumentError(`param mode must be "move" or "copy" (got ${JSON.stringify(mode)})`);
      return [sectorParam(raw, 0, 'sector'), maskParam(raw, 1, 'types'), pathTypeParam(raw, 2), mode];
    },
    run: ([sector, types, pathType, mode], ctx): Promise<SectorPaths> =>
      st(ctx).remote.acquireSector({ id: sector, proofType: ctx.components.daemon.sealProof }, types, 0, pathType, mode, { signal: ctx.signal }),
  }),
  /** `StorageLock(sector, read, write, owner?) → lockId`: waits (cancelled when the caller disconnects). */
  StorageLock: defineMethod({
    perm: 'admin',
    params: (raw): [SectorId, number, number, string?] => {
      expectArity(raw, 3, 4);
      return [sectorParam(raw, 0, 'sector'), maskParam(raw, 1, 'read'), maskParam(raw, 2, 'write'), optionalString(raw, 3, 'owner')];
    },
    run: async ([sector, read, write, owner], ctx): Promise<string> => {
      // The call's signal ends the wait; once granted the lock outlives the call (StorageUnlock).
      const wait = new AbortController();
      const onAbort = () => wait.abort(ctx.signal.reason);
      // A caller gone before we got here never sees an 'abort' event: without this check it
      // would be granted a lock nobody can release (no owner lease, no StorageUnlock).
      if (ctx.signal.aborted) onAbort();
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      let lock: SectorLock;
      try {
        lock = await st(ctx).locks.acquire(sector, read, write, { signal: wait.signal, ...(owner ? { owner } : {}) });
      } finally {
        ctx.signal.removeEventListener('abort', onAbort);
      }
      // Granted, but the reply is not delivered yet: a caller that disconnects now never learns
      // the lock id, so nobody could release the lock (an owner's lease would end it only after
      // the threshold). The call's signal aborts until the reply is fully written (the HTTP
      // server's rule), so it releases the lock in that window.
      if (ctx.signal.aborted) {
        lock.release();
        throw new AbortedError(`the caller of StorageLock went away before the lock on ${sectorName(sector)} reached it; released`);
      }
      ctx.signal.addEventListener('abort', () => lock.release(), { once: true });
      return lock.id;
    },
  }),
  /** `StorageTryLock(sector, read, write, owner?) → lockId | null`. */
  StorageTryLock: defineMethod({
    perm: 'admin',
    params: (raw): [SectorId, number, number, string?] => {
      expectArity(raw, 3, 4);
      return [sectorParam(raw, 0, 'sector'), maskParam(raw, 1, 'read'), maskParam(raw, 2, 'write'), optionalString(raw, 3, 'owner')];
    },
    run: ([sector, read, write, owner], ctx): string | null => {
      if (ctx.signal.aborted) throw new AbortedError(`the caller of StorageTryLock on ${sectorName(sector)} went away`);
      const lock = st(ctx).locks.tryAcquire(sector, read, write, owner ? { owner } : {});
      // as StorageLock: a reply that cannot be delivered releases the lock
      ctx.signal.addEventListener('abort', () => lock?.release(), { once: true });
      return lock?.id ?? null;
    },
  }),
  /** `StorageUnlock(lockId) → bool`. */
  StorageUnlock: defineMethod({
    perm: 'admin',
    params: (raw): [string] => {
      expectArity(raw, 1);
      return [stringParam(raw, 0, 'lockId')];
    },
    run: ([id], ctx): boolean => st(ctx).locks.release(id),
  }),
  /** `StorageReleaseOwner(owner) → count`: a worker died; its locks go. */
  StorageReleaseOwner: defineMethod({
    perm: 'admin',
    params: (raw): [string] => {
      expectArity(raw, 1);
      return [stringParam(raw, 0, 'owner')];
    },
    run: ([owner], ctx): number => st(ctx).locks.releaseOwner(owner),
  }),
  /**
   * `StorageOwnerHeartbeat(owner) → {locks, waiting, released}`: the owner (a worker id) is alive;
   * renews its lease and tells it whether its locks were released since it last called in.
   */
  StorageOwnerHeartbeat: defineMethod({
    perm: 'admin',
    params: (raw): [string] => {
      expectArity(raw, 1);
      const owner = stringParam(raw, 0, 'owner');
      if (owner === '') throw new InvalidArgumentError('param owner must not be empty');
      return [owner];
    },
    run: ([owner], ctx): OwnerHeartbeat => st(ctx).locks.heartbeat(owner),
  }),
  /** `StorageGetLocks() → SectorLockInfo[]` (holders with the time their owner was last heard from). */
  StorageGetLocks: defineMethod({
    perm: 'admin',
    params: (raw): [] => {
      expectArity(raw, 0);
      return [];
    },
    run: (_p, ctx): SectorLockInfo[] => st(ctx).locks.list(),
  }),
};
