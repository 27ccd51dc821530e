import test from 'ava';
import { createActor, fromCallback, fromPromise } from 'xstate';
import { PartialFileCorruptError } from '../../src/errors.js';
import type { AddPieceOutput, IndexEvent, SchedulerReply, TaskRequest } from '../../machines/protocol.js';
import { type SchedulerInput, schedulerMachine } from '../../machines/scheduler.machine.js';
import { sectorMachine } from '../../machines/sector.machine.js';
import type { SectorRecordDraft } from '../../src/db/sector-store.js';

const P2K = 5; // 2 KiB sectors

interface Running {
  task: TaskRequest;
  signal: AbortSignal;
  resolve(o: AddPieceOutput): void;
  reject(e: unknown): void;
}

function start(input: Partial<SchedulerInput> = {}, opts: { index?: ReturnType<typeof fromCallback<IndexEvent>> } = {}) {
  const saves: SectorRecordDraft[] = [];
  const running: Running[] = [];
  const started: TaskRequest[] = [];
  const replies: SchedulerReply[] = [];
  const machine = schedulerMachine.provide({
    actors: {
      index:
        opts.index ??
        fromCallback<IndexEvent>(({ receive }) => {
          receive((e) => {
            if (e.type !== 'index.call' || e.store !== 'sectors' || e.method !== 'save') return;
            saves.push(e.args[0]);
            // the sector reports a deal piece added only once its record's save is answered
            e.replyTo?.send({ type: 'index.result', requestId: e.requestId, ok: true, value: e.args[0] });
          });
        }),
      sector: sectorMachine.provide({ actors: { computeCommD: fromPromise(async () => 'commd') } }),
      poolTask: fromPromise<AddPieceOutput, TaskRequest>(
        ({ input, signal }) =>
          new Promise((resolve, reject) => {
            started.push(input);
            running.push({ task: input, signal, resolve, reject });
          }),
      ),
    },
  });
  const root = createActor(machine, {
    systemId: 'scheduler',
    input: { miner: 1000, proofType: P2K, maxTasks: 2, records: [], nextNumber: 0, ...input },
  });
  root.on('scheduler.reply', (r) => replies.push(r));
  root.start();
  /** Completes the oldest running task successfully. */
  const complete = async (i = 0) => {
    const r = running.splice(i, 1)[0];
    if (!r) throw new Error('nothing running');
    r.resolve({ pieceCid: `cid-${r.task.id}`, pieceCidV2: `v2-${r.task.id}`, paddedSize: r.task.pieceSize, payloadSize: r.task.payloadSize });
    await tick();
  };
  const fail = async (err: unknown, i = 0) => {
    const r = running.splice(i, 1)[0];
    if (!r) throw new Error('nothing running');
    r.reject(err);
    await tick();
  };
  const addPiece = (requestId: string, pieceSize: number, sector?: number) =>
    root.send({ type: 'scheduler.addPiece', requestId, pieceSize, payloadSize: pieceSize - pieceSize / 128, ...(sector !== undefined ? { sector } : {}) });
  const reply = (id: string) => replies.find((r) => r.requestId === id);
  return { root, saves, running, started, replies, complete, fail, addPiece, reply, ctx: () => root.getSnapshot().context };
}

const tick = () => new Promise((r) => setImmediate(r));

test('places each piece in the lowest-numbered open sector with room, creating sectors as needed', async (t) => {
  const s = start({ nextNumber: 5 });
  s.addPiece('a', 1024);
  s.addPiece('b', 1024);
  s.addPiece('c', 1024);
  t.deepEqual(
    Object.keys(s.root.getSnapshot().children).filter((k) => k.startsWith('sector:')).sort(),
    ['sector:5', 'sector:6'],
  );
  t.deepEqual(
    [s.ctx().requests.a?.sector, s.ctx().requests.b?.sector, s.ctx().requests.c?.sector],
    [5, 5, 6],
  );
  while (s.running.length > 0) await s.complete();
  t.like(s.reply('a'), { ok: true, value: { kind: 'piece.added', sector: 5, piece: { paddedOffset: 0 } } });
  t.like(s.reply('b'), { ok: true, value: { kind: 'piece.added', sector: 5, piece: { paddedOffset: 1024 } } });
  t.like(s.reply('c'), { ok: true, value: { kind: 'piece.added', sector: 6, piece: { paddedOffset: 0 } } });
  t.is(s.ctx().nextNumber, 7);
  s.root.stop();
});

test('admission control: at most maxTasks tasks run at once, the rest wait in arrival order', async (t) => {
  const s = start({ maxTasks: 2 });
  for (const id of ['a', 'b', 'c', 'd']) s.addPiece(id, 2048); // one sector each
  t.is(s.running.length, 2);
  t.is(s.ctx().queue.length, 2);
  t.deepEqual(
    s.started.map((x) => x.sector.number),
    [0, 1],
  );
  await s.complete();
  t.is(s.running.length, 2, 'a freed slot is taken at once');
  t.deepEqual(
    s.started.map((x) => x.sector.number),
    [0, 1, 2],
  );
  while (s.running.length > 0) {
    t.true(Object.keys(s.ctx().running).length <= 2);
    await s.complete();
  }
  t.is(s.started.length, 4);
  t.true(s.replies.every((r) => r.ok));
  s.root.stop();
});

