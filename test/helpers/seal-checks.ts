/**
 * Checks of sealing through a real daemon (test/helpers/cli-daemon.ts), shared by the end-to-end,
 * SIGKILL-matrix and randomized crash tests: what a sector and its calls look like through the
 * CLI, the offline `seal` command as the reference for CommD/CommR, the rules a crash must not
 * break (each phase returned exactly once, nothing started again after it), and a comparison
 * of the storage path's files with the index.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { isCacheTemporary } from '../../src/sector/layout.js';
import { CLI, type CliResult, cliJson, rawRpc } from './cli-daemon.js';

/** `sectors status --json`, the fields these tests read. */
export interface SectorStatus {
  SectorID: number;
  State: string;
  CommD: string | null;
  CommR: string | null;
  Ticket: { Value: string | null; Epoch: number };
  Seed: { Value: string | null; Epoch: number };
  ProofInfo: { Sha256: string; Size: number; Prover: string } | null;
  Deals: string[];
  Retries: number;
  LastErr: string;
  SealProof: number;
  Pieces: Array<{ PieceCID: string; PaddedSize: number; PaddedOffset: number; Offset: number; PayloadSize: number; Filler: boolean }>;
}

/** `sealing calls --sector N --json`, one call. */
export interface SealingCallRow {
  ID: string;
  WorkID: string;
  Task: string;
  State: string;
  Outcome?: string;
  Attempts: number;
  Created: number;
  Started?: number;
  Finished?: number;
  /** The worker that ran it last (`local`: the daemon's pool; a remote worker's id). */
  Worker?: string;
  Error?: { code: string; message: string };
}

/** A piece as `pieces add --json` reported it. */
export interface AddedPiece {
  pieceCid: string;
  sector: number;
  offset: number;
  paddedOffset: number;
  paddedSize: number;
  payloadSize: number;
}

/** The phases a sealed sector runs once each besides its AddPieces. */
export const SEALING_PHASES = ['PC1', 'PC2', 'C1', 'C2', 'FIN', 'GET'] as const;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * The seed of a randomized test: the environment variable `envName` when set (to replay a run),
 * else a fresh one. The caller prints it with the variable's name.
 */
