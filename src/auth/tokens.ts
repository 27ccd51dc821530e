/**
 * API tokens, as Lotus makes them: a JWT signed with HS256 whose payload is
 * `{"Allow":["read","write","sign","admin"]}`. The HMAC secret lives in the repository keystore
 * (see `src/repo/keystore.ts`). Permissions are listed explicitly in a token; having `admin` does
 * not imply the others (Lotus's admin token simply lists all four).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { InvalidArgumentError, UnauthorizedError } from '../errors.js';

/** API permissions, weakest first. */
export type Permission = 'read' | 'write' | 'sign' | 'admin';

/** Every permission, as an admin token carries them. */
export const ALL_PERMISSIONS: readonly Permission[] = ['read', 'write', 'sign', 'admin'];

/** What a request without a token may do (Lotus's DefaultPerms). */
export const DEFAULT_PERMISSIONS: readonly Permission[] = ['read'];

const HEADER = base64url(Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })));

function base64url(buf: Buffer): string {
  return buf.toString('base64url');
}

function isPermission(p: unknown): p is Permission {
  return p === 'read' || p === 'write' || p === 'sign' || p === 'admin';
}

/** Signs and verifies tokens with one HMAC secret. */
export class TokenAuthority {
  readonly #secret: Buffer;

  constructor(secret: Uint8Array) {
    if (secret.byteLength < 16) throw new InvalidArgumentError(`JWT secret must be at least 16 bytes, got ${secret.byteLength}`);
    this.#secret = Buffer.from(secret);
  }

  /**
   * A token granting `permissions`.
   * @example new TokenAuthority(secret).createToken(ALL_PERMISSIONS)
   */
  createToken(permissions: readonly Permission[]): string {
    for (const p of permissions) {
      if (!isPermission(p)) throw new InvalidArgumentError(`unknown permission ${JSON.stringify(p)}`);
    }
    const payload = base64url(Buffer.from(JSON.stringify({ Allow: [...permissions] })));
    return `${HEADER}.${payload}.${this.#sign(`${HEADER}.${payload}`)}`;
  }

  /** The permissions a token grants; UnauthorizedError when it is malformed or its signature is wrong. */
  verifyToken(token: string): Permission[] {
    const parts = token.trim().split('.');
    if (parts.length !== 3) throw new UnauthorizedError('invalid API token: not a JWT (expected 3 dot-separated parts)');
    const [h, p, s] = parts as [string, string, string];
    let header: unknown;
    let payload: unknown;
    try {
      header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
      payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
    } catch {
      throw new UnauthorizedError('invalid API token: header or payload is not base64url JSON');
    }
    if ((header as { alg?: unknown })?.alg !== 'HS256') {
      throw new UnauthorizedError('invalid API token: only HS256 tokens are accepted');
    }
    const expected = Buffer.from(this.#sign(`${h}.${p}`));
    const given = Buffer.from(s);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
      throw new UnauthorizedError('invalid API token: signature does not match this repository');
    }
    const allow = (payload as { Allow?: unknown })?.Allow;
    if (!Array.isArray(allow)) throw new UnauthorizedError('invalid API token: payload has no "Allow" list');
    return allow.filter(isPermission);
  }

  #sign(data: string): string {
    return base64url(createHmac('sha256', this.#secret).update(data).digest());
  }
}

/** The bearer token of an `Authorization` header value, if any. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m?.[1];
}

/** True when `granted` includes `needed`. */
export function hasPermission(granted: readonly Permission[], needed: Permission): boolean {
  return granted.includes(needed);
}

export interface VerifiedTokensOptions {
  /** Verifies a token the cache has not seen (throws UnauthorizedError for a bad one). */
  verify: (token: string) => readonly Permission[] | Promise<readonly Permission[]>;
  /** Tokens remembered at most; the oldest is forgotten first. @default 1024 */
  maxEntries?: number;
  /** How long a verification is trusted. @default Infinity (a secret that cannot change while the process runs) */
  ttlMs?: number;
  /** Clock. @default Date.now */
  now?: () => number;
}

/**
 * The permissions of tokens already verified, by token string. Verifying a JWT costs an HMAC, two
 * base64url decodes and two JSON parses; an HTTP client sends its token with every request, so
 * the API server verifies each distinct token once and looks it up afterwards. Only successes are
 * remembered: a bad token is verified (and refused) every time, so guessing fills nothing. Lotus
 * has no token revocation (a token is valid as long as the secret that signed it), nor does this
 * system; `ttlMs` bounds how long a verification made elsewhere (a worker asking its manager) is
 * trusted.
 */
export class VerifiedTokens {
  readonly #opts: VerifiedTokensOptions;
  readonly #entries = new Map<string, { permissions: readonly Permission[]; until: number }>();

  constructor(options: VerifiedTokensOptions) {
    this.#opts = options;
  }

  /** How many tokens are remembered. */
  get size(): number {
    return this.#entries.size;
  }

  /** The permissions of `token`, verified at most once per `ttlMs`. */
  permissions(token: string): readonly Permission[] | Promise<readonly Permission[]> {
    const now = (this.#opts.now ?? Date.now)();
    const hit = this.#entries.get(token);
    if (hit && hit.until > now) return hit.permissions;
    if (hit) this.#entries.delete(token);
    const verified = this.#opts.verify(token);
    if (verified instanceof Promise) return verified.then((p) => this.#remember(token, p, now));
    return this.#remember(token, verified, now);
  }

  #remember(token: string, permissions: readonly Permission[], now: number): readonly Permission[] {
    const max = Math.max(1, this.#opts.maxEntries ?? 1024);
    while (this.#entries.size >= max) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
    this.#entries.set(token, { permissions, until: now + (this.#opts.ttlMs ?? Number.POSITIVE_INFINITY) });
    return permissions;
  }
}
