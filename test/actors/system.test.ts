import { initStoragePath } from '../../src/storage/storage-config.js';
import { heldChain } from '../helpers/held-chain.js';
import { startTestSystem } from '../helpers/test-system.js';
import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { waitFor } from 'xstate';
import { createInspectionLog } from '../../actors/inspect.js';
import { InspectionHub } from '../../actors/inspection-hub.js';
import type { DaemonSystemHandle, DaemonSystemOptions } from '../../actors/system.js';
import {
  AbortedError,
  PartialFileCorruptError,
  PayloadTooLargeError,
  PayloadTooSmallError,
  PieceDoesNotFitError,
  PieceSizeInvalidError,
  SectorUnknownError,
} from '../../src/errors.js';
import { PartialFile } from '../../src/partial/partial-file.js';
import { commP } from '../../src/piece/commp.js';
import { generateUnsealedCid } from '../../src/piece/unsealed-cid.js';
import { SealerPool } from '../../src/pool/pool.js';
import { sectorFilePath } from '../../src/sector/layout.js';
import { openDatabase } from '../../src/db/database.js';
import { SectorStore } from '../../src/db/sector-store.js';
import { messageLogger } from '../helpers/log-recorder.js';

const P2K = 5; // StackedDrg2KiBV1_1
const MINER = 1000;

interface Ctx {
  dir: string;
  pool: SealerPool;
  systems: DaemonSystemHandle[];
  start(extra?: Partial<DaemonSystemOptions>): Promise<DaemonSystemHandle>;
}
const test = anyTest as TestFn<Ctx>;

// One pool for the file (tests are serial): thread start-up is the slow part, and fewer module
// loads in fresh threads also means fewer chances to race a teammate's rebuild of dist/.
let sharedPool: SealerPool;
test.before(() => {
  sharedPool = new SealerPool({ threads: 2 });
});
test.after.always(async () => {
  await sharedPool.close();
});

test.beforeEach((t) => {
  const dir = mkdtempSync(join(tmpdir(), 'daemon-system-'));
  const pool = sharedPool;
  const systems: DaemonSystemHandle[] = [];
  t.context = {
    dir,
    pool,
    systems,
    async start(extra = {}) {
      const d = await startTestSystem(t, dir, {
        pool,
        sealProof: P2K,
        // deal filling only: packed sectors rest in GetTicket (sealing tests use the local chain)
        chain: () => heldChain(),
        ...extra,
      });
      systems.push(d);
      return d;
    },
  };
});
test.afterEach.always(async (t) => {
  for (const d of t.context.systems) await d.stop();
  rmSync(t.context.dir, { recursive: true, force: true });
});

async function* once(bytes: Uint8Array) {
  yield bytes;
}

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

/** A source that yields its bytes only once `open()` is called. */
/** A source that sends its first byte at once and the rest when opened (an upload in flight). */
function gated(bytes: Uint8Array) {
  let open!: () => void;
  const gate = new Promise<void>((r) => {
    open = r;
  });
  return {
    open,
    source: (async function* () {
      yield bytes.subarray(0, 1);
      await gate;
      yield bytes.subarray(1);
    })(),
  };
}

/** The calls the scheduler has on workers, by sector number. */
function runningSectors(ctx: { calls: Record<string, { phase: string; task: { sector: { number: number } } }> }): number[] {
  return Object.values(ctx.calls)
    .filter((c) => c.phase === 'running')
    .map((c) => c.task.sector.number)
    .sort();
}

