/**
 * CAR detection for payload files: reads only the header (CARv1 header, or the CARv2 pragma,
 * fixed header and inner CARv1 header at its data offset) with @ipld/car's decoder, through a
 * positional file reader that never reads more than a small budget. Used to record the CAR's
 * roots with a piece; a payload that is not a CAR is still a valid piece.
 */
import { type BytesReader, chunkReader, readHeader } from '@ipld/car/decoder';
import type { CID } from 'multiformats/cid';
import { CarInvalidError } from '../errors.js';
import { openPayload } from './byte-source.js';

/** What a CAR header says. */
export interface CarInfo {
  readonly version: 1 | 2;
  readonly roots: CID[];
  /** CARv2 only: where the inner CARv1 payload sits in the file. */
  readonly dataOffset?: number;
  readonly dataSize?: number;
}

/** A header larger than this is not a header we want to read (real ones are tens of bytes). */
const HEADER_BUDGET = 1024 * 1024;
const READ_SIZE = 64 * 1024;
/** The 11-byte CARv2 pragma: a CARv1-style header `{ version: 2 }`. */
const V2_PRAGMA = Uint8Array.from([0x0a, 0xa1, 0x67, 0x76, 0x65, 0x72, 0x73, 0x69, 0x6f, 0x6e, 0x02]);
const V2_FIXED_HEADER = 40;

export interface CarInfoOptions {
  /** Throw CarInvalidError instead of returning null when the file is not a readable CAR. */
  strict?: boolean;
}

/**
 * Returns `{ version, roots }` when `path` starts with a valid CAR header, otherwise null
 * (or, with `strict`, throws CarInvalidError naming the file and the problem).
 * @throws FileNotFoundError / FileUnreadableError when the file cannot be opened
 */
export async function carInfo(path: string, options: CarInfoOptions = {}): Promise<CarInfo | null> {
  const { fh, size } = await openPayload(path);
  try {
    const readerAt = (start: number): BytesReader => {
      let pos = start;
      return chunkReader(async () => {
        if (pos >= size || pos - start >= HEADER_BUDGET) return null;
        const buf = new Uint8Array(Math.min(READ_SIZE, size - pos));
        const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
        pos += bytesRead;
        return bytesRead > 0 ? buf.subarray(0, bytesRead) : null;
      });
    };
    try {
      const head = new Uint8Array(V2_PRAGMA.length);
      const { bytesRead } = await fh.read(head, 0, head.length, 0);
      if (bytesRead === V2_PRAGMA.length && head.every((b, i) => b === V2_PRAGMA[i])) {
        const fixed = new Uint8Array(V2_FIXED_HEADER);
        const got = await fh.read(fixed, 0, V2_FIXED_HEADER, V2_PRAGMA.length);
        if (got.bytesRead !== V2_FIXED_HEADER) throw new Error('CARv2 fixed header is truncated');
        const view = new DataView(fixed.buffer);
        const dataOffset = Number(view.getBigUint64(16, true));
        const dataSize = Number(view.getBigUint64(24, true));
        if (dataOffset < V2_PRAGMA.length + V2_FIXED_HEADER || dataOffset + dataSize > size) {
          throw new Error(`CARv2 data offset ${dataOffset} / size ${dataSize} lie outside the ${size}-byte file`);
        }
        const inner = await readHeader(readerAt(dataOffset), 1);
        return { version: 2, roots: inner.roots, dataOffset, dataSize };
      }
      const header = await readHeader(readerAt(0), 1);
      return { version: 1, roots: header.roots };
    } catch (err) {
      if (options.strict) {
        throw new CarInvalidError(`${path} is not a valid CAR: ${(err as Error).message}`, { cause: err });
      }
      return null;
    }
  } finally {
    await fh.close();
  }
}
