import test from 'ava';
import type { CommDInput } from '../../../machines/sector/sector-setup.js';
import type { SectorRecordDraft, SectorStateName } from '../../../src/db/sector-store.js';
import type { ErrorCode } from '../../../src/errors.js';
import type { TaskOf } from '../../../src/tasks/task-types.js';
import { type SectorHarness, sectorHarness } from './sector-harness.js';

// StackedDrg2KiBV1_1: a 2048-byte sector keeps the piece arithmetic readable
const P2K = 5;
const base = { miner: 1000, number: 7, proofType: P2K };

function req(id: string, pieceSize: number, payloadSize = pieceSize - pieceSize / 128) {
  return { type: 'sector.addPiece' as const, requestId: id, pieceSize, payloadSize };
}

function record(state: SectorStateName, extra: Partial<SectorRecordDraft> = {}): SectorRecordDraft {
  return {
    v: 2,
    ...base,
    state,
    pieces: [{ pieceCid: 'cid-128@0', pieceCidV2: 'v2', paddedOffset: 0, paddedSize: 128, payloadSize: 127, filler: false }],
    packingRequested: false,
    counters: { preCommit2Fails: 0, invalidProofs: 0, retries: 0 },
    ...extra,
  };
}

/** The AddPiece tasks requested so far, in order. */
function apTasks(h: SectorHarness): TaskOf<'AP'>[] {
  return h.requests().map(({ task }) => {
    if (task.type !== 'AP') throw new Error(`a ${task.type} task was requested, not AP`);
    return task;
  });
}

function lastAp(h: SectorHarness): TaskOf<'AP'> {
  const task = apTasks(h).at(-1);
  if (!task) throw new Error('no AddPiece requested');
  return task;
}

/** Completes the last requested AddPiece with a commitment named after its place; returns its call id. */
function finish(h: SectorHarness, payloadSize?: number): string {
  const { input } = lastAp(h);
  return h.finish('AP', {
    pieceCid: `cid-${input.pieceSize}@${input.paddedOffset}`,
    pieceCidV2: `cidv2-${input.pieceSize}@${input.paddedOffset}`,
    paddedSize: input.pieceSize,
    payloadSize: payloadSize ?? input.payloadSize,
  });
}

/** Completes requested AddPieces until none is outstanding. */
function finishAll(h: SectorHarness): void {
  for (let i = 0; i < 1000 && h.context().taskId !== undefined; i++) finish(h);
}

/** A harness whose computeCommD records its inputs and answers at once. */
function withCommD(input: Parameters<typeof sectorHarness>[0]) {
  const commDCalls: CommDInput[] = [];
  const h = sectorHarness(input, {
    auto: {
      computeCommD: (i: CommDInput) => {
        commDCalls.push(i);
        return `commd-of-${i.pieces.length}`;
      },
    },
  });
  return { h, commDCalls };
}

/** A sector whose first deal piece (128 bytes at 0) is recorded and confirmed. */
function bornSector(): SectorHarness {
  const h = sectorHarness(base);
  h.send(req('r0', 128));
  finish(h);
  return h;
}

const kinds = (h: SectorHarness, i: number) => h.saves[i]?.log.map((l) => l.kind);

test('a new sector waits for deals and writes no record until its first piece is recorded', (t) => {
  const h = sectorHarness(base);
  t.is(h.value(), 'WaitDeals');
  // new machine: nothing durable exists before the first piece, so no empty WaitDeals record is written
  t.is(h.saves.length, 0);
  t.like(h.of('scheduler.sector.changed').at(-1)?.summary, { number: 7, state: 'WaitDeals', reservedEnd: 0, accepting: true, sectorSize: 2048 });
  h.send(req('r1', 128));
  t.is(h.saves.length, 0, 'accepting a piece writes nothing either');
  const callId = finish(h);
  t.like(h.saves[0]?.record, {
    v: 2,
    miner: 1000,
    number: 7,
    proofType: P2K,
    state: 'AddPiece',
    packingRequested: false,
    counters: { preCommit2Fails: 0, invalidProofs: 0, retries: 0 },
  });
  t.is(h.saves[0]?.record.pieces.length, 1, 'the first record written holds the first piece');
  t.deepEqual(kinds(h, 0), ['event;sealing.SectorAddPiece', 'event;sealing.SectorPieceAdded'], 'with the events that led to it');
  t.deepEqual(h.saves[0]?.applied, [callId]);
  t.is(h.lastSave()?.record.state, 'WaitDeals');
  h.stop();
});

