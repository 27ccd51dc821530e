/**
 * The cost of watching the daemon on a whole seal: one 8 MiB committed-capacity sector pledged
 * over the API of a real daemon (`startDaemon`, in process) and sealed to Proving, in three
 * settings, each its own repository and daemon, the rounds interleaved so drift of the machine
 * spreads over all three:
 * - plain: `run` as shipped (the inspection hub always feeds `/inspect`; nobody watches);
 * - inspect: `run --inspect` (the Stately publisher with a `@statelyai/inspect` WebSocket receiver
 *   attached) and an `/inspect/events` stream read as the page reads it;
 * - metrics: `/metrics` scraped every second.
 * Goal: each under 2 % slower than plain (median of the rounds). BENCH_QUICK: 2 KiB, 2 rounds.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createWebSocketReceiver } from '@statelyai/inspect';
import { type Daemon, startDaemon } from '../../src/daemon/daemon.js';
import { silentLogger } from '../../src/log/logger.js';
import { simdPath } from '../../native/binding.js';
import { median, peakRssMiB, quick, report, seconds } from './bench-util.js';

const SIZE = quick ? '2KiB' : '8MiB';
const ROUNDS = quick ? 2 : 3;
const TICKET = '00'.repeat(32);
const SEED = '11'.repeat(32);
type Mode = 'plain' | 'inspect' | 'metrics';
const MODES: Mode[] = ['plain', 'inspect', 'metrics'];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function rpc(d: Daemon, method: string, params: unknown[]): Promise<unknown> {
  const token = readFileSync(join(d.repo.path, 'token'), 'utf8').trim();
  const res = await fetch(`${d.url}/rpc/v0`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: `Filecoin.${method}`, params }),
  });
  const body = (await res.json()) as { result?: unknown; error?: { message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result;
}

/** Pledges a sector and waits for Proving; seconds. */
async function sealOne(d: Daemon): Promise<number> {
  return seconds(async () => {
    const { Number: n } = (await rpc(d, 'PledgeSector', [])) as { Number: number };
    for (;;) {
      const s = (await rpc(d, 'SectorsStatus', [n, false])) as { State: string; LastErr?: string };
      if (s.State === 'Proving') return;
      if (s.State.endsWith('Failed')) throw new Error(`sector ${n} failed: ${s.LastErr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  });
}

const dir = mkdtempSync(join(tmpdir(), 'ss-obs-bench-'));

const daemons = new Map<Mode, Daemon>();
const stops: (() => void)[] = [];
try {
  for (const mode of MODES) {
    const port = mode === 'inspect' ? await freePort() : undefined;
    const d = await startDaemon({
      repoPath: join(dir, mode),
      listen: '127.0.0.1:0',
      sectorSize: SIZE === '8MiB' ? 8 << 20 : 2048,
      threads: 2,
      fixedRandomness: { ticket: TICKET, seed: SEED },
      epochMs: 20,
      seedWaitEpochs: 1,
      log: silentLogger(),
      ...(port !== undefined ? { inspectPort: port } : {}),
    });
    daemons.set(mode, d);
    if (mode === 'inspect') {
      let received = 0;
      createWebSocketReceiver({ server: `ws://127.0.0.1:${port}` }).subscribe(() => {
        received++;
      });
      const abort = new AbortController();
      const res = await fetch(`${d.url}/inspect/events`, { signal: abort.signal });
      const reader = res.body!.getReader();
      (async () => {
        for (;;) if ((await reader.read()).done) return;
      })().catch(() => {});
      stops.push(() => abort.abort());
      stops.push(() => report({ name: 'Stately receiver messages during the inspect rounds', value: received, unit: 'messages' }));
    }
    if (mode === 'metrics') {
      const timer = setInterval(() => {
        fetch(`${d.url}/metrics`)
          .then((r) => r.text())
          .catch(() => {});
      }, 1000);
      stops.push(() => clearInterval(timer));
    }
  }
  // warm: the parent cache of the graph and each daemon's pool threads
  for (const mode of MODES) await sealOne(daemons.get(mode)!);
  const times: Record<Mode, number[]> = { plain: [], inspect: [], metrics: [] };
  for (let round = 0; round < ROUNDS; round++) {
    // rotate the order so no setting always runs first
    for (let i = 0; i < MODES.length; i++) {
      const mode = MODES[(i + round) % MODES.length]!;
      times[mode].push(await sealOne(daemons.get(mode)!));
    }
  }
  const base = median(times.plain);
  const env = `${cpus()[0]?.model ?? 'CPU'}, SIMD path ${simdPath()}, peak RSS ${peakRssMiB().toFixed(0)} MiB (three daemons in one process)`;
  report({ name: `daemon seal to Proving, ${SIZE} CC sector, plain`, value: base, unit: 's', note: `median of ${ROUNDS}: ${times.plain.map((x) => x.toFixed(2)).join(', ')}; ${env}` });
  for (const mode of ['inspect', 'metrics'] as const) {
    const m = median(times[mode]);
    const what = mode === 'inspect' ? 'with --inspect (a Stately receiver and an /inspect/events reader attached)' : 'with /metrics scraped every second';
    report({
      name: `daemon seal ${what}: ratio to plain`,
      value: Number((m / base).toFixed(3)),
      unit: '×',
      note: `${m.toFixed(2)} s vs ${base.toFixed(2)} s (${(((m - base) / base) * 100).toFixed(1)} %; goal < 2 %); rounds ${times[mode].map((x) => x.toFixed(2)).join(', ')}`,
    });
  }
} finally {
  for (const stop of stops) stop();
  for (const d of daemons.values()) await d.stop();
  rmSync(dir, { recursive: true, force: true });
}
