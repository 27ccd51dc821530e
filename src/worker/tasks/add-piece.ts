/**
 * AP (Lotus `AddPiece`): writes one piece at `paddedOffset` of the sector's unsealed file,
 * computing its commP, on a pool thread. Locks: none read, unsealed written (Lotus `manager.go`).
 *
 * - The file: the sector's local unsealed file, or, for the first piece (offset 0), a new one
 *   allocated on a sealing path with its space reserved. A piece past offset 0 means the sector
 *   has recorded pieces, so a missing file is a lost file: FILE_NOT_FOUND naming the sector and
 *   the recorded end, never a new file that would silently cover bytes that no longer exist.
 * - Bytes past `paddedOffset` are freed first: the sector's record is the truth, and anything
 *   allocated after its last recorded piece comes from an AddPiece that wrote but was never
 *   recorded (shutdown or crash between the write and the commit). Tasks of one sector hold the
 *   write lock, so nothing else writes there.
 * - A client's bytes come through an {@link UploadStream}: the task waits for the first chunk
 *   before it asks for a pool thread, and a client silent for the idle timeout fails the piece
 *   with UPLOAD_STALLED. Bytes reach the thread over a MessagePort with credit-based flow control
 *   (src/pool/port-stream.ts).
 * - A sector's unsealed file that another node holds is moved here before a later piece is
 *   written to it (Lotus `manager.go` AddPiece fetches with AcquireMove).
 * - The file is declared primary once written: this node wrote it for its own sector.
 */
import { MessageChannel } from 'node:worker_threads';
import { AbortedError, FileNotFoundError, FileUnreadableError, InternalError, SectorStorageError } from '../../errors.js';
import type { TaskProgress } from '../../lifecycle/task-context.js';
import { PartialFile } from '../../partial/partial-file.js';
import { sendStream } from '../../pool/port-stream.js';
import { sealProofInfo } from '../../sector/proofs.js';
import { FileType, sectorName } from '../../sector/sector-id.js';
import type { TaskOf, TaskOutputs } from '../../tasks/task-types.js';
import { lockSector, refOf } from '../sector-files.js';
import { fetchInputs } from '../task-inputs.js';
import { UploadStream } from '../upload-stream.js';
import type { RequestSource, TaskRunOptions, WorkerEnv } from '../worker-env.js';

/** The idle-timed reader of a request's bytes (one per request, shared with the first-bytes wait). */
export function uploadOf(env: WorkerEnv, request: RequestSource, what: string): UploadStream {
  let upload = env.uploads.get(request);
  if (!upload) {
    upload = new UploadStream(request.source, env.uploadIdleMs, what);
    env.uploads.set(request, upload);
  }
  return upload;
}

/** Runs an AP task. */
export async function runAddPiece(env: WorkerEnv, task: TaskOf<'AP'>, run: TaskRunOptions): Promise<TaskOutputs['AP']> {
  const { sector, input } = task;
  const name = sectorName(sector);
  const what = `piece of ${name} at padded offset ${input.paddedOffset}`;
  const sectorSize = sealProofInfo(task.proofType).sectorSize;

  let request: RequestSource | undefined;
  let upload: UploadStream | undefined;
  if (input.source.type === 'request') {
    request = env.sources.get(input.source.requestId);
    if (!request) throw new AbortedError(`piece request ${input.source.requestId} has no byte source any more`);
    upload = uploadOf(env, request, what);
  }
  const signal = request?.signal ? AbortSignal.any([run.signal, request.signal]) : run.signal;
  if (signal.aborted) throw new AbortedError(`AddPiece of the ${what} cancelled before it started`);
  // bytes first: a client that has sent nothing holds neither the sector's lock nor a thread
  if (upload) await upload.ready(signal).catch((err: unknown) => Promise.reject(asSourceError(err)));

  const lock = await lockSector(env, sector, FileType.none, FileType.unsealed, signal);
  let release: (() => void) | undefined;
  try {
    await fetchInputs(env, task, { ...run, signal });
    // the file and the space for everything this write adds (data, trailer, journal), reserved
    const target = await env.localStore.prepareAddPiece(refOf(task), input.pieceSize);
    release = () => target.reservation.release();
    if (target.created && input.paddedOffset > 0) {
      throw new FileNotFoundError(
        `the unsealed file of ${name} is on no local storage path, but its recorded pieces end at padded offset ${input.paddedOffset}; ` +
          'the file was lost and is not recreated (its pieces would be missing from the sector)',
      );
    }
    if (!target.created) await discardUnrecorded(target.path, sectorSize, input.paddedOffset, name);
    const unsealedPath = target.path;
    const storageId = target.storageId;
    const found = !target.created;

    const onProgress = progressTo(run.onProgress, request?.onProgress);
    const piece = await writePiece(env, { unsealedPath, sectorSize, mustExist: found, task, upload, signal, onProgress });
    await env.localStore.declareSector(storageId, sector, 'unsealed', true);
    return { pieceCid: piece.pieceCid, pieceCidV2: piece.pieceCidV2, paddedSize: piece.paddedSize, payloadSize: piece.payloadSize };
  } finally {
    release?.();
    lock.release();
  }
}

