/* What this CPU can run, and which of it a thread uses. Kernels never probe the CPU themselves:
 * the caller passes the feature set its addon instance enabled (`ss_instance.simd`), so that a
 * path can be forced per process (SECTOR_STORAGE_SIMD) or per thread (tests) and every path the
 * CPU supports can be tested on it.
 *
 * Paths form a ladder; each enables the features of the ones below it that the CPU has:
 *   portable  C only (no SHA-NI, no MULX/ADX, no vector kernels)
 *   shani     + SHA-NI for SHA-256, MULX/ADX for the Fr product
 *   avx2      + AVX2 kernels (8-lane BLAKE2b for the expander graph, AVX2 node-pair schedules)
 *   avx512    + AVX-512 F/VL/BW kernels in their place (and, on Intel, PC1 batches of eight
 *             sectors hashed on AVX-512VL lanes instead of SHA-NI)
 *   ifma      + the AVX-512 IFMA Poseidon (52-bit limbs, 8 hashes per vector)
 * A path is available when the CPU has the feature that defines it (SHA-NI for shani, AVX2 for
 * avx2, ...); a lower feature it lacks (SHA-NI on an AVX-512 Cascade Lake) just stays off. */
#ifndef SS_CPU_H
#define SS_CPU_H
#include <stdbool.h>

#define SS_HW_SHANI (1u << 0)  /* SHA extensions with SSE4.1 and SSSE3 */
#define SS_HW_ADX (1u << 1)    /* BMI2 (MULX) and ADX (ADCX/ADOX) */
#define SS_HW_AVX2 (1u << 2)   /* AVX2 */
#define SS_HW_AVX512 (1u << 3) /* AVX-512 F, VL, BW and DQ */
#define SS_HW_IFMA (1u << 4)   /* AVX-512 IFMA52 (with F, VL, BW, DQ) */
/* AVX-512 on an Intel core: eight SHA-256 chains on AVX-512VL beat SHA-NI there, whose chains do
 * not overlap (sha256_x8.c); on AMD two SHA-NI chains run at twice one and stay ahead. Part of
 * the avx512 path. */
#define SS_HW_X8SHA (1u << 5)

typedef enum {
  SS_PATH_PORTABLE = 0,
  SS_PATH_SHANI = 1,
  SS_PATH_AVX2 = 2,
  SS_PATH_AVX512 = 3,
  SS_PATH_IFMA = 4,
} ss_simd_path;

#define SS_PATH_COUNT 5

/* The SS_HW_* features this CPU has. */
unsigned ss_cpu_features(void);

/* True when this CPU executes the SHA extensions (and the SSE4.1 they are used with). */
bool cpu_has_sha_ni(void);

/* The path's name ("portable", "shani", "avx2", "avx512", "ifma"), or NULL. */
const char *ss_simd_path_name(ss_simd_path path);
/* The path of a name; -1 when the name is unknown. */
int ss_simd_path_parse(const char *name);
/* True when the CPU (`cpu`, from ss_cpu_features) has the feature that defines the path. */
bool ss_simd_path_available(unsigned cpu, ss_simd_path path);
/* The highest available path. */
ss_simd_path ss_simd_path_best(unsigned cpu);
/* The features a thread on `path` uses: those of the path and the ones below it, that the CPU has. */
unsigned ss_simd_path_features(unsigned cpu, ss_simd_path path);

#endif
