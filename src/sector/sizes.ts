/**
 * Piece and sector size arithmetic (Lotus `abi.PaddedPieceSize` / `abi.UnpaddedPieceSize`, go-state-types).
 * A padded piece size is a power of two ≥ 128; its unpadded size is `padded - padded/128`.
 */
import {
  EmptyPayloadError,
  InvalidArgumentError,
  PayloadTooLargeError,
  PieceSizeInvalidError,
  type SectorStorageError,
} from '../errors.js';

/** The smallest padded piece. */
export const MIN_PADDED_PIECE = 128;

/** True when `n` is a power of two ≥ 128 (and a safe integer). */
export function isValidPaddedSize(n: number): boolean {
  // `&` is 32-bit only and sector sizes reach 2^36, so compare against the exact power of two.
  return Number.isSafeInteger(n) && n >= MIN_PADDED_PIECE && 2 ** Math.round(Math.log2(n)) === n;
}

/**
 * The PieceSizeInvalidError for `n`, or undefined when it is a valid padded piece size (for
 * callers that report rather than throw, such as the machines).
 */
export function paddedSizeError(n: number, what = 'padded piece size'): SectorStorageError | undefined {
  return isValidPaddedSize(n) ? undefined : new PieceSizeInvalidError(`${what} ${n} is not a power of two ≥ 128`);
}

/** Throws PieceSizeInvalidError unless `n` is a valid padded piece size. */
export function assertPaddedSize(n: number, what = 'padded piece size'): void {
  const err = paddedSizeError(n, what);
  if (err) throw err;
}

/** Unpadded size of a padded piece size. */
export function unpaddedSize(padded: number): number {
  assertPaddedSize(padded);
  return padded - padded / 128;
}

/** Padded size of a valid unpadded piece size (`x + x/127`). */
export function paddedSize(unpadded: number): number {
  if (!Number.isSafeInteger(unpadded) || unpadded % 127 !== 0) {
    throw new PieceSizeInvalidError(`unpadded size ${unpadded} is not a multiple of 127`);
  }
  return unpadded + unpadded / 127;
}

/** Padded byte index of an unpadded byte index (must be a multiple of 127). */
export function paddedIndex(unpadded: number): number {
  if (!Number.isSafeInteger(unpadded) || unpadded < 0 || unpadded % 127 !== 0) {
    throw new InvalidArgumentError(`unpadded offset ${unpadded} is not a non-negative multiple of 127`);
  }
  return unpadded + unpadded / 127;
}

/** Unpadded byte index of a padded byte index (must be a multiple of 128). */
export function unpaddedIndex(padded: number): number {
  if (!Number.isSafeInteger(padded) || padded < 0 || padded % 128 !== 0) {
    throw new InvalidArgumentError(`padded offset ${padded} is not a non-negative multiple of 128`);
  }
  return padded - padded / 128;
}

/** The padded piece size that holds `payload` bytes: the next power of two ≥ 128 of ceil(payload/127)·128. */
export function paddedSizeForPayload(payload: number): number {
  if (!Number.isSafeInteger(payload) || payload < 0) {
    throw new InvalidArgumentError(`payload size ${payload} must be a non-negative integer`);
  }
  const blocks = Math.max(1, Math.ceil(payload / 127));
  let padded = 128;
  while (padded / 128 < blocks) padded *= 2;
  return padded;
}

/** The sizes of a deal piece as a client declares them. */
export interface DealPieceSizes {
  /** Bytes of payload the client will send. */
  payloadSize: number;
  /** Declared padded piece size; absent: the smallest that holds the payload. */
  pieceSize?: number | undefined;
  /** Size of the sector the piece goes into. */
  sectorSize: number;
}

/**
 * The padded size of a deal piece, checked against its payload and the sector before any byte
 * is read: the one place these rules live (the API, SectorService and the CLI call it).
 * @throws InvalidArgumentError (payload size not a non-negative integer), EmptyPayloadError,
 * PayloadTooLargeError (more payload than a sector holds), PieceSizeInvalidError (declared size
 * not a power of two ≥ 128, larger than the sector, or too small for the payload)
 */
export function dealPieceSize({ payloadSize, pieceSize, sectorSize }: DealPieceSizes): number {
  if (!Number.isSafeInteger(payloadSize) || payloadSize < 0) {
    throw new InvalidArgumentError(`payloadSize ${payloadSize} must be a non-negative integer`);
  }
  if (payloadSize === 0) throw new EmptyPayloadError('payload is empty (0 bytes); a piece needs data');
  const sectorPayload = sectorSize - sectorSize / 128;
  if (payloadSize > sectorPayload) {
    throw new PayloadTooLargeError(
      `payload of ${payloadSize} bytes is larger than a sector: a sector of ${sectorSize} bytes holds ${sectorPayload} bytes of payload`,
    );
  }
  if (pieceSize === undefined) return paddedSizeForPayload(payloadSize);
  assertPaddedSize(pieceSize, 'declared piece size');
  if (pieceSize > sectorSize) {
    throw new PieceSizeInvalidError(`declared piece size ${pieceSize} is larger than the sector size ${sectorSize}`);
  }
  const holds = pieceSize - pieceSize / 128;
  if (payloadSize > holds) {
    throw new PieceSizeInvalidError(
      `declared piece size ${pieceSize} holds ${holds} bytes of payload, less than the ${payloadSize}-byte payload`,
    );
  }
  return pieceSize;
}

const units: Record<string, number> = {
  '': 1,
  B: 1,
  KIB: 1024,
  MIB: 1024 ** 2,
  GIB: 1024 ** 3,
  TIB: 1024 ** 4,
  KB: 1000,
  MB: 1000 ** 2,
  GB: 1000 ** 3,
  TB: 1000 ** 4,
};

/** Parses "2KiB", "8MiB", "512MiB", "32GiB", "1.5TiB", "2048" into bytes. */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = m?.[2]?.toUpperCase();
  const factor = unit === undefined ? undefined : units[unit];
  if (!m || factor === undefined) {
    throw new InvalidArgumentError(`size "${text}" is not a number with an optional unit (B, KiB, MiB, GiB, TiB)`);
  }
  const value = Number(m[1]) * factor;
  if (!Number.isSafeInteger(value)) throw new InvalidArgumentError(`size "${text}" is not a whole number of bytes`);
  return value;
}

/** Formats bytes in binary units: 2048 → "2 KiB", 1.5 GiB → "1.5 GiB". */
export function formatSize(bytes: number): string {
  const names = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = bytes;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < names.length - 1) {
    v /= 1024;
    i++;
  }
  const text = Number.isInteger(v) ? String(v) : v.toFixed(v < 10 ? 2 : 1).replace(/\.?0+$/, '');
  return `${text} ${names[i]}`;
}
