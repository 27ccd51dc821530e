/* Dot products in BLS12-381 Fr with one Montgomery reduction (lazy reduction). The products
 * c_j * s_j (each < r^2 < 2^510) are summed unreduced in nine 64-bit limbs, then reduced once:
 * REDC of the sum (four rounds of m = T_0 (-1/r), T += m r, drop a limb) leaves a value below
 * (0.45 n + 1) r < 2^260 for n <= 64 terms, which a table step brings below 2r and one
 * conditional subtraction below r. A full product costs about as much again in its reduction
 * as in its multiplication, so a row of n products pays n - 1 reductions less.
 *
 * Two accumulators with the same results: portable C (unsigned __int128) and MULX/ADX
 * (SS_HW_ADX callers only, see fr_adx.h). */
#ifndef SS_FR_DOT_H
#define SS_FR_DOT_H
#include <string.h>
#include "fr.h"
#include "fr_adx.h"

typedef struct {
  uint64_t w[9];
} ss_fr_wide;

/* k r for k = 0..35, five limbs, and q(i) = floor(i 2^252 / r) = (i 565) >> 12 for i < 256 */
static const uint64_t ss_fr_kr[36][5] = {
    {0x0000000000000000ULL, 0x0000000000000000ULL, 0x0000000000000000ULL, 0x0000000000000000ULL, 0x0000000000000000ULL},
    {0xffffffff00000001ULL, 0x53bda402fffe5bfeULL, 0x3339d80809a1d805ULL, 0x73eda753299d7d48ULL, 0x0000000000000000ULL},
    {0xfffffffe00000002ULL, 0xa77b4805fffcb7fdULL, 0x6673b0101343b00aULL, 0xe7db4ea6533afa90ULL, 0x0000000000000000ULL},
    {0xfffffffd00000003ULL, 0xfb38ec08fffb13fcULL, 0x99ad88181ce5880fULL, 0x5bc8f5f97cd877d8ULL, 0x0000000000000001ULL},
    {0xfffffffc00000004ULL, 0x4ef6900bfff96ffbULL, 0xcce7602026876015ULL, 0xcfb69d4ca675f520ULL, 0x0000000000000001ULL},
    {0xfffffffb00000005ULL, 0xa2b4340efff7cbfaULL, 0x002138283029381aULL, 0x43a4449fd0137269ULL, 0x0000000000000002ULL},
    {0xfffffffa00000006ULL, 0xf671d811fff627f9ULL, 0x335b103039cb101fULL, 0xb791ebf2f9b0efb1ULL, 0x0000000000000002ULL},
    {0xfffffff900000007ULL, 0x4a2f7c14fff483f8ULL, 0x6694e838436ce825ULL, 0x2b7f9346234e6cf9ULL, 0x0000000000000003ULL},
    {0xfffffff800000008ULL, 0x9ded2017fff2dff7ULL, 0x99cec0404d0ec02aULL, 0x9f6d3a994cebea41ULL, 0x0000000000000003ULL},
    {0xfffffff700000009ULL, 0xf1aac41afff13bf6ULL, 0xcd08984856b0982fULL, 0x135ae1ec76896789ULL, 0x0000000000000004ULL},
    {0xfffffff60000000aULL, 0x4568681dffef97f5ULL, 0x0042705060527035ULL, 0x8748893fa026e4d2ULL, 0x0000000000000004ULL},
    {0xfffffff50000000bULL, 0x99260c20ffedf3f4ULL, 0x337c485869f4483aULL, 0xfb363092c9c4621aULL, 0x0000000000000004ULL},
    {0xfffffff40000000cULL, 0xece3b023ffec4ff3ULL, 0x66b620607396203fULL, 0x6f23d7e5f361df62ULL, 0x0000000000000005ULL},
    {0xfffffff30000000dULL, 0x40a15426ffeaabf2ULL, 0x99eff8687d37f845ULL, 0xe3117f391cff5caaULL, 0x0000000000000005ULL},
    {0xfffffff20000000eULL, 0x945ef829ffe907f1ULL, 0xcd29d07086d9d04aULL, 0x56ff268c469cd9f2ULL, 0x0000000000000006ULL},
    {0xfffffff10000000fULL, 0xe81c9c2cffe763f0ULL, 0x0063a878907ba84fULL, 0xcaeccddf703a573bULL, 0x0000000000000006ULL},
    {0xfffffff000000010ULL, 0x3bda402fffe5bfefULL, 0x339d80809a1d8055ULL, 0x3eda753299d7d483ULL, 0x0000000000000007ULL},
    {0xffffffef00000011ULL, 0x8f97e432ffe41beeULL, 0x66d75888a3bf585aULL, 0xb2c81c85c37551cbULL, 0x0000000000000007ULL},
    {0xffffffee00000012ULL, 0xe3558835ffe277edULL, 0x9a113090ad61305fULL, 0x26b5c3d8ed12cf13ULL, 0x0000000000000008ULL},
    {0xffffffed00000013ULL, 0x37132c38ffe0d3ecULL, 0xcd4b0898b7030865ULL, 0x9aa36b2c16b04c5bULL, 0x0000000000000008ULL},
    {0xffffffec00000014ULL, 0x8ad0d03bffdf2febULL, 0x0084e0a0c0a4e06aULL, 0x0e91127f404dc9a4ULL, 0x0000000000000009ULL},
    {0xffffffeb00000015ULL, 0xde8e743effdd8beaULL, 0x33beb8a8ca46b86fULL, 0x827eb9d269eb46ecULL, 0x0000000000000009ULL},
    {0xffffffea00000016ULL, 0x324c1841ffdbe7e9ULL, 0x66f890b0d3e89075ULL, 0xf66c61259388c434ULL, 0x0000000000000009ULL},
    {0xffffffe900000017ULL, 0x8609bc44ffda43e8ULL, 0x9a3268b8dd8a687aULL, 0x6a5a0878bd26417cULL, 0x000000000000000aULL},
    {0xffffffe800000018ULL, 0xd9c76047ffd89fe7ULL, 0xcd6c40c0e72c407fULL, 0xde47afcbe6c3bec4ULL, 0x000000000000000aULL},
    {0xffffffe700000019ULL, 0x2d85044affd6fbe6ULL, 0x00a618c8f0ce1885ULL, 0x5235571f10613c0dULL, 0x000000000000000bULL},
    {0xffffffe60000001aULL, 0x8142a84dffd557e5ULL, 0x33dff0d0fa6ff08aULL, 0xc622fe7239feb955ULL, 0x000000000000000bULL},
    {0xffffffe50000001bULL, 0xd5004c50ffd3b3e4ULL, 0x6719c8d90411c88fULL, 0x3a10a5c5639c369dULL, 0x000000000000000cULL},
    {0xffffffe40000001cULL, 0x28bdf053ffd20fe3ULL, 0x9a53a0e10db3a095ULL, 0xadfe4d188d39b3e5ULL, 0x000000000000000cULL},
    {0xffffffe30000001dULL, 0x7c7b9456ffd06be2ULL, 0xcd8d78e91755789aULL, 0x21ebf46bb6d7312dULL, 0x000000000000000dULL},
    {0xffffffe20000001eULL, 0xd0393859ffcec7e1ULL, 0x00c750f120f7509fULL, 0x95d99bbee074ae76ULL, 0x000000000000000dULL},
    {0xffffffe10000001fULL, 0x23f6dc5cffcd23e0ULL, 0x340128f92a9928a5ULL, 0x09c743120a122bbeULL, 0x000000000000000eULL},
    {0xffffffe000000020ULL, 0x77b4805fffcb7fdfULL, 0x673b0101343b00aaULL, 0x7db4ea6533afa906ULL, 0x000000000000000eULL},
    {0xffffffdf00000021ULL, 0xcb722462ffc9dbdeULL, 0x9a74d9093ddcd8afULL, 0xf1a291b85d4d264eULL, 0x000000000000000eULL},
    {0xffffffde00000022ULL, 0x1f2fc865ffc837ddULL, 0xcdaeb111477eb0b5ULL, 0x6590390b86eaa396ULL, 0x000000000000000fULL},
    {0xffffffdd00000023ULL, 0x72ed6c68ffc693dcULL, 0x00e88919512088baULL, 0xd97de05eb08820dfULL, 0x000000000000000fULL},};

