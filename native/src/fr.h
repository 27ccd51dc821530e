/* BLS12-381 scalar field Fr (r = 0x73eda753…00000001, 255 bits) in Montgomery form, four 64-bit
 * little-endian limbs. Not constant time: nothing secret flows through it (Poseidon over public
 * sector data). The hot operations are static inline here because Poseidon calls them in tight
 * loops from another translation unit and the addon is built without LTO.
 *
 * Values are kept fully reduced (< r) after every operation. Because r < 2^255 the Montgomery
 * product can use the "no-carry" CIOS variant (top limb of r < 2^63 - 1), which saves the
 * extra carry word of textbook CIOS. */
#ifndef SS_FR_H
#define SS_FR_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint64_t l[4];
} ss_fr;

typedef unsigned __int128 ss_u128;

#define SS_FR_P0 0xffffffff00000001ULL
#define SS_FR_P1 0x53bda402fffe5bfeULL
#define SS_FR_P2 0x3339d80809a1d805ULL
#define SS_FR_P3 0x73eda753299d7d48ULL
/* -r^{-1} mod 2^64 */
#define SS_FR_INV 0xfffffffeffffffffULL

/* true when a >= r (limbs compared most significant first) */
static inline bool ss_fr_geq_p(const uint64_t a[4]) {
  if (a[3] != SS_FR_P3) return a[3] > SS_FR_P3;
  if (a[2] != SS_FR_P2) return a[2] > SS_FR_P2;
  if (a[1] != SS_FR_P1) return a[1] > SS_FR_P1;
  return a[0] >= SS_FR_P0;
}

/* a -= r (caller knows a >= r) */
static inline void ss_fr_sub_p(uint64_t a[4]) {
  ss_u128 d = (ss_u128)a[0] - SS_FR_P0;
  a[0] = (uint64_t)d;
  d = (ss_u128)a[1] - SS_FR_P1 - (uint64_t)((d >> 64) & 1);
  a[1] = (uint64_t)d;
  d = (ss_u128)a[2] - SS_FR_P2 - (uint64_t)((d >> 64) & 1);
  a[2] = (uint64_t)d;
  a[3] = a[3] - SS_FR_P3 - (uint64_t)((d >> 64) & 1);
}

/* t = t mod p for t < 2p, without a data-dependent branch (the branch would be mispredicted
 * about half the time in Poseidon's additions). */
static inline void ss_fr_reduce_once(uint64_t t[4]) {
  ss_u128 d = (ss_u128)t[0] - SS_FR_P0;
  uint64_t s0 = (uint64_t)d;
  d = (ss_u128)t[1] - SS_FR_P1 - (uint64_t)(d >> 127);
  uint64_t s1 = (uint64_t)d;
  d = (ss_u128)t[2] - SS_FR_P2 - (uint64_t)(d >> 127);
  uint64_t s2 = (uint64_t)d;
  d = (ss_u128)t[3] - SS_FR_P3 - (uint64_t)(d >> 127);
  uint64_t s3 = (uint64_t)d;
  uint64_t keep = (uint64_t)0 - (uint64_t)(d >> 127); /* all ones when t < p */
  t[0] = (t[0] & keep) | (s0 & ~keep);
  t[1] = (t[1] & keep) | (s1 & ~keep);
  t[2] = (t[2] & keep) | (s2 & ~keep);
  t[3] = (t[3] & keep) | (s3 & ~keep);
}

