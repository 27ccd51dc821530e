import { PassThrough } from 'node:stream';
import test from 'ava';
import { createLogger } from '../../../src/log/logger.js';

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d) => {
    text += d;
  });
  return { stream, text: () => text };
}

test('log lines are JSON with a level, a time and the bindings of each child logger', (t) => {
  const out = capture();
  const root = createLogger({ destination: out.stream, pretty: false });
  root.child({ component: 'sector' }).child({ sector: 3 }).info({ state: 'PreCommit1' }, 'sector 3 → PreCommit1');
  root.child({ component: 'storage' }).warn('path is full');
  const lines = out
    .text()
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  t.like(lines[0], { level: 30, component: 'sector', sector: 3, state: 'PreCommit1', msg: 'sector 3 → PreCommit1' });
  t.is(typeof lines[0]?.time, 'number');
  t.like(lines[1], { level: 40, component: 'storage', msg: 'path is full' });
});

test('the level drops lines below it, and the pretty form is for people, not JSON', (t) => {
  const out = capture();
  const quiet = createLogger({ destination: out.stream, pretty: false, level: 'warn' });
  quiet.info('not shown');
  quiet.error('shown');
  t.notRegex(out.text(), /not shown/);
  t.regex(out.text(), /"msg":"shown"/);
  const human = capture();
  createLogger({ destination: human.stream, pretty: true }).child({ component: 'daemon' }).info('listening');
  t.regex(human.text(), /INFO.*listening/);
  t.throws(() => JSON.parse(human.text()));
});
