/* Optimised Poseidon permutation, equal to the reference one (tested on random inputs).
 *
 * Partial rounds apply the S-box to s[0] only, which allows two rewrites (the ideas of the
 * Poseidon paper's appendix B and neptune's "optimized static" mode, derived here directly):
 *
 * 1. Constant folding. In a partial round S(s + c) = S(s + c0·e0) + (c - c0·e0) because S only
 *    touches s[0]; the tail of c therefore passes through the S-box unchanged and, after the
 *    MDS, becomes M·tail, which is added to the next round's constants. Walking forwards, each
 *    partial round keeps one scalar constant; the last residual joins the constants of the
 *    first full round of the second half.
 *
 * 2. Sparse matrices. Any matrix N with an invertible lower-right block N̂ factors as
 *    N = S·D, D = [[1, 0], [0, N̂]], S = [[n00, wᵀ], [v, I]] with v = N[1.., 0] and
 *    wᵀ = N[0, 1..]·N̂⁻¹. D acts as the identity on s[0] and the partial round only touches s[0],
 *    so D commutes with the round and can be pushed back into the previous round's MDS
 *    (N_prev = D·M). Starting from the last partial round, every partial round ends with a
 *    sparse S_i (2t - 1 products instead of t²) and the last first-half full round uses the
 *    dense pre-sparse matrix D_1·M.
 *
 * The Cauchy MDS's lower-right blocks and all D·M products are invertible for the supported
 * widths; the build fails (returns false) rather than producing wrong tables if a pivot is
 * ever missing. */
#include <stdlib.h>
#include <string.h>
#include "fr_adx.h"
#include "fr_dot.h"
#include "poseidon.h"

/* Solves A x = b for an n×n matrix A (row major), in place on copies; false if singular. */
static bool solve(int n, const ss_fr *A, const ss_fr *b, ss_fr *x) {
  const int w = n + 1;
  ss_fr *m = malloc((size_t)n * w * sizeof(ss_fr));
  if (!m) return false;
  for (int i = 0; i < n; i++) {
    memcpy(&m[i * w], &A[i * n], (size_t)n * sizeof(ss_fr));
    m[i * w + n] = b[i];
  }
  bool ok = true;
  for (int col = 0; col < n && ok; col++) {
    int piv = -1;
    for (int r = col; r < n; r++)
      if (!ss_fr_is_zero(&m[r * w + col])) {
        piv = r;
        break;
      }
    if (piv < 0) {
      ok = false;
      break;
    }
    if (piv != col)
      for (int k = 0; k < w; k++) {
        ss_fr tmp = m[col * w + k];
        m[col * w + k] = m[piv * w + k];
        m[piv * w + k] = tmp;
      }
    ss_fr inv;
    ss_fr_inv(&inv, &m[col * w + col]);
    for (int k = col; k < w; k++) ss_fr_mul(&m[col * w + k], &m[col * w + k], &inv);
    for (int r = 0; r < n; r++) {
      if (r == col || ss_fr_is_zero(&m[r * w + col])) continue;
      ss_fr f = m[r * w + col];
      for (int k = col; k < w; k++) {
        ss_fr prod;
        ss_fr_mul(&prod, &f, &m[col * w + k]);
        ss_fr_sub(&m[r * w + k], &m[r * w + k], &prod);
      }
    }
  }
  if (ok)
    for (int i = 0; i < n; i++) x[i] = m[i * w + n];
  free(m);
  return ok;
}