test.serial('adds pieces with their alignment padding, with commP and CIDs of the data, and reads them back', async (t) => {
  const d = await t.context.start();
  const a = randomBytes(100);
  const b = randomBytes(600);
  const pa = await d.sectors.addPiece({ source: once(a), payloadSize: a.length });
  const progress: { phase: string; done: number; total: number }[] = [];
  const pb = await d.sectors.addPiece({ source: once(b), payloadSize: b.length, onProgress: (p) => progress.push(p) });
  t.true(progress.length > 0, 'progress crosses from the pool thread');
  t.true(progress.every((p) => p.phase === 'addPiece' && p.done <= 600));
  const ca = await commP(a);
  const cb = await commP(b);
  t.like(pa, { sector: 0, offset: 0, paddedOffset: 0, paddedSize: 128, payloadSize: 100, pieceCid: ca.pieceCid.toString() });
  t.like(pb, { sector: 0, paddedOffset: 1024, offset: 1016, paddedSize: 1024, payloadSize: 600, pieceCid: cb.pieceCid.toString() });
  t.is(pb.pieceCidV2, cb.pieceCidV2.toString());
  t.deepEqual(await collect(await d.sectors.readPiece({ sector: 0, offset: pa.offset, size: a.length })), a);
  t.deepEqual(await collect(await d.sectors.readPiece({ sector: 0, offset: pb.offset, size: b.length })), b);
  const status = await d.sectors.sectorStatus(0);
  t.deepEqual(
    status.pieces.map((p) => [p.paddedOffset, p.paddedSize, p.filler]),
    [
      [0, 128, false],
      [128, 128, true],
      [256, 256, true],
      [512, 512, true],
      [1024, 1024, false],
    ],
  );
  // 2 KiB are now full: the sector packed itself and knows its CommD
  const packed = await waitForState(d, 0, 'GetTicket');
  t.is(packed.commD, generateUnsealedCid(P2K, packed.pieces).toString());
});

async function waitForState(d: DaemonSystemHandle, sector: number, state: string) {
  for (let i = 0; i < 200; i++) {
    const r = await d.sectors.sectorStatus(sector);
    if (r.state === state) return r;
    await new Promise((res) => setTimeout(res, 10));
  }
  throw new Error(`sector ${sector} never reached ${state}`);
}

test.serial('startPacking fills the rest with fillers and computes CommD over every piece', async (t) => {
  const d = await t.context.start();
  const a = randomBytes(127 * 3);
  await d.sectors.addPiece({ source: once(a), payloadSize: a.length });
  t.is((await d.sectors.sectorStatus(0)).state, 'WaitDeals');
  await d.sectors.startPacking(0);
  const r = await waitForState(d, 0, 'GetTicket');
  t.deepEqual(
    r.pieces.map((p) => [p.paddedOffset, p.paddedSize, p.filler]),
    [
      [0, 512, false],
      [512, 512, true],
      [1024, 1024, true],
    ],
  );
  t.true(r.packingRequested);
  t.is(r.commD, generateUnsealedCid(P2K, r.pieces).toString());
  await t.throwsAsync(d.sectors.addPiece({ source: once(a), payloadSize: a.length, sector: 0 }), { code: 'SECTOR_STATE_INVALID' } as never);
  const auto = await d.sectors.addPiece({ source: once(a), payloadSize: a.length });
  t.is(auto.sector, 1, 'a packed sector takes no more pieces; a new one is opened');
  await t.throwsAsync(d.sectors.startPacking(7), { instanceOf: SectorUnknownError });
});

