import { randomBytes } from 'node:crypto';
import test from 'ava';
import {
  FR_MODULUS,
  POSEIDON_ARITIES,
  columnHashes,
  decodeNodes,
  frAdxKernel,
  encodeNodes,
  poseidonHash,
  poseidonHashPortable,
  poseidonHashReference,
  poseidonLayer,
} from '../../native/poseidon.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const fromHex = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));

/** A field element as 32 LE bytes. */
function fe(v: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

function toBig(b: Uint8Array): bigint {
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i] ?? 0);
  return v;
}

/** Upstream writes Fr values as four u64 limbs, least significant first. */
function limbs(l: [bigint, bigint, bigint, bigint]): string {
  return hex(fe(l[0] | (l[1] << 64n) | (l[2] << 128n) | (l[3] << 192n)));
}

function concat(parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

function sequence(arity: number): Uint8Array {
  return concat(Array.from({ length: arity }, (_, i) => fe(BigInt(i))));
}

/** Random canonical elements, mixing small, < 2^254 and just-below-r values. */
function randomElements(count: number): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const kind = i % 4;
    if (kind === 0) parts.push(fe(FR_MODULUS - 1n - BigInt(randomBytes(1)[0] ?? 0)));
    else {
      const b = randomBytes(32);
      b[31] = (b[31] ?? 0) & 0x3f;
      parts.push(new Uint8Array(b));
    }
  }
  return concat(parts);
}

// neptune src/poseidon.rs hash_values (Strength::Standard, MerkleTree), inputs 0..arity-1
const vPos: Record<number, string> = {
  2: 'ffe7029a363c202e9da6059d33a9fba661e1ef02d90f9e736ba5765ed7086539',
  4: '5d076266ff149801ec2713bf05466bfb99932279653cdb008a84e5a9104ba558',
  8: 'e6a5386df534992ad9aec49c9d2e684b777067114200011255dea5a31d619423',
  11: '6331692bc3bbe3cec18fb0ccd8dcf3097ae8eb32e237a56c287f22e5b2c10f0c',
  16: limbs([0x1291c74060266d37n, 0x5b8dbc6d30680a6fn, 0xc1c2fb5a6f871e63n, 0x2d3ae2663381ae8an]),
  24: limbs([0xd7ef3569f585b321n, 0xc3e779f6468815b1n, 0x066f39bf783f3d9fn, 0x63beb8831f11ae15n]),
  36: limbs([0x4473606dfa4e8140n, 0x75cd368df8a8ac3cn, 0x540a30e03c10bbaan, 0x699303082a6e5d5fn]),
};

for (const [arity, expected] of Object.entries(vPos)) {
  test(`Poseidon arity ${arity} of 0..${Number(arity) - 1} matches neptune's hash_values vector (V-POS)`, (t) => {
    t.is(hex(poseidonHash(sequence(Number(arity)))), expected);
    t.is(hex(poseidonHashReference(sequence(Number(arity)))), expected);
    t.is(hex(poseidonHashPortable(sequence(Number(arity)))), expected);
  });
}

test('Poseidon2 reproduces the filecoin-hashers tree vectors node(1,0) and root of [1,0,0,1]', (t) => {
  const n1 = poseidonHash(concat([fe(1n), fe(0n)]));
  const n2 = poseidonHash(concat([fe(0n), fe(1n)]));
  t.is(hex(n1), '5e0b807960ff39b3af9430dcb30759ec264fa274cc03c093c36b78beff942f04');
  t.is(hex(poseidonHash(concat([n1, n2]))), '71e691e2e38bbbefd25a2bcbb872cc77ae746bae8563eb30ebd96ab2b7ebff1e');
});

test('the optimised permutation (assembly and portable product) equals the reference on random inputs for every arity', (t) => {
  for (const arity of POSEIDON_ARITIES) {
    for (let round = 0; round < 6; round++) {
      const inputs = randomElements(arity);
      const expected = hex(poseidonHashReference(inputs));
      t.is(hex(poseidonHash(inputs)), expected, `arity ${arity}`);
      t.is(hex(poseidonHashPortable(inputs)), expected, `arity ${arity} portable`);
    }
  }
});

test('poseidonLayer (eight lanes, four interleaved, then the rest) equals the reference hash of each group, r - 1 and 0 included', (t) => {
  for (const arity of [1, 2, 4, 8, 11, 16, 24]) {
    const groups = 19;
    const children = randomElements(arity * groups);
    children.set(fe(FR_MODULUS - 1n), 0); // the largest element, in a lane of the first group
    children.set(fe(0n), 32 * (arity * 9 + arity - 1));
    const parents = new Uint8Array(32 * groups);
    poseidonLayer(children, parents, arity);
    for (let i = 0; i < groups; i++) {
      const group = children.subarray(32 * arity * i, 32 * arity * (i + 1));
      t.is(hex(parents.subarray(32 * i, 32 * i + 32)), hex(poseidonHashReference(group)), `arity ${arity} group ${i}`);
    }
    // in place: parents at the start of children
    const inPlace = children.slice();
    poseidonLayer(inPlace, inPlace.subarray(0, 32 * groups), arity);
    t.is(hex(inPlace.subarray(0, 32 * groups)), hex(parents), `arity ${arity} in place`);
  }
});

