/* DRG bucket sampling (drgraph.rs) and the Feistel expander (feistel.rs, graph.rs). */
#include "sdr_graph.h"
#include <string.h>
#include "blake2b.h"
#include "cancel.h"
#include "chacha8.h"

void ss_sdr_graph_init(ss_sdr_graph *g, const uint8_t drg_seed[28], const uint64_t feistel_keys[4],
                       uint64_t nodes, bool legacy) {
  memcpy(g->drg_seed, drg_seed, 28);
  memcpy(g->feistel_keys, feistel_keys, 4 * sizeof(uint64_t));
  g->nodes = nodes;
  g->legacy = legacy;
  /* smallest L >= 1 with 4^L >= 8*nodes; the permutation runs on 2L-bit indices */
  uint64_t n = nodes * SS_SDR_EXP_DEGREE, pow4 = 4;
  unsigned l = 1;
  while (pow4 < n) {
    pow4 *= 4;
    l++;
  }
  g->half_bits = l;
  g->right_mask = ((uint64_t)1 << l) - 1;
  g->left_mask = g->right_mask << l;
}

static unsigned bit_length(uint64_t x) { return x == 0 ? 0 : 64 - (unsigned)__builtin_clzll(x); }

void ss_sdr_graph_base_parents(const ss_sdr_graph *g, uint64_t node, uint32_t out[6]) {
  if (node < 2) {
    for (int i = 0; i < SS_SDR_BASE_DEGREE; i++) out[i] = 0;
    return;
  }
  uint8_t seed[32];
  memcpy(seed, g->drg_seed, 28);
  seed[28] = (uint8_t)node;
  seed[29] = (uint8_t)(node >> 8);
  seed[30] = (uint8_t)(node >> 16);
  seed[31] = (uint8_t)(node >> 24);
  ss_chacha_rng rng;
  ss_chacha_rng_init(&rng, seed, 8);
  const uint64_t m_prime = SS_SDR_BASE_DEGREE - 1;
  const uint64_t meta = node * m_prime;
  /* upstream: ceil(log2(meta)) in f64; meta = 5v is never a power of two for v >= 2, and for
   * every supported size the integer form below is the same value */
  const uint64_t n_buckets = bit_length(meta - 1);
  uint32_t *sampled = g->legacy ? out : out + 1;
  for (uint64_t i = 0; i < m_prime; i++) {
    uint64_t bucket = ss_chacha_rng_u64(&rng) % n_buckets + 1;
    uint64_t hi = (uint64_t)1 << bucket;
    if (hi > meta) hi = meta;
    uint64_t lo = hi >> 1;
    if (lo < 2) lo = 2;
    uint64_t dist = lo + ss_chacha_rng_u64(&rng) % (hi - lo + 1);
    uint32_t p = (uint32_t)((meta - dist) / m_prime);
    sampled[i] = p == (uint32_t)node ? (uint32_t)node - 1 : p;
  }
  out[g->legacy ? m_prime : 0] = (uint32_t)node - 1;
}

static inline uint64_t feistel_pass(const ss_sdr_graph *g, uint64_t index) {
  uint64_t left = (index & g->left_mask) >> g->half_bits;
  uint64_t right = index & g->right_mask;
  for (int r = 0; r < 3; r++) {
    uint64_t f = ss_blake2b512_be64_of_2be64(right, g->feistel_keys[r]) & g->right_mask;
    uint64_t nl = right;
    right = left ^ f;
    left = nl;
  }
  return left << g->half_bits | right;
}

uint64_t ss_sdr_graph_permute(const ss_sdr_graph *g, uint64_t index) {
  const uint64_t n = g->nodes * SS_SDR_EXP_DEGREE;
  uint64_t u = feistel_pass(g, index);
  while (u >= n) u = feistel_pass(g, u);
  return u;
}

