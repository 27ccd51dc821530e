/* Portable C SHA-256 compression (FIPS 180-4): the reference backend and the fallback for CPUs
 * without SHA extensions. Rounds are unrolled by macros with rotating variable names, the message
 * schedule lives in a 16-word ring. */
#include <string.h>
#include "sha256.h"
#include "sha256_impl.h"

#define ROTR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))
#define BSIG0(x) (ROTR(x, 2) ^ ROTR(x, 13) ^ ROTR(x, 22))
#define BSIG1(x) (ROTR(x, 6) ^ ROTR(x, 11) ^ ROTR(x, 25))
#define SSIG0(x) (ROTR(x, 7) ^ ROTR(x, 18) ^ ((x) >> 3))
#define SSIG1(x) (ROTR(x, 17) ^ ROTR(x, 19) ^ ((x) >> 10))
#define CH(e, f, g) ((g) ^ ((e) & ((f) ^ (g))))
#define MAJ(a, b, c) (((a) & (b)) | ((c) & ((a) | (b))))

/* One round given wk = W[t] + K[t]; the caller rotates the roles of a..h. */
#define ROUND(a, b, c, d, e, f, g, h, wk)                  \
  do {                                                     \
    uint32_t t1_ = (h) + BSIG1(e) + CH(e, f, g) + (wk);    \
    (d) += t1_;                                            \
    (h) = t1_ + BSIG0(a) + MAJ(a, b, c);                   \
  } while (0)

/* W[t] for t >= 16 from the 16-word ring w. */
#define EXPAND(w, t) \
  ((w)[(t) & 15] += SSIG1((w)[((t) - 2) & 15]) + (w)[((t) - 7) & 15] + SSIG0((w)[((t) - 15) & 15]))

#define ROUNDS8(t, WK)                          \
  ROUND(a, b, c, d, e, f, g, h, WK((t) + 0));   \
  ROUND(h, a, b, c, d, e, f, g, WK((t) + 1));   \
  ROUND(g, h, a, b, c, d, e, f, WK((t) + 2));   \
  ROUND(f, g, h, a, b, c, d, e, WK((t) + 3));   \
  ROUND(e, f, g, h, a, b, c, d, WK((t) + 4));   \
  ROUND(d, e, f, g, h, a, b, c, WK((t) + 5));   \
  ROUND(c, d, e, f, g, h, a, b, WK((t) + 6));   \
  ROUND(b, c, d, e, f, g, h, a, WK((t) + 7))

/* Compresses the 16 message words w (big-endian decoded) into st. */
static inline void compress_words(uint32_t st[8], uint32_t w[16]) {
  uint32_t a = st[0], b = st[1], c = st[2], d = st[3], e = st[4], f = st[5], g = st[6], h = st[7];
#define WK_FIRST(t) (w[(t)] + ss_sha256_k[(t)])
#define WK_NEXT(t) (EXPAND(w, (t)) + ss_sha256_k[(t)])
  ROUNDS8(0, WK_FIRST);
  ROUNDS8(8, WK_FIRST);
  for (int t = 16; t < 64; t += 8) {
    ROUNDS8(t, WK_NEXT);
  }
#undef WK_FIRST
#undef WK_NEXT
  st[0] += a; st[1] += b; st[2] += c; st[3] += d;
  st[4] += e; st[5] += f; st[6] += g; st[7] += h;
}

void ss_sha256_portable_wk(uint32_t st[8], const uint32_t wk[64]) {
  uint32_t a = st[0], b = st[1], c = st[2], d = st[3], e = st[4], f = st[5], g = st[6], h = st[7];
#define WK_TABLE(t) (wk[(t)])
  for (int t = 0; t < 64; t += 8) {
    ROUNDS8(t, WK_TABLE);
  }
#undef WK_TABLE
  st[0] += a; st[1] += b; st[2] += c; st[3] += d;
  st[4] += e; st[5] += f; st[6] += g; st[7] += h;
}

void ss_sha256_portable_halves(uint32_t st[8], const uint8_t *lo, const uint8_t *hi) {
  uint32_t w[16];
  for (int i = 0; i < 8; i++) w[i] = ss_be32(lo + 4 * i);
  for (int i = 0; i < 8; i++) w[8 + i] = ss_be32(hi + 4 * i);
  compress_words(st, w);
}

