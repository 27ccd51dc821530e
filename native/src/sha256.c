/* SHA-256 dispatcher: constants, message padding, and the choice between the portable and the
 * SHA-NI backend, made per call from the caller's `simd` features (no global state). */
#include "sha256.h"
#include <string.h>
#include "sha256_impl.h"

const uint32_t ss_sha256_k[64] __attribute__((aligned(64))) = {
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u, 0x923f82a4u, 0xab1c5ed5u,
    0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu, 0x9bdc06a7u, 0xc19bf174u,
    0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu, 0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau,
    0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u, 0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u,
    0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu, 0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u,
    0xa2bfe8a1u, 0xa81a664bu, 0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u,
    0x19a4c116u, 0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
    0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u, 0x90befffau, 0xa4506cebu, 0xbef9a3f7u, 0xc67178f2u,
};

const uint32_t ss_sha256_h0[8] __attribute__((aligned(32))) = {
    0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au, 0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u,
};

/* W[t] + K[t] for the block 0x80 || 0^55 || be64(512). Generated offline from the FIPS 180-4
 * message expansion; the node-hash tests (V-ZERO, hashPair vs node:crypto) check every entry. */
const uint32_t ss_sha256_pad64_wk[64] __attribute__((aligned(64))) = {
    0xc28a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u, 0x923f82a4u, 0xab1c5ed5u,
    0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu, 0x9bdc06a7u, 0xc19bf374u,
    0x649b69c1u, 0xf0fe4786u, 0x0fe1edc6u, 0x240cf254u, 0x4fe9346fu, 0x6cc984beu, 0x61b9411eu, 0x16f988fau,
    0xf2c65152u, 0xa88e5a6du, 0xb019fc65u, 0xb9d99ec7u, 0x9a1231c3u, 0xe70eeaa0u, 0xfdb1232bu, 0xc7353eb0u,
    0x3069bad5u, 0xcb976d5fu, 0x5a0f118fu, 0xdc1eeefdu, 0x0a35b689u, 0xde0b7a04u, 0x58f4ca9du, 0xe15d5b16u,
    0x007f3e86u, 0x37088980u, 0xa507ea32u, 0x6fab9537u, 0x17406110u, 0x0d8cd6f1u, 0xcdaa3b6du, 0xc0bbbe37u,
    0x83613bdau, 0xdb48a363u, 0x0b02e931u, 0x6fd15ca7u, 0x521afacau, 0x31338431u, 0x6ed41a95u, 0x6d437890u,
    0xc39c91f2u, 0x9eccabbdu, 0xb5c9a0e6u, 0x532fb63cu, 0xd2c741c6u, 0x07237ea3u, 0xa4954b68u, 0x4c191d76u,
};

void ss_sha256_init(uint32_t st[8]) { memcpy(st, ss_sha256_h0, 32); }

void ss_sha256_digest(const uint32_t st[8], uint8_t out[32]) {
  for (int i = 0; i < 8; i++) ss_put_be32(out + 4 * i, st[i]);
}

void ss_sha256_compress(unsigned simd, uint32_t st[8], const uint8_t block[64]) {
  if (simd & SS_HW_SHANI)
    ss_sha256_shani_blocks(st, block, 1);
  else
    ss_sha256_portable_blocks(st, block, 1);
}

void ss_sha256_compress_halves(unsigned simd, uint32_t st[8], const uint8_t lo[32], const uint8_t hi[32]) {
  if (simd & SS_HW_SHANI)
    ss_sha256_shani_halves(st, lo, hi);
  else
    ss_sha256_portable_halves(st, lo, hi);
}

void ss_sha256_compress_blocks(unsigned simd, uint32_t st[8], const uint8_t *blocks, size_t n_blocks) {
  if (n_blocks == 0) return;
  if (simd & SS_HW_SHANI)
    ss_sha256_shani_blocks(st, blocks, n_blocks);
  else
    ss_sha256_portable_blocks(st, blocks, n_blocks);
}

