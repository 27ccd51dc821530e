/**
 * Retrieval through the dagstore of a daemon system, against reading the same CAR file straight
 * from disk with @ipld/car (`CarIndexedReader`) in the same run:
 *
 * - (a) a shard whose sector keeps its unsealed copy: its transient dropped (`gc`), so the first
 *   acquire mounts it through the piece provider (fr32 unpad) and indexes it;
 * - (b) a sealed-only sector: sealed to Proving, its unsealed copy removed, so the first acquire
 *   unseals the piece through the scheduler (an UNS task), then mounts and indexes it.
 *
 * For each: the first acquire (mount), random block reads by CID from the acquired shard
 * (p50/p99, blocks/s), and the whole DAG exported as CARv1 (`Dagstore.retrieve(root, 'car')`);
 * the baseline does the same block reads and the same DAG walk over `CarIndexedReader` on the
 * original file. Ratios > 1 mean the dagstore is slower. BENCH_QUICK: 8 MiB sectors, 2 MiB CARs;
 * otherwise 512 MiB sectors and 96 MiB CARs (the seal of (b) dominates the run's length).
 */
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { randomFillSync } from 'node:crypto';
import { once } from 'node:events';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CarIndexedReader } from '@ipld/car/indexed-reader';
import type { CID } from 'multiformats/cid';
import { type DaemonSystemHandle, startDaemonSystem } from '../../actors/system.js';
import { simdInfo } from '../../native/binding.js';
import { carHeader, carSection, exportDag } from '../../src/car/car-export.js';
import { silentLogger } from '../../src/log/logger.js';
import { SealerPool } from '../../src/pool/pool.js';
import { sealProofForSectorSize } from '../../src/sector/proofs.js';
import { FileType } from '../../src/sector/sector-id.js';
import { linkBlock, rawBlock } from '../helpers/car-build.js';
import { peakRssMiB, quick, report, timed } from './bench-util.js';

const MiB = 2 ** 20;
const SECTOR = quick ? 8 * MiB : 512 * MiB;
const CAR_MIB = quick ? 2 : 96;
const BLOCK = 64 * 1024;
const READS = quick ? 300 : 3000;
const MINER = 1000;
const r2 = (x: number): number => Math.round(x * 100) / 100;

console.log(`CPU: ${cpus()[0]?.model ?? 'unknown'} (${cpus().length} threads); SIMD: ${JSON.stringify(simdInfo())}`);

/** A CAR of raw 64 KiB blocks under one dag-cbor root, written to `path`: its root and leaf CIDs. */
async function writeCar(path: string): Promise<{ root: CID; leaves: CID[] }> {
  const leaves: { cid: CID; bytes: Uint8Array }[] = [];
  for (let i = 0; i < (CAR_MIB * MiB) / BLOCK; i++) leaves.push(await rawBlock(randomFillSync(new Uint8Array(BLOCK))));
  const root = await linkBlock(leaves.map((l) => l.cid));
  const w = createWriteStream(path);
  w.write(carHeader([root.cid]));
  for (const b of [root, ...leaves]) if (!w.write(carSection(b.cid, b.bytes))) await once(w, 'drain');
  w.end();
  await once(w, 'finish');
  return { root: root.cid, leaves: leaves.map((l) => l.cid) };
}

