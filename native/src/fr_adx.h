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

/* The asm below names registers with their %% prefix (SS_R8 = "%%r8", ...) so that a macro can
 * take an operand such as "%[c]" in the place of a register. */
#define SS_R8 "%%r8"
#define SS_R9 "%%r9"
#define SS_R10 "%%r10"
#define SS_R11 "%%r11"
#define SS_R12 "%%r12"
#define SS_R13 "%%r13"
#define SS_R14 "%%r14"
#define SS_R15 "%%r15"

/* One round of Montgomery reduction of a low half: u += m r with m = u0 (-1/r), u0 becomes
 * zero and the value is (u1, u2, u3, u4). u4 is a free register: MULX writes the round's top
 * word into it, so it needs no zeroing. TEST clears CF and OF for the two carry chains. */
#define SS_ADX_REDC_LO(u0, u1, u2, u3, u4)        \
  "movq " u0 ", %%rdx\n\t"                         \
  "imulq %[inv], %%rdx\n\t"                        \
  "testq %%rdx, %%rdx\n\t"                         \
  "mulxq %[p0], %%rax, %%rcx\n\t"                  \
  "adcxq %%rax, " u0 "\n\t"                        \
  "adoxq %%rcx, " u1 "\n\t"                        \
  "mulxq %[p1], %%rax, %%rcx\n\t"                  \
  "adcxq %%rax, " u1 "\n\t"                        \
  "adoxq %%rcx, " u2 "\n\t"                        \
  "mulxq %[p2], %%rax, %%rcx\n\t"                  \
  "adcxq %%rax, " u2 "\n\t"                        \
  "adoxq %%rcx, " u3 "\n\t"                        \
  "mulxq %[p3], %%rax, " u4 "\n\t"                 \
  "adcxq %%rax, " u3 "\n\t"                        \
  "adcxq %[zero], " u4 "\n\t"                      \
  "adoxq %[zero], " u4 "\n\t"

/* REDC of t = (r8..r15) < r 2^256: the low half L = (r8..r11) becomes (L + M r) / 2^256 <= r
 * (four rounds, registers rotating through the free register f), which is added to the high
 * half: r12..r15 = t_hi + that (the carry of the last ADC is the fifth word when t >= r 2^256
 * is possible). */
#define SS_ADX_REDC_LOW_HALF(f)                     \
  SS_ADX_REDC_LO(SS_R8, SS_R9, SS_R10, SS_R11, f)               \
  SS_ADX_REDC_LO(SS_R9, SS_R10, SS_R11, f, SS_R8)               \
  SS_ADX_REDC_LO(SS_R10, SS_R11, f, SS_R8, SS_R9)               \
  SS_ADX_REDC_LO(SS_R11, f, SS_R8, SS_R9, SS_R10)               \
  "addq " f ", %%r12\n\t"                           \
  "adcq %%r8, %%r13\n\t"                            \
  "adcq %%r9, %%r14\n\t"                            \
  "adcq %%r10, %%r15\n\t"

/* (r11 r12 r13 r14 r15) -= k when that does not borrow, for k = (k0, k1, k2, k3) operands; r11
 * is the value's fifth word and is left garbage (the value is then below 2^256). */
#define SS_ADX_CONDSUB(k0, k1, k2, k3)    \
  "movq %%r12, %%rax\n\t"                 \
  "movq %%r13, %%rcx\n\t"                 \
  "movq %%r14, %%rdx\n\t"                 \
  "movq %%r15, %%r8\n\t"                  \
  "subq " k0 ", %%rax\n\t"                \
  "sbbq " k1 ", %%rcx\n\t"                \
  "sbbq " k2 ", %%rdx\n\t"                \
  "sbbq " k3 ", %%r8\n\t"                 \
  "sbbq $0, %%r11\n\t"                    \
  "cmovncq %%rax, %%r12\n\t"              \
  "cmovncq %%rcx, %%r13\n\t"              \
  "cmovncq %%rdx, %%r14\n\t"              \
  "cmovncq %%r8, %%r15\n\t"

static const uint64_t ss_fr_adx_zero = 0;
/* 2r, for the conditional subtractions */
static const uint64_t ss_fr_adx_r2[4] = {0xfffffffe00000002ULL, 0xa77b4805fffcb7fdULL, 0x6673b0101343b00aULL,
                                         0xe7db4ea6533afa90ULL};

