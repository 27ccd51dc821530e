/**
 * Every error sector-storage raises carries a stable `code` that callers and tests branch on.
 * Messages name the offending argument or id. Errors that cross a thread or process boundary
 * travel as `{ code, message }` and are rebuilt with {@link errorFromWire}.
 */

/** Stable error codes. */
export type ErrorCode =
  | 'INVALID_ARGUMENT'
  | 'FILE_UNREADABLE'
  | 'EMPTY_PAYLOAD'
  | 'PAYLOAD_TOO_LARGE'
  | 'PAYLOAD_TOO_SMALL'
  | 'CAR_INVALID'
  | 'PIECE_SIZE_INVALID'
  | 'PIECE_DOES_NOT_FIT'
  | 'PIECE_CID_INVALID'
  | 'SECTOR_UNKNOWN'
  | 'SECTOR_EXISTS'
  | 'SECTOR_STATE_INVALID'
  | 'SECTOR_NAME_INVALID'
  | 'SECTOR_RECORD_INVALID'
  | 'PARTIAL_FILE_CORRUPT'
  | 'RANGE_NOT_ALLOCATED'
  | 'PIECE_CORRUPT'
  | 'REPO_LOCKED'
  | 'REPO_INVALID'
  | 'REPO_DRIFT'
  | 'DAEMON_UNREACHABLE'
  | 'UNAUTHORIZED'
  | 'NATIVE_UNAVAILABLE'
  | 'SEAL_PROOF_UNKNOWN'
  | 'STORAGE_NOT_FOUND'
  | 'STORAGE_CONFIG_INVALID'
  | 'STORAGE_EXISTS'
  | 'NO_SPACE'
  | 'NO_SUITABLE_PATH'
  | 'FILE_NOT_FOUND'
  | 'LOCK_FAILED'
  | 'FETCH_FAILED'
  | 'PROOF_INVALID'
  | 'TICKET_EXPIRED'
  | 'PRECOMMIT_REFUSED'
  | 'COMMIT_REFUSED'
  | 'FAULT_REFUSED'
  | 'CACHE_CORRUPT'
  | 'TASK_FAILED'
  | 'CALL_UNKNOWN'
  | 'CALL_STATE_INVALID'
  | 'ABORTED'
  | 'UPLOAD_STALLED'
  | 'UPLOAD_NOT_PUSHED'
  | 'ADDRESS_IN_USE'
  | 'LISTEN_FAILED'
  | 'PROTOCOL_MISMATCH'
  | 'WORKER_UNKNOWN'
  | 'WORKER_LOST'
  | 'NO_WORKER'
  | 'CAR_BLOCK_INVALID'
  | 'INDEX_CORRUPT'
  | 'BLOCK_NOT_FOUND'
  | 'SHARD_UNKNOWN'
  | 'SHARD_EXISTS'
  | 'SHARD_STATE_INVALID'
  | 'INTERNAL';

/** Base class: a code, a name and an optional cause. */
export class SectorStorageError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'SectorStorageError';
  }
  /** The wire form used across threads, processes and the HTTP API. */
  toJSON(): WireError {
    return { code: this.code, message: this.message };
  }
}

/** An error as it travels between threads and processes. */
export interface WireError {
  code: ErrorCode;
  message: string;
}

function defineError(name: string, code: ErrorCode) {
  const cls = class extends SectorStorageError {
    constructor(message: string, options?: { cause?: unknown }) {
      super(code, message, options);
      this.name = name;
    }
  };
  Object.defineProperty(cls, 'name', { value: name });
  return cls;
}

