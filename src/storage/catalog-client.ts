/**
 * The asynchronous view of the storage catalog that stores use. In the daemon it is the index
 * actor (which wraps the SQLite `StorageCatalog` of src/db/storage-catalog.ts and serialises
 * calls through its mailbox); on a worker it is the manager's JSON-RPC API ({@link rpcCatalog});
 * in tests it is `directCatalog` (src/db/storage-catalog.ts).
 */
import type { SectorId } from '../sector/sector-id.js';
import type {
  Decl,
  FsStat,
  HealthReport,
  PathType,
  SectorDecl,
  SectorFileDecl,
  SectorStorageInfo,
  StorageInfo,
  StorageStatus,
} from './storage-types.js';

/** The catalog operations, Promise-returning (same names and parameters as StorageCatalog). */
export interface CatalogClient {
  /** `node`: the attaching node's persistent id; its earlier URLs are replaced by `info.URLs`. */
  storageAttach(info: StorageInfo, stat: FsStat, node?: string): Promise<void>;
  storageDetach(id: string, url?: string): Promise<void>;
  storageInfo(id: string): Promise<StorageInfo>;
  storageList(): Promise<Record<string, Decl[]>>;
  storageSectorFiles(): Promise<SectorFileDecl[]>;
  storageReportHealth(id: string, report: HealthReport): Promise<void>;
  storageDeclareSector(id: string, sector: SectorId, types: number, primary: boolean): Promise<void>;
  storageDeclareSectors(
    id: string,
    decls: readonly SectorDecl[],
    dropMissing: boolean,
  ): Promise<{ declared: number; dropped: number }>;
  storageDropSector(id: string, sector: SectorId, types: number): Promise<void>;
  storageMoveSector(sector: SectorId, types: number, from: string, to: string): Promise<void>;
  storageFindSector(sector: SectorId, types: number, ssize: number, allowFetch: boolean): Promise<SectorStorageInfo[]>;
  storageBestAlloc(types: number, ssize: number, pathType: PathType): Promise<StorageInfo[]>;
  storageStatus(): Promise<StorageStatus[]>;
}

/** The method names of {@link CatalogClient}. */
export const CATALOG_METHODS = [
  'storageAttach',
  'storageDetach',
  'storageInfo',
  'storageList',
  'storageSectorFiles',
  'storageReportHealth',
  'storageDeclareSector',
  'storageDeclareSectors',
  'storageDropSector',
  'storageMoveSector',
  'storageFindSector',
  'storageBestAlloc',
  'storageStatus',
] as const satisfies readonly (keyof CatalogClient)[];

/** A JSON-RPC call: method name (without `Filecoin.`) and positional params → result. */
export type RpcCall = (method: string, params: unknown[]) => Promise<unknown>;

/** JSON-RPC method name (without the `Filecoin.` prefix) of each catalog operation. */
export const CATALOG_RPC_NAMES = {
  storageAttach: 'StorageAttach',
  storageDetach: 'StorageDetach',
  storageInfo: 'StorageInfo',
  storageList: 'StorageList',
  storageSectorFiles: 'StorageSectorFiles',
  storageReportHealth: 'StorageReportHealth',
  storageDeclareSector: 'StorageDeclareSector',
  storageDeclareSectors: 'StorageDeclareSectors',
  storageDropSector: 'StorageDropSector',
  storageMoveSector: 'StorageMoveSector',
  storageFindSector: 'StorageFindSector',
  storageBestAlloc: 'StorageBestAlloc',
  storageStatus: 'StorageSummary',
} as const satisfies Readonly<Record<keyof CatalogClient, string>>;

/** The manager's storage catalog seen from a worker, over JSON-RPC. */
export function rpcCatalog(call: RpcCall): CatalogClient {
  const out: Record<string, unknown> = {};
  for (const m of CATALOG_METHODS) {
    const name = CATALOG_RPC_NAMES[m];
    out[m] = async (...args: unknown[]) => {
      // JSON has no undefined: trailing optional parameters are dropped rather than sent as null.
      while (args.length > 0 && args[args.length - 1] === undefined) args.pop();
      return call(name, args);
    };
  }
  return out as unknown as CatalogClient;
}
