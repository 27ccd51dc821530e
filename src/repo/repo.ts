/**
 * A repository directory (default `~/.sector-storage`), like a Lotus repo:
 *
 * ```
 * <repo>/
 *   config.json          minerId, sealProof (repo-config.ts)
 *   repo.lock            the running daemon's pid (repo-lock.ts)
 *   sector-storage.db    SQLite (WAL): storage paths, sector files, sectors, pieces
 *   keystore/            the API's JWT secret (keystore.ts)
 *   storage.json         local storage paths (`{"StoragePaths":[{"Path":…}]}`)
 *   storage/             the default storage path (CanSeal + CanStore, weight 10) unless others are attached
 *   api, token           written by a running daemon (api-info.ts)
 * ```
 *
 * {@link openRepo} takes the lock first, so nothing in the repository is touched while another
 * daemon owns it, and creates what is missing.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { RepoInvalidError, StorageExistsError } from '../errors.js';
import {
  addStorageConfigPath,
  initStoragePath,
  readStorageConfigOrEmpty,
  readStorageMeta,
  type StorageMeta,
} from '../storage/storage-config.js';
import { type Db, openDatabase } from '../db/database.js';
import { loadOrCreateJwtSecret } from './keystore.js';
import { newRepoConfig, type RepoConfig, readRepoConfig, writeRepoConfig } from './repo-config.js';
import { acquireRepoLock, type RepoLock } from './repo-lock.js';
import { RepoFiles } from './repo-path.js';

export interface OpenRepoOptions {
  /** Sector size for a NEW repository; must match an existing repository's. */
  sectorSize?: number;
  /** Miner id for a new repository. @default 1000 */
  minerId?: number;
}

/** An open, locked repository. */
export interface Repo {
  readonly path: string;
  readonly config: RepoConfig;
  readonly lock: RepoLock;
  readonly db: Db;
  readonly jwtSecret: Uint8Array;
  /** Absolute roots of the local storage paths listed in `storage.json`, with their metadata. */
  readonly storagePaths: ReadonlyArray<{ path: string; meta: StorageMeta }>;
  /** True when this open created the repository. */
  readonly created: boolean;
  /** Closes the database and releases the lock. */
  close(): void;
}

/** Opens (creating if needed) and locks the repository at `path`. */
export function openRepo(path: string, options: OpenRepoOptions = {}): Repo {
  try {
    mkdirSync(path, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new RepoInvalidError(`cannot create repository directory ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (!statSync(path).isDirectory()) throw new RepoInvalidError(`repository path ${path} is not a directory`);
  const lock = acquireRepoLock(path);
  let db: Db | undefined;
  try {
    const stored = readRepoConfig(path);
    const created = stored === undefined;
    let config: RepoConfig;
    if (!stored) {
      config = newRepoConfig({ sectorSize: options.sectorSize, minerId: options.minerId });
      writeRepoConfig(path, config);
    } else {
      config = { ...stored, nodeId: stored.nodeId ?? randomUUID() };
      // a repository created before node ids gets its id now, kept from then on
      if (stored.nodeId === undefined) writeRepoConfig(path, config);
    }
    if (options.sectorSize !== undefined && options.sectorSize !== config.sectorSize) {
      throw new RepoInvalidError(
        `repository ${path} was created for ${config.sealProofName} (sector size ${config.sectorSize}); --sector-size ${options.sectorSize} cannot change it`,
      );
    }
    const jwtSecret = loadOrCreateJwtSecret(path);
    db = openDatabase(join(path, RepoFiles.database));
    const storagePaths = ensureStoragePaths(path);
    const opened = db;
    return {
      path,
      config,
      lock,
      db: opened,
      jwtSecret,
      storagePaths,
      created,
      close() {
        if (opened.open) opened.close();
        lock.release();
      },
    };
  } catch (err) {
    db?.close();
    lock.release();
    throw err;
  }
}

/**
 * The local storage paths of `storage.json`; when it lists none, initialises `<repo>/storage`
 * (CanSeal + CanStore, weight 10) and lists it.
 */
function ensureStoragePaths(repoPath: string): Array<{ path: string; meta: StorageMeta }> {
  const configFile = join(repoPath, RepoFiles.storageConfig);
  let config = readStorageConfigOrEmpty(configFile);
  if (config.StoragePaths.length === 0) {
    const dir = join(repoPath, RepoFiles.storageDir);
    try {
      initStoragePath(dir, { canSeal: true, canStore: true, weight: 10 });
    } catch (err) {
      // initialised by an earlier start that stopped before writing storage.json
      if (!(err instanceof StorageExistsError)) throw err;
    }
    addStorageConfigPath(configFile, dir);
    config = readStorageConfigOrEmpty(configFile);
  }
  return config.StoragePaths.map((p) => ({ path: p.Path, meta: readStorageMeta(p.Path) }));
}
