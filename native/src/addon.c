/* N-API entry point: builds per-instance state and lets each area register its functions.
 * Context-aware (NAPI_MODULE_INIT, no mutable statics): every worker thread loads its own
 * instance. */
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

static napi_value sha_backend(napi_env env, napi_callback_info info) {
  ss_instance *inst = ss_get_instance(env);
  napi_value v;
  const char *name = inst && inst->use_sha_ni ? "sha-ni" : "portable";
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &v);
  return v;
}

static napi_value cpu_sha_ni(napi_env env, napi_callback_info info) {
  return ss_bool(env, cpu_has_sha_ni());
}

NAPI_MODULE_INIT() {
  ss_instance *inst = calloc(1, sizeof(ss_instance));
  if (!inst) {
    napi_throw_error(env, "NATIVE_OOM", "out of memory");
    return NULL;
  }
  const char *portable = getenv("SECTOR_STORAGE_PORTABLE_SHA");
  inst->use_sha_ni = cpu_has_sha_ni() && !(portable && strcmp(portable, "") != 0 && strcmp(portable, "0") != 0);
  if (napi_set_instance_data(env, inst, free_instance, NULL) != napi_ok) {
    free(inst);
    return NULL;
  }
  if (ss_export_fn(env, exports, "shaBackend", sha_backend) != napi_ok) return NULL;
  if (ss_export_fn(env, exports, "cpuHasShaNi", cpu_sha_ni) != napi_ok) return NULL;
  if (register_hash(env, exports) != napi_ok) return NULL;
  if (register_sdr(env, exports) != napi_ok) return NULL;
  if (register_poseidon(env, exports) != napi_ok) return NULL;
  return exports;
}