interface WriteArgs {
  unsealedPath: string;
  sectorSize: number;
  mustExist: boolean;
  task: TaskOf<'AP'>;
  upload: UploadStream | undefined;
  signal: AbortSignal;
  onProgress: ((p: TaskProgress) => void) | undefined;
}

/** Runs the pool's addPiece with the upload streamed to the thread. */
async function writePiece(env: WorkerEnv, a: WriteArgs) {
  const { input } = a.task;
  const channel = a.upload ? new MessageChannel() : undefined;
  const sending = a.upload && channel ? sendStream(a.upload, channel.port1) : undefined;
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
      channel?.port1.postMessage({ error: { code: 'ABORTED', message: `AddPiece of ${sectorName(a.task.sector)} cancelled` } });
    } catch {
      // the channel is already closed: the stream has ended anyway
    }
  };
  a.signal.addEventListener('abort', closePort, { once: true });
  try {
    const result = await env.pool.run(
      'addPiece',
      {
        unsealedPath: a.unsealedPath,
        sectorSize: a.sectorSize,
        paddedOffset: input.paddedOffset,
        pieceSize: input.pieceSize,
        mustExist: a.mustExist,
        ...(channel ? { sourcePort: channel.port2 } : {}),
      },
      {
        signal: a.signal,
        ...(a.onProgress ? { onProgress: a.onProgress } : {}),
        ...(channel ? { transfer: [channel.port2] } : {}),
      },
    );
    return result.piece;
  } catch (err) {
    if (sourceError !== undefined) throw asSourceError(sourceError);
    throw err;
  } finally {
    a.signal.removeEventListener('abort', closePort);
    channel?.port1.close();
  }
}

function progressTo(...sinks: (((p: TaskProgress) => void) | undefined)[]): ((p: TaskProgress) => void) | undefined {
  const live = sinks.filter((s) => s !== undefined);
  if (live.length === 0) return undefined;
  return (p) => {
    for (const s of live) s(p);
  };
}

/**
 * Frees whatever is allocated in the unsealed file from `end` (the end of the sector's recorded
 * pieces) on; see the module comment.
 */
async function discardUnrecorded(path: string, sectorSize: number, end: number, name: string): Promise<void> {
  const pf = await PartialFile.open(path, sectorSize);
  try {
    if (pf.allocatedWithin(end, sectorSize - end) > 0) await pf.free(end, sectorSize - end);
  } catch (err) {
    throw new InternalError(`${name}: cannot discard unrecorded data past padded offset ${end}`, { cause: err });
  } finally {
    await pf.close();
  }
}

/** Codes a failing client stream keeps; anything else it throws becomes FILE_UNREADABLE. */
const SOURCE_CODES = new Set([
  'ABORTED',
  'UPLOAD_STALLED',
  'EMPTY_PAYLOAD',
  'PAYLOAD_TOO_LARGE',
  'PAYLOAD_TOO_SMALL',
  'FILE_UNREADABLE',
  'CAR_INVALID',
]);

/**
 * The client's byte stream failed (a dropped upload, an unreadable file, a silent client): the
 * sector drops the piece and stays open, so the error must carry an input code whatever the
 * stream threw.
 */
function asSourceError(err: unknown): unknown {
  if (err instanceof SectorStorageError && SOURCE_CODES.has(err.code)) return err;
  if (err instanceof Error && err.name === 'AbortError') return new AbortedError(err.message, { cause: err });
  const message = err instanceof Error ? err.message : String(err);
  return new FileUnreadableError(`the piece's byte stream failed: ${message}`, { cause: err });
}
