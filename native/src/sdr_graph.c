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
#define SS_AVX512 __attribute__((target("avx512f,avx512bw")))

/* The 8-lane kernel below uses blake2b.c's IV and schedule. */
#define B2_IV ss_blake2b_iv
#define B2_SIGMA ss_blake2b_sigma

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
  const uint64_t h0 = B2_IV[0] ^ 0x01010040ULL; /* depth 1, fanout 1, 64-byte digest */
  __m512i v0 = _mm512_set1_epi64((long long)h0), v1 = _mm512_set1_epi64((long long)B2_IV[1]);
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
  __m512i h = _mm512_xor_si512(_mm512_set1_epi64((long long)h0), _mm512_xor_si512(v0, v8));
  return bswap64x8(h);
}

/* One Feistel pass (3 rounds) on eight indices. */
SS_AVX512 static __m512i feistel_pass_x8(const ss_sdr_graph *g, __m512i index) {
  const __m512i rmask = _mm512_set1_epi64((long long)g->right_mask);
  __m512i left = _mm512_srli_epi64(_mm512_and_si512(index, _mm512_set1_epi64((long long)g->left_mask)), g->half_bits);
  __m512i right = _mm512_and_si512(index, rmask);
  for (int r = 0; r < 3; r++) {
    __m512i f = _mm512_and_si512(feistel_f_x8(right, g->feistel_keys[r]), rmask);
    __m512i nl = right;
    right = _mm512_xor_si512(left, f);
    left = nl;
  }
  return _mm512_or_si512(_mm512_slli_epi64(left, g->half_bits), right);
}

/* Expander parents of nodes [start, start+count) into out (stride 14, offset 6), eight
 * permutations at a time. Cycle walking makes the number of passes differ per index, so each
 * lane works through its own queue of indices: after every pass, lanes whose result is in range
 * emit it and take the next index; the others walk on. No lane idles until the queue runs dry. */
SS_AVX512 static void exp_parents_range_x8(const ss_sdr_graph *g, uint64_t start, uint64_t count, uint32_t *out) {
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
    _mm512_storeu_si512((void *)res, feistel_pass_x8(g, _mm512_loadu_si512((const void *)idx)));
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

static bool has_avx512(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
}
#endif

bool ss_sdr_graph_parents(const ss_sdr_graph *g, uint64_t start, uint64_t count, uint32_t *out,
                          const int32_t *cancel) {
  for (uint64_t at = 0; at < count; at += SS_SDR_PARENTS_CANCEL_NODES) {
    if (ss_cancel_requested(cancel)) return false;
    const uint64_t n = count - at < SS_SDR_PARENTS_CANCEL_NODES ? count - at : SS_SDR_PARENTS_CANCEL_NODES;
    uint32_t *o = out + SS_SDR_DEGREE * at;
#if defined(__x86_64__)
    if (has_avx512()) {
      for (uint64_t i = 0; i < n; i++) ss_sdr_graph_base_parents(g, start + at + i, o + SS_SDR_DEGREE * i);
      exp_parents_range_x8(g, start + at, n, o);
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
