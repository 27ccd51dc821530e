/**
 * `run --pc1-batch-size` / `--pc1-batch-wait` (docs/design/scheduler.md §8): bad values are usage
 * mistakes named by flag, before anything starts; and the Batch columns of `sealing jobs` and
 * `sealing calls`.
 */
import test from 'ava';
import { sealingCallOf, workerJobOf } from '../../../src/api/methods/sealing.js';
import { flattenJobs, formatCalls, formatJobs } from '../../../src/cli/commands/sealing.js';
import { parsePc1BatchSize } from '../../../src/cli/commands/run.js';
import { cleanup, runCli, tmpDir } from '../../helpers/cli-daemon.js';

const BATCH = '0123abcd-0000-4000-8000-000000000000';

test('the batch size is 1 to 8', (t) => {
  t.is(parsePc1BatchSize('1'), 1);
  t.is(parsePc1BatchSize('8'), 8);
  t.throws(() => parsePc1BatchSize('0'), { code: 'INVALID_ARGUMENT', message: /--pc1-batch-size\) must be at least 1 \(got 0\)/ });
  t.throws(() => parsePc1BatchSize('9'), { code: 'INVALID_ARGUMENT', message: /--pc1-batch-size\) must be at most 8: the labeller batches up to 8 sectors \(got 9\)/ });
  t.throws(() => parsePc1BatchSize('two'), { code: 'INVALID_ARGUMENT', message: /--pc1-batch-size\) must be a non-negative integer \(got "two"\)/ });
});

test('run refuses a bad batch size or wait with a usage error (exit 2) before it opens the repository', async (t) => {
  const repo = tmpDir();
  t.teardown(() => cleanup(repo));
  for (const [args, message] of [
    [['--pc1-batch-size', '0'], /PC1 batch size \(--pc1-batch-size\) must be at least 1 \(got 0\)/],
    [['--pc1-batch-size', '9'], /must be at most 8/],
    [['--pc1-batch-size', '2.5'], /PC1 batch size \(--pc1-batch-size\) must be a non-negative integer \(got "2.5"\)/],
    [['--pc1-batch-wait', 'soon'], /PC1 batch wait \(--pc1-batch-wait\) must be a non-negative integer \(got "soon"\)/],
    [['--pc1-batch-wait', '-1'], /PC1 batch wait \(--pc1-batch-wait\) must be a non-negative integer \(got "-1"\)/],
  ] as const) {
    const r = await runCli(repo, ['run', ...args]);
    t.is(r.code, 2, args.join(' '));
    t.regex(r.stderr, message);
  }
  const help = await runCli(repo, ['run', '--help']);
  t.regex(help.stdout, /--pc1-batch-size N .*Remote workers keep single PC1s.*default: 1/);
  t.regex(help.stdout, /--pc1-batch-wait MS .*default: 30000/);
});

test('sealing jobs and sealing calls show the batch of a call in a batch, and nothing for one run alone', (t) => {
  const job = (id: string, batch?: string) => ({
    ID: { Sector: { Miner: 1000, Number: 1 }, ID: id },
    Sector: { Miner: 1000, Number: 1 },
    Task: 'seal/v0/precommit/1',
    RunWait: 0,
    Start: new Date(1_000).toISOString(),
    ...(batch ? { Batch: batch } : {}),
  });
  const lines = formatJobs(flattenJobs({ local: [job('aaaaaaaa-0000-4000-8000-000000000000', BATCH), job('bbbbbbbb-0000-4000-8000-000000000000')] }), 2_000);
  t.deepEqual(lines[0]!.split(/\s+/).slice(6, 8), ['Time', 'Batch']);
  t.regex(lines[1]!, /^aaaaaaaa .* 1s\s+0123abcd\s*$/);
  t.regex(lines[2]!, /^bbbbbbbb .* 1s\s*$/);
  const call = (id: string, batch?: string) => ({
    ID: id,
    WorkID: 'w',
    Sector: { Miner: 1000, Number: 1 },
    Task: 'PC1' as const,
    State: 'returned' as const,
    Outcome: 'ok',
    Attempts: 1,
    Priority: 0,
    Created: 0,
    ...(batch ? { Batch: batch } : {}),
  });
  const rows = formatCalls([call('aaaaaaaa-0000-4000-8000-000000000000', BATCH), call('bbbbbbbb-0000-4000-8000-000000000000')], 1);
  t.is(rows[0]!.split(/\s+/).at(-1), 'Batch');
  t.is(rows[1]!.trim().split(/\s+/).at(-1), '0123abcd');
  t.is(rows[2]!.trim().split(/\s+/).at(-1), '-');
});

test('WorkerJobs gives a started member its batch, SealingCalls every call its last one', (t) => {
  const record = {
    callId: 'aaaaaaaa-0000-4000-8000-000000000000',
    workId: 'w',
    sector: { miner: 1000, number: 1 },
    task: 'PC1' as const,
    state: 'running' as const,
    priority: 0,
    input: {} as never,
    attempts: 1,
    createdAt: 0,
    startedAt: 10,
    worker: 'local',
    batch: BATCH,
  };
  t.is(workerJobOf(record, { worker: 'local', runWait: 0, batch: BATCH }).job.Batch, BATCH, 'from where the scheduler has it');
  t.is(workerJobOf(record).job.Batch, BATCH, 'from the record while running');
  t.is(workerJobOf({ ...record, state: 'started' }).job.Batch, undefined, 'a queued call runs in no batch (yet)');
  t.is(sealingCallOf({ ...record, state: 'returned', outcome: 'ok' }).Batch, BATCH);
  const { batch: _, ...alone } = record;
  t.false('Batch' in sealingCallOf(alone));
});
