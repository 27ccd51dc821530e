/**
 * `sectors.readPiece` (the API's `SectorsReadPiece`, `pieces read`) of a sealed sector whose
 * unsealed file is gone from this node: read through the piece provider, which unseals the range
 * through the scheduler, and concurrent reads share that one UNS call.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';

import { SealerPool } from '../../src/pool/pool.js';
import { FileType } from '../../src/sector/sector-id.js';
import { seededBytes } from '../helpers/bytes.js';
import { startTestSystem } from '../helpers/test-system.js';

const MINER = 1000;

async function* once(bytes: Uint8Array) {
  yield bytes;
}

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

test('a sealed sector without its unsealed file is read by unsealing it through the scheduler, once for two concurrent reads', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sector-read-unseal-'));
  const pool = new SealerPool({ threads: 2 });
  const d = await startTestSystem(t, dir, {
    pool,
    sealProof: 5, // StackedDrg2KiBV1_1
    localChain: { epochMs: 20, seedWaitEpochs: 1, fixedRandomness: { ticket: '3c'.repeat(32), seed: 'd7'.repeat(32) } },
  });
  t.teardown(async () => {
    await d.stop();
    await pool.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const payload = seededBytes(900, 8);
  const added = await d.sectors.addPiece({ source: once(payload), payloadSize: payload.length });
  await d.sectors.startPacking(added.sector);
  for (let i = 0; (await d.sectors.sectorStatus(added.sector)).state !== 'Proving'; i++) {
    if (i > 6000) throw new Error('the sector never reached Proving');
    await new Promise((r) => setTimeout(r, 10));
  }
  await d.localStore.remove({ miner: MINER, number: added.sector }, FileType.unsealed, true);
  const read = () => d.sectors.readPiece({ sector: added.sector, offset: added.offset, size: payload.length }).then(collect);
  const [a, b] = await Promise.all([read(), read()]);
  t.deepEqual(a, Buffer.from(payload));
  t.deepEqual(b, Buffer.from(payload));
  const uns = (await d.sectors.calls(added.sector)).filter((c) => c.task === 'UNS');
  t.is(uns.length, 1, 'one UNS call for both reads');
  t.truthy(await d.localStore.findLocal({ miner: MINER, number: added.sector }, 'unsealed'), 'the unsealed file is back');
  t.deepEqual(await read(), Buffer.from(payload), 'a later read needs no unseal');
  t.is((await d.sectors.calls(added.sector)).filter((c) => c.task === 'UNS').length, 1);
});
