/**
 * The API under load: 50 concurrent clients on loopback calling `SectorsStatus` and `WorkerJobs`
 * as fast as the answers come, over HTTP (node:http with a keep-alive agent, as the CLI's
 * `ApiClient` calls) and over the WebSocket at `/rpc/v0` (one connection per client, one call in
 * flight each), against a real daemon
 * (`startDaemon`, in process). The clients run in a worker thread, so they share the CPU with the
 * daemon as a client on the same host would, but not its event loop.
 * - requests per second and p50/p99 latency per method and transport, with `Version` (no work
 *   behind it: the transport alone) as the baseline measured in the same run;
 * - `Version` over HTTP through Node's `fetch` too: undici's fetch spends several times the
 *   server's CPU per call in the client, so over fetch the clients measure mostly themselves (it
 *   made HTTP look ~10-24× slower than the WebSocket); that line says what a fetch client gets;
 * - the sealing slow-down: a CC sector pledged and sealed to Proving alone, then with the 50 clients
 *   (25 HTTP, 25 WebSocket, alternating the two methods) polling all the while.
 * BENCH_QUICK: a 2 KiB sector and 2 s per measurement (8 MiB and 10 s otherwise).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import WebSocket from 'ws';
import { simdPath } from '../../native/binding.js';
import { peakRssMiB, quick, report, seconds } from './bench-util.js';

const CLIENTS = 50;

type Transport = 'http' | 'fetch' | 'ws';

interface LoadJob {
  url: string;
  token: string;
  transports: Transport[];
  /** Calls as [method, params], taken in turn by each client. */
  calls: Array<[string, unknown[]]>;
  durationMs: number;
}

interface LoadResult {
  requests: number;
  errors: number;
  /** Latencies in ms, sorted. */
  latencies: number[];
  wallMs: number;
}

/** One client over HTTP with node:http on a shared keep-alive agent: a request, its answer, the next. */
async function httpClient(job: LoadJob, agent: Agent, stopAt: number, out: number[], errs: { n: number }, offset: number): Promise<void> {
  const url = new URL(`${job.url}/rpc/v0`);
  for (let i = offset; performance.now() < stopAt; i++) {
    const [method, params] = job.calls[i % job.calls.length]!;
    const t0 = performance.now();
    const text = JSON.stringify({ jsonrpc: '2.0', id: i, method: `Filecoin.${method}`, params });
    const body = await new Promise<{ error?: unknown }>((resolve, reject) => {
      const req = request(
        url,
        { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), authorization: `Bearer ${job.token}` } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(text);
    });
    out.push(performance.now() - t0);
    if (body.error) errs.n++;
  }
}

