/* Argument extraction for the N-API glue (sodium-native style): every macro throws a
 * TypeError/RangeError naming the argument and returns NULL from the calling function. */
#ifndef SS_NAPI_UTIL_H
#define SS_NAPI_UTIL_H
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include "cpu.h"

/* Per-instance data: one copy per loaded addon instance (one per worker thread). */
typedef struct {
  ss_simd_path path; /* SECTOR_STORAGE_SIMD, else the best path of this CPU (cpu.h) */
  unsigned simd;     /* the SS_HW_* features this thread's kernels use: the path's, without
                        SS_HW_SHANI when SECTOR_STORAGE_PORTABLE_SHA=1 or setShaBackend says so */
  void *poseidon;    /* lazily built Poseidon constants (owned by napi_poseidon.c) */
  void (*poseidon_free)(void *);
  double gathered_ranges; /* labeller calls whose parents a second thread gathered (napi_sdr.c) */
} ss_instance;

/* The features of the calling thread's instance (0, portable C, when it is missing). */
unsigned ss_simd(napi_env env);

ss_instance *ss_get_instance(napi_env env);

#define SS_CALL(env, call)                                              \
  do {                                                                  \
    if ((call) != napi_ok) {                                            \
      const napi_extended_error_info *info_ = NULL;                     \
      napi_get_last_error_info((env), &info_);                          \
      bool pending_ = false;                                            \
      napi_is_exception_pending((env), &pending_);                      \
      if (!pending_)                                                    \
        napi_throw_error((env), "NATIVE_CALL_FAILED",                   \
                         info_ && info_->error_message ? info_->error_message : "N-API call failed"); \
      return NULL;                                                      \
    }                                                                   \
  } while (0)

#define SS_ARGS(n)                                                      \
  size_t argc = (n);                                                    \
  napi_value argv[(n) > 0 ? (n) : 1];                                   \
  SS_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));   \
  if (argc < (n)) {                                                     \
    napi_throw_type_error(env, "ERR_INVALID_ARG", "expected " #n " arguments"); \
    return NULL;                                                        \
  }

/* A Uint8Array (or Buffer) argument: yields uint8_t *name and size_t name##_len. */
#define SS_BYTES(name, idx)                                             \
  uint8_t *name = NULL;                                                 \
  size_t name##_len = 0;                                                \
  do {                                                                  \
    bool is_ta_ = false;                                                \
    SS_CALL(env, napi_is_typedarray(env, argv[idx], &is_ta_));          \
    if (!is_ta_) {                                                      \
      napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", #name " must be a Uint8Array"); \
      return NULL;                                                      \
    }                                                                   \
    napi_typedarray_type type_;                                         \
    void *data_;                                                        \
    SS_CALL(env, napi_get_typedarray_info(env, argv[idx], &type_, &name##_len, &data_, NULL, NULL)); \
    if (type_ != napi_uint8_array) {                                    \
      napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", #name " must be a Uint8Array"); \
      return NULL;                                                      \
    }                                                                   \
    name = (uint8_t *)data_;                                            \
  } while (0)

/* Like SS_ARGS(required) but with room for `max` arguments (argc tells how many came; missing
 * ones read as undefined). */
#define SS_ARGS_UPTO(required, max)                                     \
  size_t argc = (max);                                                  \
  napi_value argv[(max)];                                               \
  SS_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));   \
  if (argc < (required)) {                                              \
    napi_throw_type_error(env, "ERR_INVALID_ARG", "expected " #required " arguments"); \
    return NULL;                                                        \
  }

/* An optional cancel flag at argv[idx] (absent, undefined or null: not cancellable), else an
 * Int32Array of at least one element, usually over a SharedArrayBuffer (see cancel.h): yields
 * const int32_t *name. */
#define SS_CANCEL_FLAG(name, idx)                                       \
  const int32_t *name = NULL;                                           \
  do {                                                                  \
    napi_valuetype vt_ = napi_undefined;                                \
    if (argc > (idx)) SS_CALL(env, napi_typeof(env, argv[idx], &vt_));  \
    if (vt_ != napi_undefined && vt_ != napi_null) {                    \
      bool is_ta_ = false;                                              \
      SS_CALL(env, napi_is_typedarray(env, argv[idx], &is_ta_));        \
      napi_typedarray_type type_ = napi_uint8_array;                    \
      size_t len_ = 0;                                                  \
      void *data_ = NULL;                                               \
      if (is_ta_) SS_CALL(env, napi_get_typedarray_info(env, argv[idx], &type_, &len_, &data_, NULL, NULL)); \
      if (!is_ta_ || type_ != napi_int32_array || len_ < 1) {           \
        napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", #name " must be an Int32Array"); \
        return NULL;                                                    \
      }                                                                 \
      name = (const int32_t *)data_;                                    \
    }                                                                   \
  } while (0)

#define SS_BYTES_LEN(name, idx, expected)                               \
  SS_BYTES(name, idx);                                                  \
  if (name##_len != (size_t)(expected)) {                               \
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", #name " must be " #expected " bytes"); \
    return NULL;                                                        \
  }

/* A non-negative integer argument that fits a double exactly (< 2^53). */
#define SS_U64(name, idx)                                               \
  uint64_t name = 0;                                                    \
  do {                                                                  \
    double d_;                                                          \
    if (napi_get_value_double(env, argv[idx], &d_) != napi_ok) {        \
      napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", #name " must be a number"); \
      return NULL;                                                      \
    }                                                                   \
    if (!(d_ >= 0) || d_ > 9007199254740991.0 || d_ != (double)(uint64_t)d_) { \
      napi_throw_range_error(env, "ERR_OUT_OF_RANGE", #name " must be a non-negative safe integer"); \
      return NULL;                                                      \
    }                                                                   \
    name = (uint64_t)d_;                                                \
  } while (0)

#define SS_BOOL(name, idx)                                              \
  bool name = false;                                                    \
  if (napi_get_value_bool(env, argv[idx], &name) != napi_ok) {          \
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", #name " must be a boolean"); \
    return NULL;                                                        \
  }

#define SS_RANGE_ERROR(msg)                                             \
  do {                                                                  \
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", (msg));             \
    return NULL;                                                        \
  } while (0)

/* Adds a function property to exports. */
napi_status ss_export_fn(napi_env env, napi_value exports, const char *name, napi_callback cb);

/* Helpers to return values. */
napi_value ss_undefined(napi_env env);
napi_value ss_number(napi_env env, double v);
napi_value ss_bool(napi_env env, bool v);

/* A Buffer of `bytes` whose first byte sits at a multiple of `alignment` (a power of two, at
 * least sizeof(void *)), backed by native memory that is freed, and reported to V8 as external
 * memory, until the Buffer is collected. `init` (may be NULL) runs on the memory before it is
 * wrapped. Throws and returns NULL on failure (napi_memory.c). */
napi_value ss_aligned_buffer(napi_env env, size_t bytes, size_t alignment, void (*init)(void *p, size_t bytes));

/* Each area of the addon registers its functions here (napi_<area>.c). */
napi_status register_hash(napi_env env, napi_value exports);
napi_status register_sdr(napi_env env, napi_value exports);
napi_status register_poseidon(napi_env env, napi_value exports);
napi_status register_memory(napi_env env, napi_value exports);

#endif
