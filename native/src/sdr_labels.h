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
 *  cancel:  polled every SS_SDR_CANCEL_NODES nodes (may be NULL, see cancel.h).
 *  gather:  a second thread copies the parents' labels into a small ring ahead of the labeller
 *           (it uses another core while the call runs); ranges under 4096 nodes, or when no
 *           thread can be started, label without it. Same labels either way. `gathered` (may be
 *           NULL) says whether a gatherer ran.
 * Parents are checked before use (base parents < v, expander parents < nodes), so a corrupt
 * parent list cannot read out of bounds. Returns -1 when every node was labelled, the offset in
 * the range of the first node with an invalid parent (nodes before it are done), or
 * SS_CANCELLED when the flag was set (a prefix of the range is labelled). */
int64_t ss_sdr_label_range(const uint8_t replica_id[32], uint32_t layer, uint64_t nodes,
                           uint64_t start, uint64_t count, const uint32_t *parents, uint8_t *cur,
                           const uint8_t *prev, unsigned simd, const int32_t *cancel, bool gather,
                           bool *gathered);

/* The same for a batch of k sectors of one graph (1 <= k <= SS_SDR_BATCH_MAX), labelled
 * together: replica_ids[s] belongs to sector s, and `cur` and `prev` hold the k sectors' layers
 * interleaved, node-major: node v of sector s at 32·(v·k + s) (nodes·k·32 bytes each; for k = 1
 * the plain layout). The parents are the same in every sector, so one parent's k labels are one
 * run of k·32 bytes: a node reads 14 runs of one to four adjacent cache lines where k separate
 * layers would cost 14·k scattered lines (and TLB walks); at 512 MiB, far beyond the caches,
 * that bounded a batch at about 1.3× one sector. With SHA-NI the k label hashes run as
 * interleaved streams. Same labels, bit for bit, as k single calls. */
int64_t ss_sdr_label_range_batch(unsigned k, const uint8_t *const *replica_ids, uint32_t layer, uint64_t nodes,
                                 uint64_t start, uint64_t count, const uint32_t *parents, uint8_t *cur,
                                 const uint8_t *prev, unsigned simd, const int32_t *cancel, bool gather,
                                 bool *gathered);

/* Copies nodes [start, start+count) of each of the k sectors out of an interleaved batch layer
 * into outs[s] (count·32 bytes each), in one pass over the batch's memory. */
void ss_sdr_batch_split(unsigned k, const uint8_t *batch, uint64_t start, uint64_t count, uint8_t *const *outs);

/* The reverse for one sector: nodes [start, start+count) of sector `sector` from `in` (count·32
 * bytes, plain layout) into the interleaved batch layer. */
void ss_sdr_batch_merge(unsigned k, uint8_t *batch, unsigned sector, uint64_t start, uint64_t count, const uint8_t *in);

#define SS_SDR_BATCH_MAX 8

/* Nodes labelled between two polls of the cancel flag: about a millisecond of work. */
#define SS_SDR_CANCEL_NODES 1024

/* Asks the kernel to back the 2 MiB-aligned interior of [addr, addr+len) with transparent huge
 * pages (madvise MADV_HUGEPAGE; Linux only). Best done before the pages are first touched. Layer
 * buffers are read at random: with 4 KiB pages every parent is a TLB miss, and prefetches that
 * miss the TLB arrive late (layer 2 of a 128 MiB sector: 0.70 → 0.92 of the SHA limit).
 * Returns false when the hint was not applied (too small, unsupported, refused). */
bool ss_sdr_advise_huge_pages(void *addr, size_t len);

#endif
