/* SHA-256 with the x86 SHA extensions (SHA-NI). Every function carries its own target attribute
 * (no global -msha), so the addon still loads on CPUs without SHA-NI; the caller decides at run
 * time (SS_HW_SHANI in ss_instance.simd) whether to call in here.
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
#define FOR1_1(M, ...) M(1, __VA_ARGS__)
#define FOR3(M, ...) M(0, __VA_ARGS__) M(1, __VA_ARGS__) M(2, __VA_ARGS__)
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
/* RND that also stores W+K in the stream's table wo_s (a block whose repeats follow) */
#define RNDKEEP(s, r, i)                                                    \
  {                                                                         \
    __m128i x_ = _mm_add_epi32(m##r##_##s, KV(i));                          \
    _mm_store_si128((__m128i *)&wo_##s[4 * (i)], x_);                       \
    QR(a_##s, c_##s, x_)                                                    \
  }
#define RNDWKS(s, i) { __m128i x_ = _mm_load_si128((const __m128i *)&wk_##s[4 * (i)]); QR(a_##s, c_##s, x_) }
#define RNDWK(s, i) { __m128i x_ = _mm_load_si128((const __m128i *)&wk[4 * (i)]); QR(a_##s, c_##s, x_) }
#define SAVE(s, _) __m128i sa_##s = a_##s, sc_##s = c_##s;
#define FEED(s, _) a_##s = _mm_add_epi32(a_##s, sa_##s); c_##s = _mm_add_epi32(c_##s, sc_##s);
#define DECL_M(s, _) __m128i m0_##s, m1_##s, m2_##s, m3_##s;

/* One compression per stream of the block lo_s || hi_s (including feed-forward); R is the round
 * macro: RND, or RNDKEEP to also store the W+K it computes for later repeats. */
#define BLOCK_R(FOR, R)                                                     \
  do {                                                                      \
    FOR(SAVE, 0)                                                            \
    FOR(DECL_M, 0)                                                          \
    FOR(LD, 0, lo, 0) FOR(R, 0, 0)                                          \
    FOR(LD, 1, lo, 16) FOR(R, 1, 1)                                         \
    FOR(LD, 2, hi, 0) FOR(R, 2, 2)                                          \
    FOR(LD, 3, hi, 16) FOR(R, 3, 3)                                         \
    FOR(SCH, 0, 1, 2, 3) FOR(R, 0, 4)                                       \
    FOR(SCH, 1, 2, 3, 0) FOR(R, 1, 5)                                       \
    FOR(SCH, 2, 3, 0, 1) FOR(R, 2, 6)                                       \
    FOR(SCH, 3, 0, 1, 2) FOR(R, 3, 7)                                       \
    FOR(SCH, 0, 1, 2, 3) FOR(R, 0, 8)                                       \
    FOR(SCH, 1, 2, 3, 0) FOR(R, 1, 9)                                       \
    FOR(SCH, 2, 3, 0, 1) FOR(R, 2, 10)                                      \
    FOR(SCH, 3, 0, 1, 2) FOR(R, 3, 11)                                      \
    FOR(SCH, 0, 1, 2, 3) FOR(R, 0, 12)                                      \
    FOR(SCH, 1, 2, 3, 0) FOR(R, 1, 13)                                      \
    FOR(SCH, 2, 3, 0, 1) FOR(R, 2, 14)                                      \
    FOR(SCH, 3, 0, 1, 2) FOR(R, 3, 15)                                      \
    FOR(FEED, 0)                                                            \
  } while (0)

#define BLOCK(FOR) BLOCK_R(FOR, RND)

/* One compression per stream with a precomputed schedule: R = RNDWK reads the table wk (W+K of a
 * constant block), RNDWKS each stream's own table wk_s. */
#define BLOCK_WK_R(FOR, R)                                                  \
  do {                                                                      \
    FOR(SAVE, 0)                                                            \
    FOR(R, 0) FOR(R, 1) FOR(R, 2) FOR(R, 3)                                 \
    FOR(R, 4) FOR(R, 5) FOR(R, 6) FOR(R, 7)                                 \
    FOR(R, 8) FOR(R, 9) FOR(R, 10) FOR(R, 11)                               \
    FOR(R, 12) FOR(R, 13) FOR(R, 14) FOR(R, 15)                             \
    FOR(FEED, 0)                                                            \
  } while (0)
#define BLOCK_WK(FOR) BLOCK_WK_R(FOR, RNDWK)

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

/* ---- 8 node pairs at a time: message schedule on 256-bit vectors, rounds on SHA-NI. ---------
 * The SHA-NI message-schedule instructions compete with SHA256RNDS2 for the SHA unit. Here the
 * schedule of the NEXT batch of 8 pairs is computed with 256-bit integer ops (8 streams per
 * register) while the rounds of the CURRENT batch run, 4 streams at a time, from the W+K table
 * the previous iteration stored. Two instances of sha256_pairs8.h: AVX-512VL (rotates and 3-way
 * XOR in one instruction each, registers ymm16-31 that the legacy-encoded SHA instructions never
 * touch) and AVX2 (rotates as two shifts and an OR, 16 registers shared with the rounds). */
#define X8_FN __attribute__((target("sha,sse4.1,ssse3,avx2,avx512f,avx512vl")))
#define X8_INLINE static inline __attribute__((always_inline, target("sha,sse4.1,ssse3,avx2,avx512f,avx512vl")))
#define X8(name) x8_##name##_avx512

X8_INLINE __m256i X8(sig0)(__m256i x) {
  return _mm256_ternarylogic_epi32(_mm256_ror_epi32(x, 7), _mm256_ror_epi32(x, 18), _mm256_srli_epi32(x, 3), 0x96);
}
X8_INLINE __m256i X8(sig1)(__m256i x) {
  return _mm256_ternarylogic_epi32(_mm256_ror_epi32(x, 17), _mm256_ror_epi32(x, 19), _mm256_srli_epi32(x, 10), 0x96);
}
#include "sha256_pairs8.h"
#undef X8_FN
#undef X8_INLINE
#undef X8

#define X8_FN __attribute__((target("sha,sse4.1,ssse3,avx2")))
#define X8_INLINE static inline __attribute__((always_inline, target("sha,sse4.1,ssse3,avx2")))
#define X8(name) x8_##name##_avx2
#define ROR32X8(x, n) _mm256_or_si256(_mm256_srli_epi32((x), (n)), _mm256_slli_epi32((x), 32 - (n)))

X8_INLINE __m256i X8(sig0)(__m256i x) {
  return _mm256_xor_si256(_mm256_xor_si256(ROR32X8(x, 7), ROR32X8(x, 18)), _mm256_srli_epi32(x, 3));
}
X8_INLINE __m256i X8(sig1)(__m256i x) {
  return _mm256_xor_si256(_mm256_xor_si256(ROR32X8(x, 17), ROR32X8(x, 19)), _mm256_srli_epi32(x, 10));
}
#include "sha256_pairs8.h"
#undef X8_FN
#undef X8_INLINE
#undef X8
#undef ROR32X8

SHANI_FN void ss_sha256_shani_pairs(unsigned simd, const uint8_t *in, size_t n_pairs, uint8_t *out) {
  const __m128i bswap = BSWAP_MASK;
  const uint32_t *wk = ss_sha256_pad64_wk;
  __m128i h_abef, h_cdgh;
  load_state(ss_sha256_h0, &h_abef, &h_cdgh);
  size_t i = 0;
  if (n_pairs >= 8 && (simd & (SS_HW_AVX512 | SS_HW_AVX2))) {
    size_t n8 = n_pairs / 8;
    if (simd & SS_HW_AVX512)
      x8_pairs8_avx512(in, n8, out);
    else
      x8_pairs8_avx2(in, n8, out);
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

/* The repeating part of a PC1 label (ss_sha256_repeat). The first occurrence of each distinct
 * block is a full compression that also stores its W+K (RNDKEEP); every repeat then feeds that
 * table straight to SHA256RNDS2 (RNDWKS), without SHA256MSG1/MSG2 or the additions, which
 * compete with the rounds for the SHA unit and the front end. The stores and loads stay in L1
 * (8 tables of 256 bytes per stream). */
#define REPEAT_BLOCKS(FOR)                                                  \
  do {                                                                      \
    for (; j < n_blocks; j++) {                                             \
      if (j < n_distinct) {                                                 \
        FOR(RP_KEEP, 0)                                                     \
        BLOCK_R(FOR, RNDKEEP);                                              \
      } else {                                                              \
        FOR(RP_WK, 0)                                                       \
        BLOCK_WK_R(FOR, RNDWKS);                                            \
      }                                                                     \
      d = d + 1 == n_distinct ? 0 : d + 1;                                  \
    }                                                                       \
  } while (0)
#define RP_DECL(s, _) uint32_t tab_##s[SS_SHA256_REPEAT_MAX][64] __attribute__((aligned(16))); const uint8_t *lo_##s, *hi_##s; uint32_t *wo_##s; const uint32_t *wk_##s;
#define RP_KEEP(s, _) lo_##s = m[s]->pairs[2 * d]; hi_##s = m[s]->pairs[2 * d + 1]; wo_##s = tab_##s[d];
#define RP_WK(s, _) wk_##s = tab_##s[d];
#define RP_LAST(s, _) lo_##s = m[s]->last; hi_##s = half;

SHANI_FN void ss_sha256_shani_repeat_from(const uint32_t head[8], const ss_sha256_repeat *m0, unsigned n_distinct,
                                          unsigned n_blocks, const uint8_t *next_lo, const uint8_t *next_hi,
                                          uint32_t next_head[8], uint8_t out[32]) {
  const __m128i bswap = BSWAP_MASK;
  const ss_sha256_repeat *const m[1] = {m0};
  __m128i a_0, c_0;
  FOR1(RP_DECL, 0)
  load_state(head, &a_0, &c_0);
  unsigned j = 0, d = 0;
  if (next_lo) {
    /* the next label's first block as a second stream beside this label's first block (its W+K
     * goes to a spare table) */
    __m128i a_1, c_1;
    load_state(ss_sha256_h0, &a_1, &c_1);
    const uint8_t *lo_1 = next_lo, *hi_1 = next_hi;
    if (n_blocks > 0) {
      uint32_t spare[64] __attribute__((aligned(16)));
      uint32_t *wo_1 = spare;
      RP_KEEP(0, 0)
      BLOCK_R(FOR2, RNDKEEP);
      j = 1;
      d = n_distinct == 1 ? 0 : 1;
    } else {
      BLOCK(FOR1_1);
    }
    store_state(next_head, a_1, c_1);
  }
  REPEAT_BLOCKS(FOR1);
  uint8_t half[32];
  ss_sha256_pad_half(64 * ((uint64_t)n_blocks + 1) + 32, half);
  RP_LAST(0, 0)
  BLOCK(FOR1);
  store_digest(out, a_0, c_0, 0);
}

/* `ways` streams of ss_sha256_repeat messages, each with its own first block first_lo[s] || first_hi */
#define REPEAT_MULTI(FOR)                                                   \
  do {                                                                      \
    const __m128i bswap = BSWAP_MASK;                                       \
    __m128i h_abef, h_cdgh;                                                 \
    load_state(ss_sha256_h0, &h_abef, &h_cdgh);                             \
    FOR(RP_DECL, 0)                                                         \
    FOR(RP_FIRST, 0)                                                        \
    BLOCK(FOR);                                                             \
    unsigned j = 0, d = 0;                                                  \
    REPEAT_BLOCKS(FOR);                                                     \
    uint8_t half[32];                                                       \
    ss_sha256_pad_half(64 * ((uint64_t)n_blocks + 1) + 32, half);           \
    FOR(RP_LAST, 0)                                                         \
    BLOCK(FOR);                                                             \
    FOR(RP_OUT, 0)                                                          \
  } while (0)
#define RP_FIRST(s, _) __m128i a_##s = h_abef, c_##s = h_cdgh; lo_##s = first_lo[s]; hi_##s = first_hi;
#define RP_OUT(s, _) store_digest(out[s], a_##s, c_##s, 0);

SHANI_FN void ss_sha256_shani_repeat2(const uint8_t *const *first_lo, const uint8_t *first_hi,
                                      const ss_sha256_repeat *const *m, unsigned n_distinct, unsigned n_blocks,
                                      uint8_t *const *out) {
  REPEAT_MULTI(FOR2);
}

SHANI_FN void ss_sha256_shani_repeat3(const uint8_t *const *first_lo, const uint8_t *first_hi,
                                      const ss_sha256_repeat *const *m, unsigned n_distinct, unsigned n_blocks,
                                      uint8_t *const *out) {
  REPEAT_MULTI(FOR3);
}

SHANI_FN void ss_sha256_shani_repeat4(const uint8_t *const *first_lo, const uint8_t *first_hi,
                                      const ss_sha256_repeat *const *m, unsigned n_distinct, unsigned n_blocks,
                                      uint8_t *const *out) {
  REPEAT_MULTI(FOR4);
}

/* Two messages of the same chunk count at once (the streams of a PC1 batch): the chains of the
 * streams overlap as in the bench's FOR2. */
#define CHUNKS_MULTI(FOR)                                                            \
  do {                                                                                  \
    const __m128i bswap = BSWAP_MASK;                                                   \
    __m128i h_abef, h_cdgh;                                                             \
    load_state(ss_sha256_h0, &h_abef, &h_cdgh);                                         \
    FOR(CM_INIT, 0)                                                                     \
    size_t i = 0;                                                                       \
    for (; i + 1 < n_chunks; i += 2) {                                                  \
      FOR(CM_PAIR, 0)                                                                   \
      BLOCK(FOR);                                                                       \
    }                                                                                   \
    uint64_t total = (uint64_t)n_chunks * 32;                                           \
    if (n_chunks & 1) {                                                                 \
      uint8_t half[32];                                                                 \
      ss_sha256_pad_half(total, half);                                                  \
      FOR(CM_LAST, 0)                                                                   \
      BLOCK(FOR);                                                                       \
    } else if (total == 64) {                                                           \
      const uint32_t *wk = ss_sha256_pad64_wk;                                          \
      BLOCK_WK(FOR);                                                                    \
    } else {                                                                            \
      uint8_t pad[64];                                                                  \
      memset(pad, 0, sizeof pad);                                                       \
      pad[0] = 0x80;                                                                    \
      ss_put_be64(pad + 56, total * 8);                                                 \
      FOR(CM_PAD, 0)                                                                    \
      BLOCK(FOR);                                                                       \
    }                                                                                   \
    FOR(CM_OUT, 0)                                                                      \
  } while (0)
#define CM_INIT(s, _) __m128i a_##s = h_abef, c_##s = h_cdgh; const uint8_t *lo_##s, *hi_##s;
#define CM_PAIR(s, _) lo_##s = chunks[s][i]; hi_##s = chunks[s][i + 1];
#define CM_LAST(s, _) lo_##s = chunks[s][n_chunks - 1]; hi_##s = half;
#define CM_PAD(s, _) lo_##s = pad; hi_##s = pad + 32;
#define CM_OUT(s, _) store_digest(out[s], a_##s, c_##s, 0);

SHANI_FN void ss_sha256_shani_chunks2(const uint8_t *const *const *chunks, size_t n_chunks, uint8_t *const *out) {
  CHUNKS_MULTI(FOR2);
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
