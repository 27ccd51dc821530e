/**
 * `sector-storage run`: starts the daemon in the foreground until SIGINT/SIGTERM.
 */
import { parseSize } from '../../sector/sizes.js';
import { parseFixedRandomness } from '../../chain/fixed-randomness.js';
import { parseLocalTasks } from '../../tasks/worker-info.js';
import { parseIntArg, UsageError } from '../args.js';
import { PC1_BATCH_MAX } from '../../../machines/scheduler/pc1-batch.js';
import { defineCommand } from '../command.js';
import { pc1GatherFromEnv } from '../../seal/pc1-gather.js';

/** Default API listen address (loopback, Lotus miner's port); the daemon uses the same. */
const DEFAULT_LISTEN = '127.0.0.1:2345';

const run = defineCommand({
  path: ['run'],
  summary: 'start the daemon: repository, sealer pool, actors and the HTTP API',
  description:
    'Creates the repository on first start (config.json, keystore, SQLite database, one storage path in <repo>/storage), takes its lock, serves the JSON-RPC API and writes the "api" and "token" files that other commands read. SIGINT or SIGTERM shut it down cleanly.',
  flags: {
    listen: { type: 'string', valueName: 'HOST:PORT', description: 'API listen address; port 0 picks a free port', defaultText: DEFAULT_LISTEN },
    'sector-size': {
      type: 'string',
      valueName: 'SIZE',
      description: 'sector size of a NEW repository: 2KiB, 8MiB, 512MiB, 32GiB or 64GiB',
      defaultText: '8MiB (StackedDrg8MiBV1_1)',
    },
    threads: { type: 'string', valueName: 'N', description: 'sealer pool threads', defaultText: 'all cores' },
    'local-tasks': {
      type: 'string',
      valueName: 'all|none|AP,PC1,…',
      description:
        "task types the daemon's own pool runs (worker 'local'); a list always gets C1, FIN and GET added, as lotus-miner's built-in worker; none: the daemon only schedules for remote workers (a client's upload then has nowhere to run: pieces add is refused NO_WORKER)",
      defaultText: 'all',
    },
    'ignore-resources': {
      type: 'boolean',
      description: "the local worker takes tasks whatever its memory and threads (Lotus's ResourceFiltering \"disabled\"); <TASK>_<SIZE>_MAX_CONCURRENT limits still apply",
    },
    'pc1-batch-size': {
      type: 'string',
      valueName: 'N',
      description:
        'PC1s of one sector size the local worker labels together in one pool task, as Curio batches SupraSeal (1 to 8; 1: every PC1 alone). Each call keeps its own id and row ("sealing calls" shows its batch). Remote workers keep single PC1s',
      defaultText: '1',
    },
    'pc1-batch-wait': {
      type: 'string',
      valueName: 'MS',
      description: 'with --pc1-batch-size above 1: how long a PC1 waits for its batch to fill before it runs with the PC1s that are ready',
      defaultText: '30000',
    },
    'fixed-randomness': {
      type: 'string',
      valueName: 'TICKETHEX:SEEDHEX',
      description:
        'the local chain (a stand-in for a blockchain) hands every sector this 32-byte ticket and seed, as lotus-bench uses fixed values; for tests and benchmarks',
    },
    'epoch-ms': { type: 'string', valueName: 'MS', description: 'epoch length of the local chain (stand-in)', defaultText: '2000' },
    'seed-wait-epochs': {
      type: 'string',
      valueName: 'N',
      description: "epochs between a pre-commit landing and its seed on the local chain (Lotus's PreCommitChallengeDelay)",
      defaultText: '3',
    },
    'upload-idle-ms': {
      type: 'string',
      valueName: 'MS',
      description: 'an upload silent this long fails UPLOAD_STALLED and frees its thread and sector',
      defaultText: '15000',
    },
    'accept-drift': {
      type: 'boolean',
      description:
        'start even though the database has no sectors while the storage paths hold sector files (a lost or replaced database); without it that start is refused',
    },
    'worker-grace-ms': {
      type: 'string',
      valueName: 'MS',
      description: "how long a disconnected worker's running calls wait for it to come back before they are queued again",
      defaultText: '60000',
    },
    inspect: {
      type: 'boolean',
      description:
        "publish the actor system's inspection events through @statelyai/inspect: an inspector server on --inspect-port relays them to Stately's inspector UI (that UI needs the internet; the daemon's own /inspect page does not)",
    },
    'inspect-port': { type: 'string', valueName: 'PORT', description: "port of --inspect's inspector server", defaultText: '8080' },
    'tls-cert': {
      type: 'string',
      valueName: 'FILE',
      description:
        'serve the API, /remote and the worker endpoint over TLS with this PEM certificate (chain); needs --tls-key. The api file then says /https; workers connect with --manager https://… or wss://…, and clients that do not trust its CA name its PEM file in NODE_EXTRA_CA_CERTS',
    },
    'tls-key': { type: 'string', valueName: 'FILE', description: "the PEM private key of --tls-cert's certificate" },
    'inspect-log': {
      type: 'string',
      valueName: 'FILE',
      description: 'append the XState inspection events of the actor system (actors, events, snapshots with context summaries) to FILE as NDJSON, written in batches',
    },
  },
  positionals: [],
  async run({ flags, repoPath, signal, out }) {
    const sectorSize = flags['sector-size'] === undefined ? undefined : parseSize(flags['sector-size']);
    const threads = flags.threads === undefined ? undefined : parseIntArg(flags.threads, 'thread count (--threads)');
    const fixedRandomness = flags['fixed-randomness'] === undefined ? undefined : parseFixedRandomness(flags['fixed-randomness']);
    const epochMs = flags['epoch-ms'] === undefined ? undefined : parseIntArg(flags['epoch-ms'], 'epoch length (--epoch-ms)', { min: 1 });
    const seedWaitEpochs = flags['seed-wait-epochs'] === undefined ? undefined : parseIntArg(flags['seed-wait-epochs'], 'seed wait (--seed-wait-epochs)');
    const localTasks = flags['local-tasks'] === undefined ? undefined : parseLocalTasks(flags['local-tasks']);
    const uploadIdleMs = flags['upload-idle-ms'] === undefined ? undefined : parseIntArg(flags['upload-idle-ms'], 'upload idle time (--upload-idle-ms)', { min: 1 });
    const workerGraceMs = flags['worker-grace-ms'] === undefined ? undefined : parseIntArg(flags['worker-grace-ms'], 'worker grace (--worker-grace-ms)', { min: 1 });
    if ((flags['tls-cert'] === undefined) !== (flags['tls-key'] === undefined)) throw new UsageError('--tls-cert and --tls-key go together: a certificate and its private key');
    const pc1BatchSize = flags['pc1-batch-size'] === undefined ? undefined : parsePc1BatchSize(flags['pc1-batch-size']);
    const pc1BatchWaitMs = flags['pc1-batch-wait'] === undefined ? undefined : parseIntArg(flags['pc1-batch-wait'], 'PC1 batch wait (--pc1-batch-wait)');
    const inspectPort = flags['inspect-port'] === undefined ? undefined : parseIntArg(flags['inspect-port'], 'inspector port (--inspect-port)', { min: 1 });
    pc1GatherFromEnv(); // a bad SECTOR_STORAGE_PC1_GATHER stops the start, not every PC1 later
    // loaded on use, so other commands do not load the pool, the actors and the native addon
    const { startDaemon } = await import('../../daemon/daemon.js');
    const daemon = await startDaemon({
      repoPath,
      listen: flags.listen,
      sectorSize,
      threads: threads === 0 ? undefined : threads,
      ...(flags['inspect-log'] ? { inspectLog: flags['inspect-log'] } : {}),
      ...(flags.inspect ? { inspectPort: inspectPort ?? 8080 } : {}),
      ...(fixedRandomness ? { fixedRandomness } : {}),
      ...(epochMs !== undefined ? { epochMs } : {}),
      ...(seedWaitEpochs !== undefined ? { seedWaitEpochs } : {}),
      ...(uploadIdleMs !== undefined ? { uploadIdleMs } : {}),
      acceptDrift: flags['accept-drift'],
      ...(localTasks ? { localTasks } : {}),
      ...(workerGraceMs !== undefined ? { workerGraceMs } : {}),
      ...(flags['ignore-resources'] ? { ignoreResources: true } : {}),
      ...(pc1BatchSize !== undefined ? { pc1BatchSize } : {}),
      ...(pc1BatchWaitMs !== undefined ? { pc1BatchWaitMs } : {}),
      ...(flags['tls-cert'] && flags['tls-key'] ? { tls: { certFile: flags['tls-cert'], keyFile: flags['tls-key'] } } : {}),
    });
    const reason = signal.aborted
      ? String((signal.reason as Error)?.message ?? 'signal')
      : await Promise.race([
          new Promise<string>((resolve) => signal.addEventListener('abort', () => resolve(String((signal.reason as Error)?.message ?? 'signal')), { once: true })),
          daemon.shutdownRequested.then((why) => `asked by ${why}`),
        ]);
    out.info(`shutting down (${reason})`);
    await daemon.stop();
    out.info('daemon stopped');
  },
});

export const runCommands = [run];

/** `--pc1-batch-size`: 1 to 8 (the native labeller's batch limit). */
export function parsePc1BatchSize(text: string): number {
  const n = parseIntArg(text, 'PC1 batch size (--pc1-batch-size)', { min: 1 });
  if (n > PC1_BATCH_MAX) throw new UsageError(`PC1 batch size (--pc1-batch-size) must be at most ${PC1_BATCH_MAX}: the labeller batches up to ${PC1_BATCH_MAX} sectors (got ${n})`);
  return n;
}
