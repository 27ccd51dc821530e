/* Label kernels. A label is 20 chained SHA-256 compressions: block 0 = replica id || header,
 * blocks 1..18 = pairs of parent labels, block 19 = the 37th parent || padding (1248-byte
 * message). Node 0 hashes the 64-byte prefix alone (2 compressions). */
#include "sdr_labels.h"
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif
#include "cancel.h"
#include "sdr_graph.h"
#include "sha256.h"

/* Prefetch distance in nodes (a label is ~20 compressions, well under a microsecond): measured
 * best between 8 and 32 for 8 MiB–128 MiB layers; 8 keeps the lines in L1/L2 until used. */
#define PREFETCH_AHEAD 8

/* An explicit prefetcht0: GCC 12 at -O1 and above deletes __builtin_prefetch in this loop
 * (ipa-modref + DCE), which halved the layer-2 speed on large layers. */
static inline void prefetch_line(const void *addr) {
#if defined(__x86_64__) || defined(__i386__)
  __asm__ volatile("prefetcht0 %0" : : "m"(*(const uint8_t *)addr));
#else
  __builtin_prefetch(addr, 0, 3);
#endif
}

static void header_block(uint8_t hdr[32], uint32_t layer, uint64_t v) {
  memset(hdr, 0, 32);
  hdr[0] = (uint8_t)(layer >> 24);
  hdr[1] = (uint8_t)(layer >> 16);
  hdr[2] = (uint8_t)(layer >> 8);
  hdr[3] = (uint8_t)layer;
  for (int i = 0; i < 8; i++) hdr[4 + i] = (uint8_t)(v >> (56 - 8 * i));
}

/* The 37 parent labels after a label's first block, in hashing order (rust-fil-proofs
 * `create_label/single.rs`): layer 1 hashes its 6 base parents six times (3 distinct blocks) and
 * the first once more; layers >= 2 their 14 parents twice (7 distinct blocks), the first 8 once
 * more, then the 9th. Either way 18 blocks cycle through the distinct ones, then the last parent
 * fills the final block with the padding. `stride` is the distance between two nodes' labels in
 * the layers (32, or 32·k in a batch's interleaved layers). Returns the distinct block count. */
#define REPEAT_BLOCKS 18
static unsigned parent_blocks(ss_sha256_repeat *m, const uint32_t *p, uint32_t layer, const uint8_t *cur,
                              const uint8_t *prev, size_t stride) {
  for (int i = 0; i < SS_SDR_BASE_DEGREE; i++) m->pairs[i] = cur + stride * p[i];
  if (layer == 1) {
    m->last = m->pairs[0];
    return SS_SDR_BASE_DEGREE / 2;
  }
  for (int i = SS_SDR_BASE_DEGREE; i < SS_SDR_DEGREE; i++) m->pairs[i] = prev + stride * p[i];
  m->last = m->pairs[SS_SDR_BASE_DEGREE + 2];
  return SS_SDR_DEGREE / 2;
}

static bool parents_valid(const uint32_t *p, uint64_t v, uint64_t nodes, uint32_t layer) {
  for (int i = 0; i < SS_SDR_BASE_DEGREE; i++)
    if (p[i] >= v) return false;
  if (layer >= 2)
    for (int i = SS_SDR_BASE_DEGREE; i < SS_SDR_DEGREE; i++)
      if (p[i] >= nodes) return false;
  return true;
}

/* A label straddles two cache lines when its layer buffer is not 32-byte aligned (a calloc'd
 * ArrayBuffer starts 16 bytes into a page): then both lines are prefetched. */
static inline void prefetch_label(const uint8_t *label, bool straddles) {
  prefetch_line(label);
  if (straddles) prefetch_line(label + 31);
}

static inline void prefetch_parents(const uint32_t *p, const uint8_t *cur, const uint8_t *prev,
                                    uint64_t nodes, uint32_t layer, bool straddles) {
  for (int i = 0; i < SS_SDR_BASE_DEGREE; i++)
    if (p[i] < nodes) prefetch_label(cur + 32 * (uint64_t)p[i], straddles);
  if (layer >= 2)
    for (int i = SS_SDR_BASE_DEGREE; i < SS_SDR_DEGREE; i++)
      if (p[i] < nodes) prefetch_label(prev + 32 * (uint64_t)p[i], straddles);
}

