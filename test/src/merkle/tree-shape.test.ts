import test from 'ava';
import { sealProofForSectorSize } from '../../../src/sector/proofs.js';
import {
  baseTreeFileSize,
  defaultRowsToDiscard,
  levelArities,
  poseidonTreeShape,
  rowOffsets,
  sealTreeShapes,
  treeDShape,
  treeFileNames,
} from '../../../src/merkle/tree-shape.js';

const GiB = 2 ** 30;

test('rows_to_discard follows upstream default_rows_to_discard for arity 8, 4 and 2', (t) => {
  t.is(defaultRowsToDiscard(8, 8), 0); // 2 rows
  t.is(defaultRowsToDiscard(64, 8), 1); // 3 rows
  t.is(defaultRowsToDiscard(512, 8), 2);
  t.is(defaultRowsToDiscard(2 ** 27, 8), 2);
  t.is(defaultRowsToDiscard(2 ** 20, 2), 7);
  t.is(defaultRowsToDiscard(4 ** 4, 4), 3);
});

test('a 32 GiB tree_r_last is 8 files of rows 2^18 … 1 (9586976 bytes) and tree_c keeps every row', (t) => {
  const { treeC, treeRLast } = sealTreeShapes(sealProofForSectorSize(32 * GiB));
  t.is(treeRLast.baseTrees, 8);
  t.is(treeRLast.storeFrom, 3);
  t.is(baseTreeFileSize(treeRLast), 299593 * 32);
  t.is(baseTreeFileSize(treeC), 4908534048);
  t.deepEqual(treeFileNames(treeRLast), Array.from({ length: 8 }, (_, i) => `sc-02-data-tree-r-last-${i}.dat`));
  t.deepEqual(levelArities(treeC), [8, 8, 8, 8, 8, 8, 8, 8, 8, 8]);
});

test('a 64 GiB tree has 16 base trees, two sub roots and a binary top', (t) => {
  const { treeC } = sealTreeShapes(sealProofForSectorSize(64 * GiB));
  t.is(treeC.baseTrees, 16);
  t.deepEqual(levelArities(treeC).slice(-2), [8, 2]);
  t.is(treeFileNames(treeC)[15], 'sc-02-data-tree-c-15.dat');
});

test('small sectors keep one unsplit file; the 2 KiB tree_r_last file holds only the root', (t) => {
  const { treeD, treeC, treeRLast } = sealTreeShapes(sealProofForSectorSize(2048));
  t.deepEqual(treeFileNames(treeD), ['sc-02-data-tree-d.dat']);
  t.deepEqual(treeFileNames(treeC), ['sc-02-data-tree-c.dat']);
  t.deepEqual(treeFileNames(treeRLast), ['sc-02-data-tree-r-last.dat']);
  t.is(baseTreeFileSize(treeD), (2 * 64 - 1) * 32);
  t.is(baseTreeFileSize(treeC), (64 + 8 + 1) * 32);
  t.is(baseTreeFileSize(treeRLast), 32);
  t.deepEqual(rowOffsets(treeC), [0, 64 * 32, 72 * 32]);
  t.deepEqual(rowOffsets(treeRLast), [undefined, undefined, 0]);
});

test('test-only shapes split 4, 16 and 32 KiB sectors into 2, 8 and 16 base trees', (t) => {
  t.deepEqual(levelArities(poseidonTreeShape('tree-c', 128)), [8, 8, 2]);
  t.deepEqual(levelArities(poseidonTreeShape('tree-c', 512)), [8, 8, 8]);
  t.deepEqual(levelArities(poseidonTreeShape('tree-c', 1024)), [8, 8, 8, 2]);
  t.is(poseidonTreeShape('tree-r-last', 1024).baseTrees, 16);
  t.is(treeDShape(2 ** 24).baseLevels, 24);
});

test('shapes that do not fit the leaves are refused', (t) => {
  t.throws(() => poseidonTreeShape('tree-c', 100), { message: /no tree shape known/ });
  t.throws(() => poseidonTreeShape('tree-c', 96, [8, 0, 0]), { message: /not a power of arity 8/ });
  t.throws(() => poseidonTreeShape('tree-c', 128, [8, 0, 2]), { message: /top level needs a sub level/ });
  t.throws(() => treeDShape(3), { message: /not a power of arity 2/ });
});
