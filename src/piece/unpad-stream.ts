/**
 * Unpadded byte ranges at any offset: the padded window of whole 128-byte fr32 blocks that covers
 * an unpadded range `[offset, offset + size)` (Lotus's UnpaddedByteIndex allows only multiples of
 * 127; a block at an arbitrary offset of a CAR needs any byte), and a stream transform that
 * unpads such a window, however its chunks are cut, and trims it to the range.
 */
import { fr32Unpad } from '../../native/hash.js';
import { FetchFailedError, InvalidArgumentError } from '../errors.js';

/** The padded window covering an unpadded range, and how many unpadded bytes to skip at its start. */
export interface PaddedWindow {
  /** Padded offset (a multiple of 128). */
  start: number;
  /** Padded length (a multiple of 128). */
  length: number;
  /** Unpadded bytes of the window before the range (< 127). */
  skip: number;
}

/**
 * The padded window of `[offset, offset + size)` (unpadded bytes).
 * @throws InvalidArgumentError for a negative or fractional offset, or a size < 1
 */
export function paddedWindow(offset: number, size: number): PaddedWindow {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new InvalidArgumentError(`unpadded offset ${offset} must be a non-negative integer`);
  if (!Number.isSafeInteger(size) || size < 1) throw new InvalidArgumentError(`size ${size} must be a positive integer`);
  const firstBlock = Math.floor(offset / 127);
  const skip = offset - firstBlock * 127;
  const blocks = Math.ceil((skip + size) / 127);
  return { start: firstBlock * 128, length: blocks * 128, skip };
}

/**
 * Unpads the padded window `source` (chunks of any length, together `window.length` bytes) and
 * yields exactly the `size` unpadded bytes of the range, each chunk a fresh buffer.
 */
export async function* unpadWindow(source: AsyncIterable<Uint8Array>, window: PaddedWindow, size: number): AsyncGenerator<Uint8Array> {
  let carry = new Uint8Array(0);
  let toSkip = window.skip;
  let left = size;
  for await (const chunk of source) {
    if (left === 0) break;
    let bytes: Uint8Array = chunk;
    if (carry.length > 0) {
      bytes = new Uint8Array(carry.length + chunk.length);
      bytes.set(carry);
      bytes.set(chunk, carry.length);
    }
    const whole = bytes.length - (bytes.length % 128);
    carry = bytes.slice(whole);
    if (whole === 0) continue;
    const out = new Uint8Array((whole / 128) * 127);
    fr32Unpad(bytes.subarray(0, whole), out);
    const from = Math.min(toSkip, out.length);
    toSkip -= from;
    const take = Math.min(out.length - from, left);
    left -= take;
    if (take > 0) yield from === 0 && take === out.length ? out : out.slice(from, from + take);
  }
  if (left > 0) throw new FetchFailedError(`the padded data ended ${left} unpadded bytes short of the range`);
}
