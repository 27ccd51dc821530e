/* SHA-256 machinery of the native sealer (commP, tree_d, PC1 labels).
 *
 * Every function takes `simd` first: the SS_HW_* features (cpu.h) the caller's addon instance
 * enabled (`ss_get_instance(env)->simd`). SS_HW_SHANI selects the SHA-NI code, else the portable
 * C code runs; node-pair hashing also uses SS_HW_AVX512 or SS_HW_AVX2 for its 8-stream message
 * schedule. Nothing here keeps global state, so every worker thread can use its own choice.
 * Passing a feature the CPU lacks is undefined (illegal instruction).
 *
 * Chaining state: `uint32_t st[8]` holds the eight working words H0..H7 in host order, exactly
 * as FIPS 180-4 defines them. Both backends read and write the same representation, so a chain
 * may mix calls freely.
 *
 * How PC1 builds a label (H3), either way gives the same digest:
 *   (a) one call:  ss_sha256_chunks(simd, ptrs, 39, label); label[31] &= 0x3f;
 *       where ptrs[] = { replica_id, layer_node_block, parent_0, ..., parent_36 }.
 *   (b) chained:   ss_sha256_init(st);
 *                  ss_sha256_compress_halves(simd, st, replica_id, layer_node_block);
 *                  for 18 pairs: ss_sha256_compress_halves(simd, st, p[2i], p[2i+1]);
 *                  last block = p[36] || padding (see ss_sha256_pad_half) ...
 *                  ss_sha256_digest(st, label); ss_trunc254(label);
 *   (a) is faster with SHA-NI: it keeps the state in the SHA-NI register layout for the whole
 *   message instead of converting it at every call. */
#ifndef SS_SHA256_H
#define SS_SHA256_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "cpu.h"

#define SS_SHA256_BLOCK_BYTES 64
#define SS_SHA256_DIGEST_BYTES 32

/* Clears the two top bits of byte 31 of a digest: the result is an Fr element (< 2^254). */
static inline void ss_trunc254(uint8_t digest[32]) { digest[31] &= 0x3f; }

/* Sets st to the SHA-256 initial hash value. */
void ss_sha256_init(uint32_t st[8]);

/* Serialises a chaining state as the 32-byte big-endian digest. */
void ss_sha256_digest(const uint32_t st[8], uint8_t out[32]);

/* One compression of one 64-byte block (no padding is added). */
void ss_sha256_compress(unsigned simd, uint32_t st[8], const uint8_t block[64]);

/* One compression of the block lo[0..32) || hi[0..32), read in place from two addresses: lets a
 * caller hash 32-byte nodes scattered in memory without copying them. */
void ss_sha256_compress_halves(unsigned simd, uint32_t st[8], const uint8_t lo[32], const uint8_t hi[32]);

/* n_blocks consecutive compressions of blocks[0 .. 64*n_blocks). */
void ss_sha256_compress_blocks(unsigned simd, uint32_t st[8], const uint8_t *blocks, size_t n_blocks);

/* Two independent compressions in one call. With SHA-NI the two dependency chains are
 * interleaved, which roughly doubles throughput compared with two single calls. */
void ss_sha256_compress2(unsigned simd, uint32_t st0[8], const uint8_t block0[64], uint32_t st1[8],
                         const uint8_t block1[64]);

/* Builds the 32-byte second half of the final block of a message of `total_len` bytes whose last
 * 32 bytes fill the first half of that block: 0x80, zeros, then the bit length (big-endian).
 * Valid when total_len % 64 == 32. */
void ss_sha256_pad_half(uint64_t total_len, uint8_t half[32]);

/* Full SHA-256 of msg[0..len) (standard padding), no truncation. */
void ss_sha256(unsigned simd, const uint8_t *msg, size_t len, uint8_t out[32]);

/* Full SHA-256 (no truncation) of the message chunks[0] || chunks[1] || ... || chunks[n-1],
 * each chunk exactly 32 bytes, read in place (no copy); standard padding is appended internally.
 * n_chunks may be 0. This is the PC1 label primitive: a 1248-byte label message is 39 chunks
 * (replica id, layer/node block, 37 parent labels) = 20 compressions. */
void ss_sha256_chunks(unsigned simd, const uint8_t *const *chunks, size_t n_chunks, uint8_t out[32]);

