/**
 * On-disk storage configuration (Lotus `node/config/storage.go` and `extern/sector-storage/stores/local.go`):
 * - `storage.json` in a repository: the node's list of local storage paths,
 *   `{"StoragePaths":[{"Path":"/abs"}]}`, written pretty-printed with a 2-space indent;
 * - `sectorstore.json` at the root of every storage path: `{ID, Weight, CanSeal, CanStore, MaxStorage}`.
 *
 * Every write is durable (src/fs/durable.ts: temp name, fsync, rename — or link when the target
 * must not exist yet), so a crash never leaves a half-written configuration file behind.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import {
  FileNotFoundError,
  InvalidArgumentError,
  StorageConfigInvalidError,
  StorageExistsError,
  StorageNotFoundError,
} from '../errors.js';
import { FILE_TYPES } from '../sector/sector-id.js';
import { writeFileDurableSync } from '../fs/durable.js';
import { META_FILE } from '../sector/layout.js';

/** One entry of `storage.json`. */
export interface StoragePathEntry {
  /** Absolute path of a storage path root (the directory holding `sectorstore.json`). */
  Path: string;
}

/** The content of a repository's `storage.json`. */
export interface StorageConfig {
  StoragePaths: StoragePathEntry[];
}

/** The content of a storage path's `sectorstore.json`. */
export interface StorageMeta {
  /** Storage id (a UUID for paths created here); one id names one filesystem. */
  ID: string;
  /** Preference for new data: higher is preferred. */
  Weight: number;
  /** May hold in-progress sealing data. */
  CanSeal: boolean;
  /** May hold finalized sectors. */
  CanStore: boolean;
  /** Byte limit for sector data on this path; 0 = unlimited. */
  MaxStorage: number;
}

/** Options of {@link initStoragePath}. */
export interface InitStoragePathOptions {
  /** @default 10 */
  weight?: number;
  /** @default false */
  canSeal?: boolean;
  /** @default false */
  canStore?: boolean;
  /** Bytes; 0 = unlimited. @default 0 */
  maxStorage?: number;
}

/** File name of the repository's list of storage paths. */
export const STORAGE_CONFIG_FILE = 'storage.json';

// ---------------------------------------------------------------------------------------------
// storage.json

/**
 * Reads `storage.json`. A missing file is an error here (a reader expects it to exist);
 * use {@link readStorageConfigOrEmpty} when about to modify it.
 */
export function readStorageConfig(file: string): StorageConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (isNotFound(err)) throw new FileNotFoundError(`storage config ${file} does not exist`, { cause: err });
    throw err;
  }
  return parseStorageConfig(text, file);
}

/** Reads `storage.json`, treating a missing file as an empty list (the "about to write" case). */
export function readStorageConfigOrEmpty(file: string): StorageConfig {
  try {
    return readStorageConfig(file);
  } catch (err) {
    if (err instanceof FileNotFoundError) return { StoragePaths: [] };
    throw err;
  }
}

