/**
 * Test helpers that drive the real CLI (`node dist/src/cli/main.js`) against a temporary
 * repository: one-shot commands, and a daemon process (`run --listen 127.0.0.1:0`) that is
 * always stopped (SIGTERM, then SIGKILL) by `stop()`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The compiled CLI entry point. */
export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** A fresh temporary directory (the repository does not exist yet inside it). */
export function tmpDir(prefix = 'ss-cli-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

const START_TIMEOUT_MS = 120_000;

/** Runs one CLI command with `SECTOR_STORAGE_PATH=repo` (and `env`) and waits for it. */
export function runCli(repo: string, args: readonly string[], timeoutMs = 30_000, env: Readonly<Record<string, string>> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, SECTOR_STORAGE_PATH: repo, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
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

/** Runs a command that must succeed with `--json` and returns its parsed output. */
export async function cliJson<T = Record<string, unknown>>(repo: string, args: readonly string[]): Promise<T> {
  const r = await runCli(repo, [...args, '--json']);
  if (r.code !== 0) throw new Error(`sector-storage ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** Options of `sector-storage run` that sealing tests set (each becomes its flag). */
export interface DaemonFlags {
  /** `--sector-size` (a new repository only), e.g. `2KiB`. */
  sectorSize?: string;
  /** `--fixed-randomness TICKET:SEED`: 64 hex digits each. */
  fixedRandomness?: { ticket: string; seed: string };
  /** `--epoch-ms`: the local chain's epoch length. */
  epochMs?: number;
  /** `--seed-wait-epochs`: epochs from a landed pre-commit to its seed. */
  seedWaitEpochs?: number;
}

/** The `run` arguments for `flags`. */
export function daemonArgs(flags: DaemonFlags): string[] {
  const args: string[] = [];
  if (flags.sectorSize !== undefined) args.push('--sector-size', flags.sectorSize);
  if (flags.fixedRandomness) args.push('--fixed-randomness', `${flags.fixedRandomness.ticket}:${flags.fixedRandomness.seed}`);
  if (flags.epochMs !== undefined) args.push('--epoch-ms', String(flags.epochMs));
  if (flags.seedWaitEpochs !== undefined) args.push('--seed-wait-epochs', String(flags.seedWaitEpochs));
  return args;
}

/** A JSON-RPC 2.0 answer as it came over the wire. */
export interface RawRpcAnswer {
  status: number;
  result?: unknown;
  error?: { code: number; message: string; data?: { code: string } };
}

/** The daemon of `repo` (plain HTTP): its API URL and admin token, from its `api` and `token` files. */
export function managerOf(repo: string): { url: string; token: string } {
  const m = /^\/ip4\/([^/]+)\/tcp\/(\d+)\/http$/.exec(readFileSync(join(repo, 'api'), 'utf8').trim());
  if (!m) throw new Error(`unexpected api file in ${repo}`);
  return { url: `http://${m[1]}:${m[2]}`, token: readFileSync(join(repo, 'token'), 'utf8').trim() };
}

/**
 * Posts one JSON-RPC request to the daemon of `repo` exactly as given (no client-side checks), with
 * the repository's admin token or `token`.
 */
export async function rawRpc(repo: string, method: string, params: unknown, token?: string): Promise<RawRpcAnswer> {
  const manager = managerOf(repo);
  const res = await fetch(`${manager.url}/rpc/v0`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token ?? manager.token}` },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const body = (await res.json()) as Omit<RawRpcAnswer, 'status'>;
  return { status: res.status, ...body };
}

/** A daemon process. */
export interface DaemonProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Output so far. */
  output(): string;
  /** Settles when the process has exited, however it ended. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, waits for exit (SIGKILL after `graceMs`); resolves with the exit code and output. */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>;
  /** `kill -9`: SIGKILL, no chance to clean up; resolves once the process is gone. */
  kill(): Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>;
}

/**
 * Starts `sector-storage run` on `repo` (port 0 and one pool thread unless `extra` says otherwise)
 * and waits for its `api` file.
 * Rejects with the daemon's output if it exits first. `env` adds environment variables.
 */
export async function startDaemon(
  repo: string,
  extra: readonly string[] = [],
  env: Readonly<Record<string, string>> = {},
): Promise<DaemonProcess> {
  // `extra` may choose the address (a restart on the same port) or the threads
  const defaults = [...(extra.includes('--listen') ? [] : ['--listen', '127.0.0.1:0']), ...(extra.includes('--threads') ? [] : ['--threads', '1'])];
  const child = spawn(process.execPath, [CLI, 'run', ...defaults, ...extra], {
    env: { ...process.env, SECTOR_STORAGE_PATH: repo, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  child.stderr!.on('data', (d) => {
    out += d;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const daemon: DaemonProcess = {
    child,
    pid: child.pid!,
    output: () => out,
    exited,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      return { ...(await exited), output: out };
    },
    async stop(graceMs = 20_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      let forced = false;
      const timer = setTimeout(() => {
        forced = true;
        out += `\n[test helper: no exit ${graceMs} ms after SIGTERM; sent SIGKILL]\n`;
        child.kill('SIGKILL');
      }, graceMs);
      const r = await exited;
      clearTimeout(timer);
      if (!forced && r.signal !== null) out += `\n[test helper: the daemon died of ${r.signal} after SIGTERM]\n`;
      return { ...r, output: out };
    },
  };
  // Generous: start-up is quick when idle, but a test suite sharing two cores with compilers
  // has taken over 30 s to reach "listening". The bound only catches a daemon that never starts.
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (existsSync(join(repo, 'api')) && /listening on/.test(out)) return daemon;
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`daemon exited early (${child.exitCode ?? child.signalCode}):\n${out}`);
    }
    if (Date.now() > deadline) {
      await daemon.stop(1000);
      throw new Error(`daemon did not write its api file within ${START_TIMEOUT_MS / 1000} s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The pid recorded in the repository lock, if any. */
export function lockHolder(repo: string): number | undefined {
  try {
    return (JSON.parse(readFileSync(join(repo, 'repo.lock'), 'utf8')) as { pid: number }).pid;
  } catch {
    return undefined;
  }
}

/** Removes a temporary directory. */
export function cleanup(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
