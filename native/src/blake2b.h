/* BLAKE2b (RFC 7693), unkeyed: the 64-byte digest is the Feistel round function of the SDR
 * expander graph (rust-fil-proofs storage-proofs-core/src/crypto/feistel.rs); the 32-byte digest
 * (BLAKE2b-256) is Filecoin's chain hash (Lotus chain/rand/rand.go draws randomness with it).
 * Pure C, no N-API, no globals. */
#ifndef SS_BLAKE2B_H
#define SS_BLAKE2B_H
#include <stddef.h>
#include <stdint.h>

/* The IV and message schedule (read-only), shared with the 8-lane kernel in sdr_graph.c. */
extern const uint64_t ss_blake2b_iv[8];
extern const uint8_t ss_blake2b_sigma[12][16];

/* out[0..outlen) = BLAKE2b with an outlen-byte digest (1..64) of in[0..len). The digest length
 * is part of the parameter block, so BLAKE2b-256 is not a truncated BLAKE2b-512. */
void ss_blake2b(uint8_t *out, size_t outlen, const uint8_t *in, size_t len);

/* out = BLAKE2b-512(in[0..len)). */
void ss_blake2b512(uint8_t out[64], const uint8_t *in, size_t len);

/* The first 8 digest bytes read as a big-endian u64, for a 16-byte message
 * u64 BE(a) || u64 BE(b): exactly what the Feistel round needs, without byte shuffling. */
uint64_t ss_blake2b512_be64_of_2be64(uint64_t a, uint64_t b);

#endif
