import test from 'ava';
import { isValidPaddedSize, paddedSizeForPayload, parseSize, unpaddedSize, formatSize } from '../../../src/sector/sizes.js';
import { PieceSizeInvalidError } from '../../../src/errors.js';

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
