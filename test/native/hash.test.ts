import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { blake2b } from '@noble/hashes/blake2b';
import test from 'ava';
import { binding, shaBackend } from '../../native/binding.js';
import {
  benchCompressions,
  blake2b256,
  commPChunk,
  fr32Pad,
  hashLayer,
  hashPair,
  setShaBackend,
  sha254,
  sha256,
  treeRoot,
} from '../../native/hash.js';
import { prng } from '../helpers/bytes.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const hasShaNi = (binding().cpuHasShaNi as () => boolean)();
const testShaNi = hasShaNi ? test : test.skip;


function refSha(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(data).digest());
}

function refPair(a: Uint8Array, b: Uint8Array): Uint8Array {
  const d = new Uint8Array(createHash('sha256').update(a).update(b).digest());
  d[31] = d[31]! & 0x3f;
  return d;
}

function refRoot(leaves: Uint8Array): Uint8Array {
  let layer: Uint8Array[] = [];
  for (let i = 0; i < leaves.length; i += 32) layer.push(leaves.subarray(i, i + 32));
  while (layer.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < layer.length; i += 2) next.push(refPair(layer[i]!, layer[i + 1]!));
    layer = next;
  }
  return layer[0]!;
}

/** Runs fn with the given backend in this thread, then restores the previous one. */
function withBackend<T>(backend: 'sha-ni' | 'portable', fn: () => T): T {
  const before = shaBackend();
  setShaBackend(backend);
  try {
    return fn();
  } finally {
    setShaBackend(before);
  }
}

const LENGTHS = [0, 1, 31, 32, 33, 55, 56, 57, 63, 64, 65, 100, 119, 120, 127, 128, 129, 191, 192, 1248, 4095, 4096, 65_537];

test('sha256 equals node:crypto on edge and random lengths', (t) => {
  const rnd = prng(1);
  const lengths = [...LENGTHS];
  for (let i = 0; i < 60; i++) lengths.push(rnd(2)[0]! * 8 + rnd(1)[0]! % 8);
  for (const n of lengths) {
    const data = rnd(n);
    t.is(hex(sha256(data)), hex(refSha(data)), `length ${n}`);
  }
});

test('blake2b256 equals an independent BLAKE2b-256 (@noble/hashes) around the 128-byte block size', (t) => {
  const rnd = prng(21);
  for (const n of [0, 1, 8, 32, 56, 63, 64, 65, 127, 128, 129, 255, 256, 257, 1000, 4096]) {
    const data = rnd(n);
    t.is(hex(blake2b256(data)), hex(blake2b(data, { dkLen: 32 })), `length ${n}`);
  }
});

test('blake2b256 is not the truncation of BLAKE2b-512 (the digest length is a parameter)', (t) => {
  const data = new TextEncoder().encode('test');
  // BLAKE2b-256("test"), as Go's blake2b.Sum256 gives it
  t.is(hex(blake2b256(data)), '928b20366943e2afd11ebc0eae2e53a93bf177a4fcf35bcc64d503704e65e202');
  t.not(hex(blake2b256(data)), createHash('blake2b512').update(data).digest('hex').slice(0, 64));
});

test('blake2b256 refuses a non-byte argument by name', (t) => {
  t.throws(() => blake2b256('abc' as unknown as Uint8Array), { instanceOf: TypeError, message: /data must be a Uint8Array/ });
});

test('sha256 hashes a subarray view, not its whole backing buffer', (t) => {
  const big = prng(2)(300);
  const view = big.subarray(17, 17 + 150);
  t.is(hex(sha256(view)), hex(refSha(view)));
});

test('sha254 clears the top two bits of byte 31 of the digest', (t) => {
  const rnd = prng(3);
  for (const n of [0, 64, 1248]) {
    const data = rnd(n);
    const expect = refSha(data);
    expect[31] = expect[31]! & 0x3f;
    t.is(hex(sha254(data)), hex(expect));
  }
});

