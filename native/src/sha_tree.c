/* Bottom-up binary trees over 32-byte nodes. Large trees are cut into blocks of BLOCK_LEAVES
 * leaves (32 KiB, L1-sized): each block is reduced to its root inside a 16 KiB stack buffer, and
 * the block roots are merged through a binary-counter stack of pending subtree roots, so memory
 * stays O(log n) and every leaf is read exactly once. */
#include "sha_tree.h"
#include <string.h>
#include "fr32.h"
#include "sha256.h"

/* Leaves per block: 32 KiB of leaves, 16 KiB of first-level parents on the stack. Measured: 256 to
 * 16384 leaves per block all run within 1 % of the bare hashLayer rate, so keep the stack small. */
#define BLOCK_LEAVES 1024
#define MAX_LEVELS 64

void ss_tree_hash_layer(unsigned simd, const uint8_t *children, size_t n_parents, uint8_t *parents) {
  ss_sha256_pairs(simd, children, n_parents, parents);
}

/* Root of a power-of-two block of n (2 <= n <= BLOCK_LEAVES) leaves. */
static void block_root(unsigned simd, const uint8_t *leaves, size_t n, uint8_t root[32]) {
  uint8_t buf[BLOCK_LEAVES / 2 * 32] __attribute__((aligned(64)));
  size_t m = n / 2;
  ss_sha256_pairs(simd, leaves, m, buf);
  while (m > 1) {
    ss_sha256_pairs(simd, buf, m / 2, buf); /* in place: allowed by ss_sha256_pairs */
    m /= 2;
  }
  memcpy(root, buf, 32);
}

/* Pending subtree roots, one slot per level (level = log2 of the number of blocks merged). */
typedef struct {
  uint8_t node[MAX_LEVELS][32];
  uint64_t present; /* bit l set: node[l] holds a root waiting for its right sibling */
} root_stack;

static void stack_push(unsigned simd, root_stack *s, const uint8_t root[32]) {
  uint8_t cur[32];
  memcpy(cur, root, 32);
  unsigned level = 0;
  while (s->present & (1ULL << level)) {
    ss_sha256_pair(simd, s->node[level], cur, cur);
    s->present &= ~(1ULL << level);
    level++;
  }
  memcpy(s->node[level], cur, 32);
  s->present |= 1ULL << level;
}

/* After a power-of-two number of pushes exactly one slot remains: the root. */
static void stack_root(const root_stack *s, uint8_t root[32]) {
  unsigned level = (unsigned)__builtin_ctzll(s->present);
  memcpy(root, s->node[level], 32);
}

void ss_tree_root(unsigned simd, const uint8_t *leaves, size_t n_leaves, uint8_t root[32]) {
  if (n_leaves <= 1) {
    memcpy(root, leaves, 32);
    return;
  }
  if (n_leaves <= BLOCK_LEAVES) {
    block_root(simd, leaves, n_leaves, root);
    return;
  }
  root_stack s;
  s.present = 0;
  for (size_t b = 0; b < n_leaves; b += BLOCK_LEAVES) {
    uint8_t r[32];
    block_root(simd, leaves + 32 * b, BLOCK_LEAVES, r);
    stack_push(simd, &s, r);
  }
  stack_root(&s, root);
}

void ss_tree_commp_chunk(unsigned simd, const uint8_t *unpadded, size_t n_blocks, uint8_t *padded_out,
                         uint8_t root[32]) {
  /* one fr32 block = 128 padded bytes = 4 leaves */
  const size_t per = BLOCK_LEAVES / 4;
  if (n_blocks <= per) {
    ss_fr32_pad(unpadded, padded_out, n_blocks);
    block_root(simd, padded_out, 4 * n_blocks, root);
    return;
  }
  root_stack s;
  s.present = 0;
  for (size_t b = 0; b < n_blocks; b += per) {
    uint8_t r[32];
    uint8_t *dst = padded_out + 128 * b;
    ss_fr32_pad(unpadded + 127 * b, dst, per);
    block_root(simd, dst, BLOCK_LEAVES, r);
    stack_push(simd, &s, r);
  }
  stack_root(&s, root);
}