export function testSeed(envName: string): number {
  const given = process.env[envName];
  if (given !== undefined && given !== '') {
    const n = Number(given);
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${envName}=${given} is not a non-negative integer`);
    return n;
  }
  return Math.floor(Math.random() * 2 ** 31);
}

/** A seeded generator of floats in [0, 1) (mulberry32): a seed replays the same sequence. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** The sector's status through the API (cheaper than a CLI process per poll). */
export async function sectorStatus(repo: string, n: number): Promise<SectorStatus> {
  const r = await rawRpc(repo, 'Filecoin.SectorsStatus', [n]);
  if (r.error) throw new Error(`SectorsStatus(${n}): ${r.error.message}`);
  return r.result as SectorStatus;
}

/**
 * Polls until sector `n` is in one of `states`. Fails naming the state it is stuck in, or at
 * once when it lands in a failure state not listed (nothing in these tests should fail).
 */
export async function waitForState(repo: string, n: number, states: readonly string[], timeoutMs = 300_000): Promise<SectorStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: SectorStatus | undefined;
  while (Date.now() < deadline) {
    last = await sectorStatus(repo, n);
    if (states.includes(last.State)) return last;
    if (/Failed|Faulty|Removed|Unreadable/.test(last.State)) {
      throw new Error(`sector ${n} is in ${last.State} waiting for ${states.join('/')}: ${last.LastErr}`);
    }
    await sleep(100);
  }
  throw new Error(`sector ${n} did not reach ${states.join('/')} within ${timeoutMs} ms (it is ${last?.State})`);
}

/** Polls `sealing jobs --json` (through the API) until a call of `task` for sector `n` is running. */
export async function waitForRunning(repo: string, n: number, task: string, timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const r = await rawRpc(repo, 'Filecoin.WorkerJobs', []);
    const jobs = Object.values((r.result ?? {}) as Record<string, Array<{ Sector: { Number: number }; Task: string; RunWait: number }>>).flat();
    if (jobs.some((j) => j.Sector.Number === n && j.Task.endsWith(taskWireSuffix(task)) && j.RunWait === 0)) return;
    await sleep(50);
  }
  throw new Error(`no ${task} call of sector ${n} was running within ${timeoutMs} ms`);
}

/**
 * Polls `sealing jobs --json` (through the API) until the running call of `task` for sector `n`
 * reports progress of `phase` (e.g. `pc1`: labelling, past its fetch and parent cache).
 */
export async function waitForProgress(repo: string, n: number, task: string, phase: string, timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const r = await rawRpc(repo, 'Filecoin.WorkerJobs', []);
    const jobs = Object.values((r.result ?? {}) as Record<string, Array<{ Sector: { Number: number }; Task: string; Progress?: { Phase: string } }>>).flat();
    if (jobs.some((j) => j.Sector.Number === n && j.Task.endsWith(taskWireSuffix(task)) && j.Progress?.Phase === phase)) return;
    await sleep(25);
  }
  throw new Error(`no ${task} call of sector ${n} reported ${phase} progress within ${timeoutMs} ms`);
}

/** The end of Lotus's wire name of a task (`seal/v0/precommit/2` for PC2). */
function taskWireSuffix(task: string): string {
  const names: Record<string, string> = {
    AP: 'addpiece',
    PC1: 'precommit/1',
    PC2: 'precommit/2',
    C1: 'commit/1',
    C2: 'commit/2',
    FIN: 'finalize',
    GET: 'fetch',
  };
  const s = names[task];
  if (!s) throw new Error(`no wire name for ${task}`);
  return s;
}

/** The reference: `sector-storage seal` for the repository's miner (t01000), offline. */
export interface OfflineSeal {
  commD: string;
  commR: string;
  verified: boolean;
  pieces: Array<{ pieceCid: string; paddedOffset: number; paddedSize: number; payloadSize: number }>;
}

/**
 * Runs `sector-storage seal --sector-size SIZE --sector-number N --ticket HEX --seed HEX --pieces …
 * --json` in its own process (no daemon involved) and returns its result.
 */
export async function offlineSeal(o: { sectorSize: string; number: number; ticket: string; seed: string; pieces?: readonly string[] }): Promise<OfflineSeal> {
  const args = ['seal', '--sector-size', o.sectorSize, '--miner-addr', 't01000', '--sector-number', String(o.number), '--ticket', o.ticket, '--seed', o.seed];
  for (const p of o.pieces ?? []) args.push('--pieces', p);
  const r = await runOffline([...args, '--json'], 600_000);
  if (r.code !== 0) throw new Error(`seal ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as OfflineSeal;
}

/** Runs a CLI command that needs no daemon (no repository either). */
function runOffline(args: readonly string[], timeoutMs: number): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** What {@link callProblems} found besides problems: how the phases got there. */
export interface CallSummary {
  calls: SealingCallRow[];
  /** The call that returned each phase ok (AP: one per piece, in sector order). */
  ok: Record<string, SealingCallRow[]>;
  /** Calls that did not end ok (interrupted or aborted attempts, stalled uploads). */
  notOk: SealingCallRow[];
  /** Calls dispatched more than once: re-queued after the daemon died under them. */
  requeued: SealingCallRow[];
}

/**
 * Checks the call history of a sector that reached Proving against the crash rules:
 * - PC1, PC2, C1, C2, FIN and GET each returned exactly once with outcome ok;
 * - one AddPiece returned ok per piece of the sector (fillers included), each its own work;
 * - every other call ended without a result the sector used (interrupted, aborted, or a failed
 *   upload), and no call of a phase was created after that phase's ok call finished (a finished
 *   phase never started again);
 * - every call is closed (`returned`).
 * Returns the problems found (empty when the history is clean) and a summary.
 */
export function callProblems(calls: readonly SealingCallRow[], pieces: number): { problems: string[]; summary: CallSummary } {
  const problems: string[] = [];
  const sorted = [...calls].sort((a, b) => a.Created - b.Created || a.ID.localeCompare(b.ID));
  const ok: Record<string, SealingCallRow[]> = {};
  for (const c of sorted) if (c.Outcome === 'ok') ok[c.Task] = [...(ok[c.Task] ?? []), c];
  const describe = (c: SealingCallRow) => `${c.Task} ${c.ID.slice(0, 8)} (${c.State}, ${c.Outcome ?? 'no outcome'}, attempts ${c.Attempts})`;
  for (const c of sorted) if (c.State !== 'returned') problems.push(`${describe(c)} is still open`);
  for (const task of SEALING_PHASES) {
    const done = ok[task] ?? [];
    if (done.length !== 1) {
      problems.push(`${task} returned ok ${done.length} times: ${sorted.filter((c) => c.Task === task).map(describe).join('; ')}`);
      continue;
    }
    const finished = done[0]!.Finished ?? 0;
    for (const c of sorted.filter((x) => x.Task === task && x !== done[0])) {
      if (c.Outcome !== 'interrupted' && c.Outcome !== 'aborted') problems.push(`${describe(c)}: a ${task} attempt that did not end interrupted or aborted`);
      if (c.Created > finished) problems.push(`${describe(c)} was started after ${task} had returned ok`);
    }
  }
  const aps = ok.AP ?? [];
  if (aps.length !== pieces) problems.push(`${aps.length} AddPiece calls returned ok for ${pieces} pieces`);
  const apWork = new Map<string, SealingCallRow>();
  for (const c of aps) {
    if (apWork.has(c.WorkID)) problems.push(`${describe(c)} repeats the work of ${describe(apWork.get(c.WorkID)!)}`);
    apWork.set(c.WorkID, c);
  }
  for (const c of sorted.filter((x) => x.Task === 'AP' && x.Outcome !== 'ok')) {
    const same = apWork.get(c.WorkID);
    if (same && c.Created > (same.Finished ?? 0)) problems.push(`${describe(c)} was started after the same AddPiece had returned ok`);
  }
  // every other task type (UNS) must not appear in a sealing run
  for (const c of sorted) if (c.Task !== 'AP' && !(SEALING_PHASES as readonly string[]).includes(c.Task)) problems.push(`unexpected call ${describe(c)}`);
  return {
    problems,
    summary: {
      calls: sorted,
      ok,
      notOk: sorted.filter((c) => c.Outcome !== 'ok'),
      requeued: sorted.filter((c) => c.Attempts > 1),
    },
  };
}

/** `sealing calls --sector N --json` through the CLI. */
export function sealingCalls(repo: string, n: number): Promise<SealingCallRow[]> {
  return cliJson<SealingCallRow[]>(repo, ['sealing', 'calls', '--sector', String(n)]);
}

const SECTOR_FILE = /^s-t01000-(\d+)$/;
const PATH_ENTRIES = new Set(['unsealed', 'sealed', 'cache', 'sectorstore.json']);
const FILE_TYPE_BITS = { unsealed: 1, sealed: 2, cache: 4 } as const;

/** One admin API call that must succeed. */
async function api<T>(repo: string, method: string, params: unknown[]): Promise<T> {
  const r = await rawRpc(repo, `Filecoin.${method}`, params);
  if (r.error) throw new Error(`${method}(${JSON.stringify(params)}): ${r.error.message}`);
  return r.result as T;
}

/**
 * Compares the repository's storage path (`<repo>/storage`) with the index through the API (the
 * calls `storage find` and `storage list` make): every entry is a sector file or directory that
 * the catalog declares on this path (`StorageFindSector`), of a sector the daemon lists; the path
 * reports no entry it does not recognise (`StorageLocalPaths`); with `quiescent` (no task running), no
 * cache directory holds a temporary; and nothing the index declares on the path is missing from
 * it. Returns the problems found.
 */
export async function storageProblems(repo: string, options: { quiescent?: boolean } = {}): Promise<string[]> {
  const root = join(repo, 'storage');
  const problems: string[] = [];
  const sectors = new Set(await api<number[]>(repo, 'SectorsList', []));
  const local = await api<Array<{ ID: string; LocalPath: string; UnknownEntries?: string[] }>>(repo, 'StorageLocalPaths', []);
  const path = local.find((l) => l.LocalPath === root);
  if (!path) return [`${root} is not one of the daemon's storage paths: ${JSON.stringify(local)}`];
  for (const u of path.UnknownEntries ?? []) problems.push(`the daemon reports an entry it does not know: ${u}`);
  for (const entry of readdirSync(root)) if (!PATH_ENTRIES.has(entry)) problems.push(`storage/${entry} is not part of a storage path`);
  const onDisk = new Set<string>();
  for (const type of ['unsealed', 'sealed', 'cache'] as const) {
    const dir = join(root, type);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) {
      const m = SECTOR_FILE.exec(name);
      if (!m) {
        problems.push(`storage/${type}/${name} is not a sector file`);
        continue;
      }
      const n = Number(m[1]);
      onDisk.add(`${type}/${name}`);
      if (!sectors.has(n)) problems.push(`storage/${type}/${name} is on disk but the daemon lists no sector ${n}`);
      const found = await api<Array<{ ID: string }>>(repo, 'StorageFindSector', [{ Miner: 1000, Number: n }, FILE_TYPE_BITS[type], 0, false]);
      if (!found.some((f) => f.ID === path.ID)) problems.push(`storage/${type}/${name} is on disk but the index does not declare it on this path`);
      if (type === 'cache' && options.quiescent) {
        for (const f of readdirSync(join(dir, name))) if (isCacheTemporary(f)) problems.push(`storage/cache/${name}/${f} is a temporary left behind`);
      }
    }
  }
  // and the other way: nothing the index declares on this path is missing from it
  for (const n of sectors) {
    for (const type of ['unsealed', 'sealed', 'cache'] as const) {
      if (onDisk.has(`${type}/s-t01000-${n}`)) continue;
      const found = await api<Array<{ ID: string }>>(repo, 'StorageFindSector', [{ Miner: 1000, Number: n }, FILE_TYPE_BITS[type], 0, false]);
      if (found.some((f) => f.ID === path.ID)) problems.push(`the index declares storage/${type}/s-t01000-${n}, which is not on disk`);
    }
  }
  return problems;
}
