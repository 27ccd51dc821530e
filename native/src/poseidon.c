/* neptune Poseidon: constant generation (Grain LFSR, Cauchy MDS), the reference permutation and
 * the byte-level bulk entry points. The optimised permutation lives in poseidon_opt.c. */
#include "cancel.h"
#include "fr_adx.h"
#include "poseidon.h"
#include <stdlib.h>
#include <string.h>

/* neptune round_numbers.rs known values (R_F = 8 everywhere), indexed by arity. */
int ss_poseidon_partial_rounds(int arity) {
  if (arity >= 1 && arity <= 2) return 55;
  if (arity >= 3 && arity <= 6) return 56;
  if (arity >= 7 && arity <= 14) return 57;
  if (arity == 15 || arity == 16 || arity == 24) return 59;
  if (arity == 36) return 60;
  return 0;
}

/* Grain LFSR in self-shrinking mode (Poseidon reference generate_parameters_grain). */
typedef struct {
  uint8_t bits[80];
  int pos; /* index of b_i, the oldest bit */
} grain;

static int grain_raw(grain *g) {
  const uint8_t *b = g->bits;
  int i = g->pos;
  int nb = b[(i + 62) % 80] ^ b[(i + 51) % 80] ^ b[(i + 38) % 80] ^ b[(i + 23) % 80] ^ b[(i + 13) % 80] ^ b[i];
  g->bits[i] = (uint8_t)nb; /* b_{i+80} replaces b_i */
  g->pos = (i + 1) % 80;
  return nb;
}

static int grain_bit(grain *g) {
  for (;;) {
    int b1 = grain_raw(g);
    int b2 = grain_raw(g);
    if (b1) return b2;
  }
}

static void grain_init(grain *g, int t, int rf, int rp) {
  /* MSB-first fields: field=1 (2 bits), sbox=1 (4 bits; neptune's value, kept as is),
   * field size 255 (12), t (12), R_F (10), R_P (10), 30 ones. */
  const struct {
    int nbits;
    uint32_t v;
  } fields[] = {{2, 1}, {4, 1}, {12, 255}, {12, (uint32_t)t}, {10, (uint32_t)rf}, {10, (uint32_t)rp}, {30, 0x3fffffff}};
  int n = 0;
  for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++)
    for (int i = fields[f].nbits - 1; i >= 0; i--) g->bits[n++] = (uint8_t)((fields[f].v >> i) & 1);
  g->pos = 0;
  for (int i = 0; i < 160; i++) grain_raw(g);
}

/* Next field element: 255 bits MSB first, rejected while >= r. Returns it in Montgomery form. */
static void grain_field(grain *g, ss_fr *out) {
  for (;;) {
    uint64_t l[4] = {0, 0, 0, 0};
    for (int i = 254; i >= 0; i--)
      if (grain_bit(g)) l[i / 64] |= 1ULL << (i % 64);
    if (ss_fr_geq_p(l)) continue;
    uint8_t bytes[32];
    ss_fr raw = {{l[0], l[1], l[2], l[3]}};
    ss_fr_store_raw(bytes, &raw);
    ss_fr_from_bytes(out, bytes);
    return;
  }
}

ss_poseidon_params *ss_poseidon_params_new(int arity) {
  int rp = ss_poseidon_partial_rounds(arity);
  if (rp == 0) return NULL;
  ss_poseidon_params *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  p->arity = arity;
  p->t = arity + 1;
  p->rf = 8;
  p->rp = rp;
  const int t = p->t;
  const size_t nrc = (size_t)(p->rf + p->rp) * t;
  p->rc = malloc(nrc * sizeof(ss_fr));
  p->mds = malloc((size_t)t * t * sizeof(ss_fr));
  if (!p->rc || !p->mds) goto fail;
  /* tag 2^arity - 1 (arity <= 36 fits in u64) */
  ss_fr_from_u64(&p->tag, (arity == 64) ? ~0ULL : ((1ULL << arity) - 1));
  grain g;
  grain_init(&g, t, p->rf, p->rp);
  for (size_t i = 0; i < nrc; i++) grain_field(&g, &p->rc[i]);
  /* Cauchy MDS: M[i][j] = 1 / (x_i + y_j), x_i = i, y_j = t + j */
  for (int i = 0; i < t; i++)
    for (int j = 0; j < t; j++) {
      ss_fr s;
      ss_fr_from_u64(&s, (uint64_t)(i + t + j));
      ss_fr_inv(&p->mds[i * t + j], &s);
    }
  if (!ss_poseidon_opt_build(p) || !ss_poseidon_ifma_build(p)) goto fail;
  return p;
fail:
  ss_poseidon_params_free(p);
  return NULL;
}

