/**
 * When PC1 gathers its parents on a second thread (src/seal/pc1.ts `PreCommit1Input.gather`), in a
 * module of its own so that the daemon's, the worker's and the seal command can check the variable
 * at start without loading the sealer.
 */
import { InvalidArgumentError } from '../errors.js';

/**
 * How a PC1 gathers parents: always (`true`: every native call of at least 4 096 nodes), never
 * (`false`), or `'auto'`: where the batch's layer ({@link GATHER_AUTO_MIN_LAYER_BYTES} or more) lies
 * beyond the caches.
 */
export type Pc1Gather = boolean | 'auto';

/**
 * The smallest layer of a batch (sector size × sectors) that `'auto'` gathers for. Measured on the
 * project's AMD EPYC (`npm run bench -- pc1`): a 512 MiB sector labelled 1.29× as fast gathered,
 * a batch of eight of them (4 GiB layers) 1.11×, while layers that the caches hold lost to the
 * second thread's traffic (8 MiB: 0.85×; a batch of eight, 64 MiB: 0.83×).
 */
export const GATHER_AUTO_MIN_LAYER_BYTES = 256 * 1024 * 1024;

/** Environment variable choosing PC1's gathering where a PC1 input does not say. */
export const PC1_GATHER_ENV = 'SECTOR_STORAGE_PC1_GATHER';

/**
 * `SECTOR_STORAGE_PC1_GATHER` as set: `1` is `'auto'` (gather where it pays), `0` is off, unset or
 * empty is undefined. Any other value is refused, naming the variable.
 */
export function pc1GatherFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): Pc1Gather | undefined {
  const raw = env[PC1_GATHER_ENV];
  if (raw === undefined || raw === '') return undefined;
  if (raw === '0') return false;
  if (raw === '1') return 'auto';
  throw new InvalidArgumentError(`${PC1_GATHER_ENV}=${JSON.stringify(raw)} must be 1 (gather parents on a second thread where layers pass the caches) or 0`);
}

/**
 * How PC1 gathers when its input does not say: from `SECTOR_STORAGE_PC1_GATHER`, off when unset.
 * Off by default: a gathered PC1 labels one sector faster on two threads but less per thread
 * (1.19 M labels/s on two against 0.92 M on one, at 512 MiB), and a daemon sealing many sectors
 * wants the most per thread. A worker that gathers declares it, and the scheduler counts each of
 * its PC1s of those sizes as two threads ({@link pc1GatherFrom}).
 */
export function pc1GatherDefault(env: Readonly<Record<string, string | undefined>> = process.env): Pc1Gather {
  return pc1GatherFromEnv(env) ?? false;
}

/** Whether a batch whose layer is `layerBytes` (sector size × sectors) gathers under `mode`. */
export function gathersFor(mode: Pc1Gather, layerBytes: number): boolean {
  return mode === 'auto' ? layerBytes >= GATHER_AUTO_MIN_LAYER_BYTES : mode;
}

/**
 * The smallest sector whose PC1 gathers under `mode`, or undefined when it never does: what a
 * worker declares (WorkerResources.pc1GatherFrom) so that the scheduler counts such a PC1 as two
 * threads. A batch gathers by its whole layer, so its sectors may be smaller; with sealing's sector
 * sizes and at most eight sectors a batch, a batch gathers exactly where its sectors would alone
 * (test/src/seal/pc1-gather.test.ts checks it).
 */
export function pc1GatherFrom(mode: Pc1Gather): number | undefined {
  return mode === 'auto' ? GATHER_AUTO_MIN_LAYER_BYTES : mode ? 0 : undefined;
}

/** Whether `v` is a {@link Pc1Gather}. */
export function isPc1Gather(v: unknown): v is Pc1Gather {
  return typeof v === 'boolean' || v === 'auto';
}

/** `v` as a {@link Pc1Gather}; InvalidArgumentError naming `name` otherwise. */
export function checkPc1Gather(v: unknown, name: string): Pc1Gather {
  if (!isPc1Gather(v)) throw new InvalidArgumentError(`${name} must be true, false or 'auto', got ${JSON.stringify(v)}`);
  return v;
}