test.serial('a system starts with an unreadable sector record: it logs it, leaves it alone and serves the readable sectors', async (t) => {
  const dbPath = join(t.context.dir, 'db.sqlite');
  const db = openDatabase(dbPath);
  new SectorStore(db).save({
    v: 2,
    miner: MINER,
    number: 0,
    proofType: P2K,
    state: 'WaitDeals',
    pieces: [],
    packingRequested: false,
    counters: { preCommit2Fails: 0, invalidProofs: 0, retries: 0 },
  });
  const damaged = '{"v":2,"miner":1000,"numb';
  db.prepare('INSERT INTO sectors (miner, number, proof_type, state, record, updated_at, last_log_at) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
    MINER,
    1,
    P2K,
    'PreCommit1',
    damaged,
    1,
    1,
  );
  db.close();
  const lines: string[] = [];
  const d = await t.context.start({ log: messageLogger(lines) });
  t.deepEqual(
    lines.filter((l) => l.includes('not started')),
    ['sector 1 of miner 1000 is not started: its record (state PreCommit1) is unreadable: its JSON does not parse'],
  );
  t.deepEqual(
    (await d.sectors.listSectors()).map((r) => r.number),
    [0],
  );
  t.deepEqual(await d.sectors.unreadable(), [{ miner: MINER, number: 1, state: 'PreCommit1', reason: 'its JSON does not parse' }], 'it is shown as failed with the reason');
  await t.throwsAsync(d.sectors.sectorStatus(1), {
    code: 'SECTOR_RECORD_INVALID',
    message: 'sector record of miner 1000 sector 1 is unreadable: its JSON does not parse',
  } as never);
  const small = randomBytes(100);
  t.like(await d.sectors.addPiece({ source: once(small), payloadSize: small.length }), { sector: 0, paddedOffset: 0 });
  const big = randomBytes(2000);
  t.like(await d.sectors.addPiece({ source: once(big), payloadSize: big.length }), { sector: 2 }, 'a new sector does not take the unreadable one’s number');
  await d.stop();
  const ro = openDatabase(dbPath, { readonly: true });
  try {
    t.is(ro.prepare('SELECT record FROM sectors WHERE number = 1').pluck().get(), damaged, 'the unreadable record is left as it was');
  } finally {
    ro.close();
  }
});

test.serial('a restarted system has the same sectors in the same states with the same pieces', async (t) => {
  let d = await t.context.start();
  const a = randomBytes(2000);
  const b = randomBytes(500);
  const c = randomBytes(300);
  await d.sectors.addPiece({ source: once(a), payloadSize: a.length }); // fills sector 0 → GetTicket
  const pb = await d.sectors.addPiece({ source: once(b), payloadSize: b.length });
  await d.sectors.startPacking(pb.sector);
  await waitForState(d, 0, 'GetTicket');
  await waitForState(d, 1, 'GetTicket');
  const pc = await d.sectors.addPiece({ source: once(c), payloadSize: c.length });
  t.is(pc.sector, 2);
  const before = await d.sectors.listSectors();
  t.deepEqual(
    before.map((r) => [r.number, r.state]),
    [
      [0, 'GetTicket'],
      [1, 'GetTicket'],
      [2, 'WaitDeals'],
    ],
  );
  await d.stop();

  d = await t.context.start();
  const after = await d.sectors.listSectors();
  // each restored sector logs its restart (a write); nothing else of it changes
  const unstamped = (rs: typeof before) => rs.map(({ updatedAt: _u, lastLogAt: _l, ...r }) => r);
  t.deepEqual(unstamped(after), unstamped(before));
  t.deepEqual(await collect(await d.sectors.readPiece({ sector: 2, offset: pc.offset, size: c.length })), c);
  // the restored open sector goes on from where it was
  const more = randomBytes(200);
  const pm = await d.sectors.addPiece({ source: once(more), payloadSize: more.length });
  t.like(pm, { sector: 2, paddedOffset: 512 });
  t.deepEqual(await collect(await d.sectors.readPiece({ sector: 2, offset: pm.offset, size: more.length })), more);
});

test.serial('an AddPiece interrupted by shutdown comes back as WaitDeals and its space is reused', async (t) => {
  let d = await t.context.start();
  const a = randomBytes(100);
  await d.sectors.addPiece({ source: once(a), payloadSize: a.length });
  const g = gated(randomBytes(500));
  const pending = d.sectors.addPiece({ source: g.source, payloadSize: 500 });
  pending.catch(() => {});
  await waitForState(d, 0, 'AddPiece');
  await d.stop();
  await t.throwsAsync(pending, { instanceOf: AbortedError });

  d = await t.context.start();
  const r = await d.sectors.sectorStatus(0);
  t.is(r.state, 'WaitDeals');
  t.is(r.pieces.filter((p) => !p.filler).length, 1, 'the interrupted piece is not counted');
  const b = randomBytes(500);
  const pb = await d.sectors.addPiece({ source: once(b), payloadSize: b.length });
  t.like(pb, { sector: 0, paddedOffset: 512 });
  t.deepEqual(await collect(await d.sectors.readPiece({ sector: 0, offset: pb.offset, size: b.length })), b);
  t.deepEqual(await collect(await d.sectors.readPiece({ sector: 0, offset: 0, size: a.length })), a);
});

