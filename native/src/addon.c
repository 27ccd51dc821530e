/* N-API entry point: builds per-instance state and lets each area register its functions.
 * Context-aware (NAPI_MODULE_INIT, no mutable statics): every worker thread loads its own
 * instance. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cpu.h"
#include "napi_util.h"

ss_instance *ss_get_instance(napi_env env) {
  void *data = NULL;
  if (napi_get_instance_data(env, &data) != napi_ok) return NULL;
  return (ss_instance *)data;
}

static void free_instance(napi_env env, void *data, void *hint) {
  ss_instance *inst = (ss_instance *)data;
  if (inst->poseidon && inst->poseidon_free) inst->poseidon_free(inst->poseidon);
  free(inst);
}

napi_status ss_export_fn(napi_env env, napi_value exports, const char *name, napi_callback cb) {
  napi_value fn;
  napi_status s = napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &fn);
  if (s != napi_ok) return s;
  return napi_set_named_property(env, exports, name, fn);
}

napi_value ss_undefined(napi_env env) {
  napi_value v;
  napi_get_undefined(env, &v);
  return v;
}

napi_value ss_number(napi_env env, double d) {
  napi_value v;
  napi_create_double(env, d, &v);
  return v;
}

napi_value ss_bool(napi_env env, bool b) {
  napi_value v;
  napi_get_boolean(env, b, &v);
  return v;
}

unsigned ss_simd(napi_env env) {
  ss_instance *inst = ss_get_instance(env);
  return inst ? inst->simd : 0;
}

static napi_value str(napi_env env, const char *s) {
  napi_value v;
  napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v);
  return v;
}

static napi_value sha_backend(napi_env env, napi_callback_info info) {
  return str(env, ss_simd(env) & SS_HW_SHANI ? "sha-ni" : "portable");
}

static napi_value cpu_sha_ni(napi_env env, napi_callback_info info) {
  return ss_bool(env, cpu_has_sha_ni());
}

/* Whether an environment switch is on: set, and neither empty nor "0". */
static bool env_on(const char *value) { return value && strcmp(value, "") != 0 && strcmp(value, "0") != 0; }

/* Applies a path to an instance: its features, minus SHA-NI when `without_sha_ni` or when
 * SECTOR_STORAGE_PORTABLE_SHA is set (the older switch, kept: it disables only SHA-NI). A path
 * without SHA-NI is what CPUs with AVX2 or AVX-512 but no SHA extensions run (Haswell to
 * Cascade Lake), so tests can run their kernels here.
 *
 * `x8` chooses the batch kernels of Intel's AVX-512 cores (SS_HW_X8SHA: eight-sector batches on
 * AVX-512VL lanes, SHA-NI in pairs only) on any path with AVX-512: 1 on, 0 off, -1 as
 * SECTOR_STORAGE_SHA_X8 says ("1" on, "0" off), else as the CPU's vendor does (cpu.c). So an AMD
 * core with AVX-512 runs and tests Intel's kernels, and an Intel core AMD's. */
static void apply_path(ss_instance *inst, ss_simd_path path, bool without_sha_ni, int x8) {
  const char *portable = getenv("SECTOR_STORAGE_PORTABLE_SHA");
  inst->path = path;
  inst->simd = ss_simd_path_features(ss_cpu_features(), path);
  if (without_sha_ni || env_on(portable)) inst->simd &= ~SS_HW_SHANI;
  const char *x8_env = getenv("SECTOR_STORAGE_SHA_X8");
  if (x8 < 0 && x8_env && *x8_env) x8 = env_on(x8_env);
  if (x8 == 1 && (inst->simd & SS_HW_AVX512)) inst->simd |= SS_HW_X8SHA;
  else if (x8 == 0) inst->simd &= ~SS_HW_X8SHA;
}

/* simdPath() -> this thread's path name */
static napi_value simd_path(napi_env env, napi_callback_info info) {
  ss_instance *inst = ss_get_instance(env);
  return str(env, ss_simd_path_name(inst ? inst->path : SS_PATH_PORTABLE));
}

/* simdPaths() -> the names of the paths this CPU can run, lowest first */
static napi_value simd_paths(napi_env env, napi_callback_info info) {
  napi_value arr;
  SS_CALL(env, napi_create_array(env, &arr));
  unsigned cpu = ss_cpu_features();
  uint32_t n = 0;
  for (int p = 0; p < SS_PATH_COUNT; p++)
    if (ss_simd_path_available(cpu, (ss_simd_path)p)) SS_CALL(env, napi_set_element(env, arr, n++, str(env, ss_simd_path_name((ss_simd_path)p))));
  return arr;
}

