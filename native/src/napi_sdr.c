/* N-API glue for the sdr area: argument checks only; the work is in chacha8.c, blake2b.c,
 * sdr_graph.c and sdr_labels.c. The typed facade is native/sdr.ts, which validates first, so
 * the checks here only keep a direct caller from reading or writing out of bounds.
 *
 *   sdrParents(drgSeed: Uint8Array(28), feistelKeys: Uint8Array(32), nodes, legacy: boolean,
 *              start, out: Uint32Array(14·count), cancel?: Int32Array) -> -1, or -2 when cancelled
 *   sdrLabelRange(replicaId: Uint8Array(32), layer, start, parents: Uint32Array(14·count),
 *                 current: Uint8Array(32·nodes), previous: Uint8Array(32·nodes) | null,
 *                 cancel?: Int32Array)
 *                 -> -1, the offset in the range of the first node with an invalid parent, or
 *                    -2 when cancelled (cancel.h)
 *   sdrLabelRangeBatch(replicaIds: Uint8Array(32)[k], layer, start, parents: Uint32Array(14·count),
 *                      current: Uint8Array(32·k·nodes), previous: Uint8Array(32·k·nodes) | null,
 *                      cancel?: Int32Array) -> as sdrLabelRange, for k <= 8 sectors of one graph
 *                      whose layers are interleaved (node v of sector s at 32·(v·k + s))
 *   sdrBatchSplit(batch: Uint8Array(32·k·nodes), k, start, outs: Uint8Array(32·count)[k]) -> undefined
 *                 (nodes [start, start+count) of every sector out of an interleaved layer)
 *   sdrBatchMerge(batch, k, sector, start, input: Uint8Array(32·count)) -> undefined (the reverse, one sector)
 *   chachaWords(seed: Uint8Array(32), rounds, out: Uint32Array) -> undefined
 *   blake2b512(data: Uint8Array, out: Uint8Array(64)) -> undefined
 *   sdrPermute(drgSeed, feistelKeys, nodes, legacy, index) -> Feistel permutation of index
 *   sdrLayerBuffer(bytes) -> Buffer of `bytes` (1 B..4 GiB): 2 MiB-aligned, huge-page advised, zeroed
 */
#include <stdlib.h>
#include <string.h>
#include "blake2b.h"
#include "cancel.h"
#include "chacha8.h"
#include "napi_util.h"
#include "sdr_graph.h"
#include "sdr_labels.h"