void ss_poseidon_params_free(ss_poseidon_params *p) {
  if (!p) return;
  free(p->rc);
  free(p->mds);
  free(p->full_rc);
  free(p->pre_sparse);
  free(p->partial_k);
  free(p->sparse);
  free(p->w3);
  ss_poseidon_ifma_free(p->ifma);
  free(p);
}

static void mds_apply(const ss_poseidon_params *p, ss_fr *s) {
  const int t = p->t;
  ss_fr out[SS_POSEIDON_MAX_ARITY + 1];
  for (int i = 0; i < t; i++) {
    ss_fr acc, prod;
    ss_fr_mul(&acc, &p->mds[i * t], &s[0]);
    for (int j = 1; j < t; j++) {
      ss_fr_mul(&prod, &p->mds[i * t + j], &s[j]);
      ss_fr_add(&acc, &acc, &prod);
    }
    out[i] = acc;
  }
  memcpy(s, out, (size_t)t * sizeof(ss_fr));
}

/* The textbook permutation (neptune `poseidon.rs` before its optimisations), kept as the oracle for the optimised form. */
void ss_poseidon_hash_ref(const ss_poseidon_params *p, const ss_fr *in, ss_fr *out) {
  const int t = p->t;
  ss_fr s[SS_POSEIDON_MAX_ARITY + 1];
  s[0] = p->tag;
  memcpy(&s[1], in, (size_t)p->arity * sizeof(ss_fr));
  const ss_fr *rc = p->rc;
  const int half = p->rf / 2;
  for (int r = 0; r < p->rf + p->rp; r++) {
    bool full = r < half || r >= half + p->rp;
    for (int i = 0; i < t; i++) ss_fr_add(&s[i], &s[i], &rc[i]);
    rc += t;
    if (full)
      for (int i = 0; i < t; i++) ss_fr_pow5(&s[i], &s[i]);
    else
      ss_fr_pow5(&s[0], &s[0]);
    mds_apply(p, s);
  }
  *out = s[1];
}

/* The IFMA permutation runs when the caller enabled it and the width is within its bound. */
static bool use_ifma(const ss_poseidon_params *p, unsigned simd) { return (simd & SS_HW_IFMA) && p->ifma != NULL; }

int64_t ss_poseidon_hash_many(const ss_poseidon_params *p, const uint8_t *in, uint8_t *out, size_t count,
                              ss_poseidon_mode mode, unsigned simd, const int32_t *cancel) {
  const int k = p->arity;
  if (mode == SS_POSEIDON_PORTABLE) simd = 0;
  ss_fr v[4 * SS_POSEIDON_MAX_ARITY], h[4];
  size_t i = 0;
#if defined(__x86_64__)
  if (mode != SS_POSEIDON_REFERENCE && mode != SS_POSEIDON_EAGER && use_ifma(p, simd)) /* groups of eight, one per lane */
    for (; i + 8 <= count; i += 8) {
      if (ss_cancel_requested(cancel)) return SS_CANCELLED;
      const uint8_t *src[8 * SS_POSEIDON_MAX_ARITY];
      uint8_t *dst[8];
      for (int j = 0; j < 8 * k; j++) {
        src[j] = in + (i * (size_t)k + (size_t)j) * 32;
        if (!ss_fr_bytes_canonical(src[j])) return (int64_t)(i * (size_t)k + (size_t)j);
      }
      for (int l = 0; l < 8; l++) dst[l] = out + 32 * (i + l);
      ss_poseidon_hash8_ifma(p, src, dst);
    }
#endif
  if (mode != SS_POSEIDON_REFERENCE) /* groups of four, interleaved */
    for (; i + 4 <= count; i += 4) {
      if (ss_cancel_requested(cancel)) return SS_CANCELLED;
      const uint8_t *src = in + i * (size_t)k * 32;
      for (int j = 0; j < 4 * k; j++)
        if (!ss_fr_from_bytes(&v[j], src + 32 * j)) return (int64_t)(i * (size_t)k + (size_t)j);
      if (mode == SS_POSEIDON_EAGER)
        ss_poseidon_hash4_eager(p, v, h, simd);
      else
        ss_poseidon_hash4(p, v, h, simd);
      for (int l = 0; l < 4; l++) ss_fr_to_bytes(out + 32 * (i + l), &h[l]);
    }
  for (; i < count; i++) {
    if ((i & 3) == 0 && ss_cancel_requested(cancel)) return SS_CANCELLED;
    const uint8_t *src = in + i * (size_t)k * 32;
    for (int j = 0; j < k; j++)
      if (!ss_fr_from_bytes(&v[j], src + 32 * j)) return (int64_t)(i * (size_t)k + (size_t)j);
    if (mode == SS_POSEIDON_REFERENCE)
      ss_poseidon_hash_ref(p, v, &h[0]);
    else if (mode == SS_POSEIDON_EAGER)
      ss_poseidon_hash_eager(p, v, &h[0], simd);
    else
      ss_poseidon_hash(p, v, &h[0], simd);
    ss_fr_to_bytes(out + 32 * i, &h[0]);
  }
  return -1;
}

