/**
 * Piece CIDs (go-fil-commcid, FRC-0069).
 *
 * - v1 `baga6ea4seaq…`: CID v1, codec fil-commitment-unsealed (0xf101), multihash
 *   sha2-256-trunc254-padded (0x1012) over the 32 commP bytes. It says nothing about sizes, so
 *   deals carry the padded piece size next to it. CommD uses the same form.
 * - v2 `bafkzcib…`: CID v1, codec raw (0x55), multihash fr32-sha256-trunc254-padbintree
 *   (0x1011) whose digest is `uvarint(padding) || height || commP`, where height =
 *   log2(padded size / 32) and padding = unpadded capacity − payload length. It is
 *   self-describing: padded size and payload size can be read back from it.
 */
import { CID } from 'multiformats/cid';
import * as Digest from 'multiformats/hashes/digest';
import { PieceCidInvalidError, PieceSizeInvalidError } from '../errors.js';
import { assertPaddedSize } from '../sector/sizes.js';

export const FIL_COMMITMENT_UNSEALED = 0xf101;
export const SHA2_256_TRUNC254_PADDED = 0x1012;
export const RAW_CODEC = 0x55;
export const FR32_SHA256_TRUNC254_PADBINTREE = 0x1011;

/** A parsed piece CID of either version. */
export type ParsedPieceCid =
  | { readonly version: 1; readonly cid: CID; readonly commP: Uint8Array }
  | {
      readonly version: 2;
      readonly cid: CID;
      readonly commP: Uint8Array;
      /** log2(paddedSize / 32). */
      readonly height: number;
      readonly paddedSize: number;
      /** Unpadded capacity minus payload. */
      readonly padding: number;
      readonly payloadSize: number;
    };

function assertCommitment(commP: Uint8Array, what: string): void {
  if (!(commP instanceof Uint8Array) || commP.length !== 32) {
    throw new PieceCidInvalidError(`${what} must be 32 bytes, got ${commP instanceof Uint8Array ? commP.length : typeof commP}`);
  }
}

/** Piece CID v1 of a commitment (also the CID form of CommD). */
export function pieceCidV1(commP: Uint8Array): CID {
  assertCommitment(commP, 'commP');
  return CID.create(1, FIL_COMMITMENT_UNSEALED, Digest.create(SHA2_256_TRUNC254_PADDED, commP.slice()));
}

/**
 * Piece CID v2 of a commitment, its padded piece size and the payload length it was computed
 * over (0 < payloadSize ≤ paddedSize·127/128).
 */
export function pieceCidV2(commP: Uint8Array, paddedSize: number, payloadSize: number): CID {
  assertCommitment(commP, 'commP');
  assertPaddedSize(paddedSize);
  const capacity = paddedSize - paddedSize / 128;
  if (!Number.isSafeInteger(payloadSize) || payloadSize < 1 || payloadSize > capacity) {
    throw new PieceSizeInvalidError(
      `payload size ${payloadSize} does not fit a ${paddedSize}-byte piece (1..${capacity} bytes)`,
    );
  }
  const height = Math.log2(paddedSize / 32);
  const pad = encodeUvarint(capacity - payloadSize);
  const digest = new Uint8Array(pad.length + 33);
  digest.set(pad, 0);
  digest[pad.length] = height;
  digest.set(commP, pad.length + 1);
  return CID.create(1, RAW_CODEC, Digest.create(FR32_SHA256_TRUNC254_PADBINTREE, digest));
}

/**
 * Parses a piece CID (v1 or v2) from a string or CID.
 * @throws PieceCidInvalidError naming what is wrong (multibase, codec, multihash, digest)
 */
export function parsePieceCid(input: string | CID, what = 'piece CID'): ParsedPieceCid {
  const cid = toCid(input, what);
  const text = cid.toString();
  if (cid.version !== 1) throw new PieceCidInvalidError(`${what} ${text} is a CIDv0; piece CIDs are CIDv1`);
  const mh = cid.multihash;
  if (cid.code === FIL_COMMITMENT_UNSEALED) {
    if (mh.code !== SHA2_256_TRUNC254_PADDED) {
      throw new PieceCidInvalidError(
        `${what} ${text} has multihash ${hex(mh.code)}; a v1 piece CID uses sha2-256-trunc254-padded (0x1012)`,
      );
    }
    if (mh.digest.length !== 32) {
      throw new PieceCidInvalidError(`${what} ${text} has a ${mh.digest.length}-byte digest; expected 32`);
    }
    return { version: 1, cid, commP: mh.digest.slice() };
  }
  if (cid.code === RAW_CODEC) {
    if (mh.code !== FR32_SHA256_TRUNC254_PADBINTREE) {
      throw new PieceCidInvalidError(
        `${what} ${text} has multihash ${hex(mh.code)}; a v2 piece CID uses fr32-sha256-trunc254-padbintree (0x1011)`,
      );
    }
    return parseV2Digest(cid, mh.digest, what, text);
  }
  throw new PieceCidInvalidError(
    `${what} ${text} has codec ${hex(cid.code)}; expected fil-commitment-unsealed (0xf101, v1) or raw (0x55, v2)`,
  );
}