export const InvalidArgumentError = defineError('InvalidArgumentError', 'INVALID_ARGUMENT');
export const FileUnreadableError = defineError('FileUnreadableError', 'FILE_UNREADABLE');
export const EmptyPayloadError = defineError('EmptyPayloadError', 'EMPTY_PAYLOAD');
export const PayloadTooLargeError = defineError('PayloadTooLargeError', 'PAYLOAD_TOO_LARGE');
export const PayloadTooSmallError = defineError('PayloadTooSmallError', 'PAYLOAD_TOO_SMALL');
export const CarInvalidError = defineError('CarInvalidError', 'CAR_INVALID');
export const PieceSizeInvalidError = defineError('PieceSizeInvalidError', 'PIECE_SIZE_INVALID');
export const PieceDoesNotFitError = defineError('PieceDoesNotFitError', 'PIECE_DOES_NOT_FIT');
export const PieceCidInvalidError = defineError('PieceCidInvalidError', 'PIECE_CID_INVALID');
export const SectorUnknownError = defineError('SectorUnknownError', 'SECTOR_UNKNOWN');
export const SectorExistsError = defineError('SectorExistsError', 'SECTOR_EXISTS');
export const SectorStateInvalidError = defineError('SectorStateInvalidError', 'SECTOR_STATE_INVALID');
export const SectorNameInvalidError = defineError('SectorNameInvalidError', 'SECTOR_NAME_INVALID');
export const SectorRecordInvalidError = defineError('SectorRecordInvalidError', 'SECTOR_RECORD_INVALID');
export const PartialFileCorruptError = defineError('PartialFileCorruptError', 'PARTIAL_FILE_CORRUPT');
export const RangeNotAllocatedError = defineError('RangeNotAllocatedError', 'RANGE_NOT_ALLOCATED');
/** A piece's stored bytes do not hash to its recorded piece CID. */
export const PieceCorruptError = defineError('PieceCorruptError', 'PIECE_CORRUPT');
export const RepoLockedError = defineError('RepoLockedError', 'REPO_LOCKED');
export const RepoInvalidError = defineError('RepoInvalidError', 'REPO_INVALID');
/** The repository's database and its storage paths disagree in a way that starting would make worse. */
export const RepoDriftError = defineError('RepoDriftError', 'REPO_DRIFT');
export const DaemonUnreachableError = defineError('DaemonUnreachableError', 'DAEMON_UNREACHABLE');
export const UnauthorizedError = defineError('UnauthorizedError', 'UNAUTHORIZED');
export const NativeUnavailableError = defineError('NativeUnavailableError', 'NATIVE_UNAVAILABLE');
export const SealProofUnknownError = defineError('SealProofUnknownError', 'SEAL_PROOF_UNKNOWN');
export const StorageNotFoundError = defineError('StorageNotFoundError', 'STORAGE_NOT_FOUND');
export const StorageConfigInvalidError = defineError('StorageConfigInvalidError', 'STORAGE_CONFIG_INVALID');
export const StorageExistsError = defineError('StorageExistsError', 'STORAGE_EXISTS');
export const NoSpaceError = defineError('NoSpaceError', 'NO_SPACE');
export const NoSuitablePathError = defineError('NoSuitablePathError', 'NO_SUITABLE_PATH');
export const FileNotFoundError = defineError('FileNotFoundError', 'FILE_NOT_FOUND');
export const LockFailedError = defineError('LockFailedError', 'LOCK_FAILED');
export const FetchFailedError = defineError('FetchFailedError', 'FETCH_FAILED');
export const ProofInvalidError = defineError('ProofInvalidError', 'PROOF_INVALID');
/** The chain refused a pre-commit because its sealing ticket is too old (Lotus ErrExpiredTicket): seal again from a new ticket. */
export const TicketExpiredError = defineError('TicketExpiredError', 'TICKET_EXPIRED');
/** The chain refused a pre-commit for another reason (already pre-committed, a ticket not from the past). */
export const PreCommitRefusedError = defineError('PreCommitRefusedError', 'PRECOMMIT_REFUSED');
/** The chain refused a commit for a reason other than its proof (no pre-commit, too early, already proven). */
export const CommitRefusedError = defineError('CommitRefusedError', 'COMMIT_REFUSED');
/** The chain refused a fault declaration (the sector is not proven). */
export const FaultRefusedError = defineError('FaultRefusedError', 'FAULT_REFUSED');
export const CacheCorruptError = defineError('CacheCorruptError', 'CACHE_CORRUPT');
export const TaskFailedError = defineError('TaskFailedError', 'TASK_FAILED');
export const CallUnknownError = defineError('CallUnknownError', 'CALL_UNKNOWN');
export const CallStateInvalidError = defineError('CallStateInvalidError', 'CALL_STATE_INVALID');
export const AbortedError = defineError('AbortedError', 'ABORTED');
/** A client's upload sent nothing for longer than the idle timeout; the piece is dropped. */
export const UploadStalledError = defineError('UploadStalledError', 'UPLOAD_STALLED');
/** A call names an upload stream that nobody pushed to `/rpc/streams/v0/push/<uuid>` in time; nothing was added. */
export const UploadNotPushedError = defineError('UploadNotPushedError', 'UPLOAD_NOT_PUSHED');
/** The listen address is taken by another process (EADDRINUSE). */
export const AddressInUseError = defineError('AddressInUseError', 'ADDRESS_IN_USE');
/** The listen address cannot be bound for another reason (EACCES, EADDRNOTAVAIL…). */
export const ListenFailedError = defineError('ListenFailedError', 'LISTEN_FAILED');
/** A worker and its manager speak different versions of the worker protocol. */
export const ProtocolMismatchError = defineError('ProtocolMismatchError', 'PROTOCOL_MISMATCH');
/** No connected worker has that id. */
export const WorkerUnknownError = defineError('WorkerUnknownError', 'WORKER_UNKNOWN');
/**
 * The worker running a call went away with it (it came back without the call, or stayed away past
 * its grace period): the scheduler queues the call again instead of failing its sector
 * (docs/design/scheduler.md §1).
 */