test('hashPair equals trunc254(SHA-256(a || b)) computed with node:crypto', (t) => {
  const rnd = prng(4);
  for (let i = 0; i < 50; i++) {
    const a = rnd(32);
    const b = rnd(32);
    t.is(hex(hashPair(a, b)), hex(refPair(a, b)));
  }
});

test('hashPair of all-0xff nodes has the two top bits of byte 31 cleared', (t) => {
  const ones = new Uint8Array(32).fill(0xff);
  const out = hashPair(ones, ones);
  t.is(out[31]! & 0xc0, 0);
  t.is(hex(out), hex(refPair(ones, ones)));
});

test('repeated hashPair of zero nodes reproduces the V-ZERO table', (t) => {
  const expected = [
    '3731bb99ac689f66eef5973e4a94da188f4ddcae580724fc6f3fd60dfd488333',
    '642a607ef886b004bf2c1978463ae1d4693ac0f410eb2d1b7a47fe205e5e750f',
    '57a2381a28652bf47f6bef7aca679be4aede5871ab5cf3eb2c08114488cb8526',
    '1f7ac9595510e09ea41c460b176430bb322cd6fb412ec57cb17d989a4310372f',
    'fc7e928296e516faade986b28f92d44a4f24b935485223376a799027bc18f833',
    '08c47b38ee13bc43f41b915c0eed9911a26086b3ed62401bf9d58b8d19dff624',
    'b2e47bfb11facd941f62af5c750f3ea5cc4df517d5c4f16db2b4d77baec1a32f',
    'f9226160c8f927bfdcc418cdf203493146008eaefb7d02194d5e548189005108',
    '2c1a964bb90b59ebfe0f6da29ad65ae3e417724a8f7c11745a40cac1e5e74011',
    'fee378cef16404b199ede0b13e11b624ff9d784fbbed878d83297e795e024f02',
    '8e9e2403fa884cf6237f60df25f83ee40dca9ed879eb6f6352d15084f5ad0d3f',
    '752d9693fa167524395476e317a98580f00947afb7a30540d625a9291cc12a07',
    '7022f60f7ef6adfa17117a52619e30cea82c68075adf1c667786ec506eef2d19',
    'd99887b973573a96e11393645236c17b1f4c7034d723c7a99f709bb4da61162b',
    'd0b530dbb0b4f25c5d2f2a28dfee808b53412a02931f18c499f5a254086b1326',
    '84c0421ba0685a01bf795a2344064fe424bd52a9d24377b394ff4c4b4568e811',
    '65f29e5d98d246c38b388cfc06db1f6b021303c5a289000bdce832a9c3ec421c',
    'a2247508285850965b7e334b3127b0c042b1d046dc54402137627cd8799ce13a',
    'dafdab6da9364453c26d33726b9fefe343be8f81649ec009aad3faff50617508',
    'd941d5e0d6314a995c33ffbd4fbe69118d73d4e5fd2cd31f0f7c86ebdd14e706',
  ];
  let z: Uint8Array = new Uint8Array(32);
  z = hashPair(z, z);
  t.is(hex(z), 'f5a5fd42d16a20302798ef6ed309979b43003d2320d9f0e8ea9831a92759fb0b', 'Z(64 B)');
  for (const [i, want] of expected.entries()) {
    z = hashPair(z, z);
    t.is(hex(z), want, `Z(${128 << i} B)`);
  }
});

test('hashLayer equals pairwise hashPair for every pair count 1..41', (t) => {
  const rnd = prng(5);
  for (let n = 1; n <= 41; n++) {
    const children = rnd(64 * n);
    const parents = new Uint8Array(32 * n);
    hashLayer(children, parents);
    for (let i = 0; i < n; i++) {
      const want = refPair(children.subarray(64 * i, 64 * i + 32), children.subarray(64 * i + 32, 64 * i + 64));
      t.is(hex(parents.subarray(32 * i, 32 * i + 32)), hex(want), `n=${n} i=${i}`);
    }
  }
});