bool ss_poseidon_opt_build(ss_poseidon_params *p) {
  const int t = p->t, n = t - 1, half = p->rf / 2, rp = p->rp;
  const ss_fr *M = p->mds;
  p->full_rc = malloc((size_t)p->rf * t * sizeof(ss_fr));
  p->pre_sparse = malloc((size_t)t * t * sizeof(ss_fr));
  p->partial_k = malloc((size_t)rp * sizeof(ss_fr));
  p->sparse = malloc((size_t)rp * (2 * t - 1) * sizeof(ss_fr));
  ss_fr *N = malloc((size_t)t * t * sizeof(ss_fr));
  ss_fr *hat = malloc((size_t)n * n * sizeof(ss_fr));
  ss_fr *hatT = malloc((size_t)n * n * sizeof(ss_fr));
  bool ok = p->full_rc && p->pre_sparse && p->partial_k && p->sparse && N && hat && hatT;
  if (!ok) goto done;

  /* 1. constant folding */
  memcpy(p->full_rc, p->rc, (size_t)half * t * sizeof(ss_fr));
  ss_fr carry[SS_POSEIDON_MAX_ARITY + 1], c[SS_POSEIDON_MAX_ARITY + 1];
  for (int i = 0; i < t; i++) ss_fr_zero(&carry[i]);
  for (int r = 0; r < rp; r++) {
    const ss_fr *rc = &p->rc[(size_t)(half + r) * t];
    for (int i = 0; i < t; i++) ss_fr_add(&c[i], &rc[i], &carry[i]);
    p->partial_k[r] = c[0];
    ss_fr_zero(&c[0]);
    for (int i = 0; i < t; i++) { /* carry = M · c (c[0] = 0) */
      ss_fr acc, prod;
      ss_fr_zero(&acc);
      for (int j = 1; j < t; j++) {
        ss_fr_mul(&prod, &M[i * t + j], &c[j]);
        ss_fr_add(&acc, &acc, &prod);
      }
      carry[i] = acc;
    }
  }
  {
    const ss_fr *rc = &p->rc[(size_t)(half + rp) * t];
    for (int i = 0; i < t; i++) ss_fr_add(&p->full_rc[half * t + i], &rc[i], &carry[i]);
    memcpy(&p->full_rc[(half + 1) * t], &p->rc[(size_t)(half + rp + 1) * t], (size_t)(half - 1) * t * sizeof(ss_fr));
  }

  /* 2. sparse factorisation, last partial round first */
  memcpy(N, M, (size_t)t * t * sizeof(ss_fr));
  for (int r = rp - 1; r >= 0 && ok; r--) {
    ss_fr *sp = &p->sparse[(size_t)r * (2 * t - 1)];
    for (int i = 0; i < n; i++)
      for (int j = 0; j < n; j++) {
        hat[i * n + j] = N[(i + 1) * t + (j + 1)];
        hatT[j * n + i] = N[(i + 1) * t + (j + 1)];
      }
    sp[0] = N[0];
    for (int i = 0; i < n; i++) sp[1 + n + i] = N[(i + 1) * t]; /* v */
    ok = solve(n, hatT, &N[1], &sp[1]);                          /* N̂ᵀ w = N[0, 1..] */
    if (!ok) break;
    /* N = D · M: row 0 of M unchanged, rows 1.. = N̂ · M[1.., :] */
    memcpy(N, M, (size_t)t * sizeof(ss_fr));
    for (int i = 0; i < n; i++)
      for (int col = 0; col < t; col++) {
        ss_fr acc, prod;
        ss_fr_zero(&acc);
        for (int k = 0; k < n; k++) {
          ss_fr_mul(&prod, &hat[i * n + k], &M[(k + 1) * t + col]);
          ss_fr_add(&acc, &acc, &prod);
        }
        N[(i + 1) * t + col] = acc;
      }
  }
  if (ok) memcpy(p->pre_sparse, N, (size_t)t * t * sizeof(ss_fr));
done:
  free(N);
  free(hat);
  free(hatT);
  return ok;
}

/* The permutation is written once and instantiated twice: with the portable product and with
 * the MULX/ADX one (chosen by the caller's SS_HW_ADX feature). `adx` is a compile-time constant
 * in each instantiation, so the branch folds away. */
#ifdef SS_FR_HAVE_ADX
#define MUL(r, a, b) (adx ? ss_fr_mul_adx((r), (a), (b)) : ss_fr_mul((r), (a), (b)))
#define POW5(r, a) (adx ? ss_fr_pow5_adx((r), (a)) : ss_fr_pow5((r), (a)))
#define MULADD_WIDE(acc, a, b) (adx ? ss_fr_wide_muladd_adx((acc), (a), (b)) : ss_fr_wide_muladd((acc), (a), (b)))
#define REDUCE_WIDE(r, acc) (adx ? ss_fr_wide_reduce_adx((r), (acc)) : ss_fr_wide_reduce((r), (acc)))
#else
#define MUL(r, a, b) ss_fr_mul((r), (a), (b))
#define POW5(r, a) ss_fr_pow5((r), (a))
#define MULADD_WIDE(acc, a, b) ss_fr_wide_muladd((acc), (a), (b))
#define REDUCE_WIDE(r, acc) ss_fr_wide_reduce((r), (acc))
#endif

/* out = sum c[j] s[j], j < n: with one reduction (fr_dot.h) when `lazy`, else reducing every
 * product (the permutation as it was before lazy reduction, kept as the benchmarks' baseline).
 * out may alias s. */
static inline __attribute__((always_inline)) void dot(ss_fr *out, const ss_fr *c, const ss_fr *s, int n, const bool adx,
                                                      const bool lazy) {
  if (!lazy) {
    ss_fr acc, prod;
    MUL(&acc, &c[0], &s[0]);
    for (int j = 1; j < n; j++) {
      MUL(&prod, &c[j], &s[j]);
      ss_fr_add(&acc, &acc, &prod);
    }
    *out = acc;
    return;
  }
  ss_fr_wide acc;
  ss_fr_wide_zero(&acc);
  for (int j = 0; j < n; j++) MULADD_WIDE(&acc, &c[j], &s[j]);
  REDUCE_WIDE(out, &acc);
}

