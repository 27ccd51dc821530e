/**
 * The drift an operator sees (`sectors drift`, docs/design/sealing-daemon.md §8): reconcile()'s
 * comparison of the catalog with the records, with each unrecorded sector's files located (which
 * storage holds which type, and its path when that storage is open on this node), so the operator
 * can look at them before choosing how to resolve the drift. Pure: the caller passes the catalog,
 * the records and how to find a local storage root.
 */
import { FILE_TYPES, FileType, type FileTypeName, sectorId } from '../sector/sector-id.js';
import { sectorFilePath } from '../sector/layout.js';
import { type MissingFiles, type RecordedSector, type UnrecordedSector, reconcile } from './reconcile.js';
import type { Decl } from './storage-types.js';

/** One file of a sector as the catalog declares it. */
export interface SectorFileLocation {
  type: FileTypeName;
  /** The storage id holding it. */
  storage: string;
  /** Its path on this node; absent when the storage is not open here (another node's path). */
  path?: string;
}

/** Sector files no record knows, located. */
export interface UnrecordedSectorFiles extends UnrecordedSector {
  /** Every declared file, by type (FILE_TYPES order), then storage id. */
  files: SectorFileLocation[];
}

/** The drift between the disks and the records of one miner, as `sectors drift` shows it. */
export interface DriftReport {
  unrecorded: UnrecordedSectorFiles[];
  missing: MissingFiles[];
  /** The highest sector number with a file on any path, or undefined when there is none. */
  maxNumberOnPaths: number | undefined;
}

/** How `sectors drift resolve N` resolves a sector's drift. */
export type DriftResolveMode = 'import' | 'lost';

/** The drift resolution modes, for checking input. */
export const DRIFT_RESOLVE_MODES: readonly DriftResolveMode[] = ['import', 'lost'];

/** What `sectors drift resolve` did. */
export interface DriftResolution {
  number: number;
  mode: DriftResolveMode;
  /** The state the record was written in (import), or the state the removal started in (lost). */
  state: string;
  /** Pieces of the imported record (deal pieces and fillers); 0 for `lost`. */
  pieces: number;
  commD?: string;
  commR?: string;
  /** What the operator should know about the result (what the files could not say, what happens next). */
  notes: string[];
}

/**
 * Runs reconcile() over `catalog` and `records` and locates each unrecorded sector's files.
 * `localRoot` gives the root of a storage open on this node (undefined for another node's).
 * @throws InvalidArgumentError as reconcile() does, for a bad record
 */
export function driftReport(
  miner: number,
  catalog: Readonly<Record<string, readonly Decl[]>>,
  records: readonly RecordedSector[],
  localRoot: (storage: string) => string | undefined,
): DriftReport {
  const drift = reconcile(miner, catalog, records);
  const unrecorded = drift.unrecorded.map((u): UnrecordedSectorFiles => {
    const files: SectorFileLocation[] = [];
    for (const type of FILE_TYPES) {
      for (const storage of u.storages) {
        const declared = catalog[storage]?.some((d) => d.Miner === miner && d.Number === u.number && (d.SectorFileType & FileType[type]) !== 0);
        if (!declared) continue;
        const root = localRoot(storage);
        files.push(root === undefined ? { type, storage } : { type, storage, path: sectorFilePath(root, type, sectorId(miner, u.number)) });
      }
    }
    return { ...u, files };
  });
  return { unrecorded, missing: drift.missing, maxNumberOnPaths: drift.maxNumberOnPaths };
}
