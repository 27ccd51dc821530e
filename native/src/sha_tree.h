/* Binary SHA-256 trees of 32-byte nodes (commP, CommD / tree_d): node hash
 * H(a, b) = trunc254(SHA-256(a || b)), leaves are the data itself. All functions work over
 * caller buffers with small stack scratch only (no malloc). `simd` selects the backend
 * (see sha256.h). */
#ifndef SS_SHA_TREE_H
#define SS_SHA_TREE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* parents[32i .. 32i+32) = H(children[64i .. 64i+32), children[64i+32 .. 64i+64)) for
 * i < n_parents. Independent pairs go through the interleaved SHA-NI code 4 at a time.
 * parents == children (in place) is allowed; other overlaps are not. */
void ss_tree_hash_layer(unsigned simd, const uint8_t *children, size_t n_parents, uint8_t *parents);

/* Root of the tree over n_leaves 32-byte leaves (n_leaves a power of two >= 1; one leaf is its
 * own root). Works bottom-up over cache-sized blocks of leaves. */
void ss_tree_root(unsigned simd, const uint8_t *leaves, size_t n_leaves, uint8_t root[32]);

/* fr32-pads unpadded[0 .. 127*n_blocks) into padded_out[0 .. 128*n_blocks) (n_blocks a power of
 * two >= 1) and writes the root of the tree over the padded bytes, in one pass: each cache-sized
 * block is padded and hashed while it is still in cache. */
void ss_tree_commp_chunk(unsigned simd, const uint8_t *unpadded, size_t n_blocks, uint8_t *padded_out,
                         uint8_t root[32]);

#endif