static inline void ss_fr_wide_zero(ss_fr_wide *acc) { memset(acc->w, 0, sizeof acc->w); }

/* acc += a * b (portable) */
static inline __attribute__((always_inline)) void ss_fr_wide_muladd(ss_fr_wide *acc, const ss_fr *a, const ss_fr *b) {
  for (int i = 0; i < 4; i++) {
    ss_u128 c = 0;
    for (int k = 0; k < 4; k++) {
      c += (ss_u128)a->l[k] * b->l[i] + acc->w[i + k];
      acc->w[i + k] = (uint64_t)c;
      c >>= 64;
    }
    for (int k = i + 4; k < 9 && c; k++) {
      c += acc->w[k];
      acc->w[k] = (uint64_t)c;
      c >>= 64;
    }
  }
}

#ifdef SS_FR_HAVE_ADX
static const uint64_t ss_fr_wide_zero64 = 0;
/* r, -1/r mod 2^64 and a zero, for the assembly */
static const uint64_t ss_fr_wide_p[6] = {SS_FR_P0, SS_FR_P1, SS_FR_P2, SS_FR_P3, SS_FR_INV, 0};

/* t += a * b[i] as in SS_ADX_MULADD, with a memory zero (no register to spare) and the flags
 * cleared by TEST */
#define SS_WIDE_ROW(i, t0, t1, t2, t3, t4)     \
  "movq " #i "*8(%[b]), %%rdx\n\t"             \
  "testq %%rdx, %%rdx\n\t"                     \
  "mulxq 0(%[a]), %%rcx, %%rbx\n\t"            \
  "adoxq %%rcx, %%" #t0 "\n\t"                 \
  "adcxq %%rbx, %%" #t1 "\n\t"                 \
  "mulxq 8(%[a]), %%rcx, %%rbx\n\t"            \
  "adoxq %%rcx, %%" #t1 "\n\t"                 \
  "adcxq %%rbx, %%" #t2 "\n\t"                 \
  "mulxq 16(%[a]), %%rcx, %%rbx\n\t"           \
  "adoxq %%rcx, %%" #t2 "\n\t"                 \
  "adcxq %%rbx, %%" #t3 "\n\t"                 \
  "mulxq 24(%[a]), %%rcx, %%" #t4 "\n\t"       \
  "adoxq %%rcx, %%" #t3 "\n\t"                 \
  "adcxq %[zero], %%" #t4 "\n\t"               \
  "adoxq %[zero], %%" #t4 "\n\t"

