import test from 'ava';
import { PieceDoesNotFitError, PieceSizeInvalidError, SealProofUnknownError } from '../../../src/errors.js';
import { fillerPieces, fillersFromUnpaddedRemainder, powersOfTwo, requiredPadding } from '../../../src/piece/alignment.js';
import { commP } from '../../../src/piece/commp.js';
import { pieceCidV1 } from '../../../src/piece/piece-cid.js';
import { computeCommD, generateUnsealedCid, type PieceInfo } from '../../../src/piece/unsealed-cid.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('the CommD of an empty sector is the zero commitment of the sector (rust-fil-proofs, go-fil-commcid)', (t) => {
  t.is(generateUnsealedCid(5, []).toString(), 'baga6ea4seaqpy7usqklokfx2vxuynmupslkeutzexe2uqurdg5vhtebhxqmpqmy');
  t.is(generateUnsealedCid(0, []).toString(), 'baga6ea4seaqpy7usqklokfx2vxuynmupslkeutzexe2uqurdg5vhtebhxqmpqmy');
  t.is(hex(computeCommD(128, [])), '3731bb99ac689f66eef5973e4a94da188f4ddcae580724fc6f3fd60dfd488333');
  t.is(generateUnsealedCid(8, []).toString(), 'baga6ea4seaqao7s73y24kcutaosvacpdjgfe5pw76ooefnyqw4ynr3d2y6x2mpq');
  t.is(generateUnsealedCid(9, []).toString(), 'baga6ea4seaqomqafu276g53zko4k23xzh4h4uecjwicbmvhsuqi7o4bhthhm4aq');
});

test('lotus example: ¼ sector of 0x01 then ½ sector of 0x02 equals the data 0x01×¼, 0x00×¼, 0x02×½', async (t) => {
  const quarter = 508; // unpadded bytes of a 512-byte piece: ¼ of a 2 KiB sector
  const a = await commP(new Uint8Array(quarter).fill(1));
  const b = await commP(new Uint8Array(2 * quarter).fill(2));
  t.is(a.paddedSize, 512);
  t.is(b.paddedSize, 1024);
  const commD = generateUnsealedCid(5, [
    { pieceCid: a.pieceCid, paddedSize: 512 },
    { pieceCid: b.pieceCid.toString(), paddedSize: 1024 },
  ]);
  const raw = new Uint8Array(2032);
  raw.fill(1, 0, quarter);
  raw.fill(2, 2 * quarter);
  const whole = await commP(raw);
  t.is(whole.paddedSize, 2048);
  t.is(commD.toString(), whole.pieceCid.toString());
  // v2 CIDs carry their sizes, so the sizes may be left out
  t.is(generateUnsealedCid(5, [{ pieceCid: a.pieceCidV2 }, { pieceCid: b.pieceCidV2 }]).toString(), commD.toString());
});

test('CommD of pieces with alignment gaps equals the commitment of the laid-out sector (8 MiB)', async (t) => {
  const sector = 8 * 2 ** 20;
  const layout = new Uint8Array((sector / 128) * 127);
  const sizes = [128, 4096, 256, 65536, 1024, 1024];
  const pieces: PieceInfo[] = [];
  let offset = 0; // padded
  let seed = 1;
  for (const size of sizes) {
    offset += requiredPadding(offset, size).size;
    const data = new Uint8Array((size / 128) * 127).map(() => {
      seed = (seed * 48271) % 2147483647;
      return seed & 0xff;
    });
    const r = await commP(data);
    t.is(r.paddedSize, size);
    pieces.push({ commP: r.commP, paddedSize: size });
    layout.set(data, (offset / 128) * 127);
    offset += size;
  }
  const expected = await commP(layout);
  t.is(expected.paddedSize, sector);
  t.is(generateUnsealedCid(6, pieces).toString(), expected.pieceCid.toString());
  t.is(pieceCidV1(computeCommD(sector, pieces)).toString(), expected.pieceCid.toString());
});

test('generateUnsealedCid refuses pieces that do not fit, bad sizes, size-less v1 CIDs and unknown proofs', (t) => {
  const z = new Uint8Array(32);
  t.throws(() => generateUnsealedCid(5, [{ commP: z, paddedSize: 1024 }, { commP: z, paddedSize: 2048 }]), {
    instanceOf: PieceDoesNotFitError,
    message: /piece 1 \(2048 bytes\) does not fit: it would end at 4096, past the 2048-byte sector/,
  });
  t.throws(() => generateUnsealedCid(5, [{ commP: z, paddedSize: 4096 }]), { instanceOf: PieceDoesNotFitError });
  t.throws(() => generateUnsealedCid(5, [{ commP: z, paddedSize: 1000 }]), {
    instanceOf: PieceSizeInvalidError,
    message: /piece 0 padded size 1000 is not a power of two ≥ 128/,
  });
  t.throws(() => generateUnsealedCid(5, [{ pieceCid: pieceCidV1(z) }]), {
    instanceOf: PieceSizeInvalidError,
    message: /piece 0 needs a padded size \(its CID is v1\)/,
  });
  t.throws(() => generateUnsealedCid(42, []), { instanceOf: SealProofUnknownError });
});

test('required padding is one zero piece per set bit of the gap, smallest first (GetRequiredPadding)', (t) => {
  t.deepEqual(requiredPadding(128, 1024), { pieces: [128, 256, 512], size: 896 });
  t.deepEqual(requiredPadding(1024, 1024), { pieces: [], size: 0 });
  t.deepEqual(requiredPadding(0, 2 ** 35), { pieces: [], size: 0 });
  t.deepEqual(requiredPadding(2 ** 34 + 128, 2 ** 35), { pieces: powersOfTwo(2 ** 34 - 128), size: 2 ** 34 - 128 });
  t.is(powersOfTwo(2 ** 34 - 128).length, 27);
});

test('filler pieces fill the rest of the sector, smallest first, each aligned', (t) => {
  t.deepEqual(fillerPieces(512, 2048), [512, 1024]);
  t.deepEqual(fillerPieces(2048, 2048), []);
  // lotus fillersFromRem: unpadded remainder 1524 (of a 2 KiB sector after 508 bytes) → 508 + 1016
  t.deepEqual(fillersFromUnpaddedRemainder(1524), [508, 1016]);
  const sizes = fillerPieces(128 * 3, 32 * 2 ** 30);
  let offset = 128 * 3;
  for (const s of sizes) {
    t.is(offset % s, 0, `filler of ${s} at ${offset} is aligned`);
    offset += s;
  }
  t.is(offset, 32 * 2 ** 30);
});
