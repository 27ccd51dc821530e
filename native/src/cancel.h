/* Cooperative cancellation of long native calls. The caller passes the cancel flag of its pool
 * task (the Int32Array over shared memory of src/lifecycle/task-context.ts, CANCEL_FLAG = word 0);
 * the thread that cancels stores a non-zero value there. Long loops poll it often enough that a
 * call returns within milliseconds of the store, and report SS_CANCELLED instead of a result.
 * A NULL flag means "not cancellable". Pure C, no N-API. */
#ifndef SS_CANCEL_H
#define SS_CANCEL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Returned (as int64_t) by a call that stopped because its flag was set. Results that report a
 * bad element use indices >= 0 and success is -1, so -2 never collides with either. */
#define SS_CANCELLED (-2)

/* True once the flag has been set. A relaxed load: the flag carries no data, and a store by
 * another thread becomes visible to this one within the cache-coherence latency. */
static inline bool ss_cancel_requested(const int32_t *flag) {
  return flag != NULL && __atomic_load_n(flag, __ATOMIC_RELAXED) != 0;
}

#endif
