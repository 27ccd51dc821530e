/**
 * A daemon on a fixed loopback port and named `sector-storage worker` processes, each with its own
 * repository and storage path, for the cross-process tests of remote workers: every process can
 * be killed (`kill -9`) and started again on the same repository, and the workers find the
 * restarted daemon at the same address.
 */
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { initStoragePath } from '../../src/storage/storage-config.js';
import { cleanup, type DaemonProcess, daemonArgs, startDaemon, tmpDir } from './cli-daemon.js';
import { startWorker, type WorkerProcess, type WorkerStart } from './cli-worker.js';

export const TICKET = 'a1'.repeat(32);
export const SEED = '5e'.repeat(32);

export interface WorkerSpec {
  taskTypes: string;
  /** Its storage path can also store (the destination of GET). */
  canStore?: boolean;
  /** The storage path's MaxStorage in bytes (a path that is as good as full). */
  maxStorage?: number;
}

export interface ClusterOptions {
  sectorSize: string;
  /** `run --local-tasks`. */
  localTasks: string;
  workers: Record<string, WorkerSpec>;
  /** `run --worker-grace-ms`. */
  graceMs?: number;
  /** Heartbeat period of every process (`SECTOR_STORAGE_HEARTBEAT_MS`). @default 1000 */
  heartbeatMs?: number;
  /** Extra environment of the first start of the daemon and of each worker (a crash point). */
  env?: { daemon?: Record<string, string>; workers?: Record<string, Record<string, string>> };
}

/** `p`, or a rejection with `why()` after `ms`. */
async function within<T>(p: Promise<T>, ms: number, why: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(why())), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export class Cluster {
  readonly dir: string;
  readonly repo: string;
  readonly #o: ClusterOptions;
  readonly #port: number;
  readonly #env: Record<string, string>;
  daemon!: DaemonProcess;
  readonly workers: Record<string, WorkerProcess> = {};
  /** Each worker's start line (its id does not change across restarts). */
  readonly starts: Record<string, WorkerStart> = {};
  /** The logs of every process that has exited, oldest first (with the live ones, {@link logs}). */
  readonly #past: string[] = [];

  private constructor(o: ClusterOptions, dir: string, port: number) {
    this.#o = o;
    this.dir = dir;
    this.repo = join(dir, 'manager');
    this.#port = port;
    this.#env = { SECTOR_STORAGE_HEARTBEAT_MS: String(o.heartbeatMs ?? 1_000) };
  }

  /** Starts the daemon and every worker; everything is killed and removed after the test. */
  static async start(t: ExecutionContext, o: ClusterOptions): Promise<Cluster> {
    const c = new Cluster(o, tmpDir('ss-remote-'), await freePort());
    t.teardown(async () => {
      await Promise.all(Object.values(c.workers).map((w) => w.kill()));
      await c.daemon?.kill();
      cleanup(c.dir);
    });
    for (const [name, spec] of Object.entries(o.workers)) initStoragePath(c.store(name), { canSeal: true, canStore: spec.canStore ?? false, weight: 10, ...(spec.maxStorage ? { maxStorage: spec.maxStorage } : {}) });
    await c.startDaemon(o.env?.daemon);
    await Promise.all(Object.keys(o.workers).map((n) => c.startWorker(n, o.env?.workers?.[n])));
    return c;
  }

  /** The storage path of worker `name`. */
  store(name: string): string {
    return join(this.dir, `${name}-store`);
  }

  /** Starts (or restarts) the daemon; `env` adds variables (a crash point). */
  async startDaemon(env: Record<string, string> = {}): Promise<DaemonProcess> {
    const flags = daemonArgs({ sectorSize: this.#o.sectorSize, fixedRandomness: { ticket: TICKET, seed: SEED }, epochMs: 100, seedWaitEpochs: 2 });
    flags.push('--listen', `127.0.0.1:${this.#port}`, '--local-tasks', this.#o.localTasks);
    if (this.#o.graceMs !== undefined) flags.push('--worker-grace-ms', String(this.#o.graceMs));
    this.daemon = await startDaemon(this.repo, flags, { ...this.#env, ...env });
    return this.daemon;
  }

  /** `kill -9` of the daemon; resolves once it is gone. */
  async killDaemon(): Promise<void> {
    await this.daemon.kill();
    await this.daemonExited();
  }

  /** Waits for the daemon to exit (it was killed, or reached its crash point) and keeps its log. */
  async daemonExited(timeoutMs = 180_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const r = await within(this.daemon.exited, timeoutMs, () => `the daemon did not exit:\n${this.logs()}`);
    this.#past.push(`--- daemon (${r.signal ?? r.code}) ---\n${this.daemon.output()}`);
    return r;
  }

  /** Starts (or restarts) worker `name` and waits until it is connected; `env` adds variables. */
  async startWorker(name: string, env: Record<string, string> = {}, options: { waitConnected?: boolean } = {}): Promise<WorkerProcess> {
    const spec = this.#o.workers[name];
    if (!spec) throw new Error(`no worker ${name} in this cluster`);
    const w = startWorker(this.repo, join(this.dir, name), { taskTypes: spec.taskTypes, storage: this.store(name), env: { ...this.#env, ...env } });
    this.workers[name] = w;
    this.starts[name] = await w.started();
    if (options.waitConnected ?? true) await w.logged(/^connected to the manager/);
    return w;
  }

  /** `kill -9` of worker `name`; resolves once it is gone. */
  async killWorker(name: string): Promise<void> {
    await this.workers[name]!.kill();
    await this.workerExited(name);
  }

  /** Waits for worker `name` to exit (killed, or at its crash point) and keeps its log. */
  async workerExited(name: string, timeoutMs = 180_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const w = this.workers[name]!;
    const r = await within(w.exited, timeoutMs, () => `worker ${name} did not exit:\n${this.logs()}`);
    this.#past.push(`--- worker ${name} (${r.signal ?? r.code}) ---\n${w.output()}`);
    delete this.workers[name];
    return r;
  }

  /** Every log so far: past processes and the live ones. */
  logs(): string {
    const live = [`--- daemon (live) ---\n${this.daemon.output()}`, ...Object.entries(this.workers).map(([n, w]) => `--- worker ${n} (live) ---\n${w.output()}`)];
    return [...this.#past, ...live].join('\n');
  }

  /** The log lines of every session of worker `name` (past and live) that match `re`. */
  workerLines(name: string, re: RegExp): string[] {
    const sessions = this.#past.filter((p) => p.startsWith(`--- worker ${name} `));
    const live = this.workers[name]?.output() ?? '';
    return [...sessions.map((p) => p.slice(p.indexOf('\n') + 1)), live].flatMap((s) => s.split('\n')).filter((l) => re.test(l));
  }
}
