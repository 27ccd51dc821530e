/* fr32 pad/unpad on 64-bit words. Element e of a 127-byte block starts at input bit 254*e, i.e.
 * byte 0, 31, 63, 95 with bit shift 0, 6, 4, 2. A word starting at byte p with shift s is
 * (le64(p) >> s) | (le64(p+1) << (8-s)): both loads hold the bytes p+1..p+7 at the same bit
 * positions, so the OR only adds byte p+8's low bits. */
#include "fr32.h"
#include <string.h>

#define TOP_MASK 0x3fffffffffffffffULL

static inline uint64_t le64(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  v = __builtin_bswap64(v);
#endif
  return v;
}

static inline void put_le64(uint8_t *p, uint64_t v) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  v = __builtin_bswap64(v);
#endif
  memcpy(p, &v, 8);
}

/* 64 input bits starting at byte p, bit s (1 <= s <= 7); reads p[0..8]. */
#define SHIFTED(p, s) ((le64(p) >> (s)) | (le64((p) + 1) << (8 - (s))))

static inline void pad_block(const uint8_t *in, uint8_t *out) {
  /* element 0: bytes 0..31, shift 0 */
  put_le64(out + 0, le64(in + 0));
  put_le64(out + 8, le64(in + 8));
  put_le64(out + 16, le64(in + 16));
  put_le64(out + 24, le64(in + 24) & TOP_MASK);
  /* element 1: byte 31, shift 6 */
  put_le64(out + 32, SHIFTED(in + 31, 6));
  put_le64(out + 40, SHIFTED(in + 39, 6));
  put_le64(out + 48, SHIFTED(in + 47, 6));
  put_le64(out + 56, SHIFTED(in + 55, 6) & TOP_MASK);
  /* element 2: byte 63, shift 4 */
  put_le64(out + 64, SHIFTED(in + 63, 4));
  put_le64(out + 72, SHIFTED(in + 71, 4));
  put_le64(out + 80, SHIFTED(in + 79, 4));
  put_le64(out + 88, SHIFTED(in + 87, 4) & TOP_MASK);
  /* element 3: byte 95, shift 2; its last word needs no byte 127 (those bits are masked) */
  put_le64(out + 96, SHIFTED(in + 95, 2));
  put_le64(out + 104, SHIFTED(in + 103, 2));
  put_le64(out + 112, SHIFTED(in + 111, 2));
  put_le64(out + 120, (le64(in + 119) >> 2) & TOP_MASK);
}

void ss_fr32_pad(const uint8_t *in, uint8_t *out, size_t n_blocks) {
  for (size_t b = 0; b < n_blocks; b++) pad_block(in + 127 * b, out + 128 * b);
}

/* Unpads one block into 16 words t[0..15] (1016 bits; t[15]'s top byte is zero). Element e
 * lands at output bit 254*e = 64*q + r with (q, r) = (0,0), (3,62), (7,60), (11,58). */
static inline void unpad_block(const uint8_t *in, uint64_t t[16]) {
  uint64_t e0 = le64(in + 0), e1 = le64(in + 8), e2 = le64(in + 16), e3 = le64(in + 24) & TOP_MASK;
  t[0] = e0;
  t[1] = e1;
  t[2] = e2;
  t[3] = e3;
#define PLACE(base, q, r)                                                        \
  do {                                                                           \
    uint64_t w0 = le64(in + (base)), w1 = le64(in + (base) + 8);                 \
    uint64_t w2 = le64(in + (base) + 16), w3 = le64(in + (base) + 24) & TOP_MASK; \
    t[(q)] |= w0 << (r);                                                         \
    t[(q) + 1] = (w0 >> (64 - (r))) | (w1 << (r));                               \
    t[(q) + 2] = (w1 >> (64 - (r))) | (w2 << (r));                               \
    t[(q) + 3] = (w2 >> (64 - (r))) | (w3 << (r));                               \
    t[(q) + 4] = w3 >> (64 - (r));                                               \
  } while (0)
  PLACE(32, 3, 62);
  PLACE(64, 7, 60);
  PLACE(96, 11, 58);
#undef PLACE
}

void ss_fr32_unpad(const uint8_t *in, uint8_t *out, size_t n_blocks) {
  uint64_t t[16];
  for (size_t b = 0; b < n_blocks; b++) {
    unpad_block(in + 128 * b, t);
    if (b + 1 < n_blocks) {
      /* write 128 bytes; the 128th (zero) is overwritten by the next block */
      for (int i = 0; i < 16; i++) put_le64(out + 127 * b + 8 * i, t[i]);
    } else {
      uint8_t last[128];
      for (int i = 0; i < 16; i++) put_le64(last + 8 * i, t[i]);
      memcpy(out + 127 * b, last, 127);
    }
  }
}
