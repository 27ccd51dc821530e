/**
 * Where the repository lives: `--repo`, else `SECTOR_STORAGE_PATH`, else `~/.sector-storage`
 * (like Lotus's `--repo` / `LOTUS_PATH` / `~/.lotus`). A leading `~` is expanded.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** Environment variable naming the repository directory. */
export const REPO_ENV = 'SECTOR_STORAGE_PATH';

/** Default repository directory name under the home directory. */
export const DEFAULT_REPO_DIR = '.sector-storage';

/** The absolute repository path from the flag, the environment or the default. */
export function resolveRepoPath(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  const chosen = flag ?? (env[REPO_ENV] || undefined) ?? join(homedir(), DEFAULT_REPO_DIR);
  const expanded = chosen === '~' ? homedir() : chosen.startsWith('~/') ? join(homedir(), chosen.slice(2)) : chosen;
  return resolve(expanded);
}

/** Files inside a repository. */
export const RepoFiles = {
  config: 'config.json',
  database: 'sector-storage.db',
  lock: 'repo.lock',
  api: 'api',
  token: 'token',
  keystore: 'keystore',
  storageConfig: 'storage.json',
  /** The default storage path created on first start. */
  storageDir: 'storage',
} as const;
