import test from 'ava';
import { PartialFileCorruptError, InvalidArgumentError } from '../../../src/errors.js';
import { decodeRuns, encodeRuns, type Run } from '../../../src/partial/rleplus.js';
import { runsToRanges, rangesToRuns } from '../../../src/partial/ranges.js';

/** Packs a bit list LSB-first into bytes, without trimming (as ref-fvm's test writer does). */
function bits(list: number[]): Uint8Array {
  const out = new Uint8Array(Math.ceil(list.length / 8));
  list.forEach((b, i) => {
    if (b) out[i >> 3]! |= 1 << (i & 7);
  });
  return out;
}

/** Expands runs into the list of set positions. */
function setBits(runs: Run[]): number[] {
  const out: number[] = [];
  let pos = 0;
  for (const r of runs) {
    if (r.value) for (let i = 0; i < r.length; i++) out.push(pos + i);
    pos += r.length;
  }
  return out;
}

function runsOfSet(set: number[]): Run[] {
  return rangesToRuns(set.map((p) => ({ start: p, end: p + 1 })));
}

test('encodes the go-bitfield reference set to its published bytes and back', (t) => {
  // go-bitfield rle/rleplus_test.go TestDecode: the Rust reference encoding plus the version header
  const set = [0, 2, 4, 5, 6, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27];
  const encoded = encodeRuns(runsOfSet(set));
  t.deepEqual([...encoded], [124, 71, 34, 2]);
  t.deepEqual(setBits(decodeRuns(Uint8Array.from([124, 71, 34, 2]))), set);
});

// ref-fvm utils/bitfield/src/rleplus/mod.rs test vectors (bit lists, LSB first)
const valid: [string, number[], number[]][] = [
  ['the empty bitfield', [], []],
  ['8 ones in a short block', [0, 0, 1, 0, 1, 0, 0, 0, 1], [0, 1, 2, 3, 4, 5, 6, 7]],
  ['11110111', [0, 0, 1, 0, 1, 0, 0, 1, 0, 1, 0, 1, 1, 1, 0, 0], [0, 1, 2, 3, 5, 6, 7]],
  ['25 ones in a varint block', [0, 0, 1, 0, 0, 1, 0, 0, 1, 1, 0, 0, 0], Array.from({ length: 25 }, (_, i) => i)],
  ['17 ones in a varint block', [0, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0], Array.from({ length: 17 }, (_, i) => i)],
  ['a long block that could have been short', [0, 0, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1], [0, 1, 2, 4]],
  ['a long block that could have been single', [0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1], [0, 2]],
  ['a short block that could have been single', [0, 0, 1, 0, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1], [0, 2, 4, 6]],
];
for (const [name, input, expected] of valid) {
  test(`decodes the ref-fvm vector: ${name}`, (t) => {
    t.deepEqual(setBits(decodeRuns(bits(input))), expected);
  });
}

const invalid: [string, number[], RegExp][] = [
  ['an incorrect version', [1, 0, 1, 0, 1, 0, 0, 0, 1], /version 1 is not supported/],
  ['a last byte of zero', [0, 0, 1, 0, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0], /not minimally encoded/],
  ['a varint that is not minimally encoded', [0, 0, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1], /varint is not minimally encoded/],
  [
    'a varint of more than 9 bytes',
    [0, 0, 1, 0, 0, ...Array.from({ length: 9 }, () => [1, 0, 0, 0, 0, 0, 0, 1]).flat(), 0, 0, 0],
    /longer than 8 bytes/,
  ],
  // ref-fvm and go-bitfield ignore bits after a zero-length run; we refuse them
  ['bits after a zero-length short block', [0, 0, 1, 1, 0, 1, 0, 0, 0, 0, 1], /trailing garbage/],
  ['bits after a zero-length varint block', [0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], /trailing garbage/],
];
for (const [name, input, message] of invalid) {
  test(`refuses RLE+ with ${name}`, (t) => {
    t.throws(() => decodeRuns(bits(input), 'trailer of s-t01000-1'), {
      instanceOf: PartialFileCorruptError,
      message: new RegExp(`^trailer of s-t01000-1: .*${message.source}`),
    });
  });
}

test('refuses runs adding up past 2^53 bits (ref-fvm refuses past 2^64)', (t) => {
  const encoded = encodeRuns([
    { value: true, length: 2 ** 52 },
    { value: false, length: 2 ** 52 },
    { value: true, length: 1 },
  ]);
  t.throws(() => decodeRuns(encoded), { instanceOf: PartialFileCorruptError, message: /more than 2\^53/ });
});

test('encodes the empty bitfield as zero bytes and drops a trailing run of zeros', (t) => {
  t.is(encodeRuns([]).length, 0);
  t.deepEqual(encodeRuns([{ value: true, length: 128 }, { value: false, length: 1000 }]), encodeRuns([{ value: true, length: 128 }]));
});

test('accepts a trailing run of zeros, as Lotus writes after Free (go-bitfield Subtract keeps it)', (t) => {
  // 00 | 1 | 00 varint(128) | 00 varint(128): ones 0..127 then 128 zeros
  const byte = (b: number) => Array.from({ length: 8 }, (_, i) => (b >> i) & 1);
  const untrimmed = bits([0, 0, 1, 0, 0, ...byte(0x80), ...byte(0x01), 0, 0, ...byte(0x80), ...byte(0x01)]);
  // go-bitfield's writer trims the all-zero last byte
  const input = untrimmed.subarray(0, 4);
  t.is(untrimmed[4], 0);
  t.deepEqual(decodeRuns(input), [{ value: true, length: 128 }]);
  t.deepEqual([...encodeRuns(decodeRuns(input))], [0x04, 0x30]);
});

test('refuses to encode zero-length runs and consecutive runs of the same value', (t) => {
  t.throws(() => encodeRuns([{ value: true, length: 0 }]), { instanceOf: InvalidArgumentError, message: /run 0 has length 0/ });
  t.throws(
    () => encodeRuns([{ value: true, length: 5 }, { value: true, length: 8 }]),
    { instanceOf: InvalidArgumentError, message: /must alternate/ },
  );
});

test('round-trips random bitfields, including run lengths across every block form and up to 2^36', (t) => {
  let seed = 12345;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  for (let i = 0; i < 300; i++) {
    const runs: Run[] = [];
    let value = rnd(2) === 1;
    const count = rnd(40);
    for (let j = 0; j < count; j++) {
      const kind = rnd(4);
      const length = kind === 0 ? 1 : kind === 1 ? 2 + rnd(14) : kind === 2 ? 16 + rnd(100000) : 1 + rnd(2 ** 31) * 32;
      runs.push({ value, length });
      value = !value;
    }
    while (runs.length > 0 && !runs[runs.length - 1]!.value) runs.pop();
    const encoded = encodeRuns(runs);
    t.deepEqual(decodeRuns(encoded), runs);
    t.deepEqual(encodeRuns(decodeRuns(encoded)), encoded);
    t.deepEqual(rangesToRuns(runsToRanges(runs)), runs);
  }
});
