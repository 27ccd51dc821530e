/* The SDR graph (rust-fil-proofs `storage-proofs-core/src/drgraph.rs`, `storage-proofs-porep/src/stacked/vanilla/graph.rs`): 6 DRG (bucket-sampling) parents in the current
 * layer and 8 expander (Feistel) parents in the previous layer, per node. Pure C: the caller
 * derives the DRG seed and Feistel keys (two SHA-256 of the porep id) and passes them in. */
#ifndef SS_SDR_GRAPH_H
#define SS_SDR_GRAPH_H
#include <stdbool.h>
#include <stdint.h>

#define SS_SDR_BASE_DEGREE 6
#define SS_SDR_EXP_DEGREE 8
#define SS_SDR_DEGREE 14

typedef struct {
  uint8_t drg_seed[28];     /* first 28 bytes of SHA-256("Filecoin_DRSample" || porep_id) */
  uint64_t feistel_keys[4]; /* u64 LE words of SHA-256("Filecoin_Feistel" || porep_id) */
  uint64_t nodes;
  uint64_t left_mask, right_mask;
  unsigned half_bits;
  bool legacy; /* V1_0: predecessor last among the base parents, expander index truncated to u32 */
} ss_sdr_graph;

/* Builds the graph description; nodes must be >= 2 and < 2^32. */
void ss_sdr_graph_init(ss_sdr_graph *g, const uint8_t drg_seed[28], const uint64_t feistel_keys[4],
                       uint64_t nodes, bool legacy);

/* The 6 DRG parents of `node` (all 0 for nodes 0 and 1). */
void ss_sdr_graph_base_parents(const ss_sdr_graph *g, uint64_t node, uint32_t out[6]);

/* The 8 expander parents of `node`. */
void ss_sdr_graph_exp_parents(const ss_sdr_graph *g, uint64_t node, uint32_t out[8]);

/* Parents of nodes [start, start+count): 14 per node (6 base then 8 expander), into out. */
void ss_sdr_graph_parents(const ss_sdr_graph *g, uint64_t start, uint64_t count, uint32_t *out);

/* The Feistel permutation of [0, 8*nodes) with cycle walking (exposed for tests). */
uint64_t ss_sdr_graph_permute(const ss_sdr_graph *g, uint64_t index);

#endif
