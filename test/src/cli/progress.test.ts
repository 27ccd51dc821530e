import { Writable } from 'node:stream';
import test from 'ava';
import { formatDuration, ProgressBar } from '../../../src/cli/progress.js';

function sink() {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  return { stream, text: () => chunks.join('') };
}

test('stays silent for operations shorter than the delay', (t) => {
  const s = sink();
  let now = 0;
  const bar = new ProgressBar({ stream: s.stream, tty: false, delayMs: 1000, now: () => now });
  bar.update(50, 100);
  now = 500;
  bar.update(100, 100);
  bar.finish();
  t.is(s.text(), '');
});

test('prints plain lines with percentage, bytes, rate, ETA and phase when not a TTY', (t) => {
  const s = sink();
  let now = 0;
  const bar = new ProgressBar({ stream: s.stream, tty: false, delayMs: 1000, lineIntervalMs: 2000, now: () => now });
  bar.update(0, 4 * 1024 * 1024, 'upload');
  now = 1000;
  bar.update(1024 * 1024, 4 * 1024 * 1024, 'upload');
  now = 1500;
  bar.update(1.5 * 1024 * 1024, 4 * 1024 * 1024, 'upload'); // throttled
  now = 3000;
  bar.update(3 * 1024 * 1024, 4 * 1024 * 1024, 'upload');
  const lines = s.text().trim().split('\n');
  t.is(lines.length, 2);
  t.is(lines[0], `upload  [${'#'.repeat(6)}${'.'.repeat(18)}]   25%  1 MiB/4 MiB  1 MiB/s  ETA 3s`);
  t.true(lines[1]!.endsWith(']   75%  3 MiB/4 MiB  1 MiB/s  ETA 1s'), lines[1]);
  t.false(s.text().includes('\r'));
});

test('redraws in place on a TTY and ends the line on finish', (t) => {
  const s = sink();
  let now = 2000;
  const bar = new ProgressBar({ stream: s.stream, tty: true, delayMs: 0, now: () => now, unit: 'count' });
  bar.report({ phase: 'labels', done: 1, total: 4, detail: 'layer 1' });
  now = 2500;
  bar.report({ phase: 'labels', done: 4, total: 4, detail: 'layer 2' });
  bar.finish();
  t.true(s.text().startsWith('\r\x1b[2Klabels'));
  t.true(s.text().includes('100%  4/4'));
  t.true(s.text().endsWith('\n'));
});

test('formats durations', (t) => {
  t.is(formatDuration(3.2), '3s');
  t.is(formatDuration(75), '1m15s');
  t.is(formatDuration(4000), '1h06m');
});

test('draws the completed state once however many final reports arrive', (t) => {
  const s = sink();
  let now = 5000;
  const bar = new ProgressBar({ stream: s.stream, tty: false, delayMs: 0, now: () => now });
  bar.update(10, 100, 'hash');
  now += 3000;
  bar.update(100, 100, 'hash');
  now += 10;
  bar.update(100, 100, 'hash');
  bar.finish();
  const lines = s.text().trim().split('\n');
  t.is(lines.length, 2);
  t.true(lines[1]!.includes('100%'));
});
