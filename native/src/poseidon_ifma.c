/* Poseidon on AVX-512 IFMA: eight independent hashes at once, one per 64-bit lane.
 *
 * Field elements are five 52-bit limbs (radix 2^52) in Montgomery form with R' = 2^260, one
 * __m512i per limb holding that limb of the eight lanes. VPMADD52LUQ/HUQ add the low/high 52 bits
 * of a 52x52-bit product to a 64-bit accumulator, so a product is 25 + 25 of them into ten column
 * accumulators and a Montgomery reduction is five rounds of "m = T_i * (-1/r) mod 2^52,
 * T += m * r * 2^(52 i)".
 *
 * Lazy reduction: because r < 2^255 is far below R' = 2^260 (r / R' < 2^-5.1), values stay in
 * [0, 2r) without a final subtraction after each product, and a dot product of up to 17 terms
 * (constants < r, state < 2r) is accumulated unreduced in the 64-bit columns and reduced once:
 * REDC(sum) < sum / R' + r < r (1 + 2 * 17 * 2^-5.1) < 2r. Sums before an S-box (state + round
 * constant < 3r) are fine as factors too (REDC(9 r^2) < 1.3 r). Only the running columns of the
 * sparse partial rounds, s_j += v_j s_0, need a conditional subtraction of 2r per round.
 *
 * The constants are the optimised form's (poseidon_opt.c), converted once per parameter set to
 * this representation by plain C (ss_poseidon_ifma_build); only ss_poseidon_hash8_ifma needs the
 * CPU feature. Arity 1..16 (t <= 17, the bound above); wider arities use the scalar code. */
#include <stdlib.h>
#include <string.h>
#include "poseidon.h"

#define MASK52 ((1ULL << 52) - 1)

/* 4 x 64-bit little-endian limbs (an integer < 2^256) -> 5 x 52-bit limbs. */
static void to52(const uint64_t w[4], uint64_t l[5]) {
  l[0] = w[0] & MASK52;
  l[1] = ((w[0] >> 52) | (w[1] << 12)) & MASK52;
  l[2] = ((w[1] >> 40) | (w[2] << 24)) & MASK52;
  l[3] = ((w[2] >> 28) | (w[3] << 36)) & MASK52;
  l[4] = w[3] >> 16;
}

/* 5 x 52-bit limbs (value < 2^256) -> 4 x 64-bit limbs. */
static inline void from52(const uint64_t l[5], uint64_t w[4]) {
  w[0] = l[0] | (l[1] << 52);
  w[1] = (l[1] >> 12) | (l[2] << 40);
  w[2] = (l[2] >> 24) | (l[3] << 28);
  w[3] = (l[3] >> 36) | (l[4] << 16);
}

/* A constant of the optimised form (Montgomery R = 2^256) in this form: c R' = 16 (c R) mod r. */
static void convert(const ss_fr *mont256, ss_fr52 *out) {
  ss_fr v = *mont256;
  for (int i = 0; i < 4; i++) ss_fr_add(&v, &v, &v); /* modular doubling, any representation */
  to52(v.l, out->l);
}

static ss_fr52 *convert_all(const ss_fr *src, size_t n) {
  ss_fr52 *out = malloc(n * sizeof *out);
  if (out)
    for (size_t i = 0; i < n; i++) convert(&src[i], &out[i]);
  return out;
}

bool ss_poseidon_ifma_build(ss_poseidon_params *p) {
  const int t = p->t;
  if (t > SS_POSEIDON_IFMA_MAX_WIDTH) return true; /* not used for this arity */
  ss_poseidon_ifma *f = calloc(1, sizeof *f);
  if (!f) return false;
  p->ifma = f;
  convert(&p->tag, &f->tag);
  f->full_rc = convert_all(p->full_rc, (size_t)p->rf * t);
  f->mds = convert_all(p->mds, (size_t)t * t);
  f->pre_sparse = convert_all(p->pre_sparse, (size_t)t * t);
  f->partial_k = convert_all(p->partial_k, (size_t)p->rp);
  f->sparse = convert_all(p->sparse, (size_t)p->rp * (2 * t - 1));
  if (!f->full_rc || !f->mds || !f->pre_sparse || !f->partial_k || !f->sparse) return false;
  /* R'^2 mod r, to enter the form: 2^520 by modular doubling of 1 */
  ss_fr two = {{1, 0, 0, 0}};
  for (int i = 0; i < 520; i++) ss_fr_add(&two, &two, &two);
  to52(two.l, f->r2.l);
  return true;
}

void ss_poseidon_ifma_free(ss_poseidon_ifma *f) {
  if (!f) return;
  free(f->full_rc);
  free(f->mds);
  free(f->pre_sparse);
  free(f->partial_k);
  free(f->sparse);
  free(f);
}

#if defined(__x86_64__)
#include <immintrin.h>

#define IFMA_FN __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx512ifma")))
#define IFMA_INLINE static inline __attribute__((always_inline, target("avx512f,avx512vl,avx512bw,avx512dq,avx512ifma")))

