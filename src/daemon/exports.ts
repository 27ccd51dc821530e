/**
 * `sector-storage/daemon`: what runs a daemon or a storage worker — the Piscina sealer pool, the
 * SQLite repository and storage catalog, the XState actor system and the composition roots. It
 * is separate from the library's front door (src/sector-storage.ts) so that
 * `import { commP } from 'sector-storage'` loads none of XState, Piscina, better-sqlite3 or
 * Comlink (test/src/sector-storage.test.ts checks both sides).
 *
 * @example
 * ```ts
 * import { startDaemon } from 'sector-storage/daemon';
 * const daemon = await startDaemon({ repoPath: '/var/lib/sector-storage' });
 * ```
 */
export { SealerPool, type SealerPoolOptions } from '../pool/pool.js';
export { openRepo } from '../repo/repo.js';
export { StorageCatalog, directCatalog } from '../db/storage-catalog.js';
export { startDaemonSystem, type DaemonSystemHandle, type DaemonSystemOptions } from '../../actors/system.js';
export { SectorService } from '../../actors/sector-service.js';
export { startDaemon, type Daemon, type DaemonOptions } from './daemon.js';
export { startStorageWorker, type StorageWorker, type StorageWorkerOptions } from './storage-worker.js';
