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

/* 5^-1 mod (r - 1), four LE limbs: x -> x^W3_FIFTH_ROOT inverts the S-box (5 does not divide
 * r - 1, which is why x^5 is a permutation) */
static const uint64_t W3_FIFTH_ROOT[4] = {0x33333332cccccccdULL, 0x217f0e679998f199ULL, 0xe14a56699d73f002ULL,
                                          0x2e5f0fbadd72321cULL};

/* Width 3: the partial rounds rescaled so that each costs one product less (the tables
 * hash4_w3_adx below reads; layout W3_*).
 *
 * Round r of the sparse form is x = s0 + k, y = x^5, s0' = m00 y + w1 s1 + w2 s2,
 * s1' = s1 + v1 y, s2' = s2 + v2 y. Carry s0 scaled instead: s0 = c_r ŝ0 on entry to round r.
 * Then x = c_r (ŝ0 + k / c_r) and y = c_r^5 ŷ with ŷ = (ŝ0 + k / c_r)^5, so
 *   ŝ0' = (m00 c_r^5 / c_{r+1}) ŷ + (w1 / c_{r+1}) s1 + (w2 / c_{r+1}) s2,
 *   s1' = s1 + (v1 c_r^5) ŷ,  s2' = s2 + (v2 c_r^5) ŷ.
 * Choosing c_r^5 = 1 / v1 makes the s1 update an addition; c_r is that fifth root, and c = 1
 * after the last partial round, so the second half sees the state unscaled. The first round's
 * ŝ0 = s0 / c_0 comes from the pre-sparse matrix with row 0 divided by c_0. Every step is an
 * identity in the field, so the hashes do not change. Fails (false, and the constants are not
 * built) if a v1 is zero, which neptune's width-3 constants do not have. */
#define W3_PRE 0   /* pre-sparse matrix, row 0 divided by c_0 (9 elements) */
#define W3_K0 9    /* k_0 / c_0 */
#define W3_ROUNDS 10 /* per round r: A, W1, W2, K', V2 (W3_STRIDE elements) */
#define W3_STRIDE 5
/* A = m00 c_r^5 / c_{r+1}, W_j = w_j / c_{r+1}, K' = k_{r+1} / c_{r+1} (0 after the last round:
 * the constant a dot product adds, ss_fr_dot3_plus_adx), V2 = v2 c_r^5 */
