/**
 * `sector-storage worker --manager URL --token TOKEN [--task-types AP,PC1,…] [--storage PATH]
 * [--threads N] [--repo PATH]`: a second node that seals for a manager daemon (Lotus's
 * `lotus-worker run`). It keeps its own repository (`--repo`, `SECTOR_STORAGE_WORKER_PATH`,
 * default `~/.sector-storage-worker`: its id and its durable call store), attaches its storage
 * paths to the manager's index, serves `/remote`, connects to the manager over WebSocket and runs
 * the tasks the manager hands it on its own sealer pool (src/daemon/worker-node.ts).
 *
 * Env `SECTOR_STORAGE_HEARTBEAT_MS` (storage/owner-leases.ts) sets the heartbeat interval, as it
 * sets the manager's sweep; unset, 10 s as in Lotus.
 */
import { InvalidArgumentError, type SectorStorageError } from '../../errors.js';
import { multiaddrToUrl } from '../../repo/api-info.js';
import { TASK_TYPES, type TaskType, isTaskType } from '../../tasks/task-types.js';
import { parseIntArg, UsageError } from '../args.js';
import { defineCommand } from '../command.js';
import { pc1GatherFromEnv } from '../../seal/pc1-gather.js';

const DEFAULT_WORKER_LISTEN = '127.0.0.1:3456';

/** The task types of `--task-types AP,PC1,…` (Lotus's short names; `all` for every one). */
export function parseTaskTypes(text: string): TaskType[] {
  if (text.trim() === 'all') return [...TASK_TYPES];
  const names = text.split(',').map((x) => x.trim().toUpperCase());
  const unknown = names.filter((n) => !isTaskType(n));
  if (unknown.length > 0 || names.length === 0) {
    throw new InvalidArgumentError(`--task-types: ${unknown.map((u) => JSON.stringify(u)).join(', ') || '(empty)'} is not a task type (all, or a list of ${TASK_TYPES.join(', ')})`);
  }
  return TASK_TYPES.filter((t) => names.includes(t));
}

/**
 * The manager's base URL from `--manager`: an `http://` or `https://` URL, the same as `ws://` or
 * `wss://` (the worker speaks both HTTP and WebSocket to it; TLS either way with the `s`), or a
 * Lotus API multiaddr (`/ip4/127.0.0.1/tcp/2345/https`, as in the manager's `api` file).
 */
export function parseManagerUrl(text: string): string {
  const value = text.trim();
  if (value.startsWith('/')) return multiaddrToUrl(value);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(`--manager "${text}" is not a URL (http://, https://, ws://, wss://) or an API multiaddr`);
  }
  const scheme = { 'http:': 'http', 'ws:': 'http', 'https:': 'https', 'wss:': 'https' }[url.protocol];
  if (!scheme) throw new InvalidArgumentError(`--manager "${text}": ${url.protocol} is not http, https, ws or wss`);
  return `${scheme}://${url.host}`;
}

/** `HOST:PORT` (IPv6 as `[::1]:3456`). */
export function parseHostPort(text: string, flag: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(text.trim());
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || !Number.isInteger(port) || port > 65535) {
    throw new InvalidArgumentError(`${flag} "${text}" is not HOST:PORT (e.g. 127.0.0.1:3456; port 0 picks a free port)`);
  }
  return { host: (m[1] ?? m[2]) as string, port };
}

