/**
 * A daemon system for actor tests (actors/system.ts): the database and one storage path under the
 * test's directory, miner 1000, system errors logged to the test, logs dropped unless `log` is
 * given. Each test names its pool and proof, and overrides or adds any other option.
 */
import { join } from 'node:path';
import { type DaemonSystemHandle, type DaemonSystemOptions, startDaemonSystem } from '../../actors/system.js';
import { silentLogger } from '../../src/log/logger.js';

/** The miner id of every test system. */
export const TEST_MINER = 1000;

export function startTestSystem(
  t: { log: (...values: unknown[]) => void },
  dir: string,
  options: Pick<DaemonSystemOptions, 'pool' | 'sealProof'> & Partial<DaemonSystemOptions>,
): Promise<DaemonSystemHandle> {
  return startDaemonSystem({
    dbPath: join(dir, 'db.sqlite'),
    minerId: TEST_MINER,
    storageRoots: [join(dir, 'store')],
    onError: (err) => t.log('system error', err),
    log: silentLogger(),
    ...options,
  });
}
