/* N-API glue for the sdr area. */
#include "napi_util.h"

napi_status register_sdr(napi_env env, napi_value exports) {
  return napi_ok;
}
