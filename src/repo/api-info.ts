/**
 * The `api` and `token` files through which every CLI command (and worker) finds a running
 * daemon, as in Lotus: `api` holds a multiaddr `/ip4/127.0.0.1/tcp/2345/http` (`/https` when the
 * daemon serves TLS), `token` an admin
 * JWT (mode 0600). The daemon writes them after it listens and removes `api` when it stops.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DaemonUnreachableError, InvalidArgumentError } from '../errors.js';
import { RepoFiles } from './repo-path.js';

/** How to reach a daemon. */
export interface ApiInfo {
  /** `http://host:port` (or `https://`). */
  url: string;
  /** The multiaddr as written in the `api` file. */
  multiaddr: string;
  token?: string;
}

/**
 * Lotus-style multiaddr for an HTTP listener, `/https` for one behind TLS (Lotus's
 * `cli/util/apiinfo.go` DialArgs reads `/https` and `/wss` as TLS).
 */
export function toMultiaddr(host: string, port: number, scheme: 'http' | 'https' = 'http'): string {
  const family = host.includes(':') ? 'ip6' : /^\d+\.\d+\.\d+\.\d+$/.test(host) ? 'ip4' : 'dns';
  return `/${family}/${host}/tcp/${port}/${scheme}`;
}

/** `http://host:port` from a multiaddr `/ip4/<host>/tcp/<port>/http` (or ip6/dns). */
export function multiaddrToUrl(addr: string): string {
  const m = /^\/(ip4|ip6|dns|dns4|dns6)\/([^/]+)\/tcp\/(\d+)(?:\/(http|https|ws|wss))?\/?$/.exec(addr.trim());
  if (!m) throw new InvalidArgumentError(`API address "${addr.trim()}" is not a multiaddr like /ip4/127.0.0.1/tcp/2345/http`);
  const [, family, host, port, proto] = m;
  const scheme = proto === 'https' || proto === 'wss' ? 'https' : 'http';
  return `${scheme}://${family === 'ip6' ? `[${host}]` : host}:${port}`;
}

/** The variable that points the CLI at a daemon, as Lotus's `MINER_API_INFO`: `TOKEN:MULTIADDR`. */
export const API_INFO_ENV = 'SECTOR_STORAGE_API_INFO';

/** `TOKEN:/ip4/127.0.0.1/tcp/2345/http` (or the multiaddr alone) as `sector-storage auth api-info` prints it. */
export function formatApiInfo(token: string, multiaddr: string): string {
  return `${token}:${multiaddr}`;
}

/** Parses a {@link API_INFO_ENV} value: `TOKEN:MULTIADDR`, or a multiaddr alone (read permission). */
export function parseApiInfo(text: string): ApiInfo {
  const value = text.trim();
  const slash = value.indexOf(':/');
  const token = value.startsWith('/') ? undefined : slash > 0 ? value.slice(0, slash) : undefined;
  const multiaddr = value.startsWith('/') ? value : slash > 0 ? value.slice(slash + 1) : '';
  if (!multiaddr) throw new InvalidArgumentError(`${API_INFO_ENV} "${value}" is not TOKEN:MULTIADDR (e.g. eyJ…:/ip4/127.0.0.1/tcp/2345/http)`);
  return { url: multiaddrToUrl(multiaddr), multiaddr, ...(token ? { token } : {}) };
}

/**
 * How to reach the daemon: {@link API_INFO_ENV} when set (as Lotus's `MINER_API_INFO` wins over
 * the repository), else `<repo>/api` and `<repo>/token`. A missing `api` file means no daemon is
 * running on this repository (DaemonUnreachableError says so and how to start one).
 */
export function readApiInfo(repoPath: string, env: NodeJS.ProcessEnv = process.env): ApiInfo {
  const fromEnv = env[API_INFO_ENV];
  if (fromEnv !== undefined && fromEnv.trim() !== '') return parseApiInfo(fromEnv);
  let multiaddr: string;
  try {
    multiaddr = readFileSync(join(repoPath, RepoFiles.api), 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new DaemonUnreachableError(
        `no daemon is running on repository ${repoPath} (no "api" file); start one with "sector-storage run --repo ${repoPath}"`,
        { cause: err },
      );
    }
    throw err;
  }
  let token: string | undefined;
  try {
    token = readFileSync(join(repoPath, RepoFiles.token), 'utf8').trim() || undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return { url: multiaddrToUrl(multiaddr), multiaddr, token };
}
