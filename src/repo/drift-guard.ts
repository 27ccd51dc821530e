/**
 * The start-up guard against the worst drift (docs/design/sealing-daemon.md §8): a database that
 * knows no sectors (deleted, emptied, or a fresh repository given an old storage path) beside
 * storage paths that hold this miner's sector files. Starting would number new sectors from 0
 * again, and the first AddPiece would write over the files of the sector that had that number.
 * So `run` refuses, naming what it found, unless the operator says `--accept-drift`; the files
 * are then reported as drift and their numbers kept out of use by the daemon's reconciliation.
 */
import { join } from 'node:path';
import { CallStore } from '../db/call-store.js';
import { SectorStore } from '../db/sector-store.js';
import type { Db } from '../db/database.js';
import { RepoDriftError } from '../errors.js';
import { FILE_TYPES, FileType, type FileTypeName } from '../sector/sector-id.js';
import { scanPath } from '../storage/path-scan.js';
import { isFirstPieceLeftover, openFirstPieces } from '../storage/reconcile.js';
import { RepoFiles } from './repo-path.js';

/** Sector files of the miner found on one storage path. */
export interface PathSectorFiles {
  path: string;
  /** Sectors with at least one file there. */
  sectors: number;
  /** Files per type. */
  files: Record<FileTypeName, number>;
}

/** What the guard found when it let the daemon start on an empty database beside sector files. */
export interface AcceptedDrift {
  paths: PathSectorFiles[];
}

/** What {@link checkStartDrift} needs of an open repository. */
export interface DriftGuardRepo {
  path: string;
  config: { minerId: number };
  db: Db;
  storagePaths: ReadonlyArray<{ path: string }>;
}

/**
 * Refuses (RepoDriftError naming the paths, the counts and the flag) to start on a database with
 * no sector records of the miner while the repository's storage paths hold sector files of that
 * miner. With `acceptDrift`, returns what was found instead (for the start-up log); undefined
 * when there is no such drift.
 */
export function checkStartDrift(repo: DriftGuardRepo, options: { acceptDrift?: boolean } = {}): AcceptedDrift | undefined {
  const miner = repo.config.minerId;
  if (new SectorStore(repo.db).list(miner).length > 0) return undefined;
  // the daemon's own crash leftovers are not a lost database: reconciliation removes them at start
  const openFirst = openFirstPieces(miner, new CallStore(repo.db).open());
  const scanned = repo.storagePaths.map(({ path }) => ({ path, decls: scanPath(path, true).decls.filter((d) => d.sector.miner === miner) }));
  const typesOf = new Map<number, number>();
  for (const { decls } of scanned) for (const d of decls) typesOf.set(d.sector.number, (typesOf.get(d.sector.number) ?? 0) | d.types);
  const paths: PathSectorFiles[] = [];
  for (const { path, decls: all } of scanned) {
    const decls = all.filter((d) => !isFirstPieceLeftover(d.sector.number, typesOf.get(d.sector.number)!, openFirst));
    if (decls.length === 0) continue;
    const files = { unsealed: 0, sealed: 0, cache: 0 };
    for (const d of decls) for (const t of FILE_TYPES) if (d.types & FileType[t]) files[t]++;
    paths.push({ path, sectors: decls.length, files });
  }
  if (paths.length === 0) return undefined;
  if (options.acceptDrift) return { paths };
  throw new RepoDriftError(
    `refusing to start: the database ${join(repo.path, RepoFiles.database)} has no sectors of miner t0${miner}, ` +
      `but its storage paths hold sector files of that miner: ${paths.map(describe).join('; ')}. ` +
      'Starting would hand out their sector numbers again and write new pieces over them. ' +
      'If the database was lost, restore it; to start anyway and keep these files as drift (their sector numbers are not reused), run with --accept-drift',
  );
}

/** `/p (2 sectors: 2 unsealed, 1 sealed, 1 cache)` */
export function describe(p: PathSectorFiles): string {
  const types = FILE_TYPES.filter((t) => p.files[t] > 0).map((t) => `${p.files[t]} ${t}`);
  return `${p.path} (${p.sectors} sector${p.sectors === 1 ? '' : 's'}: ${types.join(', ')})`;
}