test('columnHashes hashes the v-th node of every layer (V-E2E-2KiB column 0)', (t) => {
  const l1 = concat([fromHex('755c1f55e9fa04f4c650e8dd664027d31ef6eade55e2ec57e6d98cadc18b7d06'), randomElements(1)]);
  const l2 = concat([fromHex('9e142f2edd2be90fd50df96bdba6c05dfa987a8519e728841bb2c77ac6b56833'), randomElements(1)]);
  const out = new Uint8Array(64);
  columnHashes([l1, l2], out);
  t.is(hex(out.subarray(0, 32)), '17a76193208dd3f887a70dfc622118005b5d9a08fb615f5bc6d6fd54c38eff02');
  t.is(hex(out.subarray(32)), hex(poseidonHash(concat([l1.subarray(32), l2.subarray(32)]))));
  // eleven layers (32/64 GiB sectors)
  const layers = Array.from({ length: 11 }, () => randomElements(3));
  const out11 = new Uint8Array(96);
  columnHashes(layers, out11);
  const col2 = concat(layers.map((l) => l.subarray(64, 96)));
  t.is(hex(out11.subarray(64)), hex(poseidonHash(col2)));
});

test('encodeNodes adds modulo r and decodeNodes recovers the data, including wrap-around', (t) => {
  const maxData = (1n << 254n) - 1n;
  const data = concat([fe(maxData), fe(5n), randomElements(6)]);
  for (let i = 31; i < data.length; i += 32) data[i] = (data[i] ?? 0) & 0x3f;
  const key = concat([fe(FR_MODULUS - 1n), fe(FR_MODULUS - 3n), randomElements(6)]);
  const replica = new Uint8Array(data.length);
  encodeNodes(data, key, replica);
  t.is(toBig(replica.subarray(0, 32)), (maxData + FR_MODULUS - 1n) % FR_MODULUS);
  t.is(toBig(replica.subarray(32, 64)), 2n); // 5 + (r - 3) wraps to 2
  for (let n = 0; n < 8; n++) {
    const d = toBig(data.subarray(32 * n, 32 * n + 32));
    const k = toBig(key.subarray(32 * n, 32 * n + 32));
    t.is(toBig(replica.subarray(32 * n, 32 * n + 32)), (d + k) % FR_MODULUS, `node ${n}`);
  }
  const back = new Uint8Array(data.length);
  decodeNodes(replica, key, back);
  t.is(hex(back), hex(data));
  // in place
  const inPlace = replica.slice();
  decodeNodes(inPlace, key, inPlace);
  t.is(hex(inPlace), hex(data));
});

test('an input element >= r is refused with a RangeError naming the element', (t) => {
  const inputs = concat([fe(1n), fe(FR_MODULUS)]);
  t.throws(() => poseidonHash(inputs), { instanceOf: RangeError, message: /inputs element 1 .*>= r/ });
  const children = concat([randomElements(8 + 3), fe(FR_MODULUS + 7n), randomElements(4)]);
  t.throws(() => poseidonLayer(children, new Uint8Array(64), 8), { instanceOf: RangeError, message: /children node 11 / });
  const l0 = randomElements(2);
  const l1 = concat([randomElements(1), fe((1n << 256n) - 1n)]);
  t.throws(() => columnHashes([l0, l1], new Uint8Array(64)), { instanceOf: RangeError, message: /layers\[1\] node 1 / });
});

test('wrong lengths, unsupported arities and non-bytes are refused', (t) => {
  t.throws(() => poseidonHash(new Uint8Array(33)), { instanceOf: RangeError, message: /multiple of 32/ });
  t.throws(() => poseidonHash(new Uint8Array(0)), { instanceOf: RangeError });
  t.throws(() => poseidonHash(new Uint8Array(32 * 17)), { instanceOf: RangeError, message: /arity 17 is not supported/ });
  t.throws(() => poseidonLayer(new Uint8Array(32 * 8), new Uint8Array(64), 8), { instanceOf: RangeError, message: /children must be 512 bytes/ });
  t.throws(() => poseidonLayer(new Uint8Array(32 * 8), new Uint8Array(32), 17), { instanceOf: RangeError, message: /arity 17/ });
  t.throws(() => columnHashes([new Uint8Array(64), new Uint8Array(32)], new Uint8Array(64)), { instanceOf: RangeError, message: /layers\[1\]/ });
  t.throws(() => columnHashes([], new Uint8Array(64)), { instanceOf: RangeError, message: /arity 0/ });
  t.throws(() => poseidonHash('00' as unknown as Uint8Array), { instanceOf: TypeError, message: /inputs must be a Uint8Array/ });
  t.throws(() => encodeNodes(new Uint8Array(64), new Uint8Array(32), new Uint8Array(64)), { instanceOf: RangeError, message: /key must be 64 bytes/ });
});

