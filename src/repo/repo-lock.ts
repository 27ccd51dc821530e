/**
 * The exclusive repository lock: `<repo>/repo.lock` holds `{"pid":…,"host":…,"since":…}` of
 * the daemon using the repository. It is created with O_EXCL, so two daemons cannot both take
 * it. A lock whose pid is no longer alive (on this host) is stale: it is moved aside and taken
 * over, and a re-check of what was moved makes sure a concurrent taker's live lock is not stolen.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { RepoLockedError } from '../errors.js';
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

function isStale(owner: LockOwner | undefined): boolean {
  // an unreadable lock is a half-written one from a crash between open and write
  if (!owner) return true;
  if (owner.host && owner.host !== hostname()) return false;
  return owner.pid !== process.pid && !pidAlive(owner.pid);
}

/** Takes the lock of `repoPath`; RepoLockedError naming the holder when a live process has it. */
export function acquireRepoLock(repoPath: string): RepoLock {
  const file = join(repoPath, RepoFiles.lock);
  const owner: LockOwner = { pid: process.pid, host: hostname(), since: Date.now() };
  for (let attempt = 0; attempt < 5; attempt++) {
    let fd: number;
    try {
      fd = openSync(file, 'wx', 0o644);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = readOwner(file);
      if (!isStale(holder)) {
        throw new RepoLockedError(
          `repository ${repoPath} is locked by process ${holder!.pid}${holder!.host ? ` on ${holder!.host}` : ''} (another daemon is running; lock file ${file})`,
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
      if (moved && holder && moved.pid !== holder.pid && !isStale(moved)) {
        renameSync(aside, file);
        throw new RepoLockedError(`repository ${repoPath} is locked by process ${moved.pid} (lock file ${file})`);
      }
      rmSync(aside, { force: true });
      continue;
    }
    try {
      writeSync(fd, JSON.stringify(owner));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
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
