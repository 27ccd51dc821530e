/**
 * Sector identity and file names (lotus `extern/sector-storage/storiface/filetype.go`).
 */
import { SectorNameInvalidError, InvalidArgumentError } from '../errors.js';

/** A sector: miner actor id and sector number. */
export interface SectorId {
  readonly miner: number;
  readonly number: number;
}

/** A sector with its seal proof. */
export interface SectorRef {
  readonly id: SectorId;
  readonly proofType: number;
}

function assertU53(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError(`${what} ${value} must be a non-negative integer`);
  }
}

/** Builds a validated SectorId. */
export function sectorId(miner: number, number: number): SectorId {
  assertU53(miner, 'miner id');
  assertU53(number, 'sector number');
  return { miner, number };
}

/** `s-t0<miner>-<number>`. */
export function sectorName(id: SectorId): string {
  return `s-t0${id.miner}-${id.number}`;
}

const namePattern = /^s-t0(0|[1-9]\d*)-(0|[1-9]\d*)$/;

/** Strict parser of `s-t0<miner>-<number>`. */
export function parseSectorName(name: string): SectorId {
  const m = namePattern.exec(name);
  if (!m) throw new SectorNameInvalidError(`"${name}" is not a sector file name (expected s-t0<miner>-<number>)`);
  const miner = Number(m[1]);
  const number = Number(m[2]);
  if (!Number.isSafeInteger(miner) || !Number.isSafeInteger(number)) {
    throw new SectorNameInvalidError(`"${name}" has numbers too large for a sector id`);
  }
  return { miner, number };
}

/** SectorFileType bitmask values. */
export const FileType = { none: 0, unsealed: 1, sealed: 2, cache: 4 } as const;
/** A single sector file type. */
export type FileTypeName = 'unsealed' | 'sealed' | 'cache';
/** Iteration order used everywhere: unsealed, sealed, cache. */
export const FILE_TYPES: readonly FileTypeName[] = ['unsealed', 'sealed', 'cache'];

/** Space overhead in tenths of the sector size while sealing and once finalized (§1.2). */
export const FS_OVERHEAD_SEAL: Readonly<Record<FileTypeName, number>> = { unsealed: 10, sealed: 10, cache: 141 };
export const FS_OVERHEAD_FINALIZED: Readonly<Record<FileTypeName, number>> = { unsealed: 10, sealed: 10, cache: 2 };

/** Σ over the set bits of `types` of `overhead × ssize / 10` (Lotus SealSpaceUse/StoreSpaceUse). */
export function spaceUse(types: number, ssize: number, table: Readonly<Record<FileTypeName, number>>): number {
  let n = 0;
  for (const t of FILE_TYPES) if (types & FileType[t]) n += Math.floor((table[t] * ssize) / 10);
  return n;
}

/** Space a set of file types needs while sealing. */
export const sealSpaceUse = (types: number, ssize: number): number => spaceUse(types, ssize, FS_OVERHEAD_SEAL);
/** Space a set of file types needs once finalized. */
export const storeSpaceUse = (types: number, ssize: number): number => spaceUse(types, ssize, FS_OVERHEAD_FINALIZED);

/** Parses a file type name. */
export function parseFileType(name: string): FileTypeName {
  if (name === 'unsealed' || name === 'sealed' || name === 'cache') return name;
  throw new InvalidArgumentError(`"${name}" is not a sector file type (unsealed, sealed, cache)`);
}

/** Bitmask of a list of file types. */
export function fileTypeMask(types: readonly FileTypeName[]): number {
  return types.reduce((m, t) => m | FileType[t], 0);
}

/** File types in a bitmask, in canonical order. */
export function fileTypesOf(mask: number): FileTypeName[] {
  if (!Number.isInteger(mask) || mask < 0 || mask > 7) {
    throw new InvalidArgumentError(`file type mask ${mask} is not in 0..7`);
  }
  return FILE_TYPES.filter((t) => (mask & FileType[t]) !== 0);
}
