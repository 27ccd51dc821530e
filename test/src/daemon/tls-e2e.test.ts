/**
 * The daemon behind TLS (`run --tls-cert FILE --tls-key FILE`), end to end, with a self-signed
 * certificate for 127.0.0.1 that the test makes with openssl (skipped, saying so, where openssl is
 * missing: Node's crypto cannot sign a certificate). The `api` file says `/https`; the CLI talks to
 * the daemon over https once it trusts the certificate through NODE_EXTRA_CA_CERTS and refuses to
 * before, naming the variable; a `sector-storage worker --manager wss://…` that trusts it the same
 * way seals a 2 KiB sector for a daemon that runs only AddPiece (and the final move to its
 * storage path) itself, so the worker's PC1 fetches the unsealed file through the daemon's https
 * `/remote`; the worker serves its own `/remote` over TLS too (`worker --tls-cert --tls-key`, its
 * own certificate), from which the daemon fetches the sealed sector for its storage path; the
 * CommR is the `seal` command's. Bad certificate or key files stop `run` and `worker` at once with
 * exit 1, naming the file.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { ApiClient } from '../../../src/api/rpc-client.js';
import { cleanup, runCli, startDaemon, tmpDir } from '../../helpers/cli-daemon.js';
import { startWorker } from '../../helpers/cli-worker.js';
import { callProblems, offlineSeal, type SealingCallRow, type SectorStatus, sleep } from '../../helpers/seal-checks.js';

const TICKET = 'a1'.repeat(32);
const SEED = '5e'.repeat(32);

const openssl = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const tlsTest = openssl ? test.serial : test.skip;
if (!openssl) console.log('skipping the TLS tests: openssl is not installed (Node cannot make a self-signed certificate)');

/** A self-signed certificate and its key for `subject` (a subjectAltName such as IP:127.0.0.1) in `dir`. */
function selfSigned(dir: string, name: string, subject: string): { cert: string; key: string } {
  const cert = join(dir, `${name}-cert.pem`);
  const key = join(dir, `${name}-key.pem`);
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${name}`, '-addext', `subjectAltName=${subject}`],
    { stdio: 'ignore' },
  );
  return { cert, key };
}

tlsTest('run and worker with a certificate or key they cannot use exit 1 at start, naming the file, and leave no api file or worker repository', async (t) => {
  const dir = tmpDir('ss-tls-bad-');
  t.teardown(() => cleanup(dir));
  const repo = join(dir, 'repo');
  const a = selfSigned(dir, 'a', 'IP:127.0.0.1');
  const b = selfSigned(dir, 'b', 'IP:127.0.0.1');
  const notPem = join(dir, 'not.pem');
  writeFileSync(notPem, 'hello\n');
  const run = (cert: string, key: string) => runCli(repo, ['run', '--listen', '127.0.0.1:0', '--threads', '1', '--sector-size', '2KiB', '--tls-cert', cert, '--tls-key', key], 60_000);
  const cases: [string, string, RegExp][] = [
    [join(dir, 'missing.pem'), a.key, /--tls-cert .*missing\.pem: cannot read it .*ENOENT.*\[FILE_UNREADABLE\]/],
    [a.cert, join(dir, 'missing-key.pem'), /--tls-key .*missing-key\.pem: cannot read it .*\[FILE_UNREADABLE\]/],
    [notPem, a.key, /--tls-cert .*not\.pem holds no PEM certificate.*\[INVALID_ARGUMENT\]/],
    [a.cert, notPem, /--tls-key .*not\.pem holds no PEM private key.*\[INVALID_ARGUMENT\]/],
    [a.cert, b.key, /--tls-cert .*a-cert\.pem and --tls-key .*b-key\.pem do not make a TLS certificate and its key: .*key values mismatch/],
  ];
  for (const [cert, key, message] of cases) {
    const r = await run(cert, key);
    t.is(r.code, 1, r.stderr);
    t.regex(r.stderr, message);
    t.false(existsSync(join(repo, 'api')));
  }
  const half = await runCli(repo, ['run', '--tls-cert', a.cert]);
  t.is(half.code, 2, 'one of the pair is a usage mistake');
  t.regex(half.stderr, /--tls-cert and --tls-key go together/);
  // a worker checks its files the same way, before it opens its repository or calls the manager
  const worker = (cert: string, key: string) =>
    runCli(repo, ['worker', '--manager', 'http://127.0.0.1:9', '--token', 'x', '--repo', join(dir, 'worker'), '--listen', '127.0.0.1:0', '--tls-cert', cert, '--tls-key', key], 60_000);
  for (const [cert, key, message] of cases) {
    const r = await worker(cert, key);
    t.is(r.code, 1, r.stderr);
    t.regex(r.stderr, message);
  }
  t.false(existsSync(join(dir, 'worker')), 'no worker repository was made');
  const halfWorker = await runCli(repo, ['worker', '--manager', 'http://127.0.0.1:9', '--token', 'x', '--tls-key', a.key]);
  t.is(halfWorker.code, 2);
  t.regex(halfWorker.stderr, /--tls-cert and --tls-key go together/);
});

tlsTest('behind TLS: the api file says /https, the CLI talks https once it trusts the certificate, and a worker connecting with wss:// seals a 2 KiB sector, fetching from the daemon over https, with the CommR of the seal command; the worker serves its own /remote over TLS, from which the daemon takes the sealed file', async (t) => {
  const dir = tmpDir('ss-tls-');
  const repo = join(dir, 'manager');
  const { cert, key } = selfSigned(dir, 'daemon', 'IP:127.0.0.1');
  const workerTls = selfSigned(dir, 'worker', 'IP:127.0.0.1');
  // each process trusts both certificates: the CLI and the worker the daemon's, the daemon the worker's
  const bundle = join(dir, 'trusted.pem');
  writeFileSync(bundle, Buffer.concat([readFileSync(cert), readFileSync(workerTls.cert)]));
  const trust = { NODE_EXTRA_CA_CERTS: bundle };
  const daemon = await startDaemon(
    repo,
    ['--sector-size', '2KiB', '--fixed-randomness', `${TICKET}:${SEED}`, '--epoch-ms', '100', '--seed-wait-epochs', '2', '--local-tasks', 'AP', '--tls-cert', cert, '--tls-key', key],
    trust,
  );
  t.teardown(async () => {
    await daemon.kill();
    cleanup(dir);
  });

  const addr = readFileSync(join(repo, 'api'), 'utf8').trim();
  const m = /^\/ip4\/127\.0\.0\.1\/tcp\/(\d+)\/https$/.exec(addr);
  t.truthy(m, `the api file says https: ${addr}`);
  const port = m![1];
  const token = readFileSync(join(repo, 'token'), 'utf8').trim();

  const untrusted = await runCli(repo, ['sectors', 'list']);
  t.is(untrusted.code, 1);
  t.regex(untrusted.stderr, /presented a certificate this process does not trust .*NODE_EXTRA_CA_CERTS.*\[DAEMON_UNREACHABLE\]/);
  const listed = await runCli(repo, ['sectors', 'list', '--json'], 30_000, trust);
  t.is(listed.code, 0, listed.stderr);
  t.deepEqual(JSON.parse(listed.stdout), []);

  const w = startWorker(repo, join(dir, 'worker'), {
    manager: { url: `wss://127.0.0.1:${port}`, token },
    taskTypes: 'PC1,PC2,C1,C2,FIN',
    extra: ['--tls-cert', workerTls.cert, '--tls-key', workerTls.key],
    env: trust,
  });
  t.teardown(() => w.kill().then(() => {}));
  const started = await w.started();
  t.regex(started.url, /^https:\/\/127\.0\.0\.1:\d+$/, 'the worker attaches its paths with an https URL');
  await w.logged(/^connected to the manager/);

  const pledged = await runCli(repo, ['sectors', 'pledge', '--json'], 30_000, trust);
  t.is(pledged.code, 0, pledged.stderr);
  const n = (JSON.parse(pledged.stdout) as { Number: number }).Number;
  // this process trusts the certificate explicitly (ApiClient's ca option)
  const api = new ApiClient({ url: `https://127.0.0.1:${port}`, token, ca: readFileSync(cert) });
  t.teardown(() => api.close());
  const deadline = Date.now() + 180_000;
  let status: SectorStatus;
  for (;;) {
    status = (await api.call('SectorsStatus', n)) as SectorStatus;
    if (status.State === 'Proving') break;
    if (/Failed|Faulty|Removed/.test(status.State) || Date.now() > deadline) {
      t.fail(`sector ${n} is ${status.State}: ${status.LastErr}`);
      return;
    }
    await sleep(200);
  }
  const reference = await offlineSeal({ sectorSize: '2KiB', number: n, ticket: TICKET, seed: SEED });
  t.is(status.CommD, reference.commD);
  t.is(status.CommR, reference.commR);
  const calls = await runCli(repo, ['sealing', 'calls', '--sector', String(n), '--json'], 30_000, trust);
  t.is(calls.code, 0, calls.stderr);
  const rows = JSON.parse(calls.stdout) as SealingCallRow[];
  t.deepEqual(callProblems(rows, 1).problems, []);
  for (const row of rows) t.is(row.Worker, row.Task === 'AP' || row.Task === 'GET' ? 'local' : started.id, `${row.Task} ran on its worker`);
  // PC1 on the worker read the daemon's unsealed file through its https /remote
  t.true(w.output().includes(`fetching the unsealed file of s-t01000-${n} from another node`), w.output());
  // the daemon took the sealed sector the worker made for its own storage path, from the worker's https /remote
  t.true(statSync(join(repo, 'storage', 'sealed', `s-t01000-${n}`)).size > 0, 'the sealed file is on the daemon\'s path');
  const stopped = await w.stop();
  t.is(stopped.code, 0, stopped.output);
});
