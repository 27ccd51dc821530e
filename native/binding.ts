/**
 * Loads the native sealer addon once per thread (each Piscina worker gets its own instance;
 * the addon is context-aware). Callers use the typed facades in native/*.ts, never this raw
 * binding. `SECTOR_STORAGE_NATIVE` overrides the path (tests, packaging).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NativeUnavailableError } from '../src/errors.js';

/** What a cancellable native call returns when its cancel flag was set (native/src/cancel.h). */
export const NATIVE_CANCELLED = -2;

/** The raw binding. Each area (hash, sdr, poseidon) declares its functions in its own facade. */
export type RawBinding = Record<string, (...args: never[]) => unknown>;

let cached: RawBinding | undefined;

/** The package root, whether running from sources (tests under dist/) or from dist. */
export function packageRoot(): string {
  // this file lives at <root>/dist/native/binding.js once compiled
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..');
}

/** Returns the loaded addon, loading it on first use. */
export function binding(): RawBinding {
  if (cached) return cached;
  const path = process.env.SECTOR_STORAGE_NATIVE ?? join(packageRoot(), 'native', 'build', 'Release', 'sealer.node');
  try {
    cached = createRequire(import.meta.url)(path) as RawBinding;
  } catch (err) {
    throw new NativeUnavailableError(
      `native sealer addon could not be loaded from ${path} (platform ${process.platform}-${process.arch}, node ${process.version}): ${(err as Error).message}; run "npm ci" or "npm run build:native"`,
      { cause: err },
    );
  }
  return cached;
}

/** Which SHA-256 implementation the addon uses in this thread: SHA-NI or portable C. */
export function shaBackend(): 'sha-ni' | 'portable' {
  return (binding().shaBackend as () => 'sha-ni' | 'portable')();
}

/**
 * The kernel paths of the addon, lowest first (native/src/cpu.h): `portable` is C only; `shani`
 * adds SHA-NI (SHA-256) and MULX/ADX (the Fr product); `avx2` adds the AVX2 kernels (8-lane
 * BLAKE2b of the expander graph, 8-stream node-pair schedules); `avx512` runs those on AVX-512;
 * `ifma` adds the AVX-512 IFMA Poseidon. Each thread uses one path: the best this CPU runs, or
 * the one `SECTOR_STORAGE_SIMD` names (the addon refuses to load, naming the paths this CPU
 * runs, when it cannot run that one). `SECTOR_STORAGE_PORTABLE_SHA=1` still turns SHA-NI off.
 */
export const SIMD_PATHS = ['portable', 'shani', 'avx2', 'avx512', 'ifma'] as const;
export type SimdPath = (typeof SIMD_PATHS)[number];

/** The CPU feature that makes each path available (native/src/cpu.c), for messages. */
export const SIMD_PATH_NEEDS: Readonly<Record<SimdPath, string>> = {
  portable: 'nothing',
  shani: 'the SHA extensions (SHA-NI)',
  avx2: 'AVX2',
  avx512: 'AVX-512 F, VL, BW and DQ',
  ifma: 'AVX-512 IFMA',
};

/** What each kernel family of a thread runs on. */
export interface SimdInfo {
  readonly path: SimdPath;
  readonly sha256: 'portable' | 'sha-ni' | 'sha-ni+avx2' | 'sha-ni+avx512';
  readonly blake2b: 'portable' | 'avx2' | 'avx512';
  readonly poseidon: 'portable' | 'adx' | 'ifma';
  /**
   * How a PC1 batch of eight sectors hashes its labels: two groups of four interleaved SHA-NI
   * streams, eight AVX-512VL lanes (Intel cores with AVX-512), or portable C.
   */
  readonly pc1Batch8: 'portable' | 'sha-ni-fours' | 'avx512-8-lanes';
}

interface SimdBinding {
  simdPath(): SimdPath;
  simdPaths(): SimdPath[];
  setSimdPath(path: string, withoutShaNi: boolean, x8: -1 | 0 | 1): void;
  simdInfo(): SimdInfo;
}

function simd(): SimdBinding {
  return binding() as unknown as SimdBinding;
}

/** The calling thread's path. */
export function simdPath(): SimdPath {
  return simd().simdPath();
}

/** The paths this CPU can run, lowest first (`portable` always). */
export function simdPaths(): SimdPath[] {
  return simd().simdPaths();
}

/** What each kernel family runs on in the calling thread. */
export function simdInfo(): SimdInfo {
  return simd().simdInfo();
}

/** Options of {@link setSimdPath}. */
export interface SetSimdPathOptions {
  /**
   * false: leave SHA-NI off on that path, as CPUs with AVX2 or AVX-512 but no SHA extensions
   * run it (Haswell to Skylake on AVX2, Skylake-SP and Cascade Lake on AVX-512), so their
   * kernel combinations are tested on a CPU that has SHA-NI. @default true (on where the path
   * has it, unless SECTOR_STORAGE_PORTABLE_SHA is set)
   */
  readonly shaNi?: boolean;
  /**
   * true: batch PC1 as Intel's AVX-512 cores do (eight sectors on AVX-512VL lanes, SHA-NI
   * streams in pairs), false: as other cores do (groups of four SHA-NI streams), wherever the path
   * has AVX-512, so that both are tested on either vendor. @default as SECTOR_STORAGE_SHA_X8 says
   * ("1" or "0"), else as the CPU's vendor: true on Intel
   */
  readonly x8?: boolean;
}

/**
 * Switches the calling thread's path (other threads keep theirs); results do not depend on it.
 * Throws a RangeError for an unknown name and NativeUnavailableError for a path this CPU
 * cannot run.
 */
export function setSimdPath(path: SimdPath, options: SetSimdPathOptions = {}): void {
  if (!(SIMD_PATHS as readonly string[]).includes(path)) throw new RangeError(`path must be one of ${SIMD_PATHS.join(', ')}, got ${String(path)}`);
  if (!simdPaths().includes(path)) {
    throw new NativeUnavailableError(`SIMD path ${path} cannot run on this CPU: it needs ${SIMD_PATH_NEEDS[path]} (this CPU runs: ${simdPaths().join(', ')})`);
  }
  simd().setSimdPath(path, options.shaNi === false, options.x8 === undefined ? -1 : options.x8 ? 1 : 0);
}
