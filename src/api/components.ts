/**
 * What API method handlers can reach in the daemon: one `components` object (Helia style),
 * filled by `src/daemon/daemon.ts`. Areas that need more add optional fields by declaration
 * merging in their own file:
 *
 * ```ts
 * declare module '../components.js' {
 *   interface ApiComponents { localStore?: LocalStore }
 * }
 * ```
 * and ask the daemon's owner to pass the value.
 */
import type { SectorRecord } from '../db/sector-store.js';
import type { AddedPiece, AddPieceRequest } from '../piece/add-piece.js';
import type { Permission } from '../auth/tokens.js';
import type { CatalogClient } from '../storage/catalog-client.js';
import type { LocalStore } from '../storage/local-store.js';

/**
 * The sector operations the API needs, satisfied by the facade that `actors/system.ts`
 * (`startDaemonSystem`) returns. Structural, so the API layer does not depend on XState.
 */
export interface SectorApiService {
  addPiece(req: AddPieceRequest): Promise<AddedPiece>;
  /** Unpadded bytes `[offset, offset+size)` of a sector's unsealed data. */
  readPiece(req: { sector: number; offset: number; size: number; signal?: AbortSignal }): Promise<AsyncIterable<Uint8Array>> | AsyncIterable<Uint8Array>;
  /** Every sector's persisted record. */
  listSectors(): Promise<readonly SectorRecord[]>;
  /** One sector's record; rejects with SectorUnknownError for an unknown number. */
  sectorStatus(sector: number): Promise<SectorRecord>;
  /** Tells the scheduler the highest sector number on any path (after a path was attached), so new sectors are numbered above it. */
  noteSectorNumbersOnPaths(): Promise<void>;
}

/**
 * The parts of the daemon's actor system (actors/system.ts `DaemonSystemHandle`) the API uses.
 * Structural, so the API layer does not depend on actors/.
 */
export interface ApiSystem {
  /** The index actor's client; its `catalog` proxy is the node's storage catalog. */
  readonly index: { readonly catalog: CatalogClient };
  /** The node's storage paths. */
  readonly localStore: LocalStore;
}

/** Daemon-wide facts. */
export interface DaemonInfo {
  /** A uuid per daemon start (`Filecoin.Session`). */
  session: string;
  /** Program version (package.json). */
  version: string;
  /** Absolute repository path. */
  repoPath: string;
  minerId: number;
  sealProof: number;
  sectorSize: number;
  /** Creates tokens signed with the repository's secret (`Filecoin.AuthNew`). */
  createToken(permissions: readonly Permission[]): string;
  /** The permissions a token signed with the repository's secret grants (UnauthorizedError if not). */
  verifyToken(token: string): Permission[];
}

/** Everything method handlers can use. */
export interface ApiComponents {
  daemon: DaemonInfo;
  /** Set once the actor system runs. */
  sectors?: SectorApiService;
  /** Set once the actor system runs: what areas that need more than sectors reach of it. */
  system?: ApiSystem;
}
