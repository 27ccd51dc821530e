/**
 * A `sector-storage worker` process against a daemon started with cli-daemon.ts: its own
 * repository and storage path, the daemon's URL and admin token, `--json` so its start line can be
 * parsed. `stop()` sends SIGTERM (SIGKILL after a grace period), `kill()` is `kill -9`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { CLI, managerOf } from './cli-daemon.js';

/** What a worker printed when it started (`--json`). */
export interface WorkerStart {
  id: string;
  session: string;
  url: string;
  listen: string;
  taskTypes: string[];
  paths: { ID: string; LocalPath: string }[];
}

/** The message of a log line: a pino JSON line's `msg`, or the line as it is. */
function messageOf(line: string): string {
  if (!line.startsWith('{')) return line;
  try {
    return String((JSON.parse(line) as { msg?: unknown }).msg ?? '');
  } catch {
    return line;
  }
}

/** A worker process. */
export interface WorkerProcess {
  readonly child: ChildProcess;
  /** Standard output (the JSON start line). */
  stdout(): string;
  /** Standard error (the log). */
  output(): string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the start line once printed; rejects with the log if the process exits first. */
  started(timeoutMs?: number): Promise<WorkerStart>;
  /** Resolves once the log has a line matching `re` (counting from `from` characters in). */
  logged(re: RegExp, timeoutMs?: number, from?: number): Promise<string>;
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>;
  kill(): Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>;
}

export interface WorkerFlags {
  /** The daemon's URL and token; default: those of `daemonRepo`. */
  manager?: { url: string; token: string };
  taskTypes?: string;
  threads?: number;
  storage?: string;
  extra?: readonly string[];
  env?: Readonly<Record<string, string>>;
}

/** Starts `sector-storage worker` with its repository at `repo` for the daemon of `daemonRepo`. */
export function startWorker(daemonRepo: string, repo: string, flags: WorkerFlags = {}): WorkerProcess {
  const manager = flags.manager ?? managerOf(daemonRepo);
  const args = ['worker', '--manager', manager.url, '--token', manager.token, '--repo', repo, '--listen', '127.0.0.1:0', '--json'];
  args.push('--threads', String(flags.threads ?? 1));
  if (flags.taskTypes) args.push('--task-types', flags.taskTypes);
  if (flags.storage) args.push('--storage', flags.storage);
  args.push(...(flags.extra ?? []));
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, SECTOR_STORAGE_PATH: '', ...flags.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  child.stderr!.on('data', (d) => {
    err += d;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const alive = () => child.exitCode === null && child.signalCode === null;
  const wait = async <T>(what: string, fn: () => T | undefined, timeoutMs: number): Promise<T> => {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const v = fn();
      if (v !== undefined) return v;
      if (!alive()) throw new Error(`worker exited (${child.exitCode ?? child.signalCode}) before ${what}:\n${err}`);
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}:\n${err}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  return {
    child,
    stdout: () => out,
    output: () => err,
    exited,
    started: (timeoutMs = 30_000) =>
      wait(
        'its start line',
        () => {
          try {
            return JSON.parse(out) as WorkerStart;
          } catch {
            return undefined;
          }
        },
        timeoutMs,
      ),
    logged: (re, timeoutMs = 30_000, from = 0) => wait(`a log line matching ${re}`, () => err.slice(from).split('\n').find((l) => re.test(messageOf(l))), timeoutMs),
    async stop(graceMs = 20_000) {
      if (alive()) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const r = await exited;
      clearTimeout(timer);
      return { ...r, output: err };
    },
    async kill() {
      if (alive()) child.kill('SIGKILL');
      return { ...(await exited), output: err };
    },
  };
}
