import { randomBytes } from 'node:crypto';
import test from 'ava';
import { type Permission, TokenAuthority, VerifiedTokens } from '../../../src/auth/tokens.js';
import { UnauthorizedError } from '../../../src/errors.js';

/** A verifier over a real authority that counts how often it is asked. */
function counted(authority: TokenAuthority) {
  const asked: string[] = [];
  return {
    asked,
    verify: (token: string): Permission[] => {
      asked.push(token);
      return authority.verifyToken(token);
    },
  };
}

test('each distinct token is verified once; repeats are answered from memory with the same permissions', (t) => {
  const authority = new TokenAuthority(randomBytes(32));
  const admin = authority.createToken(['read', 'write', 'sign', 'admin']);
  const read = authority.createToken(['read']);
  const v = counted(authority);
  const tokens = new VerifiedTokens({ verify: v.verify });
  for (let i = 0; i < 5; i++) {
    t.deepEqual(tokens.permissions(admin), ['read', 'write', 'sign', 'admin']);
    t.deepEqual(tokens.permissions(read), ['read']);
  }
  t.deepEqual(v.asked, [admin, read]);
  t.is(tokens.size, 2);
});

test('a bad token is verified and refused every time, and nothing of it is remembered', (t) => {
  const forged = new TokenAuthority(randomBytes(32)).createToken(['admin']);
  const v = counted(new TokenAuthority(randomBytes(32)));
  const tokens = new VerifiedTokens({ verify: v.verify });
  for (let i = 0; i < 3; i++) {
    t.throws(() => tokens.permissions(forged), { instanceOf: UnauthorizedError, message: /signature does not match/ });
    t.throws(() => tokens.permissions('not.a.jwt'), { instanceOf: UnauthorizedError });
  }
  t.is(v.asked.length, 6);
  t.is(tokens.size, 0);
});

test('memory is bounded: past maxEntries the oldest token is forgotten and verified again when it returns', (t) => {
  const authority = new TokenAuthority(randomBytes(32));
  const v = counted(authority);
  const tokens = new VerifiedTokens({ verify: v.verify, maxEntries: 3 });
  // the same permissions signed differently: distinct token strings (the payload differs by order)
  const all = [['read'], ['read', 'write'], ['write', 'read'], ['admin']].map((p) => authority.createToken(p as Permission[]));
  for (const token of all) tokens.permissions(token);
  t.is(tokens.size, 3);
  t.is(v.asked.length, 4);
  tokens.permissions(all[3]!);
  t.is(v.asked.length, 4, 'the newest is remembered');
  tokens.permissions(all[0]!);
  t.is(v.asked.length, 5, 'the oldest was forgotten');
});

test('a verification is trusted for ttlMs only; a token refused when verified again is refused from then on', async (t) => {
  let now = 1_000;
  let secretChanged = false;
  const authority = new TokenAuthority(randomBytes(32));
  const token = authority.createToken(['read', 'write']);
  let asked = 0;
  // as a worker asks its manager: asynchronously, and the manager's answer may change
  const tokens = new VerifiedTokens({
    verify: async (tok) => {
      asked += 1;
      if (secretChanged) throw new UnauthorizedError('invalid API token: signature does not match this repository');
      return authority.verifyToken(tok);
    },
    ttlMs: 60_000,
    now: () => now,
  });
  t.deepEqual(await tokens.permissions(token), ['read', 'write']);
  now += 59_999;
  t.deepEqual(await tokens.permissions(token), ['read', 'write']);
  t.is(asked, 1);
  secretChanged = true;
  now += 1;
  await t.throwsAsync(async () => tokens.permissions(token), { instanceOf: UnauthorizedError });
  await t.throwsAsync(async () => tokens.permissions(token), { instanceOf: UnauthorizedError });
  t.is(asked, 3);
  t.is(tokens.size, 0);
});