test('hashLayer works in place when parents is the start of children', (t) => {
  const rnd = prng(6);
  for (const n of [1, 7, 8, 13, 16, 64, 77]) {
    const children = rnd(64 * n);
    const separate = new Uint8Array(32 * n);
    hashLayer(children, separate);
    hashLayer(children, children.subarray(0, 32 * n));
    t.is(hex(children.subarray(0, 32 * n)), hex(separate), `${n} pairs`);
  }
});

test('hashLayer rejects bad lengths naming the argument', (t) => {
  t.throws(() => hashLayer(new Uint8Array(65), new Uint8Array(32)), { instanceOf: RangeError, message: /children/ });
  t.throws(() => hashLayer(new Uint8Array(128), new Uint8Array(32)), { instanceOf: RangeError, message: /parents/ });
  t.throws(() => hashLayer([] as unknown as Uint8Array, new Uint8Array(0)), { instanceOf: TypeError, message: /children/ });
});

test('treeRoot equals a node:crypto reference tree for 1 to 8192 leaves', (t) => {
  const rnd = prng(7);
  for (let n = 1; n <= 8192; n *= 2) {
    const leaves = rnd(32 * n);
    t.is(hex(treeRoot(leaves)), hex(refRoot(leaves)), `${n} leaves`);
  }
});

test('treeRoot of an all-zero 2 KiB sector is the empty CommD', (t) => {
  t.is(hex(treeRoot(new Uint8Array(2048))), 'fc7e928296e516faade986b28f92d44a4f24b935485223376a799027bc18f833');
});

test('treeRoot rejects a non-power-of-two leaf count and non-bytes', (t) => {
  t.throws(() => treeRoot(new Uint8Array(96)), { instanceOf: RangeError, message: /leaves/ });
  t.throws(() => treeRoot(new Uint8Array(0)), { instanceOf: RangeError, message: /leaves/ });
  t.throws(() => treeRoot(new Uint8Array(33)), { instanceOf: RangeError, message: /leaves/ });
  t.throws(() => treeRoot('x' as unknown as Uint8Array), { instanceOf: TypeError, message: /leaves/ });
  t.throws(() => hashPair(new Uint8Array(31), new Uint8Array(32)), { instanceOf: RangeError, message: /\ba\b/ });
  t.throws(() => hashPair(new Uint8Array(32), new Uint8Array(64)), { instanceOf: RangeError, message: /\bb\b/ });
});

/** V-COMMP-PATTERN 0xCC rows: payload bytes, then commP; payloads are zero-filled to 127·2^j. */
const COMMP_CC: [number, string][] = [
  [96, '7b0927471513af679f864b36c4aa9f7091f7c7dff736c6cfbb3eea7878658907'],
  [126, '0784fcf186d966a1f9448692b2c743936c3c3a0ca3fcd173e72b17d904bc9033'],
  [127, 'c2ac699bb26693c01abe4a93551de64fd72b45404fb7320c416705dde7b2a426'],
  [192, 'abfd9a97a3cc80f3586d197638a918a12ec57fda84b9e31f65678db7ca4bfb2a'],
  [253, 'bf2c61c00a741051dfae1076742c4987714cd4e5b5954d3af59719fb06677427'],
  [254, 'a45c39cffb4c4b4f1243108d0b324eca33fa8339779e3605748c117d7027c028'],
  [255, '6f888ba771a45828d441d53b06aba779e63d5a7d5cd6e8f18b40f98f079a8b3d'],
  [256, '8f8b636d950c4a07e2deacf520be743d17a1abb739d34769583258e27251df34'],
  [384, '725d6c6e4208c82308c0797c9bf0d50ed543b4a33990ee02a282f6c88309bf2e'],
  [507, '46d4fd60b1d12616906810bc597c54ad39b6a9523d7f9bcaa07f38b4ca813b13'],
  [508, '1f0941a3d1751ecffcce60f745e11bad682e7bc095415f301cc53dc5dacfc111'],
];