test('a piece that fits moves the sector to AddPiece, which asks for one AddPiece task at offset 0', (t) => {
  const h = sectorHarness(base);
  h.send(req('r1', 512, 300));
  t.is(h.value() as string, 'AddPiece');
  t.is(h.state(), 'AddPiece');
  // new machine: a new sector's AddPiece is not written (nothing durable exists before its first piece)
  t.is(h.saves.length, 0);
  t.is(h.requests().length, 1);
  t.deepEqual(h.lastTask(), {
    type: 'AP',
    sector: { miner: 1000, number: 7 },
    proofType: P2K,
    priority: 1024,
    input: { paddedOffset: 0, pieceSize: 512, payloadSize: 300, source: { type: 'request', requestId: 'r1' } },
  });
  t.is(h.context().taskId, h.lastRequest().taskId);
  h.stop();
});

test('the finished piece is committed, persisted before the reply, and the sector returns to WaitDeals', (t) => {
  const h = sectorHarness(base);
  h.send(req('r1', 512, 300));
  const savesBefore = h.saves.length;
  const callId = finish(h);
  t.is(h.value(), 'WaitDeals');
  t.deepEqual(h.context().pieces, [
    { pieceCid: 'cid-512@0', pieceCidV2: 'cidv2-512@0', paddedOffset: 0, paddedSize: 512, payloadSize: 300, filler: false },
  ]);
  const added = h.of('scheduler.piece.added');
  t.is(added.length, 1);
  t.like(added[0], { requestId: 'r1', sector: 7, piece: { paddedOffset: 0, pieceCid: 'cid-512@0' } });
  t.true(h.saves.length > savesBefore);
  t.is(h.saves[savesBefore]?.record.pieces.length, 1, 'the write with the piece comes first');
  t.true(h.saves[savesBefore]?.applied.includes(callId), 'and marks the AddPiece call returned');
  t.is(h.lastSave()?.record.state, 'WaitDeals');
  h.stop();
});

test('alignment padding: zero pieces fill up to the next multiple of the piece size, smallest first', (t) => {
  const h = sectorHarness(base);
  h.send(req('r1', 128));
  finish(h);
  h.send(req('r2', 1024, 1000));
  const tasks = () => apTasks(h).slice(1);
  finishAll(h);
  t.deepEqual(
    tasks().map((x) => [x.input.paddedOffset, x.input.pieceSize, x.input.source.type]),
    [
      [128, 128, 'zeros'],
      [256, 256, 'zeros'],
      [512, 512, 'zeros'],
      [1024, 1024, 'request'],
    ],
  );
  t.deepEqual(
    h.context().pieces.map((p) => [p.paddedOffset, p.paddedSize, p.filler, p.payloadSize]),
    [
      [0, 128, false, 127],
      [128, 128, true, 0],
      [256, 256, true, 0],
      [512, 512, true, 0],
      [1024, 1024, false, 1000],
    ],
  );
  t.like(h.of('scheduler.piece.added').at(-1), { requestId: 'r2', piece: { paddedOffset: 1024 } });
  h.stop();
});

test('a piece that does not fit is turned down with PIECE_DOES_NOT_FIT and the sector stays open', (t) => {
  const h = sectorHarness(base);
  h.send(req('r1', 1024));
  finish(h);
  h.send(req('r2', 2048));
  t.is(h.value(), 'WaitDeals');
  const failed = h.of('scheduler.piece.failed');
  t.is(failed.length, 1);
  t.like(failed[0], { requestId: 'r2', sector: 7, error: { code: 'PIECE_DOES_NOT_FIT' } });
  t.regex(failed[0]?.error.message ?? '', /2048 padded bytes does not fit in sector 7: 1024 padded bytes left/);
  h.stop();
});