async function waitFor(system: DaemonSystemHandle, sector: number, state: string): Promise<void> {
  for (;;) {
    const r = await system.sectors.sectorStatus(sector);
    if (r.state === state) return;
    if (/Failed/.test(r.state)) throw new Error(`sector ${sector} is ${r.state}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

/** p50 and p99 (µs) of random block reads through `get`, and blocks per second. */
async function blockReads(leaves: CID[], get: (cid: CID) => Promise<Uint8Array>): Promise<{ p50: number; p99: number; perSecond: number }> {
  const lat: number[] = [];
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < READS; i++) {
    const cid = leaves[Math.floor(Math.random() * leaves.length)]!;
    const s = process.hrtime.bigint();
    await get(cid);
    lat.push(Number(process.hrtime.bigint() - s) / 1e3);
  }
  const total = Number(process.hrtime.bigint() - t0) / 1e9;
  lat.sort((a, b) => a - b);
  return { p50: lat[Math.floor(lat.length * 0.5)]!, p99: lat[Math.floor(lat.length * 0.99)]!, perSecond: READS / total };
}

async function drain(body: AsyncIterable<Uint8Array>): Promise<number> {
  let n = 0;
  for await (const c of body) n += c.length;
  return n;
}

const dir = mkdtempSync(join(tmpdir(), 'ss-retrieval-bench-'));
const pool = new SealerPool({ threads: Math.max(2, cpus().length) });
try {
  const sealedCar = join(dir, 'sealed.car');
  const unsealedCar = join(dir, 'unsealed.car');
  const sealed = await writeCar(sealedCar);
  const unsealed = await writeCar(unsealedCar);
  const carBytes = statSync(unsealedCar).size;

  const system = await startDaemonSystem({
    dbPath: join(dir, 'db.sqlite'),
    pool,
    minerId: MINER,
    sealProof: sealProofForSectorSize(SECTOR).id,
    storageRoots: [join(dir, 'store')],
    parentCacheDir: join(dir, 'parents'),
    dagstoreDir: join(dir, 'dagstore'),
    localChain: { epochMs: 20, seedWaitEpochs: 1, fixedRandomness: { ticket: '3c'.repeat(32), seed: 'd7'.repeat(32) } },
    log: silentLogger(),
    onError: (err) => console.error(err),
  });
  const ds = system.dagstore!;
  try {
    // (b) first: sealed to Proving, then its unsealed copy dropped
    const b = await ds.importCar({ source: createReadStream(sealedCar, { highWaterMark: MiB }), payloadSize: statSync(sealedCar).size });
    await system.sectors.startPacking(b.sector);
    const sealTime = await timed(() => waitFor(system, b.sector, 'Proving'));
    console.log(`sealed sector ${b.sector} (${SECTOR / MiB} MiB) in ${r2(sealTime.wall)} s`);
    await system.localStore.remove({ miner: MINER, number: b.sector }, FileType.unsealed, true);
    // (a) in a new open sector, which keeps its unsealed file
    const a = await ds.importCar({ source: createReadStream(unsealedCar, { highWaterMark: MiB }), payloadSize: carBytes });
    await ds.gc(); // no transient copies: each first acquire mounts through the piece provider

    // the baseline: the same file read with @ipld/car
    const baselineOpen = await timed(async () => {
      const reader = await CarIndexedReader.fromFile(unsealedCar);
      await reader.close();
    });
    const reader = await CarIndexedReader.fromFile(unsealedCar);
    const get = async (c: CID) => (await reader.get(c))!.bytes;
    const base = await blockReads(unsealed.leaves, get);
    const baseExport = await timed(() => drain(exportDag(unsealed.root, get)));
    await reader.close();
    report({ name: 'baseline: @ipld/car open (index in memory)', value: r2(baselineOpen.wall * 1e3), unit: 'ms', note: `${CAR_MIB} MiB CAR` });
    report({ name: 'baseline: block read p50', value: r2(base.p50), unit: 'µs', note: `p99 ${r2(base.p99)} µs, ${r2(base.perSecond)} blocks/s` });
    report({ name: 'baseline: DAG export', value: r2(carBytes / MiB / baseExport.wall), unit: 'MiB/s', note: `cpu ${r2(baseExport.cpu)} s` });

    for (const [label, piece, dag] of [
      ['unsealed copy', a, unsealed],
      ['sealed only (unseal on mount)', b, sealed],
    ] as const) {
      let acc!: Awaited<ReturnType<typeof ds.acquireShard>>;
      const mount = await timed(async () => {
        acc = await ds.acquireShard(piece.pieceCid);
      });
      const reads = await blockReads(dag.leaves, (c) => acc.blocks.get(c));
      await acc.close();
      const exported = await timed(async () => drain((await ds.retrieve(dag.root, 'car')).body));
      report({ name: `${label}: first acquire (mount)`, value: r2(mount.wall), unit: 's', note: `${r2(carBytes / MiB / mount.wall)} MiB/s, cpu ${r2(mount.cpu)} s; vs @ipld/car open ${r2(mount.wall / baselineOpen.wall)}x` });
      report({ name: `${label}: block read p50`, value: r2(reads.p50), unit: 'µs', note: `p99 ${r2(reads.p99)} µs, ${r2(reads.perSecond)} blocks/s` });
      report({ name: `${label}: block read p50 / baseline`, value: r2(reads.p50 / base.p50), unit: 'ratio', note: '>1: slower than @ipld/car on the file' });
      report({ name: `${label}: DAG export`, value: r2(carBytes / MiB / exported.wall), unit: 'MiB/s', note: `cpu ${r2(exported.cpu)} s` });
      report({ name: `${label}: DAG export / baseline`, value: r2(exported.wall / baseExport.wall), unit: 'ratio', note: '>1: slower' });
    }
    const uns = (await system.sectors.calls(b.sector)).filter((c) => c.task === 'UNS').length;
    console.log(`UNS calls for the sealed-only sector: ${uns}`);
  } finally {
    await system.stop();
  }
  report({ name: 'peak RSS', value: r2(peakRssMiB()), unit: 'MiB' });
} finally {
  await pool.close();
  rmSync(dir, { recursive: true, force: true });
}
