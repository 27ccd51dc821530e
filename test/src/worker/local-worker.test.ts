import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import type { SectorStorageError } from '../../../src/errors.js';
import { PartialFile } from '../../../src/partial/partial-file.js';
import { SealerPool } from '../../../src/pool/pool.js';
import { CacheFile, sectorFilePath } from '../../../src/sector/layout.js';
import { FileType, type SectorId } from '../../../src/sector/sector-id.js';
import { LOTUS_BENCH_SEED, sealSectors } from '../../../src/seal/seal-sector.js';
import { verifySeal } from '../../../src/seal/verify.js';
import type { Pc1Result, TaskOutputs } from '../../../src/tasks/task-types.js';
import { hex, seededBytes } from '../../helpers/bytes.js';
import { pc1OutputFromResult } from '../../../src/worker/pc1-result.js';
import { tempDir } from '../storage/storage-fixtures.js';
import { addPieces, holders, MINER, PARENT_CACHE_DIR, type Placed, task, type WorkerFixture, workerFixture } from './worker-fixture.js';

const test = anyTest as TestFn<{ f: WorkerFixture }>;

// one pool for the file: thread start-up is the slow part
let pool: SealerPool;
test.before(() => {
  pool = new SealerPool({ threads: 2 });
});
test.after.always(async () => {
  await pool.close();
});
test.beforeEach(async (t) => {
  t.context.f = await workerFixture(pool);
});
test.afterEach.always((t) => {
  t.context.f.close();
});

const TICKET = new Uint8Array(32).fill(0x5a);
const SEED = LOTUS_BENCH_SEED;

interface Sealed {
  sector: SectorId;
  payload: Uint8Array;
  placed: Placed[];
  pc1: Pc1Result;
  pc2: TaskOutputs['PC2'];
}

/** AP (a deal piece and fillers), PC1 and PC2 of a 2 KiB sector on the worker. */
async function sealTo2(f: WorkerFixture, number: number): Promise<Sealed> {
  const sector = { miner: MINER, number };
  const payload = seededBytes(500, number);
  const placed = await addPieces(f, sector, payload);
  const pc1 = await f.run(task('PC1', sector, { ticket: hex(TICKET), pieces: placed.map((p) => ({ pieceCid: p.pieceCid, paddedSize: p.paddedSize })) }));
  const pc2 = await f.run(task('PC2', sector, { pc1 }));
  return { sector, payload, placed, pc1, pc2 };
}

async function codeOf(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (err) {
    return { code: (err as SectorStorageError).code, message: (err as Error).message };
  }
  throw new Error('expected the task to fail');
}

test('a 2 KiB sector sealed task by task on the local worker has the seal command’s CommR and a C2 proof that verifies; every file it wrote is declared primary', async (t) => {
  const { f } = t.context;
  const s = await sealTo2(f, 7);
  t.deepEqual(await holders(f, s.sector, 'unsealed'), [{ id: f.sealId, primary: true }]);
  const c1 = await f.run(task('C1', s.sector, { ticket: hex(TICKET), seed: hex(SEED), commD: s.pc2.commD, commR: s.pc2.commR }));
  const onDisk = readFileSync(join(sectorFilePath(f.sealRoot, 'cache', s.sector), CacheFile.commit1));
  t.is(c1.bytes, onDisk.length);
  const c2 = await f.run(task('C2', s.sector, { c1 }));
  t.is(c2.prover, 'vanilla-proof-bundle');

  // the same sector through the `seal` command's pipeline
  const refDir = tempDir('ss-worker-ref-');
  t.teardown(() => rmSync(refDir, { recursive: true, force: true }));
  const pieceFile = join(refDir, 'piece.bin');
  writeFileSync(pieceFile, s.payload);
  const ref = (await sealSectors({ sectorSize: 2048, dir: refDir, pieces: [pieceFile], minerId: MINER, sectorNumber: 7, ticket: TICKET, seed: SEED, parentCacheDir: PARENT_CACHE_DIR })).sectors[0]!;
  t.is(s.pc2.commD, ref.commD);
  t.is(s.pc2.commR, ref.commR!);
  t.deepEqual(
    s.placed.map((p) => p.pieceCid),
    ref.pieces.map((p) => p.pieceCid),
  );

  const proof = new Uint8Array(Buffer.from(c2.proof, 'base64'));
  const publicInputs = { sealProof: 5, commR: s.pc2.commR, commD: s.pc2.commD, minerId: MINER, sectorNumber: 7, ticket: TICKET };
  t.true(await verifySeal({ ...publicInputs, seed: SEED, proof }));
  t.false(await verifySeal({ ...publicInputs, seed: new Uint8Array(32).fill(3), proof }), 'the proof is bound to its seed');
  for (const type of ['unsealed', 'sealed', 'cache'] as const) {
    t.deepEqual(await holders(f, s.sector, type), [{ id: f.sealId, primary: true }], `${type} is declared primary where it was written`);
  }
});

