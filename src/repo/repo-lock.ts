/**
 * The exclusive repository lock: `<repo>/repo.lock` holds `{"pid":…,"host":…,"since":…}` of
 * the daemon using the repository. It is published complete and durable with link(), which
 * refuses an existing name (src/fs/durable.ts, `exclusive`), so two daemons cannot both take it.
 * A lock whose pid is no longer alive (on this host) is stale: it is moved aside and taken
 * over, and a re-check of what was moved makes sure a concurrent taker's live lock is not stolen.
 */
import { readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { RepoLockedError } from '../errors.js';
import { writeFileDurableSync } from '../fs/durable.js';
import { RepoFiles } from './repo-path.js';

/** Content of the lock file. */
export interface LockOwner {
  pid: number;
  host: string;
  /** Unix ms when the lock was taken. */
  since: number;
}

/** A held lock; `release()` removes the file (only if it is still ours). */
export interface RepoLock {
  readonly file: string;
  readonly owner: LockOwner;
  release(): void;
}

/** True when a process with `pid` exists (EPERM counts as alive: it exists, owned by another user). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readOwner(file: string): LockOwner | undefined {
  try {
    const raw = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockOwner>;
    if (typeof raw.pid !== 'number') return undefined;
    return { pid: raw.pid, host: String(raw.host ?? ''), since: Number(raw.since ?? 0) };
  } catch {
    return undefined;
  }
}

/**
 * How long an unreadable (empty or half-written) lock file is taken to be one that another
 * process has just created and is about to write, rather than one left by a crash between its
 * open and its write. Our own locks appear complete; this covers lock files written by other
 * means (an older version created the file first and wrote it after).
 */
export const UNREADABLE_LOCK_GRACE_MS = 10_000;

function isStale(owner: LockOwner | undefined, file: string): boolean {
  if (!owner) {
    // A writer that creates the file first may not have written its pid yet: taking that over would let two daemons share the repository. Only an unreadable
    // lock old enough to be a crash's leftover is stale.
    try {
      return Date.now() - statSync(file).mtimeMs > UNREADABLE_LOCK_GRACE_MS;
    } catch {
      return true; // gone meanwhile: retry the create
    }
  }
  if (owner.host && owner.host !== hostname()) return false;
  return owner.pid !== process.pid && !pidAlive(owner.pid);
}

/** Takes the lock of `repoPath`; RepoLockedError naming the holder when a live process has it. */
export function acquireRepoLock(repoPath: string): RepoLock {
  const file = join(repoPath, RepoFiles.lock);
  const owner: LockOwner = { pid: process.pid, host: hostname(), since: Date.now() };
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      writeFileDurableSync(file, JSON.stringify(owner), { exclusive: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = readOwner(file);
      if (!isStale(holder, file)) {
        throw new RepoLockedError(
          holder
            ? `repository ${repoPath} is locked by process ${holder.pid}${holder.host ? ` on ${holder.host}` : ''} (another daemon is running; lock file ${file})`
            : `repository ${repoPath} is being locked by another process that is starting (lock file ${file} is not written yet)`,
        );
      }
      // move the stale lock aside; if what we moved turns out to be live (someone took over
      // between our read and the rename), put it back and report it as held
      const aside = `${file}.stale.${process.pid}`;
      try {
        renameSync(file, aside);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw e;
      }
      const moved = readOwner(aside);
      // what we moved may not be what we judged stale (a taker wrote or replaced it meanwhile)
      if (moved && (!holder || moved.pid !== holder.pid || moved.since !== holder.since) && !isStale(moved, aside)) {
        renameSync(aside, file);
        throw new RepoLockedError(`repository ${repoPath} is locked by process ${moved.pid} (lock file ${file})`);
      }
      rmSync(aside, { force: true });
      continue;
    }
    return {
      file,
      owner,
      release() {
        const current = readOwner(file);
        if (current && current.pid === owner.pid && current.since === owner.since) rmSync(file, { force: true });
      },
    };
  }
  throw new RepoLockedError(`could not take the lock of repository ${repoPath} (contended)`);
}
