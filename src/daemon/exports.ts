/**
 * sector-storage/daemon: the daemon's entry point, separate from the library's front door
 * (src/sector-storage.ts) so that the library does not load the daemon's runtime.
 */
export { startDaemon, type Daemon, type DaemonOptions } from './daemon.js';
export { startStorageWorker, type StorageWorker, type StorageWorkerOptions } from './storage-worker.js';