void ss_sdr_graph_exp_parents(const ss_sdr_graph *g, uint64_t node, uint32_t out[8]) {
  for (int i = 0; i < SS_SDR_EXP_DEGREE; i++) {
    uint64_t t = ss_sdr_graph_permute(g, node * SS_SDR_EXP_DEGREE + (uint64_t)i);
    out[i] = g->legacy ? (uint32_t)t / SS_SDR_EXP_DEGREE : (uint32_t)(t / SS_SDR_EXP_DEGREE);
  }
}

#if defined(__x86_64__)
#include <immintrin.h>

/* The 8-lane kernels below use blake2b.c's IV and schedule. */
#define B2_IV ss_blake2b_iv
#define B2_SIGMA ss_blake2b_sigma
#define B2_H0 (B2_IV[0] ^ 0x01010040ULL) /* depth 1, fanout 1, 64-byte digest */

/* Runs one Feistel pass (3 rounds) on eight indices: idx[8] -> out[8]. */
typedef void (*pass8_fn)(const ss_sdr_graph *g, const uint64_t idx[8], uint64_t out[8]);

/* ---- AVX-512: one 512-bit register holds the 8 lanes of each BLAKE2b state word. ---- */
#define SS_AVX512 __attribute__((target("avx512f,avx512bw")))

SS_AVX512 static inline __m512i bswap64x8(__m512i x) {
  const __m512i rev = _mm512_set_epi8(
      8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7,
      8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7);
  return _mm512_shuffle_epi8(x, rev);
}

#define G8(a, b, c, d, x, y)                                                          \
  do {                                                                                \
    a = _mm512_add_epi64(_mm512_add_epi64(a, b), x); d = _mm512_ror_epi64(_mm512_xor_si512(d, a), 32); \
    c = _mm512_add_epi64(c, d); b = _mm512_ror_epi64(_mm512_xor_si512(b, c), 24);     \
    a = _mm512_add_epi64(_mm512_add_epi64(a, b), y); d = _mm512_ror_epi64(_mm512_xor_si512(d, a), 16); \
    c = _mm512_add_epi64(c, d); b = _mm512_ror_epi64(_mm512_xor_si512(b, c), 63);     \
  } while (0)

/* Eight Feistel round functions at once: for each lane, u64 BE of the first 8 bytes of
 * BLAKE2b-512(u64 BE(right) || u64 BE(key)), as ss_blake2b512_be64_of_2be64 computes. */
SS_AVX512 static __m512i feistel_f_x8(__m512i right, uint64_t key) {
  __m512i m[16];
  m[0] = bswap64x8(right);
  m[1] = _mm512_set1_epi64((long long)__builtin_bswap64(key));
  for (int i = 2; i < 16; i++) m[i] = _mm512_setzero_si512();
  __m512i v0 = _mm512_set1_epi64((long long)B2_H0), v1 = _mm512_set1_epi64((long long)B2_IV[1]);
  __m512i v2 = _mm512_set1_epi64((long long)B2_IV[2]), v3 = _mm512_set1_epi64((long long)B2_IV[3]);
  __m512i v4 = _mm512_set1_epi64((long long)B2_IV[4]), v5 = _mm512_set1_epi64((long long)B2_IV[5]);
  __m512i v6 = _mm512_set1_epi64((long long)B2_IV[6]), v7 = _mm512_set1_epi64((long long)B2_IV[7]);
  __m512i v8 = _mm512_set1_epi64((long long)B2_IV[0]), v9 = _mm512_set1_epi64((long long)B2_IV[1]);
  __m512i v10 = _mm512_set1_epi64((long long)B2_IV[2]), v11 = _mm512_set1_epi64((long long)B2_IV[3]);
  __m512i v12 = _mm512_set1_epi64((long long)(B2_IV[4] ^ 16)), v13 = _mm512_set1_epi64((long long)B2_IV[5]);
  __m512i v14 = _mm512_set1_epi64((long long)~B2_IV[6]), v15 = _mm512_set1_epi64((long long)B2_IV[7]);
#pragma GCC unroll 12
  for (int r = 0; r < 12; r++) {
    const uint8_t *s = B2_SIGMA[r];
    G8(v0, v4, v8, v12, m[s[0]], m[s[1]]);
    G8(v1, v5, v9, v13, m[s[2]], m[s[3]]);
    G8(v2, v6, v10, v14, m[s[4]], m[s[5]]);
    G8(v3, v7, v11, v15, m[s[6]], m[s[7]]);
    G8(v0, v5, v10, v15, m[s[8]], m[s[9]]);
    G8(v1, v6, v11, v12, m[s[10]], m[s[11]]);
    G8(v2, v7, v8, v13, m[s[12]], m[s[13]]);
    G8(v3, v4, v9, v14, m[s[14]], m[s[15]]);
  }
  __m512i h = _mm512_xor_si512(_mm512_set1_epi64((long long)B2_H0), _mm512_xor_si512(v0, v8));
  return bswap64x8(h);
}

