/**
 * `storage cleanup`: the drift between this node's storage paths and the index, and what to do
 * about it. Three kinds, each found per local path:
 *
 * - `unindexed`: a sector file on disk that the index does not list for that path (a remove whose
 *   delete failed after the declaration was dropped, a file copied in by hand). It is removed,
 *   unless a sector record still needs the sector (then `storage redeclare` is the cure, and the
 *   file is kept) or the file belongs to another miner;
 * - `missing`: a declaration whose file is gone from the path; the declaration is dropped;
 * - `fetching`: a download left in a `fetching/` folder (kept for resuming after a crash) that no
 *   fetch of this node is working on; it is removed with its progress record.
 *
 * Entries that are not sector files are never touched (the store does not write names it does not
 * produce); `storage list` names them. A plan is computed first; with `apply` each action runs
 * under a try write-lock of the sector's file type (an operation holding the sector is not raced:
 * its entry is reported busy and left for the next run) and after re-checking that the drift is
 * still there.
 */
import { lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { FETCH_TEMP_DIR, sectorFilePath } from '../sector/layout.js';
import { FILE_TYPES, FileType, type FileTypeName, type SectorId, parseSectorName, sectorName } from '../sector/sector-id.js';
import type { CatalogClient } from './catalog-client.js';
import { downloadOf, journalPathOf, removeFetchJournal } from './fetch-journal.js';
import type { LocalStore } from './local-store.js';
import { scanPath } from './path-scan.js';
import type { SectorLocks } from './sector-locks.js';

/** The kind of drift of a {@link CleanupItem}. */
export type CleanupKind = 'unindexed' | 'missing' | 'fetching';

/** One finding of `storage cleanup`. */
export interface CleanupItem {
  kind: CleanupKind;
  /** Storage id of the path. */
  storage: string;
  /** The entry on disk (for `missing`: where the index says it is). */
  path: string;
  sector?: SectorId;
  type?: FileTypeName;
  /** `remove` the entry, `drop` the declaration, or `keep` it (see `reason`). */
  action: 'remove' | 'drop' | 'keep';
  reason: string;
  /** With apply: the action was carried out (false for `keep`, a busy sector or an error). */
  done: boolean;
  /** Why an action that should have run did not. */
  error?: string;
}

/** What `storage cleanup` found and, with `applied`, did. */
export interface CleanupReport {
  applied: boolean;
  items: CleanupItem[];
}

/** What {@link cleanupPaths} works with. */
export interface CleanupDeps {
  local: LocalStore;
  catalog: CatalogClient;
  /** The node's sector locks; without them actions run unlocked (tests of the plan only). */
  locks?: SectorLocks;
  /** The miner whose sectors the node's records describe. */
  minerId: number;
  /** The state of the record of a sector of `minerId` that still needs its files, or undefined. */
  liveState(number: number): string | undefined;
  /** True for a `fetching/` entry a fetch of this node is writing right now. */
  fetchInProgress(path: string): boolean;
}

/** Finds the drift on every local path and, with `apply`, removes it. */
export async function cleanupPaths(deps: CleanupDeps, apply: boolean): Promise<CleanupReport> {
  const items = await planCleanup(deps);
  if (apply) {
    for (const item of items) if (item.action !== 'keep') await carryOut(deps, item);
  }
  return { applied: apply, items };
}

async function planCleanup(deps: CleanupDeps): Promise<CleanupItem[]> {
  const items: CleanupItem[] = [];
  const declared = new Map<string, Set<string>>();
  for (const f of await deps.catalog.storageSectorFiles()) {
    const set = declared.get(f.storage) ?? new Set<string>();
    set.add(`${f.type}/${sectorName(f.sector)}`);
    declared.set(f.storage, set);
  }
  for (const p of deps.local.localPaths()) {
    const inIndex = declared.get(p.ID) ?? new Set<string>();
    const onDisk = new Set<string>();
    for (const d of scanPath(p.LocalPath, p.CanStore).decls) {
      for (const t of FILE_TYPES) {
        if (!(d.types & FileType[t])) continue;
        const key = `${t}/${sectorName(d.sector)}`;
        onDisk.add(key);
        if (inIndex.has(key)) continue;
        const path = sectorFilePath(p.LocalPath, t, d.sector);
        items.push({ kind: 'unindexed', storage: p.ID, path, sector: d.sector, type: t, ...unindexedAction(deps, d.sector), done: false });
      }
    }
    for (const key of inIndex) {
      if (onDisk.has(key)) continue;
      const [t, name] = key.split('/') as [FileTypeName, string];
      const sector = parseSectorName(name);
      items.push({
        kind: 'missing',
        storage: p.ID,
        path: join(p.LocalPath, t, name),
        sector,
        type: t,
        action: 'drop',
        reason: 'declared here, but the file is gone: the declaration is dropped',
        done: false,
      });
    }
    for (const t of FILE_TYPES) {
      const dir = join(p.LocalPath, t, FETCH_TEMP_DIR);
      const names = await list(dir);
      for (const name of names) {
        // a progress record (and a temporary of one) goes with its download: one finding for both
        if (downloadOf(name) !== name && names.includes(downloadOf(name))) continue;
        const path = join(dir, name);
        if (deps.fetchInProgress(path)) continue;
        items.push({ kind: 'fetching', storage: p.ID, path, action: 'remove', reason: 'an interrupted download no fetch is resuming', done: false });
      }
    }
  }
  return items;
}

function unindexedAction(deps: CleanupDeps, sector: SectorId): Pick<CleanupItem, 'action' | 'reason'> {
  if (sector.miner !== deps.minerId) {
    return { action: 'keep', reason: `a file of miner ${sector.miner}, not of this node's miner ${deps.minerId}: left alone` };
  }
  const state = deps.liveState(sector.number);
  if (state !== undefined) {
    return { action: 'keep', reason: `sector ${sector.number} is in state ${state} and may need it: run "storage redeclare" to declare it` };
  }
  return { action: 'remove', reason: 'not in the index, and no sector record needs it' };
}

async function carryOut(deps: CleanupDeps, item: CleanupItem): Promise<void> {
  const lock = item.sector && item.type ? deps.locks?.tryAcquire(item.sector, 0, FileType[item.type]) : undefined;
  if (lock === null) {
    item.error = 'busy: an operation holds the sector; try again later';
    return;
  }
  try {
    if (item.kind === 'missing') {
      if (await exists(item.path)) {
        item.error = 'the file is back; nothing dropped';
        return;
      }
      await deps.catalog.storageDropSector(item.storage, item.sector as SectorId, FileType[item.type as FileTypeName]);
    } else if (item.kind === 'unindexed') {
      const holders = await deps.catalog.storageFindSector(item.sector as SectorId, FileType[item.type as FileTypeName], 0, false);
      if (holders.some((h) => h.ID === item.storage)) {
        item.error = 'declared meanwhile; kept';
        return;
      }
      await rm(item.path, { recursive: true, force: true });
    } else {
      if (deps.fetchInProgress(item.path)) {
        item.error = 'a fetch resumed it meanwhile; kept';
        return;
      }
      await rm(item.path, { recursive: true, force: true });
      await removeFetchJournal(journalPathOf(item.path));
    }
    item.done = true;
  } catch (err) {
    item.error = (err as Error).message;
  } finally {
    lock?.release();
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

async function list(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch {
    return [];
  }
}
