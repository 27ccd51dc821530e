/**
 * The dagstore of a running system (actors/dagstore.ts): sealed deal pieces registered as lazy
 * shards once, mounted through the piece provider (unsealing when no unsealed copy is left),
 * indexed, served by CID, collected, and rebuilt when their index is gone.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CarReader } from '@ipld/car/reader';
import { messageLogger } from '../helpers/log-recorder.js';
import { startTestSystem } from '../helpers/test-system.js';
import anyTest, { type TestFn } from 'ava';
import { CID } from 'multiformats/cid';
import type { DaemonSystemHandle, DaemonSystemOptions } from '../../actors/system.js';
import { SealerPool } from '../../src/pool/pool.js';
import { FileType } from '../../src/sector/sector-id.js';
import { seededBytes } from '../helpers/bytes.js';

const fixtures = fileURLToPath(new URL('../../../test/fixtures/', import.meta.url));
const P2K = 5;
const MINER = 1000;
const FIXED = { ticket: '3c'.repeat(32), seed: 'd7'.repeat(32) };

interface Ctx {
  dir: string;
  systems: DaemonSystemHandle[];
  lines: string[];
  start(extra?: Partial<DaemonSystemOptions>): Promise<DaemonSystemHandle>;
}
const test = anyTest as TestFn<Ctx>;
let pool: SealerPool;
test.before(() => {
  pool = new SealerPool({ threads: 2 });
});
test.after.always(async () => {
  await pool.close();
});
test.beforeEach((t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dagstore-'));
  const systems: DaemonSystemHandle[] = [];
  const lines: string[] = [];
  t.context = {
    dir,
    systems,
    lines,
    async start(extra = {}) {
      const d = await startTestSystem(t, dir, {
        pool,
        sealProof: P2K,
        localChain: { epochMs: 20, seedWaitEpochs: 1, fixedRandomness: FIXED },
        log: messageLogger(lines),
        ...extra,
      });
      systems.push(d);
      return d;
    },
  };
});
test.afterEach.always(async (t) => {
  for (const d of t.context.systems) await d.stop();
  rmSync(t.context.dir, { recursive: true, force: true });
});

async function* once(bytes: Uint8Array) {
  yield bytes;
}

async function waitForSector(d: DaemonSystemHandle, n: number, state: string): Promise<void> {
  for (let i = 0; i < 6000; i++) {
    const r = await d.sectors.sectorStatus(n).catch(() => undefined);
    if (r?.state === state) return;
    await new Promise((res) => setTimeout(res, 10));
  }
  throw new Error(`sector ${n} never reached ${state}`);
}

/** Seals `payload` as a deal piece with a system that has no dagstore yet; returns its piece CID and sector. */
async function sealWithoutDagstore(t: { context: Ctx }, payload: Uint8Array): Promise<{ pieceCid: string; sector: number }> {
  const d = await t.context.start();
  const added = await d.sectors.addPiece({ source: once(payload), payloadSize: payload.length });
  await d.sectors.startPacking(added.sector);
  await waitForSector(d, added.sector, 'Proving');
  await d.stop();
  return { pieceCid: added.pieceCid, sector: added.sector };
}

test.serial('the first start with a dagstore registers every sealed deal piece as a lazy shard, once, and an acquired shard serves its blocks by CID', async (t) => {
  const car = readFileSync(join(fixtures, 'carv1-basic.car'));
  const { pieceCid } = await sealWithoutDagstore(t, car);
  const dagstoreDir = join(t.context.dir, 'dagstore');
  const d = await t.context.start({ dagstoreDir });
  const ds = d.dagstore!;
  t.deepEqual(await ds.listShards(), [{ Key: pieceCid, State: 'ShardStateNew', Error: '' }]);
  const acc = await ds.acquireShard(pieceCid);
  t.is((await ds.listShards())[0]!.State, 'ShardStateServing');
  const reader = await CarReader.fromBytes(car);
  for await (const b of reader.blocks()) t.deepEqual(Buffer.from(await acc.blocks.get(b.cid)), Buffer.from(b.bytes), b.cid.toString());
  t.deepEqual(readFileSync(acc.transient), car, 'the transient is the piece payload');
  await acc.close();
  t.is((await ds.listShards())[0]!.State, 'ShardStateAvailable');
  t.true(existsSync(ds.indexPath(pieceCid)));
  const root = (await reader.getRoots())[0]!;
  t.deepEqual((await ds.lookupPieces(root)).map((s) => s.Key), [pieceCid]);
  t.deepEqual(await ds.lookupPieces(CID.parse('bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy')), []);
  await t.throwsAsync(ds.initializeShard(pieceCid), { code: 'SHARD_STATE_INVALID', message: /expected state ShardStateNew, was: ShardStateAvailable/ });
  await t.throwsAsync(ds.recoverShard(pieceCid), { code: 'SHARD_STATE_INVALID', message: /expected state ShardStateErrored/ });
  await t.throwsAsync(ds.acquireShard('baga-unknown'), { code: 'SHARD_UNKNOWN' });
  await d.stop();
  const again = await t.context.start({ dagstoreDir });
  t.deepEqual(await again.dagstore!.migrate(), [], 'the migration ran once');
  t.deepEqual(await again.dagstore!.listShards(), [{ Key: pieceCid, State: 'ShardStateAvailable', Error: '' }], 'restored Available');
});