SS_AVX512 static void pass8_avx512(const ss_sdr_graph *g, const uint64_t idx[8], uint64_t out[8]) {
  const __m512i rmask = _mm512_set1_epi64((long long)g->right_mask);
  __m512i index = _mm512_loadu_si512((const void *)idx);
  __m512i left = _mm512_srli_epi64(_mm512_and_si512(index, _mm512_set1_epi64((long long)g->left_mask)), g->half_bits);
  __m512i right = _mm512_and_si512(index, rmask);
  for (int r = 0; r < 3; r++) {
    __m512i f = _mm512_and_si512(feistel_f_x8(right, g->feistel_keys[r]), rmask);
    __m512i nl = right;
    right = _mm512_xor_si512(left, f);
    left = nl;
  }
  _mm512_storeu_si512((void *)out, _mm512_or_si512(_mm512_slli_epi64(left, g->half_bits), right));
}

/* ---- AVX2: each state word is two 256-bit registers (lanes 0-3 and 4-7). Rotates by 32, 24
 * and 16 are byte shuffles, by 63 an add and a shift. The two halves are independent chains,
 * which keeps the core's vector ports busy. ---- */
#define SS_AVX2 __attribute__((target("avx2")))

typedef struct {
  __m256i lo, hi;
} u64x8;

SS_AVX2 static inline u64x8 x8_set1(uint64_t v) {
  __m256i x = _mm256_set1_epi64x((long long)v);
  return (u64x8){x, x};
}
SS_AVX2 static inline u64x8 x8_add(u64x8 a, u64x8 b) {
  return (u64x8){_mm256_add_epi64(a.lo, b.lo), _mm256_add_epi64(a.hi, b.hi)};
}
SS_AVX2 static inline u64x8 x8_xor(u64x8 a, u64x8 b) {
  return (u64x8){_mm256_xor_si256(a.lo, b.lo), _mm256_xor_si256(a.hi, b.hi)};
}
SS_AVX2 static inline u64x8 x8_shuffle(u64x8 a, __m256i m) {
  return (u64x8){_mm256_shuffle_epi8(a.lo, m), _mm256_shuffle_epi8(a.hi, m)};
}
SS_AVX2 static inline u64x8 x8_ror32(u64x8 a) {
  return (u64x8){_mm256_shuffle_epi32(a.lo, 0xb1), _mm256_shuffle_epi32(a.hi, 0xb1)};
}
SS_AVX2 static inline u64x8 x8_ror63(u64x8 a) {
  return (u64x8){_mm256_or_si256(_mm256_srli_epi64(a.lo, 63), _mm256_add_epi64(a.lo, a.lo)),
                 _mm256_or_si256(_mm256_srli_epi64(a.hi, 63), _mm256_add_epi64(a.hi, a.hi))};
}

#define G8X(a, b, c, d, x, y)                                                        \
  do {                                                                               \
    a = x8_add(x8_add(a, b), x); d = x8_ror32(x8_xor(d, a));                         \
    c = x8_add(c, d);            b = x8_shuffle(x8_xor(b, c), rot24);                \
    a = x8_add(x8_add(a, b), y); d = x8_shuffle(x8_xor(d, a), rot16);                \
    c = x8_add(c, d);            b = x8_ror63(x8_xor(b, c));                         \
  } while (0)

