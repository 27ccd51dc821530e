/**
 * When PC1 gathers parents on a second thread: the modes, the size from which 'auto' gathers, and
 * SECTOR_STORAGE_PC1_GATHER.
 */
import test from 'ava';
import { InvalidArgumentError } from '../../../src/errors.js';
import { GATHER_AUTO_MIN_LAYER_BYTES, gathersFor, pc1GatherDefault, pc1GatherFrom, pc1GatherFromEnv } from '../../../src/seal/pc1-gather.js';
import { allSealProofs } from '../../../src/sector/proofs.js';
import { PC1_BATCH_MAX } from '../../../machines/scheduler/pc1-batch.js';

const MiB = 1024 * 1024;

test("'auto' gathers from a 256 MiB batch layer on; true and false decide alone", (t) => {
  t.is(GATHER_AUTO_MIN_LAYER_BYTES, 256 * MiB);
  t.false(gathersFor('auto', 8 * MiB));
  t.false(gathersFor('auto', 8 * 8 * MiB), 'a batch of eight 8 MiB sectors: 64 MiB layers');
  t.true(gathersFor('auto', 512 * MiB));
  t.true(gathersFor('auto', 64 * 1024 * MiB));
  t.true(gathersFor(true, 2048));
  t.false(gathersFor(false, 64 * 1024 * MiB));
});

test('SECTOR_STORAGE_PC1_GATHER: 1 is auto, 0 off, unset or empty leaves the default (off); anything else is refused by name', (t) => {
  t.is(pc1GatherFromEnv({ SECTOR_STORAGE_PC1_GATHER: '1' }), 'auto');
  t.is(pc1GatherFromEnv({ SECTOR_STORAGE_PC1_GATHER: '0' }), false);
  t.is(pc1GatherFromEnv({ SECTOR_STORAGE_PC1_GATHER: '' }), undefined);
  t.is(pc1GatherFromEnv({}), undefined);
  t.is(pc1GatherDefault({}), false);
  t.is(pc1GatherDefault({ SECTOR_STORAGE_PC1_GATHER: '1' }), 'auto');
  for (const bad of ['true', 'yes', ' 1', '2']) {
    t.throws(() => pc1GatherFromEnv({ SECTOR_STORAGE_PC1_GATHER: bad }), { instanceOf: InvalidArgumentError, message: /^SECTOR_STORAGE_PC1_GATHER=".*" must be 1/ });
  }
});

test('the size a worker declares: from the threshold up for auto, every size for true, none for false', (t) => {
  t.is(pc1GatherFrom('auto'), GATHER_AUTO_MIN_LAYER_BYTES);
  t.is(pc1GatherFrom(true), 0);
  t.is(pc1GatherFrom(false), undefined);
});

test('a batch gathers exactly where its sectors would alone, for every sealing sector size and batch size (what the scheduler counts by)', (t) => {
  const from = pc1GatherFrom('auto')!;
  for (const { sectorSize } of allSealProofs()) {
    for (let k = 1; k <= PC1_BATCH_MAX; k++) t.is(gathersFor('auto', k * sectorSize), sectorSize >= from, `${k} × ${sectorSize} bytes`);
  }
});
