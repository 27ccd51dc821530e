import test from 'ava';
import { commP } from '../../../src/piece/commp.js';
import { verifyPieceStream } from '../../../src/piece/verify-piece.js';
import { findWholePiece } from '../../../src/piece/whole-piece.js';
import { seededBytes } from '../../helpers/bytes.js';

const MiB = 1024 * 1024;

async function* chunks(data: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < data.length; i += size) yield data.slice(i, i + size);
}

test('a whole piece is a read from its offset, at least its payload and at most its capacity long', (t) => {
  const pieces = [
    { pieceCid: 'a', paddedOffset: 0, paddedSize: 1024, payloadSize: 900 },
    { pieceCid: 'b', paddedOffset: 1024, paddedSize: 1024, payloadSize: 0 },
  ];
  t.is(findWholePiece(pieces, 0, 900)?.pieceCid, 'a');
  t.is(findWholePiece(pieces, 0, 1016)?.pieceCid, 'a', 'the zero fill may be read too');
  t.is(findWholePiece(pieces, 0, 899), undefined, 'stops inside the payload');
  t.is(findWholePiece(pieces, 0, 1017), undefined, 'runs past the piece');
  t.is(findWholePiece(pieces, 127, 500), undefined, 'starts inside the piece');
  t.is(findWholePiece(pieces, 1016, 1016)?.pieceCid, 'b');
});

test('a verified stream yields every byte when they hash to the piece CID', async (t) => {
  const data = seededBytes(3 * MiB + 1000, 7);
  const { pieceCid, paddedSize } = await commP(data);
  const piece = { pieceCid: pieceCid.toString(), paddedOffset: 0, paddedSize, payloadSize: data.length };
  const parts: Uint8Array[] = [];
  for await (const c of verifyPieceStream(chunks(data, MiB), piece, { sector: 3, offset: 0 })) parts.push(c);
  t.true(Buffer.concat(parts).equals(data));
});

test('a corrupted stream fails PIECE_CORRUPT with both CIDs and never yields its last chunk', async (t) => {
  const data = seededBytes(3 * MiB + 1000, 7);
  const { pieceCid, paddedSize } = await commP(data);
  const piece = { pieceCid: pieceCid.toString(), paddedOffset: 4 * MiB, paddedSize, payloadSize: data.length };
  const bad = new Uint8Array(data);
  bad[MiB + 5] = bad[MiB + 5]! ^ 1;
  let received = 0;
  const err = await t.throwsAsync(
    (async () => {
      for await (const c of verifyPieceStream(chunks(bad, MiB), piece, { sector: 3, offset: 4 * MiB - 4 * MiB / 128 })) received += c.length;
    })(),
    { code: 'PIECE_CORRUPT' },
  );
  t.regex(err.message, new RegExp(`^sector 3: the piece ${piece.pieceCid} at offset 4161536 reads back as baga6ea4seaq\\w+: its stored bytes are corrupt$`));
  t.false(err.message.includes(`as ${piece.pieceCid}`));
  t.is(received, 3 * MiB, 'the last chunk is held back');
});
