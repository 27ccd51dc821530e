#ifndef SS_CPU_H
#define SS_CPU_H
#include <stdbool.h>

/* True when this CPU executes the SHA extensions (and the SSE4.1 they are used with). */
bool cpu_has_sha_ni(void);

#endif