/** One client over HTTP with Node's fetch (undici): a request, its answer, the next. */
async function fetchClient(job: LoadJob, stopAt: number, out: number[], errs: { n: number }, offset: number): Promise<void> {
  for (let i = offset; performance.now() < stopAt; i++) {
    const [method, params] = job.calls[i % job.calls.length]!;
    const t0 = performance.now();
    const res = await fetch(`${job.url}/rpc/v0`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${job.token}` },
      body: JSON.stringify({ jsonrpc: '2.0', id: i, method: `Filecoin.${method}`, params }),
    });
    const body = (await res.json()) as { error?: unknown };
    out.push(performance.now() - t0);
    if (body.error) errs.n++;
  }
}

/** One client over the WebSocket: one call in flight at a time on its own connection. */
async function wsClient(job: LoadJob, stopAt: number, out: number[], errs: { n: number }, offset: number): Promise<void> {
  const ws = new WebSocket(`${job.url.replace(/^http/, 'ws')}/rpc/v0?token=${job.token}`);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  try {
    for (let i = offset; performance.now() < stopAt; i++) {
      const [method, params] = job.calls[i % job.calls.length]!;
      const t0 = performance.now();
      const answer = new Promise<{ error?: unknown }>((resolve) => ws.once('message', (d) => resolve(JSON.parse(String(d)))));
      ws.send(JSON.stringify({ jsonrpc: '2.0', id: i, method: `Filecoin.${method}`, params }));
      const body = await answer;
      out.push(performance.now() - t0);
      if (body.error) errs.n++;
    }
  } finally {
    ws.close();
  }
}

async function runLoad(job: LoadJob): Promise<LoadResult> {
  const latencies: number[] = [];
  const errs = { n: 0 };
  const t0 = performance.now();
  const stopAt = t0 + job.durationMs;
  const agent = new Agent({ keepAlive: true });
  await Promise.all(
    Array.from({ length: CLIENTS }, (_, c) => {
      const transport = job.transports[c % job.transports.length]!;
      if (transport === 'http') return httpClient(job, agent, stopAt, latencies, errs, c);
      if (transport === 'fetch') return fetchClient(job, stopAt, latencies, errs, c);
      return wsClient(job, stopAt, latencies, errs, c);
    }),
  );
  agent.destroy();
  return { requests: latencies.length, errors: errs.n, latencies: latencies.sort((a, b) => a - b), wallMs: performance.now() - t0 };
}

if (!isMainThread) {
  parentPort!.postMessage(await runLoad(workerData as LoadJob));
} else {
  await main();
}

/** Runs `job` in a worker thread. */
function load(job: LoadJob): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const w = new Worker(fileURLToPath(import.meta.url), { workerData: job });
    w.once('message', resolve);
    w.once('error', reject);
  });
}

async function main(): Promise<void> {
  const { startDaemon } = await import('../../src/daemon/daemon.js');
  const { silentLogger } = await import('../../src/log/logger.js');
  const size = quick ? '2KiB' : '8MiB';
  const durationMs = quick ? 2000 : 10_000;
  const dir = mkdtempSync(join(tmpdir(), 'ss-api-load-'));
  const d = await startDaemon({
    repoPath: join(dir, 'repo'),
    listen: '127.0.0.1:0',
    sectorSize: quick ? 2048 : 8 << 20,
    threads: 2,
    fixedRandomness: { ticket: '00'.repeat(32), seed: '11'.repeat(32) },
    epochMs: 20,
    seedWaitEpochs: 1,
    log: silentLogger(),
  });
  const token = readFileSync(join(d.repo.path, 'token'), 'utf8').trim();
  const rpc = async (method: string, params: unknown[]) => {
    const res = await fetch(`${d.url}/rpc/v0`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: `Filecoin.${method}`, params }),
    });
    const body = (await res.json()) as { result?: unknown; error?: { message: string } };
    if (body.error) throw new Error(`${method}: ${body.error.message}`);
    return body.result;
  };
  const sealOne = () =>
    seconds(async () => {
      const { Number: n } = (await rpc('PledgeSector', [])) as { Number: number };
      for (;;) {
        const s = (await rpc('SectorsStatus', [n, false])) as { State: string; LastErr?: string };
        if (s.State === 'Proving') return;
        if (s.State.endsWith('Failed')) throw new Error(`sector ${n} failed: ${s.LastErr}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    });
  const env = `${cpus()[0]?.model ?? 'CPU'}, SIMD path ${simdPath()}`;
  try {
    // warm (the graph's parent cache, the pool threads) and leave a sector for SectorsStatus
    await sealOne();
    const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor(xs.length * p))] ?? Number.NaN;
    const fetched = await load({ url: d.url, token, transports: ['fetch'], calls: [['Version', []]], durationMs });
    report({
      name: `Version, ${CLIENTS} clients over http via fetch (client cost)`,
      value: Math.round((fetched.requests * 1000) / fetched.wallMs),
      unit: 'req/s',
      note: `p50 ${pct(fetched.latencies, 0.5).toFixed(2)} ms, p99 ${pct(fetched.latencies, 0.99).toFixed(2)} ms; undici's fetch in the clients' thread`,
    });
    for (const transport of ['http', 'ws'] as const) {
      const base = await load({ url: d.url, token, transports: [transport], calls: [['Version', []]], durationMs });
      const baseRps = (base.requests * 1000) / base.wallMs;
      report({
        name: `Version (baseline), ${CLIENTS} clients over ${transport}`,
        value: Math.round(baseRps),
        unit: 'req/s',
        note: `p50 ${pct(base.latencies, 0.5).toFixed(2)} ms, p99 ${pct(base.latencies, 0.99).toFixed(2)} ms; ${env}`,
      });
      for (const [method, params] of [
        ['SectorsStatus', [0, false]],
        ['WorkerJobs', []],
      ] as Array<[string, unknown[]]>) {
        const r = await load({ url: d.url, token, transports: [transport], calls: [[method, params]], durationMs });
        const rps = (r.requests * 1000) / r.wallMs;
        report({
          name: `${method}, ${CLIENTS} clients over ${transport}: ratio to Version`,
          value: Number((rps / baseRps).toFixed(3)),
          unit: '×',
          note: `${Math.round(rps)} req/s, p50 ${pct(r.latencies, 0.5).toFixed(2)} ms, p99 ${pct(r.latencies, 0.99).toFixed(2)} ms, ${r.errors} errors in ${r.requests}`,
        });
      }
    }
    const alone = await sealOne();
    let stop = false;
    const polling = (async () => {
      let requests = 0;
      while (!stop) {
        const r = await load({
          url: d.url,
          token,
          transports: ['http', 'ws'],
          calls: [
            ['SectorsStatus', [0, false]],
            ['WorkerJobs', []],
          ],
          durationMs: 1000,
        });
        requests += r.requests;
      }
      return requests;
    })();
    const loaded = await sealOne();
    stop = true;
    const polled = await polling;
    report({ name: `daemon seal to Proving, ${size} CC sector, alone`, value: Number(alone.toFixed(3)), unit: 's', note: env });
    report({
      name: `daemon seal with ${CLIENTS} clients polling SectorsStatus and WorkerJobs: ratio to alone`,
      value: Number((loaded / alone).toFixed(3)),
      unit: '×',
      note: `${loaded.toFixed(2)} s vs ${alone.toFixed(2)} s; ${polled} requests answered meanwhile; peak RSS ${peakRssMiB().toFixed(0)} MiB (daemon and clients in one process)`,
    });
  } finally {
    await d.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
