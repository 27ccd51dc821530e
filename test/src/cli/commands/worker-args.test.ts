/**
 * `sector-storage worker --manager`: the forms an operator gives for the manager's address, with
 * or without TLS, and the ones refused.
 */
import test from 'ava';
import { parseManagerUrl } from '../../../../src/cli/commands/worker.js';
import { cleanup, runCli, tmpDir } from '../../../helpers/cli-daemon.js';

test('--manager takes http(s):// and ws(s):// URLs and an api multiaddr; the s means TLS for both the calls and the WebSocket', (t) => {
  t.is(parseManagerUrl('http://127.0.0.1:2345'), 'http://127.0.0.1:2345');
  t.is(parseManagerUrl('ws://127.0.0.1:2345'), 'http://127.0.0.1:2345');
  t.is(parseManagerUrl('https://miner.example:2345/'), 'https://miner.example:2345');
  t.is(parseManagerUrl('wss://127.0.0.1:2345/rpc/worker/v0'), 'https://127.0.0.1:2345', 'a path is the daemon\'s to choose');
  t.is(parseManagerUrl('/ip4/127.0.0.1/tcp/2345/https'), 'https://127.0.0.1:2345');
  t.is(parseManagerUrl('/ip4/127.0.0.1/tcp/2345/http'), 'http://127.0.0.1:2345');
});

test('--manager that is no URL, or of another scheme, is refused naming it: exit 1 before anything starts', async (t) => {
  t.throws(() => parseManagerUrl('127.0.0.1:2345'), { code: 'INVALID_ARGUMENT', message: /--manager "127\.0\.0\.1:2345" is not a URL \(http:\/\/, https:\/\/, ws:\/\/, wss:\/\/\) or an API multiaddr/ });
  t.throws(() => parseManagerUrl('ftp://127.0.0.1:2345'), { code: 'INVALID_ARGUMENT', message: /ftp: is not http, https, ws or wss/ });
  t.throws(() => parseManagerUrl('not a url'), { code: 'INVALID_ARGUMENT', message: /is not a URL/ });
  t.throws(() => parseManagerUrl('/ip4/127.0.0.1/udp/2345'), { code: 'INVALID_ARGUMENT', message: /not a multiaddr/ });
  const dir = tmpDir('ss-worker-args-');
  t.teardown(() => cleanup(dir));
  const r = await runCli(dir, ['worker', '--manager', 'ftp://127.0.0.1:2345', '--token', 'x', '--repo', dir]);
  t.is(r.code, 1);
  t.regex(r.stderr, /^Error: --manager "ftp:\/\/127\.0\.0\.1:2345": ftp: is not http, https, ws or wss \[INVALID_ARGUMENT\]/);
});
