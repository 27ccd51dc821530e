/**
 * What API method handlers can reach in the daemon: one `components` object (Helia style),
 * filled by `src/daemon.ts`. Areas that need more add optional fields by declaration merging in
 * their own file:
 *
 * ```ts
 * declare module '../components.js' {
 *   interface ApiComponents { localStore?: LocalStore }
 * }
 * ```
 * and ask the daemon's owner to pass the value.
 */
import type { DaemonSystemHandle } from '../../actors/system.js';
import type { SectorRecord } from '../db/sector-store.js';
import type { AddedPiece } from '../piece/add-piece.js';
import type { Permission } from './auth.js';

/** Options of {@link SectorApiService.addPiece}. */
export interface AddPieceRequest {
  /** Target sector; a new or open sector is chosen when absent. */
  sector?: number;
  /** The piece's bytes (exactly `payloadSize` of them). */
  source: AsyncIterable<Uint8Array>;
  payloadSize: number;
  /** Declared padded piece size; defaults to the smallest that holds the payload. */
  pieceSize?: number;
  signal?: AbortSignal;
  onProgress?: (p: { phase: string; done: number; total: number; detail?: string }) => void;
}

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
  /** The whole actor system (index client, local store, root actor), for areas that need more than sectors. */
  system?: DaemonSystemHandle;
}
