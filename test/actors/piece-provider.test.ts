/**
 * The piece provider of a running system (src/storage/piece-provider.ts, Lotus
 * `piece_provider.go`): any unpadded range of a sealed deal sector read back, under the sector's
 * read lock for the reader's life, and unsealed through the scheduler (a tracked UNS call) when
 * the unsealed copy is gone; concurrent reads share the one unseal.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { messageLogger } from '../helpers/log-recorder.js';
import { startTestSystem } from '../helpers/test-system.js';
import anyTest, { type TestFn } from 'ava';
import type { DaemonSystemHandle } from '../../actors/system.js';
import { SealerPool } from '../../src/pool/pool.js';
import { FileType, type SectorRef } from '../../src/sector/sector-id.js';
import { seededBytes } from '../helpers/bytes.js';

const P2K = 5; // StackedDrg2KiBV1_1
const MINER = 1000;
const FIXED = { ticket: '3c'.repeat(32), seed: 'd7'.repeat(32) };

const test = anyTest as TestFn<{ dir: string; d: DaemonSystemHandle; lines: string[] }>;
let pool: SealerPool;
test.before(() => {
  pool = new SealerPool({ threads: 2 });
});
test.after.always(async () => {
  await pool.close();
});
test.beforeEach(async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'piece-provider-'));
  const lines: string[] = [];
  const d = await startTestSystem(t, dir, {
    pool,
    sealProof: P2K,
    localChain: { epochMs: 20, seedWaitEpochs: 1, fixedRandomness: FIXED },
    log: messageLogger(lines),
  });
  t.context = { dir, d, lines };
});
test.afterEach.always(async (t) => {
  await t.context.d.stop();
  rmSync(t.context.dir, { recursive: true, force: true });
});

async function* once(bytes: Uint8Array) {
  yield bytes;
}

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

async function waitForSector(d: DaemonSystemHandle, n: number, state: string): Promise<void> {
  for (let i = 0; i < 6000; i++) {
    const r = await d.sectors.sectorStatus(n).catch(() => undefined);
    if (r?.state === state) return;
    await new Promise((res) => setTimeout(res, 10));
  }
  throw new Error(`sector ${n} never reached ${state}`);
}

/** A deal piece of 1000 bytes in a sector sealed to Proving. */
async function sealedDeal(d: DaemonSystemHandle): Promise<{ ref: SectorRef; data: Uint8Array; offset: number }> {
  const data = seededBytes(1000, 77);
  const added = await d.sectors.addPiece({ source: once(data), payloadSize: data.length });
  await d.sectors.startPacking(added.sector);
  await waitForSector(d, added.sector, 'Proving');
  return { ref: { id: { miner: MINER, number: added.sector }, proofType: P2K }, data, offset: added.offset };
}

test.serial('a reader of any unpadded byte range of a sealed deal reads the unsealed copy and holds the read lock until it is closed', async (t) => {
  const { d } = t.context;
  const { ref, data, offset } = await sealedDeal(d);
  t.true(await d.pieces.isUnsealed(ref, offset + 3, 500));
  for (const [at, size] of [[0, 1000], [1, 1], [126, 2], [333, 444], [999, 1]] as const) {
    const r = await d.pieces.readPiece(ref, offset + at, size);
    t.false(r.didUnseal);
    t.deepEqual(await collect(r), Buffer.from(data.subarray(at, at + size)), `[${at}, +${size})`);
  }
  const open = await d.pieces.readPiece(ref, offset + 10, 20);
  t.is(d.locks.list().find((l) => l.sector.number === ref.id.number)?.read.unsealed, 1, 'held while the reader is open');
  await open.close();
  t.is(d.locks.list().find((l) => l.sector.number === ref.id.number), undefined, 'released by close() of a reader never read');
  await t.throwsAsync(d.pieces.readPiece(ref, 2030, 10), { code: 'INVALID_ARGUMENT', message: /ends past the 2048-byte/ });
});

test.serial('two concurrent reads of a sector whose unsealed copy is gone unseal it once, through the scheduler, and read the original bytes', async (t) => {
  const { d } = t.context;
  const { ref, data, offset } = await sealedDeal(d);
  await d.localStore.remove(ref.id, FileType.unsealed, true);
  t.false(await d.pieces.isUnsealed(ref, offset, 1000));
  const [a, b] = await Promise.all([d.pieces.readPiece(ref, offset + 5, 900), d.pieces.readPiece(ref, offset + 5, 900)]);
  t.true(a.didUnseal && b.didUnseal);
  t.deepEqual(await collect(a), Buffer.from(data.subarray(5, 905)));
  t.deepEqual(await collect(b), Buffer.from(data.subarray(5, 905)));
  const uns = (await d.sectors.calls(ref.id.number)).filter((c) => c.task === 'UNS');
  t.is(uns.length, 1, 'one UNS call for both reads');
  t.is(uns[0]!.state, 'returned', 'its result was taken (marked returned)');
  t.true(await d.pieces.isUnsealed(ref, offset, 1000));
  const again = await d.pieces.readPiece(ref, offset, 1000);
  t.false(again.didUnseal, 'the unsealed copy is there again');
  t.deepEqual(await collect(again), Buffer.from(data));
});