static bool build_w3(ss_poseidon_params *p) {
  const int rp = p->rp;
  ss_fr *w = malloc((size_t)(W3_ROUNDS + W3_STRIDE * rp) * sizeof(ss_fr));
  ss_fr *c = malloc((size_t)(rp + 1) * sizeof(ss_fr)), *c5 = malloc((size_t)rp * sizeof(ss_fr));
  bool ok = w && c && c5;
  for (int r = 0; ok && r < rp; r++) {
    const ss_fr *sp = &p->sparse[(size_t)r * 5];
    ss_fr check;
    if (ss_fr_is_zero(&sp[3])) ok = false;
    ss_fr_inv(&c5[r], &sp[3]);
    ss_fr_pow(&c[r], &c5[r], W3_FIFTH_ROOT);
    ss_fr_pow5(&check, &c[r]);
    if (!ss_fr_eq(&check, &c5[r])) ok = false;
  }
  if (ok) {
    ss_fr_one(&c[rp]);
    ss_fr inv_c;
    ss_fr_inv(&inv_c, &c[0]);
    memcpy(&w[W3_PRE], p->pre_sparse, 9 * sizeof(ss_fr));
    for (int j = 0; j < 3; j++) ss_fr_mul(&w[W3_PRE + j], &w[W3_PRE + j], &inv_c);
    ss_fr_mul(&w[W3_K0], &p->partial_k[0], &inv_c);
    for (int r = 0; r < rp; r++) {
      const ss_fr *sp = &p->sparse[(size_t)r * 5];
      ss_fr *o = &w[W3_ROUNDS + W3_STRIDE * r];
      ss_fr_inv(&inv_c, &c[r + 1]);
      ss_fr_mul(&o[0], &sp[0], &c5[r]);
      ss_fr_mul(&o[0], &o[0], &inv_c);
      ss_fr_mul(&o[1], &sp[1], &inv_c);
      ss_fr_mul(&o[2], &sp[2], &inv_c);
      if (r + 1 < rp) ss_fr_mul(&o[3], &p->partial_k[r + 1], &inv_c);
      else ss_fr_zero(&o[3]);
      ss_fr_mul(&o[4], &sp[4], &c5[r]);
    }
  }
  free(c);
  free(c5);
  if (ok) p->w3 = w;
  else free(w);
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
  if (ok && t == 3) ok = build_w3(p);
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

#ifdef SS_FR_HAVE_ADX
/* Width 3 (arity 2) on MULX/ADX, four hashes in lockstep. An arity-2 hash spends most of its
 * time in the 55 partial rounds, where a row of three products is too short for fr_dot.h's
 * memory accumulator to pay off (the generic code above reached 1.12x the eager baseline). Here:
 * - the partial rounds are rescaled (build_w3): four products a round instead of five, the s1
 *   update an addition, the next round's constant added inside the row's reduction;
 * - every block keeps its words in registers (fr_adx.h): squarings with the cross products
 *   doubled, rows of three products with one reduction, a product plus an addend;
 * - the S-box runs stage by stage across the lanes, whose products are independent.
 * Every value is fully reduced (< r), so the hashes equal hash_lanes_impl's bit for bit. */
#define W3_LANES 4
/* x = x^5 in every lane, stage by stage: the three products of one lane depend on each other,
 * those of different lanes do not (a lane at a time runs at the products' latency). */
static inline __attribute__((always_inline)) void w3_pow5(ss_fr *x[W3_LANES]) {
  ss_fr x2[W3_LANES], x4[W3_LANES];
  for (int l = 0; l < W3_LANES; l++) ss_fr_sqr_adx(&x2[l], x[l]);
  for (int l = 0; l < W3_LANES; l++) ss_fr_sqr_adx(&x4[l], &x2[l]);
  for (int l = 0; l < W3_LANES; l++) ss_fr_mul_adx(x[l], &x4[l], x[l]);
}

static inline __attribute__((always_inline)) void w3_full_round(const ss_fr *rc, const ss_fr *A, ss_fr s[W3_LANES][3]) {
  for (int i = 0; i < 3; i++)
    for (int l = 0; l < W3_LANES; l++) ss_fr_add_asm(&s[l][i], &s[l][i], &rc[i]);
  for (int i = 0; i < 3; i++) {
    ss_fr *x[W3_LANES];
    for (int l = 0; l < W3_LANES; l++) x[l] = &s[l][i];
    w3_pow5(x);
  }
  if (!A) return;
  ss_fr out[W3_LANES][3];
  for (int i = 0; i < 3; i++)
    for (int l = 0; l < W3_LANES; l++) ss_fr_dot3_adx(&out[l][i], &A[3 * i], s[l]);
  memcpy(s, out, sizeof out);
}

static void hash4_w3_adx(const ss_poseidon_params *p, const ss_fr *in, ss_fr *out) {
  const int half = p->rf / 2;
  ss_fr s[W3_LANES][3];
  for (int l = 0; l < W3_LANES; l++) {
    s[l][0] = p->tag;
    s[l][1] = in[2 * l];
    s[l][2] = in[2 * l + 1];
  }
  const ss_fr *rc = p->full_rc;
  for (int r = 0; r < half; r++, rc += 3) w3_full_round(rc, r == half - 1 ? &p->w3[W3_PRE] : p->mds, s);
  /* the rescaled partial rounds (build_w3): ŝ0 enters with its round constant added */
  const ss_fr *w = p->w3;
  for (int l = 0; l < W3_LANES; l++) ss_fr_add_asm(&s[l][0], &s[l][0], &w[W3_K0]);
  w += W3_ROUNDS;
  for (int r = 0; r < p->rp; r++, w += W3_STRIDE) {
    /* y = x^5; ŝ0' + K' = A y + W1 s1 + W2 s2 + K'; s1 += y; s2 += V2 y */
    ss_fr *x[W3_LANES];
    for (int l = 0; l < W3_LANES; l++) x[l] = &s[l][0];
    w3_pow5(x);
    ss_fr s0[W3_LANES];
    for (int l = 0; l < W3_LANES; l++) ss_fr_dot3_plus_adx(&s0[l], w, s[l]);
    for (int l = 0; l < W3_LANES; l++) ss_fr_mul_plus_adx(&s[l][2], &w[4], &s[l][0], &s[l][2]);
    for (int l = 0; l < W3_LANES; l++) {
      ss_fr_add_asm(&s[l][1], &s[l][1], &s[l][0]);
      s[l][0] = s0[l];
    }
  }
  for (int r = 0; r < half - 1; r++, rc += 3) w3_full_round(rc, p->mds, s);
  w3_full_round(rc, NULL, s); /* only s[1] is output: one row of the last MDS */
  for (int l = 0; l < W3_LANES; l++) ss_fr_dot3_adx(&out[l], &p->mds[3], s[l]);
}
#endif

void ss_poseidon_hash4(const ss_poseidon_params *p, const ss_fr *in, ss_fr *out, unsigned simd) {
#ifdef SS_FR_HAVE_ADX
  if ((simd & SS_HW_ADX) && p->w3) {
    hash4_w3_adx(p, in, out);
    return;
  }
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