const worker = defineCommand({
  path: ['worker'],
  summary: 'run a worker node that seals for a manager daemon and contributes its storage paths',
  description:
    "Opens the worker's own repository (--repo; its id and its durable call store: results finished while the manager is away are delivered when it is back), opens each --storage path (a missing or empty directory is initialised as a sealing path, weight 10; default <repo>/storage), attaches them to the manager's index with this worker's URL and serves /remote, then connects to the manager over WebSocket and runs the tasks it hands over (--task-types) on its own pool of --threads threads, fetching the sector files it lacks from other nodes. It heartbeats every ~10 s (env SECTOR_STORAGE_HEARTBEAT_MS) and reconnects when the manager restarts. A token the manager refuses, or another protocol version, stops it with an error. SIGINT/SIGTERM stop it; tasks still running are queued again by the manager. Per-type limits the scheduler honours come from the <TASK>_MAX_CONCURRENT environment variables (e.g. PC1_MAX_CONCURRENT=2; Lotus's names, without the sector size, which the worker learns only once connected); --gpus declares GPUs for the resource table only.",
  flags: {
    manager: {
      type: 'string',
      valueName: 'URL',
      description:
        "the manager daemon's API URL, e.g. http://127.0.0.1:2345; https://… or wss://… for a manager serving TLS (run --tls-cert; trust its CA with NODE_EXTRA_CA_CERTS=FILE), or its api file's multiaddr",
    },
    token: { type: 'string', valueName: 'TOKEN', description: 'an admin API token of the manager (env SECTOR_STORAGE_TOKEN)' },
    'task-types': { type: 'string', valueName: 'LIST', description: `task types it runs: all, or a list of ${TASK_TYPES.join(',')}`, defaultText: 'all' },
    threads: { type: 'string', valueName: 'N', description: 'sealer pool threads', defaultText: 'all cores' },
    storage: { type: 'string', repeated: true, valueName: 'PATH', description: 'a storage path of this worker', defaultText: '<repo>/storage' },
    listen: { type: 'string', valueName: 'HOST:PORT', description: 'listen address; port 0 picks a free port', defaultText: DEFAULT_WORKER_LISTEN },
    advertise: { type: 'string', valueName: 'HOST:PORT', description: 'address other nodes use to reach this worker (default: the listen address)' },
    'tls-cert': {
      type: 'string',
      valueName: 'FILE',
      description:
        "serve /remote over TLS with this PEM certificate (chain); needs --tls-key. The URLs it attaches then say https://, and nodes fetching from it that do not trust its CA name its PEM file in NODE_EXTRA_CA_CERTS",
    },
    'tls-key': { type: 'string', valueName: 'FILE', description: "the PEM private key of --tls-cert's certificate" },
    'node-id': {
      type: 'string',
      valueName: 'ID',
      description: 'persistent id of this worker in the index: a restart (on any port) replaces the URLs it attached before',
      defaultText: 'worker:<host name>:<hash of the storage paths>',
    },
    gpus: {
      type: 'string',
      valueName: 'N',
      description: 'GPUs to declare for the resource table (one GPU task — PC2, C2 — at a time); none is detected or used: the C2 prover is a CPU stand-in',
      defaultText: '0',
    },
    'parallel-fetch-limit': { type: 'string', valueName: 'N', description: 'concurrent downloads', defaultText: '5' },
  },
  positionals: [],
  async run({ flags, out, signal }) {
    if (!flags.manager) throw new UsageError('--manager URL is required');
    const managerUrl = parseManagerUrl(flags.manager);
    const token = flags.token ?? process.env.SECTOR_STORAGE_TOKEN;
    if (!token) throw new UsageError('--token TOKEN is required (an admin token of the manager)');
    const listen = parseHostPort(flags.listen ?? DEFAULT_WORKER_LISTEN, '--listen');
    if (flags.advertise !== undefined) parseHostPort(flags.advertise, '--advertise');
    if ((flags['tls-cert'] === undefined) !== (flags['tls-key'] === undefined)) throw new UsageError('--tls-cert and --tls-key go together: a certificate and its private key');
    const limit = flags['parallel-fetch-limit'] === undefined ? 5 : Number(flags['parallel-fetch-limit']);
    if (!Number.isSafeInteger(limit) || limit < 1) throw new UsageError('--parallel-fetch-limit must be a positive integer');
    const taskTypes = flags['task-types'] === undefined ? [...TASK_TYPES] : parseTaskTypes(flags['task-types']);
    const threads = flags.threads === undefined ? undefined : parseIntArg(flags.threads, 'thread count (--threads)', { min: 1 });
    const gpus = flags.gpus === undefined ? 0 : parseIntArg(flags.gpus, 'GPU count (--gpus)', { min: 0 });
    pc1GatherFromEnv(); // a bad SECTOR_STORAGE_PC1_GATHER stops the start, not every PC1 later
    // loaded on use, so other commands do not load the storage stack
    const { resolveWorkerRepoPath } = await import('../../repo/worker-repo.js');
    const { startWorkerNode } = await import('../../daemon/worker-node.js');
    const { heartbeatTimingFromEnv } = await import('../../storage/owner-leases.js');
    const { intervalMs } = heartbeatTimingFromEnv();
    let refused: (err: SectorStorageError) => void = () => {};
    const fatal = new Promise<SectorStorageError>((resolve) => {
      refused = resolve;
    });
    const w = await startWorkerNode({
      repoPath: resolveWorkerRepoPath(flags.repo),
      managerUrl,
      token,
      storage: flags.storage,
      host: listen.host,
      port: listen.port,
      taskTypes,
      ...(threads !== undefined ? { threads } : {}),
      gpus,
      ...(flags.advertise ? { advertise: flags.advertise } : {}),
      ...(flags['tls-cert'] && flags['tls-key'] ? { tls: { certFile: flags['tls-cert'], keyFile: flags['tls-key'] } } : {}),
      ...(flags['node-id'] ? { nodeId: flags['node-id'] } : {}),
      parallelFetchLimit: limit,
      heartbeatIntervalMs: intervalMs,
      onFatal: (err) => refused(err),
      signal,
    });
    out.result(
      { id: w.id, session: w.session, url: w.url, listen: w.listenUrl, taskTypes: w.taskTypes, paths: w.paths },
      (r) => [
        `worker ${r.id} listening on ${r.listen}${r.url !== r.listen ? ` (reachable as ${r.url})` : ''}, running ${r.taskTypes.join(', ')}`,
        ...r.paths.map((p) => `  storage ${p.ID} at ${p.LocalPath}`),
      ],
    );
    const stopped = new Promise<undefined>((resolve) => {
      if (signal.aborted) resolve(undefined);
      else signal.addEventListener('abort', () => resolve(undefined), { once: true });
    });
    const err = await Promise.race([fatal, stopped]);
    out.info(err ? 'worker shutting down: the manager refused it' : `worker shutting down (${String((signal.reason as Error)?.message ?? 'signal')})`);
    await w.stop();
    out.info('worker stopped');
    if (err) throw err;
  },
});

export const workerCommands = [worker];