/* s = A·s for a dense t×t matrix. */
static inline __attribute__((always_inline)) void dense_apply(const ss_fr *A, int t, ss_fr *s, const bool adx, const bool lazy) {
  ss_fr out[SS_POSEIDON_MAX_ARITY + 1];
  for (int i = 0; i < t; i++) dot(&out[i], &A[i * t], s, t, adx, lazy);
  memcpy(s, out, (size_t)t * sizeof(ss_fr));
}

static inline __attribute__((always_inline)) void hash_impl(const ss_poseidon_params *p, const ss_fr *in, ss_fr *out,
                                                            const bool adx, const bool lazy) {
  const int t = p->t, n = t - 1, half = p->rf / 2;
  ss_fr s[SS_POSEIDON_MAX_ARITY + 1];
  s[0] = p->tag;
  memcpy(&s[1], in, (size_t)p->arity * sizeof(ss_fr));
  const ss_fr *rc = p->full_rc;
  for (int r = 0; r < half; r++, rc += t) {
    for (int i = 0; i < t; i++) {
      ss_fr_add(&s[i], &s[i], &rc[i]);
      POW5(&s[i], &s[i]);
    }
    dense_apply(r == half - 1 ? p->pre_sparse : p->mds, t, s, adx, lazy);
  }
  const ss_fr *sp = p->sparse;
  for (int r = 0; r < p->rp; r++, sp += 2 * t - 1) {
    ss_fr_add(&s[0], &s[0], &p->partial_k[r]);
    POW5(&s[0], &s[0]);
    /* s0' = m00·s0 + Σ w_j s_j ; s_j' = s_j + v_j·s0 */
    ss_fr s0 = s[0], acc, prod;
    dot(&acc, sp, s, t, adx, lazy);
    for (int j = 1; j <= n; j++) {
      MUL(&prod, &sp[n + j], &s0);
      ss_fr_add(&s[j], &s[j], &prod);
    }
    s[0] = acc;
  }
  for (int r = 0; r < half; r++, rc += t) {
    for (int i = 0; i < t; i++) {
      ss_fr_add(&s[i], &s[i], &rc[i]);
      POW5(&s[i], &s[i]);
    }
    if (r < half - 1) {
      dense_apply(p->mds, t, s, adx, lazy);
    } else { /* only s[1] is output: one row of the last MDS */
      dot(out, &p->mds[t], s, t, adx, lazy);
    }
  }
}

void ss_poseidon_hash(const ss_poseidon_params *p, const ss_fr *in, ss_fr *out, unsigned simd) {
#ifdef SS_FR_HAVE_ADX
  if (simd & SS_HW_ADX) {
    hash_impl(p, in, out, true, true);
    return;
  }
#endif
  hash_impl(p, in, out, false, true);
}

void ss_poseidon_hash_eager(const ss_poseidon_params *p, const ss_fr *in, ss_fr *out, unsigned simd) {
#ifdef SS_FR_HAVE_ADX
  if (simd & SS_HW_ADX) {
    hash_impl(p, in, out, true, false);
    return;
  }
#endif
  hash_impl(p, in, out, false, false);
}

/* Four independent hashes in lockstep. A single Poseidon is latency-bound in its partial
 * rounds (each round waits for the previous S-box: three dependent products); interleaving
 * four states gives the core independent products to overlap, which matters most for the
 * narrow arity-2 column hashes. Same arithmetic as hash_impl, lane by lane. */
#define LANES 4
static inline __attribute__((always_inline)) void pow5_lanes(ss_fr *x[LANES], const bool adx) {
  ss_fr x2[LANES], x4[LANES];
  for (int l = 0; l < LANES; l++) MUL(&x2[l], x[l], x[l]);
  for (int l = 0; l < LANES; l++) MUL(&x4[l], &x2[l], &x2[l]);
  for (int l = 0; l < LANES; l++) MUL(x[l], &x4[l], x[l]);
}

