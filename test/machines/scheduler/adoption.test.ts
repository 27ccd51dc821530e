/**
 * `scheduler.sector.adopt` (a record imported from a sector's files by `sectors drift resolve N
 * --import`) and the removal reason of `--lost`, on the simulated-clock harness.
 */
import test from 'ava';
import type { SectorRecordDraft } from '../../../src/db/sector-store.js';
import { FileType } from '../../../src/sector/sector-id.js';
import { HARNESS_PATH, schedulerHarness } from '../scheduler-harness.js';

const P2K = 5;

function record(number: number, fields: Partial<SectorRecordDraft> = {}): SectorRecordDraft {
  return {
    v: 2,
    miner: 1000,
    number,
    proofType: P2K,
    state: 'WaitDeals',
    pieces: [],
    packingRequested: false,
    counters: { preCommit2Fails: 0, invalidProofs: 0, retries: 0 },
    ...fields,
  };
}

const DEAL_PIECE = { pieceCid: 'baga-imported', paddedOffset: 0, paddedSize: 1024, payloadSize: 1016, filler: false };

test('an adopted record gets its sector actor in the state the record holds, takes pieces after its own, and new sectors are numbered above it', async (t) => {
  const h = schedulerHarness({ proofType: P2K });
  t.teardown(() => h.stop());
  const reply = await h.request({ type: 'scheduler.sector.adopt', record: record(7, { pieces: [DEAL_PIECE] }) });
  t.deepEqual(reply, { type: 'scheduler.reply', requestId: reply!.requestId, ok: true, value: { kind: 'sector.adopted', sector: 7 } });
  t.is(h.sectorState(7), 'WaitDeals');
  // its unsealed file, as the import found it (a later AddPiece appends to it where it is)
  h.catalog.storageDeclareSector(HARNESS_PATH, { miner: 1000, number: 7 }, FileType.unsealed, true);

  // a deal piece goes to the adopted sector, after its imported piece
  h.send({ type: 'scheduler.addPiece', pieceSize: 512, payloadSize: 500 });
  await h.flush();
  const ap = h.run('AP').task;
  t.is(ap.sector.number, 7);
  t.is((ap.input as { paddedOffset: number }).paddedOffset, 1024);

  const pledged = await h.request({ type: 'scheduler.pledge' });
  t.like(pledged, { ok: true, value: { kind: 'sector.pledged', sector: 8 } }, 'the next new sector is above the adopted one');
});

test('an adopted Proving sector is checked by the periodic CheckProvable and goes Faulty when its files are unfit', async (t) => {
  const h = schedulerHarness({ proofType: P2K, checkProvableMs: 1_000, faulty: (numbers) => numbers.map((number) => ({ number, reason: 'sealed file is gone' })) });
  t.teardown(() => h.stop());
  const commR = 'bagboea4b5abcahhoh5ifqjqfrgwyfih5jjp62lrbqbuoqf7ssn4qvvyosqpnci2y';
  t.like(await h.request({ type: 'scheduler.sector.adopt', record: record(3, { state: 'Proving', packingRequested: true, commR }) }), { ok: true });
  t.is(h.sectorState(3), 'Proving');
  t.deepEqual(h.checks, []);
  h.clock.increment(1_000);
  await h.flush();
  t.deepEqual(h.checks, [[3]]);
  t.is(h.sectorState(3), 'Faulty');
});

test('adopting is refused, changing nothing, for a number that has an actor, another miner\'s record, or an unknown seal proof', async (t) => {
  const h = schedulerHarness({ proofType: P2K, records: [record(1, { pieces: [DEAL_PIECE] })], nextNumber: 2 });
  t.teardown(() => h.stop());
  await h.flush();
  const children = () => h.sectorIds();
  const before = children();
  t.deepEqual(before, ['sector:1']);

  t.like(await h.request({ type: 'scheduler.sector.adopt', record: record(1) }), {
    ok: false,
    error: { code: 'SECTOR_EXISTS', message: 'sector 1 already has an actor (state WaitDeals)' },
  });
  t.like(await h.request({ type: 'scheduler.sector.adopt', record: record(4, { miner: 2000 }) }), {
    ok: false,
    error: { code: 'INVALID_ARGUMENT', message: "sector 4 belongs to miner 2000, not to this node's miner 1000" },
  });
  t.like(await h.request({ type: 'scheduler.sector.adopt', record: record(4, { proofType: 999 }) }), { ok: false, error: { code: 'SEAL_PROOF_UNKNOWN' } });
  t.deepEqual(children(), before);
  t.is(h.root.getSnapshot().context.nextNumber, 2);
  t.is(h.sectorState(1), 'WaitDeals', 'the existing sector is untouched');

  // the same number twice: the second adoption is refused
  t.like(await h.request({ type: 'scheduler.sector.adopt', record: record(5) }), { ok: true });
  t.like(await h.request({ type: 'scheduler.sector.adopt', record: record(5, { pieces: [DEAL_PIECE] }) }), { ok: false, error: { code: 'SECTOR_EXISTS' } });
  t.deepEqual(children(), ['sector:1', 'sector:5']);
});

test('a removal with a reason logs it as the message of its SectorRemove entry; without one the entry is bare', async (t) => {
  const h = schedulerHarness({ proofType: P2K, records: [record(0, { pieces: [DEAL_PIECE] }), record(1, { pieces: [DEAL_PIECE] })], nextNumber: 2 });
  t.teardown(() => h.stop());
  await h.flush();
  const reason = 'the operator marked the sector lost: its unsealed file is on no storage path';
  t.like(await h.request({ type: 'scheduler.remove', sector: 0, reason }), { ok: true, value: { kind: 'sector.removing', sector: 0 } });
  t.like(await h.request({ type: 'scheduler.remove', sector: 1 }), { ok: true });
  const removeEntries = (n: number) => h.saves.filter((s) => s.record.number === n).flatMap((s) => s.log.filter((e) => e.kind === 'event;sealing.SectorRemove'));
  t.deepEqual(removeEntries(0), [{ kind: 'event;sealing.SectorRemove', message: reason }]);
  t.deepEqual(removeEntries(1), [{ kind: 'event;sealing.SectorRemove', message: '' }]);
  for (const held of h.held.filter((x) => x.src === 'removeFiles')) held.resolve(undefined);
  await h.flush();
  t.is(h.sectorState(0), 'Removed');
  t.is(h.sectorState(1), 'Removed');
});

test('CheckProvable runs again every checkProvableMs after the last round, also after rounds that found no Proving sector', async (t) => {
  const h = schedulerHarness({ proofType: P2K, checkProvableMs: 1_000, faulty: () => [] });
  t.teardown(() => h.stop());
  await h.flush();
  h.clock.increment(1_000);
  await h.flush();
  t.deepEqual(h.checks, [], 'no Proving sector: nothing to check, and the timer runs again');
  t.like(await h.request({ type: 'scheduler.sector.adopt', record: record(3, { state: 'Proving', packingRequested: true, commR: 'bagboea4b5abcahhoh5ifqjqfrgwyfih5jjp62lrbqbuoqf7ssn4qvvyosqpnci2y' }) }), { ok: true });
  h.clock.increment(999);
  await h.flush();
  t.deepEqual(h.checks, []);
  h.clock.increment(1);
  await h.flush();
  t.deepEqual(h.checks, [[3]]);
  h.clock.increment(1_000);
  await h.flush();
  t.deepEqual(h.checks, [[3], [3]], 'the next round, checkProvableMs after the last one ended');
  t.is(h.sectorState(3), 'Proving', 'nothing was found unfit');
});
