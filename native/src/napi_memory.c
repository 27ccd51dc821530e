/* Aligned native memory handed to JavaScript as Buffers (freed when the Buffer is collected):
 * for direct I/O, and for PC1's layers (napi_sdr.c). Buffers whose first byte sits at a multiple of a given alignment.
 * O_DIRECT needs the buffer, the file position and the length aligned to the device's logical
 * block; Node's own allocations (malloc, mmap + header) are only 16-byte aligned. */
#include <stdlib.h>
#include "napi_util.h"

static void free_aligned(napi_env env, void *data, void *hint) {
  int64_t bytes = (int64_t)(uintptr_t)hint;
  int64_t ignored;
  napi_adjust_external_memory(env, -bytes, &ignored);
  free(data);
}

napi_value ss_aligned_buffer(napi_env env, size_t bytes, size_t alignment, void (*init)(void *p, size_t bytes)) {
  void *p = NULL;
  if (posix_memalign(&p, alignment, bytes) != 0) {
    napi_throw_error(env, "ERR_MEMORY_ALLOCATION_FAILED", "posix_memalign failed");
    return NULL;
  }
  if (init) init(p, bytes);
  napi_value out;
  if (napi_create_external_buffer(env, bytes, p, free_aligned, (void *)(uintptr_t)bytes, &out) != napi_ok) {
    free(p);
    napi_throw_error(env, "NATIVE_CALL_FAILED", "could not wrap aligned memory in a Buffer");
    return NULL;
  }
  int64_t ignored;
  napi_adjust_external_memory(env, (int64_t)bytes, &ignored);
  return out;
}

/* alignedBuffer(bytes, alignment) -> Buffer of `bytes` (> 0) starting at a multiple of
 * `alignment` (a power of two, 8..1 MiB); contents unspecified, as Buffer.allocUnsafe. */
static napi_value aligned_buffer(napi_env env, napi_callback_info info) {
  SS_ARGS(2);
  SS_U64(bytes, 0);
  SS_U64(alignment, 1);
  if (bytes == 0 || bytes > ((uint64_t)1 << 31)) SS_RANGE_ERROR("bytes must be between 1 and 2 GiB");
  if (alignment < sizeof(void *) || alignment > ((uint64_t)1 << 20) || (alignment & (alignment - 1)) != 0)
    SS_RANGE_ERROR("alignment must be a power of two between 8 and 1 MiB");
  return ss_aligned_buffer(env, (size_t)bytes, (size_t)alignment, NULL);
}

napi_status register_memory(napi_env env, napi_value exports) {
  return ss_export_fn(env, exports, "alignedBuffer", aligned_buffer);
}
