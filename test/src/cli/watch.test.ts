/**
 * The pieces of the `--watch` views on fixed rows and a fixed clock: bars per running call, the
 * in-place terminal frame, the piped change lines, and Ctrl-C ending a poll loop.
 */
import { PassThrough } from 'node:stream';
import test from 'ava';
import { NO_WORKER } from '../../../src/api/methods/sealing.js';
import { formatJobs, JobChangeLines, type JobRow } from '../../../src/cli/commands/sealing.js';
import { JobBars, progressUnit, TtyFrame } from '../../../src/cli/watch.js';

const START = Date.parse('2026-01-01T00:00:00Z');

function row(id: string, task: string, runWait: number, progress?: JobRow['Progress'], sector = 3): JobRow {
  return {
    Worker: 'local',
    ID: { Sector: { Miner: 1000, Number: sector }, ID: id },
    Sector: { Miner: 1000, Number: sector },
    Task: task,
    RunWait: runWait,
    Start: new Date(START).toISOString(),
    Hostname: 'h',
    ...(progress ? { Progress: progress } : {}),
  };
}

const PC1 = 'seal/v0/precommit/1';
const ID = 'aabbccdd-0000-0000-0000-000000000001';

test('a running PC1 gets a bar with its node count and layer, and a rate and ETA once it has moved', (t) => {
  let now = START;
  const bars = new JobBars({ now: () => now, barWidth: 10 });
  bars.update([row(ID, PC1, 0, { Phase: 'pc1', Done: 131072, Total: 524288, Detail: 'layer 1/2' })]);
  t.is(bars.text(ID), 'pc1  [###.......]   25%  131072/524288  layer 1/2');
  now += 1000;
  bars.update([row(ID, PC1, 0, { Phase: 'pc1', Done: 262144, Total: 524288, Detail: 'layer 2/2' })]);
  t.is(bars.text(ID), 'pc1  [#####.....]   50%  262144/524288  131072/s  ETA 2s  layer 2/2');
  bars.update([]);
  t.is(bars.text(ID), '', 'a call no longer listed has no bar');
});

test('fetched bytes print in binary units without a bar (the total is unknown) and without the source URL', (t) => {
  const bars = new JobBars({ now: () => START });
  bars.update([row(ID, 'seal/v0/fetch', 0, { Phase: 'fetch sealed', Done: 3 * 1024 * 1024, Total: 0, Detail: 'http://10.0.0.2:2345/remote/sealed/s-t01000-3' })]);
  t.is(bars.text(ID), 'fetch sealed  3 MiB');
  t.is(progressUnit('pc2'), 'count');
  t.is(progressUnit('addPiece'), 'bytes');
  t.is(progressUnit('fetch cache'), 'bytes');
});

test('on a terminal each frame replaces the previous one, with lines cut to the width', (t) => {
  const stream = Object.assign(new PassThrough(), { isTTY: true, columns: 21 });
  let written = '';
  stream.on('data', (d) => {
    written += d;
  });
  const frame = new TtyFrame(stream);
  frame.draw(['a', 'b', 'c']);
  t.is(written, '\x1b[0Ja\nb\nc\n');
  written = '';
  frame.draw(['0123456789012345678901234', 'x']);
  t.is(written, '\x1b[3F\x1b[0J01234567890123456789\nx\n', 'up 3 lines, clear, then the new frame');
  // a pseudo-terminal that was never sized reports 0 columns: 100 are assumed, not 0
  const unsized = Object.assign(new PassThrough(), { isTTY: true, columns: 0 });
  new TtyFrame(unsized).draw(['y'.repeat(150)]);
  t.is(String(unsized.read()), `\x1b[0J${'y'.repeat(99)}\n`);
});

test('the watch table draws the bar of each running call in the Progress column', (t) => {
  const bars = new JobBars({ now: () => START, barWidth: 4 });
  const rows = [row(ID, PC1, 0, { Phase: 'pc2', Done: 2, Total: 4 }), row('11223344-0000', PC1, 1, undefined, 4)];
  rows[1]!.Worker = NO_WORKER;
  bars.update(rows);
  const lines = formatJobs(rows, START + 5000, (j) => bars.text(j.ID.ID));
  t.regex(lines[1]!, /^aabbccdd\s+3\s+local\s+h\s+PC1\s+running\s+5s\s+pc2 {2}\[##\.\.\] {3}50% {2}2\/4$/);
  t.regex(lines[2]!, /^11223344\s+4\s+00000000\s+h\s+PC1\s+queued\s+5s$/);
});

test('piped, a line is printed when a call appears, moves or changes state, and when it leaves; not when nothing changed', (t) => {
  const bars = new JobBars({ now: () => START });
  const changes = new JobChangeLines();
  const poll = (rows: JobRow[], at: number) => {
    bars.update(rows);
    return changes.lines(rows, bars, at);
  };
  t.deepEqual(poll([], 0), ['      0s  no jobs']);
  t.deepEqual(poll([], 1000), [], 'still no jobs: silent');
  t.deepEqual(poll([row(ID, PC1, 1)], 2000), ['      2s  aabbccdd  sector 3  PC1  assigned(0)']);
  t.deepEqual(poll([row(ID, PC1, 1)], 3000), []);
  const p = { Phase: 'pc1', Done: 10, Total: 40, Detail: 'layer 1/2' };
  t.deepEqual(poll([row(ID, PC1, 0, p)], 4000), ['      4s  aabbccdd  sector 3  PC1  running  pc1  [####............]   25%  10/40  layer 1/2']);
  t.deepEqual(poll([row(ID, PC1, 0, p)], 5000), [], 'same counters: silent');
  t.deepEqual(poll([], 6000), ['      6s  aabbccdd  sector 3  PC1  no longer listed', '      6s  no jobs']);
});