typedef struct {
  __m512i v[5];
} f8; /* eight lanes of one field element, limbs normalised (< 2^52) */

/* r, 2r and -1/r mod 2^52 in radix 2^52 */
static const uint64_t R52[5] = {0xfffff00000001ULL, 0x02fffe5bfefffULL, 0x9a1d80553bda4ULL, 0x7d483339d8080ULL, 0x73eda753299dULL};
static const uint64_t TWO_R52[5] = {0xffffe00000002ULL, 0x05fffcb7fdfffULL, 0x343b00aa77b48ULL, 0xfa906673b0101ULL, 0xe7db4ea6533aULL};
#define RINV52 (SS_FR_INV & MASK52)

#define MADDLO(acc, a, b) _mm512_madd52lo_epu64((acc), (a), (b))
#define MADDHI(acc, a, b) _mm512_madd52hi_epu64((acc), (a), (b))

IFMA_INLINE void clear10(__m512i T[10]) {
  for (int k = 0; k < 10; k++) T[k] = _mm512_setzero_si512();
}

/* T += a * b (both vectors) */
IFMA_INLINE void acc_mul(__m512i T[10], const f8 *a, const f8 *b) {
  for (int i = 0; i < 5; i++)
    for (int j = 0; j < 5; j++) {
      T[i + j] = MADDLO(T[i + j], a->v[i], b->v[j]);
      T[i + j + 1] = MADDHI(T[i + j + 1], a->v[i], b->v[j]);
    }
}

/* T += c * b (c a constant, the same in every lane) */
IFMA_INLINE void acc_mulc(__m512i T[10], const ss_fr52 *c, const f8 *b) {
  for (int i = 0; i < 5; i++) {
    const __m512i ci = _mm512_set1_epi64((long long)c->l[i]);
    for (int j = 0; j < 5; j++) {
      T[i + j] = MADDLO(T[i + j], ci, b->v[j]);
      T[i + j + 1] = MADDHI(T[i + j + 1], ci, b->v[j]);
    }
  }
}

/* out = T / R' mod r, in [0, 2r) for the sums used here, limbs normalised. */
IFMA_INLINE void redc(__m512i T[10], f8 *out) {
  const __m512i rinv = _mm512_set1_epi64((long long)RINV52);
  const __m512i mask = _mm512_set1_epi64((long long)MASK52);
  for (int i = 0; i < 5; i++) {
    const __m512i m = MADDLO(_mm512_setzero_si512(), T[i], rinv);
    for (int k = 0; k < 5; k++) {
      const __m512i rk = _mm512_set1_epi64((long long)R52[k]);
      T[i + k] = MADDLO(T[i + k], m, rk);
      T[i + k + 1] = MADDHI(T[i + k + 1], m, rk);
    }
    T[i + 1] = _mm512_add_epi64(T[i + 1], _mm512_srli_epi64(T[i], 52));
  }
  __m512i c = T[5];
  for (int k = 0; k < 4; k++) {
    out->v[k] = _mm512_and_si512(c, mask);
    c = _mm512_add_epi64(T[6 + k], _mm512_srli_epi64(c, 52));
  }
  out->v[4] = c;
}

IFMA_INLINE void mul(f8 *out, const f8 *a, const f8 *b) {
  __m512i T[10];
  clear10(T);
  acc_mul(T, a, b);
  redc(T, out);
}

IFMA_INLINE void mulc(f8 *out, const ss_fr52 *c, const f8 *b) {
  __m512i T[10];
  clear10(T);
  acc_mulc(T, c, b);
  redc(T, out);
}

/* out = sum c[j] * s[j], j < n, reduced once */
IFMA_INLINE void dotc(f8 *out, const ss_fr52 *c, const f8 *s, int n) {
  __m512i T[10];
  clear10(T);
  for (int j = 0; j < n; j++) acc_mulc(T, &c[j], &s[j]);
  redc(T, out);
}

/* a normalised sum (no reduction) */
IFMA_INLINE void add_norm(f8 *out, const f8 *a, const __m512i b[5]) {
  const __m512i mask = _mm512_set1_epi64((long long)MASK52);
  __m512i c = _mm512_add_epi64(a->v[0], b[0]);
  for (int k = 0; k < 4; k++) {
    out->v[k] = _mm512_and_si512(c, mask);
    c = _mm512_add_epi64(_mm512_add_epi64(a->v[k + 1], b[k + 1]), _mm512_srli_epi64(c, 52));
  }
  out->v[4] = c;
}

IFMA_INLINE void addc(f8 *out, const f8 *a, const ss_fr52 *c) {
  __m512i b[5];
  for (int k = 0; k < 5; k++) b[k] = _mm512_set1_epi64((long long)c->l[k]);
  add_norm(out, a, b);
}