test('encoding refuses data that is not fr32-padded and keys >= r, leaving the buffer untouched', (t) => {
  const data = randomElements(4);
  for (let i = 31; i < data.length; i += 32) data[i] = (data[i] ?? 0) & 0x3f;
  const key = randomElements(4);
  const badData = data.slice();
  badData[2 * 32 + 31] = 0x40; // 2^254 <= value < r: a field element, but not fr32 output
  t.throws(() => encodeNodes(badData, key, new Uint8Array(128)), { instanceOf: RangeError, message: /data node 2 is not fr32-padded/ });
  const badKey = concat([key.subarray(0, 96), fe(FR_MODULUS)]);
  const buf = data.slice();
  t.throws(() => encodeNodes(buf, badKey, buf), { instanceOf: RangeError, message: /key node 3 / });
  t.is(hex(buf), hex(data));
  const badReplica = concat([fe(FR_MODULUS + 1n), key.subarray(32)]);
  t.throws(() => decodeNodes(badReplica, key, new Uint8Array(128)), { instanceOf: RangeError, message: /replica node 0 / });
});

test('the eager baseline permutation (every product reduced) gives the same rows as the lazy one', async (t) => {
  const { poseidonLayerEager } = await import('../../native/poseidon.js');
  for (const arity of [2, 8, 11, 16, 36]) {
    const groups = 13;
    const children = randomElements(arity * groups);
    const lazy = new Uint8Array(groups * 32);
    const eager = new Uint8Array(groups * 32);
    poseidonLayer(children, lazy, arity);
    poseidonLayerEager(children, eager, arity);
    t.is(hex(eager), hex(lazy), `arity ${arity}`);
  }
});

test('the MULX/ADX blocks of the width-3 kernel equal modular arithmetic on BigInt, at the bounds of their final subtractions', (t) => {
  const r = FR_MODULUS;
  const mod = (x: bigint) => ((x % r) + r) % r;
  const rInv = (() => {
    // 2^-256 mod r by Fermat (r is prime)
    let [base, e, acc] = [mod(1n << 256n), r - 2n, 1n];
    for (; e > 0n; e >>= 1n, base = (base * base) % r) if (e & 1n) acc = (acc * base) % r;
    return acc;
  })();
  const m = (x: bigint) => mod(x * rInv); // Montgomery reduction of a product
  // the largest elements make the sums cross 2^256 (the fifth word) and 2r; small ones and
  // zero keep them below r
  const edges = [0n, 1n, 2n, r - 1n, r - 2n, r - (1n << 64n), (1n << 254n) + 12345n, r >> 1n];
  const pick = (i: number): bigint => (i % 3 === 0 ? toBig(randomElements(1)) : (edges[(i * 7 + (i >> 3)) % edges.length] ?? 0n));
  const run = (kernel: Parameters<typeof frAdxKernel>[0], xs: bigint[]) => frAdxKernel(kernel, concat(xs.map(fe)));
  if (run('add', [1n, 2n]) === undefined) {
    t.log('this CPU lacks MULX/ADX: nothing to check');
    t.is(run('square', [3n]), undefined);
    return;
  }
  const all = (x: bigint) => Array.from({ length: 7 }, () => x);
  const cases: bigint[][] = [all(r - 1n), all(r - 2n), all(0n), all(1n)];
  // operands just below r: three products of about r^2 reduce to about 1.36 r plus the low half's
  // REDC (up to r), which crosses 2^256 ~ 2.2 r for a good share of them
  const nearR = () => r - 1n - toBig(randomBytes(8));
  for (let i = 0; i < 300; i++) cases.push(Array.from({ length: 7 }, nearR));
  for (let i = 0; i < 300; i++) cases.push(Array.from({ length: 7 }, (_, j) => pick(i * 7 + j)));
  for (const [i, x] of cases.entries()) {
    const [a = 0n, b = 0n, c = 0n, d = 0n, e = 0n, f = 0n, g = 0n] = x;
    t.is(toBig(run('square', [a])!), m(a * a), `square case ${i}`);
    t.is(toBig(run('dot3', [a, b, c, d, e, f])!), m(a * d + b * e + c * f), `dot3 case ${i}`);
    t.is(toBig(run('dot3Plus', [a, b, c, d, e, f, g])!), mod(m(a * e + b * f + c * g) + d), `dot3Plus case ${i}`);
    t.is(toBig(run('mulPlus', [a, b, c])!), mod(m(a * b) + c), `mulPlus case ${i}`);
    t.is(toBig(run('add', [a, b])!), mod(a + b), `add case ${i}`);
  }
  t.throws(() => run('add', [r, 0n]), { instanceOf: RangeError, message: /below r/ });
  t.throws(() => frAdxKernel('dot3', new Uint8Array(64)), { instanceOf: RangeError, message: /dot3 takes 6 operands/ });
});
