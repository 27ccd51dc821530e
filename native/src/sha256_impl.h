/* Internal interface between the SHA-256 dispatcher (sha256.c) and its two backends
 * (sha256_portable.c, sha256_shani.c). Not for use outside native/src/sha256*.c. */
#ifndef SS_SHA256_IMPL_H
#define SS_SHA256_IMPL_H
#include <stddef.h>
#include <stdint.h>
#include "sha256.h"

/* Round constants K[0..63] and initial hash value (FIPS 180-4). */
extern const uint32_t ss_sha256_k[64];
extern const uint32_t ss_sha256_h0[8];
/* W[t] + K[t] of the padding block of a 64-byte message (0x80, zeros, bit length 512): the second
 * compression of every node hash uses this table instead of expanding a message schedule. */
extern const uint32_t ss_sha256_pad64_wk[64];

/* Portable C backend. */
void ss_sha256_portable_blocks(uint32_t st[8], const uint8_t *blocks, size_t n_blocks);
void ss_sha256_portable_halves(uint32_t st[8], const uint8_t *lo, const uint8_t *hi);
void ss_sha256_portable_wk(uint32_t st[8], const uint32_t wk[64]);
void ss_sha256_portable_pairs(const uint8_t *in, size_t n_pairs, uint8_t *out);
void ss_sha256_portable_chunks(const uint8_t *const *chunks, size_t n_chunks, uint8_t out[32]);
void ss_sha256_portable_repeat(uint32_t st[8], const ss_sha256_repeat *m, unsigned n_distinct, unsigned n_blocks);
uint32_t ss_sha256_portable_bench(unsigned ways, uint64_t count);

/* SHA-NI backend (only call when the CPU has the SHA extensions). */
void ss_sha256_shani_blocks(uint32_t st[8], const uint8_t *blocks, size_t n_blocks);
void ss_sha256_shani_halves(uint32_t st[8], const uint8_t *lo, const uint8_t *hi);
void ss_sha256_shani_compress2(uint32_t st0[8], const uint8_t *b0, uint32_t st1[8], const uint8_t *b1);
/* simd: SS_HW_AVX512 or SS_HW_AVX2 select the 8-stream schedule for runs of 8 pairs. */
void ss_sha256_shani_pairs(unsigned simd, const uint8_t *in, size_t n_pairs, uint8_t *out);
void ss_sha256_shani_chunks(const uint8_t *const *chunks, size_t n_chunks, uint8_t out[32]);
void ss_sha256_shani_repeat_from(const uint32_t head[8], const ss_sha256_repeat *m, unsigned n_distinct, unsigned n_blocks,
                                 const uint8_t *next_lo, const uint8_t *next_hi, uint32_t next_head[8], uint8_t out[32]);
void ss_sha256_shani_repeat2(const uint8_t *const *first_lo, const uint8_t *first_hi, const ss_sha256_repeat *const *m,
                             unsigned n_distinct, unsigned n_blocks, uint8_t *const *out);
void ss_sha256_shani_repeat3(const uint8_t *const *first_lo, const uint8_t *first_hi, const ss_sha256_repeat *const *m,
                             unsigned n_distinct, unsigned n_blocks, uint8_t *const *out);
void ss_sha256_shani_repeat4(const uint8_t *const *first_lo, const uint8_t *first_hi, const ss_sha256_repeat *const *m,
                             unsigned n_distinct, unsigned n_blocks, uint8_t *const *out);
void ss_sha256_shani_chunks2(const uint8_t *const *const *chunks, size_t n_chunks, uint8_t *const *out);
uint32_t ss_sha256_shani_bench(unsigned ways, uint64_t count);

/* AVX-512VL backend: eight messages of n_chunks chunks each (SS_HW_X8SHA callers only). */
void ss_sha256_x8_chunks(const uint8_t *const *const *chunks, size_t n_chunks, uint8_t *const *out);

/* Big-endian 32/64-bit helpers shared by both backends. */
static inline uint32_t ss_be32(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}
static inline void ss_put_be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}
static inline void ss_put_be64(uint8_t *p, uint64_t v) {
  ss_put_be32(p, (uint32_t)(v >> 32));
  ss_put_be32(p + 4, (uint32_t)v);
}

#endif
