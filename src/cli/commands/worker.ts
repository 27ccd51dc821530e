/**
 * `sector-storage worker --manager URL --token TOKEN --storage PATH [--listen HOST:PORT]`: a
 * second node. In this version it is a storage node: it attaches its paths to the manager's
 * index, heartbeats, declares its sector files and serves `/remote` so the manager and other
 * workers can fetch from it. Task execution (the scheduler) is added to this same command.
 *
 * Env `SECTOR_STORAGE_HEARTBEAT_MS` (storage/owner-leases.ts) sets the heartbeat interval, as it
 * sets the manager's sweep; unset, 10 s as in Lotus.
 */
import { InvalidArgumentError } from '../../errors.js';
import { UsageError } from '../args.js';
import { defineCommand } from '../command.js';

const DEFAULT_WORKER_LISTEN = '127.0.0.1:3456';

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
  summary: 'run a worker node that contributes its storage paths to a manager daemon',
  description:
    'Each --storage path is opened (a missing or empty directory is initialised as a sealing path, weight 10), attached to the manager\'s index with this worker\'s URL, and its sector files are declared. The worker heartbeats every ~10 s (env SECTOR_STORAGE_HEARTBEAT_MS), so the manager releases its sector locks if it dies, re-declares its paths when the manager restarts, and serves /remote (admin tokens of the manager) until SIGINT/SIGTERM; stopping releases its sector locks.',
  flags: {
    manager: { type: 'string', valueName: 'URL', description: "the manager daemon's API URL, e.g. http://127.0.0.1:2345" },
    token: { type: 'string', valueName: 'TOKEN', description: 'an admin API token of the manager (env SECTOR_STORAGE_TOKEN)' },
    storage: { type: 'string', repeated: true, valueName: 'PATH', description: 'a storage path of this worker (repeatable)' },
    listen: { type: 'string', valueName: 'HOST:PORT', description: 'listen address; port 0 picks a free port', defaultText: DEFAULT_WORKER_LISTEN },
    advertise: { type: 'string', valueName: 'HOST:PORT', description: 'address other nodes use to reach this worker (default: the listen address)' },
    'node-id': {
      type: 'string',
      valueName: 'ID',
      description: 'persistent id of this worker in the index: a restart (on any port) replaces the URLs it attached before',
      defaultText: 'worker:<host name>:<hash of the storage paths>',
    },
    'parallel-fetch-limit': { type: 'string', valueName: 'N', description: 'concurrent downloads', defaultText: '5' },
  },
  positionals: [],
  async run({ flags, out, signal }) {
    const managerUrl = flags.manager;
    if (!managerUrl) throw new UsageError('--manager URL is required');
    const token = flags.token ?? process.env.SECTOR_STORAGE_TOKEN;
    if (!token) throw new UsageError('--token TOKEN is required (an admin token of the manager)');
    if (flags.storage.length === 0) throw new UsageError('at least one --storage PATH is required');
    const listen = parseHostPort(flags.listen ?? DEFAULT_WORKER_LISTEN, '--listen');
    if (flags.advertise !== undefined) parseHostPort(flags.advertise, '--advertise');
    const limit = flags['parallel-fetch-limit'] === undefined ? 5 : Number(flags['parallel-fetch-limit']);
    if (!Number.isSafeInteger(limit) || limit < 1) throw new UsageError('--parallel-fetch-limit must be a positive integer');
    // loaded on use, so other commands do not load the storage stack
    const { startStorageWorker } = await import('../../daemon/storage-worker.js');
    const { heartbeatTimingFromEnv } = await import('../../storage/owner-leases.js');
    const { intervalMs } = heartbeatTimingFromEnv();
    const w = await startStorageWorker({
      managerUrl,
      token,
      storage: flags.storage,
      host: listen.host,
      port: listen.port,
      ...(flags.advertise ? { advertise: flags.advertise } : {}),
      ...(flags['node-id'] ? { nodeId: flags['node-id'] } : {}),
      parallelFetchLimit: limit,
      heartbeatIntervalMs: intervalMs,
      log: (line) => out.info(line),
    });
    out.result(
      { id: w.id, url: w.url, listen: w.listenUrl, paths: w.paths },
      (r) => [
        `worker ${r.id} listening on ${r.listen}${r.url !== r.listen ? ` (reachable as ${r.url})` : ''}`,
        ...r.paths.map((p) => `  storage ${p.ID} at ${p.LocalPath}`),
      ],
    );
    if (!signal.aborted) await new Promise<void>((res) => signal.addEventListener('abort', () => res(), { once: true }));
    out.info(`worker shutting down (${String((signal.reason as Error)?.message ?? 'signal')})`);
    await w.stop();
    out.info('worker stopped');
  },
});

export const workerCommands = [worker];
