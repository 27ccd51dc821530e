/* Temporary portable SHA-256 compression for the labeller, used until the shared
 * native/src/sha256.h (hash area) lands; then this file pair is deleted. */
#ifndef SS_SDR_SHA_FALLBACK_H
#define SS_SDR_SHA_FALLBACK_H
#include <stdint.h>

/* One SHA-256 compression of the 64-byte block lo[0..32) || hi[0..32) into state. */
void ss_sdr_sha_compress2(uint32_t state[8], const uint8_t *lo, const uint8_t *hi);

#endif
