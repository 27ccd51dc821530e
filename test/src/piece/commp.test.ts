import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Piece } from '@web3-storage/data-segment';
import test from 'ava';
import { AbortedError, EmptyPayloadError, FileNotFoundError, PayloadTooSmallError } from '../../../src/errors.js';
import { commP, commPFile } from '../../../src/piece/commp.js';
import { zeroPieceCommitment } from '../../../src/piece/zero-comm.js';
import { seededBytes as randomBytes } from '../../helpers/bytes.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');


// go-fil-commp-hashhash testdata/0xCC.txt
const cc: [number, number, string, string][] = [
  [96, 128, '7b0927471513af679f864b36c4aa9f7091f7c7dff736c6cfbb3eea7878658907', 'baga6ea4seaqhwcjhi4krhl3ht6dewnwevkpxbepxy7p7onwgz65t52typbsysby'],
  [126, 128, '0784fcf186d966a1f9448692b2c743936c3c3a0ca3fcd173e72b17d904bc9033', 'baga6ea4seaqapbh46gdnszvb7fcinevsy5bzg3b4higkh7groptswf6zas6jamy'],
  [127, 128, 'c2ac699bb26693c01abe4a93551de64fd72b45404fb7320c416705dde7b2a426', 'baga6ea4seaqmfldjtozgne6adk7eve2vdxte7vzlivae7nzsbrawobo546zkijq'],
  [192, 256, 'abfd9a97a3cc80f3586d197638a918a12ec57fda84b9e31f65678db7ca4bfb2a', 'baga6ea4seaqkx7m2s6r4zahtlbwrs5ryvemkclwfp7nijopdd5swpdnxzjf7wkq'],
  [253, 256, 'bf2c61c00a741051dfae1076742c4987714cd4e5b5954d3af59719fb06677427', 'baga6ea4seaql6ldbyafhiecr36xba5tufreyo4km2ts3lfknhl2zogp3aztxijy'],
  [254, 256, 'a45c39cffb4c4b4f1243108d0b324eca33fa8339779e3605748c117d7027c028', 'baga6ea4seaqkixbzz75uys2pcjbrbdilgjhmum72qm4xphrwav2iyel5oat4aka'],
  [255, 512, '6f888ba771a45828d441d53b06aba779e63d5a7d5cd6e8f18b40f98f079a8b3d', 'baga6ea4seaqg7celu5y2iwbi2ra5koygvotxtzr5lj6vzvxi6gfub6mpa6niwpi'],
  [256, 512, '8f8b636d950c4a07e2deacf520be743d17a1abb739d34769583258e27251df34', 'baga6ea4seaqi7c3dnwkqysqh4lpkz5jaxz2d2f5bvo3ttu2hnfmdewhcoji56na'],
  [384, 512, '725d6c6e4208c82308c0797c9bf0d50ed543b4a33990ee02a282f6c88309bf2e', 'baga6ea4seaqhexlmnzbarsbdbdahs7e36dkq5vkdwsrttehoakrif5wiqme36lq'],
  [507, 512, '46d4fd60b1d12616906810bc597c54ad39b6a9523d7f9bcaa07f38b4ca813b13', 'baga6ea4seaqenvh5mcy5cjqwsbubbpczprkk2onwvfjd2743zkqh6ofuzkatwey'],
  [508, 512, '1f0941a3d1751ecffcce60f745e11bad682e7bc095415f301cc53dc5dacfc111', 'baga6ea4seaqb6ckbupixkhwp7thgb52f4en222boppajkqk7gaomkpof3lh4cei'],
];

for (const [size, padded, commPHex, cid] of cc) {
  test(`commP of ${size} bytes of 0xCC is ${cid} in a ${padded}-byte piece (go-fil-commp-hashhash 0xCC.txt)`, async (t) => {
    const r = await commP(new Uint8Array(size).fill(0xcc));
    t.is(hex(r.commP), commPHex);
    t.is(r.pieceCid.toString(), cid);
    t.is(r.paddedSize, padded);
    t.is(r.payloadSize, size);
  });
}

// go-fil-commp-hashhash testdata/zero.txt
const zeros: [number, number][] = [
  [96, 128], [126, 128], [127, 128], [192, 256], [253, 256], [254, 256], [255, 512], [256, 512], [384, 512],
  [507, 512], [508, 512], [509, 1024], [512, 1024], [768, 1024], [1015, 1024], [1016, 1024], [1017, 2048], [1024, 2048],
];

test('commP of every zero payload of go-fil-commp-hashhash zero.txt is the zero commitment of its padded size', async (t) => {
  for (const [size, padded] of zeros) {
    const r = await commP(new Uint8Array(size));
    t.is(r.paddedSize, padded, `padded size of ${size}`);
    t.is(hex(r.commP), hex(zeroPieceCommitment(padded)), `commP of ${size} zero bytes`);
  }
  t.is(hex((await commP(new Uint8Array(127))).commP), '3731bb99ac689f66eef5973e4a94da188f4ddcae580724fc6f3fd60dfd488333');
});