export const WorkerLostError = defineError('WorkerLostError', 'WORKER_LOST');
/** No worker can ever run the task (an upload's AddPiece while the local worker does not run AP). */
export const NoWorkerError = defineError('NoWorkerError', 'NO_WORKER');
/** A CAR block whose bytes do not hash to its CID (the whole CAR is refused). */
export const CarBlockInvalidError = defineError('CarBlockInvalidError', 'CAR_BLOCK_INVALID');
/** A CARv2 index file that does not parse or does not agree with its CAR (it is rebuilt). */
export const IndexCorruptError = defineError('IndexCorruptError', 'INDEX_CORRUPT');
/** No shard or CAR holds a block with that CID. */
export const BlockNotFoundError = defineError('BlockNotFoundError', 'BLOCK_NOT_FOUND');
/** The dagstore has no shard with that key (piece CID). */
export const ShardUnknownError = defineError('ShardUnknownError', 'SHARD_UNKNOWN');
/** A shard with that key is registered already (dagstore "shard already exists"). */
export const ShardExistsError = defineError('ShardExistsError', 'SHARD_EXISTS');
/** The shard is not in a state that allows the operation (dagstore "expected state …"). */
export const ShardStateInvalidError = defineError('ShardStateInvalidError', 'SHARD_STATE_INVALID');
export const InternalError = defineError('InternalError', 'INTERNAL');

