import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel } from 'node:worker_threads';
import anyTest, { type TestFn } from 'ava';
import { PayloadTooLargeError, RangeNotAllocatedError } from '../../../src/errors.js';
import { commP } from '../../../src/piece/commp.js';
import { commPFileParallel, subtreeSizeFor } from '../../../src/pool/commp-parallel.js';
import { SealerPool } from '../../../src/pool/pool.js';
import { sendStream } from '../../../src/pool/port-stream.js';
import type { TaskProgress } from '../../../src/lifecycle/task-context.js';
import { seededBytes as randomBytes } from '../../helpers/bytes.js';

const test = anyTest as TestFn<{ pool: SealerPool; dir: string }>;
const fixtures = fileURLToPath(new URL('../../../../test/fixtures/', import.meta.url));

test.before(async (t) => {
  t.context.pool = new SealerPool({ threads: 2 });
  t.context.dir = await mkdtemp(join(tmpdir(), 'piece-tasks-'));
});
test.after.always(async (t) => {
  await t.context.pool.close();
  await rm(t.context.dir, { recursive: true, force: true });
});


test.serial('commPFile on a pool thread matches commP on this thread and reports progress', async (t) => {
  const data = randomBytes(3_000_000, 1);
  const path = join(t.context.dir, 'a.bin');
  await writeFile(path, data);
  const progress: TaskProgress[] = [];
  const r = await t.context.pool.run('commPFile', { path }, { onProgress: (p) => progress.push(p) });
  const local = await commP(data);
  t.is(r.pieceCid, local.pieceCid.toString());
  t.is(r.pieceCidV2, local.pieceCidV2.toString());
  t.is(r.paddedSize, 4 * 2 ** 20);
  t.is(r.payloadSize, 3_000_000);
  t.true(progress.length > 0 && progress.every((p) => p.phase === 'commP'));
});

test.serial('parallel commP over subtrees on several threads is bit-identical to one thread', async (t) => {
  const data = randomBytes(5 * 2 ** 20 + 12_345, 2);
  const path = join(t.context.dir, 'b.bin');
  await writeFile(path, data);
  t.is(subtreeSizeFor(data.length, 2, 2 ** 20), 2 ** 20, '1 MiB subtrees (6 tasks) for two threads');
  const seen: number[] = [];
  const r = await commPFileParallel(path, t.context.pool, { minSubtree: 2 ** 20, onProgress: (done) => seen.push(done) });
  const local = await commP(data);
  t.is(r.pieceCid.toString(), local.pieceCid.toString());
  t.is(r.pieceCidV2.toString(), local.pieceCidV2.toString());
  t.is(seen[seen.length - 1], data.length);
});

test.serial('addPiece and readPiece tasks: a CAR file reports its roots, a streamed payload arrives through a port', async (t) => {
  const unsealedPath = join(t.context.dir, 's-t01000-7');
  const carPath = join(fixtures, 'carv1-basic.car');
  const car = await readFile(carPath);
  const first = await t.context.pool.run('addPiece', { unsealedPath, sectorSize: 2 ** 20, paddedOffset: 0, pieceSize: 1024, sourcePath: carPath });
  t.is(first.piece.pieceCid, (await commP(car)).pieceCid.toString());
  t.deepEqual(first.car?.roots, [
    'bafyreihyrpefhacm6kkp4ql6j6udakdit7g3dmkzfriqfykhjw6cad5lrm',
    'bafyreidj5idub6mapiupjwjsyyxhyhedxycv4vihfsicm2vt46o7morwlm',
  ]);
  t.true(first.piece.created);

  const streamed = randomBytes(100_000, 3);
  const channel = new MessageChannel();
  const sending = sendStream(
    (async function* () {
      for (let i = 0; i < streamed.length; i += 7000) yield streamed.slice(i, i + 7000);
    })(),
    channel.port1,
  );
  const second = await t.context.pool.run(
    'addPiece',
    { unsealedPath, sectorSize: 2 ** 20, paddedOffset: first.end, pieceSize: 131072, sourcePort: channel.port2, alignPadding: true },
    { transfer: [channel.port2] },
  );
  await sending;
  channel.port1.close();
  t.deepEqual(second.fillers.map((f) => f.paddedSize), [1024, 2048, 4096, 8192, 16384, 32768, 65536]);
  t.is(second.piece.paddedOffset, 131072);
  t.is(second.piece.pieceCid, (await commP(streamed)).pieceCid.toString());
  t.is(second.car, null);

  const outPath = join(t.context.dir, 'read.bin');
  const read = await t.context.pool.run('readPiece', {
    unsealedPath,
    sectorSize: 2 ** 20,
    unpaddedOffset: (131072 / 128) * 127,
    size: streamed.length,
    outPath,
  });
  t.is(read.bytes, streamed.length);
  t.deepEqual(await readFile(outPath), Buffer.from(streamed));
});

test.serial('task errors keep their codes across the thread boundary', async (t) => {
  const unsealedPath = join(t.context.dir, 's-t01000-8');
  const big = join(t.context.dir, 'big.bin');
  await writeFile(big, new Uint8Array(200));
  await t.throwsAsync(
    t.context.pool.run('addPiece', { unsealedPath, sectorSize: 2048, paddedOffset: 0, pieceSize: 128, sourcePath: big }),
    { instanceOf: PayloadTooLargeError, message: /declared 128-byte piece/ },
  );
  await t.throwsAsync(
    t.context.pool.run('readPiece', { unsealedPath: join(fixtures, 'missing'), sectorSize: 2048, unpaddedOffset: 0, size: 1, outPath: join(t.context.dir, 'x') }),
    { message: /does not exist/ },
  );
  await t.context.pool.run('addPiece', { unsealedPath, sectorSize: 2048, paddedOffset: 0, pieceSize: 128 });
  await t.throwsAsync(
    t.context.pool.run('readPiece', { unsealedPath, sectorSize: 2048, unpaddedOffset: 127, size: 10, outPath: join(t.context.dir, 'y') }),
    { instanceOf: RangeNotAllocatedError },
  );
});
