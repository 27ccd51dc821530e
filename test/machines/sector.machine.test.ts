import test from 'ava';
import type { SectorRecordDraft, SectorStateName } from '../../src/db/sector-store.js';
import { sectorHarness } from './sector-harness.js';

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

test('a new sector waits for deals and persists an empty WaitDeals record', (t) => {
  const h = sectorHarness(base);
  t.is(h.value(), 'WaitDeals');
  t.is(h.saves.length, 1);
  t.like(h.lastSave(), {
    v: 2,
    miner: 1000,
    number: 7,
    proofType: P2K,
    state: 'WaitDeals',
    pieces: [],
    packingRequested: false,
    counters: { preCommit2Fails: 0, invalidProofs: 0, retries: 0 },
  });
  t.like(h.of('scheduler.sector.changed').at(-1)?.summary, { number: 7, state: 'WaitDeals', reservedEnd: 0, accepting: true, sectorSize: 2048 });
  h.stop();
});

test('a piece that fits moves the sector to AddPiece, which asks for one AddPiece task at offset 0', (t) => {
  const h = sectorHarness(base);
  h.send(req('r1', 512, 300));
  t.is(h.value(), 'AddPiece');
  t.is(h.lastSave()?.state, 'AddPiece');
  t.like(h.lastTask(), {
    kind: 'addPiece',
    sector: { miner: 1000, number: 7 },
    paddedOffset: 0,
    pieceSize: 512,
    payloadSize: 300,
    source: { type: 'request', requestId: 'r1' },
  });
  h.stop();
});

test('the finished piece is committed, persisted before the reply, and the sector returns to WaitDeals', (t) => {
  const h = sectorHarness(base);
  h.send(req('r1', 512, 300));
  const savesBefore = h.saves.length;
  h.finish();
  t.is(h.value(), 'WaitDeals');
  t.deepEqual(h.context().pieces, [
    { pieceCid: 'cid-512@0', pieceCidV2: 'cidv2-512@0', paddedOffset: 0, paddedSize: 512, payloadSize: 300, filler: false },
  ]);
  const added = h.of('scheduler.piece.added');
  t.is(added.length, 1);
  t.like(added[0], { requestId: 'r1', sector: 7, piece: { paddedOffset: 0, pieceCid: 'cid-512@0' } });
  t.true(h.saves.length > savesBefore);
  t.is(h.saves[savesBefore]?.pieces.length, 1, 'the write with the piece comes first');
  t.is(h.lastSave()?.state, 'WaitDeals');
  h.stop();
});

