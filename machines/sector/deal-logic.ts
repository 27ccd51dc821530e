/**
 * The pure logic of deal filling (Lotus `extern/storage-sealing/input.go`): queueing deal pieces,
 * the alignment padding before each (GetRequiredPadding), the fillers when packing, recording a
 * written piece, and the replies the scheduler relays to clients.
 */
import type { ErrorCode, WireError } from '../../src/errors.js';
import { fillerPieces, requiredPadding } from '../../src/piece/alignment.js';
import type { PieceRequest, SchedulerSectorEvent, SectorEvent } from '../protocol.js';
import { piecesEnd } from '../sector-space.js';
import { reserved, type SectorContext, type SectorStep } from './sector-context.js';
import type { PieceRecord } from '../../src/db/sector-store.js';

/**
 * Failures of the deal piece's own task that blame the piece, not the sector: the client's input
 * or upload, or a disk without room for it. The piece is dropped and the sector stays open with
 * its confirmed pieces (the bytes the failed task wrote sit past them and are freed by the next
 * AddPiece).
 */
const PIECE_ERRORS: readonly ErrorCode[] = [
  'ABORTED',
  'EMPTY_PAYLOAD',
  'PAYLOAD_TOO_LARGE',
  'PAYLOAD_TOO_SMALL',
  'CAR_INVALID',
  'UPLOAD_STALLED' as ErrorCode,
  // the worker reports any failure of the client's byte stream as FILE_UNREADABLE
  'FILE_UNREADABLE',
];

/** True when a failed AddPiece step drops the piece but leaves the sector open. */
export function failsPieceOnly(c: SectorContext, error: WireError): boolean {
  // no room is never the sector's fault, whichever step (padding or the piece) ran out of it
  if (error.code === 'NO_SPACE') return true;
  // only the deal piece's own task reads client bytes
  return c.steps.length === 1 && c.active !== undefined && PIECE_ERRORS.includes(error.code);
}

export function enqueue(c: SectorContext, r: PieceRequest): Partial<SectorContext> {
  const { requestId, pieceSize, payloadSize } = r;
  return { queue: [...c.queue, { requestId, pieceSize, payloadSize }] };
}

/** The reply turning a piece request down. */
export function rejection(c: SectorContext, r: PieceRequest, code: ErrorCode): SchedulerSectorEvent {
  const message =
    code === 'PIECE_DOES_NOT_FIT'
      ? `piece of ${r.pieceSize} padded bytes does not fit in sector ${c.number}: ` +
        `${c.sectorSize - reserved(c)} padded bytes left before alignment`
      : `sector ${c.number} is in state ${c.state}${c.packingRequested ? ' (packing requested)' : ''} and takes no pieces`;
  return { type: 'scheduler.piece.failed', requestId: r.requestId, sector: c.number, error: { code, message } };
}

/** Replies failing every queued request (the sector can no longer take them). */
export function queuedFailures(c: SectorContext, message?: string): SchedulerSectorEvent[] {
  return c.queue.map((r) => ({
    type: 'scheduler.piece.failed',
    requestId: r.requestId,
    sector: c.number,
    error: { code: 'SECTOR_STATE_INVALID', message: message ?? `sector ${c.number} failed before this piece was added` },
  }));
}

/** Drops a queued request its client cancelled. */
export function dropQueued(c: SectorContext, requestId: string): { queue: PieceRequest[]; failure: SchedulerSectorEvent } | undefined {
  if (!c.queue.some((r) => r.requestId === requestId)) return undefined;
  return {
    queue: c.queue.filter((r) => r.requestId !== requestId),
    failure: {
      type: 'scheduler.piece.failed',
      requestId,
      sector: c.number,
      error: { code: 'ABORTED', message: `piece request ${requestId} cancelled before it started` },
    },
  };
}

/** Takes the next queued request: its padding zero pieces first, then the deal piece. */
export function startNextPiece(c: SectorContext): Partial<SectorContext> {
  const [next, ...rest] = c.queue;
  if (!next) return {};
  const padding = requiredPadding(piecesEnd(c.pieces), next.pieceSize).pieces;
  const steps: SectorStep[] = [
    ...padding.map((size) => ({ pieceSize: size, payloadSize: 0, source: { type: 'zeros' } as const })),
    { pieceSize: next.pieceSize, payloadSize: next.payloadSize, source: { type: 'request', requestId: next.requestId } },
  ];
  return { queue: rest, active: { ...next, cancelled: false }, steps };
}

/** Filler pieces to the end of the sector (one per set bit of the free space, smallest first). */
export function planFillers(c: SectorContext): Partial<SectorContext> {
  return {
    steps: fillerPieces(piecesEnd(c.pieces), c.sectorSize).map((size) => ({
      pieceSize: size,
      payloadSize: 0,
      source: { type: 'zeros' } as const,
    })),
  };
}

/** Records the finished first step as a piece. */
export function recordStep(c: SectorContext, e: Extract<SectorEvent, { type: 'sector.task.done' }>): Partial<SectorContext> {
  const [step, ...rest] = c.steps;
  if (!step || e.result.type !== 'AP') return {};
  const out = e.result.value;
  const filler = step.source.type === 'zeros';
  const piece: PieceRecord = {
    pieceCid: out.pieceCid,
    paddedOffset: piecesEnd(c.pieces),
    paddedSize: out.paddedSize,
    payloadSize: filler ? 0 : out.payloadSize,
    filler,
  };
  if (!filler) piece.pieceCidV2 = out.pieceCidV2;
  return { pieces: [...c.pieces, piece], steps: rest, taskId: undefined };
}

/** The reply reporting the active deal piece added (its record is durable). */
export function addedReply(c: SectorContext): SchedulerSectorEvent | undefined {
  const piece = c.pieces.at(-1);
  if (!c.active || !piece) return undefined;
  return { type: 'scheduler.piece.added', requestId: c.active.requestId, sector: c.number, piece };
}

/** The reply failing the active deal piece because the save that was to record it failed. */
export function saveFailedReply(c: SectorContext, error: WireError): SchedulerSectorEvent {
  const piece = c.pieces.at(-1);
  return {
    type: 'scheduler.piece.failed',
    requestId: c.active?.requestId ?? '',
    sector: c.number,
    error: {
      code: error.code,
      message:
        `piece ${piece?.pieceCid ?? '?'} was written to sector ${c.number} but its sector record could not be saved; ` +
        `it is not added: ${error.message}`,
    },
  };
}