void ss_sha256_portable_blocks(uint32_t st[8], const uint8_t *blocks, size_t n_blocks) {
  for (size_t j = 0; j < n_blocks; j++) {
    uint32_t w[16];
    for (int i = 0; i < 16; i++) w[i] = ss_be32(blocks + 64 * j + 4 * i);
    compress_words(st, w);
  }
}

void ss_sha256_portable_pairs(const uint8_t *in, size_t n_pairs, uint8_t *out) {
  for (size_t i = 0; i < n_pairs; i++) {
    uint32_t st[8];
    memcpy(st, ss_sha256_h0, sizeof st);
    ss_sha256_portable_blocks(st, in + 64 * i, 1);
    ss_sha256_portable_wk(st, ss_sha256_pad64_wk);
    /* the input block was fully read above, so writing out[i] is safe even in place */
    ss_sha256_digest(st, out + 32 * i);
    ss_trunc254(out + 32 * i);
  }
}

void ss_sha256_portable_chunks(const uint8_t *const *chunks, size_t n_chunks, uint8_t out[32]) {
  uint32_t st[8];
  memcpy(st, ss_sha256_h0, sizeof st);
  size_t i = 0;
  for (; i + 1 < n_chunks; i += 2) ss_sha256_portable_halves(st, chunks[i], chunks[i + 1]);
  uint64_t total = (uint64_t)n_chunks * 32;
  if (n_chunks & 1) {
    uint8_t half[32];
    ss_sha256_pad_half(total, half);
    ss_sha256_portable_halves(st, chunks[n_chunks - 1], half);
  } else if (total == 64) {
    ss_sha256_portable_wk(st, ss_sha256_pad64_wk);
  } else {
    uint8_t pad[64];
    memset(pad, 0, sizeof pad);
    pad[0] = 0x80;
    ss_put_be64(pad + 56, total * 8);
    ss_sha256_portable_blocks(st, pad, 1);
  }
  ss_sha256_digest(st, out);
}

/* W[t] + K[t] of the block lo || hi: the schedule a repeated block shares between its repeats. */
static void schedule(const uint8_t *lo, const uint8_t *hi, uint32_t wk[64]) {
  uint32_t w[64];
  for (int i = 0; i < 8; i++) w[i] = ss_be32(lo + 4 * i);
  for (int i = 0; i < 8; i++) w[8 + i] = ss_be32(hi + 4 * i);
  for (int t = 16; t < 64; t++) w[t] = SSIG1(w[t - 2]) + w[t - 7] + SSIG0(w[t - 15]) + w[t - 16];
  for (int t = 0; t < 64; t++) wk[t] = w[t] + ss_sha256_k[t];
}

void ss_sha256_portable_repeat(uint32_t st[8], const ss_sha256_repeat *m, unsigned n_distinct, unsigned n_blocks) {
  uint32_t wk[SS_SHA256_REPEAT_MAX][64];
  unsigned d = 0;
  for (unsigned j = 0; j < n_blocks; j++) {
    if (j < n_distinct) schedule(m->pairs[2 * d], m->pairs[2 * d + 1], wk[d]);
    ss_sha256_portable_wk(st, wk[d]);
    d = d + 1 == n_distinct ? 0 : d + 1;
  }
  uint8_t half[32];
  ss_sha256_pad_half(64 * ((uint64_t)n_blocks + 1) + 32, half);
  ss_sha256_portable_halves(st, m->last, half);
}

/* Same streams, blocks and checksum as ss_sha256_shani_bench. */
uint32_t ss_sha256_portable_bench(unsigned ways, uint64_t count) {
  uint8_t ring[64 * 64];
  for (int i = 0; i < (int)sizeof ring; i++) ring[i] = (uint8_t)(i * 7 + (i >> 8) + 1);
  uint32_t st[4][8];
  for (unsigned s = 0; s < ways; s++) {
    memcpy(st[s], ss_sha256_h0, sizeof st[s]);
    st[s][0] ^= s;
  }
  for (uint64_t n = 0; n < count; n++)
    for (unsigned s = 0; s < ways; s++) ss_sha256_portable_blocks(st[s], ring + 64 * ((n + 16 * s) & 63), 1);
  uint32_t sum = 0;
  for (unsigned s = 0; s < ways; s++)
    for (int i = 0; i < 8; i++) sum ^= st[s][i] + (uint32_t)i;
  return sum;
}
