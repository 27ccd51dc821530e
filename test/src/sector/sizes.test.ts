import test from 'ava';
import {
  dealPieceSize,
  isValidPaddedSize,
  paddedSizeError,
  paddedSizeForPayload,
  parseSize,
  unpaddedSize,
  formatSize,
} from '../../../src/sector/sizes.js';
import { EmptyPayloadError, InvalidArgumentError, PayloadTooLargeError, PieceSizeInvalidError } from '../../../src/errors.js';

test('padded sizes are powers of two of at least 128, including sizes above 2^31', (t) => {
  for (const n of [128, 256, 2048, 2 ** 30, 2 ** 35, 2 ** 36]) t.true(isValidPaddedSize(n), String(n));
  for (const n of [0, 64, 127, 129, 3 * 128, 2 ** 35 + 128, 2 ** 36 - 1, 1.5, -128]) t.false(isValidPaddedSize(n), String(n));
});

test('unpadded size is 127/128 of the padded size', (t) => {
  t.is(unpaddedSize(2048), 2032);
  t.is(unpaddedSize(32 * 1024 ** 3), 34091302912);
  t.throws(() => unpaddedSize(1000), { instanceOf: PieceSizeInvalidError, message: /1000 is not a power of two/ });
});

test('payload sizes map to the smallest padded piece that holds them', (t) => {
  t.is(paddedSizeForPayload(1), 128);
  t.is(paddedSizeForPayload(127), 128);
  t.is(paddedSizeForPayload(128), 256);
  t.is(paddedSizeForPayload(254), 256);
  t.is(paddedSizeForPayload(255), 512);
  t.is(paddedSizeForPayload(1017), 2048);
});

test('sizes parse with binary and decimal units and format in binary units', (t) => {
  t.is(parseSize('2KiB'), 2048);
  t.is(parseSize('512MiB'), 512 * 1024 ** 2);
  t.is(parseSize('32GiB'), 32 * 1024 ** 3);
  t.is(parseSize('1000'), 1000);
  t.throws(() => parseSize('12 parsecs'), { message: /size "12 parsecs"/ });
  t.is(formatSize(2048), '2 KiB');
  t.is(formatSize(1.5 * 1024 ** 3), '1.5 GiB');
});

test('a deal piece gets the smallest padded size that holds its payload, or its declared size', (t) => {
  t.is(dealPieceSize({ payloadSize: 127, sectorSize: 2048 }), 128);
  t.is(dealPieceSize({ payloadSize: 128, sectorSize: 2048 }), 256);
  t.is(dealPieceSize({ payloadSize: 2032, sectorSize: 2048 }), 2048);
  t.is(dealPieceSize({ payloadSize: 100, pieceSize: 1024, sectorSize: 2048 }), 1024);
});

test('a deal piece request with bad sizes is refused with the error naming the problem', (t) => {
  const bad = (payloadSize: number, pieceSize: number | undefined, instanceOf: new (...a: never[]) => Error, message: RegExp) =>
    t.throws(() => dealPieceSize({ payloadSize, pieceSize, sectorSize: 2048 }), { instanceOf, message });
  bad(-1, undefined, InvalidArgumentError, /payloadSize -1 must be a non-negative integer/);
  bad(1.5, undefined, InvalidArgumentError, /payloadSize 1.5 must be a non-negative integer/);
  bad(0, undefined, EmptyPayloadError, /payload is empty/);
  bad(2033, undefined, PayloadTooLargeError, /payload of 2033 bytes is larger than a sector: a sector of 2048 bytes holds 2032 bytes/);
  bad(100, 300, PieceSizeInvalidError, /declared piece size 300 is not a power of two ≥ 128/);
  bad(100, 4096, PieceSizeInvalidError, /declared piece size 4096 is larger than the sector size 2048/);
  bad(300, 256, PieceSizeInvalidError, /declared piece size 256 holds 254 bytes of payload, less than the 300-byte payload/);
});

test('paddedSizeError reports what assertPaddedSize throws, without throwing', (t) => {
  t.is(paddedSizeError(1024), undefined);
  const err = paddedSizeError(300, 'piece size');
  t.true(err instanceof PieceSizeInvalidError);
  t.is(err?.code, 'PIECE_SIZE_INVALID');
  t.is(err?.message, 'piece size 300 is not a power of two ≥ 128');
});
