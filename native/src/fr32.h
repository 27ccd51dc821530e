/* fr32 padding (rust-fil-proofs `fr32/src/convert.rs`, `padding.rs`): every 127 input bytes, read as a 1016-bit little-endian
 * integer, become four 254-bit little-endian field elements stored in 32 bytes each, whose top
 * two bits are zero. Bit-exact with rust-fil-proofs' Fr32Reader on whole 127-byte blocks. */
#ifndef SS_FR32_H
#define SS_FR32_H
#include <stddef.h>
#include <stdint.h>

#define SS_FR32_UNPADDED_BLOCK 127
#define SS_FR32_PADDED_BLOCK 128

/* Pads n_blocks blocks: in[0 .. 127*n_blocks) -> out[0 .. 128*n_blocks). in and out must not
 * overlap. */
void ss_fr32_pad(const uint8_t *in, uint8_t *out, size_t n_blocks);

/* Inverse: in[0 .. 128*n_blocks) -> out[0 .. 127*n_blocks); the two top bits of every 32-byte
 * element are ignored. in and out must not overlap. */
void ss_fr32_unpad(const uint8_t *in, uint8_t *out, size_t n_blocks);

#endif