#define SS_ADX_CONST_OPERANDS                                                                                  \
  [inv] "m"(ss_fr_adx_p[4]), [p0] "m"(ss_fr_adx_p[0]), [p1] "m"(ss_fr_adx_p[1]), [p2] "m"(ss_fr_adx_p[2]), \
      [p3] "m"(ss_fr_adx_p[3]), [zero] "m"(ss_fr_adx_zero)

/* r = a^2 * 2^-256 mod p, fully reduced; r may alias a. The square's six cross products are
 * computed once and doubled, so the product takes 10 MULX instead of 16; then the low-half REDC
 * (a^2 / 2^256 + r + 1 < 2r: one conditional subtraction). */
static inline __attribute__((always_inline)) void ss_fr_sqr_adx(ss_fr *r, const ss_fr *a) {
  register uint64_t o0 __asm__("r12"), o1 __asm__("r13"), o2 __asm__("r14"), o3 __asm__("r15");
  __asm__(
      /* cross products a_i a_j (i < j) into r9..r14 */
      "movq 0(%[a]), %%rdx\n\t"
      "mulxq 8(%[a]), %%r9, %%r10\n\t"
      "mulxq 16(%[a]), %%rax, %%r11\n\t"
      "addq %%rax, %%r10\n\t"
      "mulxq 24(%[a]), %%rax, %%r12\n\t"
      "adcq %%rax, %%r11\n\t"
      "adcq $0, %%r12\n\t"
      "movq 8(%[a]), %%rdx\n\t"
      "mulxq 16(%[a]), %%rax, %%rcx\n\t"
      "mulxq 24(%[a]), %%rbx, %%r13\n\t"
      "addq %%rbx, %%rcx\n\t"
      "adcq $0, %%r13\n\t"
      "addq %%rax, %%r11\n\t"
      "adcq %%rcx, %%r12\n\t"
      "adcq $0, %%r13\n\t"
      "movq 16(%[a]), %%rdx\n\t"
      "mulxq 24(%[a]), %%rax, %%r14\n\t"
      "addq %%rax, %%r13\n\t"
      "adcq $0, %%r14\n\t"
      /* doubled (CF chain, into r9..r15) and plus the squares a_i^2 (OF chain), the two chains
         interleaved word by word */
      "xorl %%r15d, %%r15d\n\t"
      "movq 0(%[a]), %%rdx\n\t"
      "mulxq %%rdx, %%r8, %%rax\n\t"
      "adcxq %%r9, %%r9\n\t"
      "adoxq %%rax, %%r9\n\t"
      "movq 8(%[a]), %%rdx\n\t"
      "mulxq %%rdx, %%rax, %%rcx\n\t"
      "adcxq %%r10, %%r10\n\t"
      "adoxq %%rax, %%r10\n\t"
      "adcxq %%r11, %%r11\n\t"
      "adoxq %%rcx, %%r11\n\t"
      "movq 16(%[a]), %%rdx\n\t"
      "mulxq %%rdx, %%rax, %%rcx\n\t"
      "adcxq %%r12, %%r12\n\t"
      "adoxq %%rax, %%r12\n\t"
      "adcxq %%r13, %%r13\n\t"
      "adoxq %%rcx, %%r13\n\t"
      "movq 24(%[a]), %%rdx\n\t"
      "mulxq %%rdx, %%rax, %%rcx\n\t"
      "adcxq %%r14, %%r14\n\t"
      "adoxq %%rax, %%r14\n\t"
      "adcxq %%r15, %%r15\n\t"
      "adoxq %%rcx, %%r15\n\t"
      SS_ADX_REDC_LOW_HALF("%%rbx")
      "xorl %%r11d, %%r11d\n\t"
      SS_ADX_CONDSUB("%[p0]", "%[p1]", "%[p2]", "%[p3]")
      : "=&r"(o0), "=&r"(o1), "=&r"(o2), "=&r"(o3)
      : [a] "r"(a->l), SS_ADX_CONST_OPERANDS
      : "rax", "rbx", "rcx", "rdx", "r8", "r9", "r10", "r11", "cc", "memory"); /* "memory": see SS_DOT3_CLOBBERS */
  r->l[0] = o0;
  r->l[1] = o1;
  r->l[2] = o2;
  r->l[3] = o3;
}

/* the three low products of a row (b_i times c's words 0..2) into t0..t3, on the OF and CF
 * chains; SS_DOT_ROW_FIRST and SS_DOT_ROW_ADD differ only in where the top product goes */
