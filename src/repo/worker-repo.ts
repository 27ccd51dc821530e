/**
 * A worker process's own repository (`sector-storage worker --repo`, default
 * `~/.sector-storage-worker` or `SECTOR_STORAGE_WORKER_PATH`, as Lotus's `lotus-worker` keeps
 * `~/.lotusworker` / `LOTUS_WORKER_PATH`):
 *
 * ```
 * <repo>/
 *   repo.lock     the running worker's pid (repo-lock.ts): one process per repository
 *   worker.db     SQLite (WAL): the worker's id, its last session and its durable call store
 *   storage/      the default storage path when no --storage is given
 * ```
 *
 * Opening it starts a session: a new uuid recorded as this start's, and the calls an earlier
 * session had running are dropped (their threads died with that process; the manager hears
 * the worker no longer holds them and queues them again). Results an earlier session finished
 * stay, to be delivered.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Db, openDatabase } from '../db/database.js';
import { workerMigrations } from '../db/migrations.js';
import { type WorkerCall, WorkerCallStore } from '../db/worker-call-store.js';
import { RepoInvalidError } from '../errors.js';
import { acquireRepoLock, type RepoLock } from './repo-lock.js';
import { RepoFiles } from './repo-path.js';

/** Environment variable naming the worker repository (Lotus: `LOTUS_WORKER_PATH`). */
export const WORKER_REPO_ENV = 'SECTOR_STORAGE_WORKER_PATH';

/** Default worker repository directory name under the home directory. */
export const DEFAULT_WORKER_REPO_DIR = '.sector-storage-worker';

/** Files inside a worker repository. */
export const WorkerRepoFiles = {
  database: 'worker.db',
  /** The default storage path when the worker is given none. */
  storageDir: 'storage',
} as const;

/** The absolute worker repository path from the flag, the environment or the default; `~` is expanded. */
export function resolveWorkerRepoPath(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  const chosen = flag ?? (env[WORKER_REPO_ENV] || undefined) ?? join(homedir(), DEFAULT_WORKER_REPO_DIR);
  const expanded = chosen === '~' ? homedir() : chosen.startsWith('~/') ? join(homedir(), chosen.slice(2)) : chosen;
  return resolve(expanded);
}

/** An open, locked worker repository, with this start's session begun. */
export interface WorkerRepo {
  readonly path: string;
  readonly lock: RepoLock;
  readonly db: Db;
  readonly calls: WorkerCallStore;
  /** The worker's persistent id: the manager knows it by this across restarts. */
  readonly workerId: string;
  /** A uuid per start. */
  readonly session: string;
  /** The session of the previous start, if there was one. */
  readonly previousSession: string | undefined;
  /** Calls the previous sessions had running, dropped at this start. */
  readonly interrupted: readonly WorkerCall[];
  close(): void;
}

/** Opens (creating if needed) and locks the worker repository at `path`, and begins a session. */
export function openWorkerRepo(path: string, options: { now?: () => number } = {}): WorkerRepo {
  try {
    mkdirSync(path, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new RepoInvalidError(`cannot create worker repository directory ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (!statSync(path).isDirectory()) throw new RepoInvalidError(`worker repository path ${path} is not a directory`);
  if (existsSync(join(path, RepoFiles.config))) {
    throw new RepoInvalidError(`${path} is a daemon repository (it has ${RepoFiles.config}); give the worker a repository of its own (--repo)`);
  }
  const lock = acquireRepoLock(path);
  let db: Db | undefined;
  try {
    db = openDatabase(join(path, WorkerRepoFiles.database), { migrations: workerMigrations });
    const calls = new WorkerCallStore(db, options.now ? { now: options.now } : {});
    const workerId = calls.workerId();
    const session = randomUUID();
    const previousSession = calls.beginSession(session);
    const interrupted = calls.dropInterrupted(session);
    const opened = db;
    return {
      path,
      lock,
      db: opened,
      calls,
      workerId,
      session,
      previousSession,
      interrupted,
      close() {
        if (opened.open) opened.close();
        lock.release();
      },
    };
  } catch (err) {
    db?.close();
    lock.release();
    throw err;
  }
}
