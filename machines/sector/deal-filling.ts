/**
 * Deal filling (Lotus `extern/storage-sealing/states_sealing.go` handleWaitDeals, handleAddPiece,
 * handlePacking):
 *
 *   WaitDeals ──addPiece──▶ AddPiece ──piece recorded──▶ (routing) ──▶ WaitDeals | AddPiece | Packing
 *   Packing (fillers, then CommD) ──▶ GetTicket
 *
 * A deal piece is reported added only once the index confirmed the record holding it. If that
 * save fails, the sector rolls its pieces back to the last confirmed record and fails the request
 * with the save's error: the sector's data is not at fault, its unrecorded bytes are exactly what a
 * crash during AddPiece leaves (the next AddPiece frees them), and memory again equals what a
 * restart would restore.
 *
 * A piece that fails for its own reasons (the client's input, a stalled upload, no room on disk)
 * is dropped and the sector stays open. A new sector whose first piece failed holds nothing
 * durable and is discarded (a refused add creates no sector). Other write failures put the sector
 * in AddPieceFailed, which, unlike Lotus, retries after the cool-down: its confirmed pieces are
 * intact.
 */
import { and } from 'xstate';
import { sectorSetup } from './sector-setup.js';

const addPieceOn = {
  'sector.addPiece': [
    { guard: and(['acceptingPieces', 'fits']), actions: ['enqueueRequest', 'report'] },
    { guard: 'acceptingPieces', actions: { type: 'rejectRequest', params: { code: 'PIECE_DOES_NOT_FIT' } } },
    { actions: { type: 'rejectRequest', params: { code: 'SECTOR_STATE_INVALID' } } },
  ],
} as const;

/** Not a Lotus state: picks what comes after WaitDeals/AddPiece (next queued piece, packing, or waiting). */
export const routing = sectorSetup.createStateConfig({
  always: [
    { guard: 'hasQueued', target: 'AddPiece' },
    { guard: 'packingDue', target: 'Packing' },
    { target: 'WaitDeals' },
  ],
});

/**
 * Open for deals. A piece that fits (after its alignment padding) is accepted and the sector moves
 * to AddPiece; `sector.startPacking` moves it to Packing.
 */
export const WaitDeals = sectorSetup.createStateConfig({
  entry: [{ type: 'persist', params: { state: 'WaitDeals' } }],
  on: {
    'sector.addPiece': [
      { guard: and(['acceptingPieces', 'fits']), actions: ['enqueueRequest', { type: 'log', params: { event: 'SectorAddPiece' } }], target: 'AddPiece' },
      ...addPieceOn['sector.addPiece'].slice(1),
    ],
    'sector.startPacking': { actions: ['markPackingRequested', { type: 'log', params: { event: 'SectorStartPacking' } }], target: 'Packing' },
  },
});

/**
 * Writing one deal piece: its padding zero pieces, then the piece itself, each an AddPiece task
 * recorded as it finishes; the sector leaves AddPiece when the index answers the save of the
 * record holding the deal piece. Further pieces that fit queue up (Lotus applies SectorAddPiece
 * here without a state change); `sector.startPacking` is noted and acted on when the queue drains.
 */
export const AddPiece = sectorSetup.createStateConfig({
  entry: ['startNextPiece', { type: 'persist', params: { state: 'AddPiece', request: true } }, 'requestStep'],
  on: {
    'sector.task.done': [
      {
        // the client cancelled while padding was being written: keep the padding, drop the piece
        guard: and(['isCurrentTask', 'moreSteps', 'activeCancelled']),
        actions: ['recordStep', 'persist', { type: 'replyFailed', params: { error: { code: 'ABORTED', message: 'piece cancelled by the client' } } }],
        target: 'routing',
      },
      { guard: and(['isCurrentTask', 'moreSteps']), actions: ['recordStep', { type: 'persist', params: { request: true } }, 'requestStep'] },
      // the deal piece: reported added once the record holding it is committed (below)
      {
        guard: 'isCurrentTask',
        actions: ['recordStep', { type: 'log', params: { event: 'SectorPieceAdded' } }, { type: 'persist', params: { awaitReply: true } }],
      },
    ],
    'index.result': [
      { guard: and(['isAwaitedSave', 'saveFailed']), actions: ['replySaveFailed', 'forgetSave', 'rollBackPieces'], target: 'routing' },
      { guard: 'isAwaitedSave', actions: ['confirmSave', 'replyAdded'], target: 'routing' },
      { guard: 'saveFailed', actions: 'forgetSave' },
      { actions: 'confirmSave' },
    ],
    'sector.task.failed': [
      // a new sector whose first piece failed holds nothing: it goes away (a refused add creates no sector)
      { guard: and(['isCurrentTask', 'failsPieceOnly', 'unbornAndIdle']), actions: [{ type: 'replyFailed', params: {} }, 'noteFailedCall'], target: 'Discarded' },
      { guard: and(['isCurrentTask', 'failsPieceOnly']), actions: [{ type: 'replyFailed', params: {} }, 'noteFailedCall', 'persist'], target: 'routing' },
      {
        guard: and(['isCurrentTask', 'filesLost']),
        actions: [{ type: 'replyFailed', params: {} }, 'takeFailure', 'rejectQueued', { type: 'log', params: { event: 'SectorAddPieceFailed' } }],
        target: 'FailedUnrecoverable',
      },
      {
        guard: 'isCurrentTask',
        actions: [{ type: 'replyFailed', params: {} }, 'takeFailure', 'rejectQueued', { type: 'log', params: { event: 'SectorAddPieceFailed' } }],
        target: 'AddPieceFailed',
      },
    ],
    ...addPieceOn,
    'sector.startPacking': { actions: ['markPackingRequested', { type: 'log', params: { event: 'SectorStartPacking' } }, 'persist'] },
    'sector.request.cancel': [{ guard: 'isActiveRequest', actions: 'markActiveCancelled' }, { actions: ['dropQueued', 'report'] }],
  },
});

