/* SHA-256 with the x86 SHA extensions (SHA-NI). Every function carries its own target attribute
 * (no global -msha), so the addon still loads on CPUs without SHA-NI; the caller decides at run
 * time (ss_instance.use_sha_ni) whether to call in here.
 *
 * One compression is a chain of 32 dependent SHA256RNDS2 instructions, so a single stream is
 * latency bound and leaves part of the SHA unit idle. The FOR2 / FOR4 bodies run 2 or 4
 * independent streams in one instruction sequence so their chains overlap. Measured on the EPYC
 * (Zen 4) of the project machine, full compressions with message schedule: 1 stream 28.6 M/s,
 * 2 streams 53 M/s, 4 streams 57 M/s; node hashes (second block from a precomputed schedule)
 * 4 streams 71-73 M compressions/s; 8 streams with the AVX-512VL schedule (pairs8 below)
 * 83-84 M/s, against 103 M/s for its rounds alone. A schedule-first 4-stream layout (W+K in
 * memory, then rounds) measured 30 % slower, and replacing only SHA256MSG1 by AVX-512VL rotates
 * gained 2 %, so neither is used.
 *
 * The state lives in the SHA-NI layout (ABEF, CDGH) between blocks; it is converted from and to
 * the FIPS layout (st[0..7] = H0..H7) only at the edges of a call. */
#include <immintrin.h>
#include <string.h>
#include "sha256.h"
#include "sha256_impl.h"

#define SHANI_FN __attribute__((target("sha,sse4.1,ssse3")))
#define SHANI_INLINE static inline __attribute__((always_inline, target("sha,sse4.1,ssse3")))

/* Byte swap inside each 32-bit lane (SHA-256 words are big-endian). */
#define BSWAP_MASK _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL)
#define KV(i) _mm_load_si128((const __m128i *)&ss_sha256_k[4 * (i)])

/* FIPS state (A..H) -> SHA-NI registers ABEF / CDGH. */
SHANI_INLINE void load_state(const uint32_t st[8], __m128i *abef, __m128i *cdgh) {
  __m128i t = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&st[0]), 0xB1);
  __m128i u = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&st[4]), 0x1B);
  *abef = _mm_alignr_epi8(t, u, 8);
  *cdgh = _mm_blend_epi16(u, t, 0xF0);
}

/* SHA-NI registers -> two vectors holding A..D and E..H in FIPS order. */
SHANI_INLINE void unshuffle(__m128i abef, __m128i cdgh, __m128i *abcd, __m128i *efgh) {
  __m128i t = _mm_shuffle_epi32(abef, 0x1B);
  __m128i u = _mm_shuffle_epi32(cdgh, 0xB1);
  *abcd = _mm_blend_epi16(t, u, 0xF0);
  *efgh = _mm_alignr_epi8(u, t, 8);
}

SHANI_INLINE void store_state(uint32_t st[8], __m128i abef, __m128i cdgh) {
  __m128i lo, hi;
  unshuffle(abef, cdgh, &lo, &hi);
  _mm_storeu_si128((__m128i *)&st[0], lo);
  _mm_storeu_si128((__m128i *)&st[4], hi);
}

/* Writes the big-endian digest; trunc254 clears the top two bits of byte 31. */
SHANI_INLINE void store_digest(uint8_t *out, __m128i abef, __m128i cdgh, int trunc254) {
  __m128i lo, hi;
  unshuffle(abef, cdgh, &lo, &hi);
  lo = _mm_shuffle_epi8(lo, BSWAP_MASK);
  hi = _mm_shuffle_epi8(hi, BSWAP_MASK);
  if (trunc254) hi = _mm_and_si128(hi, _mm_set_epi32(0x3fffffff, -1, -1, -1));
  _mm_storeu_si128((__m128i *)out, lo);
  _mm_storeu_si128((__m128i *)(out + 16), hi);
}

/* ---- Stream-generic round macros. Stream s owns the variables a_s (ABEF), c_s (CDGH),
 * m0_s..m3_s (message schedule ring), lo_s / hi_s (the two 32-byte halves of its block). ---- */

