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
import type { LogMarks, SectorLogEntry, SectorRecord, SectorStateName, UnreadableSector } from '../db/sector-store.js';
import type { CallRecord } from '../tasks/calls.js';
import type { AddedPiece, AddPieceRequest } from '../piece/add-piece.js';
import type { Permission } from '../auth/tokens.js';
import type { CatalogClient } from '../storage/catalog-client.js';
import type { LocalStore } from '../storage/local-store.js';
import type { DriftReport, DriftResolution, DriftResolveMode, UnrecordedSectorFiles } from '../storage/drift-report.js';

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
  /** Sectors whose records cannot be read, with the reason (they are not started). */
  unreadable(): Promise<readonly UnreadableSector[]>;
  /** One sector's record; rejects with SectorUnknownError for an unknown number. */
  sectorStatus(sector: number): Promise<SectorRecord>;
  /**
   * After a path was attached or files on it declared: keeps every sector number on any path out
   * of use by new sectors, and logs and returns the files on `storageId` no record knows (of the
   * sectors `only`, when given).
   */
  storageAttached(storageId: string, only?: readonly number[]): Promise<UnrecordedSectorFiles[]>;
  /** A local storage path was attached or detached: the local worker is re-registered with its paths. */
  storagePathsChanged?(): void;
  /** Hears every sector record saved from now on (each state a sector enters, none skipped); returns the unsubscribe. */
  watch?(listener: (record: SectorRecord) => void): () => void;
  /** One sector's record and its log; rejects with SectorUnknownError for an unknown number. */
  status(sector: number): Promise<{ record: SectorRecord; log: SectorLogEntry[] }>;
  /** The sectors in any of `states`. */
  listInStates(states: SectorStateName[]): Promise<readonly SectorRecord[]>;
  /** Sectors per state. */
  summary(): Promise<Record<string, number>>;
  /** Per sector: when its log began and when it first logged an entry of `kind`. */
  logMarks(kind: string): Promise<readonly LogMarks[]>;
  /** A new committed-capacity sector, sealed at once; resolves with its number. */
  pledge(): Promise<number>;
  /** Stops a sector waiting for deals and seals it (SECTOR_UNKNOWN, SECTOR_STATE_INVALID). */
  startPacking(sector: number): Promise<void>;
  /** Removes a sector in any state, with its files on every path (SECTOR_UNKNOWN). */
  remove(sector: number): Promise<void>;
  /** The call with this id or unique id prefix (CALL_UNKNOWN). */
  findCall(callIdOrPrefix: string): Promise<CallRecord>;
  /** Stops a queued or running call; resolves with its full id (CALL_UNKNOWN when it is neither). */
  abort(callIdOrPrefix: string): Promise<string>;
  /** Calls not yet returned to their sectors. */
  jobs(): Promise<readonly CallRecord[]>;
  /** Calls returned to their sectors since `sinceMs` (unix ms), among the newest returned ones. */
  returnedSince?(sinceMs: number): Promise<readonly CallRecord[]>;
  /** The drift between the storage paths and the sector records now. */
  drift(): Promise<DriftReport>;
  /** Resolves one sector's drift: import its record from its files, or remove a record whose files are gone. */
  resolveDrift(sector: number, mode: DriftResolveMode): Promise<DriftResolution>;
  /** Every call made for a sector, newest first. */
  calls(sector: number): Promise<readonly CallRecord[]>;
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
  /** Asks the process to shut down cleanly (`Filecoin.Shutdown`); absent where the server cannot stop its process. */
  requestShutdown?(reason: string): void;
}

/** Everything method handlers can use. */
export interface ApiComponents {
  daemon: DaemonInfo;
  /** Set once the actor system runs. */
  sectors?: SectorApiService;
  /** Set once the actor system runs: what areas that need more than sectors reach of it. */
  system?: ApiSystem;
}
