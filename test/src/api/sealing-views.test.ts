import test from 'ava';
import { NO_WORKER, sealingCallOf, workerJobOf } from '../../../src/api/methods/sealing.js';
import { SEALED_LOG_KIND, sectorInfoFromRecord, sectorsMethods } from '../../../src/api/methods/sectors.js';
import { formatSectorList } from '../../../src/cli/commands/sectors.js';
import type { SectorRecord } from '../../../src/db/sector-store.js';
import type { CallRecord } from '../../../src/tasks/calls.js';

const hex32 = (byte: string) => byte.repeat(32);

function record(patch: Partial<SectorRecord> = {}): SectorRecord {
  return {
    v: 2,
    miner: 1000,
    number: 7,
    proofType: 5,
    state: 'WaitDeals',
    pieces: [],
    packingRequested: false,
    counters: { preCommit2Fails: 0, invalidProofs: 0, retries: 0 },
    lastLogAt: 1,
    updatedAt: 2,
    ...patch,
  };
}

function call(patch: Partial<CallRecord> = {}): CallRecord {
  return {
    callId: '0f1e2d3c-0000-4000-8000-000000000001',
    workId: 'PC1(abc)',
    sector: { miner: 1000, number: 7 },
    task: 'PC1',
    state: 'running',
    priority: 0,
    input: { type: 'PC1', sector: { miner: 1000, number: 7 }, proofType: 5, priority: 0, input: { ticket: hex32('00'), pieces: [] } },
    worker: 'local',
    hostname: 'box',
    attempts: 1,
    createdAt: 1_000,
    startedAt: 2_000,
    ...patch,
  };
}

test('a new sector has Lotus SectorInfo keys with null commitments, empty randomness and no error', (t) => {
  const info = sectorInfoFromRecord(record());
  t.like(info, { SectorID: 7, State: 'WaitDeals', CommD: null, CommR: null, PreCommitMsg: null, CommitMsg: null, ProofInfo: null, Retries: 0, LastErr: '' });
  t.deepEqual(info.Ticket, { Value: null, Epoch: 0 });
  t.deepEqual(info.Seed, { Value: null, Epoch: 0 });
  t.is(info.LastErrCode, undefined);
  t.is(info.Log, undefined);
  t.is(info.SectorSize, 2048);
});

test('ticket and seed are base64 of their bytes, deals are the deal pieces\' CIDs, errors keep their code', (t) => {
  const info = sectorInfoFromRecord(
    record({
      state: 'SealPreCommit2Failed',
      ticket: { value: hex32('a1'), epoch: 3 },
      seed: { value: hex32('5e'), epoch: 9 },
      pieces: [
        { pieceCid: 'baga-deal', pieceCidV2: 'bafk-deal', paddedOffset: 0, paddedSize: 512, payloadSize: 400, filler: false },
        { pieceCid: 'baga-zero', paddedOffset: 512, paddedSize: 512, payloadSize: 0, filler: true },
      ],
      counters: { preCommit2Fails: 1, invalidProofs: 0, retries: 2 },
      error: { code: 'ABORTED', message: 'call x (PC2) aborted' },
      proof: { sha256: hex32('cd'), bytes: 100, prover: 'vanilla-proof-bundle' },
    }),
  );
  t.is(Buffer.from(info.Ticket.Value!, 'base64').toString('hex'), hex32('a1'));
  t.is(info.Ticket.Epoch, 3);
  t.is(Buffer.from(info.Seed.Value!, 'base64').toString('hex'), hex32('5e'));
  t.deepEqual(info.Deals, ['baga-deal']);
  t.is(info.Retries, 2);
  t.is(info.LastErr, 'call x (PC2) aborted');
  t.is(info.LastErrCode, 'ABORTED');
  t.like(info.ProofInfo, { Sha256: hex32('cd'), Size: 100, Prover: 'vanilla-proof-bundle' });
  t.regex(info.ProofInfo?.Note ?? '', /not accepted on chain/);
  t.is(info.UsedPadded, 1024);
});

test('the log gives Lotus timestamps in seconds, the first entry and the SectorProving entry', (t) => {
  const log = [
    { kind: 'event;sealing.SectorPacked', message: '', timestamp: 10_500 },
    { kind: SEALED_LOG_KIND, message: '', timestamp: 12_750, trace: 't' },
    { kind: 'event;sealing.SectorFinalized', message: 'done', timestamp: 13_000 },
  ];
  const info = sectorInfoFromRecord(record({ state: 'Proving' }), { log });
  t.is(info.LogStart, 10_500);
  t.is(info.ProvingAt, 12_750);
  t.deepEqual(info.Log?.[1], { Kind: SEALED_LOG_KIND, Timestamp: 12, TimestampMs: 12_750, Trace: 't', Message: '' });
  t.is(info.Log?.[0]?.Trace, '');
  const fromMarks = sectorInfoFromRecord(record(), { marks: { number: 7, first: 5 } });
  t.is(fromMarks.LogStart, 5);
  t.is(fromMarks.ProvingAt, undefined);
});