function parseV2Digest(cid: CID, digest: Uint8Array, what: string, text: string): ParsedPieceCid {
  const decoded = decodeUvarint(digest);
  if (!decoded) throw new PieceCidInvalidError(`${what} ${text} has a malformed padding varint in its digest`);
  const [padding, n] = decoded;
  if (digest.length !== n + 33) {
    throw new PieceCidInvalidError(`${what} ${text} has a ${digest.length}-byte digest; expected ${n + 33} (padding, height, 32-byte root)`);
  }
  const height = digest[n]!;
  if (height < 2 || height > 48) {
    throw new PieceCidInvalidError(`${what} ${text} has tree height ${height}; supported heights are 2 (128 B) to 48`);
  }
  const paddedSize = 32 * 2 ** height;
  const capacity = paddedSize - paddedSize / 128;
  if (padding >= capacity) {
    throw new PieceCidInvalidError(`${what} ${text} has padding ${padding}, not less than the piece capacity ${capacity}`);
  }
  return {
    version: 2,
    cid,
    commP: digest.slice(n + 1),
    height,
    paddedSize,
    padding,
    payloadSize: capacity - padding,
  };
}

/** Whether a CID has the form of a piece CID (v1: fil-commitment-unsealed; v2: raw with the FRC-0069 multihash). */
export function isPieceCid(cid: CID): boolean {
  return (cid.code === FIL_COMMITMENT_UNSEALED && cid.multihash.code === SHA2_256_TRUNC254_PADDED) || (cid.code === RAW_CODEC && cid.multihash.code === FR32_SHA256_TRUNC254_PADBINTREE);
}

/** The commitment inside a piece CID of either version. */
export function commPFromPieceCid(input: string | CID): Uint8Array {
  return parsePieceCid(input).commP;
}

/**
 * v1 → v2. A v1 CID carries no sizes, so the payload size is needed; the padded size defaults
 * to the smallest piece that holds the payload.
 */
export function pieceCidV1ToV2(v1: string | CID, payloadSize: number, paddedSize?: number): CID {
  const parsed = parsePieceCid(v1);
  if (parsed.version !== 1) throw new PieceCidInvalidError(`piece CID ${parsed.cid} is already a v2 piece CID`);
  return pieceCidV2(parsed.commP, paddedSize ?? smallestPieceFor(payloadSize), payloadSize);
}

/** v2 → v1, with the sizes the v2 CID carries. */
export function pieceCidV2ToV1(v2: string | CID): { pieceCid: CID; paddedSize: number; payloadSize: number } {
  const parsed = parsePieceCid(v2);
  if (parsed.version !== 2) throw new PieceCidInvalidError(`piece CID ${parsed.cid} is a v1 piece CID, not v2`);
  return { pieceCid: pieceCidV1(parsed.commP), paddedSize: parsed.paddedSize, payloadSize: parsed.payloadSize };
}

function smallestPieceFor(payloadSize: number): number {
  if (!Number.isSafeInteger(payloadSize) || payloadSize < 1) {
    throw new PieceSizeInvalidError(`payload size ${payloadSize} must be a positive integer`);
  }
  let padded = 128;
  while (padded - padded / 128 < payloadSize) padded *= 2;
  return padded;
}

function toCid(input: string | CID, what: string): CID {
  if (typeof input !== 'string') {
    const cid = CID.asCID(input);
    if (!cid) throw new PieceCidInvalidError(`${what} must be a CID or a CID string, got ${typeof input}`);
    return cid;
  }
  const text = input.trim();
  if (text.length === 0) throw new PieceCidInvalidError(`${what} is empty`);
  const prefix = text[0]!;
  if (!'bkz'.includes(prefix)) {
    throw new PieceCidInvalidError(
      `${what} "${input}" has multibase prefix "${prefix}"; expected "b" (base32, as Filecoin writes piece CIDs)`,
    );
  }
  try {
    return CID.parse(text);
  } catch (err) {
    throw new PieceCidInvalidError(`${what} "${input}" is not a valid CID: ${(err as Error).message}`, { cause: err });
  }
}

const hex = (n: number) => `0x${n.toString(16)}`;

/** Unsigned LEB128 of a safe integer. */
export function encodeUvarint(value: number): Uint8Array {
  const out: number[] = [];
  let n = value;
  do {
    const low = n % 128;
    n = Math.floor(n / 128);
    out.push(n > 0 ? low | 0x80 : low);
  } while (n > 0);
  return Uint8Array.from(out);
}

/** Decodes a minimal unsigned LEB128 (≤ 2^53) at the start of `bytes`: [value, length]. */
export function decodeUvarint(bytes: Uint8Array): [number, number] | undefined {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 8 && i < bytes.length; i++) {
    const b = bytes[i]!;
    value += (b & 0x7f) * scale;
    if (b < 0x80) {
      if (b === 0 && i > 0) return undefined;
      return Number.isSafeInteger(value) ? [value, i + 1] : undefined;
    }
    scale *= 128;
  }
  return undefined;
}
