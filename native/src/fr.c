/* BLS12-381 Fr: the non-hot helpers (encoding, exponentiation, inversion). See fr.h. */
#include "fr.h"
#include "fr_adx.h"

/* R = 2^256 mod r (Montgomery one) and R^2 mod r (to enter Montgomery form). */
static const ss_fr FR_R = {{0x00000001fffffffeULL, 0x5884b7fa00034802ULL, 0x998c4fefecbc4ff5ULL, 0x1824b159acc5056fULL}};
static const ss_fr FR_R2 = {{0xc999e990f3f29c6dULL, 0x2b6cedcb87925c23ULL, 0x05d314967254398fULL, 0x0748d9d99f59ff11ULL}};
/* r - 2 (Fermat exponent) */
static const uint64_t FR_P_MINUS_2[4] = {0xfffffffeffffffffULL, SS_FR_P1, SS_FR_P2, SS_FR_P3};

bool ss_fr_bytes_canonical(const uint8_t b[32]) {
  ss_fr v;
  ss_fr_load_raw(&v, b);
  return !ss_fr_geq_p(v.l);
}

bool ss_fr_from_bytes(ss_fr *r, const uint8_t b[32]) {
  ss_fr v;
  ss_fr_load_raw(&v, b);
  if (ss_fr_geq_p(v.l)) return false;
  ss_fr_mul(r, &v, &FR_R2);
  return true;
}

void ss_fr_to_bytes(uint8_t b[32], const ss_fr *a) {
  /* Montgomery product with canonical 1 divides by R: leaves the canonical value */
  static const ss_fr one_raw = {{1, 0, 0, 0}};
  ss_fr v;
  ss_fr_mul(&v, a, &one_raw);
  ss_fr_store_raw(b, &v);
}

void ss_fr_from_u64(ss_fr *r, uint64_t v) {
  ss_fr raw = {{v, 0, 0, 0}};
  ss_fr_mul(r, &raw, &FR_R2);
}

void ss_fr_zero(ss_fr *r) { *r = (ss_fr){{0, 0, 0, 0}}; }

void ss_fr_one(ss_fr *r) { *r = FR_R; }

void ss_fr_pow(ss_fr *r, const ss_fr *a, const uint64_t e[4]) {
  ss_fr acc = FR_R;
  ss_fr base = *a;
  for (int i = 0; i < 4; i++) {
    uint64_t w = e[i];
    for (int bit = 0; bit < 64; bit++) {
      if (w & 1) ss_fr_mul(&acc, &acc, &base);
      ss_fr_square(&base, &base);
      w >>= 1;
    }
  }
  *r = acc;
}

void ss_fr_inv(ss_fr *r, const ss_fr *a) { ss_fr_pow(r, a, FR_P_MINUS_2); }

void ss_fr_neg(ss_fr *r, const ss_fr *a) {
  ss_fr zero = {{0, 0, 0, 0}};
  ss_fr_sub(r, &zero, a);
}