/* Most distinct blocks a repeating message (ss_sha256_repeat) may cycle through. */
#define SS_SHA256_REPEAT_MAX 8

/* The part of a message that repeats: n_blocks blocks cycling through n_distinct distinct blocks
 * (block j is pairs[2d] || pairs[2d + 1], d = j % n_distinct; 32-byte chunks read in place), then
 * one final block last[0..32) || padding. This is a PC1 label after its first block: its 36
 * parents before the last repeat 6 labels (layer 1: 3 distinct blocks) or 14 labels (layers >= 2:
 * 7 distinct blocks) in a fixed order (rust-fil-proofs `create_label`), so the message schedule
 * (W[t] + K[t]) of each distinct block is computed once and reused for its repeats. */
typedef struct {
  const uint8_t *pairs[2 * SS_SHA256_REPEAT_MAX];
  const uint8_t *last;
} ss_sha256_repeat;

/* out = SHA-256 of (first block) || the blocks of m (n_distinct 1..SS_SHA256_REPEAT_MAX, n_blocks
 * >= 0), whose first block is hashed already: `head` is the state after it. The message is
 * 64 * (n_blocks + 1) + 32 bytes. When next_lo is not NULL, the block next_lo || next_hi (the
 * first block of the next message) is hashed from the initial state on the side and its state
 * stored in next_head: with SHA-NI as a second stream interleaved with this message's first
 * block, which in one latency-bound label chain is nearly free (PC1 takes each label's first
 * block, replica id || layer/node header, off the chain this way, one node ahead). */
void ss_sha256_repeat_from(unsigned simd, const uint32_t head[8], const ss_sha256_repeat *m, unsigned n_distinct,
                           unsigned n_blocks, const uint8_t *next_lo, const uint8_t *next_hi, uint32_t next_head[8],
                           uint8_t out[32]);

/* `ways` (1 to 8) such messages at once, each with its own first block first_lo[s] || first_hi
 * (hashed here from the initial state) and blocks m[s], all with the same n_distinct and
 * n_blocks: out[s] = the digest of message s. With SHA-NI the streams are hashed four (then two)
 * at a time, their chains interleaved; eight with SS_HW_X8SHA run on AVX-512VL lanes (as
 * ss_sha256_chunks_multi does). A PC1 batch labels its sectors' nodes this way. */
void ss_sha256_repeat_multi(unsigned simd, unsigned ways, const uint8_t *const *first_lo, const uint8_t *first_hi,
                            const ss_sha256_repeat *const *m, unsigned n_distinct, unsigned n_blocks,
                            uint8_t *const *out);

/* `ways` (1 to 8) messages of n_chunks chunks each at once: out[s] = SHA-256(chunks[s][0] || ...
 * || chunks[s][n_chunks - 1]). With SHA-NI the streams are hashed two at a time with their
 * dependency chains interleaved; eight streams with SS_HW_X8SHA run on AVX-512VL lanes instead.
 * A PC1 batch labels its sectors' nodes this way. */
void ss_sha256_chunks_multi(unsigned simd, unsigned ways, const uint8_t *const *const *chunks, size_t n_chunks,
                            uint8_t *const *out);

/* Node hash of a binary tree: out = trunc254(SHA-256(a || b)), a and b 32 bytes each. The second
 * compression uses a precomputed message schedule (the padding block of a 64-byte message is
 * constant). out may alias a or b. */
void ss_sha256_pair(unsigned simd, const uint8_t a[32], const uint8_t b[32], uint8_t out[32]);

/* n_pairs node hashes: out[32i .. 32i+32) = trunc254(SHA-256(in[64i .. 64i+64))). Independent
 * pairs are hashed 2 or 4 at a time with interleaved SHA-NI streams. In place is allowed
 * (out == in): each group of pairs is read completely before its outputs are written, and
 * output i never lies beyond input i. Other overlaps are not allowed. */
void ss_sha256_pairs(unsigned simd, const uint8_t *in, size_t n_pairs, uint8_t *out);

/* Benchmark kernel: `ways` (1, 2 or 4) independent streams each perform `count` real
 * compressions, feeding each result back into the next; returns a checksum of the final states
 * so that the work cannot be optimised away. Returns 0 for an unsupported `ways`. */
uint32_t ss_sha256_bench(unsigned simd, unsigned ways, uint64_t count);

#endif