#define SS_DOT_ROW_LOW(bi, aoff, t0, t1, t2, t3) \
  "movq " bi ", %%rdx\n\t"                               \
  "testq %%rdx, %%rdx\n\t"                               \
  "mulxq " aoff "+0(%[c]), %%rax, %%rcx\n\t"             \
  "adoxq %%rax, " t0 "\n\t"                              \
  "adcxq %%rcx, " t1 "\n\t"                              \
  "mulxq " aoff "+8(%[c]), %%rax, %%rcx\n\t"             \
  "adoxq %%rax, " t1 "\n\t"                              \
  "adcxq %%rcx, " t2 "\n\t"                              \
  "mulxq " aoff "+16(%[c]), %%rax, %%rcx\n\t"            \
  "adoxq %%rax, " t2 "\n\t"                              \
  "adcxq %%rcx, " t3 "\n\t"

/* Row i of a product accumulated into t: t_i .. t_{i+4} += c_k * b_i, low words on the OF chain,
 * high words on the CF chain. FIRST: t_{i+4} is a fresh register the top word is written to. */
#define SS_DOT_ROW_FIRST(bi, aoff, t0, t1, t2, t3, t4) \
  SS_DOT_ROW_LOW(bi, aoff, t0, t1, t2, t3)                 \
  "mulxq " aoff "+24(%[c]), %%rax, " t4 "\n\t"           \
  "adoxq %%rax, " t3 "\n\t"                              \
  "adcxq %[zero], " t4 "\n\t"                            \
  "adoxq %[zero], " t4 "\n\t"

/* the same into an existing t_{i+4}; both carries out of it are still pending (SS_DOT_RIPPLE
 * carries them up to the top word) */
#define SS_DOT_ROW_ADD(bi, aoff, t0, t1, t2, t3, t4)   \
  SS_DOT_ROW_LOW(bi, aoff, t0, t1, t2, t3)                 \
  "mulxq " aoff "+24(%[c]), %%rax, %%rcx\n\t"            \
  "adoxq %%rax, " t3 "\n\t"                              \
  "adcxq %%rcx, " t4 "\n\t"                              \
  "adoxq %[zero], " t4 "\n\t"
#define SS_DOT_RIPPLE(t)                  \
  "adcxq %[zero], " t "\n\t"              \
  "adoxq %[zero], " t "\n\t"

/* product k >= 1 of a dot product (c at byte offset aoff, s at boff) added into r8..r15 */
#define SS_DOT_PRODUCT_ADD(boff, aoff)                                   \
  SS_DOT_ROW_ADD(boff "+0(%[s])", aoff, SS_R8, SS_R9, SS_R10, SS_R11, SS_R12)           \
  SS_DOT_RIPPLE(SS_R13) SS_DOT_RIPPLE(SS_R14) SS_DOT_RIPPLE(SS_R15)               \
  SS_DOT_ROW_ADD(boff "+8(%[s])", aoff, SS_R9, SS_R10, SS_R11, SS_R12, SS_R13)          \
  SS_DOT_RIPPLE(SS_R14) SS_DOT_RIPPLE(SS_R15)                                  \
  SS_DOT_ROW_ADD(boff "+16(%[s])", aoff, SS_R10, SS_R11, SS_R12, SS_R13, SS_R14)        \
  SS_DOT_RIPPLE(SS_R15)                                                     \
  SS_DOT_ROW_ADD(boff "+24(%[s])", aoff, SS_R11, SS_R12, SS_R13, SS_R14, SS_R15)

/* The body of the dot products below: the three products summed in eight words
 * (< 3 r^2 < 2^512), the low-half REDC (rbx its free register), which leaves less than
 * 3 r^2 / 2^256 + r + 1 < 2.4 r in five words (r11 the fifth), then ADDEND (instructions adding
 * a fully reduced value into those five words, or nothing: at most 3.4 r), then 2r and r
 * subtracted where they fit, which leaves the value below r. */
