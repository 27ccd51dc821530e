import test from 'ava';
import type { SectorInfo } from '../../../src/api/methods/sectors.js';
import { flattenJobs, formatJobs, runWaitState, taskShortName } from '../../../src/cli/commands/sealing.js';
import { parseStatesFlag, sealTime } from '../../../src/cli/commands/sectors.js';
import { formatElapsed } from '../../../src/cli/output.js';
import type { SectorStorageError } from '../../../src/errors.js';

test('elapsed times print as Go durations truncated to 100 ms, as lotus-miner', (t) => {
  t.is(formatElapsed(0), '0s');
  t.is(formatElapsed(99), '0s');
  t.is(formatElapsed(350), '300ms');
  t.is(formatElapsed(1_000), '1s');
  t.is(formatElapsed(4_249), '4.2s');
  t.is(formatElapsed(65_300), '1m5.3s');
  t.is(formatElapsed(2 * 3_600_000 + 7_000), '2h0m7s');
  t.is(formatElapsed(-1), 'n/a');
});

const sector = (patch: Partial<SectorInfo>): SectorInfo =>
  ({ SectorID: 1, State: 'PreCommit1', Deals: [], Pieces: [], LastErr: '', ...patch }) as SectorInfo;

test('seal time runs from the first log entry to SectorProving, or to now while sealing', (t) => {
  t.is(sealTime(sector({ LogStart: 1_000, ProvingAt: 3_500, State: 'Proving' }), 99_999), '2.5s');
  t.is(sealTime(sector({ LogStart: 1_000 }), 61_000), '1m0s (so far)');
  t.is(sealTime(sector({ LogStart: 1_000, State: 'Removed' }), 61_000), '-', 'a removed sector stops counting');
  t.is(sealTime(sector({}), 61_000), '-', 'no log, no time');
});

test('--states takes Lotus state names and names an unknown one', (t) => {
  t.deepEqual(parseStatesFlag('Proving, WaitDeals'), ['Proving', 'WaitDeals']);
  const err = t.throws(() => parseStatesFlag('Proving,proving'));
  t.is((err as SectorStorageError).code, 'INVALID_ARGUMENT');
  t.regex(err!.message, /"proving" is not a sector state/);
  t.throws(() => parseStatesFlag(' , '), { message: /at least one state name/ });
});

test('jobs sort as lotus-miner (ret-wait, running, assigned; then oldest) and print short task names', (t) => {
  const job = (id: string, runWait: number, start: number, task = 'seal/v0/precommit/1') => ({
    ID: { Sector: { Miner: 1000, Number: 3 }, ID: id },
    Sector: { Miner: 1000, Number: 3 },
    Task: task,
    RunWait: runWait,
    Start: new Date(start).toISOString(),
  });
  const rows = flattenJobs({
    local: [job('bbbbbbbb-0000-4000-8000-000000000000', 0, 2_000), job('aaaaaaaa-0000-4000-8000-000000000000', 0, 1_000, 'seal/v0/precommit/2'), job('eeeeeeee-0000-4000-8000-000000000000', 2, 1_500)],
    '00000000-0000-0000-0000-000000000000': [job('cccccccc-0000-4000-8000-000000000000', 1, 500), job('dddddddd-0000-4000-8000-000000000000', -1, 3_000, 'seal/v0/finalize')],
  });
  t.deepEqual(rows.map((r) => r.ID.ID.slice(0, 2)), ['dd', 'aa', 'bb', 'cc', 'ee']);
  const lines = formatJobs(rows, 4_000);
  t.deepEqual(lines.slice(1).map((l) => l.split(/\s+/)), [
    ['dddddddd', '3', '00000000', 'FIN', 'ret-wait', '1s'],
    ['aaaaaaaa', '3', 'local', 'PC2', 'running', '3s'],
    ['bbbbbbbb', '3', 'local', 'PC1', 'running', '2s'],
    ['cccccccc', '3', '00000000', 'PC1', 'queued', '3.5s'],
    ['eeeeeeee', '3', 'local', 'PC1', 'assigned(1)', '2.5s'],
  ]);
  t.deepEqual(formatJobs([]), ['no jobs']);
  t.is(taskShortName('seal/v0/unknown'), 'UNK');
  t.is(runWaitState(3, 'w-1'), 'assigned(2)', 'window 2 of worker w-1, as lotus-miner prints it');
  t.is(runWaitState(1, '00000000-0000-0000-0000-000000000000'), 'queued');
});

test('a running job shows its progress: phase, done/total and a detail that is not a URL', (t) => {
  const job = (id: string, progress?: { Phase: string; Done: number; Total: number; Detail?: string }) => ({
    ID: { Sector: { Miner: 1000, Number: 4 }, ID: id },
    Sector: { Miner: 1000, Number: 4 },
    Task: 'seal/v0/precommit/1',
    RunWait: 0,
    Start: new Date(1_000).toISOString(),
    ...(progress ? { Progress: progress } : {}),
  });
  const rows = flattenJobs({
    w: [
      job('aaaaaaaa-0000-4000-8000-000000000000', { Phase: 'pc1', Done: 300, Total: 1000, Detail: 'layer 1/2' }),
      job('bbbbbbbb-0000-4000-8000-000000000000', { Phase: 'fetch unsealed', Done: 4096, Total: 0, Detail: 'http://127.0.0.1:1/remote/unsealed/s-t01000-4' }),
      job('cccccccc-0000-4000-8000-000000000000'),
    ],
  });
  const lines = formatJobs(rows, 2_000);
  t.true(lines[0]?.trimEnd().endsWith('Progress'));
  t.true(lines[1]?.trimEnd().endsWith('pc1 300/1000 (layer 1/2)'));
  t.true(lines[2]?.trimEnd().endsWith('fetch unsealed 4096'));
  t.true(lines[3]?.trimEnd().endsWith('1s'), 'no progress: an empty column');
});
