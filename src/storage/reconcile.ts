/**
 * Reconciliation of the disks with the sector records (docs/design/sealing-daemon.md §8): after
 * the local paths are scanned (which declares every sector file in the catalog), the catalog's
 * files of a miner are compared with the records. Sector files no record knows, and records whose
 * files are gone, are drift: a sector number seen on any path must never be handed out again (a
 * new sector under that number would write over the files), and a record must never silently
 * recreate a file it has lost.
 *
 * Pure: the caller passes the catalog's `storageList()` and what each record requires; what to do
 * about the drift (failure states, `sectors drift`, the next sector number) is the caller's.
 */
import { InvalidArgumentError } from '../errors.js';
import { FILE_TYPES, FileType, type FileTypeName } from '../sector/sector-id.js';
import type { CallRecord } from '../tasks/calls.js';
import type { Decl } from './storage-types.js';

/** A sector record as reconciliation sees it. */
export interface RecordedSector {
  number: number;
  /** The record's state name (reported back as is). */
  state: string;
  /**
   * The file types (FileType mask) the record cannot do without in its state: the unsealed file
   * of a sector holding pieces while deals are filled, sealed + cache once sealing produced them.
   * 0 when it needs none yet (an empty open sector).
   */
  requires: number;
}

/** Sector files on the paths that no record knows. */
export interface UnrecordedSector {
  number: number;
  /** File types found, over all paths (FileType mask). */
  types: number;
  /** The storage ids holding any of them, sorted. */
  storages: string[];
}

/** A record whose required files are on no path. */
export interface MissingFiles {
  number: number;
  state: string;
  /** Required types found on no path, in FILE_TYPES order. */
  missing: FileTypeName[];
}

/** The drift between the disks and the records of one miner. */
export interface Drift {
  unrecorded: UnrecordedSector[];
  missing: MissingFiles[];
  /** The highest sector number with a file on any path, or undefined when there is none. */
  maxNumberOnPaths: number | undefined;
}

/**
 * Compares the catalog's sector files of `miner` (`storageList()`: storage id → declarations) with
 * the records. Both lists come out sorted by sector number.
 * @throws InvalidArgumentError for a record with a bad number or mask, or the same number twice
 */
export function reconcile(miner: number, catalog: Readonly<Record<string, readonly Decl[]>>, records: readonly RecordedSector[]): Drift {
  const onPaths = new Map<number, { types: number; storages: Set<string> }>();
  for (const [storage, decls] of Object.entries(catalog)) {
    for (const d of decls) {
      if (d.Miner !== miner) continue;
      const s = onPaths.get(d.Number) ?? { types: 0, storages: new Set<string>() };
      s.types |= d.SectorFileType;
      s.storages.add(storage);
      onPaths.set(d.Number, s);
    }
  }
  const recorded = new Map<number, RecordedSector>();
  for (const r of records) {
    if (!Number.isSafeInteger(r.number) || r.number < 0) throw new InvalidArgumentError(`record number ${r.number} must be a non-negative integer`);
    if (!Number.isInteger(r.requires) || r.requires < 0 || r.requires > 7) {
      throw new InvalidArgumentError(`record ${r.number}: required file types ${r.requires} must be a mask of unsealed=1, sealed=2, cache=4`);
    }
    if (recorded.has(r.number)) throw new InvalidArgumentError(`sector ${r.number} has two records`);
    recorded.set(r.number, r);
  }
  const unrecorded: UnrecordedSector[] = [];
  for (const [number, s] of onPaths) {
    if (!recorded.has(number)) unrecorded.push({ number, types: s.types, storages: [...s.storages].sort() });
  }
  const missing: MissingFiles[] = [];
  for (const r of recorded.values()) {
    const have = onPaths.get(r.number)?.types ?? 0;
    const gone = FILE_TYPES.filter((t) => (r.requires & FileType[t]) !== 0 && (have & FileType[t]) === 0);
    if (gone.length > 0) missing.push({ number: r.number, state: r.state, missing: gone });
  }
  unrecorded.sort((a, b) => a.number - b.number);
  missing.sort((a, b) => a.number - b.number);
  const numbers = [...onPaths.keys()];
  return { unrecorded, missing, maxNumberOnPaths: numbers.length > 0 ? Math.max(...numbers) : undefined };
}

/** True when the disks and the records agree. */
export function isDriftFree(d: Drift): boolean {
  return d.unrecorded.length === 0 && d.missing.length === 0;
}

/**
 * The next sector number to hand out: above every number the database has used (`fromRecords`,
 * the records' own next number) and every number with a file on a path.
 */
export function nextSectorNumber(fromRecords: number, maxNumberOnPaths: number | undefined): number {
  return maxNumberOnPaths === undefined ? fromRecords : Math.max(fromRecords, maxNumberOnPaths + 1);
}

/**
 * Sectors of `miner` whose first AddPiece (padded offset 0) was still an open call when the
 * daemon started: a crash stopped it, or stopped its sector before the sector applied its result.
 */
export function openFirstPieces(miner: number, openCalls: readonly CallRecord[]): Set<number> {
  const numbers = new Set<number>();
  for (const c of openCalls) {
    if (c.sector.miner === miner && c.input.type === 'AP' && c.input.input.paddedOffset === 0) numbers.add(c.sector.number);
  }
  return numbers;
}

/**
 * True when the sector files no record knows (`types`, a FileType mask over every path) are what a
 * crash leaves of a new sector's first AddPiece, so they are working files to remove rather than
 * drift. A new deal sector is recorded with its first piece (a refused add creates no sector), and
 * an AddPiece publishes a new unsealed file before its sector saves the record: a crash in between
 * leaves the file without a record. Nothing in it was ever reported (a piece is reported only once
 * the record holding it is committed). Recognised by the first AddPiece of that sector still open
 * in the call tracker at start ({@link openFirstPieces}), and by nothing but an unsealed file.
 */
export function isFirstPieceLeftover(number: number, types: number, openFirst: ReadonlySet<number>): boolean {
  return types === FileType.unsealed && openFirst.has(number);
}
