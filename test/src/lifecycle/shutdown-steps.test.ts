import test from 'ava';
import { ShutdownSteps } from '../../../src/lifecycle/shutdown-steps.js';
import { silentLogger } from '../../../src/log/logger.js';
import { messageLogger } from '../../helpers/log-recorder.js';

test('steps are undone in reverse order, with pushAfter placing a step right after another', async (t) => {
  const ran: string[] = [];
  const steps = new ShutdownSteps(silentLogger());
  for (const name of ['repo', 'inspection', 'pool', 'server']) steps.push(name, () => void ran.push(name));
  steps.pushAfter('server', 'actors', () => void ran.push('actors'));
  steps.push('api-file', () => void ran.push('api-file'));
  t.deepEqual(steps.order, ['api-file', 'server', 'actors', 'pool', 'inspection', 'repo']);
  await steps.run();
  t.deepEqual(ran, ['api-file', 'server', 'actors', 'pool', 'inspection', 'repo']);
});

test('a failing step does not stop the later ones, and the failures are reported together', async (t) => {
  const ran: string[] = [];
  const logs: string[] = [];
  const steps = new ShutdownSteps(messageLogger(logs));
  steps.push('lock', () => void ran.push('lock'));
  steps.push('actors', async () => {
    throw new Error('database is closed');
  });
  steps.push('server', () => {
    throw new Error('port stuck');
  });
  const err = await t.throwsAsync(steps.run(), { code: 'INTERNAL' });
  t.regex(err.message, /2 failed step\(s\): server: port stuck; actors: database is closed/);
  t.deepEqual(ran, ['lock'], 'the lock is still released');
  t.is(logs.length, 2);
  // idempotent: a second stop does not run anything again
  await t.throwsAsync(steps.run(), { code: 'INTERNAL' });
  t.deepEqual(ran, ['lock']);
});

test('nothing can be registered once shutdown started, and pushAfter needs an existing step', async (t) => {
  const steps = new ShutdownSteps(silentLogger());
  t.throws(() => steps.pushAfter('missing', 'x', () => {}), { message: /no shutdown step named "missing"/ });
  steps.push('a', () => {});
  await steps.run();
  t.throws(() => steps.push('late', () => {}), { message: /during shutdown/ });
});