/* r8..r15 = c[0] * s[0] (eight words) */
#define SS_PRODUCT_FIRST                                                                         \
  "movq 0(%[s]), %%rdx\n\t"                                                                     \
  "mulxq 0(%[c]), %%r8, %%r9\n\t"                                                               \
  "mulxq 8(%[c]), %%rax, %%r10\n\t"                                                             \
  "addq %%rax, %%r9\n\t"                                                                        \
  "mulxq 16(%[c]), %%rax, %%r11\n\t"                                                            \
  "adcq %%rax, %%r10\n\t"                                                                       \
  "mulxq 24(%[c]), %%rax, %%r12\n\t"                                                            \
  "adcq %%rax, %%r11\n\t"                                                                       \
  "adcq $0, %%r12\n\t"                                                                          \
  SS_DOT_ROW_FIRST("8(%[s])", "0", SS_R9, SS_R10, SS_R11, SS_R12, SS_R13)                                      \
  SS_DOT_ROW_FIRST("16(%[s])", "0", SS_R10, SS_R11, SS_R12, SS_R13, SS_R14)                                    \
  SS_DOT_ROW_FIRST("24(%[s])", "0", SS_R11, SS_R12, SS_R13, SS_R14, SS_R15)

/* after SS_ADX_REDC_LOW_HALF: the fifth word, ADDEND, then 2r and r off where they fit */
#define SS_FINISH_BELOW_3R(ADDEND)                                                               \
  "movl $0, %%r11d\n\t"                                                                         \
  "adcq $0, %%r11\n\t"                                                                          \
  ADDEND                                                                                        \
  SS_ADX_CONDSUB("%[q0]", "%[q1]", "%[q2]", "%[q3]")                                            \
  "xorl %%r11d, %%r11d\n\t"                                                                     \
  SS_ADX_CONDSUB("%[p0]", "%[p1]", "%[p2]", "%[p3]")

#define SS_DOT3_BODY(ADDEND)                                                                     \
  SS_PRODUCT_FIRST                                                                              \
  SS_DOT_PRODUCT_ADD("32", "32")                                                                \
  SS_DOT_PRODUCT_ADD("64", "64")                                                                \
  SS_ADX_REDC_LOW_HALF("%%rbx")                                                                 \
  SS_FINISH_BELOW_3R(ADDEND)

#define SS_DOT3_OPERANDS                                                                                       \
  SS_ADX_CONST_OPERANDS, [q0] "m"(ss_fr_adx_r2[0]), [q1] "m"(ss_fr_adx_r2[1]), [q2] "m"(ss_fr_adx_r2[2]), \
      [q3] "m"(ss_fr_adx_r2[3])
/* "memory" rather than c and s as "m" inputs: those would want address registers, and none is
 * left */
#define SS_DOT3_CLOBBERS "rax", "rbx", "rcx", "rdx", "r8", "r9", "r10", "r11", "cc", "memory"

/* r = (c[0] s[0] + c[1] s[1] + c[2] s[2]) * 2^-256 mod p, fully reduced, with one reduction
 * (lazy reduction, see fr_dot.h). c and s are three contiguous elements each; r may alias
 * them. */
static inline __attribute__((always_inline)) void ss_fr_dot3_adx(ss_fr *r, const ss_fr c[3], const ss_fr s[3]) {
  register uint64_t o0 __asm__("r12"), o1 __asm__("r13"), o2 __asm__("r14"), o3 __asm__("r15");
  __asm__(SS_DOT3_BODY("")
          : "=&r"(o0), "=&r"(o1), "=&r"(o2), "=&r"(o3)
          : [c] "r"(c[0].l), [s] "r"(s[0].l), SS_DOT3_OPERANDS
          : SS_DOT3_CLOBBERS);
  r->l[0] = o0;
  r->l[1] = o1;
  r->l[2] = o2;
  r->l[3] = o3;
}

/* r = (c[0] s[0] + c[1] s[1] + c[2] s[2]) * 2^-256 + c[3] mod p: the same with a constant
 * added (REDC(t + k 2^256) = REDC(t) + k), for a Poseidon row followed by a round constant. */
static inline __attribute__((always_inline)) void ss_fr_dot3_plus_adx(ss_fr *r, const ss_fr c[4], const ss_fr s[3]) {
  register uint64_t o0 __asm__("r12"), o1 __asm__("r13"), o2 __asm__("r14"), o3 __asm__("r15");
  __asm__(SS_DOT3_BODY("addq 96(%[c]), %%r12\n\t"
                       "adcq 104(%[c]), %%r13\n\t"
                       "adcq 112(%[c]), %%r14\n\t"
                       "adcq 120(%[c]), %%r15\n\t"
                       "adcq $0, %%r11\n\t")
          : "=&r"(o0), "=&r"(o1), "=&r"(o2), "=&r"(o3)
          : [c] "r"(c[0].l), [s] "r"(s[0].l), SS_DOT3_OPERANDS
          : SS_DOT3_CLOBBERS);
  r->l[0] = o0;
  r->l[1] = o1;
  r->l[2] = o2;
  r->l[3] = o3;
}

