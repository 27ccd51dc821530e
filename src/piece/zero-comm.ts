/**
 * Commitments of all-zero pieces (go-commp-utils `zerocomm/zerocomm.go`): the root of the
 * tree over `2^k` zero bytes is `Z_k`, with `Z_5` = 32 zero bytes (one node) and
 * `Z_{k+1} = hashPair(Z_k, Z_k)`. Computed once per thread on first use (37 hashes), never
 * hard-coded, so the table is checked against upstream by the tests.
 */
import { hashPair } from '../../native/hash.js';
import { assertPaddedSize } from '../sector/sizes.js';

/** log2 of the largest padded size in the table (2 TiB, the end of go-commp-utils' table). */
const MAX_LOG2 = 41;

let table: Uint8Array[] | undefined;

function zeroTable(): Uint8Array[] {
  if (table) return table;
  const t: Uint8Array[] = [];
  let z: Uint8Array = new Uint8Array(32);
  t[5] = z;
  for (let k = 6; k <= MAX_LOG2; k++) {
    z = hashPair(z, z);
    t[k] = z;
  }
  table = t;
  return t;
}

/**
 * Root of the tree over `size` zero bytes, for any power of two from 32 B (one node) to 2 TiB.
 * Subtree sizes below a piece (32, 64 B) are allowed here because tree builders need them.
 */
export function zeroSubtreeRoot(size: number): Uint8Array {
  const k = Math.log2(size);
  const z = Number.isInteger(k) && k >= 5 && k <= MAX_LOG2 ? zeroTable()[k] : undefined;
  if (!z) throw new RangeError(`zero subtree size ${size} must be a power of two from 32 B to 2 TiB`);
  return z.slice();
}

/**
 * Commitment (commP) of an all-zero piece of `paddedSize` bytes (a power of two from 128 B to
 * 2 TiB). This is also the CommD of an empty sector of that size.
 * @example
 * zeroPieceCommitment(2048) // fc7e9282…f833, the CommD of an empty 2 KiB sector
 */
export function zeroPieceCommitment(paddedSize: number): Uint8Array {
  assertPaddedSize(paddedSize);
  if (paddedSize > 2 ** MAX_LOG2) throw new RangeError(`padded size ${paddedSize} is above the 2 TiB maximum`);
  return zeroSubtreeRoot(paddedSize);
}
