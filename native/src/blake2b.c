/* BLAKE2b (RFC 7693), any digest length up to 64 bytes. The one-block 16-byte variant is what the expander graph calls
 * ~10^8 times for a 512 MiB sector, so it skips the byte-level message handling. */
#include "blake2b.h"
#include <string.h>

const uint64_t ss_blake2b_iv[8] = {0x6a09e667f3bcc908ULL, 0xbb67ae8584caa73bULL, 0x3c6ef372fe94f82bULL,
                               0xa54ff53a5f1d36f1ULL, 0x510e527fade682d1ULL, 0x9b05688c2b3e6c1fULL,
                               0x1f83d9abfb41bd6bULL, 0x5be0cd19137e2179ULL};

const uint8_t ss_blake2b_sigma[12][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
    {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
    {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
    {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
    {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
    {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
    {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
    {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
    {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
};

#define ROTR64(x, n) (((x) >> (n)) | ((x) << (64 - (n))))
#define G(a, b, c, d, x, y)                                             \
  do {                                                                  \
    a = a + b + (x); d = ROTR64(d ^ a, 32);                             \
    c = c + d;       b = ROTR64(b ^ c, 24);                             \
    a = a + b + (y); d = ROTR64(d ^ a, 16);                             \
    c = c + d;       b = ROTR64(b ^ c, 63);                             \
  } while (0)

static inline void compress(uint64_t h[8], const uint64_t m[16], uint64_t t, int last) {
  uint64_t v0 = h[0], v1 = h[1], v2 = h[2], v3 = h[3], v4 = h[4], v5 = h[5], v6 = h[6], v7 = h[7];
  uint64_t v8 = ss_blake2b_iv[0], v9 = ss_blake2b_iv[1], v10 = ss_blake2b_iv[2], v11 = ss_blake2b_iv[3];
  uint64_t v12 = ss_blake2b_iv[4] ^ t, v13 = ss_blake2b_iv[5], v14 = last ? ~ss_blake2b_iv[6] : ss_blake2b_iv[6], v15 = ss_blake2b_iv[7];
  for (int r = 0; r < 12; r++) {
    const uint8_t *s = ss_blake2b_sigma[r];
    G(v0, v4, v8, v12, m[s[0]], m[s[1]]);
    G(v1, v5, v9, v13, m[s[2]], m[s[3]]);
    G(v2, v6, v10, v14, m[s[4]], m[s[5]]);
    G(v3, v7, v11, v15, m[s[6]], m[s[7]]);
    G(v0, v5, v10, v15, m[s[8]], m[s[9]]);
    G(v1, v6, v11, v12, m[s[10]], m[s[11]]);
    G(v2, v7, v8, v13, m[s[12]], m[s[13]]);
    G(v3, v4, v9, v14, m[s[14]], m[s[15]]);
  }
  h[0] ^= v0 ^ v8;
  h[1] ^= v1 ^ v9;
  h[2] ^= v2 ^ v10;
  h[3] ^= v3 ^ v11;
  h[4] ^= v4 ^ v12;
  h[5] ^= v5 ^ v13;
  h[6] ^= v6 ^ v14;
  h[7] ^= v7 ^ v15;
}

static uint64_t load_le64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
  return v;
}

static void init_h(uint64_t h[8], size_t outlen) {
  memcpy(h, ss_blake2b_iv, sizeof(ss_blake2b_iv));
  h[0] ^= 0x01010000ULL ^ (uint64_t)outlen; /* depth 1, fanout 1, no key, outlen-byte digest */
}

void ss_blake2b(uint8_t *out, size_t outlen, const uint8_t *in, size_t len) {
  uint64_t h[8], m[16];
  init_h(h, outlen);
  uint64_t t = 0;
  /* every full block except the last one (the last block is compressed with the final flag,
   * even when it is full; an empty message is one zero block) */
  while (len > 128) {
    for (int i = 0; i < 16; i++) m[i] = load_le64(in + 8 * i);
    t += 128;
    compress(h, m, t, 0);
    in += 128;
    len -= 128;
  }
  uint8_t block[128] = {0};
  memcpy(block, in, len);
  for (int i = 0; i < 16; i++) m[i] = load_le64(block + 8 * i);
  t += len;
  compress(h, m, t, 1);
  for (size_t i = 0; i < outlen; i++) out[i] = (uint8_t)(h[i / 8] >> (8 * (i % 8)));
}

void ss_blake2b512(uint8_t out[64], const uint8_t *in, size_t len) { ss_blake2b(out, 64, in, len); }

uint64_t ss_blake2b512_be64_of_2be64(uint64_t a, uint64_t b) {
  uint64_t h[8];
  init_h(h, 64);
  /* message bytes are BE(a) || BE(b); BLAKE2b reads words LE, so each word is byte-swapped */
  uint64_t m[16] = {__builtin_bswap64(a), __builtin_bswap64(b), 0};
  compress(h, m, 16, 1);
  /* digest bytes 0..8 are h[0] little-endian; read big-endian that is bswap(h[0]) */
  return __builtin_bswap64(h[0]);
}