// go-fil-commcid commcid_test.go TestMultihashes: v2 CIDs of 127 bytes each of 0,1,2,3 and variants
const base = Uint8Array.from([...Array(127).fill(0), ...Array(127).fill(1), ...Array(127).fill(2), ...Array(127).fill(3)]);
const v2: [string, Uint8Array, string][] = [
  ['127 bytes each of 0,1,2,3', base, 'bafkzcibcaaces3nobte6ezpp4wqan2age2s5yxcatzotcvobhgcmv5wi2xh5mbi'],
  ['then 127·4 zeros', Uint8Array.from([...base, ...Array(508).fill(0)]), 'bafkzcibcaac542av3szurbbscwuu3zjssvfwbpsvbjf6y3tukvlgl2nf5rha6pa'],
  ['then 4 zeros', Uint8Array.from([...base, 0, 0, 0, 0]), 'bafkzcibd7abqlxticxolgseegik2stpfgkkuwyf6kufex3doorkvmzpjuxwe4dz4'],
  ['then 5 zeros', Uint8Array.from([...base, 0, 0, 0, 0, 0]), 'bafkzcibd64bqlxticxolgseegik2stpfgkkuwyf6kufex3doorkvmzpjuxwe4dz4'],
];
for (const [name, data, cid] of v2) {
  test(`piece CID v2 of ${name} is the go-fil-commcid vector`, async (t) => {
    t.is((await commP(data)).pieceCidV2.toString(), cid);
  });
}

test('commP agrees with @web3-storage/data-segment on random payloads of many sizes, also across chunk boundaries', async (t) => {
  const sizes = [65, 66, 100, 126, 127, 128, 200, 253, 254, 255, 381, 508, 509, 1000, 1016, 1017, 2031, 4064, 4065, 10_000, 65_023];
  // small chunks (16 blocks = 2032 bytes) so the tail decomposition and the chunk stack both get exercised
  for (const [i, n] of [...sizes, 2032 * 3 + 1, 2032 * 16 - 1, 2032 * 16, 2032 * 17 + 127 * 5 + 3, 250_001].entries()) {
    const data = randomBytes(n, i + 1);
    const peer = Piece.fromPayload(data);
    for (const chunkBlocks of [1, 16, 8192]) {
      const r = await commP(data, { chunkBlocks });
      t.is(hex(r.commP), hex(peer.root), `commP of ${n} bytes (chunk ${chunkBlocks} blocks)`);
      t.is(r.paddedSize, Number(peer.size), `padded size of ${n} bytes`);
      t.is(r.pieceCidV2.toString(), peer.link.toString(), `piece CID v2 of ${n} bytes`);
    }
  }
});

test('commP of a 3 MiB random payload (several default chunks plus a tail) agrees with data-segment', async (t) => {
  const data = randomBytes(3 * 1024 * 1024 + 12_345, 99);
  const r = await commP(data);
  const peer = Piece.fromPayload(data);
  t.is(hex(r.commP), hex(peer.root));
  t.is(r.pieceCidV2.toString(), peer.link.toString());
});

test('commP gives the same result for bytes, odd-sized async chunks, a Node stream and a file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'commp-'));
  try {
    const data = randomBytes(1_100_000, 7);
    const path = join(dir, 'payload.bin');
    await writeFile(path, data);
    const expected = (await commP(data)).pieceCid.toString();
    async function* odd() {
      let pos = 0;
      for (let step = 1; pos < data.length; step = (step * 7 + 3) % 9000) {
        yield data.subarray(pos, pos + step + 1);
        pos += step + 1;
      }
    }
    const progress: number[] = [];
    t.is((await commP(odd(), { onProgress: (n) => progress.push(n) })).pieceCid.toString(), expected);
    t.is(progress[progress.length - 1], data.length);
    t.is((await commP(createReadStream(path, { highWaterMark: 1000 }))).pieceCid.toString(), expected);
    const file = await commPFile(path);
    t.is(file.pieceCid.toString(), expected);
    t.is(file.payloadSize, data.length);
    t.is(file.paddedSize, 2 * 1024 * 1024);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('commP refuses an empty payload and payloads under 65 bytes, like go-fil-commp-hashhash', async (t) => {
  await t.throwsAsync(commP(new Uint8Array(0)), { instanceOf: EmptyPayloadError, message: /payload is empty/ });
  await t.throwsAsync(commP(new Uint8Array(64)), {
    instanceOf: PayloadTooSmallError,
    message: /payload is 64 bytes; a piece commitment needs at least 65 bytes/,
  });
  t.is((await commP(new Uint8Array(65))).paddedSize, 128);
});

test('commPFile of a missing file is FileNotFoundError naming it', async (t) => {
  await t.throwsAsync(commPFile('/nonexistent/payload.car'), { instanceOf: FileNotFoundError, message: /\/nonexistent\/payload\.car/ });
});

test('commP stops between chunks when aborted', async (t) => {
  const ac = new AbortController();
  async function* endless() {
    for (let i = 0; ; i++) {
      if (i === 3) ac.abort();
      yield new Uint8Array(4096);
    }
  }
  await t.throwsAsync(commP(endless(), { signal: ac.signal }), { instanceOf: AbortedError, message: /commP cancelled/ });
});