const byCode: Record<ErrorCode, new (message: string, options?: { cause?: unknown }) => SectorStorageError> = {
  INVALID_ARGUMENT: InvalidArgumentError,
  FILE_UNREADABLE: FileUnreadableError,
  EMPTY_PAYLOAD: EmptyPayloadError,
  PAYLOAD_TOO_LARGE: PayloadTooLargeError,
  PAYLOAD_TOO_SMALL: PayloadTooSmallError,
  CAR_INVALID: CarInvalidError,
  PIECE_SIZE_INVALID: PieceSizeInvalidError,
  PIECE_DOES_NOT_FIT: PieceDoesNotFitError,
  PIECE_CID_INVALID: PieceCidInvalidError,
  SECTOR_UNKNOWN: SectorUnknownError,
  SECTOR_EXISTS: SectorExistsError,
  SECTOR_STATE_INVALID: SectorStateInvalidError,
  SECTOR_NAME_INVALID: SectorNameInvalidError,
  SECTOR_RECORD_INVALID: SectorRecordInvalidError,
  PARTIAL_FILE_CORRUPT: PartialFileCorruptError,
  RANGE_NOT_ALLOCATED: RangeNotAllocatedError,
  PIECE_CORRUPT: PieceCorruptError,
  REPO_LOCKED: RepoLockedError,
  REPO_INVALID: RepoInvalidError,
  REPO_DRIFT: RepoDriftError,
  DAEMON_UNREACHABLE: DaemonUnreachableError,
  UNAUTHORIZED: UnauthorizedError,
  NATIVE_UNAVAILABLE: NativeUnavailableError,
  SEAL_PROOF_UNKNOWN: SealProofUnknownError,
  STORAGE_NOT_FOUND: StorageNotFoundError,
  STORAGE_CONFIG_INVALID: StorageConfigInvalidError,
  STORAGE_EXISTS: StorageExistsError,
  NO_SPACE: NoSpaceError,
  NO_SUITABLE_PATH: NoSuitablePathError,
  FILE_NOT_FOUND: FileNotFoundError,
  LOCK_FAILED: LockFailedError,
  FETCH_FAILED: FetchFailedError,
  PROOF_INVALID: ProofInvalidError,
  TICKET_EXPIRED: TicketExpiredError,
  PRECOMMIT_REFUSED: PreCommitRefusedError,
  COMMIT_REFUSED: CommitRefusedError,
  FAULT_REFUSED: FaultRefusedError,
  CACHE_CORRUPT: CacheCorruptError,
  TASK_FAILED: TaskFailedError,
  CALL_UNKNOWN: CallUnknownError,
  CALL_STATE_INVALID: CallStateInvalidError,
  ABORTED: AbortedError,
  UPLOAD_STALLED: UploadStalledError,
  UPLOAD_NOT_PUSHED: UploadNotPushedError,
  ADDRESS_IN_USE: AddressInUseError,
  LISTEN_FAILED: ListenFailedError,
  PROTOCOL_MISMATCH: ProtocolMismatchError,
  WORKER_UNKNOWN: WorkerUnknownError,
  WORKER_LOST: WorkerLostError,
  NO_WORKER: NoWorkerError,
  CAR_BLOCK_INVALID: CarBlockInvalidError,
  INDEX_CORRUPT: IndexCorruptError,
  BLOCK_NOT_FOUND: BlockNotFoundError,
  SHARD_UNKNOWN: ShardUnknownError,
  SHARD_EXISTS: ShardExistsError,
  SHARD_STATE_INVALID: ShardStateInvalidError,
  INTERNAL: InternalError,
};

/** True when `code` is one of the known error codes. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(byCode, code);
}

/** errno codes that mean the filesystem (or the user's quota) has no room for the write. */
const NO_SPACE_ERRNOS = new Set(['ENOSPC', 'EDQUOT']);

/**
 * A full filesystem, whatever the call that hit it (write, fsync, rename, link, a journal or a
 * temporary), is NO_SPACE: the one mapping used wherever files are written. Returns a
 * NoSpaceError naming `what` was being written for an ENOSPC/EDQUOT error, `err` unchanged otherwise.
 * @example
 * try { await fh.write(buf) } catch (err) { throw noSpaceFrom(err, `piece data of ${path}`) }
 */
export function noSpaceFrom(err: unknown, what: string): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (err instanceof SectorStorageError || typeof code !== 'string' || !NO_SPACE_ERRNOS.has(code)) return err;
  return new NoSpaceError(`no space left for ${what} (${code}: ${(err as Error).message})`, { cause: err });
}

/** Turns any thrown value into the wire form; unknown errors become INTERNAL. */
export function toWireError(err: unknown): WireError {
  if (err instanceof SectorStorageError) return { code: err.code, message: err.message };
  const full = noSpaceFrom(err, 'a write');
  if (full !== err) return toWireError(full);
  if (err instanceof Error && err.name === 'AbortError') return { code: 'ABORTED', message: err.message };
  if (err instanceof Error) return { code: 'INTERNAL', message: err.message };
  return { code: 'INTERNAL', message: String(err) };
}

/** Rebuilds a typed error from its wire form. */
export function errorFromWire(wire: WireError): SectorStorageError {
  const cls = isErrorCode(wire.code) ? byCode[wire.code] : InternalError;
  return new cls(wire.message);
}
