/**
 * Chain randomness drawn as Lotus draws it (`chain/rand/rand.go`, `DrawRandomness`):
 *
 *   BLAKE2b-256( i64 BE tag ‖ BLAKE2b-256(rbase) ‖ i64 BE epoch ‖ entropy )
 *
 * where `rbase` is the randomness of the chain at that epoch (a ticket's VRF proof for tickets,
 * the drand beacon entry for seeds), `tag` the domain separation tag and, for sealing, `entropy`
 * the CBOR encoding of the miner's address (`storage/pipeline/states_sealing.go`, `getTicket`:
 * `m.maddr.MarshalCBOR(buf)`, then `StateGetRandomnessFromTickets(…, SealRandomness, …)`;
 * `handleWaitSeed` likewise with `InteractiveSealChallengeSeed`).
 */
import { encode } from 'cborg';
import { blake2b256 } from '../../native/hash.js';
import { InvalidArgumentError } from '../errors.js';

/**
 * Domain separation tags (go-state-types `crypto/randomness.go`: TicketProduction = 1,
 * ElectionProofProduction, WinningPoStChallengeSeed, WindowedPoStChallengeSeed, SealRandomness,
 * InteractiveSealChallengeSeed, …).
 */
export const DomainSeparationTag = {
  /** The sealing ticket. */
  SealRandomness: 5,
  /** The interactive seed of the commit (PoRep challenges). */
  InteractiveSealChallengeSeed: 6,
} as const;
export type DomainSeparationTag = (typeof DomainSeparationTag)[keyof typeof DomainSeparationTag];

function int64BE(value: number, what: string): Uint8Array {
  if (!Number.isSafeInteger(value)) throw new InvalidArgumentError(`${what} ${value} must be an integer`);
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigInt64(0, BigInt(value));
  return out;
}

/** Lotus's `DrawRandomness(rbase, pers, round, entropy)`: 32 bytes. */
export function drawRandomness(rbase: Uint8Array, tag: DomainSeparationTag, epoch: number, entropy: Uint8Array): Uint8Array {
  const parts = [int64BE(tag, 'tag'), blake2b256(rbase), int64BE(epoch, 'epoch'), entropy];
  const data = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    data.set(p, at);
    at += p.length;
  }
  return blake2b256(data);
}

/**
 * The bytes of the ID address `f0<id>` (`t0<id>` on test networks): protocol byte 0 followed by
 * the id as an unsigned LEB128 varint (go-address `NewIDAddress`).
 */
export function idAddressBytes(minerId: number): Uint8Array {
  if (!Number.isSafeInteger(minerId) || minerId < 0) {
    throw new InvalidArgumentError(`miner id ${minerId} must be a non-negative integer`);
  }
  const out = [0];
  let n = minerId;
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return Uint8Array.from(out);
}

/** The miner address as `MarshalCBOR` writes it: a CBOR byte string of its bytes. */
export function minerAddressCbor(minerId: number): Uint8Array {
  return encode(idAddressBytes(minerId));
}

/**
 * The randomness base of an epoch on the local chain: its 32-byte genesis nonce followed by the
 * epoch (i64 BE). It stands for what a real chain holds at that epoch (the ticket's VRF proof,
 * the beacon entry); `drawRandomness` hashes it as Lotus hashes those, so every epoch's
 * randomness is fixed by the nonce and need not be stored.
 */
export function epochRandomnessBase(nonce: Uint8Array, epoch: number): Uint8Array {
  if (!(nonce instanceof Uint8Array) || nonce.length !== 32) throw new InvalidArgumentError('chain nonce must be 32 bytes');
  const out = new Uint8Array(40);
  out.set(nonce, 0);
  out.set(int64BE(epoch, 'epoch'), 32);
  return out;
}

/** The sealing ticket of `minerId` drawn at `epoch` of a chain with this genesis nonce. */
export function sealTicket(nonce: Uint8Array, minerId: number, epoch: number): Uint8Array {
  return drawRandomness(epochRandomnessBase(nonce, epoch), DomainSeparationTag.SealRandomness, epoch, minerAddressCbor(minerId));
}

/** The interactive seed of `minerId` drawn at `epoch` of a chain with this genesis nonce. */
export function sealSeed(nonce: Uint8Array, minerId: number, epoch: number): Uint8Array {
  return drawRandomness(
    epochRandomnessBase(nonce, epoch),
    DomainSeparationTag.InteractiveSealChallengeSeed,
    epoch,
    minerAddressCbor(minerId),
  );
}
