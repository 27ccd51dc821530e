/**
 * One pass over a CAR file (v1, or the CARv1 payload of a v2) with @ipld/car's decoder: its
 * roots, and each block's CID and where its section lies, every block's bytes checked against its
 * CID on the way (a CAR that holds a block whose bytes do not hash to its CID is refused whole).
 * What go-car v2 `LoadIndex` reads to build an index (`v2/index_gen.go`), with dagstore's
 * `ZeroLengthSectionAsEOF`: a zero-length section ends the payload.
 */
import { createHash } from 'node:crypto';
import { type BytesReader, chunkReader, readBlockHead, readHeader } from '@ipld/car/decoder';
import { blake2b256 } from '@multiformats/blake2/blake2b';
import type { CID } from 'multiformats/cid';
import { CarBlockInvalidError, CarInvalidError } from '../errors.js';
import { openPayload, throwIfAborted } from '../piece/byte-source.js';

/** One block section of the CARv1 payload. */
export interface CarSection {
  cid: CID;
  /** Offset of the section (its length varint) from the start of the CARv1 payload. */
  offset: number;
  /** Offset of the block's bytes from the start of the CARv1 payload. */
  blockOffset: number;
  blockLength: number;
}

export interface CarScan {
  version: 1 | 2;
  roots: CID[];
  /** Where the CARv1 payload starts in the file (0 for a CARv1). */
  dataOffset: number;
  /** Length of the CARv1 payload up to its last section. */
  dataSize: number;
  sections: CarSection[];
}

const V2_PRAGMA = Uint8Array.from([0x0a, 0xa1, 0x67, 0x76, 0x65, 0x72, 0x73, 0x69, 0x6f, 0x6e, 0x02]);
const READ_SIZE = 1 << 20;

/** Node's names of the multihash functions a block can be checked with. */
const HASHES = new Map<number, string>([
  [0x11, 'sha1'],
  [0x12, 'sha256'],
  [0x13, 'sha512'],
  [0x16, 'sha3-256'],
  [0x14, 'sha3-512'],
]);

/**
 * Multihash functions node:crypto lacks, from multiformats' own hashers. BLAKE2b-256 (0xb220) is
 * what Filecoin hashes its chain objects with, so Filecoin CARs hold such blocks; node:crypto has
 * only BLAKE2b-512, whose truncation is a different hash (the digest length is hashed in).
 */
const HASHERS = new Map<number, (bytes: Uint8Array) => Uint8Array>([
  [
    blake2b256.code,
    (bytes) => {
      const out = blake2b256.encode(bytes);
      if (!(out instanceof Uint8Array)) throw new TypeError('the blake2b-256 hasher is expected to be synchronous');
      return out;
    },
  ],
]);

/**
 * Throws CarBlockInvalidError unless `bytes` hash to `cid`'s multihash (identity: are its digest).
 */
export function verifyBlock(cid: CID, bytes: Uint8Array, where: string): void {
  const { code, digest } = cid.multihash;
  let actual: Uint8Array;
  if (code === 0x00) actual = bytes;
  else {
    const name = HASHES.get(code);
    const hasher = HASHERS.get(code);
    if (name) actual = createHash(name).update(bytes).digest();
    else if (hasher) actual = hasher(bytes);
    else throw new CarBlockInvalidError(`${where}: block ${cid} uses multihash 0x${code.toString(16)}, which cannot be checked here`);
  }
  if (actual.length !== digest.length || !Buffer.from(actual).equals(Buffer.from(digest))) {
    throw new CarBlockInvalidError(`${where}: the bytes of block ${cid} do not hash to its CID`);
  }
}

/** A chunked reader of `[start, end)` of an open file. */
function fileReader(fh: import('node:fs/promises').FileHandle, start: number, end: number, signal?: AbortSignal): BytesReader {
  let pos = start;
  return chunkReader(async () => {
    throwIfAborted(signal, 'the CAR scan');
    if (pos >= end) return null;
    const buf = new Uint8Array(Math.min(READ_SIZE, end - pos));
    const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
    pos += bytesRead;
    return bytesRead > 0 ? buf.subarray(0, bytesRead) : null;
  });
}

/**
 * Scans the CAR at `path`.
 * @throws CarInvalidError (not a CAR, a bad header, a truncated section), CarBlockInvalidError
 *   (a block whose bytes do not hash to its CID, or whose multihash cannot be checked), FileNotFoundError
 */
export async function scanCar(path: string, options: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {}): Promise<CarScan> {
  const { fh, size } = await openPayload(path);
  try {
    let version: 1 | 2 = 1;
    let dataOffset = 0;
    let end = size;
    const head = new Uint8Array(V2_PRAGMA.length + 40);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    if (bytesRead >= V2_PRAGMA.length && V2_PRAGMA.every((b, i) => head[i] === b)) {
      if (bytesRead < head.length) throw new CarInvalidError(`${path} is not a valid CAR: its CARv2 header is truncated`);
      const view = new DataView(head.buffer, V2_PRAGMA.length);
      dataOffset = Number(view.getBigUint64(16, true));
      const dataSize = Number(view.getBigUint64(24, true));
      if (dataOffset < head.length || dataOffset + dataSize > size) {
        throw new CarInvalidError(`${path} is not a valid CAR: its CARv2 payload [${dataOffset}, +${dataSize}) lies outside the ${size}-byte file`);
      }
      version = 2;
      end = dataOffset + dataSize;
    }
    const reader = fileReader(fh, dataOffset, end, options.signal);
    let roots: CID[];
    try {
      roots = (await readHeader(reader, 1)).roots;
    } catch (err) {
      throw new CarInvalidError(`${path} is not a valid CAR: ${(err as Error).message}`, { cause: err });
    }
    const sections: CarSection[] = [];
    const total = end - dataOffset;
    for (;;) {
      const offset = reader.pos;
      const next = await reader.upTo(1);
      if (next.length === 0 || next[0] === 0) break; // the end, or a zero-length section (dagstore: EOF)
      let blockLength: number;
      let cid: CID;
      try {
        ({ cid, blockLength } = await readBlockHead(reader));
      } catch (err) {
        throw new CarInvalidError(`${path} is not a valid CAR: the section at payload offset ${offset} is broken (${(err as Error).message})`, { cause: err });
      }
      const blockOffset = reader.pos;
      let bytes: Uint8Array;
      try {
        bytes = await reader.exactly(blockLength, true);
      } catch (err) {
        throw new CarInvalidError(`${path} is not a valid CAR: the block ${cid} at payload offset ${offset} is truncated`, { cause: err });
      }
      verifyBlock(cid, bytes, path);
      sections.push({ cid, offset, blockOffset, blockLength });
      options.onProgress?.(reader.pos, total);
    }
    return { version, roots, dataOffset, dataSize: reader.pos, sections };
  } finally {
    await fh.close();
  }
}
