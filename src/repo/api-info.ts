/**
 * The `api` and `token` files through which every CLI command (and worker) finds a running
 * daemon, as in Lotus: `api` holds a multiaddr `/ip4/127.0.0.1/tcp/2345/http`, `token` an admin
 * JWT (mode 0600). The daemon writes them after it listens and removes `api` when it stops.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DaemonUnreachableError, InvalidArgumentError } from '../errors.js';
import { RepoFiles } from './repo-path.js';

/** How to reach a daemon. */
export interface ApiInfo {
  /** `http://host:port`. */
  url: string;
  /** The multiaddr as written in the `api` file. */
  multiaddr: string;
  token?: string;
}

/** Lotus-style multiaddr for an HTTP listener. */
export function toMultiaddr(host: string, port: number): string {
  const family = host.includes(':') ? 'ip6' : /^\d+\.\d+\.\d+\.\d+$/.test(host) ? 'ip4' : 'dns';
  return `/${family}/${host}/tcp/${port}/http`;
}

/** `http://host:port` from a multiaddr `/ip4/<host>/tcp/<port>/http` (or ip6/dns). */
export function multiaddrToUrl(addr: string): string {
  const m = /^\/(ip4|ip6|dns|dns4|dns6)\/([^/]+)\/tcp\/(\d+)(?:\/(http|https|ws|wss))?\/?$/.exec(addr.trim());
  if (!m) throw new InvalidArgumentError(`API address "${addr.trim()}" is not a multiaddr like /ip4/127.0.0.1/tcp/2345/http`);
  const [, family, host, port, proto] = m;
  const scheme = proto === 'https' || proto === 'wss' ? 'https' : 'http';
  return `${scheme}://${family === 'ip6' ? `[${host}]` : host}:${port}`;
}

/**
 * Reads `<repo>/api` and `<repo>/token`. A missing `api` file means no daemon is running on
 * this repository (DaemonUnreachableError says so and how to start one).
 */
export function readApiInfo(repoPath: string): ApiInfo {
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