/* setSimdPath(name, withoutShaNi, x8): switches this thread's instance only; x8 1, 0 or -1 (apply_path) */
static napi_value set_simd_path(napi_env env, napi_callback_info info) {
  SS_ARGS(3);
  SS_BOOL(without_sha_ni, 1);
  int32_t x8 = -1;
  if (napi_get_value_int32(env, argv[2], &x8) != napi_ok || x8 < -1 || x8 > 1) SS_RANGE_ERROR("x8 must be -1, 0 or 1");
  char name[16];
  size_t len = 0;
  if (napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "path must be a string");
    return NULL;
  }
  int path = ss_simd_path_parse(name);
  if (path < 0) SS_RANGE_ERROR("path must be one of portable, shani, avx2, avx512, ifma");
  if (!ss_simd_path_available(ss_cpu_features(), (ss_simd_path)path)) {
    napi_throw_error(env, "NATIVE_UNAVAILABLE", "this CPU cannot run that SIMD path");
    return NULL;
  }
  ss_instance *inst = ss_get_instance(env);
  if (!inst) {
    napi_throw_error(env, "NATIVE_CALL_FAILED", "addon instance data missing");
    return NULL;
  }
  apply_path(inst, (ss_simd_path)path, without_sha_ni, x8);
  return ss_undefined(env);
}

/* simdInfo() -> { path, sha256, blake2b, poseidon }: what each kernel family runs on in this
 * thread (reported by benchmarks and `seal --json`). */
static napi_value simd_info(napi_env env, napi_callback_info info) {
  ss_instance *inst = ss_get_instance(env);
  unsigned f = inst ? inst->simd : 0;
  napi_value o;
  SS_CALL(env, napi_create_object(env, &o));
  const char *sha = !(f & SS_HW_SHANI) ? "portable" : (f & SS_HW_AVX512) ? "sha-ni+avx512" : (f & SS_HW_AVX2) ? "sha-ni+avx2" : "sha-ni";
  const char *b2 = (f & SS_HW_AVX512) ? "avx512" : (f & SS_HW_AVX2) ? "avx2" : "portable";
  const char *pos = (f & SS_HW_IFMA) ? "ifma" : (f & SS_HW_ADX) ? "adx" : "portable";
  SS_CALL(env, napi_set_named_property(env, o, "path", str(env, ss_simd_path_name(inst ? inst->path : SS_PATH_PORTABLE))));
  SS_CALL(env, napi_set_named_property(env, o, "sha256", str(env, sha)));
  SS_CALL(env, napi_set_named_property(env, o, "blake2b", str(env, b2)));
  SS_CALL(env, napi_set_named_property(env, o, "poseidon", str(env, pos)));
  SS_CALL(env, napi_set_named_property(env, o, "pc1Batch8", str(env, (f & SS_HW_X8SHA) ? "avx512-8-lanes" : (f & SS_HW_SHANI) ? "sha-ni-fours" : "portable")));
  return o;
}

NAPI_MODULE_INIT() {
  ss_instance *inst = calloc(1, sizeof(ss_instance));
  if (!inst) {
    napi_throw_error(env, "NATIVE_OOM", "out of memory");
    return NULL;
  }
  unsigned cpu = ss_cpu_features();
  ss_simd_path path = ss_simd_path_best(cpu);
  const char *forced = getenv("SECTOR_STORAGE_SIMD");
  if (forced && *forced) {
    int p = ss_simd_path_parse(forced);
    if (p < 0 || !ss_simd_path_available(cpu, (ss_simd_path)p)) {
      char msg[256], avail[64] = "";
      for (int i = 0; i < SS_PATH_COUNT; i++)
        if (ss_simd_path_available(cpu, (ss_simd_path)i)) {
          if (*avail) strcat(avail, ", ");
          strcat(avail, ss_simd_path_name((ss_simd_path)i));
        }
      snprintf(msg, sizeof msg, "SECTOR_STORAGE_SIMD=%s %s (this CPU runs: %s)", forced,
               p < 0 ? "is not a SIMD path" : "cannot run on this CPU", avail);
      free(inst);
      napi_throw_error(env, "NATIVE_UNAVAILABLE", msg);
      return NULL;
    }
    path = (ss_simd_path)p;
  }
  apply_path(inst, path, false, -1);
  if (napi_set_instance_data(env, inst, free_instance, NULL) != napi_ok) {
    free(inst);
    return NULL;
  }
  if (ss_export_fn(env, exports, "shaBackend", sha_backend) != napi_ok) return NULL;
  if (ss_export_fn(env, exports, "cpuHasShaNi", cpu_sha_ni) != napi_ok) return NULL;
  if (ss_export_fn(env, exports, "simdPath", simd_path) != napi_ok) return NULL;
  if (ss_export_fn(env, exports, "simdPaths", simd_paths) != napi_ok) return NULL;
  if (ss_export_fn(env, exports, "setSimdPath", set_simd_path) != napi_ok) return NULL;
  if (ss_export_fn(env, exports, "simdInfo", simd_info) != napi_ok) return NULL;
  if (register_hash(env, exports) != napi_ok) return NULL;
  if (register_sdr(env, exports) != napi_ok) return NULL;
  if (register_poseidon(env, exports) != napi_ok) return NULL;
  if (register_memory(env, exports) != napi_ok) return NULL;
  return exports;
}