test('FIN drops the unsealed data and sealing-only cache files, GET moves the sector to a storage-only path, UNS brings the deal piece back there', async (t) => {
  const { f } = t.context;
  const s = await sealTo2(f, 8);
  const c1 = await f.run(task('C1', s.sector, { ticket: hex(TICKET), seed: hex(SEED), commD: s.pc2.commD, commR: s.pc2.commR }));
  await f.run(task('C2', s.sector, { c1 }));

  const fin = await f.run(task('FIN', s.sector, { keepUnsealed: [] }));
  t.is(fin.freedBytes, 2048, 'the whole sector was allocated in the unsealed file');
  t.false(existsSync(sectorFilePath(f.sealRoot, 'unsealed', s.sector)));
  t.deepEqual(await holders(f, s.sector, 'unsealed'), []);
  const cacheDir = sectorFilePath(f.sealRoot, 'cache', s.sector);
  t.deepEqual(readdirSync(cacheDir).sort(), ['p_aux', 'sc-02-data-tree-r-last.dat', 't_aux']);
  t.is(fin.removedFiles, 7, 'two layers, tree_d, tree_c, the PC1 checkpoint, commit1.cbor and the unsealed file');

  const get = await f.run(task('GET', s.sector, { types: FileType.sealed | FileType.cache, pathType: 'storage' }));
  t.deepEqual(get.storage, { sealed: f.storeId, cache: f.storeId });
  t.true(existsSync(sectorFilePath(f.storeRoot, 'sealed', s.sector)));
  t.false(existsSync(sectorFilePath(f.sealRoot, 'sealed', s.sector)));
  t.deepEqual(await holders(f, s.sector, 'sealed'), [{ id: f.storeId, primary: true }]);
  t.deepEqual(await f.run(task('GET', s.sector, { types: FileType.sealed | FileType.cache, pathType: 'storage' })), get, 'already there: nothing moves');

  const uns = await f.run(task('UNS', s.sector, { range: { offset: 0, size: 508 }, ticket: hex(TICKET), commD: s.pc2.commD }));
  t.is(uns.unsealedBytes, 512);
  t.deepEqual(await holders(f, s.sector, 'unsealed'), [{ id: f.storeId, primary: true }], 'the new unsealed file is on the storage path, primary');
  const out = join(f.dir, 'piece.out');
  await pool.run('readPiece', { unsealedPath: sectorFilePath(f.storeRoot, 'unsealed', s.sector), sectorSize: 2048, unpaddedOffset: 0, size: 500, outPath: out });
  t.deepEqual(new Uint8Array(readFileSync(out)), s.payload);
  t.deepEqual((await f.run(task('UNS', s.sector, { range: { offset: 0, size: 508 }, ticket: hex(TICKET), commD: s.pc2.commD }))).unsealedBytes, 0, 'unsealed already');

  t.deepEqual(await f.worker.checkProvable([{ id: s.sector, proofType: 5, commR: s.pc2.commR }], { vanilla: true }), []);
  const back = await f.run(task('GET', s.sector, { types: FileType.sealed, pathType: 'sealing' }));
  t.deepEqual(back.storage, { sealed: f.sealId }, 'GET to a sealing path brings the file back');
  t.deepEqual(await holders(f, s.sector, 'sealed'), [{ id: f.sealId, primary: true }]);
});

test('FIN with kept ranges frees only the bytes outside them and keeps the unsealed file declared', async (t) => {
  const { f } = t.context;
  const s = await sealTo2(f, 9);
  const fin = await f.run(task('FIN', s.sector, { keepUnsealed: [{ offset: 0, size: 508 }] }));
  t.is(fin.freedBytes, 1536);
  const pf = await PartialFile.open(sectorFilePath(f.sealRoot, 'unsealed', s.sector), 2048, { readOnly: true });
  t.deepEqual(pf.allocated(), [{ start: 0, end: 512 }]);
  await pf.close();
  t.deepEqual(await holders(f, s.sector, 'unsealed'), [{ id: f.sealId, primary: true }]);
});

