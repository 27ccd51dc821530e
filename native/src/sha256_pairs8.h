/* The 8-pair node-hash kernel of sha256_shani.c, written once and included once per vector ISA
 * of its message schedule (AVX-512VL and AVX2). The including file defines
 *   X8(name)   the name of this instance's function `name` (a per-ISA suffix),
 *   X8_FN / X8_INLINE   the function attributes (target ISA),
 *   X8(sig0), X8(sig1)  the schedule's small sigma functions on 8 lanes of __m256i,
 * and the stream macros (FOR4, SAVE, FEED, QR) and helpers (load_state, store_digest).
 * Not a public header: include only from sha256_shani.c. */

/* 8 rows (one 32-byte half-block per stream) -> 8 word vectors (lane = stream), byte-swapped. */
X8_INLINE void X8(load_transpose)(const uint8_t *in, int half, __m256i *w) {
  const __m256i bs = _mm256_broadcastsi128_si256(BSWAP_MASK);
  __m256i r[8], t[8], u[8];
  for (int s = 0; s < 8; s++) r[s] = _mm256_shuffle_epi8(_mm256_loadu_si256((const __m256i *)(in + 64 * s + 32 * half)), bs);
  for (int s = 0; s < 8; s += 2) {
    t[s] = _mm256_unpacklo_epi32(r[s], r[s + 1]);
    t[s + 1] = _mm256_unpackhi_epi32(r[s], r[s + 1]);
  }
  /* t0 = s0s1 words 0,1|4,5; t1 = s0s1 words 2,3|6,7; t2,t3 = s2s3; t4,t5 = s4s5; t6,t7 = s6s7 */
  u[0] = _mm256_unpacklo_epi64(t[0], t[2]); /* word 0 s0-3 | word 4 s0-3 */
  u[1] = _mm256_unpackhi_epi64(t[0], t[2]); /* word 1 | word 5 */
  u[2] = _mm256_unpacklo_epi64(t[1], t[3]); /* word 2 | word 6 */
  u[3] = _mm256_unpackhi_epi64(t[1], t[3]); /* word 3 | word 7 */
  u[4] = _mm256_unpacklo_epi64(t[4], t[6]);
  u[5] = _mm256_unpackhi_epi64(t[4], t[6]);
  u[6] = _mm256_unpacklo_epi64(t[5], t[7]);
  u[7] = _mm256_unpackhi_epi64(t[5], t[7]);
  for (int k = 0; k < 4; k++) {
    w[k] = _mm256_permute2x128_si256(u[k], u[k + 4], 0x20);
    w[k + 4] = _mm256_permute2x128_si256(u[k], u[k + 4], 0x31);
  }
}

/* Schedule chunk q of a batch: words 4q..4q+3 (ring w[16]) plus K, regrouped per stream as the
 * two 64-bit operands of its two SHA256RNDS2 (rounds 4q,4q+1 and 4q+2,4q+3) so the rounds need
 * no shuffle. buf[16q + slot] holds the first operand of stream s, buf[16q + 8 + slot] the
 * second, slot = 2*(s%4) + s/4 (each 256-bit store covers streams s and s+4). */