#define FOR1(M, ...) M(0, __VA_ARGS__)
#define FOR2(M, ...) M(0, __VA_ARGS__) M(1, __VA_ARGS__)
#define FOR4(M, ...) M(0, __VA_ARGS__) M(1, __VA_ARGS__) M(2, __VA_ARGS__) M(3, __VA_ARGS__)

/* four rounds: two RNDS2, the second on the upper half of x */
#define QR(a, c, x)                         \
  do {                                      \
    c = _mm_sha256rnds2_epu32(c, a, x);     \
    x = _mm_shuffle_epi32(x, 0x0E);         \
    a = _mm_sha256rnds2_epu32(a, c, x);     \
  } while (0);

#define LD(s, r, p, off) m##r##_##s = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p##_##s + (off))), bswap);
#define RND(s, r, i) { __m128i x_ = _mm_add_epi32(m##r##_##s, KV(i)); QR(a_##s, c_##s, x_) }
#define SCH(s, r0, r1, r2, r3)                                                                   \
  m##r0##_##s = _mm_sha256msg2_epu32(                                                            \
      _mm_add_epi32(_mm_sha256msg1_epu32(m##r0##_##s, m##r1##_##s), _mm_alignr_epi8(m##r3##_##s, m##r2##_##s, 4)), \
      m##r3##_##s);
#define RNDWK(s, i) { __m128i x_ = _mm_load_si128((const __m128i *)&wk[4 * (i)]); QR(a_##s, c_##s, x_) }
#define SAVE(s, _) __m128i sa_##s = a_##s, sc_##s = c_##s;
#define FEED(s, _) a_##s = _mm_add_epi32(a_##s, sa_##s); c_##s = _mm_add_epi32(c_##s, sc_##s);
#define DECL_M(s, _) __m128i m0_##s, m1_##s, m2_##s, m3_##s;

/* One compression per stream of the block lo_s || hi_s (including feed-forward). */
#define BLOCK(FOR)                                                          \
  do {                                                                      \
    FOR(SAVE, 0)                                                            \
    FOR(DECL_M, 0)                                                          \
    FOR(LD, 0, lo, 0) FOR(RND, 0, 0)                                        \
    FOR(LD, 1, lo, 16) FOR(RND, 1, 1)                                       \
    FOR(LD, 2, hi, 0) FOR(RND, 2, 2)                                        \
    FOR(LD, 3, hi, 16) FOR(RND, 3, 3)                                       \
    FOR(SCH, 0, 1, 2, 3) FOR(RND, 0, 4)                                     \
    FOR(SCH, 1, 2, 3, 0) FOR(RND, 1, 5)                                     \
    FOR(SCH, 2, 3, 0, 1) FOR(RND, 2, 6)                                     \
    FOR(SCH, 3, 0, 1, 2) FOR(RND, 3, 7)                                     \
    FOR(SCH, 0, 1, 2, 3) FOR(RND, 0, 8)                                     \
    FOR(SCH, 1, 2, 3, 0) FOR(RND, 1, 9)                                     \
    FOR(SCH, 2, 3, 0, 1) FOR(RND, 2, 10)                                    \
    FOR(SCH, 3, 0, 1, 2) FOR(RND, 3, 11)                                    \
    FOR(SCH, 0, 1, 2, 3) FOR(RND, 0, 12)                                    \
    FOR(SCH, 1, 2, 3, 0) FOR(RND, 1, 13)                                    \
    FOR(SCH, 2, 3, 0, 1) FOR(RND, 2, 14)                                    \
    FOR(SCH, 3, 0, 1, 2) FOR(RND, 3, 15)                                    \
    FOR(FEED, 0)                                                            \
  } while (0)

/* One compression per stream with the precomputed schedule wk (W+K of a constant block). */
#define BLOCK_WK(FOR)                                                       \
  do {                                                                      \
    FOR(SAVE, 0)                                                            \
    FOR(RNDWK, 0) FOR(RNDWK, 1) FOR(RNDWK, 2) FOR(RNDWK, 3)                 \
    FOR(RNDWK, 4) FOR(RNDWK, 5) FOR(RNDWK, 6) FOR(RNDWK, 7)                 \
    FOR(RNDWK, 8) FOR(RNDWK, 9) FOR(RNDWK, 10) FOR(RNDWK, 11)               \
    FOR(RNDWK, 12) FOR(RNDWK, 13) FOR(RNDWK, 14) FOR(RNDWK, 15)             \
    FOR(FEED, 0)                                                            \
  } while (0)

SHANI_FN void ss_sha256_shani_blocks(uint32_t st[8], const uint8_t *blocks, size_t n_blocks) {
  const __m128i bswap = BSWAP_MASK;
  __m128i a_0, c_0;
  load_state(st, &a_0, &c_0);
  for (size_t j = 0; j < n_blocks; j++) {
    const uint8_t *lo_0 = blocks + 64 * j, *hi_0 = lo_0 + 32;
    BLOCK(FOR1);
  }
  store_state(st, a_0, c_0);
}

SHANI_FN void ss_sha256_shani_halves(uint32_t st[8], const uint8_t *lo_0, const uint8_t *hi_0) {
  const __m128i bswap = BSWAP_MASK;
  __m128i a_0, c_0;
  load_state(st, &a_0, &c_0);
  BLOCK(FOR1);
  store_state(st, a_0, c_0);
}

SHANI_FN void ss_sha256_shani_compress2(uint32_t st0[8], const uint8_t *b0, uint32_t st1[8], const uint8_t *b1) {
  const __m128i bswap = BSWAP_MASK;
  __m128i a_0, c_0, a_1, c_1;
  load_state(st0, &a_0, &c_0);
  load_state(st1, &a_1, &c_1);
  const uint8_t *lo_0 = b0, *hi_0 = b0 + 32, *lo_1 = b1, *hi_1 = b1 + 32;
  BLOCK(FOR2);
  store_state(st0, a_0, c_0);
  store_state(st1, a_1, c_1);
}

/* ---- 8 node pairs at a time: message schedule on AVX-512VL, rounds on SHA-NI. ----------------
 * The SHA-NI message-schedule instructions compete with SHA256RNDS2 for the SHA unit. Here the
 * schedule of the NEXT batch of 8 pairs is computed with 256-bit AVX-512VL integer ops (8 streams
 * per register, rotates and 3-way XOR in one instruction each, registers ymm16-31 that the
 * legacy-encoded SHA instructions never touch) while the rounds of the CURRENT batch run, 4
 * streams at a time, from the W+K table the previous iteration stored. */
#define X8_FN __attribute__((target("sha,sse4.1,ssse3,avx2,avx512f,avx512vl")))
#define X8_INLINE static inline __attribute__((always_inline, target("sha,sse4.1,ssse3,avx2,avx512f,avx512vl")))

X8_INLINE __m256i x8_sig0(__m256i x) {
  return _mm256_ternarylogic_epi32(_mm256_ror_epi32(x, 7), _mm256_ror_epi32(x, 18), _mm256_srli_epi32(x, 3), 0x96);
}
X8_INLINE __m256i x8_sig1(__m256i x) {
  return _mm256_ternarylogic_epi32(_mm256_ror_epi32(x, 17), _mm256_ror_epi32(x, 19), _mm256_srli_epi32(x, 10), 0x96);
}

/* 8 rows (one 32-byte half-block per stream) -> 8 word vectors (lane = stream), byte-swapped. */
X8_INLINE void x8_load_transpose(const uint8_t *in, int half, __m256i *w) {
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
X8_INLINE void x8_chunk(int q, const uint8_t *in, __m256i *w, __m128i *buf) {
  if (q == 0) x8_load_transpose(in, 0, w);
  if (q == 2) x8_load_transpose(in, 1, w + 8);
  if (q >= 4) {
    for (int t = 4 * q; t < 4 * q + 4; t++)
      w[t & 15] = _mm256_add_epi32(_mm256_add_epi32(x8_sig1(w[(t - 2) & 15]), w[(t - 7) & 15]),
                                   _mm256_add_epi32(x8_sig0(w[(t - 15) & 15]), w[t & 15]));
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
#define RNDB(s, r)                                                              \
  {                                                                             \
    c_##s = _mm_sha256rnds2_epu32(c_##s, a_##s, _mm_load_si128(&cur[16 * (r) + 2 * (s) + g]));     \
    a_##s = _mm_sha256rnds2_epu32(a_##s, c_##s, _mm_load_si128(&cur[16 * (r) + 8 + 2 * (s) + g])); \
  }
#define RNDT(s, r) { __m128i x_ = _mm_load_si128((const __m128i *)&wk[4 * (r)]); QR(a_##s, c_##s, x_) }

/* Hashes n8 batches of 8 pairs (in: 512·n8 bytes, out: 256·n8 bytes). In place is safe: batch
 * k+1 is read (scheduled) before batch k's digests are written, and those lie below it. */
X8_FN static void pairs8(const uint8_t *in, size_t n8, uint8_t *out) {
  const uint32_t *wk = ss_sha256_pad64_wk;
  __m128i h_abef, h_cdgh;
  load_state(ss_sha256_h0, &h_abef, &h_cdgh);
  __m128i bufs[2][256] __attribute__((aligned(32)));
  __m256i w[16];
  for (int q = 0; q < 16; q++) x8_chunk(q, in, w, bufs[0]);
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
          x8_chunk(8 * g + j, next_in, w, nxt);
          for (int r = 4 * j; r < 4 * j + 4; r++) { FOR4(RNDB, r) }
        }
        FOR4(FEED, 0)
      }
      {
        FOR4(SAVE, 0)
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++) {
          x8_chunk(8 * g + 4 + j, next_in, w, nxt);
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

SHANI_FN void ss_sha256_shani_pairs(const uint8_t *in, size_t n_pairs, uint8_t *out) {
  const __m128i bswap = BSWAP_MASK;
  const uint32_t *wk = ss_sha256_pad64_wk;
  __m128i h_abef, h_cdgh;
  load_state(ss_sha256_h0, &h_abef, &h_cdgh);
  size_t i = 0;
  /* AVX-512VL is checked here, per call, from the CPU model libgcc filled in at load time (read
   * only); the SHA-NI choice itself is the caller's. */
  if (n_pairs >= 8 && __builtin_cpu_supports("avx512vl")) {
    size_t n8 = n_pairs / 8;
    pairs8(in, n8, out);
    i = 8 * n8;
  }
  for (; i + 4 <= n_pairs; i += 4) {
    const uint8_t *lo_0 = in + 64 * i, *hi_0 = lo_0 + 32;
    const uint8_t *lo_1 = lo_0 + 64, *hi_1 = lo_1 + 32;
    const uint8_t *lo_2 = lo_0 + 128, *hi_2 = lo_2 + 32;
    const uint8_t *lo_3 = lo_0 + 192, *hi_3 = lo_3 + 32;
    __m128i a_0 = h_abef, c_0 = h_cdgh, a_1 = h_abef, c_1 = h_cdgh;
    __m128i a_2 = h_abef, c_2 = h_cdgh, a_3 = h_abef, c_3 = h_cdgh;
    BLOCK(FOR4);
    BLOCK_WK(FOR4);
    /* all four input blocks are fully loaded before these stores (in-place safe) */
    store_digest(out + 32 * i, a_0, c_0, 1);
    store_digest(out + 32 * i + 32, a_1, c_1, 1);
    store_digest(out + 32 * i + 64, a_2, c_2, 1);
    store_digest(out + 32 * i + 96, a_3, c_3, 1);
  }
  for (; i + 2 <= n_pairs; i += 2) {
    const uint8_t *lo_0 = in + 64 * i, *hi_0 = lo_0 + 32;
    const uint8_t *lo_1 = lo_0 + 64, *hi_1 = lo_1 + 32;
    __m128i a_0 = h_abef, c_0 = h_cdgh, a_1 = h_abef, c_1 = h_cdgh;
    BLOCK(FOR2);
    BLOCK_WK(FOR2);
    /* both input blocks are fully loaded before these stores (in-place safe) */
    store_digest(out + 32 * i, a_0, c_0, 1);
    store_digest(out + 32 * i + 32, a_1, c_1, 1);
  }
  for (; i < n_pairs; i++) {
    const uint8_t *lo_0 = in + 64 * i, *hi_0 = lo_0 + 32;
    __m128i a_0 = h_abef, c_0 = h_cdgh;
    BLOCK(FOR1);
    BLOCK_WK(FOR1);
    store_digest(out + 32 * i, a_0, c_0, 1);
  }
}

SHANI_FN void ss_sha256_shani_chunks(const uint8_t *const *chunks, size_t n_chunks, uint8_t out[32]) {
  const __m128i bswap = BSWAP_MASK;
  __m128i a_0, c_0;
  load_state(ss_sha256_h0, &a_0, &c_0);
  size_t i = 0;
  for (; i + 1 < n_chunks; i += 2) {
    const uint8_t *lo_0 = chunks[i], *hi_0 = chunks[i + 1];
    BLOCK(FOR1);
  }
  uint64_t total = (uint64_t)n_chunks * 32;
  if (n_chunks & 1) {
    uint8_t half[32];
    ss_sha256_pad_half(total, half);
    const uint8_t *lo_0 = chunks[n_chunks - 1], *hi_0 = half;
    BLOCK(FOR1);
  } else if (total == 64) {
    const uint32_t *wk = ss_sha256_pad64_wk;
    BLOCK_WK(FOR1);
  } else {
    uint8_t pad[64];
    memset(pad, 0, sizeof pad);
    pad[0] = 0x80;
    ss_put_be64(pad + 56, total * 8);
    const uint8_t *lo_0 = pad, *hi_0 = pad + 32;
    BLOCK(FOR1);
  }
  store_digest(out, a_0, c_0, 0);
}

/* The bench streams hash blocks from a 4 KiB ring (L1-resident, different for every step so no
 * part of the message schedule can be hoisted out of the loop) into evolving states: every
 * compression is full work on its dependency chain, as in a multi-block message. Start states,
 * blocks and checksum match the portable kernel, so both backends return the same word. */
SHANI_FN uint32_t ss_sha256_shani_bench(unsigned ways, uint64_t count) {
  const __m128i bswap = BSWAP_MASK;
  uint8_t ring[64 * 64] __attribute__((aligned(64)));
  for (int i = 0; i < (int)sizeof ring; i++) ring[i] = (uint8_t)(i * 7 + (i >> 8) + 1);
  uint32_t st[4][8];
  for (unsigned s = 0; s < 4; s++) {
    memcpy(st[s], ss_sha256_h0, sizeof st[s]);
    st[s][0] ^= s;
  }
  __m128i a_0, c_0, a_1, c_1, a_2, c_2, a_3, c_3;
  load_state(st[0], &a_0, &c_0);
  load_state(st[1], &a_1, &c_1);
  load_state(st[2], &a_2, &c_2);
  load_state(st[3], &a_3, &c_3);
#define RING(s) const uint8_t *lo_##s = ring + 64 * ((n + 16 * (s)) & 63), *hi_##s = lo_##s + 32;
  if (ways == 1) {
    for (uint64_t n = 0; n < count; n++) {
      RING(0)
      BLOCK(FOR1);
    }
  } else if (ways == 2) {
    for (uint64_t n = 0; n < count; n++) {
      RING(0) RING(1)
      BLOCK(FOR2);
    }
  } else {
    for (uint64_t n = 0; n < count; n++) {
      RING(0) RING(1) RING(2) RING(3)
      BLOCK(FOR4);
    }
  }
#undef RING
  store_state(st[0], a_0, c_0);
  store_state(st[1], a_1, c_1);
  store_state(st[2], a_2, c_2);
  store_state(st[3], a_3, c_3);
  uint32_t sum = 0;
  for (unsigned s = 0; s < ways; s++)
    for (int i = 0; i < 8; i++) sum ^= st[s][i] + (uint32_t)i;
  return sum;
}