test('pieces arriving during AddPiece queue up and are added in order', (t) => {
  const h = sectorHarness(base);
  h.send(req('r1', 256));
  h.send(req('r2', 128));
  h.send(req('r3', 512));
  t.is(h.value() as string, 'AddPiece');
  t.is(h.context().queue.length, 2);
  t.is(h.of('scheduler.sector.changed').at(-1)?.summary.reservedEnd, 1024, 'the summary counts queued pieces with their padding');
  finishAll(h);
  t.is(h.value(), 'WaitDeals');
  t.deepEqual(
    h.of('scheduler.piece.added').map((e) => [e.requestId, e.piece.paddedOffset]),
    [
      ['r1', 0],
      ['r2', 256],
      ['r3', 512],
    ],
  );
  h.stop();
});

test('a piece that would not fit behind the queue is turned down during AddPiece', (t) => {
  const h = sectorHarness(base);
  h.send(req('r1', 1024));
  h.send(req('r2', 1024));
  h.send(req('r3', 128));
  t.like(h.of('scheduler.piece.failed')[0], { requestId: 'r3', error: { code: 'PIECE_DOES_NOT_FIT' } });
  h.stop();
});

test('an AddPiece failure not caused by the input moves the sector to AddPieceFailed with the error as data', (t) => {
  const corrupt = { code: 'PARTIAL_FILE_CORRUPT' as const, message: 'bad trailer' };
  const h = sectorHarness(base);
  h.send(req('r1', 256));
  h.send(req('r2', 256));
  h.send({ type: 'sector.task.failed', taskId: h.lastRequest().taskId, callId: 'ap-1', error: corrupt });
  t.is(h.value(), 'AddPieceFailed');
  t.deepEqual(h.context().error, corrupt);
  // new machine: a new sector holds nothing durable, so even its AddPieceFailed writes no record
  t.is(h.saves.length, 0);
  const failed = h.of('scheduler.piece.failed');
  t.deepEqual(
    failed.map((e) => [e.requestId, e.error.code]),
    [
      ['r1', 'PARTIAL_FILE_CORRUPT'],
      ['r2', 'SECTOR_STATE_INVALID'],
    ],
  );
  t.is(h.ref()?.getSnapshot().status, 'active', 'a failure is state, not an actor error');
  h.send(req('r3', 128));
  t.like(h.of('scheduler.piece.failed').at(-1), { requestId: 'r3', error: { code: 'SECTOR_STATE_INVALID' } });
  h.stop();
  // a sector holding a recorded piece persists the failure as data, with its confirmed pieces
  const g = bornSector();
  const confirmed = g.context().pieces;
  g.send(req('r1', 128));
  g.send({ type: 'sector.task.failed', taskId: g.lastRequest().taskId, callId: 'ap-2', error: corrupt });
  t.is(g.value(), 'AddPieceFailed');
  t.like(g.lastSave()?.record, { state: 'AddPieceFailed', error: corrupt });
  t.deepEqual(g.lastSave()?.record.pieces, confirmed);
  t.true(g.lastSave()?.applied.includes('ap-2'), 'the failed call is returned with the record');
  t.true(g.lastSave()?.log.some((l) => l.kind === 'event;sealing.SectorAddPieceFailed'));
  g.stop();
});

test('a failure of the client input drops the piece and leaves the sector open', (t) => {
  const codes: ErrorCode[] = ['ABORTED', 'EMPTY_PAYLOAD', 'PAYLOAD_TOO_SMALL', 'PAYLOAD_TOO_LARGE', 'CAR_INVALID', 'FILE_UNREADABLE', 'UPLOAD_STALLED'];
  for (const code of codes) {
    const h = bornSector();
    const confirmed = h.context().pieces;
    h.send(req('r1', 128));
    const callId = h.fail(code, 'client side');
    t.is(h.value(), 'WaitDeals', code);
    t.deepEqual(h.context().pieces, confirmed);
    t.is(h.context().error, undefined);
    t.like(h.of('scheduler.piece.failed').at(-1), { requestId: 'r1', error: { code } });
    t.true(h.saves.some((s) => s.applied.includes(callId)), `${code}: the failed call is returned`);
    h.stop();
    // new machine: a new sector whose first piece fails for the piece's own reasons is discarded (a refused add creates no sector)
    const n = sectorHarness(base);
    n.send(req('r1', 512));
    n.fail(code, 'client side');
    t.deepEqual(n.of('scheduler.sector.discard'), [{ type: 'scheduler.sector.discard', number: 7 }], code);
    t.like(n.of('scheduler.piece.failed').at(-1), { requestId: 'r1', error: { code } });
    t.is(n.saves.length, 0);
    n.stop();
  }
});

