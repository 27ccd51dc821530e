/* N-API glue for the poseidon area: Poseidon hashing and Fr node encoding. Lengths and types are
 * validated by native/poseidon.ts; this file re-checks what C relies on (buffer sizes) so a
 * direct caller cannot make C read or write out of bounds. Constants are built per arity on
 * first use and cached in the instance data (one copy per worker thread, no statics). */
#include <stdlib.h>
#include "fr_adx.h"
#include "napi_util.h"
#include "poseidon.h"
#include "poseidon_mt.h"

typedef struct {
  ss_poseidon_params *by_arity[SS_POSEIDON_MAX_ARITY + 1];
} poseidon_cache;

static void cache_free(void *data) {
  poseidon_cache *c = (poseidon_cache *)data;
  for (int i = 0; i <= SS_POSEIDON_MAX_ARITY; i++) ss_poseidon_params_free(c->by_arity[i]);
  free(c);
}

/* Constants for an arity, building them on first use; throws and returns NULL on failure. */
static const ss_poseidon_params *params_for(napi_env env, uint64_t arity) {
  if (arity > SS_POSEIDON_MAX_ARITY || ss_poseidon_partial_rounds((int)arity) == 0) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "arity must be one of 1..16, 24, 36");
    return NULL;
  }
  ss_instance *inst = ss_get_instance(env);
  if (!inst) {
    napi_throw_error(env, "NATIVE_CALL_FAILED", "addon instance data missing");
    return NULL;
  }
  if (!inst->poseidon) {
    inst->poseidon = calloc(1, sizeof(poseidon_cache));
    if (!inst->poseidon) {
      napi_throw_error(env, "NATIVE_OOM", "out of memory");
      return NULL;
    }
    inst->poseidon_free = cache_free;
  }
  poseidon_cache *c = (poseidon_cache *)inst->poseidon;
  if (!c->by_arity[arity]) {
    c->by_arity[arity] = ss_poseidon_params_new((int)arity);
    if (!c->by_arity[arity]) {
      napi_throw_error(env, "NATIVE_OOM", "could not build Poseidon constants");
      return NULL;
    }
  }
  return c->by_arity[arity];
}

/* Optional trailing `threads` argument at argv[idx] (absent or undefined: 1). The params are
 * built by params_for before any thread starts, so the threads only read instance data. */
#define SS_THREADS(name, idx)                                           \
  unsigned name = 1;                                                    \
  do {                                                                  \
    napi_valuetype vt_ = napi_undefined;                                \
    if (argc > (idx)) SS_CALL(env, napi_typeof(env, argv[idx], &vt_)); \
    if (vt_ != napi_undefined) {                                        \
      SS_U64(name##_v, idx);                                            \
      if (name##_v < 1 || name##_v > 1024) SS_RANGE_ERROR("threads must be 1..1024"); \
      name = (unsigned)name##_v;                                        \
    }                                                                   \
  } while (0)

/* poseidonHashMany(arity, inputs, out, mode, threads?, cancel?) -> -1, the index of the first
 * element >= r, or -2 when cancelled (cancel.h).
 * mode: 0 fastest for this CPU, 1 reference permutation, 2 optimised with the portable product,
 * 3 optimised reducing every product (the scalar code before lazy reduction and IFMA). */
static napi_value poseidon_hash_many(napi_env env, napi_callback_info info) {
  SS_ARGS_UPTO(4, 6);
  SS_U64(arity, 0);
  SS_BYTES(inputs, 1);
  SS_BYTES(out, 2);
  SS_U64(mode, 3);
  SS_THREADS(threads, 4);
  SS_CANCEL_FLAG(cancel, 5);
  const ss_poseidon_params *p = params_for(env, arity);
  if (!p) return NULL;
  if (out_len % 32 != 0 || inputs_len != out_len * arity) SS_RANGE_ERROR("inputs must be arity x out bytes");
  if (mode > SS_POSEIDON_EAGER) SS_RANGE_ERROR("mode must be 0, 1, 2 or 3");
  return ss_number(env, (double)ss_poseidon_hash_many_mt(p, inputs, out, out_len / 32, (ss_poseidon_mode)mode, ss_simd(env), threads, cancel));
}

/* poseidonColumns(layers: Uint8Array[], out, threads?, cancel?) -> -1, (node * layers + layer)
 * of the first bad element, or -2 when cancelled */
static napi_value poseidon_columns(napi_env env, napi_callback_info info) {
  SS_ARGS_UPTO(2, 4);
  SS_BYTES(out, 1);
  SS_THREADS(threads, 2);
  SS_CANCEL_FLAG(cancel, 3);
  bool is_array = false;
  SS_CALL(env, napi_is_array(env, argv[0], &is_array));
  if (!is_array) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "layers must be an array of Uint8Array");
    return NULL;
  }
  uint32_t k = 0;
  SS_CALL(env, napi_get_array_length(env, argv[0], &k));
  const ss_poseidon_params *p = params_for(env, k);
  if (!p) return NULL;
  if (out_len % 32 != 0) SS_RANGE_ERROR("out must be a multiple of 32 bytes");
  const uint8_t *layers[SS_POSEIDON_MAX_ARITY];
  for (uint32_t i = 0; i < k; i++) {
    napi_value el;
    SS_CALL(env, napi_get_element(env, argv[0], i, &el));
    bool is_ta = false;
    SS_CALL(env, napi_is_typedarray(env, el, &is_ta));
    napi_typedarray_type type = napi_int8_array;
    size_t len = 0;
    void *data = NULL;
    if (is_ta) SS_CALL(env, napi_get_typedarray_info(env, el, &type, &len, &data, NULL, NULL));
    if (!is_ta || type != napi_uint8_array) {
      napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "layers must be an array of Uint8Array");
      return NULL;
    }
    if (len != out_len) SS_RANGE_ERROR("every layer must have the length of out");
    layers[i] = (const uint8_t *)data;
  }
  return ss_number(env, (double)ss_poseidon_columns_mt(p, layers, out, out_len / 32, ss_simd(env), threads, cancel));
}

