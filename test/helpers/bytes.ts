/**
 * Deterministic test data: a failing test reproduces with the same bytes.
 */

/** A stream of pseudo-random bytes (xorshift32) from `seed`; each call continues the stream. */
export function prng(seed: number): (n: number) => Uint8Array {
  let s = seed >>> 0 || 1;
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      s ^= s << 13;
      s >>>= 0;
      s ^= s >>> 17;
      s ^= s << 5;
      s >>>= 0;
      out[i] = s & 0xff;
    }
    return out;
  };
}

/** `n` pseudo-random bytes from `seed` (the first `n` bytes of `prng(seed)`). */
export function seededBytes(n: number, seed: number): Uint8Array {
  return prng(seed)(n);
}

/** Lower-case hex of bytes. */
export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