/* acc += a * b (MULX/ADX): the 8-limb product in registers, then added into acc */
static inline __attribute__((always_inline)) void ss_fr_wide_muladd_adx(ss_fr_wide *acc, const ss_fr *a, const ss_fr *b) {
  __asm__(
      "movq 0(%[b]), %%rdx\n\t"
      "testq %%rdx, %%rdx\n\t"
      "mulxq 0(%[a]), %%r8, %%r9\n\t"
      "mulxq 8(%[a]), %%rcx, %%r10\n\t"
      "adcxq %%rcx, %%r9\n\t"
      "mulxq 16(%[a]), %%rcx, %%r11\n\t"
      "adcxq %%rcx, %%r10\n\t"
      "mulxq 24(%[a]), %%rcx, %%r12\n\t"
      "adcxq %%rcx, %%r11\n\t"
      "adcxq %[zero], %%r12\n\t"
      SS_WIDE_ROW(1, r9, r10, r11, r12, r13)
      SS_WIDE_ROW(2, r10, r11, r12, r13, r14)
      SS_WIDE_ROW(3, r11, r12, r13, r14, r15)
      "addq %%r8, 0(%[acc])\n\t"
      "adcq %%r9, 8(%[acc])\n\t"
      "adcq %%r10, 16(%[acc])\n\t"
      "adcq %%r11, 24(%[acc])\n\t"
      "adcq %%r12, 32(%[acc])\n\t"
      "adcq %%r13, 40(%[acc])\n\t"
      "adcq %%r14, 48(%[acc])\n\t"
      "adcq %%r15, 56(%[acc])\n\t"
      "adcq $0, 64(%[acc])\n\t"
      : "+m"(*acc)
      : [a] "r"(a->l), [b] "r"(b->l), [acc] "r"(acc->w), [zero] "m"(ss_fr_wide_zero64), "m"(*a), "m"(*b)
      : "rbx", "rcx", "rdx", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "cc");
}
#endif