void ss_sha256_compress2(unsigned simd, uint32_t st0[8], const uint8_t block0[64], uint32_t st1[8],
                         const uint8_t block1[64]) {
  if (simd & SS_HW_SHANI) {
    ss_sha256_shani_compress2(st0, block0, st1, block1);
  } else {
    ss_sha256_portable_blocks(st0, block0, 1);
    ss_sha256_portable_blocks(st1, block1, 1);
  }
}

void ss_sha256_pad_half(uint64_t total_len, uint8_t half[32]) {
  memset(half, 0, 32);
  half[0] = 0x80;
  ss_put_be64(half + 24, total_len * 8);
}

void ss_sha256(unsigned simd, const uint8_t *msg, size_t len, uint8_t out[32]) {
  uint32_t st[8];
  ss_sha256_init(st);
  size_t full = len / 64;
  ss_sha256_compress_blocks(simd, st, msg, full);
  /* The tail (0..63 bytes) plus 0x80 and the 8-byte length fits one block when tail <= 55. */
  uint8_t tail[128];
  size_t rem = len - full * 64;
  size_t tail_blocks = rem <= 55 ? 1 : 2;
  memset(tail, 0, sizeof tail);
  if (rem) memcpy(tail, msg + full * 64, rem);
  tail[rem] = 0x80;
  ss_put_be64(tail + tail_blocks * 64 - 8, (uint64_t)len * 8);
  ss_sha256_compress_blocks(simd, st, tail, tail_blocks);
  ss_sha256_digest(st, out);
}

void ss_sha256_chunks(unsigned simd, const uint8_t *const *chunks, size_t n_chunks, uint8_t out[32]) {
  if (simd & SS_HW_SHANI)
    ss_sha256_shani_chunks(chunks, n_chunks, out);
  else
    ss_sha256_portable_chunks(chunks, n_chunks, out);
}

void ss_sha256_chunks_multi(unsigned simd, unsigned ways, const uint8_t *const *const *chunks, size_t n_chunks,
                            uint8_t *const *out) {
  unsigned s = 0;
#if defined(__x86_64__)
  if (ways == 8 && (simd & SS_HW_X8SHA)) {
    ss_sha256_x8_chunks(chunks, n_chunks, out);
    return;
  }
#endif
  /* pairs of streams: two chains fill the SHA unit of a Zen core (1.9x one stream), while four
   * gain little more there and lose on Ice Lake, where 4 streams x 8 state/schedule registers
   * spill the 16 XMM registers (a batch of 4 ran at 0.82x one sector, pairs at 1.14x) */
  if (simd & SS_HW_SHANI)
    for (; s + 2 <= ways; s += 2) ss_sha256_shani_chunks2(chunks + s, n_chunks, out + s);
  for (; s < ways; s++) ss_sha256_chunks(simd, chunks[s], n_chunks, out[s]);
}

void ss_sha256_repeat_from(unsigned simd, const uint32_t head[8], const ss_sha256_repeat *m, unsigned n_distinct,
                           unsigned n_blocks, const uint8_t *next_lo, const uint8_t *next_hi, uint32_t next_head[8],
                           uint8_t out[32]) {
  if (simd & SS_HW_SHANI) {
    ss_sha256_shani_repeat_from(head, m, n_distinct, n_blocks, next_lo, next_hi, next_head, out);
    return;
  }
  uint32_t st[8];
  memcpy(st, head, sizeof st);
  ss_sha256_portable_repeat(st, m, n_distinct, n_blocks);
  ss_sha256_digest(st, out);
  if (next_lo) {
    memcpy(next_head, ss_sha256_h0, 32);
    ss_sha256_portable_halves(next_head, next_lo, next_hi);
  }
}