/* poseidonSplitThreads(hashes, threads) -> threads a bulk call of that many hashes runs on. */
static napi_value poseidon_split_threads(napi_env env, napi_callback_info info) {
  SS_ARGS(2);
  SS_U64(hashes, 0);
  SS_THREADS(threads, 1);
  return ss_number(env, (double)ss_poseidon_mt_threads((size_t)hashes, threads));
}

/* frAddNodes(a, b, out) / frSubNodes(a, b, out) -> -1 or the first node index holding a value >= r */
static napi_value fr_nodes(napi_env env, napi_callback_info info, bool add) {
  SS_ARGS(3);
  SS_BYTES(a, 0);
  SS_BYTES(b, 1);
  SS_BYTES(out, 2);
  if (a_len % 32 != 0 || b_len != a_len || out_len != a_len) SS_RANGE_ERROR("a, b and out must be equal multiples of 32 bytes");
  size_t nodes = a_len / 32;
  return ss_number(env, (double)(add ? ss_fr_add_nodes(a, b, out, nodes) : ss_fr_sub_nodes(a, b, out, nodes)));
}

static napi_value fr_add_nodes(napi_env env, napi_callback_info info) { return fr_nodes(env, info, true); }
static napi_value fr_sub_nodes(napi_env env, napi_callback_info info) { return fr_nodes(env, info, false); }

/* frAdxKernel(op, inputs, out) -> false when this CPU lacks MULX/ADX (nothing written), else
 * true with out = the op on `inputs` (32-byte LE words taken as Montgomery limbs, each < r).
 * For tests: the MULX/ADX blocks of the width-3 Poseidon kernel one at a time, against an
 * independent oracle. op: 0 a^2, 1 c0 s0 + c1 s1 + c2 s2 (inputs c0 c1 c2 s0 s1 s2),
 * 2 the same + k (inputs c0 c1 c2 k s0 s1 s2), 3 a b + k, 4 a + b; products are Montgomery
 * products (times 2^-256). */
static napi_value fr_adx_kernel(napi_env env, napi_callback_info info) {
  static const size_t operands[] = {1, 6, 7, 3, 2};
  SS_ARGS(3);
  SS_U64(op, 0);
  SS_BYTES(inputs, 1);
  SS_BYTES(out, 2);
  if (op > 4) SS_RANGE_ERROR("op must be 0..4");
  if (inputs_len != 32 * operands[op] || out_len != 32) SS_RANGE_ERROR("inputs must be the op's operands x 32 bytes and out 32 bytes");
  ss_fr v[7];
  for (size_t i = 0; i < operands[op]; i++) {
    if (!ss_fr_bytes_canonical(inputs + 32 * i)) SS_RANGE_ERROR("every input must be below r");
    ss_fr_load_raw(&v[i], inputs + 32 * i);
  }
#ifdef SS_FR_HAVE_ADX
  if (!(ss_cpu_features() & SS_HW_ADX)) return ss_bool(env, false);
  ss_fr r;
  switch (op) {
    case 0: ss_fr_sqr_adx(&r, &v[0]); break;
    case 1: ss_fr_dot3_adx(&r, &v[0], &v[3]); break;
    case 2: ss_fr_dot3_plus_adx(&r, &v[0], &v[4]); break;
    case 3: ss_fr_mul_plus_adx(&r, &v[0], &v[1], &v[2]); break;
    default: ss_fr_add_asm(&r, &v[0], &v[1]); break;
  }
  ss_fr_store_raw(out, &r);
  return ss_bool(env, true);
#else
  return ss_bool(env, false);
#endif
}

napi_status register_poseidon(napi_env env, napi_value exports) {
  napi_status s;
  if ((s = ss_export_fn(env, exports, "poseidonHashMany", poseidon_hash_many)) != napi_ok) return s;
  if ((s = ss_export_fn(env, exports, "poseidonColumns", poseidon_columns)) != napi_ok) return s;
  if ((s = ss_export_fn(env, exports, "poseidonSplitThreads", poseidon_split_threads)) != napi_ok) return s;
  if ((s = ss_export_fn(env, exports, "frAddNodes", fr_add_nodes)) != napi_ok) return s;
  if ((s = ss_export_fn(env, exports, "frAdxKernel", fr_adx_kernel)) != napi_ok) return s;
  return ss_export_fn(env, exports, "frSubNodes", fr_sub_nodes);
}
