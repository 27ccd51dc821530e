/**
 * Drift resolution in a running actor system (actors/sector-drift.ts): sector files put on a
 * storage path behind the database's back, as a lost database leaves them, imported or refused.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import type { DaemonSystemHandle, DaemonSystemOptions } from '../../actors/system.js';
import { addPiece } from '../../src/piece/add-piece.js';
import { SealerPool } from '../../src/pool/pool.js';
import { commDToCid, commRToCid } from '../../src/seal/commitment-cid.js';
import { sectorFilePath } from '../../src/sector/layout.js';
import type { FileTypeName } from '../../src/sector/sector-id.js';
import { heldChain } from '../helpers/held-chain.js';
import { startTestSystem } from '../helpers/test-system.js';
import { seededBytes } from '../helpers/bytes.js';
import { type SealedFixture, sealFixture } from '../src/seal/seal-fixture.js';

const P2K = 5; // StackedDrg2KiBV1_1
const MINER = 1000;
/** CommR of the public 2 KiB vector: sector 1 of miner 1000, zero data, ticket 1..32 (as sealFixture seals it). */
const VECTOR_COMMR = commRToCid(Buffer.from('441c6ea9c3a7f254967d8d2477f243d4b049b813a94a6f6784f7578b48913b61', 'hex')).toString();

interface Ctx {
  dir: string;
  store: string;
  systems: DaemonSystemHandle[];
  start(extra?: Partial<DaemonSystemOptions>): Promise<DaemonSystemHandle>;
  /** Copies the sealed fixture's files of `types` onto the storage path as sector `number`'s. */
  place(number: number, types: readonly FileTypeName[]): void;
}
const test = anyTest as TestFn<Ctx>;

let pool: SealerPool;
let fixture: SealedFixture;
test.before(async () => {
  pool = new SealerPool({ threads: 2 });
  fixture = await sealFixture({ sectorSize: 2048 });
});
test.after.always(async () => {
  await pool.close();
  await fixture?.cleanup();
});

test.beforeEach(async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sector-drift-'));
  const store = join(dir, 'store');
  const systems: DaemonSystemHandle[] = [];
  const start = async (extra: Partial<DaemonSystemOptions> = {}) => {
    const d = await startTestSystem(t, dir, {
      pool,
      sealProof: P2K,
      chain: () => heldChain(),
      ...extra,
    });
    systems.push(d);
    return d;
  };
  // the first start initialises the storage path; the files arrive while nothing runs
  await (await start()).stop();
  const place = (number: number, types: readonly FileTypeName[]) => {
    const from: Record<FileTypeName, string> = { unsealed: fixture.unsealedPath, sealed: fixture.sealedPath, cache: fixture.cacheDir };
    for (const type of types) {
      const to = sectorFilePath(store, type, { miner: MINER, number });
      mkdirSync(join(store, type), { recursive: true });
      cpSync(from[type], to, { recursive: true });
    }
  };
  t.context = { dir, store, systems, start, place };
});
test.afterEach.always(async (t) => {
  for (const d of t.context.systems) await d.stop();
  rmSync(t.context.dir, { recursive: true, force: true });
});

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test.serial('a sealed sector no record knows is imported as Proving with the CommR of its p_aux, and CheckProvable then watches its files', async (t) => {
  t.context.place(1, ['unsealed', 'sealed', 'cache']);
  const d = await t.context.start({ checkProvableMs: 200 });
  const drift = await d.sectors.drift();
  t.deepEqual(
    drift.unrecorded.map((u) => [u.number, u.files.map((f) => f.type)]),
    [[1, ['unsealed', 'sealed', 'cache']]],
  );
  const r = await d.sectors.resolveDrift(1, 'import');
  t.like(r, { number: 1, mode: 'import', state: 'Proving', pieces: 1, commR: VECTOR_COMMR, commD: commDToCid(fixture.pc2.raw.commD).toString() });
  const { record, log } = await d.sectors.status(1);
  t.is(record.state, 'Proving');
  t.is(record.commR, VECTOR_COMMR);
  t.deepEqual(record.pieces.map((p) => [p.paddedOffset, p.paddedSize, p.filler]), [[0, 2048, true]], 'zero data is one filler');
  t.is(log[0]?.kind, 'import');
  t.regex(log[0]?.message ?? '', /^imported from its files by "sectors drift resolve 1 --import": unsealed .*s-t01000-1/);
  t.deepEqual((await d.sectors.drift()).unrecorded, [], 'no drift is left');

  // its files pass the checks (several rounds go by), until its sealed file goes
  await new Promise((r) => setTimeout(r, 700));
  t.is((await d.sectors.sectorStatus(1)).state, 'Proving');
  rmSync(sectorFilePath(t.context.store, 'sealed', { miner: MINER, number: 1 }));
  const faulty = await until('Faulty', async () => {
    const s = await d.sectors.sectorStatus(1);
    return s.state === 'Faulty' ? s : undefined;
  });
  t.regex(faulty.error?.message ?? '', /sealed/);
});