/* r = a + b mod p. Works for Montgomery and canonical values alike (addition is the same). */
static inline __attribute__((always_inline)) void ss_fr_add(ss_fr *r, const ss_fr *a, const ss_fr *b) {
  uint64_t t[4];
  ss_u128 s = (ss_u128)a->l[0] + b->l[0];
  t[0] = (uint64_t)s;
  s = (ss_u128)a->l[1] + b->l[1] + (uint64_t)(s >> 64);
  t[1] = (uint64_t)s;
  s = (ss_u128)a->l[2] + b->l[2] + (uint64_t)(s >> 64);
  t[2] = (uint64_t)s;
  t[3] = a->l[3] + b->l[3] + (uint64_t)(s >> 64); /* < 2^256 since a, b < r < 2^255 */
  ss_fr_reduce_once(t);
  r->l[0] = t[0];
  r->l[1] = t[1];
  r->l[2] = t[2];
  r->l[3] = t[3];
}

/* r = a - b mod p (any representation). */
static inline void ss_fr_sub(ss_fr *r, const ss_fr *a, const ss_fr *b) {
  uint64_t t[4];
  ss_u128 d = (ss_u128)a->l[0] - b->l[0];
  t[0] = (uint64_t)d;
  d = (ss_u128)a->l[1] - b->l[1] - (uint64_t)(d >> 127);
  t[1] = (uint64_t)d;
  d = (ss_u128)a->l[2] - b->l[2] - (uint64_t)(d >> 127);
  t[2] = (uint64_t)d;
  d = (ss_u128)a->l[3] - b->l[3] - (uint64_t)(d >> 127);
  t[3] = (uint64_t)d;
  uint64_t m = (uint64_t)0 - (uint64_t)(d >> 127); /* all ones on borrow: add p back */
  ss_u128 s = (ss_u128)t[0] + (SS_FR_P0 & m);
  t[0] = (uint64_t)s;
  s = (ss_u128)t[1] + (SS_FR_P1 & m) + (uint64_t)(s >> 64);
  t[1] = (uint64_t)s;
  s = (ss_u128)t[2] + (SS_FR_P2 & m) + (uint64_t)(s >> 64);
  t[2] = (uint64_t)s;
  t[3] = t[3] + (SS_FR_P3 & m) + (uint64_t)(s >> 64);
  r->l[0] = t[0];
  r->l[1] = t[1];
  r->l[2] = t[2];
  r->l[3] = t[3];
}

/* One CIOS step: t = (t + a*bi + m*p) / 2^64 with m chosen to clear the low word. */
#define SS_FR_CIOS_STEP(bi)                                             \
  do {                                                                  \
    ss_u128 x_;                                                         \
    uint64_t A_, C_, m_, u1_, u2_, u3_;                                 \
    x_ = (ss_u128)a0 * (bi) + t0;                                       \
    t0 = (uint64_t)x_;                                                  \
    A_ = (uint64_t)(x_ >> 64);                                          \
    m_ = t0 * SS_FR_INV;                                                \
    x_ = (ss_u128)m_ * SS_FR_P0 + t0;                                   \
    C_ = (uint64_t)(x_ >> 64);                                          \
    x_ = (ss_u128)a1 * (bi) + t1 + A_;                                  \
    u1_ = (uint64_t)x_;                                                 \
    A_ = (uint64_t)(x_ >> 64);                                          \
    x_ = (ss_u128)m_ * SS_FR_P1 + u1_ + C_;                             \
    t0 = (uint64_t)x_;                                                  \
    C_ = (uint64_t)(x_ >> 64);                                          \
    x_ = (ss_u128)a2 * (bi) + t2 + A_;                                  \
    u2_ = (uint64_t)x_;                                                 \
    A_ = (uint64_t)(x_ >> 64);                                          \
    x_ = (ss_u128)m_ * SS_FR_P2 + u2_ + C_;                             \
    t1 = (uint64_t)x_;                                                  \
    C_ = (uint64_t)(x_ >> 64);                                          \
    x_ = (ss_u128)a3 * (bi) + t3 + A_;                                  \
    u3_ = (uint64_t)x_;                                                 \
    A_ = (uint64_t)(x_ >> 64);                                          \
    x_ = (ss_u128)m_ * SS_FR_P3 + u3_ + C_;                             \
    t2 = (uint64_t)x_;                                                  \
    C_ = (uint64_t)(x_ >> 64);                                          \
    t3 = C_ + A_;                                                       \
  } while (0)

