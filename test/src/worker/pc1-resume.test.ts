import test from 'ava';
import type { SectorStorageError } from '../../../src/errors.js';
import type { TaskProgress } from '../../../src/lifecycle/task-context.js';
import { SealerPool } from '../../../src/pool/pool.js';
import { sectorFilePath } from '../../../src/sector/layout.js';
import { readCheckpoint } from '../../../src/seal/pc1-checkpoint.js';
import { hex } from '../../helpers/bytes.js';
import { MINER, PROOF_8M, task, workerFixture } from './worker-fixture.js';

const SIZE = 8 << 20;

// 8 MiB: a 2 KiB layer is labelled in microseconds, so only here can an abort land after one
// layer is finished and before the next is
test('an aborted PC1 stops with ABORTED before its running layer finishes, and the next PC1 resumes after the finished layer', async (t) => {
  const pool = new SealerPool({ threads: 1 });
  const f = await workerFixture(pool);
  t.teardown(async () => {
    f.close();
    await pool.close();
  });
  const sector = { miner: MINER, number: 1 };
  const filler = await f.run(task('AP', sector, { paddedOffset: 0, pieceSize: SIZE, payloadSize: SIZE - SIZE / 128, source: { type: 'zeros' } }, PROOF_8M));
  const pc1Task = task('PC1', sector, { ticket: hex(new Uint8Array(32).fill(7)), pieces: [{ pieceCid: filler.pieceCid, paddedSize: SIZE }] }, PROOF_8M);

  const ac = new AbortController();
  const onProgress = (p: TaskProgress) => {
    if (p.phase === 'pc1' && p.detail === 'layer 2/2') ac.abort(); // layer 1 is written and checkpointed
  };
  const first = await f.worker.run(pc1Task, { signal: ac.signal, onProgress }).then(
    () => undefined,
    (err: unknown) => err as SectorStorageError,
  );
  t.true(ac.signal.aborted, 'the abort came from the progress of layer 2');
  t.is(first?.code, 'ABORTED');
  const cacheDir = sectorFilePath(f.sealRoot, 'cache', sector);
  t.deepEqual(
    (await readCheckpoint(cacheDir))?.done.map((d) => d.layer),
    [1],
    'layer 2 was never finished',
  );
  t.deepEqual(f.locks.list().flatMap((s) => s.holders), [], 'the aborted call let go of its lock');

  const resumed = await f.run(pc1Task);
  t.true(f.logs.some((l) => l.includes('PC1 of s-t01000-1: resumed after 1 of 2 layers')), f.logs.join('\n'));
  t.is(resumed.layerDigests.length, 2);
  t.is(resumed.layerDigests[0], (await readCheckpoint(cacheDir))?.done[0]?.sha256);
});
