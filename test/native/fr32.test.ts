import test from 'ava';
import { fr32Pad, fr32Unpad } from '../../native/hash.js';
import { prng } from '../helpers/bytes.js';


/** The bit model of rust-fil-proofs `fr32` padding with BigInt: slow, obviously right. */
function refPad(input: Uint8Array): Uint8Array {
  const out = new Uint8Array((input.length / 127) * 128);
  const mask = (1n << 254n) - 1n;
  for (let q = 0; q < input.length / 127; q++) {
    let x = 0n;
    for (let i = 126; i >= 0; i--) x = (x << 8n) | BigInt(input[q * 127 + i]!);
    for (let k = 0; k < 4; k++) {
      let v = (x >> BigInt(254 * k)) & mask;
      for (let j = 0; j < 32; j++) {
        out[q * 128 + k * 32 + j] = Number(v & 0xffn);
        v >>= 8n;
      }
    }
  }
  return out;
}

/** Pads a partial input the way Fr32Reader does: zero-fill to whole 127-byte blocks. */
function padPartial(input: Uint8Array): Uint8Array {
  const blocks = Math.max(1, Math.ceil(input.length / 127));
  const full = new Uint8Array(127 * blocks);
  full.set(input);
  const out = new Uint8Array(128 * blocks);
  fr32Pad(full, out);
  return out;
}

test('V-FR32: 30 bytes of 0x03 keep their value and are followed by zero bytes', (t) => {
  const out = padPartial(new Uint8Array(30).fill(3));
  t.deepEqual([...out.subarray(0, 30)], new Array(30).fill(3));
  t.is(out[30], 0);
  t.is(out[31], 0);
});

test('V-FR32: 32 bytes of 0xff spill two bits into the second element', (t) => {
  const out = padPartial(new Uint8Array(32).fill(0xff));
  t.deepEqual([...out.subarray(0, 31)], new Array(31).fill(0xff));
  t.is(out[31], 0x3f);
  t.is(out[32], 0x03);
  t.true(out.subarray(33, 64).every((b) => b === 0));
});

test('V-FR32: 127 bytes of 0xff clear exactly the top two bits of bytes 31, 63, 95 and 127', (t) => {
  const out = padPartial(new Uint8Array(127).fill(0xff));
  for (let i = 0; i < 128; i++) t.is(out[i], i % 32 === 31 ? 0x3f : 0xff, `byte ${i}`);
});

test('V-FR32: the exotic 68-byte pattern pads bit-exactly', (t) => {
  const input: number[] = [];
  for (let i = 1; i <= 31; i++) input.push(i);
  input.push(0xff);
  for (let i = 1; i <= 31; i++) input.push(i);
  input.push(0xff, 9, 9, 9, 0xff);
  t.is(input.length, 68);
  const out = padPartial(Uint8Array.from(input));
  for (let i = 0; i < 31; i++) t.is(out[i], i + 1, `byte ${i}`);
  t.is(out[31], 63);
  t.is(out[32], 7);
  for (let i = 33; i < 63; i++) t.is(out[i], ((i - 31) << 2) & 0xff, `byte ${i}`);
  t.is(out[63], 0x3c);
  t.is(out[64], 0x9f);
  t.is(out[65], 0x90);
  t.is(out[66], 0x90);
  t.is(out[67], 0xf0);
  t.is(out[68], 0x0f);
});

test('fr32Pad equals the BigInt bit model on random blocks', (t) => {
  const rnd = prng(11);
  for (const blocks of [1, 2, 3, 7, 16]) {
    const input = rnd(127 * blocks);
    const out = new Uint8Array(128 * blocks);
    fr32Pad(input, out);
    t.deepEqual(out, refPad(input), `${blocks} blocks`);
  }
});

test('fr32Unpad inverts fr32Pad on random data of many sizes', (t) => {
  const rnd = prng(12);
  for (const blocks of [0, 1, 2, 3, 5, 8, 31, 64, 100, 257, 1024]) {
    const input = rnd(127 * blocks);
    const padded = new Uint8Array(128 * blocks);
    fr32Pad(input, padded);
    for (let i = 31; i < padded.length; i += 32) t.is(padded[i]! & 0xc0, 0);
    const back = new Uint8Array(127 * blocks);
    fr32Unpad(padded, back);
    t.deepEqual(back, input, `${blocks} blocks`);
  }
});

test('fr32Unpad ignores the two top bits of every element', (t) => {
  const padded = prng(13)(128 * 4);
  const clean = padded.slice();
  for (let i = 31; i < clean.length; i += 32) clean[i] = clean[i]! & 0x3f;
  const a = new Uint8Array(127 * 4);
  const b = new Uint8Array(127 * 4);
  fr32Unpad(padded, a);
  fr32Unpad(clean, b);
  t.deepEqual(a, b);
  const again = new Uint8Array(128 * 4);
  fr32Pad(a, again);
  t.deepEqual(again, clean);
});

test('fr32 works on subarray views with odd offsets', (t) => {
  const backing = prng(14)(1 + 127 * 3 + 5);
  const input = backing.subarray(1, 1 + 127 * 3);
  const outBacking = new Uint8Array(3 + 128 * 3);
  const out = outBacking.subarray(3);
  fr32Pad(input, out);
  t.deepEqual(out.slice(), refPad(input.slice()));
});

test('bad lengths give a RangeError naming the argument, non-bytes a TypeError', (t) => {
  t.throws(() => fr32Pad(new Uint8Array(126), new Uint8Array(128)), { instanceOf: RangeError, message: /input/ });
  t.throws(() => fr32Pad(new Uint8Array(127), new Uint8Array(127)), { instanceOf: RangeError, message: /output/ });
  t.throws(() => fr32Unpad(new Uint8Array(127), new Uint8Array(127)), { instanceOf: RangeError, message: /input/ });
  t.throws(() => fr32Unpad(new Uint8Array(256), new Uint8Array(255)), { instanceOf: RangeError, message: /output/ });
  t.throws(() => fr32Pad([] as unknown as Uint8Array, new Uint8Array(0)), { instanceOf: TypeError, message: /input/ });
  t.throws(() => fr32Unpad(new Uint8Array(0), null as unknown as Uint8Array), { instanceOf: TypeError, message: /output/ });
});

test('fr32Pad refuses an output that overlaps its input', (t) => {
  const buf = new Uint8Array(127 + 128);
  t.throws(() => fr32Pad(buf.subarray(0, 127), buf.subarray(64, 192)), { instanceOf: RangeError, message: /overlap/ });
});