/* A Uint32Array argument: yields uint32_t *name and size_t name##_len (elements). */
#define SDR_U32S(name, idx)                                             \
  uint32_t *name = NULL;                                                \
  size_t name##_len = 0;                                                \
  do {                                                                  \
    bool is_ta_ = false;                                                \
    SS_CALL(env, napi_is_typedarray(env, argv[idx], &is_ta_));          \
    napi_typedarray_type type_ = napi_int8_array;                       \
    void *data_ = NULL;                                                 \
    if (is_ta_)                                                         \
      SS_CALL(env, napi_get_typedarray_info(env, argv[idx], &type_, &name##_len, &data_, NULL, NULL)); \
    if (!is_ta_ || type_ != napi_uint32_array) {                        \
      napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", #name " must be a Uint32Array"); \
      return NULL;                                                      \
    }                                                                   \
    name = (uint32_t *)data_;                                           \
  } while (0)

static bool is_null_or_undefined(napi_env env, napi_value v) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return false;
  return t == napi_null || t == napi_undefined;
}


#define SDR_GRAPH_ARGS(g)                                               \
  SS_BYTES_LEN(drgSeed, 0, 28);                                         \
  SS_BYTES_LEN(feistelKeys, 1, 32);                                     \
  SS_U64(nodes, 2);                                                     \
  SS_BOOL(legacy, 3);                                                   \
  if (nodes < 2 || nodes > 0xffffffffULL) SS_RANGE_ERROR("nodes must be in [2, 2^32)"); \
  uint64_t keys_[4];                                                    \
  for (int i_ = 0; i_ < 4; i_++) {                                      \
    uint64_t k_ = 0;                                                    \
    for (int j_ = 7; j_ >= 0; j_--) k_ = k_ << 8 | feistelKeys[8 * i_ + j_]; \
    keys_[i_] = k_;                                                     \
  }                                                                     \
  ss_sdr_graph g;                                                       \
  ss_sdr_graph_init(&g, drgSeed, keys_, nodes, legacy)

static napi_value sdr_parents(napi_env env, napi_callback_info info) {
  SS_ARGS_UPTO(6, 7);
  SDR_GRAPH_ARGS(graph);
  SS_U64(start, 4);
  SDR_U32S(out, 5);
  SS_CANCEL_FLAG(cancel, 6);
  if (out_len % SS_SDR_DEGREE != 0) SS_RANGE_ERROR("out length must be a multiple of 14");
  uint64_t count = out_len / SS_SDR_DEGREE;
  if (start > nodes || count > nodes - start) SS_RANGE_ERROR("start + out.length / 14 must be <= nodes");
  return ss_number(env, ss_sdr_graph_parents(&graph, start, count, out, cancel, ss_simd(env)) ? -1 : SS_CANCELLED);
}

static napi_value sdr_permute(napi_env env, napi_callback_info info) {
  SS_ARGS(5);
  SDR_GRAPH_ARGS(graph);
  SS_U64(index, 4);
  if (index >= nodes * SS_SDR_EXP_DEGREE) SS_RANGE_ERROR("index must be < 8 * nodes");
  return ss_number(env, (double)ss_sdr_graph_permute(&graph, index));
}

static bool overlap(const uint8_t *a, size_t an, const uint8_t *b, size_t bn) { return a < b + bn && b < a + an; }

static void count_gathered(napi_env env, bool gathered) {
  ss_instance *inst = ss_get_instance(env);
  if (inst && gathered) inst->gathered_ranges++;
}

/* How many labeller calls of this thread's addon instance had their parents gathered by a second
 * thread: lets a test tell a gathered range from one that labelled alone. */
static napi_value sdr_gathered_ranges(napi_env env, napi_callback_info info) {
  (void)info;
  ss_instance *inst = ss_get_instance(env);
  return ss_number(env, inst ? inst->gathered_ranges : 0);
}

/* The optional last argument of the labellers: gather parents on a second thread. */
static bool gather_arg(napi_env env, size_t argc, napi_value *argv, size_t idx, bool *gather) {
  *gather = false;
  if (argc <= idx || is_null_or_undefined(env, argv[idx])) return true;
  if (napi_get_value_bool(env, argv[idx], gather) == napi_ok) return true;
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "gather must be a boolean");
  return false;
}

static napi_value sdr_label_range(napi_env env, napi_callback_info info) {
  SS_ARGS_UPTO(6, 8);
  SS_BYTES_LEN(replicaId, 0, 32);
  SS_U64(layer, 1);
  SS_U64(start, 2);
  SDR_U32S(parents, 3);
  SS_BYTES(current, 4);
  SS_CANCEL_FLAG(cancel, 6);
  if (layer < 1 || layer > 0xffffffffULL) SS_RANGE_ERROR("layer must be >= 1");
  if (current_len % 32 != 0 || current_len < 64) SS_RANGE_ERROR("current must be a multiple of 32 bytes, at least 64");
  uint64_t nodes = current_len / 32;
  if (parents_len % SS_SDR_DEGREE != 0) SS_RANGE_ERROR("parents length must be a multiple of 14");
  uint64_t count = parents_len / SS_SDR_DEGREE;
  if (start > nodes || count > nodes - start) SS_RANGE_ERROR("start + parents.length / 14 must be <= nodes");
  const uint8_t *prev = NULL;
  if (layer >= 2) {
    if (is_null_or_undefined(env, argv[5])) SS_RANGE_ERROR("previous is required for layer >= 2");
    SS_BYTES(previous, 5);
    if (previous_len != current_len) SS_RANGE_ERROR("previous must be as long as current");
    if (overlap(previous, previous_len, current, current_len)) SS_RANGE_ERROR("previous and current must not overlap");
    prev = previous;
  }
  /* the labeller writes `current` while it (and a gatherer) reads the parents and the previous layer */
  if (overlap((const uint8_t *)parents, parents_len * 4, current, current_len)) SS_RANGE_ERROR("parents and current must not overlap");
  bool gather;
  if (!gather_arg(env, argc, argv, 7, &gather)) return NULL;
  bool gathered = false;
  int64_t bad = ss_sdr_label_range(replicaId, (uint32_t)layer, nodes, start, count, parents, current,
                                   prev, ss_simd(env), cancel, gather, &gathered);
  count_gathered(env, gathered);
  return ss_number(env, (double)bad);
}

/* Element i of a JS array of Uint8Array: its data and length; throws a TypeError naming `what`. */
static bool array_bytes(napi_env env, napi_value arr, uint32_t i, const char *what, uint8_t **data, size_t *len) {
  napi_value el;
  bool is_ta = false;
  napi_typedarray_type type = napi_int8_array;
  void *d = NULL;
  if (napi_get_element(env, arr, i, &el) != napi_ok || napi_is_typedarray(env, el, &is_ta) != napi_ok ||
      (is_ta && napi_get_typedarray_info(env, el, &type, len, &d, NULL, NULL) != napi_ok)) {
    napi_throw_error(env, "NATIVE_CALL_FAILED", what);
    return false;
  }
  if (!is_ta || type != napi_uint8_array) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", what);
    return false;
  }
  *data = (uint8_t *)d;
  return true;
}

/* The length of a JS array argument; throws a TypeError naming `what` when it is not an array. */
static bool array_length(napi_env env, napi_value arr, const char *what, uint32_t *len) {
  bool is_arr = false;
  if (napi_is_array(env, arr, &is_arr) != napi_ok || (is_arr && napi_get_array_length(env, arr, len) != napi_ok)) {
    napi_throw_error(env, "NATIVE_CALL_FAILED", what);
    return false;
  }
  if (!is_arr) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", what);
    return false;
  }
  return true;
}