void ss_sha256_repeat_multi(unsigned simd, unsigned ways, const uint8_t *const *first_lo, const uint8_t *first_hi,
                            const ss_sha256_repeat *const *m, unsigned n_distinct, unsigned n_blocks,
                            uint8_t *const *out) {
  unsigned s = 0;
#if defined(__x86_64__)
  if (ways == 8 && (simd & SS_HW_X8SHA)) {
    /* the AVX-512VL lanes compute every schedule word of eight blocks in a few vector
     * instructions; they take the message as its plain chunk sequence */
    enum { MAX_CHUNKS = 2 + 2 * 32 + 1 };
    const uint8_t *seq[8][MAX_CHUNKS];
    const uint8_t *const *streams[8];
    if (n_blocks <= 32) {
      for (unsigned w = 0; w < 8; w++) {
        size_t n = 0;
        seq[w][n++] = first_lo[w];
        seq[w][n++] = first_hi;
        for (unsigned j = 0; j < n_blocks; j++) {
          seq[w][n++] = m[w]->pairs[2 * (j % n_distinct)];
          seq[w][n++] = m[w]->pairs[2 * (j % n_distinct) + 1];
        }
        seq[w][n++] = m[w]->last;
        streams[w] = seq[w];
      }
      ss_sha256_x8_chunks(streams, 2 * (size_t)n_blocks + 3, out);
      return;
    }
  }
#endif
  /* Four interleaved SHA-NI chains, unlike in ss_sha256_chunks_multi: a repeated block's rounds
   * need only its precomputed W+K, not four schedule registers per stream, so four streams fit
   * the 16 XMM registers well enough; on Zen 4 (EPYC, 8 MiB layers, CPU time) a batch of four
   * labelled 2.5 M labels/s (layer 1) and 2.1 M (layer 2) against 2.0 M and 1.8 M as two pairs.
   * Not on Intel AVX-512 cores (SS_HW_X8SHA), where SHA-NI chains do not overlap. */
  if ((simd & SS_HW_SHANI) && !(simd & SS_HW_X8SHA)) {
    for (; s + 4 <= ways; s += 4) ss_sha256_shani_repeat4(first_lo + s, first_hi, m + s, n_distinct, n_blocks, out + s);
    /* three left (batches of 3 and 7): one 3-stream call beats a pair and a single stream */
    if (ways - s == 3) {
      ss_sha256_shani_repeat3(first_lo + s, first_hi, m + s, n_distinct, n_blocks, out + s);
      s += 3;
    }
  }
  if (simd & SS_HW_SHANI)
    for (; s + 2 <= ways; s += 2) ss_sha256_shani_repeat2(first_lo + s, first_hi, m + s, n_distinct, n_blocks, out + s);
  for (; s < ways; s++) {
    uint32_t st[8];
    ss_sha256_init(st);
    ss_sha256_compress_halves(simd, st, first_lo[s], first_hi);
    ss_sha256_repeat_from(simd, st, m[s], n_distinct, n_blocks, NULL, NULL, NULL, out[s]);
  }
}

void ss_sha256_pair(unsigned simd, const uint8_t a[32], const uint8_t b[32], uint8_t out[32]) {
  const uint8_t *chunks[2] = {a, b};
  ss_sha256_chunks(simd, chunks, 2, out);
  ss_trunc254(out);
}

void ss_sha256_pairs(unsigned simd, const uint8_t *in, size_t n_pairs, uint8_t *out) {
  if (simd & SS_HW_SHANI)
    ss_sha256_shani_pairs(simd, in, n_pairs, out);
  else
    ss_sha256_portable_pairs(in, n_pairs, out);
}

uint32_t ss_sha256_bench(unsigned simd, unsigned ways, uint64_t count) {
  if (ways != 1 && ways != 2 && ways != 4) return 0;
  return (simd & SS_HW_SHANI) ? ss_sha256_shani_bench(ways, count) : ss_sha256_portable_bench(ways, count);
}
