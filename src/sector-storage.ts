/**
 * sector-storage: the public entry point. Explicit named re-exports only; everything not listed
 * here is internal and may change.
 *
 * @example
 * ```ts
 * import { commPFile, generateUnsealedCid } from 'sector-storage';
 * const { pieceCid, paddedSize } = await commPFile('deal.car');
 * const commD = generateUnsealedCid(6, [{ pieceCid, paddedSize }]); // StackedDrg8MiBV1_1
 * ```
 */

// errors
export {
  SectorStorageError,
  type ErrorCode,
  type WireError,
  errorFromWire,
  toWireError,
} from './errors.js';

// sizes, proofs, sector ids
export {
  sealProofInfo,
  sealProofForSectorSize,
  allSealProofs,
  porepId,
  type SealProofInfo,
  type RegisteredSealProof,
} from './sector/proofs.js';
export { paddedSize, unpaddedSize, isValidPaddedSize, parseSize, formatSize } from './sector/sizes.js';
export { sectorName, parseSectorName, type SectorId, type SectorRef, type FileTypeName } from './sector/sector-id.js';

// native primitives
export { fr32Pad, fr32Unpad, sha256, hashPair } from '../native/hash.js';
export { poseidonHash } from '../native/poseidon.js';
export { shaBackend } from '../native/binding.js';

// pieces
export { commP, commPFile, MIN_PAYLOAD_SIZE, type CommPResult } from './piece/commp.js';
export { commPFileParallel } from './pool/commp-parallel.js';
export { generateUnsealedCid, computeCommD, type PieceInfo } from './piece/unsealed-cid.js';
export { zeroPieceCommitment } from './piece/zero-comm.js';
export {
  pieceCidV1,
  pieceCidV2,
  parsePieceCid,
  pieceCidV1ToV2,
  pieceCidV2ToV1,
  commPFromPieceCid,
} from './piece/piece-cid.js';
export { addPiece, addPieceWithPadding, type AddPieceOptions, type AddPieceResult } from './piece/add-piece.js';
export { readPiece, readPieceToFile, type ReadPieceOptions } from './piece/read-piece.js';
export { requiredPadding, fillerPieces } from './piece/alignment.js';
export { carInfo, type CarInfo } from './piece/car-info.js';
export { PartialFile } from './partial/partial-file.js';

// sealing
export { createLabels, type CreateLabelsOptions } from './seal/labels.js';
export { replicaId, proverIdFromMinerId } from './seal/replica-id.js';
export { sealPreCommit1, type PreCommit1Input, type PreCommit1Output } from './seal/pc1.js';
export { GATHER_AUTO_MIN_LAYER_BYTES, PC1_GATHER_ENV, type Pc1Gather, pc1GatherDefault } from './seal/pc1-gather.js';
export { sealPreCommit2, type PreCommit2Output } from './seal/pc2.js';
export { sealCommit1 } from './seal/c1.js';
export {
  sealCommit2,
  registerSnarkProver,
  vanillaBundleProver,
  type SnarkProver,
} from './seal/c2.js';
export { verifySeal, verifyVanillaProofs } from './seal/verify.js';
export { unsealRange } from './seal/unseal.js';
export { generateWinningPoSt, generateWindowPoSt, verifyPoSt } from './seal/post.js';
export { finalizeSector } from './seal/finalize.js';
export { checkProvable } from './seal/check-provable.js';
export { commRToCid, cidToCommR } from './seal/commitment-cid.js';

// progress of long operations, the daemon's API client
export type { TaskProgress } from './lifecycle/task-context.js';
export { ApiClient } from './api/rpc-client.js';

// storage: paths, catalog client, locks, local/remote stores, /remote
export {
  initStoragePath,
  readStorageMeta,
  readStorageConfig,
  writeStorageConfig,
  type StorageMeta,
  type StorageConfig,
} from './storage/storage-config.js';
export { type CatalogClient, rpcCatalog } from './storage/catalog-client.js';
export { SectorLocks, type SectorLock, type SectorLockInfo } from './storage/sector-locks.js';
export type { SectorLocksOptions, OwnerHeartbeat } from './storage/sector-locks.js';
export { HEARTBEAT_ENV, heartbeatTimingFromEnv, type HeartbeatTiming } from './storage/owner-leases.js';
export { ManagerLocks, type ManagerLock } from './storage/manager-locks.js';
export { LocalStore, type LocalStoreOptions, type ReservationHandle } from './storage/local-store.js';
export { RemoteStore, type RemoteStoreOptions } from './storage/remote-store.js';
export { createRemoteHandler, type RemoteHandler } from './storage/http-handler.js';
export type {
  FsStat,
  StorageInfo,
  SectorStorageInfo,
  HealthReport,
  PathType,
  AcquireMode,
  SectorPaths,
  StorageStatus,
} from './storage/storage-types.js';