/* Four rounds of Montgomery reduction of acc (a sum of at most 64 products of values < r):
 * t[0..5) = acc / 2^256 mod r, a value below (0.45 n + 1) r < 2^260. */
static inline __attribute__((always_inline)) void ss_fr_wide_redc(uint64_t t5[5], const ss_fr_wide *acc) {
  static const uint64_t P[4] = {SS_FR_P0, SS_FR_P1, SS_FR_P2, SS_FR_P3};
  uint64_t t[9];
  memcpy(t, acc->w, sizeof t);
  for (int i = 0; i < 4; i++) {
    const uint64_t m = t[i] * SS_FR_INV;
    ss_u128 c = 0;
    for (int k = 0; k < 4; k++) {
      c += (ss_u128)m * P[k] + t[i + k];
      t[i + k] = (uint64_t)c;
      c >>= 64;
    }
    for (int k = i + 4; k < 9; k++) {
      c += t[k];
      t[k] = (uint64_t)c;
      c >>= 64;
    }
  }
  memcpy(t5, t + 4, 5 * sizeof(uint64_t));
}

#ifdef SS_FR_HAVE_ADX
/* one reduction round i: t += m r 2^(64 i), m = t_i (-1/r), carries rippled to the top limb */
#define SS_WIDE_REDC_ROW(t0, t1, t2, t3, t4)    \
  "movq %%" #t0 ", %%rdx\n\t"                  \
  "imulq 32(%[p]), %%rdx\n\t"                  \
  "testq %%rdx, %%rdx\n\t"                     \
  "mulxq 0(%[p]), %%rax, %%rcx\n\t"            \
  "adoxq %%rax, %%" #t0 "\n\t"                 \
  "adcxq %%rcx, %%" #t1 "\n\t"                 \
  "mulxq 8(%[p]), %%rax, %%rcx\n\t"            \
  "adoxq %%rax, %%" #t1 "\n\t"                 \
  "adcxq %%rcx, %%" #t2 "\n\t"                 \
  "mulxq 16(%[p]), %%rax, %%rcx\n\t"           \
  "adoxq %%rax, %%" #t2 "\n\t"                 \
  "adcxq %%rcx, %%" #t3 "\n\t"                 \
  "mulxq 24(%[p]), %%rax, %%rcx\n\t"           \
  "adoxq %%rax, %%" #t3 "\n\t"                 \
  "adcxq %%rcx, %%" #t4 "\n\t"

/* the same as ss_fr_wide_redc, with MULX/ADX, in place: the result replaces acc->w[0..5) (no
 * register is left for a third pointer) */