test.serial('GC drops the transient; the next acquire unseals the piece through the scheduler when its unsealed copy is gone, and rebuilds a deleted index', async (t) => {
  const car = readFileSync(join(fixtures, 'carv2-basic.car'));
  const { pieceCid, sector } = await sealWithoutDagstore(t, car);
  const d = await t.context.start({ dagstoreDir: join(t.context.dir, 'dagstore') });
  const ds = d.dagstore!;
  await ds.initializeShard(pieceCid);
  t.deepEqual(await ds.gc(), [{ Key: pieceCid, Success: true, Error: '' }]);
  t.false(existsSync(ds.transientPath(pieceCid)));
  t.deepEqual(await ds.gc(), [], 'nothing left to collect');
  await d.localStore.remove({ miner: MINER, number: sector }, FileType.unsealed, true);
  rmSync(ds.indexPath(pieceCid));
  const acc = await ds.acquireShard(pieceCid);
  const reader = await CarReader.fromBytes(car);
  for await (const b of reader.blocks()) t.deepEqual(Buffer.from(await acc.blocks.get(b.cid)), Buffer.from(b.bytes));
  await acc.close();
  t.true(existsSync(ds.indexPath(pieceCid)), 'the index was rebuilt');
  t.true(t.context.lines.some((l) => /index rebuilt .*is missing/.test(l)));
  const uns = (await d.sectors.calls(sector)).filter((c) => c.task === 'UNS');
  t.is(uns.length, 1, 'the piece was unsealed by one UNS call');
});

test.serial('a piece that is not a CAR fails its shard with CAR_INVALID after one automatic recovery; an explicit recovery is tried again', async (t) => {
  const { pieceCid } = await sealWithoutDagstore(t, seededBytes(900, 4));
  const d = await t.context.start({ dagstoreDir: join(t.context.dir, 'dagstore') });
  const ds = d.dagstore!;
  await t.throwsAsync(ds.acquireShard(pieceCid), { code: 'CAR_INVALID', message: /is not a valid CAR/ });
  for (let i = 0; i < 200 && (await ds.listShards())[0]!.State !== 'ShardStateErrored'; i++) await new Promise((r) => setTimeout(r, 10));
  const [s] = await ds.listShards();
  t.is(s!.State, 'ShardStateErrored');
  t.regex(s!.Error, /is not a valid CAR/);
  await t.throwsAsync(ds.recoverShard(pieceCid), { code: 'CAR_INVALID' });
});

test.serial('stop() during a mount aborts the fetch, waits for it to end, and nothing is written after it', async (t) => {
  const car = readFileSync(join(fixtures, 'carv1-basic.car'));
  const d = await t.context.start({ dagstoreDir: join(t.context.dir, 'dagstore') });
  const ds = d.dagstore!;
  const added = await d.sectors.addPiece({ source: once(car), payloadSize: car.length });
  t.deepEqual((await ds.listShards()).map((s) => [s.Key, s.State]), [[added.pieceCid, 'ShardStateNew']]);
  // the mount's reader yields its first bytes, then holds the rest until the gate opens
  let open!: () => void;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  let started!: () => void;
  const reading = new Promise<void>((resolve) => {
    started = resolve;
  });
  let readerEnded = false;
  const original = d.pieces.readPiece.bind(d.pieces);
  d.pieces.readPiece = async (ref, offset, size, options) => {
    const reader = await original(ref, offset, size, options);
    const chunks: Uint8Array[] = [];
    for await (const c of reader) chunks.push(c);
    const bytes = Buffer.concat(chunks);
    return {
      didUnseal: reader.didUnseal,
      size: reader.size,
      close: async () => {},
      async *[Symbol.asyncIterator]() {
        try {
          yield bytes.subarray(0, 100);
          started();
          await gate;
          yield bytes.subarray(100);
        } finally {
          readerEnded = true;
        }
      },
    };
  };
  const acquiring = ds.acquireShard(added.pieceCid);
  await reading;
  const stopped = ds.stop();
  open();
  await stopped;
  t.true(readerEnded, 'stop() resolved only after the mount had ended');
  await t.throwsAsync(acquiring, { code: 'ABORTED' });
  const left = () => readdirSync(join(t.context.dir, 'dagstore', 'transients')).concat(readdirSync(join(t.context.dir, 'dagstore', 'index')));
  t.deepEqual(left(), [], 'no transient, partial or index');
  await new Promise((r) => setTimeout(r, 300));
  t.deepEqual(left(), [], 'nothing written after stop()');
  t.false(existsSync(ds.transientPath(added.pieceCid)));
});