/* One row of products for every lane, then one reduction per lane (fr_dot.h). */
static inline __attribute__((always_inline)) void dot_lanes(ss_fr out[LANES], const ss_fr *c, ss_fr s[LANES][SS_POSEIDON_MAX_ARITY + 1],
                                                            int n, const bool adx, const bool lazy) {
  if (!lazy) {
    ss_fr prod[LANES];
    for (int l = 0; l < LANES; l++) MUL(&out[l], &c[0], &s[l][0]);
    for (int j = 1; j < n; j++)
      for (int l = 0; l < LANES; l++) {
        MUL(&prod[l], &c[j], &s[l][j]);
        ss_fr_add(&out[l], &out[l], &prod[l]);
      }
    return;
  }
  ss_fr_wide acc[LANES];
  for (int l = 0; l < LANES; l++) ss_fr_wide_zero(&acc[l]);
  for (int j = 0; j < n; j++)
    for (int l = 0; l < LANES; l++) MULADD_WIDE(&acc[l], &c[j], &s[l][j]);
  for (int l = 0; l < LANES; l++) REDUCE_WIDE(&out[l], &acc[l]);
}

static inline __attribute__((always_inline)) void dense_lanes(const ss_fr *A, int t, ss_fr s[LANES][SS_POSEIDON_MAX_ARITY + 1],
                                                              const bool adx, const bool lazy) {
  ss_fr out[LANES][SS_POSEIDON_MAX_ARITY + 1];
  for (int i = 0; i < t; i++) {
    ss_fr row[LANES];
    dot_lanes(row, &A[i * t], s, t, adx, lazy);
    for (int l = 0; l < LANES; l++) out[l][i] = row[l];
  }
  for (int l = 0; l < LANES; l++) memcpy(s[l], out[l], (size_t)t * sizeof(ss_fr));
}

static inline __attribute__((always_inline)) void full_round_lanes(const ss_fr *rc, int t, ss_fr s[LANES][SS_POSEIDON_MAX_ARITY + 1],
                                                                   const bool adx) {
  for (int i = 0; i < t; i++) {
    ss_fr *x[LANES];
    for (int l = 0; l < LANES; l++) {
      ss_fr_add(&s[l][i], &s[l][i], &rc[i]);
      x[l] = &s[l][i];
    }
    pow5_lanes(x, adx);
  }
}

static inline __attribute__((always_inline)) void hash_lanes_impl(const ss_poseidon_params *p, const ss_fr *in, ss_fr *out,
                                                                  const bool adx, const bool lazy) {
  const int t = p->t, n = t - 1, half = p->rf / 2, k = p->arity;
  ss_fr s[LANES][SS_POSEIDON_MAX_ARITY + 1];
  for (int l = 0; l < LANES; l++) {
    s[l][0] = p->tag;
    memcpy(&s[l][1], &in[l * k], (size_t)k * sizeof(ss_fr));
  }
  const ss_fr *rc = p->full_rc;
  for (int r = 0; r < half; r++, rc += t) {
    full_round_lanes(rc, t, s, adx);
    dense_lanes(r == half - 1 ? p->pre_sparse : p->mds, t, s, adx, lazy);
  }
  const ss_fr *sp = p->sparse;
  for (int r = 0; r < p->rp; r++, sp += 2 * t - 1) {
    ss_fr *x[LANES];
    for (int l = 0; l < LANES; l++) {
      ss_fr_add(&s[l][0], &s[l][0], &p->partial_k[r]);
      x[l] = &s[l][0];
    }
    pow5_lanes(x, adx);
    ss_fr s0[LANES], acc[LANES], prod[LANES];
    for (int l = 0; l < LANES; l++) s0[l] = s[l][0];
    dot_lanes(acc, sp, s, t, adx, lazy);
    for (int j = 1; j <= n; j++)
      for (int l = 0; l < LANES; l++) {
        MUL(&prod[l], &sp[n + j], &s0[l]);
        ss_fr_add(&s[l][j], &s[l][j], &prod[l]);
      }
    for (int l = 0; l < LANES; l++) s[l][0] = acc[l];
  }
  for (int r = 0; r < half; r++, rc += t) {
    full_round_lanes(rc, t, s, adx);
    if (r < half - 1) {
      dense_lanes(p->mds, t, s, adx, lazy);
    } else {
      dot_lanes(out, &p->mds[t], s, t, adx, lazy);
    }
  }
}

void ss_poseidon_hash4(const ss_poseidon_params *p, const ss_fr *in, ss_fr *out, unsigned simd) {
#ifdef SS_FR_HAVE_ADX
  if (simd & SS_HW_ADX) {
    hash_lanes_impl(p, in, out, true, true);
    return;
  }
#endif
  hash_lanes_impl(p, in, out, false, true);
}

void ss_poseidon_hash4_eager(const ss_poseidon_params *p, const ss_fr *in, ss_fr *out, unsigned simd) {
#ifdef SS_FR_HAVE_ADX
  if (simd & SS_HW_ADX) {
    hash_lanes_impl(p, in, out, true, false);
    return;
  }
#endif
  hash_lanes_impl(p, in, out, false, false);
}