test.serial('data written past the recorded pieces by an unrecorded AddPiece is discarded, not fatal', async (t) => {
  const d = await t.context.start();
  const a = randomBytes(100);
  await d.sectors.addPiece({ source: once(a), payloadSize: a.length });
  // as if a padding piece had been written and allocated just before a crash, but never recorded
  const file = sectorFilePath(join(t.context.dir, 'store'), 'unsealed', { miner: MINER, number: 0 });
  const pf = await PartialFile.open(file, 2048);
  await pf.markAllocated(128, 384);
  await pf.close();
  const b = randomBytes(500);
  const pb = await d.sectors.addPiece({ source: once(b), payloadSize: b.length });
  t.like(pb, { sector: 0, paddedOffset: 512 });
  t.is((await d.sectors.sectorStatus(0)).state, 'WaitDeals');
  t.deepEqual(await collect(await d.sectors.readPiece({ sector: 0, offset: pb.offset, size: b.length })), b);
  t.deepEqual(await collect(await d.sectors.readPiece({ sector: 0, offset: 0, size: a.length })), a);
});

test.serial('admission control: no more AddPiece tasks run than the pool has threads', async (t) => {
  const d = await t.context.start();
  const gates = [0, 1, 2].map(() => gated(randomBytes(2000)));
  const adding = gates.map((g) => d.sectors.addPiece({ source: g.source, payloadSize: 2000 }));
  // the third is started and prepared, and waits for room in the active pool (Lotus's preparing pool)
  const waiting = (ctx: Parameters<typeof runningSectors>[0]) => Object.values(ctx.calls).filter((c) => c.phase === 'preparing').map((c) => c.task.sector.number);
  const snap = await waitFor(d.system, (s) => runningSectors(s.context).length === 2 && waiting(s.context).length === 1, { timeout: 30_000 });
  t.deepEqual(runningSectors(snap.context), [0, 1]);
  t.deepEqual(waiting(snap.context), [2]);
  for (const g of gates) g.open();
  const added = await Promise.all(adding);
  t.deepEqual(
    added.map((p) => p.sector).sort(),
    [0, 1, 2],
  );
  t.deepEqual(runningSectors(d.system.getSnapshot().context), []);
});

test.serial('a failing AddPiece moves the sector to AddPieceFailed with the error stored as data', async (t) => {
  const d = await t.context.start();
  const a = randomBytes(100);
  await d.sectors.addPiece({ source: once(a), payloadSize: a.length });
  // corrupt the unsealed file's trailer length
  const file = sectorFilePath(join(t.context.dir, 'store'), 'unsealed', { miner: MINER, number: 0 });
  const fd = openSync(file, 'r+');
  writeSync(fd, Buffer.from([0xff, 0xff, 0xff, 0x7f]), 0, 4, fstatSync(fd).size - 4);
  closeSync(fd);
  const b = randomBytes(100);
  await t.throwsAsync(d.sectors.addPiece({ source: once(b), payloadSize: b.length, sector: 0 }), {
    instanceOf: PartialFileCorruptError,
  });
  const r = await d.sectors.sectorStatus(0);
  t.is(r.state, 'AddPieceFailed');
  t.is(r.error?.code, 'PARTIAL_FILE_CORRUPT');
  t.is(typeof r.error?.message, 'string');
  t.is(r.pieces.length, 1);
  t.is(d.system.getSnapshot().status, 'active');
  const c = await d.sectors.addPiece({ source: once(b), payloadSize: b.length });
  t.is(c.sector, 1, 'the system goes on with a new sector');
});

