/**
 * The seal steps of `sealSectors` run as tasks on a sealer pool: each step is the pool task of
 * the same name, so the calling thread only waits, stays free to handle signals, and cancels a
 * step by setting its task's cancel flag (which the native code polls).
 */
import type { SealSteps } from '../seal/seal-sector.js';
import type { SealerPool } from './pool.js';

/** `sealSectors`'s steps on `pool`'s threads. */
export function sealStepsOnPool(pool: SealerPool): SealSteps {
  return {
    pc1Batch: (inputs, options) => pool.run('pc1Batch', { inputs }, options),
    pc2: (input, options) => pool.run('pc2', input, options),
    c1: (input, options) => pool.run('c1', input, options),
    c2: (input, options) => pool.run('c2', input, options),
    verifySeal: (input, options) => pool.run('verifySeal', input, options),
  };
}
