/**
 * Durable file writes, the one home of "write a temp file beside the target, fsync it, rename it
 * into place, fsync the directory". After any of these resolves, the new content survives a
 * crash or power loss under its final name; if one fails (or the process dies midway), the
 * final name still holds its old content (or nothing), never a partial file.
 *
 * Temp files sit in the target's directory (a rename is only atomic within one filesystem), are
 * hidden and end in `.tmp` (so `finalizeSector`'s cache clean-up recognises leftovers), and are
 * created with their final mode (a secret written with mode 0600 is never readable by others).
 *
 * {@link replaceFileUnsynced} is the same rename without the fsyncs, for records rewritten often
 * whose loss costs only work (a download's progress): atomic against a killed process, not
 * against a power loss.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fsyncSync, linkSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { type FileHandle, link, open, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Options of {@link writeFileDurable}. */
export interface DurableWriteOptions {
  /** Mode the file is created with (before the umask). @default 0o644 */
  mode?: number;
  /**
   * Publish with link() instead of rename(): fails with the EEXIST error, leaving the existing
   * file alone, when the target already exists.
   */
  exclusive?: boolean;
  /** Called once the temp file is complete and synced, just before it gets its final name (a crash point in tests). */
  beforeRename?: () => void;
}

/** A fresh temp name in the same directory as `path`: `.<name>.<pid>-<hex>.tmp`. */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
}

/** The name of the file a temp name of {@link tempPathFor} stands for, or undefined if `entry` is not one. */
export function tempNameTarget(entry: string): string | undefined {
  return /^\.(.+)\.\d+-[0-9a-f]+\.tmp$/s.exec(entry)?.[1];
}

/**
 * Removes the temp files of `path` (names of {@link tempPathFor}) left by processes that no
 * longer run: a process killed while writing leaves its temp behind, and in a directory that
 * outlives every process (the parent cache) nothing else would ever remove it. A temp whose
 * process still runs (this one included: pool threads share its pid) is left alone, as is any
 * temp whose owner cannot be checked. Returns the names removed.
 */
export async function removeOrphanTemps(path: string): Promise<string[]> {
  const dir = dirname(path);
  const name = basename(path);
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const removed: string[] = [];
  for (const entry of entries) {
    if (tempNameTarget(entry) !== name) continue;
    const pid = Number(/\.(\d+)-[0-9a-f]+\.tmp$/.exec(entry)?.[1]);
    if (!Number.isSafeInteger(pid) || processRuns(pid)) continue;
    await rm(join(dir, entry), { force: true });
    removed.push(entry);
  }
  return removed;
}

/** True unless the kernel says no process has this pid (EPERM: it runs under another user). */
function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** Directory fsync is refused by some filesystems; the rename is still atomic there. */
function dirSyncUnsupported(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'EINVAL' || code === 'ENOTSUP' || code === 'EISDIR';
}

/** fsyncs a file or directory by path (for a directory: makes a rename or link in it durable). */
export async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, constants.O_RDONLY);
  try {
    await fh.sync();
  } catch (err) {
    if (!dirSyncUnsupported(err)) throw err;
  } finally {
    await fh.close();
  }
}

/** fsyncs a directory, making the entries renamed or linked into it durable. */
export const fsyncDir: (dir: string) => Promise<void> = fsyncPath;

/** {@link fsyncDir}, synchronously. */
export function fsyncDirSync(dir: string): void {
  const fd = openSync(dir, constants.O_RDONLY);
  try {
    fsyncSync(fd);
  } catch (err) {
    if (!dirSyncUnsupported(err)) throw err;
  } finally {
    closeSync(fd);
  }
}

/** Renames `from` to `to` (same filesystem) and fsyncs `to`'s directory. */
export async function renameDurable(from: string, to: string): Promise<void> {
  await rename(from, to);
  await fsyncDir(dirname(to));
}

/**
 * Gives the complete file `temp` the name `final` only if `final` does not exist (link, then
 * unlink the temp name), and fsyncs the directory. Fails with EEXIST otherwise; `temp` stays.
 */
export async function publishExclusive(temp: string, final: string, hooks: { afterLink?: () => void } = {}): Promise<void> {
  await link(temp, final);
  hooks.afterLink?.();
  await rm(temp, { force: true });
  await fsyncDir(dirname(final));
}

/** Writes `data` to `path` durably (see the module comment). */
export async function writeFileDurable(path: string, data: string | Uint8Array, options: DurableWriteOptions = {}): Promise<void> {
  const file = await DurableTempFile.open(path, options);
  try {
    await file.handle.writeFile(data);
    await file.commit(options);
  } catch (err) {
    await file.discard();
    throw err;
  }
}

/**
 * Replaces `path` with `data` through a temp file and a rename, without fsync. A process killed
 * midway leaves the old content or the new one under `path`, never a mix (the temp it may leave
 * is a {@link tempPathFor} name). A power loss may undo the replacement or, depending on the
 * filesystem, leave an empty or partial file: readers must validate what they read.
 */
export async function replaceFileUnsynced(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = tempPathFor(path);
  try {
    await writeFile(tmp, data, { flag: 'wx' });
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** {@link writeFileDurable}, synchronously (configuration files, tokens, keys). */
export function writeFileDurableSync(path: string, data: string | Uint8Array, options: DurableWriteOptions = {}): void {
  const tmp = tempPathFor(path);
  const fd = openSync(tmp, 'wx', options.mode ?? 0o644);
  try {
    try {
      const bytes = typeof data === 'string' ? Buffer.from(data) : data;
      let done = 0;
      while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (options.exclusive) {
      linkSync(tmp, path);
      rmSync(tmp, { force: true });
    } else {
      renameSync(tmp, path);
    }
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  fsyncDirSync(dirname(path));
}

/**
 * A file written in pieces under a temp name and given its final name by {@link commit} (for
 * outputs too large to hold in memory). {@link discard} removes it instead; call it on every
 * failure path (it is harmless after a commit).
 */
export class DurableTempFile {
  readonly path: string;
  readonly temp: string;
  readonly handle: FileHandle;
  #closed = false;
  #committed = false;

  private constructor(path: string, temp: string, handle: FileHandle) {
    this.path = path;
    this.temp = temp;
    this.handle = handle;
  }

  /** Creates the temp file for `path` (exclusively, with `mode`). */
  static async open(path: string, options: { mode?: number } = {}): Promise<DurableTempFile> {
    const temp = tempPathFor(path);
    const handle = await open(temp, 'wx', options.mode ?? 0o644);
    return new DurableTempFile(path, temp, handle);
  }

  /** fsyncs and closes the temp file, then renames it to its final name (see {@link DurableWriteOptions.exclusive}). */
  async commit(options: { exclusive?: boolean; beforeRename?: () => void } = {}): Promise<void> {
    await this.handle.sync();
    this.#closed = true;
    await this.handle.close();
    options.beforeRename?.();
    if (options.exclusive) await publishExclusive(this.temp, this.path);
    else await renameDurable(this.temp, this.path);
    this.#committed = true;
  }

  /** Closes and removes the temp file; the final name is untouched. */
  async discard(): Promise<void> {
    if (this.#committed) return;
    if (!this.#closed) {
      this.#closed = true;
      await this.handle.close().catch(() => {});
    }
    await rm(this.temp, { force: true });
  }
}