test.serial('bad input is refused with a typed error and loses nothing', async (t) => {
  const d = await t.context.start();
  const a = randomBytes(300);
  const pa = await d.sectors.addPiece({ source: once(a), payloadSize: a.length });
  await t.throwsAsync(d.sectors.addPiece({ source: once(randomBytes(200)), payloadSize: 300 }), { instanceOf: PayloadTooSmallError });
  await t.throwsAsync(d.sectors.addPiece({ source: once(randomBytes(400)), payloadSize: 300 }), { instanceOf: PayloadTooLargeError });
  await t.throwsAsync(d.sectors.addPiece({ source: once(a), payloadSize: 5000 }), { instanceOf: PayloadTooLargeError });
  await t.throwsAsync(d.sectors.addPiece({ source: once(a), payloadSize: a.length, pieceSize: 300 }), { instanceOf: PieceSizeInvalidError });
  await t.throwsAsync(d.sectors.addPiece({ source: once(a), payloadSize: a.length, pieceSize: 256 }), { instanceOf: PieceSizeInvalidError });
  await t.throwsAsync(d.sectors.addPiece({ source: once(a), payloadSize: a.length, sector: 99 }), {
    instanceOf: SectorUnknownError,
    message: 'sector 99 does not exist',
  });
  await t.throwsAsync(d.sectors.addPiece({ source: once(a), payloadSize: 1500, sector: 0 }), { instanceOf: PieceDoesNotFitError });
  await t.throwsAsync(d.sectors.sectorStatus(99), { instanceOf: SectorUnknownError });
  await t.throwsAsync(d.sectors.readPiece({ sector: 99, offset: 0, size: 1 }), { instanceOf: SectorUnknownError });
  const r = await d.sectors.sectorStatus(0);
  t.is(r.state, 'WaitDeals');
  t.is(r.pieces.length, 1);
  t.deepEqual(await collect(await d.sectors.readPiece({ sector: 0, offset: pa.offset, size: a.length })), a);
  const next = await d.sectors.addPiece({ source: once(a), payloadSize: a.length });
  t.like(next, { sector: 0, paddedOffset: 512 }, 'the space of refused pieces was never taken');
});

test.serial('an aborted addPiece of a new sector rejects with AbortedError and creates no sector', async (t) => {
  const d = await t.context.start();
  const g = gated(randomBytes(500));
  const ac = new AbortController();
  const adding = d.sectors.addPiece({ source: g.source, payloadSize: 500, signal: ac.signal });
  await waitFor(d.system, (s) => runningSectors(s.context).length === 1, { timeout: 30_000 });
  ac.abort();
  const err = await t.throwsAsync(adding, { instanceOf: AbortedError });
  t.notRegex(err?.message ?? '', /terminated/, 'the stalled stream was ended cooperatively, not by killing the thread');
  await t.throwsAsync(d.sectors.sectorStatus(0), { instanceOf: SectorUnknownError });
  const b = randomBytes(500);
  const pb = await d.sectors.addPiece({ source: once(b), payloadSize: b.length });
  t.like(pb, { sector: 0, paddedOffset: 0 });
});

test.serial('the inspection log records events and snapshots as NDJSON', async (t) => {
  const path = join(t.context.dir, 'inspect.ndjson');
  const hub = new InspectionHub();
  const log = createInspectionLog(path, hub);
  const d = await t.context.start({ inspect: hub.inspect });
  const a = randomBytes(100);
  await d.sectors.addPiece({ source: once(a), payloadSize: a.length });
  await d.stop();
  await log.close();
  const lines = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  t.true(lines.length > 10);
  t.true(lines.some((l) => l.type === '@xstate.event' && l.event.type === 'scheduler.addPiece'));
  t.true(lines.some((l) => l.type === '@xstate.snapshot' && l.actor === 'sector:0' && l.value === 'AddPiece'));
  const saves = lines.filter((l) => l.type === '@xstate.event' && l.event.type === 'index.call' && l.event.method === 'save');
  t.true(saves.length > 0);
  t.regex(saves[0].event.replyTo.$actor, /^x:\d+$/, 'the reply address is logged as the sender’s session id');
});

