/* Label kernels. A label is 20 chained SHA-256 compressions: block 0 = replica id || header,
 * blocks 1..18 = pairs of parent labels, block 19 = the 37th parent || padding (1248-byte
 * message). Node 0 hashes the 64-byte prefix alone (2 compressions). */
#include "sdr_labels.h"
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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
 * fills the final block with the padding. `runs[i]` is where parent i's labels are (in the layers,
 * or gathered; in a batch, the run of its labels in all k sectors) and `off` the sector's place in
 * a run (32·s). Returns the distinct block count. */
#define REPEAT_BLOCKS 18
static unsigned parent_blocks(ss_sha256_repeat *m, const uint8_t *const *runs, uint32_t layer, size_t off) {
  const int n = layer == 1 ? SS_SDR_BASE_DEGREE : SS_SDR_DEGREE;
  for (int i = 0; i < n; i++) m->pairs[i] = runs[i] + off;
  m->last = layer == 1 ? m->pairs[0] : m->pairs[SS_SDR_BASE_DEGREE + 2];
  return (unsigned)n / 2;
}

/* Where each parent's labels are in the layers: base parents in the current layer, expander
 * parents (layers >= 2) in the previous one; `stride` is the distance between two nodes' labels
 * (32, or 32·k in a batch's interleaved layers). */
static void parent_runs(const uint8_t **runs, const uint32_t *p, uint32_t layer, const uint8_t *cur,
                        const uint8_t *prev, size_t stride) {
  for (int i = 0; i < SS_SDR_BASE_DEGREE; i++) runs[i] = cur + stride * p[i];
  if (layer >= 2)
    for (int i = SS_SDR_BASE_DEGREE; i < SS_SDR_DEGREE; i++) runs[i] = prev + stride * p[i];
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

/* ---- Parents gathered ahead on a second thread. ---------------------------------------------
 * Beyond the caches most of a node's parents are random reads: its expander parents anywhere in
 * the previous layer, most base parents far back in the current one. Prefetching them a few
 * nodes ahead leaves a large layer's labelling waiting on memory all the same (512 MiB, one
 * sector: layer 2 at 0.90 M labels/s against 1.31 M from the caches). With a core to spare, a
 * gathering thread copies each node's parent labels into a ring of slots ahead of the labeller
 * (rust-fil-proofs' multicore SDR does the same with its producer threads), and the labeller reads
 * one contiguous slot per node. A base parent that was not labelled yet when its node was gathered
 * (it lies within the ring's reach behind the node) is not copied: its slot entry points into the
 * layer, where it was written moments before the labeller needs it. The labeller publishes how
 * many nodes it finished (`consumed`), the gatherer how many slots are ready (`produced`). */
#define GATHER_RING_BYTES (256u << 10) /* ring data per call: well inside a core's L2 */
#define GATHER_MIN_NODES 4096          /* below this a range is over before a thread helps */
#define SPIN_BEFORE_YIELD 4096
#define RUNS_PER_SLOT 16 /* a slot's 14 run pointers padded to two cache lines of their own */

typedef struct {
  const uint32_t *parents;
  const uint8_t *cur, *prev;
  uint64_t start, count, nodes, ring;
  size_t stride;
  uint32_t layer;
  uint8_t *data;        /* ring × 14 runs of `stride` bytes */
  const uint8_t **runs; /* ring × RUNS_PER_SLOT pointers: into `data`, or into the current layer */
  pthread_t thread;
  uint64_t produced __attribute__((aligned(64)));
  uint64_t consumed __attribute__((aligned(64)));
  int32_t stop __attribute__((aligned(64)));
} gatherer;

static inline void spin_pause(unsigned *spins) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
  if (++*spins % SPIN_BEFORE_YIELD == 0) sched_yield();
}

/* The gatherer usually runs ahead and finds the ring full. It then waits until half of it is free,
 * sleeping between looks, so that a thread ahead costs its core little (the labeller still has
 * half a ring, 32 to 256 nodes, before it could run dry: longer than the sleep). */
static void wait_for_room(void) {
  struct timespec ts = {0, 20000};
  nanosleep(&ts, NULL);
}