function unpaddedCapacity(payload: number): number {
  let n = 127;
  while (n < payload) n *= 2;
  return n;
}

test('commPChunk reproduces the V-COMMP-PATTERN 0xCC piece commitments', (t) => {
  for (const [payload, want] of COMMP_CC) {
    const unpadded = new Uint8Array(unpaddedCapacity(payload));
    unpadded.fill(0xcc, 0, payload);
    const padded = new Uint8Array((unpadded.length / 127) * 128);
    t.is(hex(commPChunk(unpadded, padded)), want, `${payload} bytes of 0xCC`);
  }
});

test('commPChunk of zero payloads is the zero-piece commitment of the padded size', (t) => {
  const want: Record<number, string> = {
    128: '3731bb99ac689f66eef5973e4a94da188f4ddcae580724fc6f3fd60dfd488333',
    256: '642a607ef886b004bf2c1978463ae1d4693ac0f410eb2d1b7a47fe205e5e750f',
    512: '57a2381a28652bf47f6bef7aca679be4aede5871ab5cf3eb2c08114488cb8526',
    1024: '1f7ac9595510e09ea41c460b176430bb322cd6fb412ec57cb17d989a4310372f',
    2048: 'fc7e928296e516faade986b28f92d44a4f24b935485223376a799027bc18f833',
  };
  for (const [padded, root] of Object.entries(want)) {
    const size = Number(padded);
    t.is(hex(commPChunk(new Uint8Array((size / 128) * 127), new Uint8Array(size))), root, `${padded} B`);
  }
});

test('commPChunk writes the fr32-padded bytes and returns their tree root, across block sizes', (t) => {
  const rnd = prng(8);
  for (const blocks of [1, 2, 8, 256, 512, 2048]) {
    const unpadded = rnd(127 * blocks);
    const padded = new Uint8Array(128 * blocks);
    const root = commPChunk(unpadded, padded);
    const expectPadded = new Uint8Array(128 * blocks);
    fr32Pad(unpadded, expectPadded);
    t.true(Buffer.from(padded).equals(expectPadded), `${blocks} blocks padded`);
    t.is(hex(root), hex(refRoot(expectPadded)), `${blocks} blocks root`);
  }
});

test('commPChunk rejects sizes that are not 127·2^j and mismatched outputs', (t) => {
  t.throws(() => commPChunk(new Uint8Array(127 * 3), new Uint8Array(128 * 3)), { instanceOf: RangeError, message: /unpadded/ });
  t.throws(() => commPChunk(new Uint8Array(0), new Uint8Array(0)), { instanceOf: RangeError, message: /unpadded/ });
  t.throws(() => commPChunk(new Uint8Array(254), new Uint8Array(255)), { instanceOf: RangeError, message: /paddedOut/ });
});

test('benchCompressions returns a checksum that depends on count and ways and rejects bad ways', (t) => {
  const a = benchCompressions(10, 1);
  t.is(benchCompressions(10, 1), a);
  t.not(benchCompressions(11, 1), a);
  t.not(benchCompressions(10, 2), a);
  t.throws(() => benchCompressions(10, 3 as 1), { instanceOf: RangeError, message: /ways/ });
  t.throws(() => benchCompressions(-1, 1), { instanceOf: RangeError, message: /count/ });
});

test('setShaBackend switches this thread and shaBackend reports it', (t) => {
  withBackend('portable', () => t.is(shaBackend(), 'portable'));
  if (hasShaNi) withBackend('sha-ni', () => t.is(shaBackend(), 'sha-ni'));
  t.throws(() => setShaBackend('avx' as 'portable'), { instanceOf: RangeError, message: /backend/ });
});

