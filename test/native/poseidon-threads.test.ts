import { randomBytes } from 'node:crypto';
import test from 'ava';
import { FR_MODULUS, columnHashes, poseidonLayer, poseidonSplitThreads } from '../../native/poseidon.js';

/** Random canonical field elements (top two bits cleared, so < 2^254 < r). */
function randomElements(count: number): Uint8Array {
  const b = new Uint8Array(randomBytes(count * 32));
  for (let i = 31; i < b.length; i += 32) b[i] = (b[i] ?? 0) & 0x3f;
  return b;
}

function fe(v: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

// Uneven hash counts: not multiples of 4 nor of the thread count, so the last range is short
// and ends in the single-hash tail.
const cases: [arity: number, hashes: number, threads: number][] = [
  [2, 4099, 2],
  [2, 2053, 7],
  [8, 1031, 3],
  [8, 2050, 2],
  [11, 1283, 4],
  [11, 771, 2],
];

test('the bulk calls really split these sizes across the requested threads', (t) => {
  for (const [, hashes, threads] of cases) t.is(poseidonSplitThreads(hashes, { threads }), threads, `${hashes} hashes on ${threads}`);
  t.is(poseidonSplitThreads(255, { threads: 4 }), 1, 'small calls stay on the calling thread');
  t.is(poseidonSplitThreads(600, { threads: 4 }), 2, 'at least 256 hashes per thread');
  t.is(poseidonSplitThreads(1 << 20), 1, 'one thread unless asked');
});

for (const [arity, hashes, threads] of cases) {
  test(`poseidonLayer of arity ${arity} over ${hashes} groups on ${threads} threads equals the single-threaded row`, (t) => {
    const children = randomElements(hashes * arity);
    const one = new Uint8Array(hashes * 32);
    const many = new Uint8Array(hashes * 32).fill(0xee);
    poseidonLayer(children, one, arity);
    poseidonLayer(children, many, arity, { threads });
    t.is(hex(many), hex(one));
  });

  test(`columnHashes of ${arity} layers over ${hashes} nodes on ${threads} threads equals the single-threaded hashes`, (t) => {
    const layers = Array.from({ length: arity }, () => randomElements(hashes));
    const one = new Uint8Array(hashes * 32);
    const many = new Uint8Array(hashes * 32).fill(0xee);
    columnHashes(layers, one);
    columnHashes(layers, many, { threads });
    t.is(hex(many), hex(one));
  });
}

test('a bad element in a later thread range is reported at its index in the whole call, the first one winning', (t) => {
  const hashes = 2048;
  const threads = 4; // ranges of 512 groups
  t.is(poseidonSplitThreads(hashes, { threads }), threads);
  const children = randomElements(hashes * 8);
  children.set(fe(FR_MODULUS), (1500 * 8 + 5) * 32); // range 2
  children.set(fe(FR_MODULUS + 1n), (1900 * 8 + 1) * 32); // range 3
  t.throws(() => poseidonLayer(children, new Uint8Array(hashes * 32), 8, { threads }), {
    instanceOf: RangeError,
    message: new RegExp(`children node ${1500 * 8 + 5} `),
  });
  const layers = [randomElements(hashes), randomElements(hashes)];
  layers[1]!.set(fe((1n << 256n) - 1n), 1800 * 32); // range 3
  layers[0]!.set(fe(FR_MODULUS), 1100 * 32); // range 2
  t.throws(() => columnHashes(layers, new Uint8Array(hashes * 32), { threads }), {
    instanceOf: RangeError,
    message: /layers\[0\] node 1100 /,
  });
});

test('a thread count that is not a positive integer is refused', (t) => {
  const children = randomElements(16);
  const parents = new Uint8Array(64);
  for (const threads of [0, -1, 1.5, Number.NaN, 5000]) {
    t.throws(() => poseidonLayer(children, parents, 8, { threads }), { instanceOf: RangeError, message: /options\.threads/ });
    t.throws(() => columnHashes([children, children], new Uint8Array(children.length), { threads }), {
      instanceOf: RangeError,
      message: /options\.threads/,
    });
  }
});