test('a padding zero piece that fails is a sector failure even with an input-like code', (t) => {
  const h = sectorHarness(base);
  h.send(req('r1', 128));
  finish(h);
  h.send(req('r2', 512));
  t.is(lastAp(h).input.source.type, 'zeros');
  h.fail('PAYLOAD_TOO_SMALL', 'odd');
  t.is(h.value(), 'AddPieceFailed');
  h.stop();
});

test('cancelling a queued request answers ABORTED and frees its space', (t) => {
  const h = sectorHarness(base);
  h.send(req('r1', 256));
  h.send(req('r2', 1024));
  h.send({ type: 'sector.request.cancel', requestId: 'r2' });
  t.is(h.context().queue.length, 0);
  t.like(h.of('scheduler.piece.failed').at(-1), { requestId: 'r2', error: { code: 'ABORTED' } });
  t.is(h.of('scheduler.sector.changed').at(-1)?.summary.reservedEnd, 256);
  h.stop();
});

test('cancelling during alignment padding keeps the padding written so far and drops the piece', (t) => {
  const h = sectorHarness(base);
  h.send(req('r1', 128));
  finish(h);
  h.send(req('r2', 1024));
  h.send({ type: 'sector.request.cancel', requestId: 'r2' });
  finish(h); // the 128-byte padding piece that was in flight
  t.is(h.value(), 'WaitDeals');
  t.deepEqual(
    h.context().pieces.map((p) => [p.paddedOffset, p.filler]),
    [
      [0, false],
      [128, true],
    ],
  );
  t.like(h.of('scheduler.piece.failed').at(-1), { requestId: 'r2', error: { code: 'ABORTED' } });
  t.is(h.lastSave()?.record.pieces.length, 2);
  h.stop();
});

test('startPacking fills the rest with filler pieces, computes CommD and asks the chain for a ticket in GetTicket', async (t) => {
  const { h, commDCalls } = withCommD(base);
  h.send(req('r1', 128));
  finish(h);
  h.send({ type: 'sector.startPacking' });
  t.deepEqual(h.value(), { Packing: 'filling' });
  t.like(h.lastSave()?.record, { state: 'Packing', packingRequested: true });
  finishAll(h);
  t.deepEqual(
    apTasks(h)
      .slice(1)
      .map((x) => [x.input.paddedOffset, x.input.pieceSize, x.input.source.type]),
    [
      [128, 128, 'zeros'],
      [256, 256, 'zeros'],
      [512, 512, 'zeros'],
      [1024, 1024, 'zeros'],
    ],
  );
  await h.flush();
  t.is(h.state(), 'GetTicket');
  // new machine: GetTicket is not a resting state; it asks the chain (held by the harness) and waits
  t.deepEqual(h.value(), { GetTicket: 'asking' });
  t.deepEqual(h.invocation('chainGetTicket').input, { sector: { miner: 1000, number: 7 } });
  t.is(h.context().commD, 'commd-of-5');
  t.deepEqual(
    commDCalls[0]?.pieces.map((p) => p.paddedSize),
    [128, 128, 256, 512, 1024],
  );
  t.like(h.lastSave()?.record, { state: 'GetTicket', commD: 'commd-of-5' });
  h.send(req('r2', 128));
  t.like(h.of('scheduler.piece.failed').at(-1), { requestId: 'r2', error: { code: 'SECTOR_STATE_INVALID' } });
  const saves = h.saves.length;
  h.send({ type: 'sector.startPacking' });
  t.is(h.saves.length, saves, 'startPacking is ignorable where not expected');
  t.is(h.state(), 'GetTicket');
  h.stop();
});