/* x = x - m if x >= m (m a constant < 2^256 given as limbs), for x < 2^257 normalised */
IFMA_INLINE void cond_sub(f8 *x, const uint64_t m[5]) {
  const __m512i mask = _mm512_set1_epi64((long long)MASK52);
  __m512i d[5];
  __m512i borrow = _mm512_setzero_si512();
  for (int k = 0; k < 5; k++) {
    __m512i v = _mm512_add_epi64(_mm512_sub_epi64(x->v[k], _mm512_set1_epi64((long long)m[k])), borrow);
    borrow = _mm512_srai_epi64(v, 52); /* -1 on borrow (v in (-2^52, 2^52)) */
    d[k] = k < 4 ? _mm512_and_si512(v, mask) : v;
  }
  const __mmask8 keep = _mm512_movepi64_mask(d[4]); /* sign set: x < m, keep x */
  for (int k = 0; k < 5; k++) x->v[k] = _mm512_mask_blend_epi64(keep, d[k], x->v[k]);
}

IFMA_INLINE void pow5(f8 *x) {
  f8 x2, x4;
  mul(&x2, x, x);
  mul(&x4, &x2, &x2);
  mul(x, &x4, x);
}

/* Loads element j of the eight lanes (canonical LE bytes, < r) as limbs. */
IFMA_INLINE void load8(f8 *out, const uint8_t *const *lanes) {
  uint64_t l[5][8] __attribute__((aligned(64)));
  for (int lane = 0; lane < 8; lane++) {
    uint64_t w[4], t[5];
    memcpy(w, lanes[lane], 32);
    to52(w, t);
    for (int k = 0; k < 5; k++) l[k][lane] = t[k];
  }
  for (int k = 0; k < 5; k++) out->v[k] = _mm512_load_si512((const void *)l[k]);
}

IFMA_FN void ss_poseidon_hash8_ifma(const ss_poseidon_params *p, const uint8_t *const *in, uint8_t *const *out) {
  const ss_poseidon_ifma *f = p->ifma;
  const int t = p->t, n = t - 1, half = p->rf / 2;
  f8 s[SS_POSEIDON_IFMA_MAX_WIDTH], tmp[SS_POSEIDON_IFMA_MAX_WIDTH];
  for (int k = 0; k < 5; k++) s[0].v[k] = _mm512_set1_epi64((long long)f->tag.l[k]);
  for (int j = 0; j < n; j++) {
    const uint8_t *lanes[8];
    for (int lane = 0; lane < 8; lane++) lanes[lane] = in[lane * n + j];
    f8 raw;
    load8(&raw, lanes);
    mulc(&s[1 + j], &f->r2, &raw); /* enter the form: x R'^2 / R' */
  }
  const ss_fr52 *rc = f->full_rc;
  for (int r = 0; r < half; r++, rc += t) {
    for (int i = 0; i < t; i++) {
      addc(&s[i], &s[i], &rc[i]);
      pow5(&s[i]);
    }
    const ss_fr52 *m = r == half - 1 ? f->pre_sparse : f->mds;
    for (int i = 0; i < t; i++) dotc(&tmp[i], &m[i * t], s, t);
    memcpy(s, tmp, (size_t)t * sizeof(f8));
  }
  const ss_fr52 *sp = f->sparse;
  for (int r = 0; r < p->rp; r++, sp += 2 * t - 1) {
    addc(&s[0], &s[0], &f->partial_k[r]);
    pow5(&s[0]);
    /* s0' = m00 s0 + sum w_j s_j ; s_j' = s_j + v_j s0 */
    f8 s0;
    dotc(&s0, sp, s, t);
    for (int j = 1; j <= n; j++) {
      f8 prod;
      mulc(&prod, &sp[n + j], &s[0]);
      add_norm(&s[j], &s[j], prod.v);
      cond_sub(&s[j], TWO_R52);
    }
    s[0] = s0;
  }
  for (int r = 0; r < half; r++, rc += t) {
    for (int i = 0; i < t; i++) {
      addc(&s[i], &s[i], &rc[i]);
      pow5(&s[i]);
    }
    if (r < half - 1) {
      for (int i = 0; i < t; i++) dotc(&tmp[i], &f->mds[i * t], s, t);
      memcpy(s, tmp, (size_t)t * sizeof(f8));
    }
  }
  /* only s[1] is output: one row of the last MDS, then leave the form (x / R') and reduce */
  f8 o;
  dotc(&o, &f->mds[t], s, t);
  __m512i T[10];
  clear10(T);
  for (int k = 0; k < 5; k++) T[k] = o.v[k];
  redc(T, &o);
  cond_sub(&o, R52);
  uint64_t l[5][8] __attribute__((aligned(64)));
  for (int k = 0; k < 5; k++) _mm512_store_si512((void *)l[k], o.v[k]);
  for (int lane = 0; lane < 8; lane++) {
    uint64_t t5[5] = {l[0][lane], l[1][lane], l[2][lane], l[3][lane], l[4][lane]}, w[4];
    from52(t5, w);
    memcpy(out[lane], w, 32);
  }
}
#endif
