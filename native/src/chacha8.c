/* ChaCha block function and a word-stream generator (see chacha8.h). */
#include "chacha8.h"

#define ROTL32(x, n) (((x) << (n)) | ((x) >> (32 - (n))))
#define QR(a, b, c, d)                                                  \
  do {                                                                  \
    a += b; d ^= a; d = ROTL32(d, 16);                                  \
    c += d; b ^= c; b = ROTL32(b, 12);                                  \
    a += b; d ^= a; d = ROTL32(d, 8);                                   \
    c += d; b ^= c; b = ROTL32(b, 7);                                   \
  } while (0)

static uint32_t load_le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void ss_chacha_block(const uint32_t key[8], uint64_t counter, uint64_t stream, unsigned rounds,
                     uint32_t out[16]) {
  uint32_t s[16] = {0x61707865, 0x3320646e, 0x79622d32, 0x6b206574, key[0], key[1], key[2], key[3],
                    key[4],     key[5],     key[6],     key[7],     (uint32_t)counter,
                    (uint32_t)(counter >> 32), (uint32_t)stream, (uint32_t)(stream >> 32)};
  uint32_t x0 = s[0], x1 = s[1], x2 = s[2], x3 = s[3], x4 = s[4], x5 = s[5], x6 = s[6], x7 = s[7];
  uint32_t x8 = s[8], x9 = s[9], x10 = s[10], x11 = s[11], x12 = s[12], x13 = s[13], x14 = s[14],
           x15 = s[15];
  for (unsigned i = 0; i < rounds; i += 2) {
    QR(x0, x4, x8, x12);
    QR(x1, x5, x9, x13);
    QR(x2, x6, x10, x14);
    QR(x3, x7, x11, x15);
    QR(x0, x5, x10, x15);
    QR(x1, x6, x11, x12);
    QR(x2, x7, x8, x13);
    QR(x3, x4, x9, x14);
  }
  out[0] = x0 + s[0];
  out[1] = x1 + s[1];
  out[2] = x2 + s[2];
  out[3] = x3 + s[3];
  out[4] = x4 + s[4];
  out[5] = x5 + s[5];
  out[6] = x6 + s[6];
  out[7] = x7 + s[7];
  out[8] = x8 + s[8];
  out[9] = x9 + s[9];
  out[10] = x10 + s[10];
  out[11] = x11 + s[11];
  out[12] = x12 + s[12];
  out[13] = x13 + s[13];
  out[14] = x14 + s[14];
  out[15] = x15 + s[15];
}

void ss_chacha_rng_init(ss_chacha_rng *rng, const uint8_t seed[32], unsigned rounds) {
  for (int i = 0; i < 8; i++) rng->key[i] = load_le32(seed + 4 * i);
  rng->counter = 0;
  rng->pos = 16;
  rng->rounds = rounds;
}

uint32_t ss_chacha_rng_u32(ss_chacha_rng *rng) {
  if (rng->pos >= 16) {
    ss_chacha_block(rng->key, rng->counter++, 0, rng->rounds, rng->buf);
    rng->pos = 0;
  }
  return rng->buf[rng->pos++];
}

uint64_t ss_chacha_rng_u64(ss_chacha_rng *rng) {
  uint64_t lo = ss_chacha_rng_u32(rng);
  uint64_t hi = ss_chacha_rng_u32(rng);
  return lo | hi << 32;
}
