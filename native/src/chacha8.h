/* ChaCha stream generator with rand_chacha 0.3 `ChaChaXRng::from_seed` semantics
 * (rand_chacha `ChaCha8Rng` as rust-fil-proofs `drgraph.rs` seeds it): key = the 32-byte seed as 8 LE words, 64-bit block counter in
 * words 12/13 starting at 0, stream id 0 in words 14/15, output consumed as a stream of LE u32
 * words; a u64 draw is two consecutive words, low first. rand_chacha buffers four blocks at a
 * time, which does not change the word stream. Pure C, no N-API, no globals. */
#ifndef SS_CHACHA8_H
#define SS_CHACHA8_H
#include <stdint.h>

typedef struct {
  uint32_t key[8];
  uint64_t counter; /* index of the next block to generate */
  uint32_t buf[16]; /* current block */
  unsigned pos;     /* next unread word of buf (16 = exhausted) */
  unsigned rounds;  /* 8 for ChaCha8 (the DRG), 20 for ChaCha20 (test vectors) */
} ss_chacha_rng;

/* One ChaCha block: state + rounds(state), 16 words. `rounds` must be even. */
void ss_chacha_block(const uint32_t key[8], uint64_t counter, uint64_t stream, unsigned rounds,
                     uint32_t out[16]);

/* Seeds a generator from 32 bytes (rand_chacha from_seed), stream 0, word position 0. */
void ss_chacha_rng_init(ss_chacha_rng *rng, const uint8_t seed[32], unsigned rounds);

uint32_t ss_chacha_rng_u32(ss_chacha_rng *rng);
uint64_t ss_chacha_rng_u64(ss_chacha_rng *rng);

#endif