test('alignment padding: zero pieces fill up to the next multiple of the piece size, smallest first', (t) => {
  const h = sectorHarness(base);
  h.send(req('r1', 128));
  h.finish();
  h.send(req('r2', 1024, 1000));
  const tasks = () => h.tasks().slice(1);
  h.finishAll();
  t.deepEqual(
    tasks().map((x) => [x.paddedOffset, x.pieceSize, x.source.type]),
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
  h.finish();
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
  t.is(h.value(), 'AddPiece');
  t.is(h.context().queue.length, 2);
  t.is(h.of('scheduler.sector.changed').at(-1)?.summary.reservedEnd, 1024, 'the summary counts queued pieces with their padding');
  h.finishAll();
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
  const h = sectorHarness(base);
  h.send(req('r1', 256));
  h.send(req('r2', 256));
  h.send({ type: 'sector.task.failed', taskId: h.lastTask().id, error: { code: 'PARTIAL_FILE_CORRUPT', message: 'bad trailer' } });
  t.is(h.value(), 'AddPieceFailed');
  t.deepEqual(h.context().error, { code: 'PARTIAL_FILE_CORRUPT', message: 'bad trailer' });
  t.like(h.lastSave(), { state: 'AddPieceFailed', error: { code: 'PARTIAL_FILE_CORRUPT', message: 'bad trailer' }, pieces: [] });
  const failed = h.of('scheduler.piece.failed');
  t.deepEqual(
    failed.map((e) => [e.requestId, e.error.code]),
    [
      ['r1', 'PARTIAL_FILE_CORRUPT'],
      ['r2', 'SECTOR_STATE_INVALID'],
    ],
  );
  t.is(h.snapshot().status, 'active', 'a failure is state, not an actor error');
  h.send(req('r3', 128));
  t.like(h.of('scheduler.piece.failed').at(-1), { requestId: 'r3', error: { code: 'SECTOR_STATE_INVALID' } });
  h.stop();
});

test('a failure of the client input drops the piece and leaves the sector open', (t) => {
  for (const code of ['ABORTED', 'PAYLOAD_TOO_SMALL', 'PAYLOAD_TOO_LARGE', 'FILE_UNREADABLE'] as const) {
    const h = sectorHarness(base);
    h.send(req('r1', 512));
    h.send({ type: 'sector.task.failed', taskId: h.lastTask().id, error: { code, message: 'client side' } });
    t.is(h.value(), 'WaitDeals', code);
    t.deepEqual(h.context().pieces, []);
    t.is(h.context().error, undefined);
    t.like(h.of('scheduler.piece.failed').at(-1), { requestId: 'r1', error: { code } });
    h.stop();
  }
});

test('a padding zero piece that fails is a sector failure even with an input-like code', (t) => {
  const h = sectorHarness(base);
  h.send(req('r1', 128));
  h.finish();
  h.send(req('r2', 512));
  t.is(h.lastTask().source.type, 'zeros');
  h.send({ type: 'sector.task.failed', taskId: h.lastTask().id, error: { code: 'PAYLOAD_TOO_SMALL', message: 'odd' } });
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
  h.finish();
  h.send(req('r2', 1024));
  h.send({ type: 'sector.request.cancel', requestId: 'r2' });
  h.finish(); // the 128-byte padding piece that was in flight
  t.is(h.value(), 'WaitDeals');
  t.deepEqual(
    h.context().pieces.map((p) => [p.paddedOffset, p.filler]),
    [
      [0, false],
      [128, true],
    ],
  );
  t.like(h.of('scheduler.piece.failed').at(-1), { requestId: 'r2', error: { code: 'ABORTED' } });
  t.is(h.lastSave()?.pieces.length, 2);
  h.stop();
});

test('startPacking fills the rest with filler pieces, computes CommD and rests in GetTicket', async (t) => {
  const h = sectorHarness(base);
  h.send(req('r1', 128));
  h.finish();
  h.send({ type: 'sector.startPacking' });
  t.deepEqual(h.value(), { Packing: 'filling' });
  t.like(h.lastSave(), { state: 'Packing', packingRequested: true });
  h.finishAll();
  t.deepEqual(
    h.tasks().slice(1).map((x) => [x.paddedOffset, x.pieceSize, x.source.type]),
    [
      [128, 128, 'zeros'],
      [256, 256, 'zeros'],
      [512, 512, 'zeros'],
      [1024, 1024, 'zeros'],
    ],
  );
  await Promise.resolve();
  await new Promise((r) => setImmediate(r));
  t.is(h.value(), 'GetTicket');
  t.is(h.context().commD, 'commd-of-5');
  t.deepEqual(h.commDCalls[0]?.pieces.map((p) => p.paddedSize), [128, 128, 256, 512, 1024]);
  t.like(h.lastSave(), { state: 'GetTicket', commD: 'commd-of-5' });
  h.send(req('r2', 128));
  t.like(h.of('scheduler.piece.failed').at(-1), { requestId: 'r2', error: { code: 'SECTOR_STATE_INVALID' } });
  const saves = h.saves.length;
  h.send({ type: 'sector.startPacking' });
  t.is(h.saves.length, saves, 'startPacking is ignorable where not expected');
  t.is(h.value(), 'GetTicket');
  h.stop();
});

test('startPacking during AddPiece is remembered and acted on after the piece', async (t) => {
  const h = sectorHarness(base);
  h.send(req('r1', 256));
  h.send({ type: 'sector.startPacking' });
  t.is(h.value(), 'AddPiece');
  t.true(h.lastSave()?.packingRequested);
  h.send(req('r2', 128));
  t.like(h.of('scheduler.piece.failed').at(-1), { requestId: 'r2', error: { code: 'SECTOR_STATE_INVALID' } });
  h.finish();
  t.deepEqual(h.value(), { Packing: 'filling' });
  h.finishAll();
  await new Promise((r) => setImmediate(r));
  t.is(h.value(), 'GetTicket');
  h.stop();
});

test('a sector filled to the last byte starts packing by itself', async (t) => {
  const h = sectorHarness(base);
  h.send(req('r1', 2048));
  h.finish();
  t.deepEqual(h.value(), { Packing: 'committing' }, 'no fillers needed');
  await new Promise((r) => setImmediate(r));
  t.is(h.value(), 'GetTicket');
  h.stop();
});

test('a failing filler moves the sector to PackingFailed', (t) => {
  const h = sectorHarness(base);
  h.send({ type: 'sector.startPacking' });
  h.send({ type: 'sector.task.failed', taskId: h.lastTask().id, error: { code: 'NO_SPACE', message: 'disk full' } });
  t.is(h.value(), 'PackingFailed');
  t.like(h.lastSave(), { state: 'PackingFailed', error: { code: 'NO_SPACE', message: 'disk full' } });
  h.stop();
});

test('a failing CommD computation moves the sector to PackingFailed', async (t) => {
  const h = sectorHarness(base, {
    commD: async () => {
      throw new Error('tree went wrong');
    },
  });
  h.send(req('r1', 2048));
  h.finish();
  await new Promise((r) => setImmediate(r));
  t.is(h.value(), 'PackingFailed');
  t.like(h.lastSave()?.error, { code: 'INTERNAL', message: 'CommD failed: tree went wrong' });
  h.stop();
});

test('a result for a task that is not the current one is ignored', (t) => {
  const h = sectorHarness(base);
  h.send(req('r1', 512));
  const pieces = h.context().pieces.length;
  h.send({ type: 'sector.task.done', taskId: 'nope', output: { pieceCid: 'x', pieceCidV2: 'y', paddedSize: 512, payloadSize: 1 } });
  h.send({ type: 'sector.task.failed', taskId: 'nope', error: { code: 'INTERNAL', message: 'x' } });
  t.is(h.value(), 'AddPiece');
  t.is(h.context().pieces.length, pieces);
  h.stop();
});

// ---- restoration from records

test('restores WaitDeals (and Lotus’s Empty) as WaitDeals with its pieces', (t) => {
  for (const state of ['WaitDeals', 'Empty'] as const) {
    const h = sectorHarness({ ...base, record: record(state) });
    t.is(h.value(), 'WaitDeals');
    t.is(h.context().pieces.length, 1);
    t.is(h.saves.length, state === 'Empty' ? 1 : 0, 'an unchanged record is not rewritten');
    h.send(req('r1', 128));
    t.is(h.lastTask().paddedOffset, 128, 'new pieces go after the restored ones');
    h.stop();
  }
});

test('restores an interrupted AddPiece as WaitDeals without the partial piece', (t) => {
  const h = sectorHarness({ ...base, record: record('AddPiece') });
  t.is(h.value(), 'WaitDeals');
  t.is(h.saves.length, 1);
  t.like(h.lastSave(), { state: 'WaitDeals' });
  t.is(h.lastSave()?.pieces.length, 1);
  t.is(h.tasks().length, 0, 'nothing is re-run: the client of the interrupted piece is gone');
  h.stop();
});

test('restores an interrupted AddPiece with packing requested straight into Packing', (t) => {
  const h = sectorHarness({ ...base, record: record('AddPiece', { packingRequested: true }) });
  t.deepEqual(h.value(), { Packing: 'filling' });
  h.stop();
});

test('restores Packing by re-planning only the fillers still missing', (t) => {
  const pieces = [
    ...record('Packing').pieces,
    { pieceCid: 'z', paddedOffset: 128, paddedSize: 128, payloadSize: 0, filler: true },
  ];
  const h = sectorHarness({ ...base, record: record('Packing', { pieces, packingRequested: true }) });
  t.deepEqual(h.value(), { Packing: 'filling' });
  t.deepEqual(
    h.tasks().map((x) => [x.paddedOffset, x.pieceSize]),
    [[256, 256]],
    'one task at a time, starting where the record ends',
  );
  h.finishAll();
  t.deepEqual(
    h.context().pieces.map((p) => p.paddedOffset),
    [0, 128, 256, 512, 1024],
  );
  h.stop();
});

test('restores GetTicket, AddPieceFailed and PackingFailed as they were, running and writing nothing', (t) => {
  const cases = [
    record('GetTicket', { commD: 'baga-commd', packingRequested: true }),
    record('AddPieceFailed', { error: { code: 'PARTIAL_FILE_CORRUPT', message: 'bad' } }),
    record('PackingFailed', { error: { code: 'NO_SPACE', message: 'full' }, packingRequested: true }),
  ];
  for (const r of cases) {
    const h = sectorHarness({ ...base, record: r });
    t.is(h.value() as string, r.state);
    t.is(h.saves.length, 0, `${r.state}: no entry write replayed`);
    t.is(h.tasks().length, 0, `${r.state}: no task replayed`);
    t.is(h.commDCalls.length, 0, `${r.state}: CommD not recomputed`);
    t.deepEqual(h.context().error, r.error);
    t.is(h.context().commD, r.commD);
    t.deepEqual(Object.keys(h.snapshot().children), [], `${r.state}: finished children are not re-registered`);
    h.stop();
  }
});

test('a restored sector still reaches the index through the system and reports to its parent', (t) => {
  const h = sectorHarness({ ...base, record: record('WaitDeals') });
  t.is(h.of('scheduler.sector.changed').length, 1);
  h.send(req('r1', 128));
  t.like(h.lastSave(), { state: 'AddPiece', number: 7 });
  t.is(h.ref().system.get('index') !== undefined, true);
  h.stop();
});

test('the persisted record holds JSON-safe data only and round-trips through JSON', (t) => {
  const h = sectorHarness(base);
  h.send(req('r1', 128));
  h.finish();
  h.send({ type: 'sector.task.failed', taskId: 'x', error: { code: 'INTERNAL', message: 'ignored' } });
  for (const s of h.saves) t.deepEqual(JSON.parse(JSON.stringify(s)), s);
  h.stop();
});

// ---- the reply follows the durable save

test('a deal piece is reported added only once the index confirmed the record holding it', (t) => {
  const h = sectorHarness(base, { holdAnswers: true });
  h.send(req('r1', 512, 300));
  h.finish();
  t.is(h.value(), 'AddPiece', 'still adding while the record is not committed');
  t.is(h.of('scheduler.piece.added').length, 0);
  t.is(h.lastSave()?.pieces.length, 1, 'the record holding the piece was sent');
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
  h.finish();
  h.send(req('r2', 512, 400));
  h.finishAll(); // 256 bytes of padding at 256, then the deal piece at 512
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
  t.deepEqual(h.context().pieces, h.lastSave()?.pieces, 'memory equals the last durable record');
  t.like(h.lastSave(), { state: 'WaitDeals' });
  t.is(h.context().error, undefined);
  t.is(h.of('scheduler.sector.changed').at(-1)?.summary.reservedEnd, 512, 'the freed space is offered again');
  // the next piece goes where the lost one was, and the lost one never comes back
  h.send(req('r3', 512, 100));
  t.is(h.lastTask().paddedOffset, 512);
  h.finish(h.lastTask(), 100);
  t.like(h.of('scheduler.piece.added').at(-1), { requestId: 'r3', piece: { paddedOffset: 512, payloadSize: 100 } });
  t.deepEqual(
    h.lastSave()?.pieces.map((p) => [p.paddedOffset, p.payloadSize]),
    [
      [0, 254],
      [256, 0],
      [512, 100],
    ],
  );
  t.deepEqual(h.context().pieces, h.lastSave()?.pieces);
  h.stop();
});

test('a failed save leaves no piece even when nothing was confirmed before it', (t) => {
  const h = sectorHarness(base, { failSave: (r) => (r.pieces.length > 0 ? { code: 'INTERNAL', message: 'readonly' } : undefined) });
  h.send(req('r1', 128));
  h.finish();
  t.is(h.value(), 'WaitDeals');
  t.deepEqual(h.context().pieces, []);
  t.like(h.of('scheduler.piece.failed').at(-1), { requestId: 'r1', error: { code: 'INTERNAL' } });
  t.deepEqual(h.lastSave()?.pieces, []);
  t.is(h.failedSaves.length, 1);
  h.stop();
});