test('startPacking during AddPiece is remembered and acted on after the piece', async (t) => {
  const h = sectorHarness(base);
  h.send(req('r1', 256));
  h.send({ type: 'sector.startPacking' });
  t.is(h.value() as string, 'AddPiece');
  t.true(h.context().packingRequested);
  // new machine: the new sector writes nothing before its first piece; the request is in the first record
  t.is(h.saves.length, 0);
  h.send(req('r2', 128));
  t.like(h.of('scheduler.piece.failed').at(-1), { requestId: 'r2', error: { code: 'SECTOR_STATE_INVALID' } });
  finish(h);
  t.true(h.saves[0]?.record.packingRequested);
  t.deepEqual(kinds(h, 0), ['event;sealing.SectorAddPiece', 'event;sealing.SectorStartPacking', 'event;sealing.SectorPieceAdded']);
  t.deepEqual(h.value(), { Packing: 'filling' });
  finishAll(h);
  await h.flush();
  t.is(h.state(), 'GetTicket');
  h.stop();
});

test('a sector filled to the last byte starts packing by itself', async (t) => {
  const h = sectorHarness(base);
  h.send(req('r1', 2048));
  finish(h);
  t.deepEqual(h.value(), { Packing: 'committing' }, 'no fillers needed');
  await h.flush();
  t.is(h.state(), 'GetTicket');
  h.stop();
});

test('a failing filler moves the sector to PackingFailed', (t) => {
  const h = bornSector();
  h.send({ type: 'sector.startPacking' });
  h.fail('NO_SPACE', 'disk full');
  t.is(h.value(), 'PackingFailed');
  t.like(h.lastSave()?.record, { state: 'PackingFailed', error: { code: 'NO_SPACE', message: 'disk full' } });
  h.stop();
  // new machine: a new sector with no recorded piece holds nothing durable, so a failing filler discards it
  const n = sectorHarness(base);
  n.send({ type: 'sector.startPacking' });
  n.fail('NO_SPACE', 'disk full');
  t.deepEqual(n.of('scheduler.sector.discard'), [{ type: 'scheduler.sector.discard', number: 7 }]);
  t.is(n.saves.length, 0);
  n.stop();
});

test('a failing CommD computation moves the sector to PackingFailed', async (t) => {
  const h = sectorHarness(base, { auto: { computeCommD: () => Promise.reject(new Error('tree went wrong')) } });
  h.send(req('r1', 2048));
  finish(h);
  await h.flush();
  t.is(h.value(), 'PackingFailed');
  t.like(h.lastSave()?.record.error, { code: 'INTERNAL', message: 'CommD failed: tree went wrong' });
  h.stop();
});

test('a result for a task that is not the current one is ignored', (t) => {
  const h = sectorHarness(base);
  h.send(req('r1', 512));
  const pieces = h.context().pieces.length;
  const up = h.up.length;
  h.send({
    type: 'sector.task.done',
    taskId: 'nope',
    callId: 'stale-1',
    result: { type: 'AP', value: { pieceCid: 'x', pieceCidV2: 'y', paddedSize: 512, payloadSize: 1 } },
  });
  h.send({ type: 'sector.task.failed', taskId: 'nope', callId: 'stale-2', error: { code: 'INTERNAL', message: 'x' } });
  t.is(h.value() as string, 'AddPiece');
  t.is(h.context().pieces.length, pieces);
  t.is(h.up.length, up, 'nothing is reported');
  t.is(h.saves.length, 0);
  h.stop();
});

// ---- restoration from records

test('restores WaitDeals (and Lotus’s Empty) as WaitDeals with its pieces', (t) => {
  for (const state of ['WaitDeals', 'Empty'] as const) {
    const r = record(state);
    const h = sectorHarness({ ...base, record: r });
    t.is(h.value(), 'WaitDeals');
    t.is(h.context().pieces.length, 1);
    // new machine: restoring logs one `restart` entry, written in one save with the record
    t.is(h.saves.length, 1);
    t.deepEqual(kinds(h, 0), ['restart']);
    t.deepEqual(h.saves[0]?.record, { ...r, state: 'WaitDeals' }, state === 'Empty' ? 'Empty is written as WaitDeals' : 'the record is unchanged');
    h.send(req('r1', 128));
    t.is(lastAp(h).input.paddedOffset, 128, 'new pieces go after the restored ones');
    h.stop();
  }
});

