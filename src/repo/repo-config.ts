/**
 * `<repo>/config.json`: the repository's fixed identity, written once on first start.
 *
 * ```json
 * { "nodeId": "<uuid>", "minerId": 1000, "sealProof": 6, "sealProofName": "StackedDrg8MiBV1_1", "sectorSize": 8388608 }
 * ```
 * - `nodeId` identifies this daemon to the storage index (the URLs it attached are its own);
 * - `minerId` (default 1000, i.e. `t01000`, Lotus's devnet miner) names sector files `s-t01000-<n>`;
 * - `sealProof` (default 6 = StackedDrg8MiBV1_1) fixes the sector size; choose another with
 *   `sector-storage run --sector-size 2KiB|8MiB|512MiB|32GiB|64GiB` on the FIRST start (the V1_1
 *   proof of that size). The sector size of an existing repository cannot change.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError, RepoInvalidError } from '../errors.js';
import { sealProofForSectorSize, sealProofInfo } from '../sector/proofs.js';
import { writeFileDurableSync } from '../fs/durable.js';
import { RepoFiles } from './repo-path.js';

/** Persisted repository configuration. */
export interface RepoConfig {
  /**
   * This node's persistent id (uuid): the storage index knows which URLs of a path this node
   * attached, and replaces them when the daemon restarts on another address. Added to an existing
   * repository's config on its next start.
   */
  nodeId: string;
  minerId: number;
  sealProof: number;
  /** Informational: the proof's name. */
  sealProofName: string;
  /** Informational: sector size in bytes. */
  sectorSize: number;
}

/** Default miner id (`t01000`). */
export const DEFAULT_MINER_ID = 1000;
/** Default seal proof: StackedDrg8MiBV1_1. */
export const DEFAULT_SEAL_PROOF = 6;

/** The config for a new repository. */
export function newRepoConfig(options: { minerId?: number; sectorSize?: number } = {}): RepoConfig {
  const minerId = options.minerId ?? DEFAULT_MINER_ID;
  if (!Number.isSafeInteger(minerId) || minerId < 0) throw new InvalidArgumentError(`miner id ${minerId} must be a non-negative integer`);
  const info = options.sectorSize === undefined ? sealProofInfo(DEFAULT_SEAL_PROOF) : sealProofForSectorSize(options.sectorSize);
  return { nodeId: randomUUID(), minerId, sealProof: info.id, sealProofName: info.name, sectorSize: info.sectorSize };
}

/** A config as read: one written before node ids has no `nodeId` (openRepo adds it). */
export type StoredRepoConfig = Omit<RepoConfig, 'nodeId'> & { nodeId?: string };

/** Reads `config.json`, or undefined when the repository has none yet. */
export function readRepoConfig(repoPath: string): StoredRepoConfig | undefined {
  const file = join(repoPath, RepoFiles.config);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let raw: Partial<RepoConfig>;
  try {
    raw = JSON.parse(text) as Partial<RepoConfig>;
  } catch (err) {
    throw new RepoInvalidError(`${file} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (typeof raw.minerId !== 'number' || !Number.isSafeInteger(raw.minerId) || raw.minerId < 0) {
    throw new RepoInvalidError(`${file}: "minerId" must be a non-negative integer (got ${JSON.stringify(raw.minerId)})`);
  }
  if (typeof raw.sealProof !== 'number') throw new RepoInvalidError(`${file}: "sealProof" must be a registered seal proof number`);
  let info: ReturnType<typeof sealProofInfo>;
  try {
    info = sealProofInfo(raw.sealProof);
  } catch (err) {
    throw new RepoInvalidError(`${file}: ${(err as Error).message}`, { cause: err });
  }
  if (raw.nodeId !== undefined && (typeof raw.nodeId !== 'string' || !/^[0-9a-f-]{36}$/.test(raw.nodeId))) {
    throw new RepoInvalidError(`${file}: "nodeId" must be a uuid (got ${JSON.stringify(raw.nodeId)})`);
  }
  return {
    ...(raw.nodeId !== undefined ? { nodeId: raw.nodeId } : {}),
    minerId: raw.minerId,
    sealProof: info.id,
    sealProofName: info.name,
    sectorSize: info.sectorSize,
  };
}

/** Writes `config.json` atomically. */
export function writeRepoConfig(repoPath: string, config: RepoConfig): void {
  writeFileDurableSync(join(repoPath, RepoFiles.config), `${JSON.stringify(config, null, 2)}\n`);
}