X8_INLINE void X8(chunk)(int q, const uint8_t *in, __m256i *w, __m128i *buf) {
  if (q == 0) X8(load_transpose)(in, 0, w);
  if (q == 2) X8(load_transpose)(in, 1, w + 8);
  if (q >= 4) {
    for (int t = 4 * q; t < 4 * q + 4; t++)
      w[t & 15] = _mm256_add_epi32(_mm256_add_epi32(X8(sig1)(w[(t - 2) & 15]), w[(t - 7) & 15]),
                                   _mm256_add_epi32(X8(sig0)(w[(t - 15) & 15]), w[t & 15]));
  }
  __m256i k0 = _mm256_add_epi32(w[(4 * q) & 15], _mm256_set1_epi32((int)ss_sha256_k[4 * q]));
  __m256i k1 = _mm256_add_epi32(w[(4 * q + 1) & 15], _mm256_set1_epi32((int)ss_sha256_k[4 * q + 1]));
  __m256i k2 = _mm256_add_epi32(w[(4 * q + 2) & 15], _mm256_set1_epi32((int)ss_sha256_k[4 * q + 2]));
  __m256i k3 = _mm256_add_epi32(w[(4 * q + 3) & 15], _mm256_set1_epi32((int)ss_sha256_k[4 * q + 3]));
  /* a = (k0,k1) of streams 0,1 | 4,5; b: streams 2,3 | 6,7; c, d likewise for (k2,k3) */
  __m256i a = _mm256_unpacklo_epi32(k0, k1), b = _mm256_unpackhi_epi32(k0, k1);
  __m256i c = _mm256_unpacklo_epi32(k2, k3), d = _mm256_unpackhi_epi32(k2, k3);
  __m256i *o = (__m256i *)&buf[16 * q];
  _mm256_store_si256(o + 0, a);                           /* s0 | s4 (low qwords) */
  _mm256_store_si256(o + 1, _mm256_unpackhi_epi64(a, a)); /* s1 | s5 */
  _mm256_store_si256(o + 2, b);                           /* s2 | s6 */
  _mm256_store_si256(o + 3, _mm256_unpackhi_epi64(b, b)); /* s3 | s7 */
  _mm256_store_si256(o + 4, c);
  _mm256_store_si256(o + 5, _mm256_unpackhi_epi64(c, c));
  _mm256_store_si256(o + 6, d);
  _mm256_store_si256(o + 7, _mm256_unpackhi_epi64(d, d));
}

/* rounds of quad r for stream s of the group whose slot offset is g (0: streams 0-3, 1: 4-7) */
#ifndef RNDB
#define RNDB(s, r)                                                              \
  {                                                                             \
    c_##s = _mm_sha256rnds2_epu32(c_##s, a_##s, _mm_load_si128(&cur[16 * (r) + 2 * (s) + g]));     \
    a_##s = _mm_sha256rnds2_epu32(a_##s, c_##s, _mm_load_si128(&cur[16 * (r) + 8 + 2 * (s) + g])); \
  }
#define RNDT(s, r) { __m128i x_ = _mm_load_si128((const __m128i *)&wk[4 * (r)]); QR(a_##s, c_##s, x_) }
#endif

/* Hashes n8 batches of 8 pairs (in: 512·n8 bytes, out: 256·n8 bytes). In place is safe: batch
 * k+1 is read (scheduled) before batch k's digests are written, and those lie below it. */
X8_FN static void X8(pairs8)(const uint8_t *in, size_t n8, uint8_t *out) {
  const uint32_t *wk = ss_sha256_pad64_wk;
  __m128i h_abef, h_cdgh;
  load_state(ss_sha256_h0, &h_abef, &h_cdgh);
  __m128i bufs[2][256] __attribute__((aligned(32)));
  __m256i w[16];
  for (int q = 0; q < 16; q++) X8(chunk)(q, in, w, bufs[0]);
  for (size_t k = 0; k < n8; k++) {
    const __m128i *cur = bufs[k & 1];
    __m128i *nxt = bufs[(k + 1) & 1];
    /* the last batch schedules a dummy copy of itself: harmless, keeps the loop branch-free */
    const uint8_t *next_in = in + 512 * (k + 1 < n8 ? k + 1 : k);
    uint8_t *o = out + 256 * k;
    for (int g = 0; g < 2; g++) {
      __m128i a_0 = h_abef, c_0 = h_cdgh, a_1 = h_abef, c_1 = h_cdgh;
      __m128i a_2 = h_abef, c_2 = h_cdgh, a_3 = h_abef, c_3 = h_cdgh;
      {
        FOR4(SAVE, 0)
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++) {
          X8(chunk)(8 * g + j, next_in, w, nxt);
          for (int r = 4 * j; r < 4 * j + 4; r++) { FOR4(RNDB, r) }
        }
        FOR4(FEED, 0)
      }
      {
        FOR4(SAVE, 0)
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++) {
          X8(chunk)(8 * g + 4 + j, next_in, w, nxt);
          for (int r = 4 * j; r < 4 * j + 4; r++) { FOR4(RNDT, r) }
        }
        FOR4(FEED, 0)
      }
      /* stream s of group g is pair 4g+s */
      store_digest(o + 32 * (4 * g + 0), a_0, c_0, 1);
      store_digest(o + 32 * (4 * g + 1), a_1, c_1, 1);
      store_digest(o + 32 * (4 * g + 2), a_2, c_2, 1);
      store_digest(o + 32 * (4 * g + 3), a_3, c_3, 1);
    }
  }
}