/* r = a * b * 2^-256 mod p (Montgomery product). r may alias a or b. */
static inline __attribute__((always_inline)) void ss_fr_mul(ss_fr *r, const ss_fr *a, const ss_fr *b) {
  const uint64_t a0 = a->l[0], a1 = a->l[1], a2 = a->l[2], a3 = a->l[3];
  const uint64_t b0 = b->l[0], b1 = b->l[1], b2 = b->l[2], b3 = b->l[3];
  uint64_t t0 = 0, t1 = 0, t2 = 0, t3 = 0;
  SS_FR_CIOS_STEP(b0);
  SS_FR_CIOS_STEP(b1);
  SS_FR_CIOS_STEP(b2);
  SS_FR_CIOS_STEP(b3);
  uint64_t t[4] = {t0, t1, t2, t3}; /* < 2p */
  ss_fr_reduce_once(t);
  r->l[0] = t[0];
  r->l[1] = t[1];
  r->l[2] = t[2];
  r->l[3] = t[3];
}

static inline void ss_fr_square(ss_fr *r, const ss_fr *a) { ss_fr_mul(r, a, a); }

/* r = a^5 (the Poseidon S-box): two squarings and a product. */
static inline void ss_fr_pow5(ss_fr *r, const ss_fr *a) {
  ss_fr a2, a4;
  ss_fr_square(&a2, a);
  ss_fr_square(&a4, &a2);
  ss_fr_mul(r, &a4, a);
}

static inline bool ss_fr_is_zero(const ss_fr *a) { return (a->l[0] | a->l[1] | a->l[2] | a->l[3]) == 0; }

static inline bool ss_fr_eq(const ss_fr *a, const ss_fr *b) {
  return a->l[0] == b->l[0] && a->l[1] == b->l[1] && a->l[2] == b->l[2] && a->l[3] == b->l[3];
}

/* Loads 32 LE bytes as a canonical integer (no Montgomery conversion). */
static inline void ss_fr_load_raw(ss_fr *r, const uint8_t b[32]) {
  for (int i = 0; i < 4; i++) {
    uint64_t v = 0;
    for (int j = 7; j >= 0; j--) v = (v << 8) | b[8 * i + j];
    r->l[i] = v;
  }
}

/* Stores a canonical integer as 32 LE bytes. */
static inline void ss_fr_store_raw(uint8_t b[32], const ss_fr *a) {
  for (int i = 0; i < 4; i++) {
    uint64_t v = a->l[i];
    for (int j = 0; j < 8; j++) {
      b[8 * i + j] = (uint8_t)v;
      v >>= 8;
    }
  }
}

/* true when the 32 LE bytes encode an integer < r. */
bool ss_fr_bytes_canonical(const uint8_t b[32]);

/* Canonical LE bytes -> Montgomery form. Returns false (r untouched) when the value is >= r. */
bool ss_fr_from_bytes(ss_fr *r, const uint8_t b[32]);
/* Montgomery form -> canonical LE bytes. */
void ss_fr_to_bytes(uint8_t b[32], const ss_fr *a);
/* Small integer -> Montgomery form. */
void ss_fr_from_u64(ss_fr *r, uint64_t v);
/* Montgomery constants 0 and 1. */
void ss_fr_zero(ss_fr *r);
void ss_fr_one(ss_fr *r);
/* r = a^e for a 256-bit exponent given as four LE limbs. */
void ss_fr_pow(ss_fr *r, const ss_fr *a, const uint64_t e[4]);
/* r = a^-1 (Fermat: a^(p-2)); the inverse of 0 is 0. */
void ss_fr_inv(ss_fr *r, const ss_fr *a);
/* r = -a */
void ss_fr_neg(ss_fr *r, const ss_fr *a);

#endif
