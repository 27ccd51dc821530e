/**
 * How CLI commands reach the daemon: the repository's `api` and `token` files, then a
 * `Filecoin.Session` call so a stale `api` file (daemon killed with SIGKILL) is reported as
 * "not running" rather than as a connection error in the middle of a command.
 */
import { ApiClient, isTlsTrustError } from '../api/rpc-client.js';
import { DaemonUnreachableError } from '../errors.js';
import { API_INFO_ENV, readApiInfo } from '../repo/api-info.js';

/** A connected client for the daemon of `repoPath`. */
export async function connectToDaemon(repoPath: string): Promise<ApiClient> {
  const info = readApiInfo(repoPath);
  const client = new ApiClient({ url: info.url, token: info.token });
  try {
    await client.call('Session');
  } catch (err) {
    client.close();
    // something listens there, but its certificate does not verify: the error says so
    if (isTlsTrustError(err)) throw err;
    if (err instanceof DaemonUnreachableError && process.env[API_INFO_ENV]?.trim()) {
      throw new DaemonUnreachableError(`nothing listens at ${info.multiaddr} (from ${API_INFO_ENV})`, { cause: err });
    }
    if (err instanceof DaemonUnreachableError) {
      throw new DaemonUnreachableError(
        `the daemon of repository ${repoPath} is not running (nothing listens at ${info.multiaddr}); start it with "sector-storage run --repo ${repoPath}"`,
        { cause: err },
      );
    }
    throw err;
  }
  return client;
}
