/**
 * The `poolTask` actor: runs one scheduler task on the sealer pool. A promise actor, so XState
 * gives it an AbortSignal that fires when the scheduler stops it (shutdown); the signal goes
 * straight to `pool.run`, which cancels the task cooperatively on its thread.
 *
 * AddPiece: resolves the sector's unsealed file (an existing local copy, or a fresh allocation
 * with its space reserved on a sealing path), frees any allocation past the sector's recorded
 * pieces (left by an AddPiece that was interrupted after writing), feeds the client's bytes to the pool thread through
 * a MessagePort with credit-based flow control (src/pool/port-stream.ts), and declares a newly
 * created file in the index (non-primary, as Lotus's sealer provider does). Byte sources never
 * enter the actor system: events carry a `requestId` and the source is looked up here.
 */
import { MessageChannel } from 'node:worker_threads';
import { fromPromise } from 'xstate';
import { AbortedError, FileUnreadableError, InternalError, SectorStorageError } from '../src/errors.js';
import { PartialFile } from '../src/partial/partial-file.js';
import type { SealerPool } from '../src/pool/pool.js';
import type { TaskProgress } from '../src/lifecycle/task-context.js';
import { sendStream } from '../src/pool/port-stream.js';
import { sealProofInfo } from '../src/sector/proofs.js';
import { FileType } from '../src/sector/sector-id.js';
import type { LocalStore } from '../src/storage/local-store.js';
import type { AddPieceOutput, AddPieceTask, TaskRequest } from '../machines/protocol.js';

/** A client's byte stream waiting for its AddPiece task. */
export interface RequestSource {
  source: AsyncIterable<Uint8Array>;
  signal?: AbortSignal;
  onProgress?: (p: TaskProgress) => void;
}

/** What the pool task actor needs from the world. */
export interface PoolTaskComponents {
  pool: SealerPool;
  /** The node's storage paths (resolved once the system is up). */
  localStore: () => LocalStore;
  /** Resolves when `localStore()` may be called. */
  ready: Promise<void>;
  /** Client byte sources by request id. */
  sources: Map<string, RequestSource>;
  /** Every task promise in flight, so shutdown can wait for them to settle. */
  inflight: Set<Promise<unknown>>;
}

/** Creates the `poolTask` actor logic bound to real components. */
export function createPoolTaskLogic(c: PoolTaskComponents) {
  return fromPromise<AddPieceOutput, TaskRequest>(({ input, signal }) => {
    const run = (async () => {
      await c.ready;
      switch (input.kind) {
        case 'addPiece':
          return runAddPiece(c, input, signal);
        default: {
          const never: never = input.kind;
          throw new InternalError(`unknown task kind ${String(never)}`);
        }
      }
    })();
    c.inflight.add(run);
    void run.finally(() => c.inflight.delete(run)).catch(() => {});
    return run;
  });
}