static inline __attribute__((always_inline)) void ss_fr_wide_redc_adx(ss_fr_wide *acc) {
  __asm__(
      "movq 0(%[acc]), %%r8\n\t"
      "movq 8(%[acc]), %%r9\n\t"
      "movq 16(%[acc]), %%r10\n\t"
      "movq 24(%[acc]), %%r11\n\t"
      "movq 32(%[acc]), %%r12\n\t"
      "movq 40(%[acc]), %%r13\n\t"
      "movq 48(%[acc]), %%r14\n\t"
      "movq 56(%[acc]), %%r15\n\t"
      "movq 64(%[acc]), %%rbx\n\t"
      SS_WIDE_REDC_ROW(r8, r9, r10, r11, r12)
      "adoxq 40(%[p]), %%r12\n\t"
      "adcxq 40(%[p]), %%r13\n\t"
      "adoxq 40(%[p]), %%r13\n\t"
      "adcxq 40(%[p]), %%r14\n\t"
      "adoxq 40(%[p]), %%r14\n\t"
      "adcxq 40(%[p]), %%r15\n\t"
      "adoxq 40(%[p]), %%r15\n\t"
      "adcxq 40(%[p]), %%rbx\n\t"
      "adoxq 40(%[p]), %%rbx\n\t"
      SS_WIDE_REDC_ROW(r9, r10, r11, r12, r13)
      "adoxq 40(%[p]), %%r13\n\t"
      "adcxq 40(%[p]), %%r14\n\t"
      "adoxq 40(%[p]), %%r14\n\t"
      "adcxq 40(%[p]), %%r15\n\t"
      "adoxq 40(%[p]), %%r15\n\t"
      "adcxq 40(%[p]), %%rbx\n\t"
      "adoxq 40(%[p]), %%rbx\n\t"
      SS_WIDE_REDC_ROW(r10, r11, r12, r13, r14)
      "adoxq 40(%[p]), %%r14\n\t"
      "adcxq 40(%[p]), %%r15\n\t"
      "adoxq 40(%[p]), %%r15\n\t"
      "adcxq 40(%[p]), %%rbx\n\t"
      "adoxq 40(%[p]), %%rbx\n\t"
      SS_WIDE_REDC_ROW(r11, r12, r13, r14, r15)
      "adoxq 40(%[p]), %%r15\n\t"
      "adcxq 40(%[p]), %%rbx\n\t"
      "adoxq 40(%[p]), %%rbx\n\t"
      "movq %%r12, 0(%[acc])\n\t"
      "movq %%r13, 8(%[acc])\n\t"
      "movq %%r14, 16(%[acc])\n\t"
      "movq %%r15, 24(%[acc])\n\t"
      "movq %%rbx, 32(%[acc])\n\t"
      : "+m"(*acc)
      : [acc] "r"(acc->w), [p] "r"(ss_fr_wide_p)
      : "rax", "rbx", "rcx", "rdx", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "cc");
}
#endif

/* out = the value t5 (< 2^260) mod r: subtract q r, q = floor((t5 >> 252) 2^252 / r), which
 * leaves less than 2r, then r once more if needed. */
static inline __attribute__((always_inline)) void ss_fr_wide_final(ss_fr *out, const uint64_t t5[5]) {
  const uint64_t idx = (t5[4] << 4) | (t5[3] >> 60);
  const uint64_t *kr = ss_fr_kr[(idx * 565) >> 12];
  ss_u128 d = (ss_u128)t5[0] - kr[0];
  uint64_t v[4];
  v[0] = (uint64_t)d;
  d = (ss_u128)t5[1] - kr[1] - (uint64_t)(d >> 127);
  v[1] = (uint64_t)d;
  d = (ss_u128)t5[2] - kr[2] - (uint64_t)(d >> 127);
  v[2] = (uint64_t)d;
  d = (ss_u128)t5[3] - kr[3] - (uint64_t)(d >> 127);
  v[3] = (uint64_t)d; /* the fifth limb is now zero */
  ss_fr_reduce_once(v);
  memcpy(out->l, v, sizeof v);
}

/* out = acc / 2^256 mod r, fully reduced (portable). */
static inline __attribute__((always_inline)) void ss_fr_wide_reduce(ss_fr *out, const ss_fr_wide *acc) {
  uint64_t t5[5];
  ss_fr_wide_redc(t5, acc);
  ss_fr_wide_final(out, t5);
}

#ifdef SS_FR_HAVE_ADX
/* out = acc / 2^256 mod r, fully reduced (MULX/ADX); acc is consumed. */
static inline __attribute__((always_inline)) void ss_fr_wide_reduce_adx(ss_fr *out, ss_fr_wide *acc) {
  ss_fr_wide_redc_adx(acc);
  ss_fr_wide_final(out, acc->w);
}
#endif

#endif
