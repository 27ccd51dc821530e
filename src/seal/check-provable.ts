/**
 * CheckProvable (Lotus `extern/sector-storage/faults.go`): which sectors could not be proven
 * right now, and why. Per sector, independently:
 *
 *  1. the sealed file exists and is exactly the sector size;
 *  2. `<cache>/p_aux` exists (and, beyond Lotus, is 64 bytes whose comm_c/comm_r_last hash to
 *     the expected CommR when one is known);
 *  3. the tree-r-last file(s) exist: `sc-02-data-tree-r-last.dat` for 2 KiB/8 MiB/512 MiB,
 *     `…-0.dat` to `…-7.dat` for 32 GiB, `…-0.dat` to `…-15.dat` for 64 GiB;
 *  4. optionally (`vanilla`), a Window PoSt vanilla proof for fresh random challenges is
 *     generated from the files and verified against CommR.
 *
 * Lock probing and path resolution belong to the storage layer that calls this with local
 * paths (Lotus does them in the same function because its manager owns both).
 */
import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { CID } from 'multiformats/cid';
import { poseidonHash } from '../../native/poseidon.js';
import { type SealProofInfo, sealProofInfo } from '../sector/proofs.js';
import { type SectorId, sectorName } from '../sector/sector-id.js';
import { CacheFile } from '../sector/layout.js';
import { commitmentBytes } from './commitment-cid.js';
import { bytesEqual } from './merkle-path.js';
import { generateSectorPoStProof, verifySectorPoStProof } from './post.js';
import { toFrRandomness, windowPoStChallenges } from './challenges.js';

/** A sector to check, with its local files. */
export interface ProvableSector {
  id: SectorId;
  sealProof: number;
  sealedPath: string;
  cacheDir: string;
  /** Expected CommR; needed for the p_aux cross-check and the vanilla proof. */
  commR?: Uint8Array | CID | string;
}

/** A sector that failed a check. */
export interface FaultySector {
  id: SectorId;
  reason: string;
}

/** Options of {@link checkProvable}. */
export interface CheckProvableOptions {
  /**
   * Also generate and verify a Window PoSt vanilla proof of random challenges (Lotus does this
   * when given an RGetter). Sectors without `commR` are reported faulty when this is on.
   * @default false
   */
  vanilla?: boolean;
  /** Randomness for the vanilla proof (tests); top two bits of byte 31 are cleared. @default random */
  randomness?: Uint8Array;
}

/** Names of the tree-r-last files a sector of this proof must have (§2.8; empty for unchecked sizes). */
export function treeRLastFiles(info: SealProofInfo): string[] {
  const [, sub, top] = info.shape;
  const count = Math.max(1, sub) * Math.max(1, top);
  if (count === 1) return [CacheFile.treeRLast(undefined)];
  return Array.from({ length: count }, (_, i) => CacheFile.treeRLast(i));
}

async function statFile(path: string): Promise<{ size: number } | string> {
  try {
    const s = await stat(path);
    if (!s.isFile()) return `${path} is not a regular file`;
    return { size: s.size };
  } catch (err) {
    return (err as Error).message;
  }
}

/** Checks one sector's files; returns the reason it is faulty, or undefined. */
export async function checkSectorFiles(sector: ProvableSector): Promise<string | undefined> {
  const info = sealProofInfo(sector.sealProof);
  const sealed = await statFile(sector.sealedPath);
  if (typeof sealed === 'string') return sealed;
  if (sealed.size !== info.sectorSize) {
    return `${sector.sealedPath} is wrong size (got ${sealed.size}, expect ${info.sectorSize})`;
  }
  const pAuxPath = join(sector.cacheDir, CacheFile.pAux);
  const pAux = await statFile(pAuxPath);
  if (typeof pAux === 'string') return pAux;
  for (const name of treeRLastFiles(info)) {
    const tree = await statFile(join(sector.cacheDir, name));
    if (typeof tree === 'string') return tree;
  }
  if (sector.commR !== undefined) {
    const bytes = await readFile(pAuxPath);
    if (bytes.length !== 64) return `${pAuxPath} is wrong size (got ${bytes.length}, expect 64)`;
    let commR: Uint8Array | undefined;
    try {
      commR = poseidonHash(new Uint8Array(bytes));
    } catch {
      return `${pAuxPath} holds values that are not field elements`;
    }
    if (!bytesEqual(commR, commitmentBytes(sector.commR, 'commR'))) return `${pAuxPath} does not match the sector's CommR`;
  }
  return undefined;
}

async function checkVanilla(sector: ProvableSector, randomness: Uint8Array): Promise<string | undefined> {
  if (sector.commR === undefined) return 'no CommR known for the vanilla proof check';
  const info = sealProofInfo(sector.sealProof);
  const commR = commitmentBytes(sector.commR, 'commR');
  const challenges = windowPoStChallenges(randomness, sector.id.number, info.nodes);
  try {
    const proof = await generateSectorPoStProof(
      { sectorNumber: sector.id.number, sealProof: sector.sealProof, commR, sealedPath: sector.sealedPath, cacheDir: sector.cacheDir },
      challenges,
    );
    const result = verifySectorPoStProof(proof, info, commR, challenges);
    return result.ok ? undefined : `vanilla proof failed to verify: ${result.reason}`;
  } catch (err) {
    return `generating vanilla proof failed: ${(err as Error).message}`;
  }
}

/**
 * Checks every sector and returns the faulty ones with a reason (an empty list: all provable).
 * Throws only for an unknown seal proof, which would make every answer meaningless.
 */
export async function checkProvable(sectors: readonly ProvableSector[], options: CheckProvableOptions = {}): Promise<FaultySector[]> {
  for (const s of sectors) sealProofInfo(s.sealProof);
  const randomness = toFrRandomness(options.randomness ?? new Uint8Array(randomBytes(32)));
  const faulty: FaultySector[] = [];
  for (const sector of sectors) {
    let reason = await checkSectorFiles(sector);
    if (!reason && options.vanilla) reason = await checkVanilla(sector, randomness);
    if (reason) faulty.push({ id: sector.id, reason: `${sectorName(sector.id)}: ${reason}` });
  }
  return faulty;
}
