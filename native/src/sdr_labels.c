/* Label kernels. A label is 20 chained SHA-256 compressions: block 0 = replica id || header,
 * blocks 1..18 = pairs of parent labels, block 19 = the 37th parent || padding (1248-byte
 * message). Node 0 hashes the 64-byte prefix alone (2 compressions). */
#include "sdr_labels.h"
#include <string.h>
#include "sdr_graph.h"
#include "sdr_sha_fallback.h"

static const uint32_t SHA256_IV[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                      0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

/* padding of a 1248-byte message as the second half of the last block: 0x80, zeros, BE64(9984) */
static const uint8_t PAD_1248[32] = {0x80, [30] = 0x27, [31] = 0x00};
/* padding block of a 64-byte message, as two halves: 0x80, zeros, BE64(512) */
static const uint8_t PAD_64_LO[32] = {0x80};
static const uint8_t PAD_64_HI[32] = {[30] = 0x02};

/* Prefetch distance in nodes: far enough to hide a DRAM miss behind a few labels. */
#define PREFETCH_AHEAD 4

static void header_block(uint8_t hdr[32], uint32_t layer, uint64_t v) {
  memset(hdr, 0, 32);
  hdr[0] = (uint8_t)(layer >> 24);
  hdr[1] = (uint8_t)(layer >> 16);
  hdr[2] = (uint8_t)(layer >> 8);
  hdr[3] = (uint8_t)layer;
  for (int i = 0; i < 8; i++) hdr[4 + i] = (uint8_t)(v >> (56 - 8 * i));
}

static void store_label(uint8_t *out, const uint32_t st[8]) {
  for (int i = 0; i < 8; i++) {
    out[4 * i] = (uint8_t)(st[i] >> 24);
    out[4 * i + 1] = (uint8_t)(st[i] >> 16);
    out[4 * i + 2] = (uint8_t)(st[i] >> 8);
    out[4 * i + 3] = (uint8_t)st[i];
  }
  out[31] &= 0x3f;
}

/* The 37 parent label pointers of §5 followed by the padding half (38 halves = 19 blocks). */
static void parent_sequence(const uint8_t *seq[38], const uint32_t *p, uint32_t layer,
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
  seq[37] = PAD_1248;
}

static bool parents_valid(const uint32_t *p, uint64_t v, uint64_t nodes, uint32_t layer) {
  for (int i = 0; i < SS_SDR_BASE_DEGREE; i++)
    if (p[i] >= v) return false;
  if (layer >= 2)
    for (int i = SS_SDR_BASE_DEGREE; i < SS_SDR_DEGREE; i++)
      if (p[i] >= nodes) return false;
  return true;
}

static inline void prefetch_parents(const uint32_t *p, const uint8_t *cur, const uint8_t *prev,
                                    uint64_t nodes, uint32_t layer) {
  for (int i = 0; i < SS_SDR_BASE_DEGREE; i++)
    if (p[i] < nodes) __builtin_prefetch(cur + 32 * (uint64_t)p[i], 0, 3);
  if (layer >= 2)
    for (int i = SS_SDR_BASE_DEGREE; i < SS_SDR_DEGREE; i++)
      if (p[i] < nodes) __builtin_prefetch(prev + 32 * (uint64_t)p[i], 0, 3);
}

static int64_t label_range_portable(const uint8_t replica_id[32], uint32_t layer, uint64_t nodes,
                                    uint64_t start, uint64_t count, const uint32_t *parents,
                                    uint8_t *cur, const uint8_t *prev) {
  uint8_t hdr[32];
  const uint8_t *seq[38];
  for (uint64_t i = 0; i < count; i++) {
    const uint64_t v = start + i;
    const uint32_t *p = parents + SS_SDR_DEGREE * i;
    if (i + PREFETCH_AHEAD < count)
      prefetch_parents(p + SS_SDR_DEGREE * PREFETCH_AHEAD, cur, prev, nodes, layer);
    uint32_t st[8];
    memcpy(st, SHA256_IV, sizeof(st));
    header_block(hdr, layer, v);
    ss_sdr_sha_compress2(st, replica_id, hdr);
    if (v == 0) {
      ss_sdr_sha_compress2(st, PAD_64_LO, PAD_64_HI);
    } else {
      if (!parents_valid(p, v, nodes, layer)) return (int64_t)i;
      parent_sequence(seq, p, layer, cur, prev);
      for (int b = 0; b < 19; b++) ss_sdr_sha_compress2(st, seq[2 * b], seq[2 * b + 1]);
    }
    store_label(cur + 32 * v, st);
  }
  return -1;
}

int64_t ss_sdr_label_range(const uint8_t replica_id[32], uint32_t layer, uint64_t nodes,
                           uint64_t start, uint64_t count, const uint32_t *parents, uint8_t *cur,
                           const uint8_t *prev, bool use_sha_ni) {
  (void)use_sha_ni;
  return label_range_portable(replica_id, layer, nodes, start, count, parents, cur, prev);
}
