/* Eight SHA-256 messages at once on AVX-512VL: one 256-bit register holds the same state or
 * schedule word of the eight messages (one 32-bit lane each), so every round is a handful of
 * vector instructions (rotates and three-input logic in one instruction each) for eight
 * compressions. On Intel cores, whose SHA-NI does not run two chains faster than one, this
 * labels a PC1 batch of eight sectors faster than SHA-NI does (measured on an Ice Lake Xeon:
 * ~25-30 M compressions/s against ~17 M/s for SHA-NI, one thread); on AMD cores two SHA-NI
 * chains run at twice one and stay ahead, so cpu.c enables this only on Intel (SS_HW_X8SHA).
 *
 * Messages are given as 32-byte chunks read in place (as ss_sha256_chunks takes them), every
 * message of the eight with the same chunk count; the 8x8 word transposes between the chunk
 * rows and the lane layout are done with in-register shuffles. */
#include <string.h>
#include "sha256.h"
#include "sha256_impl.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define X8_FN __attribute__((target("avx2,avx512f,avx512vl")))
#define X8_INLINE static inline __attribute__((always_inline, target("avx2,avx512f,avx512vl")))

typedef __m256i v8;

X8_INLINE v8 bswap32(v8 x) {
  const v8 m = _mm256_set_epi8(12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11, 4, 5,
                               6, 7, 0, 1, 2, 3);
  return _mm256_shuffle_epi8(x, m);
}

/* r[s] (8 words of row s) -> w[j] (word j of every row, lane s = row s); in place. */
X8_INLINE void transpose8(v8 r[8]) {
  v8 t[8], u[8];
  for (int s = 0; s < 8; s += 2) {
    t[s] = _mm256_unpacklo_epi32(r[s], r[s + 1]);
    t[s + 1] = _mm256_unpackhi_epi32(r[s], r[s + 1]);
  }
  u[0] = _mm256_unpacklo_epi64(t[0], t[2]);
  u[1] = _mm256_unpackhi_epi64(t[0], t[2]);
  u[2] = _mm256_unpacklo_epi64(t[1], t[3]);
  u[3] = _mm256_unpackhi_epi64(t[1], t[3]);
  u[4] = _mm256_unpacklo_epi64(t[4], t[6]);
  u[5] = _mm256_unpackhi_epi64(t[4], t[6]);
  u[6] = _mm256_unpacklo_epi64(t[5], t[7]);
  u[7] = _mm256_unpackhi_epi64(t[5], t[7]);
  for (int k = 0; k < 4; k++) {
    r[k] = _mm256_permute2x128_si256(u[k], u[k + 4], 0x20);
    r[k + 4] = _mm256_permute2x128_si256(u[k], u[k + 4], 0x31);
  }
}

/* Words 0..7 (half 0) or 8..15 (half 1) of a block whose half comes from chunk pointers p[s]. */
X8_INLINE void load_half(v8 *w, const uint8_t *const p[8]) {
  for (int s = 0; s < 8; s++) w[s] = bswap32(_mm256_loadu_si256((const v8 *)p[s]));
  transpose8(w);
}

X8_INLINE v8 ror(v8 x, int n) { return _mm256_ror_epi32(x, n); }

/* One compression of the block w[0..16) in every lane (w is clobbered by the schedule). */
X8_INLINE void compress(v8 st[8], v8 w[16]) {
  v8 a = st[0], b = st[1], c = st[2], d = st[3], e = st[4], f = st[5], g = st[6], h = st[7];
#pragma GCC unroll 64
  for (int t = 0; t < 64; t++) {
    v8 wt;
    if (t < 16) {
      wt = w[t];
    } else {
      const v8 w2 = w[(t - 2) & 15], w15 = w[(t - 15) & 15];
      const v8 s1 = _mm256_ternarylogic_epi32(ror(w2, 17), ror(w2, 19), _mm256_srli_epi32(w2, 10), 0x96);
      const v8 s0 = _mm256_ternarylogic_epi32(ror(w15, 7), ror(w15, 18), _mm256_srli_epi32(w15, 3), 0x96);
      wt = _mm256_add_epi32(_mm256_add_epi32(s1, w[(t - 7) & 15]), _mm256_add_epi32(s0, w[t & 15]));
      w[t & 15] = wt;
    }
    const v8 S1 = _mm256_ternarylogic_epi32(ror(e, 6), ror(e, 11), ror(e, 25), 0x96);
    const v8 ch = _mm256_ternarylogic_epi32(e, f, g, 0xca); /* (e & f) ^ (~e & g) */
    const v8 t1 = _mm256_add_epi32(_mm256_add_epi32(h, S1),
                                   _mm256_add_epi32(ch, _mm256_add_epi32(wt, _mm256_set1_epi32((int)ss_sha256_k[t]))));
    const v8 S0 = _mm256_ternarylogic_epi32(ror(a, 2), ror(a, 13), ror(a, 22), 0x96);
    const v8 mj = _mm256_ternarylogic_epi32(a, b, c, 0xe8); /* majority */
    h = g;
    g = f;
    f = e;
    e = _mm256_add_epi32(d, t1);
    d = c;
    c = b;
    b = a;
    a = _mm256_add_epi32(t1, _mm256_add_epi32(S0, mj));
  }
  st[0] = _mm256_add_epi32(st[0], a);
  st[1] = _mm256_add_epi32(st[1], b);
  st[2] = _mm256_add_epi32(st[2], c);
  st[3] = _mm256_add_epi32(st[3], d);
  st[4] = _mm256_add_epi32(st[4], e);
  st[5] = _mm256_add_epi32(st[5], f);
  st[6] = _mm256_add_epi32(st[6], g);
  st[7] = _mm256_add_epi32(st[7], h);
}

/* A block that is the same in every lane (padding), from 64 bytes. */
X8_INLINE void load_common(v8 w[16], const uint8_t block[64]) {
  for (int j = 0; j < 16; j++) w[j] = _mm256_set1_epi32((int)ss_be32(block + 4 * j));
}

X8_FN void ss_sha256_x8_chunks(const uint8_t *const *const *chunks, size_t n_chunks, uint8_t *const *out) {
  v8 st[8], w[16];
  for (int j = 0; j < 8; j++) st[j] = _mm256_set1_epi32((int)ss_sha256_h0[j]);
  size_t i = 0;
  const uint8_t *p[8];
  for (; i + 1 < n_chunks; i += 2) {
    for (int s = 0; s < 8; s++) p[s] = chunks[s][i];
    load_half(w, p);
    for (int s = 0; s < 8; s++) p[s] = chunks[s][i + 1];
    load_half(w + 8, p);
    compress(st, w);
  }
  const uint64_t total = (uint64_t)n_chunks * 32;
  if (n_chunks & 1) {
    uint8_t half[32];
    ss_sha256_pad_half(total, half);
    for (int s = 0; s < 8; s++) p[s] = chunks[s][n_chunks - 1];
    load_half(w, p);
    for (int j = 0; j < 8; j++) w[8 + j] = _mm256_set1_epi32((int)ss_be32(half + 4 * j));
  } else {
    uint8_t pad[64];
    memset(pad, 0, sizeof pad);
    pad[0] = 0x80;
    ss_put_be64(pad + 56, total * 8);
    load_common(w, pad);
  }
  compress(st, w);
  /* lanes back to rows: st[j] lane s = word j of digest s */
  transpose8(st);
  for (int s = 0; s < 8; s++) _mm256_storeu_si256((v8 *)out[s], bswap32(st[s]));
}
#endif
