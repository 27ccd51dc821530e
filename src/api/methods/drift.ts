/**
 * Drift methods (ours; Lotus has none): the disagreement between the storage paths and the sector
 * records, and its resolution one sector at a time (docs/design/sealing-daemon.md §8).
 * - `SectorsDrift()` (read) → {@link DriftInfo}.
 * - `SectorsDriftResolve(n, "import" | "lost")` (admin) → {@link DriftResolutionInfo}.
 */
import { InvalidArgumentError } from '../../errors.js';
import { fileTypesOf } from '../../sector/sector-id.js';
import { DRIFT_RESOLVE_MODES, type DriftResolveMode, type UnrecordedSectorFiles } from '../../storage/drift-report.js';
import { expectArity, intParam, stringParam } from '../params.js';
import { defineMethod } from '../rpc-method.js';
import { sectorService } from './sectors.js';

/** Sector files no record knows. */
export interface UnrecordedSectorInfo {
  SectorID: number;
  /** File types found over all paths (`unsealed`, `sealed`, `cache`). */
  Types: string[];
  /** Storage ids holding any of them. */
  Storages: string[];
  /** Each file: its type, the storage holding it, and its path when that storage is open on this node. */
  Files: { Type: string; Storage: string; Path?: string }[];
}

/** Unrecorded sector files as the API shows them. */
export function unrecordedInfo(u: UnrecordedSectorFiles): UnrecordedSectorInfo {
  return {
    SectorID: u.number,
    Types: fileTypesOf(u.types),
    Storages: u.storages,
    Files: u.files.map((f) => ({ Type: f.type, Storage: f.storage, ...(f.path !== undefined ? { Path: f.path } : {}) })),
  };
}

/** A record whose required files are on no path. */
export interface MissingFilesInfo {
  SectorID: number;
  State: string;
  /** Required file types found on no path. */
  Missing: string[];
}

/** `SectorsDrift`'s result. */
export interface DriftInfo {
  Unrecorded: UnrecordedSectorInfo[];
  Missing: MissingFilesInfo[];
  /** The highest sector number with a file on any path (new sectors are numbered above it); null when none. */
  MaxSectorOnPaths: number | null;
}

/** `SectorsDriftResolve`'s result. */
export interface DriftResolutionInfo {
  SectorID: number;
  Mode: DriftResolveMode;
  /** The state of the imported record, or `Removing` for a sector marked lost. */
  State: string;
  /** Pieces of the imported record. */
  Pieces: number;
  CommD?: string;
  CommR?: string;
  /** What the files could not say, and what happens next. */
  Notes: string[];
}

export const driftMethods = {
  /** `Filecoin.SectorsDrift() → DriftInfo` (read): the catalog's sector files against the records, now. */
  SectorsDrift: defineMethod({
    perm: 'read',
    params: (raw): [] => {
      expectArity(raw, 0);
      return [];
    },
    run: async (_p, { components }): Promise<DriftInfo> => {
      const d = await sectorService(components.sectors).drift();
      return {
        Unrecorded: d.unrecorded.map(unrecordedInfo),
        Missing: d.missing.map((m) => ({ SectorID: m.number, State: m.state, Missing: m.missing })),
        MaxSectorOnPaths: d.maxNumberOnPaths ?? null,
      };
    },
  }),
  /**
   * `Filecoin.SectorsDriftResolve(sector, mode) → DriftResolutionInfo` (admin): `"import"` builds
   * the record of files no record knows (SECTOR_EXISTS when the number has a record,
   * FILE_NOT_FOUND when the files make no sector); `"lost"` removes a record whose files are gone
   * (INVALID_ARGUMENT when it has its files).
   */
  SectorsDriftResolve: defineMethod({
    perm: 'admin',
    params: (raw): [number, DriftResolveMode] => {
      expectArity(raw, 2);
      const sector = intParam(raw, 0, 'sector');
      const mode = stringParam(raw, 1, 'mode');
      if (!(DRIFT_RESOLVE_MODES as readonly string[]).includes(mode)) {
        throw new InvalidArgumentError(`param mode must be one of ${DRIFT_RESOLVE_MODES.map((m) => `"${m}"`).join(', ')} (got ${JSON.stringify(mode)})`);
      }
      return [sector, mode as DriftResolveMode];
    },
    run: async ([sector, mode], { components }): Promise<DriftResolutionInfo> => {
      const r = await sectorService(components.sectors).resolveDrift(sector, mode);
      return {
        SectorID: r.number,
        Mode: r.mode,
        State: r.state,
        Pieces: r.pieces,
        ...(r.commD !== undefined ? { CommD: r.commD } : {}),
        ...(r.commR !== undefined ? { CommR: r.commR } : {}),
        Notes: r.notes,
      };
    },
  }),
};