test('calls map to Lotus RunWait: running 0 on its worker, started 1 and done -1 under the nil worker', (t) => {
  const running = workerJobOf(call());
  t.is(running.worker, 'local');
  t.deepEqual(running.job, {
    ID: { Sector: { Miner: 1000, Number: 7 }, ID: '0f1e2d3c-0000-4000-8000-000000000001' },
    Sector: { Miner: 1000, Number: 7 },
    Task: 'seal/v0/precommit/1',
    RunWait: 0,
    Start: new Date(2_000).toISOString(),
    Hostname: 'box',
  });
  const waiting = workerJobOf(call({ state: 'started', attempts: 1 }));
  t.is(waiting.worker, NO_WORKER);
  t.is(waiting.job.RunWait, 1);
  t.is(waiting.job.Start, new Date(1_000).toISOString());
  t.is(waiting.job.Hostname, undefined, 'a re-queued call is on no host');
  const retWait = workerJobOf(call({ state: 'done', outcome: 'ok', finishedAt: 3_000 }));
  t.is(retWait.worker, NO_WORKER);
  t.is(retWait.job.RunWait, -1);
  t.is(retWait.job.Hostname, 'box');
});

test('a call in SealingCalls keeps its task short name, attempts, times and failure', (t) => {
  const c = sealingCallOf(
    call({ state: 'returned', outcome: 'aborted', finishedAt: 3_000, returnedAt: 4_000, returned: { ok: false, error: { code: 'ABORTED', message: 'stop' } } }),
  );
  t.deepEqual(c, {
    ID: '0f1e2d3c-0000-4000-8000-000000000001',
    WorkID: 'PC1(abc)',
    Sector: { Miner: 1000, Number: 7 },
    Task: 'PC1',
    State: 'returned',
    Outcome: 'aborted',
    Attempts: 1,
    Priority: 0,
    Worker: 'local',
    Hostname: 'box',
    Created: 1_000,
    Started: 2_000,
    Finished: 3_000,
    Returned: 4_000,
    Error: { code: 'ABORTED', message: 'stop' },
  });
});

test('WorkerJobs: a call the scheduler holds is listed under its worker, RunWait 0 once started (its prepare step too), n + 1 while in window n', (t) => {
  const queued = call({ state: 'started', worker: undefined, hostname: undefined, startedAt: undefined });
  t.deepEqual(workerJobOf(queued, { worker: 'w-2', runWait: 2, hostname: 'box-2' }), {
    worker: 'w-2',
    job: { ID: { Sector: { Miner: 1000, Number: 7 }, ID: queued.callId }, Sector: { Miner: 1000, Number: 7 }, Task: 'seal/v0/precommit/1', RunWait: 2, Start: new Date(1_000).toISOString(), Hostname: 'box-2' },
  });
  t.like(workerJobOf(queued, { worker: 'w-2', runWait: 0 }), { worker: 'w-2', job: { RunWait: 0 } }, 'preparing on w-2');
  t.like(workerJobOf(call(), { worker: 'w-2', runWait: 0 }), { worker: 'w-2', job: { RunWait: 0, Start: new Date(2_000).toISOString() } });
  t.like(workerJobOf(queued), { worker: NO_WORKER, job: { RunWait: 1 } }, 'not placed: queued under no worker');
  t.like(workerJobOf(call({ state: 'done' }), { worker: 'w-2', runWait: 0 }), { worker: NO_WORKER, job: { RunWait: -1 } }, 'a done call is ret-wait whatever');
});

test('SectorsListInfo shows a sector whose record cannot be read as Unreadable, with the reason as its last error, among the readable ones, and SectorsList lists its number', async (t) => {
  const sectors = {
    listSectors: async () => [record({ number: 3 }), record({ number: 9, state: 'Proving' })],
    unreadable: async () => [{ miner: 1000, number: 5, state: 'PreCommit1', reason: 'its JSON does not parse' }],
    logMarks: async () => [],
  };
  const ctx = { components: { sectors }, permissions: ['read'], signal: new AbortController().signal } as never;
  t.deepEqual(await sectorsMethods.SectorsList.run([], ctx), [3, 5, 9]);
  const list = await sectorsMethods.SectorsListInfo.run([undefined], ctx);
  t.deepEqual(
    list.map((s) => [s.SectorID, s.State]),
    [
      [3, 'WaitDeals'],
      [5, 'Unreadable'],
      [9, 'Proving'],
    ],
  );
  const bad = list.find((s) => s.SectorID === 5)!;
  t.is(bad.LastErr, 'its record (last state PreCommit1) cannot be read: its JSON does not parse');
  t.is(bad.LastErrCode, 'SECTOR_RECORD_INVALID');
  const lines = formatSectorList(list, 0);
  t.regex(lines.join('\n'), /^5\s+Unreadable\s+0\s+-$/m, 'sectors list has a row for it');
  t.true(lines.includes('  sector 5 error: its record (last state PreCommit1) cannot be read: its JSON does not parse [SECTOR_RECORD_INVALID]'));
});
