#include "cpu.h"
#include <string.h>

unsigned ss_cpu_features(void) {
  unsigned f = 0;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("sha") && __builtin_cpu_supports("sse4.1") && __builtin_cpu_supports("ssse3")) f |= SS_HW_SHANI;
  if (__builtin_cpu_supports("bmi2") && __builtin_cpu_supports("adx")) f |= SS_HW_ADX;
  if (__builtin_cpu_supports("avx2")) f |= SS_HW_AVX2;
  bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
                __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq");
  if (avx512) f |= SS_HW_AVX512;
  if (avx512 && __builtin_cpu_is("intel")) f |= SS_HW_X8SHA;
  if (avx512 && __builtin_cpu_supports("avx512ifma")) f |= SS_HW_IFMA;
#endif
  return f;
}

bool cpu_has_sha_ni(void) { return (ss_cpu_features() & SS_HW_SHANI) != 0; }

static const char *const names[SS_PATH_COUNT] = {"portable", "shani", "avx2", "avx512", "ifma"};
/* the feature that defines each path (portable needs none) */
static const unsigned defining[SS_PATH_COUNT] = {0, SS_HW_SHANI, SS_HW_AVX2, SS_HW_AVX512, SS_HW_IFMA};
/* the features each path adds to the one below it */
static const unsigned adds[SS_PATH_COUNT] = {0, SS_HW_SHANI | SS_HW_ADX, SS_HW_AVX2, SS_HW_AVX512 | SS_HW_X8SHA, SS_HW_IFMA};

const char *ss_simd_path_name(ss_simd_path path) {
  return (unsigned)path < SS_PATH_COUNT ? names[path] : NULL;
}

int ss_simd_path_parse(const char *name) {
  for (int i = 0; i < SS_PATH_COUNT; i++)
    if (strcmp(name, names[i]) == 0) return i;
  return -1;
}

bool ss_simd_path_available(unsigned cpu, ss_simd_path path) {
  return (unsigned)path < SS_PATH_COUNT && (cpu & defining[path]) == defining[path];
}

ss_simd_path ss_simd_path_best(unsigned cpu) {
  for (int i = SS_PATH_COUNT - 1; i > 0; i--)
    if (ss_simd_path_available(cpu, (ss_simd_path)i)) return (ss_simd_path)i;
  return SS_PATH_PORTABLE;
}

unsigned ss_simd_path_features(unsigned cpu, ss_simd_path path) {
  unsigned f = 0;
  for (int i = 0; i <= (int)path && i < SS_PATH_COUNT; i++) f |= adds[i];
  return f & cpu;
}
