/**
 * The repository keystore, in Lotus's layout: `<repo>/keystore/` (mode 0700), one file per key
 * named by the unpadded base32 (RFC 4648) of the key name, holding
 * `{"Type":"jwt-hmac-secret","PrivateKey":"<base64>"}` (mode 0600). The API's JWT secret is the
 * key `auth-jwt-private`, created on first use.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RepoInvalidError } from '../errors.js';
import { writeFileDurableSync } from '../fs/durable.js';
import { RepoFiles } from './repo-path.js';

/** Name of the API's JWT HMAC key (as in Lotus). */
export const JWT_KEY_NAME = 'auth-jwt-private';

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 without padding (Go's base32.RawStdEncoding). */
export function base32Raw(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31];
  return out;
}

/** A stored key. */
export interface KeyInfo {
  Type: string;
  PrivateKey: Uint8Array;
}

/** Reads key `name`, or undefined if absent; RepoInvalidError when the file is corrupt. */
export function readKey(repoPath: string, name: string): KeyInfo | undefined {
  const file = join(repoPath, RepoFiles.keystore, base32Raw(Buffer.from(name)));
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const raw = JSON.parse(text) as { Type?: unknown; PrivateKey?: unknown };
    if (typeof raw.Type !== 'string' || typeof raw.PrivateKey !== 'string') throw new Error('missing Type or PrivateKey');
    return { Type: raw.Type, PrivateKey: Buffer.from(raw.PrivateKey, 'base64') };
  } catch (err) {
    throw new RepoInvalidError(`keystore entry ${name} (${file}) is corrupted: ${(err as Error).message}`, { cause: err });
  }
}

/** Writes key `name` atomically with mode 0600. */
export function writeKey(repoPath: string, name: string, key: KeyInfo): void {
  const dir = join(repoPath, RepoFiles.keystore);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, base32Raw(Buffer.from(name)));
  writeFileDurableSync(file, JSON.stringify({ Type: key.Type, PrivateKey: Buffer.from(key.PrivateKey).toString('base64') }), { mode: 0o600 });
}

/** The API's JWT secret, created (32 random bytes) on first use. */
export function loadOrCreateJwtSecret(repoPath: string): Uint8Array {
  const existing = readKey(repoPath, JWT_KEY_NAME);
  if (existing) {
    if (existing.PrivateKey.byteLength < 16) {
      throw new RepoInvalidError(`keystore entry ${JWT_KEY_NAME} holds a ${existing.PrivateKey.byteLength}-byte secret; at least 16 needed`);
    }
    return existing.PrivateKey;
  }
  const secret = randomBytes(32);
  writeKey(repoPath, JWT_KEY_NAME, { Type: 'jwt-hmac-secret', PrivateKey: secret });
  return secret;
}
