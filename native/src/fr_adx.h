/* Montgomery product with MULX/ADCX/ADOX (x86-64 BMI2 + ADX). gcc turns the portable __int128
 * CIOS of fr.h into ~430 instructions; this two-carry-chain form is ~110 and about three times
 * faster, which is what Poseidon (PC2's hot loop) spends its time on. Callers use it only with
 * the SS_HW_ADX feature (cpu.h) enabled; the portable product stays the fallback and the oracle
 * the tests compare against.
 *
 * Same algorithm as fr.h (no-carry CIOS, r < 2^255 so every intermediate fits five words),
 * written as: t += a·b_i (lo words on the OF chain, hi words on the CF chain), then
 * m = t0·(-r⁻¹), t += m·r and drop the zero low word. Registers rotate instead of shifting. */
#ifndef SS_FR_ADX_H
#define SS_FR_ADX_H
#include "fr.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define SS_FR_HAVE_ADX 1

static const uint64_t ss_fr_adx_p[5] = {SS_FR_P0, SS_FR_P1, SS_FR_P2, SS_FR_P3, SS_FR_INV};

/* t += a * b[i]; hi word into t4 */
#define SS_ADX_MULADD(i, t0, t1, t2, t3, t4)  \
  "movq " #i "*8(%[b]), %%rdx\n\t"             \
  "xorl %%eax, %%eax\n\t"                      \
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
  "adcxq %%rax, %%" #t4 "\n\t"                 \
  "adoxq %%rax, %%" #t4 "\n\t"

/* t += m * p with m = t0 * INV; afterwards t0 = 0 and the value is (t1..t4) */
#define SS_ADX_REDUCE(t0, t1, t2, t3, t4)      \
  "movq %%" #t0 ", %%rdx\n\t"                  \
  "imulq 32(%[p]), %%rdx\n\t"                  \
  "xorl %%eax, %%eax\n\t"                      \
  "mulxq 0(%[p]), %%rcx, %%rbx\n\t"            \
  "adcxq %%rcx, %%" #t0 "\n\t"                 \
  "adoxq %%rbx, %%" #t1 "\n\t"                 \
  "mulxq 8(%[p]), %%rcx, %%rbx\n\t"            \
  "adcxq %%rcx, %%" #t1 "\n\t"                 \
  "adoxq %%rbx, %%" #t2 "\n\t"                 \
  "mulxq 16(%[p]), %%rcx, %%rbx\n\t"           \
  "adcxq %%rcx, %%" #t2 "\n\t"                 \
  "adoxq %%rbx, %%" #t3 "\n\t"                 \
  "mulxq 24(%[p]), %%rcx, %%rbx\n\t"           \
  "adcxq %%rcx, %%" #t3 "\n\t"                 \
  "adoxq %%rbx, %%" #t4 "\n\t"                 \
  "adcxq %%rax, %%" #t4 "\n\t"

/* r = a * b * 2^-256 mod p, fully reduced. r may alias a or b: all input words are read before
 * the result is stored. */
static inline __attribute__((always_inline)) void ss_fr_mul_adx(ss_fr *r, const ss_fr *a, const ss_fr *b) {
  __asm__(
      /* i = 0: t = a * b0 (t starts at zero) */
      "movq 0(%[b]), %%rdx\n\t"
      "xorl %%eax, %%eax\n\t"
      "mulxq 0(%[a]), %%r8, %%r9\n\t"
      "mulxq 8(%[a]), %%rcx, %%r10\n\t"
      "adcxq %%rcx, %%r9\n\t"
      "mulxq 16(%[a]), %%rcx, %%r11\n\t"
      "adcxq %%rcx, %%r10\n\t"
      "mulxq 24(%[a]), %%rcx, %%r12\n\t"
      "adcxq %%rcx, %%r11\n\t"
      "adcxq %%rax, %%r12\n\t"
      SS_ADX_REDUCE(r8, r9, r10, r11, r12)
      SS_ADX_MULADD(1, r9, r10, r11, r12, r8)
      SS_ADX_REDUCE(r9, r10, r11, r12, r8)
      SS_ADX_MULADD(2, r10, r11, r12, r8, r9)
      SS_ADX_REDUCE(r10, r11, r12, r8, r9)
      SS_ADX_MULADD(3, r11, r12, r8, r9, r10)
      SS_ADX_REDUCE(r11, r12, r8, r9, r10)
      /* t = (r12, r8, r9, r10) < 2p: subtract p, keep t when that borrows */
      "movq %%r12, %%rax\n\t"
      "movq %%r8, %%rbx\n\t"
      "movq %%r9, %%rcx\n\t"
      "movq %%r10, %%rdx\n\t"
      "subq 0(%[p]), %%rax\n\t"
      "sbbq 8(%[p]), %%rbx\n\t"
      "sbbq 16(%[p]), %%rcx\n\t"
      "sbbq 24(%[p]), %%rdx\n\t"
      "cmovcq %%r12, %%rax\n\t"
      "cmovcq %%r8, %%rbx\n\t"
      "cmovcq %%r9, %%rcx\n\t"
      "cmovcq %%r10, %%rdx\n\t"
      "movq %%rax, 0(%[r])\n\t"
      "movq %%rbx, 8(%[r])\n\t"
      "movq %%rcx, 16(%[r])\n\t"
      "movq %%rdx, 24(%[r])\n\t"
      : "=m"(*r)
      : [a] "r"(a->l), [b] "r"(b->l), [p] "r"(ss_fr_adx_p), [r] "r"(r->l), "m"(*a), "m"(*b)
      : "rax", "rbx", "rcx", "rdx", "r8", "r9", "r10", "r11", "r12", "cc");
}

static inline __attribute__((always_inline)) void ss_fr_pow5_adx(ss_fr *r, const ss_fr *a) {
  ss_fr a2, a4;
  ss_fr_mul_adx(&a2, a, a);
  ss_fr_mul_adx(&a4, &a2, &a2);
  ss_fr_mul_adx(r, &a4, a);
}
#endif

#endif