static napi_value sdr_label_range_batch(napi_env env, napi_callback_info info) {
  SS_ARGS_UPTO(6, 8);
  SS_U64(layer, 1);
  SS_U64(start, 2);
  SDR_U32S(parents, 3);
  SS_BYTES(current, 4);
  SS_CANCEL_FLAG(cancel, 6);
  if (layer < 1 || layer > 0xffffffffULL) SS_RANGE_ERROR("layer must be >= 1");
  uint32_t k = 0;
  if (!array_length(env, argv[0], "replicaIds must be an array of Uint8Array", &k)) return NULL;
  if (k < 1 || k > SS_SDR_BATCH_MAX) SS_RANGE_ERROR("a batch has 1 to 8 sectors");
  const uint8_t *rids[SS_SDR_BATCH_MAX];
  for (uint32_t s = 0; s < k; s++) {
    uint8_t *d;
    size_t n;
    if (!array_bytes(env, argv[0], s, "replicaIds must be an array of Uint8Array", &d, &n)) return NULL;
    if (n != 32) SS_RANGE_ERROR("every replica id must be 32 bytes");
    rids[s] = d;
  }
  if (current_len % (32 * (size_t)k) != 0 || current_len < 64 * (size_t)k)
    SS_RANGE_ERROR("current must be k interleaved layers: a multiple of 32·k bytes, at least 2 nodes");
  const uint64_t nodes = current_len / (32 * (size_t)k);
  const uint8_t *prev = NULL;
  if (layer >= 2) {
    if (is_null_or_undefined(env, argv[5])) SS_RANGE_ERROR("previous is required for layer >= 2");
    SS_BYTES(previous, 5);
    if (previous_len != current_len) SS_RANGE_ERROR("previous must be as long as current");
    if (overlap(previous, previous_len, current, current_len)) SS_RANGE_ERROR("previous and current must not overlap");
    prev = previous;
  }
  if (parents_len % SS_SDR_DEGREE != 0) SS_RANGE_ERROR("parents length must be a multiple of 14");
  uint64_t count = parents_len / SS_SDR_DEGREE;
  if (start > nodes || count > nodes - start) SS_RANGE_ERROR("start + parents.length / 14 must be <= nodes");
  /* the labeller writes `current` while it (and a gatherer) reads the parents and the previous layer */
  if (overlap((const uint8_t *)parents, parents_len * 4, current, current_len)) SS_RANGE_ERROR("parents and current must not overlap");
  bool gather;
  if (!gather_arg(env, argc, argv, 7, &gather)) return NULL;
  bool gathered = false;
  int64_t bad = ss_sdr_label_range_batch(k, rids, (uint32_t)layer, nodes, start, count, parents, current, prev,
                                         ss_simd(env), cancel, gather, &gathered);
  count_gathered(env, gathered);
  return ss_number(env, (double)bad);
}

static napi_value sdr_batch_split(napi_env env, napi_callback_info info) {
  SS_ARGS(4);
  SS_BYTES(batch, 0);
  SS_U64(k, 1);
  SS_U64(start, 2);
  if (k < 1 || k > SS_SDR_BATCH_MAX) SS_RANGE_ERROR("a batch has 1 to 8 sectors");
  uint32_t n_outs = 0;
  if (!array_length(env, argv[3], "outs must be an array of Uint8Array", &n_outs)) return NULL;
  if (n_outs != k) SS_RANGE_ERROR("outs must have one buffer per sector");
  uint8_t *outs[SS_SDR_BATCH_MAX];
  size_t len = 0;
  for (uint32_t s = 0; s < k; s++) {
    size_t n;
    if (!array_bytes(env, argv[3], s, "outs must be an array of Uint8Array", &outs[s], &n)) return NULL;
    if (s == 0) len = n;
    if (n != len || n % 32 != 0) SS_RANGE_ERROR("every out must be the same whole number of 32-byte nodes");
    if (overlap(outs[s], n, batch, batch_len)) SS_RANGE_ERROR("outs must not overlap the batch");
  }
  const uint64_t count = len / 32, nodes = batch_len / (32 * k);
  if (batch_len % (32 * k) != 0 || start > nodes || count > nodes - start)
    SS_RANGE_ERROR("start + out.length / 32 must be within the batch's nodes");
  ss_sdr_batch_split((unsigned)k, batch, start, count, outs);
  return ss_undefined(env);
}

