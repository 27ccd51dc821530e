/**
 * CIDs of sector commitments (go-fil-commcid): CID v1 with codec
 * fil-commitment-sealed (0xf102) and multihash poseidon-bls12_381-a2-fc1 (0xb401) for CommR,
 * fil-commitment-unsealed (0xf101) with sha2-256-trunc254-padded (0x1012) for CommD.
 * The 32 digest bytes are the commitment as stored (LE field representation).
 */
import { CID } from 'multiformats/cid';
import * as Digest from 'multiformats/hashes/digest';
import { InvalidArgumentError } from '../errors.js';

export const FIL_COMMITMENT_SEALED = 0xf102;
export const FIL_COMMITMENT_UNSEALED = 0xf101;
export const POSEIDON_BLS12_381_A2_FC1 = 0xb401;
export const SHA2_256_TRUNC254_PADDED = 0x1012;

function toCid(codec: number, hash: number, commitment: Uint8Array, what: string): CID {
  if (!(commitment instanceof Uint8Array) || commitment.length !== 32) {
    throw new InvalidArgumentError(`${what} must be 32 bytes`);
  }
  return CID.create(1, codec, Digest.create(hash, commitment.slice()));
}

function fromCid(cid: CID | string, codec: number, hash: number, what: string): Uint8Array {
  let parsed: CID;
  try {
    parsed = typeof cid === 'string' ? CID.parse(cid) : cid;
  } catch (err) {
    throw new InvalidArgumentError(`${what} "${String(cid)}" is not a CID`, { cause: err });
  }
  if (parsed.version !== 1 || parsed.code !== codec || parsed.multihash.code !== hash || parsed.multihash.digest.length !== 32) {
    throw new InvalidArgumentError(
      `${what} ${parsed.toString()} is not a ${codec === FIL_COMMITMENT_SEALED ? 'sealed' : 'unsealed'} commitment CID`,
    );
  }
  return parsed.multihash.digest.slice();
}

/** CommR bytes → `bagboea4b5abc…` CID. */
export function commRToCid(commR: Uint8Array): CID {
  return toCid(FIL_COMMITMENT_SEALED, POSEIDON_BLS12_381_A2_FC1, commR, 'commR');
}

/** CommD bytes → `baga6ea4seaq…` CID. */
export function commDToCid(commD: Uint8Array): CID {
  return toCid(FIL_COMMITMENT_UNSEALED, SHA2_256_TRUNC254_PADDED, commD, 'commD');
}

/** CommR CID (or its string) → 32 bytes; rejects any other kind of CID. */
export function cidToCommR(cid: CID | string): Uint8Array {
  return fromCid(cid, FIL_COMMITMENT_SEALED, POSEIDON_BLS12_381_A2_FC1, 'commR');
}

/** CommD CID (or its string) → 32 bytes; rejects any other kind of CID. */
export function cidToCommD(cid: CID | string): Uint8Array {
  return fromCid(cid, FIL_COMMITMENT_UNSEALED, SHA2_256_TRUNC254_PADDED, 'commD');
}

/** Accepts a commitment as bytes, CID or CID string and returns the 32 bytes. */
export function commitmentBytes(value: Uint8Array | CID | string, kind: 'commR' | 'commD'): Uint8Array {
  if (value instanceof Uint8Array) {
    if (value.length !== 32) throw new InvalidArgumentError(`${kind} must be 32 bytes, got ${value.length}`);
    return value;
  }
  return kind === 'commR' ? cidToCommR(value) : cidToCommD(value);
}