/* One sector: each label's first block (replica id || layer/node header) does not depend on
 * any other label, so it is hashed one node ahead, beside the previous label's chain
 * (ss_sha256_repeat_from); a label's chain on the critical path is then 19 compressions, not 20. */
static int64_t label_range_one(const uint8_t *replica_id, uint32_t layer, uint64_t nodes, uint64_t start, uint64_t count,
                               const uint32_t *parents, uint8_t *cur, const uint8_t *prev, unsigned simd,
                               const int32_t *cancel) {
  uint8_t hdr[2][32];
  ss_sha256_repeat m;
  uint32_t head[2][8];
  const bool straddles = ((uintptr_t)cur & 31) != 0 || (layer >= 2 && ((uintptr_t)prev & 31) != 0);
  bool have_head = false; /* head[i % 2] holds node v's first-block state */
  for (uint64_t i = 0; i < count; i++) {
    if (i % SS_SDR_CANCEL_NODES == 0 && ss_cancel_requested(cancel)) return SS_CANCELLED;
    const uint64_t v = start + i;
    const uint32_t *p = parents + SS_SDR_DEGREE * i;
    if (i + PREFETCH_AHEAD < count)
      prefetch_parents(p + SS_SDR_DEGREE * PREFETCH_AHEAD, cur, layer >= 2 ? prev : NULL, nodes, layer, straddles);
    uint8_t *out = cur + 32 * v;
    uint8_t *h = hdr[i % 2];
    if (v == 0) {
      const uint8_t *chunks[2] = {replica_id, h};
      header_block(h, layer, v);
      ss_sha256_chunks(simd, chunks, 2, out);
      have_head = false;
    } else {
      if (!parents_valid(p, v, nodes, layer)) return (int64_t)i;
      if (!have_head) {
        header_block(h, layer, v);
        ss_sha256_init(head[i % 2]);
        ss_sha256_compress_halves(simd, head[i % 2], replica_id, h);
      }
      const unsigned distinct = parent_blocks(&m, p, layer, cur, prev, 32);
      const bool next = i + 1 < count;
      uint8_t *hn = hdr[(i + 1) % 2];
      if (next) header_block(hn, layer, v + 1);
      ss_sha256_repeat_from(simd, head[i % 2], &m, distinct, REPEAT_BLOCKS, next ? replica_id : NULL, hn,
                            head[(i + 1) % 2], out);
      have_head = next;
    }
    ss_trunc254(out);
  }
  return -1;
}

/* Prefetches every cache line of the `len` bytes at `run` (one parent's labels in all the
 * sectors of a batch: k·32 bytes, one to four lines, at most two pages apart). */
static inline void prefetch_run(const uint8_t *run, size_t len) {
  for (size_t off = 0; off < len; off += 64) prefetch_line(run + off);
  prefetch_line(run + len - 1);
}

static inline void prefetch_parents_batch(const uint32_t *p, const uint8_t *cur, const uint8_t *prev,
                                          uint64_t nodes, uint32_t layer, size_t stride) {
  for (int i = 0; i < SS_SDR_BASE_DEGREE; i++)
    if (p[i] < nodes) prefetch_run(cur + stride * p[i], stride);
  if (layer >= 2)
    for (int i = SS_SDR_BASE_DEGREE; i < SS_SDR_DEGREE; i++)
      if (p[i] < nodes) prefetch_run(prev + stride * p[i], stride);
}