static napi_value sdr_batch_merge(napi_env env, napi_callback_info info) {
  SS_ARGS(5);
  SS_BYTES(batch, 0);
  SS_U64(k, 1);
  SS_U64(sector, 2);
  SS_U64(start, 3);
  SS_BYTES(input, 4);
  if (k < 1 || k > SS_SDR_BATCH_MAX) SS_RANGE_ERROR("a batch has 1 to 8 sectors");
  if (sector >= k) SS_RANGE_ERROR("sector must be < k");
  if (input_len % 32 != 0) SS_RANGE_ERROR("input must be a whole number of 32-byte nodes");
  if (overlap(input, input_len, batch, batch_len)) SS_RANGE_ERROR("input must not overlap the batch");
  const uint64_t count = input_len / 32, nodes = batch_len / (32 * k);
  if (batch_len % (32 * k) != 0 || start > nodes || count > nodes - start)
    SS_RANGE_ERROR("start + input.length / 32 must be within the batch's nodes");
  ss_sdr_batch_merge((unsigned)k, batch, (unsigned)sector, start, count, input);
  return ss_undefined(env);
}

static napi_value chacha_words(napi_env env, napi_callback_info info) {
  SS_ARGS(3);
  SS_BYTES_LEN(seed, 0, 32);
  SS_U64(rounds, 1);
  SDR_U32S(out, 2);
  if (rounds == 0 || rounds > 20 || rounds % 2 != 0) SS_RANGE_ERROR("rounds must be even, 2..20");
  ss_chacha_rng rng;
  ss_chacha_rng_init(&rng, seed, (unsigned)rounds);
  for (size_t i = 0; i < out_len; i++) out[i] = ss_chacha_rng_u32(&rng);
  return ss_undefined(env);
}

static napi_value blake2b512(napi_env env, napi_callback_info info) {
  SS_ARGS(2);
  SS_BYTES(data, 0);
  SS_BYTES_LEN(out, 1, 64);
  ss_blake2b512(out, data, data_len);
  return ss_undefined(env);
}

/* Before a layer buffer's first touch: huge pages asked for, then every page faulted in by zeroing. */
static void init_layer(void *p, size_t bytes) {
  ss_sdr_advise_huge_pages(p, bytes);
  memset(p, 0, bytes);
}

/* A layer buffer (native/sdr.ts allocateLayerBuffer): 2 MiB-aligned, so that huge pages can back
 * all of it; advised before the first touch, then zeroed, which faults every page in. Up to
 * 4 GiB, Node's Buffer limit: a batch of eight 512 MiB sectors is one 4 GiB interleaved layer,
 * which a JavaScript allocation plus alignment slack would exceed. */
static napi_value layer_buffer(napi_env env, napi_callback_info info) {
  SS_ARGS(1);
  SS_U64(bytes, 0);
  if (bytes == 0 || bytes > ((uint64_t)1 << 32)) SS_RANGE_ERROR("bytes must be between 1 and 4 GiB");
  return ss_aligned_buffer(env, (size_t)bytes, (size_t)2 << 20, init_layer);
}

napi_status register_sdr(napi_env env, napi_value exports) {
  napi_status s;
  if ((s = ss_export_fn(env, exports, "sdrParents", sdr_parents)) != napi_ok) return s;
  if ((s = ss_export_fn(env, exports, "sdrPermute", sdr_permute)) != napi_ok) return s;
  if ((s = ss_export_fn(env, exports, "sdrLabelRange", sdr_label_range)) != napi_ok) return s;
  if ((s = ss_export_fn(env, exports, "sdrLabelRangeBatch", sdr_label_range_batch)) != napi_ok) return s;
  if ((s = ss_export_fn(env, exports, "sdrGatheredRanges", sdr_gathered_ranges)) != napi_ok) return s;
  if ((s = ss_export_fn(env, exports, "sdrBatchSplit", sdr_batch_split)) != napi_ok) return s;
  if ((s = ss_export_fn(env, exports, "sdrBatchMerge", sdr_batch_merge)) != napi_ok) return s;
  if ((s = ss_export_fn(env, exports, "chachaWords", chacha_words)) != napi_ok) return s;
  if ((s = ss_export_fn(env, exports, "sdrLayerBuffer", layer_buffer)) != napi_ok) return s;
  return ss_export_fn(env, exports, "blake2b512", blake2b512);
}