test('restores an interrupted AddPiece as WaitDeals without the partial piece', (t) => {
  const h = sectorHarness({ ...base, record: record('AddPiece') });
  t.is(h.value(), 'WaitDeals');
  t.is(h.saves.length, 1);
  t.like(h.lastSave()?.record, { state: 'WaitDeals' });
  t.is(h.lastSave()?.record.pieces.length, 1);
  // new machine: the restart is logged in the same save
  t.deepEqual(kinds(h, 0), ['restart']);
  t.is(h.requests().length, 0, 'nothing is re-run: the client of the interrupted piece is gone');
  h.stop();
});

test('restores an interrupted AddPiece with packing requested straight into Packing', (t) => {
  const h = sectorHarness({ ...base, record: record('AddPiece', { packingRequested: true }) });
  t.deepEqual(h.value(), { Packing: 'filling' });
  h.stop();
});

test('restores Packing by re-planning only the fillers still missing', (t) => {
  const pieces = [...record('Packing').pieces, { pieceCid: 'z', paddedOffset: 128, paddedSize: 128, payloadSize: 0, filler: true }];
  const h = sectorHarness({ ...base, record: record('Packing', { pieces, packingRequested: true }) });
  t.deepEqual(h.value(), { Packing: 'filling' });
  t.deepEqual(
    apTasks(h).map((x) => [x.input.paddedOffset, x.input.pieceSize]),
    [[256, 256]],
    'one task at a time, starting where the record ends',
  );
  finishAll(h);
  t.deepEqual(
    h.context().pieces.map((p) => p.paddedOffset),
    [0, 128, 256, 512, 1024],
  );
  h.stop();
});

test('restores GetTicket, AddPieceFailed and PackingFailed as they were, re-running no task and changing no record', (t) => {
  const cases = [
    record('GetTicket', { commD: 'baga-commd', packingRequested: true }),
    record('AddPieceFailed', { error: { code: 'PARTIAL_FILE_CORRUPT', message: 'bad' }, counters: { preCommit2Fails: 0, invalidProofs: 0, retries: 1 } }),
    record('PackingFailed', { error: { code: 'NO_SPACE', message: 'full' }, packingRequested: true }),
  ];
  for (const r of cases) {
    const { h, commDCalls } = withCommD({ ...base, record: r });
    t.is(h.state(), r.state);
    // new machine: restoring logs one `restart` entry, so the one save is the unchanged record with it
    t.is(h.saves.length, 1, `${r.state}: no entry write replayed`);
    t.deepEqual(kinds(h, 0), ['restart']);
    t.deepEqual(h.saves[0]?.record, r, `${r.state}: the record is unchanged`);
    t.is(h.requests().length, 0, `${r.state}: no task replayed`);
    t.is(commDCalls.length, 0, `${r.state}: CommD not recomputed`);
    t.deepEqual(h.context().error, r.error);
    t.is(h.context().commD, r.commD);
    // new machine: GetTicket is not a resting state; it asks the chain for the ticket again
    const asking = r.state === 'GetTicket';
    t.deepEqual(
      h.invocations.map((i) => i.src),
      asking ? ['chainGetTicket'] : [],
      `${r.state}: only GetTicket invokes anything`,
    );
    t.is(Object.keys(h.ref()!.getSnapshot().children).length, asking ? 1 : 0, `${r.state}: finished children are not re-registered`);
    h.stop();
  }
});

test('a restored sector still reaches the index through the system and reports to its parent', (t) => {
  const h = sectorHarness({ ...base, record: record('WaitDeals') });
  t.is(h.of('scheduler.sector.changed').length, 1);
  h.send(req('r1', 128));
  t.like(h.lastSave()?.record, { state: 'AddPiece', number: 7 });
  t.is(h.ref()!.system.get('index') !== undefined, true);
  h.stop();
});

