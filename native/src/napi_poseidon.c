/* N-API glue for the poseidon area. */
#include "napi_util.h"

napi_status register_poseidon(napi_env env, napi_value exports) {
  return napi_ok;
}
