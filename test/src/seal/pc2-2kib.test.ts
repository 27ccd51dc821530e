import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { PartialFile } from '../../../src/partial/partial-file.js';
import { sealPreCommit1 } from '../../../src/seal/pc1.js';
import { sealPreCommit2 } from '../../../src/seal/pc2.js';
import { readPAux } from '../../../src/seal/tree-access.js';
import { CacheFile } from '../../../src/sector/layout.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('PC2 of the V-E2E-2KiB sector reproduces comm_c, comm_r_last and the CommR CID', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'h4-pc2-'));
  try {
    const unsealedPath = join(dir, 'unsealed');
    const pf = await PartialFile.create(unsealedPath, 2048);
    await pf.markAllocated(0, 2048);
    await pf.close();
    const cacheDir = join(dir, 'cache');
    const pc1 = await sealPreCommit1({
      sectorSize: 2048,
      cacheDir,
      unsealedPath,
      minerId: 1000,
      sectorNumber: 1,
      ticket: Uint8Array.from({ length: 32 }, (_, i) => i + 1),
      parentCacheDir: join(dir, 'parents'),
    });
    t.is(pc1.replicaId, 'b8b46c93870fa313cf0fca62c81c0dae6bde6d258df8d0f3de5fe3a30d812f0d');
    const out = await sealPreCommit2(pc1, { cacheDir, sealedPath: join(dir, 'sealed'), unsealedPath });
    t.is(hex(out.raw.commC), '2dc7b64761c392fcc6e1fed066cb23edf54292e695f91b6fb64862625f571368');
    t.is(hex(out.raw.commRLast), 'd28e66a39c9c0b90d9fa2b8101ebf2758844ac370b84b2f85746e2f43342bb35');
    t.is(hex(out.raw.commR), '441c6ea9c3a7f254967d8d2477f243d4b049b813a94a6f6784f7578b48913b61');
    t.is(out.commR.toString(), 'bagboea4b5abcara4n2u4hj7skslh3djeo7zehvfqjg4bhkkkn5tyj52xrnejco3b');
    t.is(out.commD.toString(), 'baga6ea4seaqpy7usqklokfx2vxuynmupslkeutzexe2uqurdg5vhtebhxqmpqmy');
    const paux = await readPAux(cacheDir);
    t.deepEqual(paux.commC, out.raw.commC);
    t.deepEqual(paux.commRLast, out.raw.commRLast);
    t.is((await stat(join(dir, 'sealed'))).size, 2048);
    t.is((await stat(join(cacheDir, CacheFile.treeD))).size, (2 * 64 - 1) * 32);
    t.is((await stat(join(cacheDir, CacheFile.treeC(undefined)))).size, (64 + 8 + 1) * 32);
    // 3 rows (64, 8, 1): rows_to_discard 1, only the root row is stored
    t.is((await stat(join(cacheDir, CacheFile.treeRLast(undefined)))).size, 32);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