test('the persisted record holds JSON-safe data only and round-trips through JSON', (t) => {
  const h = sectorHarness(base);
  h.send(req('r1', 128));
  finish(h);
  h.send({ type: 'sector.task.failed', taskId: 'x', error: { code: 'INTERNAL', message: 'ignored' } });
  t.true(h.saves.length > 0);
  for (const s of h.saves) t.deepEqual(JSON.parse(JSON.stringify(s)), s);
  h.stop();
});

// ---- the reply follows the durable save

test('a deal piece is reported added only once the index confirmed the record holding it', (t) => {
  const h = sectorHarness(base, { holdAnswers: true });
  h.send(req('r1', 512, 300));
  finish(h);
  t.is(h.value() as string, 'AddPiece', 'still adding while the record is not committed');
  t.is(h.of('scheduler.piece.added').length, 0);
  t.is(h.lastSave()?.record.pieces.length, 1, 'the record holding the piece was sent');
  t.is(h.context().persisted, undefined, 'nothing confirmed yet');
  h.answerSaves();
  t.is(h.value(), 'WaitDeals');
  t.like(h.of('scheduler.piece.added')[0], { requestId: 'r1', piece: { paddedOffset: 0 } });
  t.is(h.context().persisted?.pieces.length, 1);
  h.stop();
});

test('a failed save of the record holding a deal piece fails the request with the save error and rolls the pieces back', (t) => {
  const full = { code: 'INTERNAL' as const, message: 'disk full' };
  let failures = 0; // the disk fills up once, for the write of r2's piece
  const h = sectorHarness(base, {
    failSave: (r) => (failures === 0 && r.pieces.some((p) => p.pieceCid === 'cid-512@512') && ++failures ? full : undefined),
  });
  h.send(req('r1', 256));
  finish(h);
  h.send(req('r2', 512, 400));
  finishAll(h); // 256 bytes of padding at 256, then the deal piece at 512
  t.is(h.value(), 'WaitDeals', 'the sector stays open: its data is not at fault');
  t.is(h.of('scheduler.piece.added').length, 1, 'only r1 was added');
  const failed = h.of('scheduler.piece.failed').at(-1);
  t.like(failed, { requestId: 'r2', sector: 7, error: { code: 'INTERNAL' } });
  t.regex(failed?.error.message ?? '', /cid-512@512 was written to sector 7 but its sector record could not be saved.*disk full/);
  t.deepEqual(
    h.context().pieces.map((p) => [p.paddedOffset, p.paddedSize, p.filler]),
    [
      [0, 256, false],
      [256, 256, true],
    ],
    'back to the last confirmed record: the padding was saved, the deal piece was not',
  );
  t.deepEqual(h.context().pieces, h.lastSave()?.record.pieces, 'memory equals the last durable record');
  t.like(h.lastSave()?.record, { state: 'WaitDeals' });
  t.is(h.context().error, undefined);
  t.is(h.of('scheduler.sector.changed').at(-1)?.summary.reservedEnd, 512, 'the freed space is offered again');
  // the next piece goes where the lost one was, and the lost one never comes back
  h.send(req('r3', 512, 100));
  t.is(lastAp(h).input.paddedOffset, 512);
  finish(h, 100);
  t.like(h.of('scheduler.piece.added').at(-1), { requestId: 'r3', piece: { paddedOffset: 512, payloadSize: 100 } });
  t.deepEqual(
    h.lastSave()?.record.pieces.map((p) => [p.paddedOffset, p.payloadSize]),
    [
      [0, 254],
      [256, 0],
      [512, 100],
    ],
  );
  t.deepEqual(h.context().pieces, h.lastSave()?.record.pieces);
  h.stop();
});

test('a failed save leaves no piece even when nothing was confirmed before it', (t) => {
  const h = sectorHarness(base, { failSave: (r) => (r.pieces.length > 0 ? { code: 'INTERNAL', message: 'readonly' } : undefined) });
  h.send(req('r1', 128));
  finish(h);
  t.is(h.value(), 'WaitDeals');
  t.deepEqual(h.context().pieces, []);
  t.like(h.of('scheduler.piece.failed').at(-1), { requestId: 'r1', error: { code: 'INTERNAL' } });
  // new machine: back to holding nothing durable, the sector writes no empty record
  t.is(h.saves.length, 0);
  t.is(h.failedSaves.length, 1);
  h.stop();
});
