/* N-API glue for the hash area: argument extraction and length checks only; the algorithms live
 * in sha256*.c, fr32.c, sha_tree.c and blake2b.c. The features (SHA-NI, vector schedules) come
 * from this thread's addon instance. native/hash.ts validates first and allocates the outputs; the checks here keep a bad
 * direct call from reading or writing out of bounds. */
#include <string.h>
#include "blake2b.h"
#include "cpu.h"
#include "fr32.h"
#include "napi_util.h"
#include "sha256.h"
#include "sha_tree.h"

static bool is_pow2(uint64_t n) { return n != 0 && (n & (n - 1)) == 0; }

/* sha256(data, out32) */
static napi_value js_sha256(napi_env env, napi_callback_info info) {
  SS_ARGS(2);
  SS_BYTES(data, 0);
  SS_BYTES_LEN(out, 1, 32);
  ss_sha256(ss_simd(env), data, data_len, out);
  return ss_undefined(env);
}

/* blake2b256(data, out32) */
static napi_value js_blake2b256(napi_env env, napi_callback_info info) {
  SS_ARGS(2);
  SS_BYTES(data, 0);
  SS_BYTES_LEN(out, 1, 32);
  ss_blake2b(out, 32, data, data_len);
  return ss_undefined(env);
}

/* hashPair(a32, b32, out32) */
static napi_value js_hash_pair(napi_env env, napi_callback_info info) {
  SS_ARGS(3);
  SS_BYTES_LEN(a, 0, 32);
  SS_BYTES_LEN(b, 1, 32);
  SS_BYTES_LEN(out, 2, 32);
  ss_sha256_pair(ss_simd(env), a, b, out);
  return ss_undefined(env);
}

/* hashLayer(children, parents): children 64·n bytes, parents 32·n bytes */
static napi_value js_hash_layer(napi_env env, napi_callback_info info) {
  SS_ARGS(2);
  SS_BYTES(children, 0);
  SS_BYTES(parents, 1);
  if (children_len % 64 != 0) SS_RANGE_ERROR("children must be a multiple of 64 bytes");
  if (parents_len * 2 != children_len) SS_RANGE_ERROR("parents must be half the length of children");
  if (parents != children && parents < children + children_len && children < parents + parents_len)
    SS_RANGE_ERROR("parents must not overlap children (except exactly in place)");
  ss_tree_hash_layer(ss_simd(env), children, parents_len / 32, parents);
  return ss_undefined(env);
}

/* treeRoot(leaves, out32): leaves a power-of-two number of 32-byte nodes */
static napi_value js_tree_root(napi_env env, napi_callback_info info) {
  SS_ARGS(2);
  SS_BYTES(leaves, 0);
  SS_BYTES_LEN(out, 1, 32);
  if (leaves_len % 32 != 0 || !is_pow2(leaves_len / 32))
    SS_RANGE_ERROR("leaves must be a power-of-two number of 32-byte nodes");
  ss_tree_root(ss_simd(env), leaves, leaves_len / 32, out);
  return ss_undefined(env);
}

/* fr32Pad(input 127·k, output 128·k) */
static napi_value js_fr32_pad(napi_env env, napi_callback_info info) {
  SS_ARGS(2);
  SS_BYTES(input, 0);
  SS_BYTES(output, 1);
  if (input_len % 127 != 0) SS_RANGE_ERROR("input must be a multiple of 127 bytes");
  if (output_len != input_len / 127 * 128) SS_RANGE_ERROR("output must be 128/127 of input");
  if (input < output + output_len && output < input + input_len) SS_RANGE_ERROR("output must not overlap input");
  ss_fr32_pad(input, output, input_len / 127);
  return ss_undefined(env);
}

/* fr32Unpad(input 128·k, output 127·k) */
static napi_value js_fr32_unpad(napi_env env, napi_callback_info info) {
  SS_ARGS(2);
  SS_BYTES(input, 0);
  SS_BYTES(output, 1);
  if (input_len % 128 != 0) SS_RANGE_ERROR("input must be a multiple of 128 bytes");
  if (output_len != input_len / 128 * 127) SS_RANGE_ERROR("output must be 127/128 of input");
  if (input < output + output_len && output < input + input_len) SS_RANGE_ERROR("output must not overlap input");
  ss_fr32_unpad(input, output, input_len / 128);
  return ss_undefined(env);
}

/* commPChunk(unpadded 127·2^j, paddedOut 128·2^j, root32) */
static napi_value js_commp_chunk(napi_env env, napi_callback_info info) {
  SS_ARGS(3);
  SS_BYTES(unpadded, 0);
  SS_BYTES(paddedOut, 1);
  SS_BYTES_LEN(root, 2, 32);
  if (unpadded_len % 127 != 0 || !is_pow2(unpadded_len / 127))
    SS_RANGE_ERROR("unpadded must be 127·2^j bytes");
  if (paddedOut_len != unpadded_len / 127 * 128) SS_RANGE_ERROR("paddedOut must be 128/127 of unpadded");
  if (unpadded < paddedOut + paddedOut_len && paddedOut < unpadded + unpadded_len)
    SS_RANGE_ERROR("paddedOut must not overlap unpadded");
  ss_tree_commp_chunk(ss_simd(env), unpadded, unpadded_len / 127, paddedOut, root);
  return ss_undefined(env);
}

/* benchCompressions(count, ways) -> checksum */
static napi_value js_bench(napi_env env, napi_callback_info info) {
  SS_ARGS(2);
  SS_U64(count, 0);
  SS_U64(ways, 1);
  if (ways != 1 && ways != 2 && ways != 4) SS_RANGE_ERROR("ways must be 1, 2 or 4");
  return ss_number(env, (double)ss_sha256_bench(ss_simd(env), (unsigned)ways, count));
}

/* setShaBackend(useShaNi: boolean): switches only this thread's addon instance. */
static napi_value js_set_backend(napi_env env, napi_callback_info info) {
  SS_ARGS(1);
  SS_BOOL(useShaNi, 0);
  ss_instance *inst = ss_get_instance(env);
  if (!inst) {
    napi_throw_error(env, "NATIVE_CALL_FAILED", "addon instance data missing");
    return NULL;
  }
  if (useShaNi && !cpu_has_sha_ni()) {
    napi_throw_error(env, "NATIVE_UNAVAILABLE", "backend 'sha-ni': this CPU has no SHA extensions");
    return NULL;
  }
  if (useShaNi)
    inst->simd |= SS_HW_SHANI;
  else
    inst->simd &= ~SS_HW_SHANI;
  return ss_undefined(env);
}

napi_status register_hash(napi_env env, napi_value exports) {
  static const struct {
    const char *name;
    napi_callback cb;
  } fns[] = {
      {"sha256", js_sha256},         {"hashPair", js_hash_pair},         {"hashLayer", js_hash_layer},
      {"treeRoot", js_tree_root},    {"fr32Pad", js_fr32_pad},           {"fr32Unpad", js_fr32_unpad},
      {"commPChunk", js_commp_chunk}, {"benchCompressions", js_bench},   {"setShaBackend", js_set_backend},
      {"blake2b256", js_blake2b256},
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_status s = ss_export_fn(env, exports, fns[i].name, fns[i].cb);
    if (s != napi_ok) return s;
  }
  return napi_ok;
}