/** A fingerprint of every hash function over fixed pseudo-random inputs. */
function fingerprint(): string[] {
  const rnd = prng(9);
  const out: string[] = [];
  for (const n of LENGTHS) out.push(hex(sha256(rnd(n))));
  for (let i = 0; i < 10; i++) out.push(hex(hashPair(rnd(32), rnd(32))), hex(sha254(rnd(64))));
  const children = rnd(64 * 23);
  const parents = new Uint8Array(32 * 23);
  hashLayer(children, parents);
  out.push(hex(parents));
  out.push(hex(treeRoot(rnd(32 * 4096))));
  const padded = new Uint8Array(128 * 512);
  out.push(hex(commPChunk(rnd(127 * 512), padded)), hex(sha256(padded)));
  for (const ways of [1, 2, 4] as const) out.push(String(benchCompressions(1000, ways)));
  return out;
}

testShaNi('both backends give identical results for every function', (t) => {
  const shaNi = withBackend('sha-ni', fingerprint);
  const portable = withBackend('portable', fingerprint);
  t.deepEqual(shaNi, portable);
});

const hashModule = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'native', 'hash.js')).href;
const bindingModule = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'native', 'binding.js')).href;

/** Loads the addon in a fresh worker thread, optionally switches its backend, and returns results. */
function inWorker(backend: 'sha-ni' | 'portable'): Promise<{ backend: string; results: string[] }> {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    (async () => {
      const h = await import(workerData.hashModule);
      const b = await import(workerData.bindingModule);
      h.setShaBackend(workerData.backend);
      const hex = (u) => Buffer.from(u).toString('hex');
      const leaves = new Uint8Array(32 * 2048).map((_, i) => (i * 131) & 0xff);
      const unpadded = new Uint8Array(127 * 64).map((_, i) => (i * 7) & 0xff);
      const results = [];
      for (let round = 0; round < 20; round++) {
        results.push(hex(h.treeRoot(leaves)), hex(h.commPChunk(unpadded, new Uint8Array(128 * 64))),
          hex(h.sha256(leaves.subarray(0, 1248 + round))));
      }
      parentPort.postMessage({ backend: b.shaBackend(), results });
    })().catch((err) => { throw err; });
  `;
  return new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData: { hashModule, bindingModule, backend } });
    w.once('message', (m) => {
      resolve(m as { backend: string; results: string[] });
      void w.terminate();
    });
    w.once('error', reject);
  });
}

test('two worker threads load the addon at once, keep their own backend and agree', async (t) => {
  const before = shaBackend();
  const [a, b] = await Promise.all([inWorker(hasShaNi ? 'sha-ni' : 'portable'), inWorker('portable')]);
  t.is(a.backend, hasShaNi ? 'sha-ni' : 'portable');
  t.is(b.backend, 'portable');
  t.is(shaBackend(), before, 'switching a worker does not switch the main thread');
  t.deepEqual(a.results, b.results);
  const leaves = new Uint8Array(32 * 2048).map((_, i) => (i * 131) & 0xff);
  t.is(a.results[0], hex(refRoot(leaves)));
});

test('SECTOR_STORAGE_PORTABLE_SHA=1 makes every addon instance start on the portable path', async (t) => {
  const { execFileSync } = await import('node:child_process');
  const binding = new URL('../../native/binding.js', import.meta.url).href;
  const script = `import(${JSON.stringify(binding)}).then((m) => process.stdout.write(m.shaBackend()))`;
  const run = (env: NodeJS.ProcessEnv) => execFileSync(process.execPath, ['-e', script], { env, encoding: 'utf8' });
  t.is(run({ ...process.env, SECTOR_STORAGE_PORTABLE_SHA: '1' }), 'portable');
  const { SECTOR_STORAGE_PORTABLE_SHA: _, SECTOR_STORAGE_SIMD: __, ...rest } = process.env;
  const native = run(rest);
  const { cpuHasShaNi } = (await import('../../native/binding.js')).binding() as unknown as { cpuHasShaNi(): boolean };
  t.is(native, cpuHasShaNi() ? 'sha-ni' : 'portable');
});