/** Validates the text of a `storage.json`; `source` names the file in error messages. */
export function parseStorageConfig(text: string, source = STORAGE_CONFIG_FILE): StorageConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new StorageConfigInvalidError(`storage config ${source} is not valid JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (!isRecord(raw)) throw new StorageConfigInvalidError(`storage config ${source} must be a JSON object`);
  const list = raw.StoragePaths ?? [];
  if (!Array.isArray(list)) {
    throw new StorageConfigInvalidError(`storage config ${source}: "StoragePaths" must be an array`);
  }
  const paths: StoragePathEntry[] = list.map((entry, i) => {
    if (!isRecord(entry) || typeof entry.Path !== 'string' || entry.Path === '') {
      throw new StorageConfigInvalidError(`storage config ${source}: StoragePaths[${i}] needs a non-empty "Path" string`);
    }
    if (!isAbsolute(entry.Path)) {
      throw new StorageConfigInvalidError(`storage config ${source}: StoragePaths[${i}].Path "${entry.Path}" is not absolute`);
    }
    return { Path: entry.Path };
  });
  return { StoragePaths: paths };
}

/** Writes `storage.json` atomically, pretty-printed with a 2-space indent. */
export function writeStorageConfig(file: string, config: StorageConfig): void {
  const clean: StorageConfig = { StoragePaths: config.StoragePaths.map((p) => ({ Path: p.Path })) };
  mkdirSync(dirname(file), { recursive: true });
  writeFileDurableSync(file, `${JSON.stringify(clean, null, 2)}\n`);
}

/**
 * Adds `path` (made absolute) to `storage.json`, creating the file if missing.
 * Returns false, changing nothing, when the path is already listed.
 */
export function addStorageConfigPath(file: string, path: string): boolean {
  const abs = resolve(path);
  const config = readStorageConfigOrEmpty(file);
  if (config.StoragePaths.some((p) => p.Path === abs)) return false;
  config.StoragePaths.push({ Path: abs });
  writeStorageConfig(file, config);
  return true;
}

/** Removes `path` from `storage.json`; returns false when it was not listed. */
export function removeStorageConfigPath(file: string, path: string): boolean {
  const abs = resolve(path);
  const config = readStorageConfigOrEmpty(file);
  const kept = config.StoragePaths.filter((p) => p.Path !== abs);
  if (kept.length === config.StoragePaths.length) return false;
  writeStorageConfig(file, { StoragePaths: kept });
  return true;
}

// ---------------------------------------------------------------------------------------------
// sectorstore.json

/** Reads and validates `<dir>/sectorstore.json`. */
export function readStorageMeta(dir: string): StorageMeta {
  const file = join(dir, META_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (isNotFound(err)) {
      if (!exists(dir)) throw new StorageNotFoundError(`storage path ${dir} does not exist`, { cause: err });
      throw new StorageConfigInvalidError(`storage path ${dir} has no ${META_FILE} (not initialised?)`, { cause: err });
    }
    throw err;
  }
  return parseStorageMeta(text, file);
}

/**
 * Validates the text of a `sectorstore.json`. Missing booleans and MaxStorage take Go's zero
 * values (older Lotus files lack MaxStorage); wrong types, a missing ID and negative numbers are errors.
 */
export function parseStorageMeta(text: string, source = META_FILE): StorageMeta {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new StorageConfigInvalidError(`${source} is corrupted: not valid JSON (${(err as Error).message})`, {
      cause: err,
    });
  }
  if (!isRecord(raw)) throw new StorageConfigInvalidError(`${source} is corrupted: expected a JSON object`);
  const id = raw.ID;
  if (typeof id !== 'string' || !validStorageId(id)) {
    throw new StorageConfigInvalidError(
      `${source} is corrupted: "ID" must be a non-empty string of letters, digits, '-', '_' or '.' (got ${JSON.stringify(id)})`,
    );
  }
  const weight = raw.Weight ?? 0;
  if (typeof weight !== 'number' || !Number.isSafeInteger(weight) || weight < 0) {
    throw new StorageConfigInvalidError(`${source} is corrupted: "Weight" must be a non-negative integer (got ${JSON.stringify(weight)})`);
  }
  const maxStorage = raw.MaxStorage ?? 0;
  if (typeof maxStorage !== 'number' || !Number.isSafeInteger(maxStorage) || maxStorage < 0) {
    throw new StorageConfigInvalidError(
      `${source} is corrupted: "MaxStorage" must be a non-negative integer of bytes (got ${JSON.stringify(maxStorage)})`,
    );
  }
  const flag = (name: 'CanSeal' | 'CanStore'): boolean => {
    const v = raw[name] ?? false;
    if (typeof v !== 'boolean') {
      throw new StorageConfigInvalidError(`${source} is corrupted: "${name}" must be true or false (got ${JSON.stringify(v)})`);
    }
    return v;
  };
  return { ID: id, Weight: weight, CanSeal: flag('CanSeal'), CanStore: flag('CanStore'), MaxStorage: maxStorage };
}

/** Writes `<dir>/sectorstore.json` atomically (replacing an existing one). */
export function writeStorageMeta(dir: string, meta: StorageMeta): void {
  validateMetaForWrite(meta);
  mkdirSync(dir, { recursive: true });
  writeFileDurableSync(join(dir, META_FILE), formatMeta(meta));
}

/**
 * Initialises a new storage path: creates `path` and its `unsealed/ sealed/ cache/` directories
 * and writes a `sectorstore.json` with a fresh UUID. Refuses (StorageExistsError) when the path
 * already has a `sectorstore.json`; the check and the creation are one atomic `link`, so two
 * concurrent initialisations cannot both succeed.
 */
export function initStoragePath(path: string, options: InitStoragePathOptions = {}): StorageMeta {
  const dir = resolve(path);
  const meta: StorageMeta = {
    ID: randomUUID(),
    Weight: options.weight ?? 10,
    CanSeal: options.canSeal ?? false,
    CanStore: options.canStore ?? false,
    MaxStorage: options.maxStorage ?? 0,
  };
  validateMetaForWrite(meta);
  const metaFile = join(dir, META_FILE);
  if (exists(metaFile)) throw new StorageExistsError(`storage path ${dir} is already initialised (${META_FILE} exists)`);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  for (const t of FILE_TYPES) mkdirSync(join(dir, t), { recursive: true, mode: 0o755 });
  try {
    writeFileDurableSync(metaFile, formatMeta(meta), { exclusive: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new StorageExistsError(`storage path ${dir} is already initialised (${META_FILE} exists)`, { cause: err });
    }
    throw err;
  }
  return meta;
}

// ---------------------------------------------------------------------------------------------
// helpers

function formatMeta(meta: StorageMeta): string {
  const ordered: StorageMeta = {
    ID: meta.ID,
    Weight: meta.Weight,
    CanSeal: meta.CanSeal,
    CanStore: meta.CanStore,
    MaxStorage: meta.MaxStorage,
  };
  return `${JSON.stringify(ordered, null, 2)}\n`;
}

function validateMetaForWrite(meta: StorageMeta): void {
  if (!validStorageId(meta.ID)) throw new InvalidArgumentError(`storage id ${JSON.stringify(meta.ID)} is not valid`);
  if (!Number.isSafeInteger(meta.Weight) || meta.Weight < 0) {
    throw new InvalidArgumentError(`weight ${meta.Weight} must be a non-negative integer`);
  }
  if (!Number.isSafeInteger(meta.MaxStorage) || meta.MaxStorage < 0) {
    throw new InvalidArgumentError(`max storage ${meta.MaxStorage} must be a non-negative integer of bytes`);
  }
}

/** Storage ids travel in URLs (`/remote/stat/<id>`), so they are restricted to URL-safe characters. */
export function validStorageId(id: string): boolean {
  return /^[A-Za-z0-9._-]{1,128}$/.test(id) && id !== '.' && id !== '..';
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

function exists(p: string): boolean {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
}
