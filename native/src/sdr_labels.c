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

/* The 37 parent label pointers of §5, in hashing order. */
static void parent_sequence(const uint8_t **seq, const uint32_t *p, uint32_t layer,
                            const uint8_t *cur, const uint8_t *prev) {
  if (layer == 1) {
    const uint8_t *b[6];
    for (int i = 0; i < 6; i++) b[i] = cur + 32 * (uint64_t)p[i];
    for (int r = 0; r < 6; r++)
      for (int i = 0; i < 6; i++) seq[6 * r + i] = b[i];
    seq[36] = b[0];
  } else {
    const uint8_t *b[14];
    for (int i = 0; i < 6; i++) b[i] = cur + 32 * (uint64_t)p[i];
    for (int i = 6; i < 14; i++) b[i] = prev + 32 * (uint64_t)p[i];
    for (int i = 0; i < 14; i++) seq[i] = seq[14 + i] = b[i];
    for (int i = 0; i < 8; i++) seq[28 + i] = b[i];
    seq[36] = b[8];
  }
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

int64_t ss_sdr_label_range_batch(unsigned k, const uint8_t *const *replica_ids, uint32_t layer, uint64_t nodes,
                                 uint64_t start, uint64_t count, const uint32_t *parents, uint8_t *const *cur,
                                 const uint8_t *const *prev, unsigned simd, const int32_t *cancel) {
  if (k < 1 || k > SS_SDR_BATCH_MAX) return -1;
  uint8_t hdr[32];
  /* per sector: replica id, header block, then the 37 parent labels */
  const uint8_t *chunks[SS_SDR_BATCH_MAX][2 + 37];
  const uint8_t *const *streams[SS_SDR_BATCH_MAX];
  uint8_t *outs[SS_SDR_BATCH_MAX];
  bool straddles = false;
  for (unsigned s = 0; s < k; s++) {
    chunks[s][0] = replica_ids[s];
    chunks[s][1] = hdr;
    streams[s] = chunks[s];
    straddles |= ((uintptr_t)cur[s] & 31) != 0 || (layer >= 2 && ((uintptr_t)prev[s] & 31) != 0);
  }
  for (uint64_t i = 0; i < count; i++) {
    if (i % SS_SDR_CANCEL_NODES == 0 && ss_cancel_requested(cancel)) return SS_CANCELLED;
    const uint64_t v = start + i;
    const uint32_t *p = parents + SS_SDR_DEGREE * i;
    /* the parents of a node are the same in every sector of the batch: read once, prefetched
     * once per sector's layers */
    if (i + PREFETCH_AHEAD < count)
      for (unsigned s = 0; s < k; s++)
        prefetch_parents(p + SS_SDR_DEGREE * PREFETCH_AHEAD, cur[s], layer >= 2 ? prev[s] : NULL, nodes, layer, straddles);
    header_block(hdr, layer, v);
    for (unsigned s = 0; s < k; s++) outs[s] = cur[s] + 32 * v;
    if (v == 0) {
      ss_sha256_chunks_multi(simd, k, streams, 2, outs);
    } else {
      if (!parents_valid(p, v, nodes, layer)) return (int64_t)i;
      for (unsigned s = 0; s < k; s++) parent_sequence(chunks[s] + 2, p, layer, cur[s], layer >= 2 ? prev[s] : NULL);
      ss_sha256_chunks_multi(simd, k, streams, 2 + 37, outs);
    }
    for (unsigned s = 0; s < k; s++) ss_trunc254(outs[s]);
  }
  return -1;
}

int64_t ss_sdr_label_range(const uint8_t replica_id[32], uint32_t layer, uint64_t nodes,
                           uint64_t start, uint64_t count, const uint32_t *parents, uint8_t *cur,
                           const uint8_t *prev, unsigned simd, const int32_t *cancel) {
  return ss_sdr_label_range_batch(1, &replica_id, layer, nodes, start, count, parents, &cur, &prev, simd, cancel);
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
