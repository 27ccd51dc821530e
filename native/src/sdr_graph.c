/* DRG bucket sampling (drgraph.rs) and the Feistel expander (feistel.rs, graph.rs). */
#include "sdr_graph.h"
#include <string.h>
#include "blake2b.h"
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

void ss_sdr_graph_parents(const ss_sdr_graph *g, uint64_t start, uint64_t count, uint32_t *out) {
  for (uint64_t i = 0; i < count; i++) {
    ss_sdr_graph_base_parents(g, start + i, out);
    ss_sdr_graph_exp_parents(g, start + i, out + SS_SDR_BASE_DEGREE);
    out += SS_SDR_DEGREE;
  }
}