test('PC2 fails CACHE_CORRUPT when a layer changed after PC1 and FILE_NOT_FOUND naming the file when one was deleted; PC1 again repairs the cache', async (t) => {
  const { f } = t.context;
  const sector = { miner: MINER, number: 10 };
  const placed = await addPieces(f, sector, seededBytes(500, 10));
  const pc1Task = task('PC1', sector, { ticket: hex(TICKET), pieces: placed.map((p) => ({ pieceCid: p.pieceCid, paddedSize: p.paddedSize })) });
  const pc1 = await f.run(pc1Task);
  const cacheDir = sectorFilePath(f.sealRoot, 'cache', sector);
  const layer1 = join(cacheDir, CacheFile.layer(1));
  const bytes = readFileSync(layer1);
  bytes[100] = (bytes[100] as number) ^ 0x01;
  writeFileSync(layer1, bytes);
  const corrupt = await codeOf(f.run(task('PC2', sector, { pc1 })));
  t.is(corrupt.code, 'CACHE_CORRUPT');
  t.true(corrupt.message.includes(layer1), corrupt.message);
  t.is(readFileSync(sectorFilePath(f.sealRoot, 'sealed', sector)).length, 0, 'no replica was written');

  t.deepEqual(await f.run(pc1Task), pc1, 'PC1 relabels the damaged layer to the same result');
  const layer2 = join(cacheDir, CacheFile.layer(2));
  rmSync(layer2);
  const missing = await codeOf(f.run(task('PC2', sector, { pc1 })));
  t.is(missing.code, 'FILE_NOT_FOUND');
  t.true(missing.message.includes(layer2), missing.message);

  t.deepEqual(await f.run(pc1Task), pc1);
  const pc2 = await f.run(task('PC2', sector, { pc1 }));
  t.regex(pc2.commR, /^bagboea4b5abc/);
});

test('AP past offset 0 fails FILE_NOT_FOUND naming the sector and its recorded end when the unsealed file is gone, and creates no file', async (t) => {
  const { f } = t.context;
  const sector = { miner: MINER, number: 11 };
  f.sources.set('a', { source: (async function* () { yield seededBytes(300, 1); })() });
  await f.run(task('AP', sector, { paddedOffset: 0, pieceSize: 512, payloadSize: 300, source: { type: 'request', requestId: 'a' } }));
  const path = sectorFilePath(f.sealRoot, 'unsealed', sector);
  rmSync(path);
  const err = await codeOf(f.run(task('AP', sector, { paddedOffset: 512, pieceSize: 512, payloadSize: 508, source: { type: 'zeros' } })));
  t.is(err.code, 'FILE_NOT_FOUND');
  t.regex(err.message, /s-t01000-11.*padded offset 512/);
  t.false(existsSync(path));
  t.deepEqual(readdirSync(join(f.sealRoot, 'unsealed')).filter((n) => n.includes('s-t01000-11')), []);
  t.deepEqual(await holders(f, sector, 'unsealed'), [], 'the declaration of the lost file is dropped');
});

test('C2 fails CACHE_CORRUPT when C1’s output changed on disk and FILE_NOT_FOUND when it is gone', async (t) => {
  const { f } = t.context;
  const s = await sealTo2(f, 12);
  const c1 = await f.run(task('C1', s.sector, { ticket: hex(TICKET), seed: hex(SEED), commD: s.pc2.commD, commR: s.pc2.commR }));
  const path = join(sectorFilePath(f.sealRoot, 'cache', s.sector), CacheFile.commit1);
  const bytes = readFileSync(path);
  bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 0xff;
  writeFileSync(path, bytes);
  const corrupt = await codeOf(f.run(task('C2', s.sector, { c1 })));
  t.is(corrupt.code, 'CACHE_CORRUPT');
  t.true(corrupt.message.includes(path));
  rmSync(path);
  t.is((await codeOf(f.run(task('C2', s.sector, { c1 })))).code, 'FILE_NOT_FOUND');
});

test('PC1 fails PARTIAL_FILE_CORRUPT when the unsealed file does not hold the recorded pieces', async (t) => {
  const { f } = t.context;
  const sector = { miner: MINER, number: 13 };
  const placed = await addPieces(f, sector, seededBytes(500, 13));
  // the record claims a zero piece where the deal's bytes are
  const wrong = [{ pieceCid: placed[1]!.pieceCid, paddedSize: 512 }, ...placed.slice(1).map((p) => ({ pieceCid: p.pieceCid, paddedSize: p.paddedSize }))];
  const err = await codeOf(f.run(task('PC1', sector, { ticket: hex(TICKET), pieces: wrong })));
  t.is(err.code, 'PARTIAL_FILE_CORRUPT');
  t.regex(err.message, /s-t01000-13 has CommD [0-9a-f]{64}, but its 3 recorded pieces give [0-9a-f]{64}/);
  const short = await codeOf(f.run(task('PC1', sector, { ticket: hex(TICKET), pieces: wrong.slice(0, 2) })));
  t.is(short.code, 'PIECE_DOES_NOT_FIT', 'pieces that do not fill the sector are refused');
});

