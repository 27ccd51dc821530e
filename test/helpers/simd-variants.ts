/**
 * The kernel combinations the SIMD tests run (test/native/simd-paths.test.ts,
 * test/native/label-repeat.test.ts): every path; the AVX2 and AVX-512 paths without SHA-NI (what
 * CPUs with those vector units but no SHA extensions run: Haswell to Skylake, Skylake-SP and
 * Cascade Lake); and the AVX-512 path with either vendor's PC1 batch kernels (eight AVX-512VL
 * lanes and SHA-NI pairs as on Intel, groups of four SHA-NI streams as on AMD), so that both are
 * tested on any CPU with AVX-512. A combination the CPU cannot run is skipped by the tests.
 */
import { SIMD_PATHS, type SimdPath, setSimdPath, simdPath } from '../../native/binding.js';

export interface SimdVariant {
  readonly name: string;
  readonly path: SimdPath;
  readonly shaNi: boolean;
  /** The PC1 batch kernels (native/binding.ts `SetSimdPathOptions.x8`); undefined: the vendor's. */
  readonly x8?: boolean;
}

export const SIMD_VARIANTS: readonly SimdVariant[] = [
  ...SIMD_PATHS.map((path) => ({ name: path, path, shaNi: true })),
  { name: 'avx2 without SHA-NI', path: 'avx2', shaNi: false },
  { name: 'avx512 without SHA-NI', path: 'avx512', shaNi: false },
  { name: 'avx512 with Intel\'s batch kernels', path: 'avx512', shaNi: true, x8: true },
  { name: 'avx512 with AMD\'s batch kernels', path: 'avx512', shaNi: true, x8: false },
];

/** Runs fn on `v` in this thread, then puts the thread back on its default path. */
export function onVariant<T>(v: Pick<SimdVariant, 'path' | 'shaNi' | 'x8'>, fn: () => T): T {
  const before = simdPath();
  try {
    setSimdPath(v.path, { shaNi: v.shaNi, ...(v.x8 === undefined ? {} : { x8: v.x8 }) });
    return fn();
  } finally {
    setSimdPath(before);
  }
}
