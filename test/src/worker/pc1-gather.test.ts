/**
 * The local worker's PC1 gathers parents as the worker was built to (LocalWorkerOptions.pc1Gather),
 * which is also what it declares to the scheduler (WorkerResources.pc1GatherFrom, counted as a
 * second thread): the two must not disagree.
 */
import test from 'ava';
import { SealerPool } from '../../../src/pool/pool.js';
import { LocalWorker } from '../../../src/worker/local-worker.js';
import { hex } from '../../helpers/bytes.js';
import { MINER, PROOF_8M, task, workerFixture } from './worker-fixture.js';

const SIZE = 8 << 20;

for (const pc1Gather of [true, false] as const) {
  test(`a worker built with pc1Gather ${pc1Gather} ${pc1Gather ? 'gathers' : 'does not gather'} its PC1's parents`, async (t) => {
    const pool = new SealerPool({ threads: 1 });
    const f = await workerFixture(pool, { pc1Gather });
    t.teardown(async () => {
      f.close();
      await pool.close();
    });
    t.is(f.worker.pc1Gather, pc1Gather);
    const sector = { miner: MINER, number: 1 };
    const filler = await f.run(task('AP', sector, { paddedOffset: 0, pieceSize: SIZE, payloadSize: SIZE - SIZE / 128, source: { type: 'zeros' } }, PROOF_8M));
    await f.run(task('PC1', sector, { ticket: hex(new Uint8Array(32).fill(7)), pieces: [{ pieceCid: filler.pieceCid, paddedSize: SIZE }] }, PROOF_8M));
    t.is(f.logs.some((l) => /PC1 of .*: parents gathered on a second thread/.test(l)), pc1Gather, f.logs.join('\n'));
  });
}

test('a worker refuses a pc1Gather that is not true, false or auto', (t) => {
  const pool = new SealerPool({ threads: 1 });
  t.teardown(() => pool.close());
  // the constructor checks its options before it uses any component
  const build = () => new LocalWorker({ pool, localStore: undefined as never, locks: undefined as never, sources: new Map() }, { pc1Gather: 'yes' as never });
  t.throws(build, { code: 'INVALID_ARGUMENT', message: /pc1Gather must be true, false or 'auto', got "yes"/ });
});
