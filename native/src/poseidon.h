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
#include "cpu.h"
#include "fr.h"

#define SS_POSEIDON_MAX_ARITY 36

/* A constant in the IFMA form (poseidon_ifma.c): five 52-bit limbs, Montgomery R' = 2^260. */
typedef struct {
  uint64_t l[5];
} ss_fr52;

/* Widest state the IFMA permutation takes (its lazy-reduction bound; arity 16). */
#define SS_POSEIDON_IFMA_MAX_WIDTH 17

/* The optimised form's constants in the IFMA form, and R'^2 mod r. */
typedef struct {
  ss_fr52 tag, r2;
  ss_fr52 *full_rc, *mds, *pre_sparse, *partial_k, *sparse;
} ss_poseidon_ifma;

typedef struct {
  int arity, t, rf, rp;
  ss_fr tag;  /* 2^arity - 1 */
  ss_fr *rc;  /* (rf + rp) * t round constants, in consumption order */
  ss_fr *mds; /* t * t, row major: new[i] = sum_j mds[i*t+j] * s[j] */
  /* optimised form (filled by ss_poseidon_opt_build) */
  ss_fr *full_rc;    /* rf * t constants of the full rounds; the first second-half round absorbs
                        the residual of the folded partial-round constants */
  ss_fr *pre_sparse; /* t * t matrix replacing the MDS of the last first-half full round */
  ss_fr *partial_k;  /* rp scalars added to s[0] before the S-box of each partial round */
  ss_fr *sparse;     /* rp blocks of (2t - 1): m00, w[1..t-1] (row 0), v[1..t-1] (column 0) */
  ss_fr *w3;         /* width 3 only (else NULL): the partial rounds rescaled (poseidon_opt.c) */
  ss_poseidon_ifma *ifma; /* the same in the IFMA form; NULL when t > SS_POSEIDON_IFMA_MAX_WIDTH */
} ss_poseidon_params;

/* Partial rounds for an arity, or 0 when neptune defines none we know of. Supported arities:
 * 1..16, 24, 36 (neptune's calc_round_numbers known values). */
int ss_poseidon_partial_rounds(int arity);

/* Builds constants for an arity (reference and optimised form). NULL on unsupported arity or
 * out of memory. */
ss_poseidon_params *ss_poseidon_params_new(int arity);
void ss_poseidon_params_free(ss_poseidon_params *p);

/* One hash of `arity` Montgomery inputs: the reference permutation, or the optimised one with
 * the features `simd` enables (cpu.h; SS_HW_ADX selects the MULX/ADX product, 0 the portable
 * one). */
void ss_poseidon_hash_ref(const ss_poseidon_params *p, const ss_fr *in, ss_fr *out);
void ss_poseidon_hash(const ss_poseidon_params *p, const ss_fr *in, ss_fr *out, unsigned simd);
/* Four independent hashes at once (in: 4 × arity inputs, out: 4), interleaved for ILP; same
 * results as four ss_poseidon_hash calls. Arity 2 on MULX/ADX runs a width-3 kernel of its own
 * (poseidon_opt.c, tables in `w3`). */
void ss_poseidon_hash4(const ss_poseidon_params *p, const ss_fr *in, ss_fr *out, unsigned simd);
/* The same, reducing every product (no lazy reduction, no IFMA): the scalar permutation as it
 * was before lazy reduction, kept as the benchmarks' baseline. */
void ss_poseidon_hash_eager(const ss_poseidon_params *p, const ss_fr *in, ss_fr *out, unsigned simd);
void ss_poseidon_hash4_eager(const ss_poseidon_params *p, const ss_fr *in, ss_fr *out, unsigned simd);

/* Which permutation the bulk functions use: the optimised one with the caller's features, the
 * reference one, or the optimised one in portable C whatever the features. */
typedef enum {
  SS_POSEIDON_FAST = 0,
  SS_POSEIDON_REFERENCE = 1,
  SS_POSEIDON_PORTABLE = 2,
  SS_POSEIDON_EAGER = 3 /* the optimised one reducing every product (benchmark baseline) */
} ss_poseidon_mode;

/* Builds the optimised-form tables of p (called by ss_poseidon_params_new). false on OOM. */
bool ss_poseidon_opt_build(ss_poseidon_params *p);
/* Converts them to the IFMA form (plain C; called by ss_poseidon_params_new). false on OOM. */
bool ss_poseidon_ifma_build(ss_poseidon_params *p);
void ss_poseidon_ifma_free(ss_poseidon_ifma *f);
/* Eight hashes on AVX-512 IFMA (only with SS_HW_IFMA, and p->ifma built): in[lane * arity + j]
 * is element j of hash `lane` (canonical LE bytes, checked < r by the caller), out[lane] its
 * 32-byte result. Same results as ss_poseidon_hash. */
void ss_poseidon_hash8_ifma(const ss_poseidon_params *p, const uint8_t *const *in, uint8_t *const *out);

/* Byte-level bulk operations over canonical LE 32-byte nodes. Each returns -1 on success or
 * the index (in 32-byte elements of the input) of the first element >= r; outputs before the
 * failing element may have been written. `cancel` (may be NULL) is polled every four hashes:
 * once it is set the call returns SS_CANCELLED (cancel.h) with part of `out` written. */

/* out[i] = Poseidon(in[i*arity .. i*arity + arity - 1]) for i < count. */
int64_t ss_poseidon_hash_many(const ss_poseidon_params *p, const uint8_t *in, uint8_t *out, size_t count,
                              ss_poseidon_mode mode, unsigned simd, const int32_t *cancel);
/* out[v] = Poseidon_k(layers[0][v], …, layers[k-1][v]) for v < nodes; k = p->arity. The
 * returned index is v * k + layer. */
int64_t ss_poseidon_columns(const ss_poseidon_params *p, const uint8_t *const *layers, uint8_t *out,
                            size_t nodes, unsigned simd, const int32_t *cancel);

/* Encoding (rust-fil-proofs `storage-proofs-porep/src/encode.rs`): out = (a + b) mod r or (a - b) mod r per node. Returns -1 or
 * the first node index where an input is >= r (a checked first); nothing is written then. */
int64_t ss_fr_add_nodes(const uint8_t *a, const uint8_t *b, uint8_t *out, size_t nodes);
int64_t ss_fr_sub_nodes(const uint8_t *a, const uint8_t *b, uint8_t *out, size_t nodes);

#endif