async function runAddPiece(c: PoolTaskComponents, task: AddPieceTask, actorSignal: AbortSignal): Promise<AddPieceOutput> {
  const store = c.localStore();
  const ref = { id: task.sector, proofType: task.proofType };
  const sectorSize = sealProofInfo(task.proofType).sectorSize;

  let request: RequestSource | undefined;
  if (task.source.type === 'request') {
    request = c.sources.get(task.source.requestId);
    if (!request) throw new AbortedError(`piece request ${task.source.requestId} has no byte source any more`);
  }
  const signal = request?.signal ? AbortSignal.any([actorSignal, request.signal]) : actorSignal;
  if (signal.aborted) throw new AbortedError(`AddPiece ${task.id} cancelled before it started`);

  const found = await store.findLocal(task.sector, 'unsealed');
  if (found) await discardUnrecorded(found.path, sectorSize, task.paddedOffset, task.sector.number);
  const alloc = found ? undefined : await store.allocate(ref, FileType.unsealed, 'sealing');
  const unsealedPath = found?.path ?? alloc?.paths.unsealed;
  const storageId = found?.id ?? alloc?.storages.unsealed;
  if (unsealedPath === undefined || storageId === undefined) {
    alloc?.reservation.release();
    throw new InternalError(`no unsealed path for sector ${task.sector.number}`);
  }

  const channel = request ? new MessageChannel() : undefined;
  const sending = request && channel ? sendStream(request.source, channel.port1) : undefined;
  // The source's failure also reaches the thread as a stream error, which then fails the task;
  // it is recorded here (before the task can fail) to tell it from a failure of the write.
  let sourceError: unknown;
  sending?.catch((err: unknown) => {
    sourceError = err;
  });
  // A thread waiting for bytes checks no cancel flag: end its stream with an ABORTED error at
  // once (otherwise a stalled client holds the thread until the pool's grace period runs out).
  // A message, not port.close(): a close that happens before the thread listens is never seen,
  // while messages wait in the port's queue (port-stream.ts wire format: { error }).
  const closePort = () => {
    try {
      channel?.port1.postMessage({ error: { code: 'ABORTED', message: `AddPiece ${task.id} cancelled` } });
    } catch {
      // the channel is already closed: the stream has ended anyway
    }
  };
  signal.addEventListener('abort', closePort, { once: true });
  try {
    const result = await c.pool.run(
      'addPiece',
      {
        unsealedPath,
        sectorSize,
        paddedOffset: task.paddedOffset,
        pieceSize: task.pieceSize,
        ...(channel ? { sourcePort: channel.port2 } : {}),
      },
      {
        signal,
        ...(request?.onProgress ? { onProgress: request.onProgress } : {}),
        ...(channel ? { transfer: [channel.port2] } : {}),
      },
    );
    const piece = result.piece;
    if (piece.created || !found) await store.declareSector(storageId, task.sector, 'unsealed', false);
    return {
      pieceCid: piece.pieceCid,
      pieceCidV2: piece.pieceCidV2,
      paddedSize: piece.paddedSize,
      payloadSize: piece.payloadSize,
    };
  } catch (err) {
    if (sourceError !== undefined) throw asSourceError(sourceError);
    throw err;
  } finally {
    signal.removeEventListener('abort', closePort);
    alloc?.reservation.release();
    channel?.port1.close();
  }
}

/**
 * Frees whatever is allocated in the unsealed file from `end` (the end of the sector's recorded
 * pieces) on. The sector record is the truth: bytes past it come from an AddPiece that completed
 * on its thread but was never recorded (shutdown or crash between the write and the commit), and
 * nobody was told about them. Tasks of one sector run one at a time, so nothing else writes there.
 */
async function discardUnrecorded(path: string, sectorSize: number, end: number, sector: number): Promise<void> {
  const pf = await PartialFile.open(path, sectorSize);
  try {
    if (pf.allocatedWithin(end, sectorSize - end) > 0) await pf.free(end, sectorSize - end);
  } catch (err) {
    throw new InternalError(`sector ${sector}: cannot discard unrecorded data past padded offset ${end}`, { cause: err });
  } finally {
    await pf.close();
  }
}

/** Codes a failing client stream keeps; anything else it throws becomes FILE_UNREADABLE. */
const SOURCE_CODES = new Set(['ABORTED', 'EMPTY_PAYLOAD', 'PAYLOAD_TOO_LARGE', 'PAYLOAD_TOO_SMALL', 'FILE_UNREADABLE', 'CAR_INVALID']);

/**
 * The client's byte stream failed (a dropped upload, an unreadable file): the sector drops the
 * piece and stays open, so the error must carry an input code whatever the stream threw.
 */
function asSourceError(err: unknown): unknown {
  if (err instanceof SectorStorageError && SOURCE_CODES.has(err.code)) return err;
  if (err instanceof Error && err.name === 'AbortError') return new AbortedError(err.message, { cause: err });
  const message = err instanceof Error ? err.message : String(err);
  return new FileUnreadableError(`the piece's byte stream failed: ${message}`, { cause: err });
}
