/**
 * Removing a sector from this node (`sectors remove`, Lotus `Manager.Remove`): every file of the
 * sector on every local path goes, and so do its catalog rows for those paths. Lock: unsealed,
 * sealed and cache written, so a task still running on the sector finishes (or is aborted by the
 * caller) before anything is deleted.
 *
 * Beyond the declared files, the working files a crash can leave are removed too: the partial
 * file's journals and `.adding-` temporaries (`.<name>.…`), PC2's and durable writes' temporaries
 * (`<name>.tmp…`) and an interrupted download (`fetching/<name>` and its `.fetch` record). Copies on other nodes' paths
 * cannot be deleted from here; they are returned so the caller can act on them.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { FETCH_TEMP_DIR } from '../sector/layout.js';
import { FILE_TYPES, FileType, type SectorId, sectorName } from '../sector/sector-id.js';
import { lockSector } from './sector-files.js';
import type { WorkerEnv } from './worker-env.js';

/** What {@link removeSector} did. */
export interface RemovedSector {
  /** Paths deleted from local storage paths. */
  removed: string[];
  /** Copies the catalog lists on paths of other nodes, as `<type> on <storage id>`. */
  elsewhere: string[];
}

const ALL = FileType.unsealed | FileType.sealed | FileType.cache;

/** Removes every local file and local catalog row of `sector`. */
export async function removeSector(env: WorkerEnv, sector: SectorId, signal: AbortSignal = new AbortController().signal): Promise<RemovedSector> {
  const name = sectorName(sector);
  const lock = await lockSector(env, sector, FileType.none, ALL, signal);
  try {
    const local = new Set(env.localStore.localPaths().map((p) => p.ID));
    const elsewhere: string[] = [];
    for (const t of FILE_TYPES) {
      for (const h of await env.localStore.catalog.storageFindSector(sector, FileType[t], 0, false)) {
        if (!local.has(h.ID)) elsewhere.push(`${t} on ${h.ID}`);
      }
    }
    const removed: string[] = [];
    for (const p of env.localStore.localPaths()) {
      for (const t of FILE_TYPES) {
        const dir = join(p.LocalPath, t);
        let names: string[] = [];
        try {
          names = await readdir(dir);
        } catch {
          continue; // no such type directory: nothing of this sector there
        }
        for (const n of names) {
          if (n === name || n.startsWith(`${name}.`) || n.startsWith(`.${name}.`)) removed.push(join(dir, n));
        }
        const fetching = join(dir, FETCH_TEMP_DIR);
        if (names.includes(FETCH_TEMP_DIR)) {
          // the download and its progress record (storage/fetch-journal.ts)
          for (const n of await readdir(fetching).catch(() => [] as string[])) if (n === name || n === `${name}.fetch`) removed.push(join(fetching, n));
        }
      }
    }
    // the catalog first (drop, then delete: a crash in between leaves an undeclared file, which the
    // start-up scan finds, never a declaration of a file that is gone)
    for (const t of FILE_TYPES) await env.localStore.remove(sector, FileType[t], true);
    for (const path of removed) await rm(path, { recursive: true, force: true });
    if (removed.length > 0) env.log.info(`removed ${name}: ${removed.length} file(s) from local paths`);
    return { removed, elsewhere };
  } finally {
    lock.release();
  }
}