int64_t ss_sdr_label_range_batch(unsigned k, const uint8_t *const *replica_ids, uint32_t layer, uint64_t nodes,
                                 uint64_t start, uint64_t count, const uint32_t *parents, uint8_t *cur,
                                 const uint8_t *prev, unsigned simd, const int32_t *cancel) {
  if (k < 1 || k > SS_SDR_BATCH_MAX) return -1;
  if (k == 1) return label_range_one(replica_ids[0], layer, nodes, start, count, parents, cur, prev, simd, cancel);
  /* node v of sector s is at 32·(v·k + s): a parent's labels in every sector are one run */
  const size_t stride = 32 * (size_t)k;
  uint8_t hdr[32];
  /* per sector: the replica id and the parent blocks; node 0 (no parents) is the 64-byte
   * message replica id || header */
  const uint8_t *chunks[SS_SDR_BATCH_MAX][2];
  const uint8_t *const *streams[SS_SDR_BATCH_MAX];
  ss_sha256_repeat blocks[SS_SDR_BATCH_MAX];
  const ss_sha256_repeat *ms[SS_SDR_BATCH_MAX];
  uint8_t *outs[SS_SDR_BATCH_MAX];
  for (unsigned s = 0; s < k; s++) {
    chunks[s][0] = replica_ids[s];
    chunks[s][1] = hdr;
    streams[s] = chunks[s];
    ms[s] = &blocks[s];
  }
  for (uint64_t i = 0; i < count; i++) {
    if (i % SS_SDR_CANCEL_NODES == 0 && ss_cancel_requested(cancel)) return SS_CANCELLED;
    const uint64_t v = start + i;
    const uint32_t *p = parents + SS_SDR_DEGREE * i;
    /* the parents of a node are the same in every sector of the batch: read and prefetched once */
    if (i + PREFETCH_AHEAD < count)
      prefetch_parents_batch(p + SS_SDR_DEGREE * PREFETCH_AHEAD, cur, layer >= 2 ? prev : NULL, nodes, layer, stride);
    header_block(hdr, layer, v);
    for (unsigned s = 0; s < k; s++) outs[s] = cur + stride * v + 32 * s;
    if (v == 0) {
      ss_sha256_chunks_multi(simd, k, streams, 2, outs);
    } else {
      if (!parents_valid(p, v, nodes, layer)) return (int64_t)i;
      unsigned distinct = 0;
      for (unsigned s = 0; s < k; s++) distinct = parent_blocks(&blocks[s], p, layer, cur + 32 * s, layer >= 2 ? prev + 32 * s : NULL, stride);
      ss_sha256_repeat_multi(simd, k, replica_ids, hdr, ms, distinct, REPEAT_BLOCKS, outs);
    }
    for (unsigned s = 0; s < k; s++) ss_trunc254(outs[s]);
  }
  return -1;
}

void ss_sdr_batch_split(unsigned k, const uint8_t *batch, uint64_t start, uint64_t count, uint8_t *const *outs) {
  const size_t stride = 32 * (size_t)k;
  const uint8_t *src = batch + stride * start;
  for (uint64_t i = 0; i < count; i++, src += stride)
    for (unsigned s = 0; s < k; s++) memcpy(outs[s] + 32 * i, src + 32 * s, 32);
}

void ss_sdr_batch_merge(unsigned k, uint8_t *batch, unsigned sector, uint64_t start, uint64_t count, const uint8_t *in) {
  const size_t stride = 32 * (size_t)k;
  uint8_t *dst = batch + stride * start + 32 * (size_t)sector;
  for (uint64_t i = 0; i < count; i++, dst += stride) memcpy(dst, in + 32 * i, 32);
}

int64_t ss_sdr_label_range(const uint8_t replica_id[32], uint32_t layer, uint64_t nodes,
                           uint64_t start, uint64_t count, const uint32_t *parents, uint8_t *cur,
                           const uint8_t *prev, unsigned simd, const int32_t *cancel) {
  return label_range_one(replica_id, layer, nodes, start, count, parents, cur, prev, simd, cancel);
}

bool ss_sdr_advise_huge_pages(void *addr, size_t len) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  const uintptr_t huge = (uintptr_t)2 << 20;
  uintptr_t lo = ((uintptr_t)addr + huge - 1) & ~(huge - 1);
  uintptr_t hi = ((uintptr_t)addr + len) & ~(huge - 1);
  if (hi <= lo) return false;
  return madvise((void *)lo, hi - lo, MADV_HUGEPAGE) == 0;
#else
  (void)addr;
  (void)len;
  return false;
#endif
}
