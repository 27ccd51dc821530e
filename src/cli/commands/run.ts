/**
 * `sector-storage run`: starts the daemon in the foreground until SIGINT/SIGTERM.
 */
import { parseSize } from '../../sector/sizes.js';
import { parseIntArg } from '../args.js';
import { defineCommand } from '../command.js';

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
    'accept-drift': {
      type: 'boolean',
      description:
        'start even though the database has no sectors while the storage paths hold sector files (a lost or replaced database); without it that start is refused',
    },
    inspect: {
      type: 'string',
      valueName: 'FILE',
      description: 'append every XState inspection event of the actor system (actors, events, snapshots) to FILE as NDJSON',
    },
  },
  positionals: [],
  async run({ flags, repoPath, signal, out }) {
    const sectorSize = flags['sector-size'] === undefined ? undefined : parseSize(flags['sector-size']);
    const threads = flags.threads === undefined ? undefined : parseIntArg(flags.threads, 'thread count (--threads)');
    // loaded on use, so other commands do not load the pool, the actors and the native addon
    const { startDaemon } = await import('../../daemon/daemon.js');
    const daemon = await startDaemon({
      repoPath,
      listen: flags.listen,
      sectorSize,
      threads: threads === 0 ? undefined : threads,
      ...(flags.inspect ? { inspectLog: flags.inspect } : {}),
      acceptDrift: flags['accept-drift'],
      log: (line) => out.info(line),
    });
    if (!signal.aborted) await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    out.info(`shutting down (${String((signal.reason as Error)?.message ?? 'signal')})`);
    await daemon.stop();
    out.info('daemon stopped');
  },
});

export const runCommands = [run];