static void *gather_main(void *arg) {
  gatherer *g = arg;
  uint64_t cons = 0;
  for (uint64_t i = 0; i < g->count; i++) {
    if (i % 32 == 0 || i >= cons + g->ring) {
      if (__atomic_load_n(&g->stop, __ATOMIC_RELAXED)) return NULL;
      cons = __atomic_load_n(&g->consumed, __ATOMIC_ACQUIRE);
    }
    if (i >= cons + g->ring) {
      while (i + g->ring / 2 >= cons + g->ring) {
        if (__atomic_load_n(&g->stop, __ATOMIC_RELAXED)) return NULL;
        wait_for_room();
        cons = __atomic_load_n(&g->consumed, __ATOMIC_ACQUIRE);
      }
    }
    const uint32_t *p = g->parents + SS_SDR_DEGREE * i;
    const uint64_t slot = i % g->ring;
    uint8_t *d = g->data + slot * SS_SDR_DEGREE * g->stride;
    const uint8_t **r = g->runs + slot * RUNS_PER_SLOT;
    const uint64_t labelled = g->start + cons; /* every node below is labelled and visible */
    for (int j = 0; j < SS_SDR_BASE_DEGREE; j++) {
      /* an invalid parent (>= the node) is never read here: the labeller refuses its node */
      if (p[j] < labelled) {
        memcpy(d + j * g->stride, g->cur + g->stride * p[j], g->stride);
        r[j] = d + j * g->stride;
      } else {
        r[j] = p[j] < g->nodes ? g->cur + g->stride * p[j] : NULL;
      }
    }
    if (g->layer >= 2)
      for (int j = SS_SDR_BASE_DEGREE; j < SS_SDR_DEGREE; j++) {
        if (p[j] < g->nodes) memcpy(d + j * g->stride, g->prev + g->stride * p[j], g->stride);
        r[j] = d + j * g->stride;
      }
    __atomic_store_n(&g->produced, i + 1, __ATOMIC_RELEASE);
  }
  return NULL;
}

/* Starts a gatherer for the range, or returns NULL (range too short, no memory, no thread): the
 * labeller then reads the layers itself. */
static gatherer *gather_start(const uint32_t *parents, const uint8_t *cur, const uint8_t *prev, uint64_t start,
                              uint64_t count, uint64_t nodes, uint32_t layer, size_t stride) {
  if (count < GATHER_MIN_NODES) return NULL;
  uint64_t ring = 512;
  while (ring > 16 && ring * SS_SDR_DEGREE * stride > GATHER_RING_BYTES) ring /= 2;
  gatherer *g = NULL;
  if (posix_memalign((void **)&g, 64, sizeof *g) != 0) return NULL;
  *g = (gatherer){.parents = parents, .cur = cur, .prev = prev, .start = start, .count = count, .nodes = nodes,
                  .ring = ring, .stride = stride, .layer = layer};
  if (posix_memalign((void **)&g->runs, 64, ring * RUNS_PER_SLOT * sizeof *g->runs) != 0) g->runs = NULL;
  if (g->runs != NULL && posix_memalign((void **)&g->data, 64, ring * SS_SDR_DEGREE * stride) != 0) g->data = NULL;
  if (g->data == NULL || pthread_create(&g->thread, NULL, gather_main, g) != 0) {
    free(g->data);
    free(g->runs);
    free(g);
    return NULL;
  }
  return g;
}

/* Waits until node i's slot is ready and returns its 14 runs; prefetches a slot further on. */
static inline const uint8_t *const *gather_take(gatherer *g, uint64_t i, uint64_t *produced) {
  unsigned spins = 0;
  while (*produced <= i) {
    *produced = __atomic_load_n(&g->produced, __ATOMIC_ACQUIRE);
    if (*produced <= i) spin_pause(&spins);
  }
  /* a slot the gatherer filled a while ago: its lines move to this core before they are needed */
  if (*produced > i + PREFETCH_AHEAD) {
    const uint64_t slot = (i + PREFETCH_AHEAD) % g->ring;
    const uint8_t *d = g->data + slot * SS_SDR_DEGREE * g->stride;
    for (size_t off = 0; off < SS_SDR_DEGREE * g->stride; off += 64) prefetch_line(d + off);
    prefetch_line(g->runs + slot * RUNS_PER_SLOT);
    prefetch_line(g->runs + slot * RUNS_PER_SLOT + 8);
  }
  return g->runs + (i % g->ring) * RUNS_PER_SLOT;
}

static inline void gather_done(gatherer *g, uint64_t i) {
  if (g) __atomic_store_n(&g->consumed, i + 1, __ATOMIC_RELEASE);
}

static void gather_stop(gatherer *g) {
  if (!g) return;
  __atomic_store_n(&g->stop, 1, __ATOMIC_RELAXED);
  pthread_join(g->thread, NULL);
  free(g->data);
  free(g->runs);
  free(g);
}

/* One sector: each label's first block (replica id || layer/node header) does not depend on
 * any other label, so it is hashed one node ahead, beside the previous label's chain
 * (ss_sha256_repeat_from); a label's chain on the critical path is then 19 compressions, not 20. */
