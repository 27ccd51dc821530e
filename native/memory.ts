/**
 * Typed facade of the addon's memory helper: buffers aligned for direct I/O (`O_DIRECT`), which
 * needs the buffer's address aligned to the device's logical block and which JavaScript's own
 * allocations do not guarantee (they are 16-byte aligned).
 */
import { binding } from './binding.js';

/** The alignment direct I/O is done at: the largest logical block size of common devices. */
export const DIRECT_IO_ALIGN = 4096;

/** A buffer of `bytes` whose first byte is at a multiple of `alignment` (contents unspecified). */
export function alignedBuffer(bytes: number, alignment = DIRECT_IO_ALIGN): Buffer {
  return (binding().alignedBuffer as (bytes: number, alignment: number) => Buffer)(bytes, alignment);
}
