import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { encodeNodes } from '../../../native/poseidon.js';
import { verifyInclusionProof } from '../../../src/merkle/inclusion-proof.js';
import { buildTreeC, buildTreeD, buildTreeRLast, commR } from '../../../src/merkle/sector-trees.js';
import { TreeReader } from '../../../src/merkle/tree-reader.js';
import { sealTreeShapes } from '../../../src/merkle/tree-shape.js';
import { createLabels } from '../../../src/seal/labels.js';
import { porepId, sealProofForSectorSize } from '../../../src/sector/proofs.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const fromHex = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));

// Upstream 2 KiB vector (rust-fil-proofs): StackedDrg2KiBV1_1, all-zero data, replica id below.
const E2E = {
  replicaId: 'b8b46c93870fa313cf0fca62c81c0dae6bde6d258df8d0f3de5fe3a30d812f0d',
  l1First: '755c1f55e9fa04f4c650e8dd664027d31ef6eade55e2ec57e6d98cadc18b7d06',
  l2Last: 'e0b27819720813fb96864d9d14f47e983932a4f0d2fa1d01571592e6562ae419',
  commD: 'fc7e928296e516faade986b28f92d44a4f24b935485223376a799027bc18f833',
  commC: '2dc7b64761c392fcc6e1fed066cb23edf54292e695f91b6fb64862625f571368',
  commRLast: 'd28e66a39c9c0b90d9fa2b8101ebf2758844ac370b84b2f85746e2f43342bb35',
  commR: '441c6ea9c3a7f254967d8d2477f243d4b049b813a94a6f6784f7578b48913b61',
};

test('comm_r is Poseidon2(comm_c, comm_r_last) (V-E2E-2KiB)', (t) => {
  t.is(hex(commR(fromHex(E2E.commC), fromHex(E2E.commRLast))), E2E.commR);
});

test('the 2 KiB sector trees reproduce V-E2E-2KiB CommD, comm_c, comm_r_last and comm_r, and prove every node', async (t) => {
  const info = sealProofForSectorSize(2048);
  const dir = await mkdtemp(join(tmpdir(), 'sector-trees-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const layers = createLabels({ nodes: 64, layers: 2, replicaId: fromHex(E2E.replicaId), porepId: porepId(info.id) });
  t.is(hex(layers[0]!.subarray(0, 32)), E2E.l1First); // the labels are the vector's
  t.is(hex(layers[1]!.subarray(63 * 32)), E2E.l2Last);
  const layerPaths = [join(dir, 'sc-02-data-layer-1.dat'), join(dir, 'sc-02-data-layer-2.dat')];
  await writeFile(layerPaths[0]!, layers[0]!);
  await writeFile(layerPaths[1]!, layers[1]!);
  const data = new Uint8Array(2048);
  const dataPath = join(dir, 'unsealed');
  await writeFile(dataPath, data);
  const replica = new Uint8Array(2048);
  encodeNodes(data, layers[1]!, replica);
  const sealedPath = join(dir, 'sealed');
  await writeFile(sealedPath, replica);

  const treeD = await buildTreeD(info.nodes, dir, dataPath, 16);
  const treeC = await buildTreeC(info.nodes, dir, layerPaths, info.shape, 16);
  const treeR = await buildTreeRLast(info.nodes, dir, sealedPath, info.shape, 16);
  t.is(hex(treeD.root), E2E.commD);
  t.is(hex(treeC.root), E2E.commC);
  t.is(hex(treeR.root), E2E.commRLast);
  t.is(hex(commR(treeC.root, treeR.root)), E2E.commR);
  t.deepEqual((await readdir(dir)).filter((f) => f.includes('tree')).sort(), [
    'sc-02-data-tree-c.dat',
    'sc-02-data-tree-d.dat',
    'sc-02-data-tree-r-last.dat',
  ]);

  const shapes = sealTreeShapes(info);
  const readers = [
    [new TreeReader(shapes.treeD, dir), treeD.root],
    [new TreeReader(shapes.treeC, dir), treeC.root],
    [new TreeReader(shapes.treeRLast, dir, sealedPath), treeR.root],
  ] as const;
  for (const [reader, root] of readers) {
    t.is(hex(await reader.root()), hex(root));
    for (let i = 0; i < 64; i++) t.true(verifyInclusionProof(await reader.proof(i), root, reader.shape), `${reader.shape.kind} ${i}`);
    await reader.close();
  }
});

test('a layer file of the wrong size is reported as corrupt and writes no tree', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'sector-trees-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'l1'), new Uint8Array(2048));
  await writeFile(join(dir, 'l2'), new Uint8Array(2016));
  await t.throwsAsync(() => buildTreeC(64, dir, [join(dir, 'l1'), join(dir, 'l2')]), { message: /l2 is 2016 bytes, expected 2048/ });
  await t.throwsAsync(() => buildTreeRLast(64, dir, join(dir, 'missing')), { message: /cannot open .*missing/ });
  t.deepEqual((await readdir(dir)).sort(), ['l1', 'l2']);
});