test('remove-sector leaves no file of the sector on any local path and no catalog row, and touches no other sector', async (t) => {
  const { f } = t.context;
  const s = await sealTo2(f, 14);
  const other = await sealTo2(f, 15);
  await f.run(task('GET', s.sector, { types: FileType.cache, pathType: 'storage' }));
  // working files a crash could have left
  writeFileSync(join(f.sealRoot, 'unsealed', '.s-t01000-14.trailer.tmp'), 'x');
  writeFileSync(join(f.sealRoot, 'sealed', 's-t01000-14.tmp'), 'x');
  mkdirSync(join(f.storeRoot, 'sealed', 'fetching'), { recursive: true });
  writeFileSync(join(f.storeRoot, 'sealed', 'fetching', 's-t01000-14'), 'x');

  const r = await f.worker.removeSector(s.sector);
  t.is(r.removed.length, 6);
  t.deepEqual(r.elsewhere, []);
  for (const root of [f.sealRoot, f.storeRoot]) {
    for (const type of ['unsealed', 'sealed', 'cache']) {
      const names = readdirSync(join(root, type), { recursive: true }).map(String);
      t.deepEqual(names.filter((n) => n.includes('s-t01000-14')), [], `${root}/${type}`);
    }
  }
  for (const type of ['unsealed', 'sealed', 'cache'] as const) {
    t.deepEqual(await holders(f, s.sector, type), []);
    t.deepEqual(await holders(f, other.sector, type), [{ id: f.sealId, primary: true }]);
  }
  t.true(existsSync(sectorFilePath(f.sealRoot, 'sealed', other.sector)));
});

test('check-provable reports a sector whose sealed file was truncated and one without files, not its healthy neighbour', async (t) => {
  const { f } = t.context;
  const good = await sealTo2(f, 16);
  const bad = await sealTo2(f, 17);
  truncateSync(sectorFilePath(f.sealRoot, 'sealed', bad.sector), 1000);
  const faulty = await f.worker.checkProvable([
    { id: good.sector, proofType: 5, commR: good.pc2.commR },
    { id: bad.sector, proofType: 5, commR: bad.pc2.commR },
    { id: { miner: MINER, number: 99 }, proofType: 5 },
  ]);
  t.deepEqual(
    faulty.map((x) => x.id.number),
    [17, 99],
  );
  t.regex(faulty[0]!.reason, /s-t01000-17: .*sealed\/s-t01000-17 is wrong size \(got 1000, expect 2048\)/);
  t.regex(faulty[1]!.reason, /s-t01000-99: cache and\/or sealed paths not found/);
});

test('a task waits for the sector lock another call holds, and an abort while waiting leaves nothing locked', async (t) => {
  const { f } = t.context;
  const sector = { miner: MINER, number: 18 };
  const held = await f.locks.acquire(sector, FileType.none, FileType.unsealed);
  let done = false;
  const adding = f.run(task('AP', sector, { paddedOffset: 0, pieceSize: 2048, payloadSize: 2032, source: { type: 'zeros' } })).then((r) => {
    done = true;
    return r;
  });
  await new Promise((r) => setTimeout(r, 200));
  t.false(done, 'the AP waits for the write lock on unsealed');
  const ac = new AbortController();
  const waiting = f.run(task('PC1', sector, { ticket: hex(TICKET), pieces: [] }), ac.signal);
  ac.abort();
  t.is((await codeOf(waiting)).code, 'ABORTED');
  held.release();
  t.is((await adding).paddedSize, 2048);
  t.deepEqual(f.locks.list().flatMap((s) => s.holders), [], 'every lock was released');
});

test('a PC1 result is refused for another sector than the one it was computed for', async (t) => {
  const { f } = t.context;
  const s = await sealTo2(f, 19);
  t.is(pc1OutputFromResult(task('PC2', s.sector, { pc1: s.pc1 }), s.pc1, '/cache').replicaId, s.pc1.replicaId);
  const err = t.throws(() => pc1OutputFromResult(task('PC2', { miner: MINER, number: 20 }, { pc1: s.pc1 }), s.pc1, '/cache'));
  t.is((err as SectorStorageError).code, 'INVALID_ARGUMENT');
  t.regex(err!.message, /does not belong to s-t01000-20/);
});

test('check-provable waits for a sector’s read lock held by a move, and reports the sector only when the lock stays held past the wait', async (t) => {
  const f = await workerFixture(pool, { provableLockWaitMs: 600 });
  t.teardown(f.close);
  const s = await sealTo2(f, 21);
  const request = [{ id: s.sector, proofType: 5, commR: s.pc2.commR }];
  const moving = await f.locks.acquire(s.sector, FileType.none, FileType.sealed | FileType.cache);
  setTimeout(() => moving.release(), 150);
  t.deepEqual(await f.worker.checkProvable(request), [], 'the lock came free within the wait: provable');
  const stuck = await f.locks.acquire(s.sector, FileType.none, FileType.sealed);
  const faulty = await f.worker.checkProvable(request);
  stuck.release();
  t.is(faulty.length, 1);
  t.is(faulty[0]?.reason, "s-t01000-21: can't acquire read lock within 0.6 s");
});
