import { CID } from 'multiformats/cid';
import * as Digest from 'multiformats/hashes/digest';
import test from 'ava';
import { PieceCidInvalidError, PieceSizeInvalidError } from '../../../src/errors.js';
import {
  commPFromPieceCid,
  parsePieceCid,
  pieceCidV1,
  pieceCidV1ToV2,
  pieceCidV2,
  pieceCidV2ToV1,
} from '../../../src/piece/piece-cid.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const commP = Buffer.from('7b0927471513af679f864b36c4aa9f7091f7c7dff736c6cfbb3eea7878658907', 'hex');

test('a v1 piece CID is baga6ea4seaq… with fil-commitment-unsealed and sha2-256-trunc254-padded', (t) => {
  const cid = pieceCidV1(commP);
  t.is(cid.toString(), 'baga6ea4seaqhwcjhi4krhl3ht6dewnwevkpxbepxy7p7onwgz65t52typbsysby');
  t.deepEqual([...cid.bytes.subarray(0, 7)], [0x01, 0x81, 0xe2, 0x03, 0x92, 0x20, 0x20]);
  const parsed = parsePieceCid(cid.toString());
  t.is(parsed.version, 1);
  t.is(hex(parsed.commP), hex(commP));
});

test('v1 → v2 needs the payload size and v2 → v1 gives back both sizes', (t) => {
  // go-fil-commcid: 127 bytes each of 0,1,2,3 then 4 zeros (512 bytes) is a 1024-byte piece with padding 504
  const v2text = 'bafkzcibd7abqlxticxolgseegik2stpfgkkuwyf6kufex3doorkvmzpjuxwe4dz4';
  const parsed = parsePieceCid(v2text);
  if (parsed.version !== 2) throw new Error('expected v2');
  t.is(parsed.height, 5);
  t.is(parsed.paddedSize, 1024);
  t.is(parsed.padding, 504);
  t.is(parsed.payloadSize, 512);
  const back = pieceCidV2ToV1(v2text);
  t.is(back.paddedSize, 1024);
  t.is(back.payloadSize, 512);
  t.is(pieceCidV1ToV2(back.pieceCid, 512).toString(), v2text);
  t.is(pieceCidV1ToV2(back.pieceCid.toString(), 512, 1024).toString(), v2text);
  t.true(v2text.startsWith('bafkzcib'));
  t.deepEqual(commPFromPieceCid(v2text), commPFromPieceCid(back.pieceCid));
});

// go-fil-commcid TestTreeHeight (payload size → height and padding of the smallest piece)
const heights: [number, number, number][] = [
  [127 * 4, 4, 0],
  [512, 5, 504],
  [127, 2, 0],
  [(32 * 2 ** 30 * 127) / 128, 30, 0],
  [32 * 2 ** 30, 31, 33822867456],
  [64 * 2 ** 30, 32, 67645734912],
];
for (const [payload, height, padding] of heights) {
  test(`a ${payload}-byte payload has tree height ${height} and padding ${padding} (go-fil-commcid)`, (t) => {
    const parsed = parsePieceCid(pieceCidV1ToV2(pieceCidV1(commP), payload));
    if (parsed.version !== 2) throw new Error('expected v2');
    t.is(parsed.height, height);
    t.is(parsed.padding, padding);
  });
}

test('pieceCidV2 refuses payloads that do not fit the piece', (t) => {
  t.throws(() => pieceCidV2(commP, 128, 128), { instanceOf: PieceSizeInvalidError, message: /payload size 128 does not fit a 128-byte piece/ });
  t.throws(() => pieceCidV2(commP, 128, 0), { instanceOf: PieceSizeInvalidError });
  t.throws(() => pieceCidV2(commP, 100, 50), { instanceOf: PieceSizeInvalidError, message: /100 is not a power of two/ });
});

const malformed: [string, string | CID, RegExp][] = [
  ['an empty string', '', /piece CID is empty/],
  ['a multibase that is not base32', 'mAXASI...', /multibase prefix "m"/],
  ['base32 garbage', 'baga6ea4seaq!!!', /is not a valid CID/],
  ['a truncated CID', 'baga6ea4seaqhwcjhi4krhl3ht6dewnwevkpxbepxy7p7onwgz65t52typbsys', /is not a valid CID|digest/],
  ['a CIDv0', 'QmfEoLyB5NndqeKieExd1rtJzTduQUPEV8TwAYcUiy3H5Z', /multibase prefix "Q"/],
  ['a dag-cbor CID', 'bafyreihyrpefhacm6kkp4ql6j6udakdit7g3dmkzfriqfykhjw6cad5lrm', /codec 0x71; expected fil-commitment-unsealed/],
  ['a CommR CID', 'bagboea4b5abcara4n2u4hj7skslh3djeo7zehvfqjg4bhkkkn5tyj52xrnejco3b', /codec 0xf102/],
  ['a raw CID with sha2-256', 'bafkreifuosuzujyf4i6psbneqtwg2fhplc2wxptc5euspa2gn3bwhnihfu', /multihash 0x12; a v2 piece CID uses/],
  ['an unsealed CID with sha2-256', CID.create(1, 0xf101, Digest.create(0x12, commP)), /multihash 0x12; a v1 piece CID uses sha2-256-trunc254-padded/],
  ['a 31-byte digest', CID.create(1, 0xf101, Digest.create(0x1012, commP.subarray(1))), /31-byte digest; expected 32/],
  ['a v2 digest without its root', CID.create(1, 0x55, Digest.create(0x1011, Uint8Array.from([0, 5, 1, 2]))), /4-byte digest; expected 34/],
  ['a v2 height of 1', CID.create(1, 0x55, Digest.create(0x1011, Uint8Array.from([0, 1, ...commP]))), /tree height 1/],
  ['v2 padding as large as the piece', CID.create(1, 0x55, Digest.create(0x1011, Uint8Array.from([127, 2, ...commP]))), /padding 127, not less than the piece capacity 127/],
];
for (const [name, input, message] of malformed) {
  test(`refuses a piece CID that is ${name}`, (t) => {
    t.throws(() => parsePieceCid(input), { instanceOf: PieceCidInvalidError, message });
  });
}
