/**
 * `sector-storage auth …`, as `lotus-miner auth`: `create-token --perm P` prints a new API token
 * (`Filecoin.AuthNew`), `api-info --perm P` prints `SECTOR_STORAGE_API_INFO=TOKEN:MULTIADDR` for
 * another shell or machine. As in Lotus, `--perm P` grants P and every weaker permission
 * (read < write < sign < admin).
 */
import { tokenFromAuthNew } from '../../api/methods/common.js';
import { ALL_PERMISSIONS, type Permission } from '../../auth/tokens.js';
import { API_INFO_ENV, formatApiInfo, readApiInfo } from '../../repo/api-info.js';
import { UsageError } from '../args.js';
import { defineCommand } from '../command.js';

/** `P` and every weaker permission (Lotus's `AllPermissions[:idx+1]`). */
export function permissionsUpTo(perm: string): Permission[] {
  const idx = ALL_PERMISSIONS.indexOf(perm as Permission);
  if (idx < 0) throw new UsageError(`--perm must be one of ${ALL_PERMISSIONS.join(', ')} (got ${JSON.stringify(perm)})`);
  return ALL_PERMISSIONS.slice(0, idx + 1);
}

const permFlag = {
  perm: { type: 'string', valueName: 'PERM', required: true, description: `${ALL_PERMISSIONS.join(', ')}: the permission granted, with every weaker one` },
} as const;

const createToken = defineCommand({
  path: ['auth', 'create-token'],
  summary: 'create an API token with a permission (and every weaker one), signed with the repository secret',
  flags: permFlag,
  positionals: [],
  async run({ flags, out, connect, signal }) {
    const perms = permissionsUpTo(flags.perm);
    const api = await connect();
    try {
      const token = tokenFromAuthNew(await api.call('AuthNew', perms, { signal }));
      out.result({ token, perms }, (r) => r.token);
    } finally {
      api.close();
    }
  },
});

const apiInfo = defineCommand({
  path: ['auth', 'api-info'],
  summary: `print ${API_INFO_ENV}=TOKEN:MULTIADDR for a new token with a permission (and every weaker one)`,
  flags: permFlag,
  positionals: [],
  async run({ flags, out, connect, repoPath, signal }) {
    const perms = permissionsUpTo(flags.perm);
    const api = await connect();
    try {
      const token = tokenFromAuthNew(await api.call('AuthNew', perms, { signal }));
      const { multiaddr } = readApiInfo(repoPath);
      const value = formatApiInfo(token, multiaddr);
      out.result({ [API_INFO_ENV]: value, perms }, () => `${API_INFO_ENV}=${value}`);
    } finally {
      api.close();
    }
  },
});

export const authCommands = [createToken, apiInfo];