/* As feistel_f_x8, on AVX2. Message words 2..15 are zero and are left out of the additions. */
SS_AVX2 static u64x8 feistel_f_x8_avx2(u64x8 right, uint64_t key) {
  const __m256i bswap = _mm256_set_epi8(8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7,
                                        8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i rot24 = _mm256_set_epi8(10, 9, 8, 15, 14, 13, 12, 11, 2, 1, 0, 7, 6, 5, 4, 3,
                                        10, 9, 8, 15, 14, 13, 12, 11, 2, 1, 0, 7, 6, 5, 4, 3);
  const __m256i rot16 = _mm256_set_epi8(9, 8, 15, 14, 13, 12, 11, 10, 1, 0, 7, 6, 5, 4, 3, 2,
                                        9, 8, 15, 14, 13, 12, 11, 10, 1, 0, 7, 6, 5, 4, 3, 2);
  u64x8 m[16];
  m[0] = x8_shuffle(right, bswap);
  m[1] = x8_set1(__builtin_bswap64(key));
  for (int i = 2; i < 16; i++) m[i] = x8_set1(0);
  u64x8 v0 = x8_set1(B2_H0), v1 = x8_set1(B2_IV[1]), v2 = x8_set1(B2_IV[2]), v3 = x8_set1(B2_IV[3]);
  u64x8 v4 = x8_set1(B2_IV[4]), v5 = x8_set1(B2_IV[5]), v6 = x8_set1(B2_IV[6]), v7 = x8_set1(B2_IV[7]);
  u64x8 v8 = x8_set1(B2_IV[0]), v9 = x8_set1(B2_IV[1]), v10 = x8_set1(B2_IV[2]), v11 = x8_set1(B2_IV[3]);
  u64x8 v12 = x8_set1(B2_IV[4] ^ 16), v13 = x8_set1(B2_IV[5]), v14 = x8_set1(~B2_IV[6]), v15 = x8_set1(B2_IV[7]);
#pragma GCC unroll 12
  for (int r = 0; r < 12; r++) {
    const uint8_t *s = B2_SIGMA[r];
    G8X(v0, v4, v8, v12, m[s[0]], m[s[1]]);
    G8X(v1, v5, v9, v13, m[s[2]], m[s[3]]);
    G8X(v2, v6, v10, v14, m[s[4]], m[s[5]]);
    G8X(v3, v7, v11, v15, m[s[6]], m[s[7]]);
    G8X(v0, v5, v10, v15, m[s[8]], m[s[9]]);
    G8X(v1, v6, v11, v12, m[s[10]], m[s[11]]);
    G8X(v2, v7, v8, v13, m[s[12]], m[s[13]]);
    G8X(v3, v4, v9, v14, m[s[14]], m[s[15]]);
  }
  return x8_shuffle(x8_xor(x8_set1(B2_H0), x8_xor(v0, v8)), bswap);
}

SS_AVX2 static void pass8_avx2(const ss_sdr_graph *g, const uint64_t idx[8], uint64_t out[8]) {
  const u64x8 rmask = x8_set1(g->right_mask), lmask = x8_set1(g->left_mask);
  const __m128i hb = _mm_cvtsi32_si128((int)g->half_bits);
  u64x8 index = {_mm256_loadu_si256((const __m256i *)idx), _mm256_loadu_si256((const __m256i *)(idx + 4))};
  u64x8 left = {_mm256_and_si256(index.lo, lmask.lo), _mm256_and_si256(index.hi, lmask.hi)};
  left = (u64x8){_mm256_srl_epi64(left.lo, hb), _mm256_srl_epi64(left.hi, hb)};
  u64x8 right = {_mm256_and_si256(index.lo, rmask.lo), _mm256_and_si256(index.hi, rmask.hi)};
  for (int r = 0; r < 3; r++) {
    u64x8 f = feistel_f_x8_avx2(right, g->feistel_keys[r]);
    f = (u64x8){_mm256_and_si256(f.lo, rmask.lo), _mm256_and_si256(f.hi, rmask.hi)};
    u64x8 nl = right;
    right = x8_xor(left, f);
    left = nl;
  }
  _mm256_storeu_si256((__m256i *)out, _mm256_or_si256(_mm256_sll_epi64(left.lo, hb), right.lo));
  _mm256_storeu_si256((__m256i *)(out + 4), _mm256_or_si256(_mm256_sll_epi64(left.hi, hb), right.hi));
}

/* Expander parents of nodes [start, start+count) into out (stride 14, offset 6), eight
 * permutations at a time. Cycle walking makes the number of passes differ per index, so each
 * lane works through its own queue of indices: after every pass, lanes whose result is in range
 * emit it and take the next index; the others walk on. No lane idles until the queue runs dry. */
static void exp_parents_range_x8(const ss_sdr_graph *g, uint64_t start, uint64_t count, uint32_t *out, pass8_fn pass) {
  const uint64_t n = g->nodes * SS_SDR_EXP_DEGREE;
  const uint64_t total = count * SS_SDR_EXP_DEGREE;
  uint64_t next = 0, remaining = total;
  uint64_t idx[8], task[8];
  bool live[8];
  for (int l = 0; l < 8; l++) {
    live[l] = next < total;
    task[l] = next;
    idx[l] = live[l] ? start * SS_SDR_EXP_DEGREE + next : 0;
    if (live[l]) next++;
  }
  while (remaining > 0) {
    uint64_t res[8];
    pass(g, idx, res);
    for (int l = 0; l < 8; l++) {
      if (!live[l]) continue;
      if (res[l] >= n) {
        idx[l] = res[l]; /* walk the cycle */
        continue;
      }
      uint64_t t = task[l];
      out[(t / SS_SDR_EXP_DEGREE) * SS_SDR_DEGREE + SS_SDR_BASE_DEGREE + t % SS_SDR_EXP_DEGREE] =
          g->legacy ? (uint32_t)res[l] / SS_SDR_EXP_DEGREE : (uint32_t)(res[l] / SS_SDR_EXP_DEGREE);
      remaining--;
      if (next < total) {
        task[l] = next;
        idx[l] = start * SS_SDR_EXP_DEGREE + next++;
      } else {
        live[l] = false;
        idx[l] = 0;
      }
    }
  }
}
#endif

bool ss_sdr_graph_parents(const ss_sdr_graph *g, uint64_t start, uint64_t count, uint32_t *out,
                          const int32_t *cancel, unsigned simd) {
#if defined(__x86_64__)
  pass8_fn pass = (simd & SS_HW_AVX512) ? pass8_avx512 : (simd & SS_HW_AVX2) ? pass8_avx2 : NULL;
#endif
  for (uint64_t at = 0; at < count; at += SS_SDR_PARENTS_CANCEL_NODES) {
    if (ss_cancel_requested(cancel)) return false;
    const uint64_t n = count - at < SS_SDR_PARENTS_CANCEL_NODES ? count - at : SS_SDR_PARENTS_CANCEL_NODES;
    uint32_t *o = out + SS_SDR_DEGREE * at;
#if defined(__x86_64__)
    if (pass) {
      for (uint64_t i = 0; i < n; i++) ss_sdr_graph_base_parents(g, start + at + i, o + SS_SDR_DEGREE * i);
      exp_parents_range_x8(g, start + at, n, o, pass);
      continue;
    }
#endif
    for (uint64_t i = 0; i < n; i++) {
      ss_sdr_graph_base_parents(g, start + at + i, o);
      ss_sdr_graph_exp_parents(g, start + at + i, o + SS_SDR_BASE_DEGREE);
      o += SS_SDR_DEGREE;
    }
  }
  return true;
}
