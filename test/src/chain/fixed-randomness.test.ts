import test from 'ava';
import { fixedRandomnessBytes, parseFixedRandomness } from '../../../src/chain/fixed-randomness.js';

const T = '0a'.repeat(32);
const S = 'F1'.repeat(32);

test('TICKETHEX:SEEDHEX parses into a lowercase ticket and seed', (t) => {
  t.deepEqual(parseFixedRandomness(`${T}:${S}`), { ticket: T, seed: S.toLowerCase() });
  t.deepEqual(parseFixedRandomness(`  ${T}:${S}\n`), { ticket: T, seed: S.toLowerCase() });
});

test('a value without exactly one colon is refused, naming the expected form', (t) => {
  for (const bad of ['', T, `${T}${S}`, `${T}:${S}:${T}`]) {
    t.throws(() => parseFixedRandomness(bad), { code: 'INVALID_ARGUMENT', message: /TICKETHEX:SEEDHEX/ }, JSON.stringify(bad));
  }
});

test('a ticket or seed that is not exactly 64 hex digits is refused, naming which and what it got', (t) => {
  t.throws(() => parseFixedRandomness(`${T.slice(1)}:${S}`), {
    code: 'INVALID_ARGUMENT',
    message: 'fixed randomness: the ticket must be exactly 64 hex digits (32 bytes), got 63 hex digits',
  });
  t.throws(() => parseFixedRandomness(`${T}:${S}00`), { code: 'INVALID_ARGUMENT', message: /the seed must be exactly 64 hex digits .* got 66 hex digits/ });
  t.throws(() => parseFixedRandomness(`${T}:${'zz'.repeat(32)}`), { code: 'INVALID_ARGUMENT', message: /the seed .* not hex digits/ });
  t.throws(() => parseFixedRandomness(`0x${T.slice(2)}:${S}`), { code: 'INVALID_ARGUMENT', message: /the ticket .* not hex digits/ });
  t.throws(() => parseFixedRandomness(`:${S}`), { code: 'INVALID_ARGUMENT', message: /the ticket .* got 0 hex digits/ });
});

test('the bytes of fixed randomness are the 32 bytes the hex spells, and a hand-built bad value is refused', (t) => {
  const b = fixedRandomnessBytes(parseFixedRandomness(`${T}:${S}`));
  t.deepEqual(new Uint8Array(b.ticket), new Uint8Array(32).fill(0x0a));
  t.deepEqual(new Uint8Array(b.seed), new Uint8Array(32).fill(0xf1));
  t.throws(() => fixedRandomnessBytes({ ticket: T, seed: 'abc' }), { code: 'INVALID_ARGUMENT', message: /seed/ });
});
