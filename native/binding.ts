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
      `native sealer addon could not be loaded from ${path} (platform ${process.platform}-${process.arch}, node ${process.version}); run "npm ci" or "npm run build:native"`,
      { cause: err },
    );
  }
  return cached;
}

/** Which SHA-256 implementation the addon uses in this thread: SHA-NI or portable C. */
export function shaBackend(): 'sha-ni' | 'portable' {
  return (binding().shaBackend as () => 'sha-ni' | 'portable')();
}
