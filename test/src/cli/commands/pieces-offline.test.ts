import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { CID } from 'multiformats/cid';
import { cleanup, cliJson, runCli, tmpDir } from '../../../helpers/cli-daemon.js';

// No daemon: these tools work on a repository that does not exist.
const noRepo = join(tmpDir('ss-offline-'), 'no-repo');

test.after.always(() => cleanup(join(noRepo, '..')));

interface CommPOut {
  pieceCid: string;
  pieceCidV2: string;
  paddedSize: number;
  payloadSize: number;
}

/** trunc254(sha256(a || b)): the parent of two piece-tree nodes, computed here independently. */
function hashPair(a: Uint8Array, b: Uint8Array): Uint8Array {
  const h = createHash('sha256').update(a).update(b).digest();
  h[31]! &= 0x3f;
  return h;
}

/** The 32-byte commitment inside a piece CID v1. */
function commOf(cid: string): Uint8Array {
  return CID.parse(cid).multihash.digest;
}

// V-COMMP-PATTERN (a), go-fil-commp-hashhash testdata/0xCC.txt
const ccVectors: Array<[number, number, string]> = [
  [96, 128, 'baga6ea4seaqhwcjhi4krhl3ht6dewnwevkpxbepxy7p7onwgz65t52typbsysby'],
  [127, 128, 'baga6ea4seaqmfldjtozgne6adk7eve2vdxte7vzlivae7nzsbrawobo546zkijq'],
  [253, 256, 'baga6ea4seaql6ldbyafhiecr36xba5tufreyo4km2ts3lfknhl2zogp3aztxijy'],
  [255, 512, 'baga6ea4seaqg7celu5y2iwbi2ra5koygvotxtzr5lj6vzvxi6gfub6mpa6niwpi'],
  [508, 512, 'baga6ea4seaqb6ckbupixkhwp7thgb52f4en222boppajkqk7gaomkpof3lh4cei'],
];

test('pieces commp prints the V-COMMP-PATTERN piece CIDs of 0xCC payloads, human and JSON', async (t) => {
  const dir = tmpDir('ss-commp-');
  try {
    for (const [size, padded, cid] of ccVectors) {
      const file = join(dir, `cc-${size}.bin`);
      writeFileSync(file, Buffer.alloc(size, 0xcc));
      const json = await cliJson<CommPOut>(noRepo, ['pieces', 'commp', file]);
      t.is(json.pieceCid, cid, `payload ${size}`);
      t.is(json.paddedSize, padded);
      t.is(json.payloadSize, size);
      t.regex(json.pieceCidV2, /^bafkzcib/);
    }
    const human = await runCli(noRepo, ['pieces', 'commp', join(dir, 'cc-96.bin')]);
    t.is(human.code, 0);
    t.true(human.stdout.startsWith(`CID:  ${ccVectors[0]![2]}\n`));
    t.regex(human.stdout, /Piece size: 128 B \(128 bytes padded\), payload 96 bytes/);
  } finally {
    cleanup(dir);
  }
});

test('pieces commd of an empty sector is the zero commitment (V-COMMD-EMPTY)', async (t) => {
  const cases: Array<[string, string]> = [
    ['2KiB', 'baga6ea4seaqpy7usqklokfx2vxuynmupslkeutzexe2uqurdg5vhtebhxqmpqmy'],
    ['32GiB', 'baga6ea4seaqao7s73y24kcutaosvacpdjgfe5pw76ooefnyqw4ynr3d2y6x2mpq'],
    ['64GiB', 'baga6ea4seaqomqafu276g53zko4k23xzh4h4uecjwicbmvhsuqi7o4bhthhm4aq'],
  ];
  for (const [size, commD] of cases) {
    t.is((await cliJson<{ commD: string }>(noRepo, ['pieces', 'commd', '--sector-size', size])).commD, commD, size);
  }
  const empty128 = await cliJson<{ commD: string }>(noRepo, ['pieces', 'commd', '--sector-size', '128']);
  t.is(Buffer.from(commOf(empty128.commD)).toString('hex'), '3731bb99ac689f66eef5973e4a94da188f4ddcae580724fc6f3fd60dfd488333');
  const human = await runCli(noRepo, ['pieces', 'commd', '--sector-size', '2KiB']);
  t.is(human.stdout, `CommD: ${cases[0]![1]}\n`);
});