static int64_t label_range_one(const uint8_t *replica_id, uint32_t layer, uint64_t nodes, uint64_t start, uint64_t count,
                               const uint32_t *parents, uint8_t *cur, const uint8_t *prev, unsigned simd,
                               const int32_t *cancel, bool gather, bool *gathered) {
  uint8_t hdr[2][32];
  ss_sha256_repeat m;
  uint32_t head[2][8];
  const uint8_t *own_runs[SS_SDR_DEGREE];
  const bool straddles = ((uintptr_t)cur & 31) != 0 || (layer >= 2 && ((uintptr_t)prev & 31) != 0);
  bool have_head = false; /* head[i % 2] holds node v's first-block state */
  gatherer *g = gather ? gather_start(parents, cur, prev, start, count, nodes, layer, 32) : NULL;
  if (gathered) *gathered = g != NULL;
  uint64_t produced = 0;
  int64_t result = -1;
  for (uint64_t i = 0; i < count; i++) {
    if (i % SS_SDR_CANCEL_NODES == 0 && ss_cancel_requested(cancel)) {
      result = SS_CANCELLED;
      break;
    }
    const uint64_t v = start + i;
    const uint32_t *p = parents + SS_SDR_DEGREE * i;
    const uint8_t *const *runs = own_runs;
    if (g)
      runs = gather_take(g, i, &produced);
    else if (i + PREFETCH_AHEAD < count)
      prefetch_parents(p + SS_SDR_DEGREE * PREFETCH_AHEAD, cur, layer >= 2 ? prev : NULL, nodes, layer, straddles);
    uint8_t *out = cur + 32 * v;
    uint8_t *h = hdr[i % 2];
    if (v == 0) {
      const uint8_t *chunks[2] = {replica_id, h};
      header_block(h, layer, v);
      ss_sha256_chunks(simd, chunks, 2, out);
      have_head = false;
    } else {
      if (!parents_valid(p, v, nodes, layer)) {
        result = (int64_t)i;
        break;
      }
      if (!have_head) {
        header_block(h, layer, v);
        ss_sha256_init(head[i % 2]);
        ss_sha256_compress_halves(simd, head[i % 2], replica_id, h);
      }
      if (!g) parent_runs(own_runs, p, layer, cur, prev, 32);
      const unsigned distinct = parent_blocks(&m, runs, layer, 0);
      const bool next = i + 1 < count;
      uint8_t *hn = hdr[(i + 1) % 2];
      if (next) header_block(hn, layer, v + 1);
      ss_sha256_repeat_from(simd, head[i % 2], &m, distinct, REPEAT_BLOCKS, next ? replica_id : NULL, hn,
                            head[(i + 1) % 2], out);
      have_head = next;
    }
    ss_trunc254(out);
    gather_done(g, i);
  }
  gather_stop(g);
  return result;
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
                                 const uint8_t *prev, unsigned simd, const int32_t *cancel, bool gather,
                                 bool *gathered) {
  if (gathered) *gathered = false;
  if (k < 1 || k > SS_SDR_BATCH_MAX) return -1;
  if (k == 1) return label_range_one(replica_ids[0], layer, nodes, start, count, parents, cur, prev, simd, cancel, gather, gathered);
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
  const uint8_t *own_runs[SS_SDR_DEGREE];
  for (unsigned s = 0; s < k; s++) {
    chunks[s][0] = replica_ids[s];
    chunks[s][1] = hdr;
    streams[s] = chunks[s];
    ms[s] = &blocks[s];
  }
  gatherer *g = gather ? gather_start(parents, cur, prev, start, count, nodes, layer, stride) : NULL;
  if (gathered) *gathered = g != NULL;
  uint64_t produced = 0;
  int64_t result = -1;
  for (uint64_t i = 0; i < count; i++) {
    if (i % SS_SDR_CANCEL_NODES == 0 && ss_cancel_requested(cancel)) {
      result = SS_CANCELLED;
      break;
    }
    const uint64_t v = start + i;
    const uint32_t *p = parents + SS_SDR_DEGREE * i;
    /* the parents of a node are the same in every sector of the batch: read and prefetched once */
    const uint8_t *const *runs = own_runs;
    if (g)
      runs = gather_take(g, i, &produced);
    else if (i + PREFETCH_AHEAD < count)
      prefetch_parents_batch(p + SS_SDR_DEGREE * PREFETCH_AHEAD, cur, layer >= 2 ? prev : NULL, nodes, layer, stride);
    header_block(hdr, layer, v);
    for (unsigned s = 0; s < k; s++) outs[s] = cur + stride * v + 32 * s;
    if (v == 0) {
      ss_sha256_chunks_multi(simd, k, streams, 2, outs);
    } else {
      if (!parents_valid(p, v, nodes, layer)) {
        result = (int64_t)i;
        break;
      }
      if (!g) parent_runs(own_runs, p, layer, cur, prev, stride);
      unsigned distinct = 0;
      for (unsigned s = 0; s < k; s++) distinct = parent_blocks(&blocks[s], runs, layer, 32 * (size_t)s);
      ss_sha256_repeat_multi(simd, k, replica_ids, hdr, ms, distinct, REPEAT_BLOCKS, outs);
    }
    for (unsigned s = 0; s < k; s++) ss_trunc254(outs[s]);
    gather_done(g, i);
  }
  gather_stop(g);
  return result;
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
                           const uint8_t *prev, unsigned simd, const int32_t *cancel, bool gather, bool *gathered) {
  return label_range_one(replica_id, layer, nodes, start, count, parents, cur, prev, simd, cancel, gather, gathered);
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