/* r = a * b * 2^-256 + k mod p, fully reduced (a product and an addition with one final
 * reduction: below r^2 / 2^256 + 2r + 1 < 2.5 r before it). r may alias any input. */
static inline __attribute__((always_inline)) void ss_fr_mul_plus_adx(ss_fr *r, const ss_fr *a, const ss_fr *b, const ss_fr *k) {
  register uint64_t o0 __asm__("r12"), o1 __asm__("r13"), o2 __asm__("r14"), o3 __asm__("r15");
  const uint64_t *bp = b->l;
  __asm__(SS_PRODUCT_FIRST
          /* b is not read again: its register is the reduction's free word */
          SS_ADX_REDC_LOW_HALF("%[s]")
          SS_FINISH_BELOW_3R("addq 0(%[k]), %%r12\n\t"
                             "adcq 8(%[k]), %%r13\n\t"
                             "adcq 16(%[k]), %%r14\n\t"
                             "adcq 24(%[k]), %%r15\n\t"
                             "adcq $0, %%r11\n\t")
          : "=&r"(o0), "=&r"(o1), "=&r"(o2), "=&r"(o3), [s] "+r"(bp)
          : [c] "r"(a->l), [k] "r"(k->l), SS_DOT3_OPERANDS
          : "rax", "rcx", "rdx", "r8", "r9", "r10", "r11", "cc", "memory");
  r->l[0] = o0;
  r->l[1] = o1;
  r->l[2] = o2;
  r->l[3] = o3;
}

/* r = a + b mod p in registers (gcc spills the __int128 form of ss_fr_add to the stack): the
 * sum of two values below r < 2^255 fits four words; r is subtracted when that does not borrow.
 * Plain x86-64 (no MULX/ADX), kept here with the kernels that use it. r may alias a or b. */
static inline __attribute__((always_inline)) void ss_fr_add_asm(ss_fr *r, const ss_fr *a, const ss_fr *b) {
  uint64_t s0, s1, s2, s3, d0, d1, d2, d3;
  __asm__("movq 0(%[a]), %[s0]\n\t"
          "movq 8(%[a]), %[s1]\n\t"
          "movq 16(%[a]), %[s2]\n\t"
          "movq 24(%[a]), %[s3]\n\t"
          "addq 0(%[b]), %[s0]\n\t"
          "adcq 8(%[b]), %[s1]\n\t"
          "adcq 16(%[b]), %[s2]\n\t"
          "adcq 24(%[b]), %[s3]\n\t"
          "movq %[s0], %[d0]\n\t"
          "movq %[s1], %[d1]\n\t"
          "movq %[s2], %[d2]\n\t"
          "movq %[s3], %[d3]\n\t"
          "subq %[p0], %[d0]\n\t"
          "sbbq %[p1], %[d1]\n\t"
          "sbbq %[p2], %[d2]\n\t"
          "sbbq %[p3], %[d3]\n\t"
          "cmovncq %[d0], %[s0]\n\t"
          "cmovncq %[d1], %[s1]\n\t"
          "cmovncq %[d2], %[s2]\n\t"
          "cmovncq %[d3], %[s3]\n\t"
          : [s0] "=&r"(s0), [s1] "=&r"(s1), [s2] "=&r"(s2), [s3] "=&r"(s3), [d0] "=&r"(d0), [d1] "=&r"(d1),
            [d2] "=&r"(d2), [d3] "=&r"(d3)
          : [a] "r"(a->l), [b] "r"(b->l), "m"(*a), "m"(*b), [p0] "m"(ss_fr_adx_p[0]), [p1] "m"(ss_fr_adx_p[1]),
            [p2] "m"(ss_fr_adx_p[2]), [p3] "m"(ss_fr_adx_p[3])
          : "cc");
  r->l[0] = s0;
  r->l[1] = s1;
  r->l[2] = s2;
  r->l[3] = s3;
}

static inline __attribute__((always_inline)) void ss_fr_pow5_adx(ss_fr *r, const ss_fr *a) {
  ss_fr a2, a4;
  ss_fr_mul_adx(&a2, a, a);
  ss_fr_mul_adx(&a4, &a2, &a2);
  ss_fr_mul_adx(r, &a4, a);
}
#endif

#endif