test.serial('a byte stream that breaks midway drops the piece as unreadable input and creates no sector', async (t) => {
  const d = await t.context.start();
  async function* broken() {
    yield randomBytes(300);
    throw new Error('connection reset by peer');
  }
  const err = await t.throwsAsync(d.sectors.addPiece({ source: broken(), payloadSize: 1000 }), { code: 'FILE_UNREADABLE' } as never);
  t.regex(err?.message ?? '', /connection reset by peer/);
  await t.throwsAsync(d.sectors.sectorStatus(0), { instanceOf: SectorUnknownError });
  const a = randomBytes(1000);
  const pa = await d.sectors.addPiece({ source: once(a), payloadSize: a.length });
  t.like(pa, { sector: 0, paddedOffset: 0 });
  t.deepEqual(await collect(await d.sectors.readPiece({ sector: 0, offset: 0, size: a.length })), a);
});

test.serial('addPiece rejects instead of reporting a piece added when its sector record cannot be saved', async (t) => {
  const db = openDatabase(join(t.context.dir, 'db.sqlite'));
  try {
    // every write of a record holding a deal piece fails, as on a full disk
    db.exec(`CREATE TRIGGER fail_deal_pieces BEFORE INSERT ON pieces WHEN NEW.is_filler = 0
             BEGIN SELECT RAISE(ABORT, 'disk full (test)'); END`);
    const writeErrors: unknown[] = [];
    const d = await t.context.start({ db, onError: (err) => writeErrors.push(err) });
    const bytes = randomBytes(300);
    const err = await t.throwsAsync(d.sectors.addPiece({ source: once(bytes), payloadSize: bytes.length }));
    t.is((err as { code?: string }).code, 'INTERNAL');
    t.regex(err!.message, /sector 0.*record could not be saved/);
    t.true(writeErrors.length > 0);
    await t.throwsAsync(d.sectors.sectorStatus(0), { instanceOf: SectorUnknownError }, 'nothing of the sector is durable');
    await d.stop();
  } finally {
    db.close();
  }
});

test.serial('after a failed record save the sector holds what the database holds: the next piece takes its place', async (t) => {
  const db = openDatabase(join(t.context.dir, 'db.sqlite'));
  try {
    db.exec(`CREATE TRIGGER fail_deal_pieces BEFORE INSERT ON pieces WHEN NEW.is_filler = 0
             BEGIN SELECT RAISE(ABORT, 'disk full (test)'); END`);
    const d = await t.context.start({ db, onError: () => {} });
    const lost = randomBytes(300);
    const err = await t.throwsAsync(d.sectors.addPiece({ source: once(lost), payloadSize: lost.length }));
    t.regex(err!.message, /disk full \(test\)/, 'the call fails with the save’s own error');
    const sector = d.system.system.get('sector:0');
    if (!sector) throw new Error('sector 0 was not spawned');
    t.deepEqual((sector.getSnapshot() as { context: { pieces: unknown[] } }).context.pieces, [], 'the actor dropped the piece');
    db.exec('DROP TRIGGER fail_deal_pieces'); // the disk has room again
    const kept = randomBytes(500);
    const p = await d.sectors.addPiece({ source: once(kept), payloadSize: kept.length });
    t.like(p, { sector: 0, paddedOffset: 0 }, 'the unrecorded bytes are overwritten, not skipped');
    const status = await d.sectors.sectorStatus(0);
    t.deepEqual(
      status.pieces.map((q) => q.pieceCid),
      [p.pieceCid],
    );
    const rows = db.prepare('SELECT piece_cid FROM pieces WHERE miner = ? AND number = ?').all(MINER, 0) as { piece_cid: string }[];
    t.deepEqual(
      rows.map((r) => r.piece_cid),
      [p.pieceCid],
      'SQLite holds only the later piece',
    );
    t.deepEqual(await collect(await d.sectors.readPiece({ sector: 0, offset: 0, size: kept.length })), kept);
    await d.stop();
  } finally {
    db.close();
  }
});