/**
 * Filling the rest of the sector with filler pieces (one per set bit of the free space, smallest
 * first), then computing CommD over all pieces. Takes no more deals.
 */
export const Packing = sectorSetup.createStateConfig({
  entry: ['markPackingRequested', { type: 'persist', params: { state: 'Packing' } }],
  initial: 'filling',
  states: {
    filling: {
      entry: ['planFillers', 'requestStep'],
      always: { guard: 'noSteps', target: 'committing' },
      on: {
        'sector.task.done': [
          { guard: and(['isCurrentTask', 'moreSteps']), actions: ['recordStep', { type: 'persist', params: { request: true } }, 'requestStep'] },
          { guard: 'isCurrentTask', actions: ['recordStep', 'persist'], target: 'committing' },
        ],
        'sector.task.failed': [
          { guard: and(['isCurrentTask', 'unbornAndIdle']), actions: ['noteFailedCall'], target: '#sector.Discarded' },
          { guard: 'isCurrentTask', actions: ['takeFailure', { type: 'log', params: { event: 'SectorPackingFailed' } }], target: '#sector.PackingFailed' },
        ],
      },
    },
    committing: {
      invoke: {
        src: 'computeCommD',
        input: ({ context }) => ({
          proofType: context.proofType,
          pieces: context.pieces.map((p) => ({ pieceCid: p.pieceCid, paddedSize: p.paddedSize })),
        }),
        onDone: { actions: [{ type: 'assignCommD', params: ({ event }) => ({ commD: event.output }) }, { type: 'log', params: { event: 'SectorPacked' } }], target: '#sector.GetTicket' },
        onError: {
          actions: [{ type: 'storeActorError', params: ({ event }) => ({ what: 'CommD failed', error: event.error }) }, { type: 'log', params: { event: 'SectorPackingFailed' } }],
          target: '#sector.PackingFailed',
        },
      },
    },
  },
});

/**
 * An AddPiece failed for a reason other than the piece's. Lotus has no recovery here; this sector
 * retries after the cool-down: back to WaitDeals with its confirmed pieces, the failed piece's
 * bytes freed by the next AddPiece.
 */
export const AddPieceFailed = sectorSetup.createStateConfig({
  entry: [{ type: 'countRetry', params: { state: 'AddPieceFailed' } }, { type: 'persist', params: { state: 'AddPieceFailed' } }],
  exit: 'resetCooldown',
  after: { cooldown: { actions: { type: 'log', params: { event: 'SectorRetryAddPiece' } }, target: 'routing' } },
});

/**
 * A filler AddPiece or CommD failed. Lotus treats it as deprecated/DealsExpired; kept for
 * inspection and removal, except when a filler found no room on disk: the confirmed pieces are
 * intact and only space was missing, so after each cool-down the sector packs again (writing only
 * the fillers it is missing) until the space is there.
 */
export const PackingFailed = sectorSetup.createStateConfig({
  entry: [{ type: 'persist', params: { state: 'PackingFailed' } }],
  exit: 'resetCooldown',
  after: { cooldown: { guard: 'failedForSpace', actions: { type: 'log', params: { event: 'SectorRetryPacking' } }, target: 'Packing' } },
});

/** Not a Lotus state: a new sector whose first piece failed; nothing of it was written. */
export const Discarded = sectorSetup.createStateConfig({
  entry: ['rejectQueued', 'discard'],
  type: 'final',
});
