/* neptune Poseidon over BLS12-381 Fr, Strength::Standard, HashType::MerkleTree
 * (neptune `poseidon.rs`, `round_numbers.rs`): width t = arity + 1, S-box x^5, R_F = 8, R_P from neptune's round
 * number table, Grain LFSR round constants, Cauchy MDS, domain tag 2^arity - 1 in s[0],
 * output s[1].
 *
 * Two evaluations of the same permutation exist: the textbook reference form (kept as the
 * oracle the optimised form is tested against) and the optimised form used for hashing
 * (round constants folded so that partial rounds add one scalar, and the dense MDS of the
 * partial rounds factored into sparse matrices; see poseidon_opt.c). */
#ifndef SS_POSEIDON_H
#define SS_POSEIDON_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "fr.h"

#define SS_POSEIDON_MAX_ARITY 36

typedef struct {
  int arity, t, rf, rp;
  bool use_adx; /* the CPU has MULX/ADX: the optimised form uses fr_adx.h */
  ss_fr tag;  /* 2^arity - 1 */
  ss_fr *rc;  /* (rf + rp) * t round constants, in consumption order */
  ss_fr *mds; /* t * t, row major: new[i] = sum_j mds[i*t+j] * s[j] */
  /* optimised form (filled by ss_poseidon_opt_build) */
  ss_fr *full_rc;    /* rf * t constants of the full rounds; the first second-half round absorbs
                        the residual of the folded partial-round constants */
  ss_fr *pre_sparse; /* t * t matrix replacing the MDS of the last first-half full round */
  ss_fr *partial_k;  /* rp scalars added to s[0] before the S-box of each partial round */
  ss_fr *sparse;     /* rp blocks of (2t - 1): m00, w[1..t-1] (row 0), v[1..t-1] (column 0) */
} ss_poseidon_params;

/* Partial rounds for an arity, or 0 when neptune defines none we know of. Supported arities:
 * 1..16, 24, 36 (neptune's calc_round_numbers known values). */
int ss_poseidon_partial_rounds(int arity);

/* Builds constants for an arity (reference and optimised form). NULL on unsupported arity or
 * out of memory. */
ss_poseidon_params *ss_poseidon_params_new(int arity);
void ss_poseidon_params_free(ss_poseidon_params *p);

/* One hash of `arity` Montgomery inputs. */
void ss_poseidon_hash_ref(const ss_poseidon_params *p, const ss_fr *in, ss_fr *out);
void ss_poseidon_hash(const ss_poseidon_params *p, const ss_fr *in, ss_fr *out);
/* Four independent hashes at once (in: 4 × arity inputs, out: 4), interleaved for ILP; same
 * results as four ss_poseidon_hash calls. */
void ss_poseidon_hash4(const ss_poseidon_params *p, const ss_fr *in, ss_fr *out);
/* The optimised form with the portable product even when ADX is present (tests). */
void ss_poseidon_hash_portable(const ss_poseidon_params *p, const ss_fr *in, ss_fr *out);

/* Which permutation the bulk functions use. */
typedef enum { SS_POSEIDON_FAST = 0, SS_POSEIDON_REFERENCE = 1, SS_POSEIDON_PORTABLE = 2 } ss_poseidon_mode;

/* Builds the optimised-form tables of p (called by ss_poseidon_params_new). false on OOM. */
bool ss_poseidon_opt_build(ss_poseidon_params *p);

/* Byte-level bulk operations over canonical LE 32-byte nodes. Each returns -1 on success or
 * the index (in 32-byte elements of the input) of the first element >= r; outputs before the
 * failing element may have been written. */

/* out[i] = Poseidon(in[i*arity .. i*arity + arity - 1]) for i < count. */
int64_t ss_poseidon_hash_many(const ss_poseidon_params *p, const uint8_t *in, uint8_t *out, size_t count,
                              ss_poseidon_mode mode);
/* out[v] = Poseidon_k(layers[0][v], …, layers[k-1][v]) for v < nodes; k = p->arity. The
 * returned index is v * k + layer. */
int64_t ss_poseidon_columns(const ss_poseidon_params *p, const uint8_t *const *layers, uint8_t *out,
                            size_t nodes);

/* Encoding (rust-fil-proofs `storage-proofs-porep/src/encode.rs`): out = (a + b) mod r or (a - b) mod r per node. Returns -1 or
 * the first node index where an input is >= r (a checked first); nothing is written then. */
int64_t ss_fr_add_nodes(const uint8_t *a, const uint8_t *b, uint8_t *out, size_t nodes);
int64_t ss_fr_sub_nodes(const uint8_t *a, const uint8_t *b, uint8_t *out, size_t nodes);

#endif