test.serial('a reader that stops after the first chunk of a piece leaves no unsealed file open', async (t) => {
  const { readdirSync, readlinkSync } = await import('node:fs');
  const openUnsealed = () =>
    readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return /\/unsealed\/s-t0\d+-\d+$/.test(readlinkSync(`/proc/self/fd/${fd}`));
      } catch {
        return false; // closed while listing
      }
    }).length;
  const d = await t.context.start({ sealProof: 6 }); // 8 MiB sectors: a 3 MiB piece reads in several chunks
  const big = randomBytes(3 * 1024 * 1024);
  const added = await d.sectors.addPiece({ source: once(big), payloadSize: big.length });
  const before = openUnsealed();
  const reader = await d.sectors.readPiece({ sector: added.sector, offset: added.offset, size: big.length });
  let chunks = 0;
  for await (const chunk of reader) {
    chunks++;
    t.true(chunk.length < big.length, 'the piece spans several chunks');
    break;
  }
  t.is(chunks, 1);
  t.is(openUnsealed(), before, 'the file handle was closed');
});

test.serial('a pledge when no sealing path has room for a sector is refused NO_SPACE and creates nothing', async (t) => {
  const root = join(t.context.dir, 'tiny');
  // MaxStorage below one 2 KiB sector's sealing footprint (unsealed + sealed + cache)
  initStoragePath(root, { canSeal: true, canStore: true, maxStorage: 4096 });
  const d = await t.context.start({ storageRoots: [root] });
  const err = await t.throwsAsync(d.sectors.pledge(), { code: 'NO_SPACE' } as never);
  t.regex(err!.message, /not enough space/);
  t.deepEqual(await d.sectors.listSectors(), []);
  t.deepEqual(await d.sectors.summary(), {});
  t.deepEqual(readdirSync(join(root, 'unsealed')), [], 'no file was written');
});

test('the index’s writes run on the store thread’s connection, not on the daemon’s (unless told otherwise)', async (t) => {
  const written = async (storeThread: boolean) => {
    const db = openDatabase(join(t.context.dir, `db-${storeThread}.sqlite`));
    try {
      const d = await t.context.start({ db, storeThread });
      const changes = () => db.prepare('SELECT total_changes()').pluck().get() as number;
      const before = changes();
      const number = await d.sectors.pledge();
      const store = new SectorStore(db);
      for (let i = 0; i < 500 && !store.get(MINER, number); i++) await new Promise((resolve) => setTimeout(resolve, 10));
      t.truthy(store.get(MINER, number), 'the daemon’s connection sees the pledged sector’s record');
      const moved = changes() - before;
      await d.stop();
      return moved;
    } finally {
      db.close();
    }
  };
  t.is(await written(true), 0, 'with the store thread, nothing is written through the daemon’s connection');
  t.true((await written(false)) > 0, 'without it, the same pledge writes through the daemon’s connection');
});

test('a database no other connection can open (in memory, or SQLite’s temporary one) keeps its writes on the daemon’s connection', async (t) => {
  for (const name of [':memory:', '']) {
    const db = openDatabase(name);
    try {
      const d = await t.context.start({ db });
      const number = await d.sectors.pledge();
      const store = new SectorStore(db);
      for (let i = 0; i < 500 && !store.get(MINER, number); i++) await new Promise((resolve) => setTimeout(resolve, 10));
      t.truthy(store.get(MINER, number), `${JSON.stringify(name)}: the pledged sector's record is in the daemon's own database`);
      await d.stop();
    } finally {
      db.close();
    }
  }
});
