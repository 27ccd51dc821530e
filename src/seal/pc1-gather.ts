/**
 * The default of PC1's parent gathering (src/seal/pc1.ts `PreCommit1Input.gather`), in a module of
 * its own so that the daemon's and the worker's commands can check the variable at start without
 * loading the sealer.
 */
import { InvalidArgumentError } from '../errors.js';

/** Environment variable turning parent gathering on (`1`) or off (`0`) where a PC1 input does not say. */
export const PC1_GATHER_ENV = 'SECTOR_STORAGE_PC1_GATHER';

/**
 * Whether PC1 gathers parents on a second thread when its input does not say: `SECTOR_STORAGE_PC1_GATHER`
 * is `1` (on) or `0`, empty or unset (off). Off by default because the scheduler counts a PC1
 * as one thread, as Lotus does with rust-fil-proofs' multicore SDR producers; set it where
 * every PC1 has a core to spare. Any other value is refused, naming the variable.
 */
export function pc1GatherDefault(env: Readonly<Record<string, string | undefined>> = process.env): boolean {
  return pc1GatherFromEnv(env) ?? false;
}

/** `SECTOR_STORAGE_PC1_GATHER` as set: true (`1`), false (`0`), or undefined when unset or empty. */
export function pc1GatherFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): boolean | undefined {
  const raw = env[PC1_GATHER_ENV];
  if (raw === undefined || raw === '') return undefined;
  if (raw === '0') return false;
  if (raw === '1') return true;
  throw new InvalidArgumentError(`${PC1_GATHER_ENV}=${JSON.stringify(raw)} must be 1 (gather parents on a second thread) or 0`);
}