test.serial('files that make no sector are refused, naming what is missing, and nothing is written', async (t) => {
  t.context.place(2, ['cache']);
  t.context.place(3, ['sealed']);
  t.context.place(4, ['unsealed', 'cache']);
  t.context.place(5, ['sealed', 'cache']);
  rmSync(join(sectorFilePath(t.context.store, 'cache', { miner: MINER, number: 5 }), 'p_aux'));
  const d = await t.context.start();
  await t.throwsAsync(d.sectors.resolveDrift(2, 'import'), {
    code: 'FILE_NOT_FOUND',
    message: /^sector 2 cannot be imported: it has a cache directory but no sealed file/,
  });
  await t.throwsAsync(d.sectors.resolveDrift(3, 'import'), {
    code: 'FILE_NOT_FOUND',
    message: /^sector 3 cannot be imported: it has a sealed file but no cache directory/,
  });
  await t.throwsAsync(d.sectors.resolveDrift(4, 'import'), {
    code: 'FILE_NOT_FOUND',
    message: /^sector 4 cannot be imported: it has an unsealed file and a cache directory but no sealed file: sealing stopped part-way/,
  });
  await t.throwsAsync(d.sectors.resolveDrift(5, 'import'), { code: 'FILE_NOT_FOUND', message: /^sector 5 cannot be imported: cannot read .*p_aux/ });
  t.deepEqual(await d.sectors.listSectors(), []);
  t.deepEqual(
    (await d.sectors.drift()).unrecorded.map((u) => u.number),
    [2, 3, 4, 5],
    'the drift is as it was',
  );
});

test.serial('an unsealed file whose data does not lie side by side from offset 0 is refused as a sector waiting for deals', async (t) => {
  const path = sectorFilePath(t.context.store, 'unsealed', { miner: MINER, number: 6 });
  await addPiece({ unsealedPath: path, sectorSize: 2048, paddedOffset: 0, pieceSize: 256, source: seededBytes(200, 1) });
  await addPiece({ unsealedPath: path, sectorSize: 2048, paddedOffset: 1024, pieceSize: 512, source: seededBytes(500, 2) });
  const d = await t.context.start();
  await t.throwsAsync(d.sectors.resolveDrift(6, 'import'), {
    code: 'PARTIAL_FILE_CORRUPT',
    message: 'sector 6: its unsealed file has no data at padded bytes [256, 1024) before more data: a sector\'s pieces lie side by side from offset 0, so these runs cannot be taken as its pieces',
  });
  t.deepEqual(await d.sectors.listSectors(), []);
});

test.serial('two imports of one sector at once: one imports it, the other is refused with SECTOR_EXISTS', async (t) => {
  const path = sectorFilePath(t.context.store, 'unsealed', { miner: MINER, number: 0 });
  const a = await addPiece({ unsealedPath: path, sectorSize: 2048, paddedOffset: 0, pieceSize: 512, source: seededBytes(508, 3) });
  const d = await t.context.start();
  const results = await Promise.allSettled([d.sectors.resolveDrift(0, 'import'), d.sectors.resolveDrift(0, 'import')]);
  t.like(results[0], { status: 'fulfilled', value: { state: 'WaitDeals', pieces: 1 } });
  t.like(results[1], { status: 'rejected', reason: { code: 'SECTOR_EXISTS' } });
  const record = await d.sectors.sectorStatus(0);
  t.deepEqual(record.pieces, [{ pieceCid: a.pieceCid.toString(), paddedOffset: 0, paddedSize: 512, payloadSize: 508, filler: false }]);
  t.is((await d.sectors.status(0)).log.filter((e) => e.kind === 'import').length, 1);
});

test.serial('a bad sector number or mode is refused before anything is looked at', async (t) => {
  const d = await t.context.start();
  await t.throwsAsync(d.sectors.resolveDrift(-1, 'import'), { code: 'INVALID_ARGUMENT', message: 'sector -1 must be a non-negative integer' });
  await t.throwsAsync(d.sectors.resolveDrift(1, 'forget' as never), { code: 'INVALID_ARGUMENT', message: 'drift resolution mode "forget" must be one of import, lost' });
  await t.throwsAsync(d.sectors.resolveDrift(1, 'lost'), { code: 'SECTOR_UNKNOWN', message: 'sector 1 does not exist: it has no record and no file' });
});
