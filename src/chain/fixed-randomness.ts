/**
 * Fixed sealing randomness for the local chain (`run --fixed-randomness TICKETHEX:SEEDHEX`): every
 * sector gets this ticket and this seed, as `lotus-bench` seals with fixed values, so a daemon's
 * CommR can be compared with the `seal` command's for the same inputs.
 */
import { InvalidArgumentError } from '../errors.js';
import type { Hex32 } from '../tasks/task-types.js';

/** A ticket and a seed, 32 bytes each as 64 lowercase hex digits. */
export interface FixedRandomness {
  ticket: Hex32;
  seed: Hex32;
}

const HEX64 = /^[0-9a-fA-F]{64}$/;

function part(value: string, what: 'ticket' | 'seed'): Hex32 {
  if (!HEX64.test(value)) {
    const digits = /^[0-9a-fA-F]*$/.test(value) ? `${value.length} hex digits` : 'characters that are not hex digits';
    throw new InvalidArgumentError(`fixed randomness: the ${what} must be exactly 64 hex digits (32 bytes), got ${digits}`);
  }
  return value.toLowerCase();
}

/**
 * Parses `TICKETHEX:SEEDHEX` (64 hex digits each, either case).
 * @example parseFixedRandomness(`${'00'.repeat(32)}:${'01'.repeat(32)}`)
 */
export function parseFixedRandomness(text: string): FixedRandomness {
  if (typeof text !== 'string') throw new InvalidArgumentError('fixed randomness must be a string TICKETHEX:SEEDHEX');
  const parts = text.trim().split(':');
  if (parts.length !== 2) {
    throw new InvalidArgumentError(
      `fixed randomness must be TICKETHEX:SEEDHEX (two 64-digit hex values separated by one ':'), got ${parts.length} part${parts.length === 1 ? '' : 's'}`,
    );
  }
  return { ticket: part(parts[0]!, 'ticket'), seed: part(parts[1]!, 'seed') };
}

/** The bytes of a {@link FixedRandomness}, checked (a hand-built one gets the parser's errors). */
export function fixedRandomnessBytes(fixed: FixedRandomness): { ticket: Uint8Array; seed: Uint8Array } {
  return {
    ticket: Buffer.from(part(String(fixed?.ticket), 'ticket'), 'hex'),
    seed: Buffer.from(part(String(fixed?.seed), 'seed'), 'hex'),
  };
}
