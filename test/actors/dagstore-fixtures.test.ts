/**
 * Real CAR files that this project did not write (test/fixtures/README.md: ipfs-car@3.1.0's and
 * @ipld/car@3.1.0's published fixtures) imported as deal pieces and retrieved: the same roots as
 * @ipld/car reads, every block byte-identical, the shard's index agreeing with @ipld/car's own
 * CarIndexer, the piece's bytes the file's, and the DAG under each root as a CAR. Corrupt inputs
 * are derived from those files (or are @ipld/car's own error-test inputs) and each is refused
 * with a coded error naming the problem, with no shard, piece or file left behind.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CarIndexer } from '@ipld/car/indexer';
import { CarReader } from '@ipld/car/reader';
import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import { CID } from 'multiformats/cid';
import type { DaemonSystemHandle } from '../../actors/system.js';
import { MultihashIndexSorted } from '../../src/car/car-index.js';
import { SealerPool } from '../../src/pool/pool.js';
import { messageLogger } from '../helpers/log-recorder.js';
import { startTestSystem } from '../helpers/test-system.js';

const fixtures = fileURLToPath(new URL('../../../test/fixtures/', import.meta.url));
const P8M = 6;
const MINER = 1000;

const test = anyTest as TestFn<unknown>;
let pool: SealerPool;
let dir: string;
let system: DaemonSystemHandle;
test.before(async (t) => {
  pool = new SealerPool({ threads: 2 });
  dir = mkdtempSync(join(tmpdir(), 'dagstore-fixtures-'));
  system = await startTestSystem(t, dir, {
    pool,
    sealProof: P8M,
    dagstoreDir: join(dir, 'dagstore'),
    log: messageLogger([]),
  });
});
test.after.always(async () => {
  await system?.stop();
  await pool.close();
  rmSync(dir, { recursive: true, force: true });
});

async function* once(bytes: Uint8Array) {
  yield bytes;
}

async function collect(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of body) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

/** The pieces of every sector, as the sectors record them. */
async function dealPieces(): Promise<string[]> {
  const out: string[] = [];
  for (const r of await system.index.sectors.list(MINER)) for (const p of r.pieces) if (!p.filler) out.push(p.pieceCid);
  return out.sort();
}

const GOOD = ['ipfs-car-comic.car', 'ipfs-car-comic-no-roots.car', 'ipfs-car-multi-root.car', 'ipfs-car-pinpie.car', 'ipld-car-example.car', 'ipfs-car-missing-root-block.car'];

for (const name of GOOD) {
  test.serial(`${name} is imported and retrieved as @ipld/car reads it: same roots, byte-identical blocks, the same index, the piece's bytes, each present root's DAG`, async (t) => {
    const ds = system.dagstore!;
    const bytes = readFileSync(join(fixtures, name));
    const reader = await CarReader.fromBytes(bytes);
    const roots = (await reader.getRoots()).map(String);
    const blocks = new Map<string, Uint8Array>();
    for await (const b of reader.blocks()) blocks.set(b.cid.toString(), b.bytes);

    const imported = await ds.importCar({ source: once(bytes), payloadSize: bytes.length });
    t.deepEqual(imported.roots, roots);
    t.is(imported.blocks, blocks.size);
    t.true((await dealPieces()).includes(imported.pieceCid), 'the piece is in a sector');

    // the shard's index, as written beside the registry, against @ipld/car's indexer of the file
    const index = MultihashIndexSorted.unmarshal(readFileSync(ds.indexPath(imported.pieceCid)));
    let entries = 0;
    for await (const e of await CarIndexer.fromBytes(bytes)) {
      entries++;
      t.deepEqual(index.find(e.cid.multihash.code, e.cid.multihash.digest), [e.offset], e.cid.toString());
    }
    t.is(index.size, entries);

    const acc = await ds.acquireShard(imported.pieceCid);
    try {
      for (const [cid, want] of blocks) t.deepEqual(Buffer.from(await acc.blocks.get(CID.parse(cid))), Buffer.from(want), cid);
      // a root the file names but does not hold (multi-root's second, missing-root-block's only)
      for (const root of roots.filter((r) => !blocks.has(r))) {
        t.false(await acc.blocks.has(CID.parse(root)), root);
        await t.throwsAsync(acc.blocks.get(CID.parse(root)), { code: 'BLOCK_NOT_FOUND', message: new RegExp(`${root} is not in`) });
        t.false((await ds.lookupPieces(CID.parse(root))).some((s) => s.Key === imported.pieceCid), `no lookup of ${root} names this piece`);
      }
    } finally {
      await acc.close();
    }

    const piece = await ds.retrieve(CID.parse(imported.pieceCid), 'piece');
    t.true((await collect(piece.body)).equals(bytes), 'the piece is the file, byte for byte');

    for (const root of roots.filter((r) => blocks.has(r))) {
      const dag = await CarReader.fromBytes(await collect((await ds.retrieve(CID.parse(root), 'car')).body));
      t.deepEqual((await dag.getRoots()).map(String), [root]);
      let n = 0;
      for await (const b of dag.blocks()) {
        n++;
        t.deepEqual(Buffer.from(b.bytes), Buffer.from(blocks.get(b.cid.toString()) ?? []), b.cid.toString());
      }
      t.true(n >= 1);
      const raw = await collect((await ds.retrieve(CID.parse(root), 'raw')).body);
      t.deepEqual(raw, Buffer.from(blocks.get(root)!));
    }
  });
}

