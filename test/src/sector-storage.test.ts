import test from 'ava';
import { readFile } from 'node:fs/promises';

test('the package resolves itself by name and exposes the piece-path API', async (t) => {
  // self-reference through package.json "exports", as a program embedding sector-storage would import it
  const lib = await import('sector-storage');
  for (const name of ['fr32Pad', 'fr32Unpad', 'commP', 'generateUnsealedCid', 'zeroPieceCommitment']) {
    t.is(typeof (lib as Record<string, unknown>)[name], 'function', name);
  }
  const z = lib.zeroPieceCommitment(2048);
  t.is(Buffer.from(z).toString('hex'), 'fc7e928296e516faade986b28f92d44a4f24b935485223376a799027bc18f833');
  const pkg = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8'));
  t.is(pkg.name, 'sector-storage');
  t.is(pkg.bin['sector-storage'], 'dist/src/cli/main.js');
});

test('the library computes a piece CID that the data-segment peer agrees with', async (t) => {
  const { commP } = await import('sector-storage');
  const { Piece } = await import('@web3-storage/data-segment');
  const payload = new Uint8Array(5000).map((_, i) => (i * 7) & 0xff);
  const ours = await commP(payload);
  const theirs = Piece.fromPayload(payload);
  t.is(ours.pieceCidV2.toString(), theirs.link.toString());
  t.is(BigInt(ours.paddedSize), BigInt(theirs.size));
});
