/**
 * Methods every node answers (Lotus's common API): `Filecoin.Version`, `Filecoin.Session`,
 * `Filecoin.AuthNew`, `Filecoin.AuthVerify`, `Filecoin.Shutdown`.
 */
import { InternalError, InvalidArgumentError } from '../../errors.js';
import { ALL_PERMISSIONS, type Permission } from '../../auth/tokens.js';
import { expectArity } from '../params.js';
import { defineMethod } from '../rpc-method.js';

/** Result of `Filecoin.Version`. */
export interface VersionInfo {
  /** Program version (package.json). */
  Version: string;
  /** API version of this server (bumped on incompatible method changes). */
  APIVersion: number;
  minerId: number;
  sealProof: number;
  sectorSize: number;
}

/** The API version; bump on incompatible changes to a method. */
export const API_VERSION = 1;

/** The token inside an `AuthNew` result (base64 of its bytes, as Lotus's `[]byte`). */
export function tokenFromAuthNew(result: string): string {
  return Buffer.from(result, 'base64').toString('utf8');
}

export const commonMethods = {
  /** `Filecoin.Version() → VersionInfo` (read). */
  Version: defineMethod({
    perm: 'read',
    params: (raw): [] => {
      expectArity(raw, 0);
      return [];
    },
    run: (_p, { components: { daemon } }): VersionInfo => ({
      Version: daemon.version,
      APIVersion: API_VERSION,
      minerId: daemon.minerId,
      sealProof: daemon.sealProof,
      sectorSize: daemon.sectorSize,
    }),
  }),
  /** `Filecoin.Session() → uuid` (read): changes on every daemon start, so clients detect restarts. */
  Session: defineMethod({
    perm: 'read',
    params: (raw): [] => {
      expectArity(raw, 0);
      return [];
    },
    run: (_p, { components }): string => components.daemon.session,
  }),
  /**
   * `Filecoin.Shutdown()` (admin): answers, then the daemon shuts down as on SIGTERM (Lotus's
   * `lotus-miner stop`).
   */
  Shutdown: defineMethod({
    perm: 'admin',
    params: (raw): [] => {
      expectArity(raw, 0);
      return [];
    },
    run: (_p, { components }): null => {
      const stop = components.daemon.requestShutdown;
      if (!stop) throw new InternalError('this server cannot be shut down through its API');
      // after the answer is on its way: the shutdown closes this very connection
      setImmediate(() => stop('Filecoin.Shutdown'));
      return null;
    },
  }),
  /**
   * `Filecoin.AuthNew(perms: string[]) → base64 of the token` (admin): Lotus returns the token as
   * `[]byte`, which Go's JSON writes as base64; {@link tokenFromAuthNew} turns it back.
   */
  AuthNew: defineMethod({
    perm: 'admin',
    params: (raw): [Permission[]] => {
      expectArity(raw, 1);
      const list = raw[0];
      if (!Array.isArray(list) || list.some((p) => !ALL_PERMISSIONS.includes(p as Permission))) {
        throw new InvalidArgumentError(`param perms must be a list of ${ALL_PERMISSIONS.join(', ')} (got ${JSON.stringify(list)})`);
      }
      return [list as Permission[]];
    },
    run: ([perms], { components }): string => Buffer.from(components.daemon.createToken(perms)).toString('base64'),
  }),
  /** `Filecoin.AuthVerify(token) → perms` (read): the permissions a token grants (used by workers). */
  AuthVerify: defineMethod({
    perm: 'read',
    params: (raw): [string] => {
      expectArity(raw, 1);
      if (typeof raw[0] !== 'string') throw new InvalidArgumentError('param token must be a string');
      return [raw[0]];
    },
    run: ([token], { components }): Permission[] => components.daemon.verifyToken(token),
  }),
};
