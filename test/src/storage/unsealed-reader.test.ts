import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { PartialFile } from '../../../src/partial/partial-file.js';
import { FileType } from '../../../src/sector/sector-id.js';
import { type Manager, makeManager, makeNode, makePath, type Node, PROOF_8M, tempDir } from './storage-fixtures.js';

interface Ctx {
  m: Manager;
  dir: string;
  a: Node;
  b: Node;
  aRoot: string;
  servers: Server[];
}
const test = anyTest as TestFn<Ctx>;
const S1 = { miner: 1000, number: 1 };
const REF = { id: S1, proofType: PROOF_8M };
const MiB = 1024 * 1024;
const SSIZE = 8 * MiB;
/** Allocated padded runs of the test file; everything else is a hole. */
const RUNS: [number, number][] = [
  [0, MiB],
  [3 * MiB, 3 * MiB + 512 * 1024],
  [5 * MiB + 128 * 40, 7 * MiB],
];

test.beforeEach(async (t) => {
  const m = makeManager();
  const dir = tempDir();
  const a = await makeNode(m.catalog);
  const b = await makeNode(m.catalog);
  const aRoot = makePath(dir, 'a', { canStore: true });
  await a.local.addLocalPath(aRoot);
  await b.local.addLocalPath(makePath(dir, 'b', { canSeal: true }));
  const pf = await PartialFile.create(join(aRoot, 'unsealed', 's-t01000-1'), SSIZE);
  for (const [s, e] of RUNS) {
    await pf.writeAt(randomBytes(e - s), s);
    await pf.markAllocated(s, e - s);
  }
  await pf.close();
  await a.local.redeclare();
  Object.assign(t.context, { m, dir, a, b, aRoot, servers: [] });
});
test.afterEach.always(async (t) => {
  await t.context.a.close();
  await t.context.b.close();
  for (const s of t.context.servers) {
    s.closeAllConnections();
    s.close();
  }
  t.context.m.close();
  rmSync(t.context.dir, { recursive: true, force: true });
});

/** mulberry32: a small seeded generator, so a failing case can be replayed from the printed seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

async function collect(stream: AsyncIterable<Uint8Array> | null): Promise<Buffer | null> {
  if (stream === null) return null;
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

const allocated = (s: number, e: number) => RUNS.some(([rs, re]) => s >= rs && e <= re);

test('the remote reader returns the bytes of a local read for random ranges of an unsealed file with holes, and nothing for ranges that cross a hole', async (t) => {
  const { a, b, aRoot } = t.context;
  const seed = Number(process.env.READER_SEED ?? Date.now() % 2 ** 31);
  t.log(`seed ${seed} (READER_SEED=${seed} replays it)`);
  const next = rng(seed);
  const file = readFileSync(join(aRoot, 'unsealed', 's-t01000-1'));
  let inside = 0;
  let across = 0;
  for (let i = 0; i < 40; i++) {
    // half the ranges inside a run, the others anywhere (most of those cross a hole)
    const run = RUNS[Math.floor(next() * RUNS.length)] as [number, number];
    const [lo, hi] = i % 2 === 0 ? run : [0, SSIZE];
    const start = lo + Math.floor((next() * (hi - lo - 128)) / 128) * 128;
    const len = 128 * (1 + Math.floor((next() * (hi - start)) / 128));
    const end = Math.min(start + len, hi);
    const local = await collect(await a.remote.reader(REF, start, end - start));
    const remote = await collect(await b.remote.reader(REF, start, end - start));
    if (allocated(start, end)) {
      inside++;
      t.true(local?.equals(file.subarray(start, end)), `local [${start}, ${end})`);
      t.true(remote?.equals(file.subarray(start, end)), `remote [${start}, ${end})`);
    } else {
      across++;
      t.is(local, null, `local [${start}, ${end}) crosses a hole`);
      t.is(remote, null, `remote [${start}, ${end}) crosses a hole`);
    }
  }
  t.true(inside > 10 && across > 3, `${inside} ranges inside runs, ${across} across holes`);
  t.true(await b.remote.checkAllocated(REF, (3 * MiB * 127) / 128, 127 * 1024));
  t.false(await b.remote.checkAllocated(REF, (2 * MiB * 127) / 128, 127 * 1024));
});

test('a padded range that is not 128-aligned or runs past the sector is refused', async (t) => {
  const { b } = t.context;
  await t.throwsAsync(b.remote.reader(REF, 100, 128), { code: 'INVALID_ARGUMENT', message: /multiple of 128/ });
  await t.throwsAsync(b.remote.reader(REF, 0, 100), { code: 'INVALID_ARGUMENT', message: /positive multiple of 128/ });
  await t.throwsAsync(b.remote.reader(REF, SSIZE - 128, 256), { code: 'INVALID_ARGUMENT', message: /ends past the 8388608-byte sector/ });
});

test('a holder that answers a range request with the whole file (200) is not read from', async (t) => {
  const { m, b, servers } = t.context;
  const S2 = { miner: 1000, number: 2 };
  const s = createServer((req, res) => {
    if (req.url?.includes('/allocated/')) {
      res.writeHead(200).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': '4' }).end('junk');
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  servers.push(s);
  const url = `http://127.0.0.1:${(s.address() as AddressInfo).port}/remote`;
  const stat = { Capacity: 1, Available: 1, FSAvailable: 1, Reserved: 0, Max: 0, Used: 0 };
  m.store.storageAttach({ ID: 'liar', URLs: [url], Weight: 10, MaxStorage: 0, CanSeal: false, CanStore: true }, stat);
  m.store.storageDeclareSector('liar', S2, FileType.unsealed, true);
  t.is(await b.remote.reader({ id: S2, proofType: PROOF_8M }, 128, 128), null);
  t.true(b.logs.some((l) => /expected 206 for bytes 128-255, got HTTP 200/.test(l)), b.logs.join('\n'));
});

test('a holder whose range body is cut short fails the read with FETCH_FAILED instead of a short read', async (t) => {
  const { m, b, servers } = t.context;
  const S3 = { miner: 1000, number: 3 };
  const s = createServer((req, res) => {
    if (req.url?.includes('/allocated/')) {
      res.writeHead(200).end();
      return;
    }
    res.writeHead(206, { 'Content-Type': 'application/octet-stream', 'Content-Length': '1024', 'Content-Range': 'bytes 0-1023/8388608' });
    res.write(Buffer.alloc(300), () => res.destroy());
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  servers.push(s);
  const url = `http://127.0.0.1:${(s.address() as AddressInfo).port}/remote`;
  const stat = { Capacity: 1, Available: 1, FSAvailable: 1, Reserved: 0, Max: 0, Used: 0 };
  m.store.storageAttach({ ID: 'cutter', URLs: [url], Weight: 10, MaxStorage: 0, CanSeal: false, CanStore: true }, stat);
  m.store.storageDeclareSector('cutter', S3, FileType.unsealed, true);
  const stream = await b.remote.reader({ id: S3, proofType: PROOF_8M }, 0, 1024);
  t.not(stream, null);
  await t.throwsAsync(collect(stream), { code: 'FETCH_FAILED', message: /the range was cut off after \d+ of 1024 bytes/ });
});