/** Imports `bytes` expecting `expected`, and checks that nothing was added, registered or left. */
async function refused(t: ExecutionContext<unknown>, bytes: Uint8Array, expected: { code: string; message: RegExp }) {
  const ds = system.dagstore!;
  const shards = await ds.listShards();
  const pieces = await dealPieces();
  await t.throwsAsync(ds.importCar({ source: once(bytes), payloadSize: bytes.length }), expected);
  t.deepEqual(await ds.listShards(), shards, 'no shard half-registered');
  t.deepEqual(await dealPieces(), pieces, 'no piece added to a sector');
  t.deepEqual(readdirSync(join(dir, 'dagstore', 'transients')).filter((f) => f.startsWith('import-')), [], 'no upload left behind');
}

test.serial("@ipld/car's own bad-version input (its test-errors.js, a header {version: 3}) is refused CAR_INVALID", async (t) => {
  await refused(t, Buffer.from('0aa16776657273696f6e03', 'hex'), { code: 'CAR_INVALID', message: /is not a valid CAR: Invalid CAR version: 3 \(expected 1\)/ });
});

test.serial("@ipld/car's recursive CARv2 header input (the carv2-basic pragma and header twice, as its test-errors.js builds it) is refused CAR_INVALID", async (t) => {
  const v2 = readFileSync(join(fixtures, 'carv2-basic.car'));
  const twice = Buffer.concat([v2.subarray(0, 51), v2.subarray(0, 51)]);
  await refused(t, twice, { code: 'CAR_INVALID', message: /is not a valid CAR: its CARv2 payload \[51, \+448\) lies outside the 102-byte file/ });
});

test.serial('ipfs-car-comic.car cut inside its last block (derived) is refused CAR_INVALID, naming the section', async (t) => {
  const comic = readFileSync(join(fixtures, 'ipfs-car-comic.car'));
  await refused(t, comic.subarray(0, comic.length - 1000), { code: 'CAR_INVALID', message: /the block bafkreibgj6uwfebncr524o5djgt5ibx2lru4gns3lsoy7fy5ds35zrvk24 at payload offset 47972 is truncated/ });
});

test.serial('ipfs-car-pinpie.car with one byte of its JPEG flipped (derived) is refused CAR_BLOCK_INVALID, naming the block', async (t) => {
  const pinpie = Buffer.from(readFileSync(join(fixtures, 'ipfs-car-pinpie.car')));
  pinpie[pinpie.length - 100]! ^= 0x01;
  await refused(t, pinpie, { code: 'CAR_BLOCK_INVALID', message: /bafkreiajkbmpugz75eg2tmocmp3e33sg5kuyq2amzngslahgn6ltmqxxfa do not hash to its CID/ });
});

test.serial('a JPEG given as a CAR (ipfs-car-pinpie.car without its CAR framing, derived) is refused CAR_INVALID', async (t) => {
  const pinpie = readFileSync(join(fixtures, 'ipfs-car-pinpie.car'));
  const reader = await CarReader.fromBytes(pinpie);
  let jpeg: Uint8Array | undefined;
  for await (const b of reader.blocks()) jpeg = b.bytes;
  await refused(t, jpeg!, { code: 'CAR_INVALID', message: /is not a valid CAR/ });
});