test('an explicit sector is checked before anything is written', (t) => {
  const s = start();
  s.addPiece('a', 1024);
  s.addPiece('unknown', 128, 9);
  s.addPiece('toobig', 2048, 0);
  t.like(s.reply('unknown'), { ok: false, error: { code: 'SECTOR_UNKNOWN', message: 'sector 9 does not exist' } });
  t.like(s.reply('toobig'), { ok: false, error: { code: 'PIECE_DOES_NOT_FIT' } });
  t.is(s.started.length, 1, 'only the first piece reached the pool');
  s.root.stop();
});

test('a sector being packed takes no explicit pieces, and startPacking answers for unknown sectors', async (t) => {
  const s = start();
  s.addPiece('a', 128);
  await s.complete();
  s.root.send({ type: 'scheduler.startPacking', requestId: 'p', sector: 0 });
  t.like(s.reply('p'), { ok: true, value: { kind: 'packing.requested', sector: 0 } });
  s.addPiece('late', 128, 0);
  t.like(s.reply('late'), { ok: false, error: { code: 'SECTOR_STATE_INVALID' } });
  s.addPiece('auto', 128);
  t.is(s.ctx().requests.auto?.sector, 1, 'an auto-placed piece goes to a new sector');
  s.root.send({ type: 'scheduler.startPacking', requestId: 'q', sector: 42 });
  t.like(s.reply('q'), { ok: false, error: { code: 'SECTOR_UNKNOWN' } });
  s.root.stop();
});

test('cancelling a request whose task is still queued answers ABORTED and never runs it', async (t) => {
  const s = start({ maxTasks: 1 });
  s.addPiece('a', 2048);
  s.addPiece('b', 2048);
  t.is(s.ctx().queue.length, 1);
  s.root.send({ type: 'scheduler.request.cancel', requestId: 'b' });
  t.like(s.reply('b'), { ok: false, error: { code: 'ABORTED' } });
  t.is(s.ctx().queue.length, 0);
  await s.complete();
  t.is(s.started.length, 1);
  t.is(s.ctx().sectors[1]?.state, 'WaitDeals', 'the sector of the cancelled piece is still open');
  s.root.stop();
});

test('a failing task is an event: its sector fails, the caller gets the typed error, and the slot is freed', async (t) => {
  const s = start({ maxTasks: 1 });
  s.addPiece('a', 2048);
  s.addPiece('b', 2048);
  await s.fail(new PartialFileCorruptError('trailer is garbage'));
  t.like(s.reply('a'), { ok: false, error: { code: 'PARTIAL_FILE_CORRUPT', message: 'trailer is garbage' } });
  t.is(s.ctx().sectors[0]?.state, 'AddPieceFailed');
  t.like(s.saves.filter((r) => r.number === 0).at(-1), { state: 'AddPieceFailed', error: { code: 'PARTIAL_FILE_CORRUPT' } });
  t.is(s.running.length, 1, 'the queued task started');
  t.is(s.root.getSnapshot().status, 'active');
  s.root.stop();
});

test('stopping the scheduler aborts the signal of every running task', (t) => {
  const s = start();
  s.addPiece('a', 2048);
  s.addPiece('b', 2048);
  const signals = s.running.map((r) => r.signal);
  s.root.stop();
  t.true(signals.length === 2 && signals.every((x) => x.aborted));
});

test('sectors are restored from records at start and placement respects their fill', (t) => {
  const records: SectorRecordDraft[] = [
    {
      v: 2,
      miner: 1000,
      number: 3,
      proofType: P2K,
      state: 'AddPiece',
      pieces: [{ pieceCid: 'x', paddedOffset: 0, paddedSize: 1024, payloadSize: 1000, filler: false }],
      packingRequested: false,
      counters: { preCommit2Fails: 0, invalidProofs: 0, retries: 0 },
    },
    { v: 2, miner: 1000, number: 4, proofType: P2K, state: 'GetTicket', pieces: [], packingRequested: true, commD: 'c', counters: { preCommit2Fails: 0, invalidProofs: 0, retries: 0 } },
  ];
  const s = start({ records, nextNumber: 5 });
  const children = s.root.getSnapshot().children as Record<string, { getSnapshot(): { value: unknown } }>;
  t.is(children['sector:3']?.getSnapshot().value, 'WaitDeals');
  t.is(children['sector:4']?.getSnapshot().value, 'GetTicket');
  t.like(s.saves.at(-1), { number: 3, state: 'WaitDeals' });
  s.addPiece('a', 1024);
  s.addPiece('b', 1024);
  t.is(s.ctx().requests.a?.sector, 3);
  t.like(s.started[0], { sector: { number: 3 }, paddedOffset: 1024 });
  t.is(s.ctx().requests.b?.sector, 5, 'a new sector gets the next number');
  s.root.stop();
});

test('when the index actor fails, commands are refused instead of accepted unpersisted', (t) => {
  const s = start(
    {},
    {
      index: fromCallback<IndexEvent>(() => {
        throw new Error('database is locked');
      }),
    },
  );
  t.deepEqual(s.root.getSnapshot().value, 'indexFailed');
  s.addPiece('a', 128);
  t.like(s.reply('a'), { ok: false, error: { code: 'INTERNAL' } });
  t.regex((s.reply('a') as { error: { message: string } }).error.message, /database is locked/);
  s.root.stop();
});