int64_t ss_poseidon_columns(const ss_poseidon_params *p, const uint8_t *const *layers, uint8_t *out,
                            size_t nodes, unsigned simd, const int32_t *cancel) {
  const int k = p->arity;
  ss_fr v[4 * SS_POSEIDON_MAX_ARITY], h[4];
  size_t n = 0;
#if defined(__x86_64__)
  if (use_ifma(p, simd))
    for (; n + 8 <= nodes; n += 8) {
      if (ss_cancel_requested(cancel)) return SS_CANCELLED;
      const uint8_t *src[8 * SS_POSEIDON_MAX_ARITY];
      uint8_t *dst[8];
      for (int l = 0; l < 8; l++) {
        for (int j = 0; j < k; j++) {
          src[l * k + j] = layers[j] + 32 * (n + l);
          if (!ss_fr_bytes_canonical(src[l * k + j])) return (int64_t)((n + l) * (size_t)k + (size_t)j);
        }
        dst[l] = out + 32 * (n + l);
      }
      ss_poseidon_hash8_ifma(p, src, dst);
    }
#endif
  for (; n + 4 <= nodes; n += 4) {
    if (ss_cancel_requested(cancel)) return SS_CANCELLED;
    for (int l = 0; l < 4; l++)
      for (int j = 0; j < k; j++)
        if (!ss_fr_from_bytes(&v[l * k + j], layers[j] + 32 * (n + l))) return (int64_t)((n + l) * (size_t)k + (size_t)j);
    ss_poseidon_hash4(p, v, h, simd);
    for (int l = 0; l < 4; l++) ss_fr_to_bytes(out + 32 * (n + l), &h[l]);
  }
  for (; n < nodes; n++) {
    for (int j = 0; j < k; j++)
      if (!ss_fr_from_bytes(&v[j], layers[j] + 32 * n)) return (int64_t)(n * (size_t)k + (size_t)j);
    ss_poseidon_hash(p, v, &h[0], simd);
    ss_fr_to_bytes(out + 32 * n, &h[0]);
  }
  return -1;
}

/* Validates every node before writing any, so an in-place call (out == a) with a bad input
 * leaves the buffer untouched. */
static int64_t first_non_canonical(const uint8_t *a, const uint8_t *b, size_t nodes) {
  for (size_t n = 0; n < nodes; n++)
    if (!ss_fr_bytes_canonical(a + 32 * n) || !ss_fr_bytes_canonical(b + 32 * n)) return (int64_t)n;
  return -1;
}

/* out[n] = a[n] ± b[n] in Fr, node by node, after validating every input node. */
static int64_t combine_nodes(const uint8_t *a, const uint8_t *b, uint8_t *out, size_t nodes, int subtract) {
  int64_t bad = first_non_canonical(a, b, nodes);
  if (bad >= 0) return bad;
  for (size_t n = 0; n < nodes; n++) {
    ss_fr x, y;
    ss_fr_load_raw(&x, a + 32 * n);
    ss_fr_load_raw(&y, b + 32 * n);
    if (subtract) ss_fr_sub(&x, &x, &y);
    else ss_fr_add(&x, &x, &y);
    ss_fr_store_raw(out + 32 * n, &x);
  }
  return -1;
}

int64_t ss_fr_add_nodes(const uint8_t *a, const uint8_t *b, uint8_t *out, size_t nodes) {
  return combine_nodes(a, b, out, nodes, 0);
}

int64_t ss_fr_sub_nodes(const uint8_t *a, const uint8_t *b, uint8_t *out, size_t nodes) {
  return combine_nodes(a, b, out, nodes, 1);
}
