/* SDR labelling (rust-fil-proofs `stacked/vanilla/create_label/`): L_l[v] = trunc254(SHA-256(replica_id || u32 BE(l) ||
 * u64 BE(v) || 20 zero bytes || 37 parent labels)), the parents being read straight from the
 * layer buffers (no message copy). Pure C, no N-API, no globals. */
#ifndef SS_SDR_LABELS_H
#define SS_SDR_LABELS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Labels nodes [start, start+count) of layer `layer` (1-based) into `cur`.
 *  parents: 14 u32 per node of the range (6 base, 8 expander), as ss_sdr_graph_parents writes.
 *  cur:     the whole current layer (nodes × 32 bytes); nodes < start must be labelled already.
 *  prev:    the whole previous layer (nodes × 32 bytes) for layer >= 2, ignored for layer 1.
 * Parents are checked before use (base parents < v, expander parents < nodes), so a corrupt
 * parent list cannot read out of bounds. Returns -1 when every node was labelled, else the
 * offset in the range of the first node with an invalid parent (nodes before it are done). */
int64_t ss_sdr_label_range(const uint8_t replica_id[32], uint32_t layer, uint64_t nodes,
                           uint64_t start, uint64_t count, const uint32_t *parents, uint8_t *cur,
                           const uint8_t *prev, bool use_sha_ni);

/* Asks the kernel to back the 2 MiB-aligned interior of [addr, addr+len) with transparent huge
 * pages (madvise MADV_HUGEPAGE; Linux only). Best done before the pages are first touched. Layer
 * buffers are read at random: with 4 KiB pages every parent is a TLB miss, and prefetches that
 * miss the TLB arrive late (layer 2 of a 128 MiB sector: 0.70 → 0.92 of the SHA limit).
 * Returns false when the hint was not applied (too small, unsupported, refused). */
bool ss_sdr_advise_huge_pages(void *addr, size_t len);

#endif
