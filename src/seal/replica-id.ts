/**
 * The replica id of a sector (rust-fil-proofs `filecoin-proofs/src/api/util.rs` `generate_replica_id`):
 * `trunc254(SHA-256(prover_id ‖ u64 BE sector_number ‖ ticket ‖ comm_d ‖ porep_id))`.
 * The sector number is big-endian here (it is little-endian elsewhere, e.g. PoSt).
 */
import { createHash } from 'node:crypto';
import { InvalidArgumentError } from '../errors.js';

/** Inputs of {@link replicaId}: a prover id, or the miner actor id it derives from. */
export type ReplicaIdInput = {
  /** Sector number (u64). */
  readonly sectorNumber: number | bigint;
  /** 32-byte sealing randomness. */
  readonly ticket: Uint8Array;
  /** 32 raw CommD bytes. */
  readonly commD: Uint8Array;
  /** 32-byte porep id (see `porepId` in src/sector/proofs.ts). */
  readonly porepId: Uint8Array;
} & ({ readonly proverId: Uint8Array; readonly minerId?: undefined } | { readonly minerId: number | bigint; readonly proverId?: undefined });

const U64_MAX = (1n << 64n) - 1n;

function u64(name: string, v: number | bigint): bigint {
  const b = typeof v === 'bigint' ? v : Number.isSafeInteger(v) ? BigInt(v) : -1n;
  if (b < 0n || b > U64_MAX) throw new InvalidArgumentError(`${name} must be an integer in [0, 2^64), got ${String(v)}`);
  return b;
}

function bytes32(name: string, v: unknown): Uint8Array {
  if (!(v instanceof Uint8Array) || v.length !== 32) throw new InvalidArgumentError(`${name} must be 32 bytes`);
  return v;
}

/**
 * The prover id of a miner actor: the unsigned LEB128 varint of the actor id (the payload of
 * its ID address, as filecoin-ffi `toProverID` does) at the start of 32 zero bytes.
 * @example proverIdFromMinerId(1000) // e8 07 00 … 00
 */
export function proverIdFromMinerId(minerId: number | bigint): Uint8Array {
  let id = u64('minerId', minerId);
  const out = new Uint8Array(32);
  let i = 0;
  do {
    const b = Number(id & 0x7fn);
    id >>= 7n;
    out[i++] = id !== 0n ? b | 0x80 : b;
  } while (id !== 0n);
  return out;
}

/** Computes the 32-byte replica id (an Fr element, top two bits cleared). */
export function replicaId(input: ReplicaIdInput): Uint8Array {
  const prover = input.proverId !== undefined ? bytes32('proverId', input.proverId) : proverIdFromMinerId(input.minerId);
  const sector = new Uint8Array(8);
  new DataView(sector.buffer).setBigUint64(0, u64('sectorNumber', input.sectorNumber), false);
  const h = new Uint8Array(
    createHash('sha256')
      .update(prover)
      .update(sector)
      .update(bytes32('ticket', input.ticket))
      .update(bytes32('commD', input.commD))
      .update(bytes32('porepId', input.porepId))
      .digest(),
  );
  h[31]! &= 0x3f;
  return h;
}
