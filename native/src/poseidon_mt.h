/* Multi-threaded forms of the bulk Poseidon operations (PC2's column hashes and tree rows).
 *
 * The work of one call is cut into disjoint ranges of hashes, one per thread; the calling thread
 * hashes the first range itself and joins the others, so the call stays synchronous. Results are
 * bit-identical to the single-threaded functions of poseidon.h (each output node depends only on
 * its own inputs). The params must be fully built before the call: threads only read them. */
#ifndef SS_POSEIDON_MT_H
#define SS_POSEIDON_MT_H
#include "poseidon.h"

/* Below this many hashes per thread a call is not split (thread start-up would dominate). */
#define SS_POSEIDON_MT_MIN_PER_THREAD 256
/* Upper bound on the threads of one call. */
#define SS_POSEIDON_MT_MAX_THREADS 64

/* Threads a call of `count` hashes actually uses when `threads` are allowed (at least 1). */
unsigned ss_poseidon_mt_threads(size_t count, unsigned threads);

/* As ss_poseidon_hash_many / ss_poseidon_columns, on up to `threads` threads. On a bad element
 * the smallest failing index is returned; outputs anywhere (before or after it) may have been
 * written, since other ranges run concurrently. Every thread polls `cancel` (may be NULL); once
 * it is set they all stop and the call returns SS_CANCELLED, which wins over a bad element
 * (the other ranges were not finished, so the smallest failing index is unknown). */
int64_t ss_poseidon_hash_many_mt(const ss_poseidon_params *p, const uint8_t *in, uint8_t *out, size_t count,
                                 ss_poseidon_mode mode, unsigned simd, unsigned threads, const int32_t *cancel);
int64_t ss_poseidon_columns_mt(const ss_poseidon_params *p, const uint8_t *const *layers, uint8_t *out, size_t nodes,
                               unsigned simd, unsigned threads, const int32_t *cancel);

#endif