test('pieces commd of a 2 KiB sector with pieces equals the piece tree computed independently', async (t) => {
  const [, , a] = ccVectors[4]!; // 512 B piece
  const [, , b] = ccVectors[2]!; // 256 B piece
  const z256 = Buffer.from('642a607ef886b004bf2c1978463ae1d4693ac0f410eb2d1b7a47fe205e5e750f', 'hex');
  const z1024 = Buffer.from('1f7ac9595510e09ea41c460b176430bb322cd6fb412ec57cb17d989a4310372f', 'hex');
  // [a:512 @0][b:256 @512][zero 256 @768][zero 1024 @1024]
  const expected = hashPair(hashPair(commOf(a), hashPair(commOf(b), z256)), z1024);
  const out = await cliJson<{ commD: string }>(noRepo, ['pieces', 'commd', '--sector-size', '2KiB', `${a}:512`, `${b}:256`]);
  t.deepEqual(Buffer.from(commOf(out.commD)), Buffer.from(expected));
  // b first forces alignment padding before a: [b:256 @0][zero 256 @256][a:512 @512][zero 1024]
  const aligned = hashPair(hashPair(hashPair(commOf(b), z256), commOf(a)), z1024);
  const out2 = await cliJson<{ commD: string }>(noRepo, ['pieces', 'commd', '--sector-size', '2KiB', `${b}:256`, `${a}:512`]);
  t.deepEqual(Buffer.from(commOf(out2.commD)), Buffer.from(aligned));
  // a v2 piece CID carries its size, so it needs no ":SIZE"
  const dir = tmpDir('ss-commd-v2-');
  try {
    writeFileSync(join(dir, 'a.bin'), Buffer.alloc(508, 0xcc));
    const { pieceCidV2 } = await cliJson<CommPOut>(noRepo, ['pieces', 'commp', join(dir, 'a.bin')]);
    const out3 = await cliJson<{ commD: string }>(noRepo, ['pieces', 'commd', '--sector-size', '2KiB', pieceCidV2, `${b}:256`]);
    t.is(out3.commD, out.commD);
  } finally {
    cleanup(dir);
  }
});

test('pieces commd and commp refuse bad input naming the problem', async (t) => {
  const bad = async (args: string[], code: string, message: RegExp, exitCode = 1) => {
    const r = await runCli(noRepo, args);
    t.is(r.code, exitCode, args.join(' '));
    t.regex(r.stderr, new RegExp(`\\[${code}\\]`), r.stderr);
    t.regex(r.stderr, message);
  };
  const [, , a] = ccVectors[4]!;
  await bad(['pieces', 'commd', '--sector-size', '2KiB', 'notacid:128'], 'PIECE_CID_INVALID', /notacid/);
  await bad(
    ['pieces', 'commd', '--sector-size', '2KiB', 'bafyreihyrpefhacm6kkp4ql6j6udakdit7g3dmkzfriqfykhjw6cad5lrm:128'],
    'PIECE_CID_INVALID',
    /piece 0/,
  );
  await bad(['pieces', 'commd', '--sector-size', '2KiB', `${a}:300`], 'PIECE_SIZE_INVALID', /300 is not a power of two/);
  await bad(['pieces', 'commd', '--sector-size', '2KiB', `${a}:2048`, `${a}:512`], 'PIECE_DOES_NOT_FIT', /piece 1/);
  await bad(['pieces', 'commd', '--sector-size', '3000'], 'PIECE_SIZE_INVALID', /sector size/);
  // a usage mistake: exit 2, as every missing required flag
  await bad(['pieces', 'commd', `${a}:512`], 'INVALID_ARGUMENT', /missing required flag --sector-size SIZE/, 2);
  const dir = tmpDir('ss-commp-bad-');
  try {
    writeFileSync(join(dir, 'empty'), '');
    writeFileSync(join(dir, 'tiny'), Buffer.alloc(10, 1));
    await bad(['pieces', 'commp', join(dir, 'missing')], 'FILE_NOT_FOUND', /missing does not exist/);
    await bad(['pieces', 'commp', join(dir, 'empty')], 'EMPTY_PAYLOAD', /is empty/);
    await bad(['pieces', 'commp', join(dir, 'tiny')], 'PAYLOAD_TOO_SMALL', /10 bytes/);
    await bad(['pieces', 'commp', dir], 'FILE_UNREADABLE', /not a regular file/);
  } finally {
    cleanup(dir);
  }
});
