/* N-API glue for the hash area. */
#include "napi_util.h"

napi_status register_hash(napi_env env, napi_value exports) {
  return napi_ok;
}
