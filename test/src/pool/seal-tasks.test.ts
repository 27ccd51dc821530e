import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { fr32Pad } from '../../../native/hash.js';
import { AbortedError } from '../../../src/errors.js';
import { PartialFile } from '../../../src/partial/partial-file.js';
import { SealerPool } from '../../../src/pool/pool.js';
import type { TaskProgress } from '../../../src/lifecycle/task-context.js';
import { sealPreCommit1 } from '../../../src/seal/pc1.js';
import { sealPreCommit2 } from '../../../src/seal/pc2.js';

async function unsealedSector(dir: string, fill: number): Promise<string> {
  const path = join(dir, 'unsealed');
  const pf = await PartialFile.create(path, 2048);
  const padded = new Uint8Array(2048);
  fr32Pad(new Uint8Array(2032).fill(fill), padded);
  await pf.writeAt(padded, 0);
  await pf.markAllocated(0, 2048);
  await pf.close();
  return path;
}

test('the seal pipeline runs on pool threads: PC1, PC2, C1, C2, verify, PoSt, CheckProvable, unseal, finalize', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'h4-tasks-'));
  const pool = new SealerPool({ threads: 1 });
  try {
    const unsealedPath = await unsealedSector(dir, 0x3c);
    const cacheDir = join(dir, 'cache');
    const sealedPath = join(dir, 'sealed');
    const ticket = new Uint8Array(32).fill(2);
    const seed = new Uint8Array(32).fill(3);
    const pc1 = await pool.run('pc1', { sectorSize: 2048, cacheDir, unsealedPath, minerId: 1000, sectorNumber: 4, ticket, parentCacheDir: join(dir, 'p') });
    const progress: TaskProgress[] = [];
    const pc2 = await pool.run('pc2', { pc1, paths: { cacheDir, sealedPath, unsealedPath } }, { onProgress: (p) => progress.push(p) });
    t.regex(pc2.commR, /^bagboea4b5abc/);
    t.true(progress.some((p) => p.phase === 'pc2' && p.done === p.total));
    const common = { sealProof: pc1.proof, minerId: 1000, sectorNumber: 4, ticket, commD: pc2.commD, commR: pc2.commR };
    const c1 = await pool.run('c1', { ...common, cacheDir, sealedPath, seed });
    const proof = await pool.run('c2', { c1 });
    t.deepEqual(await pool.run('verifySeal', { ...common, seed, proof }), { ok: true });
    const sector = { sectorNumber: 4, sealProof: pc1.proof, commR: pc2.commR, sealedPath, cacheDir };
    const randomness = new Uint8Array(32).fill(4);
    const wnd = await pool.run('windowPost', { minerId: 1000, randomness, sectors: [sector] });
    t.deepEqual(await pool.run('verifyPost', { type: 'window', minerId: 1000, randomness, sectors: [sector], proof: wnd.proof! }), { ok: true });
    t.deepEqual(await pool.run('checkProvable', { sectors: [{ ...sector, id: { miner: 1000, number: 4 } }], options: { vanilla: true } }), []);
    const again = join(dir, 'again');
    const un = await pool.run('unseal', { ...common, cacheDir, sealedPath, unsealedPath: again, offset: 0, size: 2032, parentCacheDir: join(dir, 'p') });
    t.deepEqual(un.written, [{ start: 0, end: 2048 }]);
    const fin = await pool.run('finalize', { sealProof: pc1.proof, cacheDir, unsealedPath, keepUnsealed: [] , removeUnsealedWhenEmpty: true });
    t.true(fin.unsealedRemoved);
    await t.throwsAsync(stat(unsealedPath));
  } finally {
    await pool.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a cancelled PC2 stops between chunks and leaves no sealed file or tree behind', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'h4-cancel-'));
  try {
    const unsealedPath = await unsealedSector(dir, 0x01);
    const cacheDir = join(dir, 'cache');
    const pc1 = await sealPreCommit1({ sectorSize: 2048, cacheDir, unsealedPath, minerId: 1000, sectorNumber: 1, ticket: new Uint8Array(32), parentCacheDir: join(dir, 'p') });
    const before = (await readdir(cacheDir)).sort();
    let checks = 0;
    const ctx = {
      progress() {},
      cancelled: false,
      throwIfCancelled() {
        if (++checks === 3) throw new AbortedError('task cancelled');
      },
    };
    await t.throwsAsync(sealPreCommit2(pc1, { cacheDir, sealedPath: join(dir, 'sealed'), unsealedPath }, ctx, { chunkNodes: 8 }), {
      instanceOf: AbortedError,
    });
    t.deepEqual((await readdir(cacheDir)).sort(), before, 'no tree, p_aux, t_aux or temp file was left');
    await t.throwsAsync(stat(join(dir, 'sealed')));
    await t.throwsAsync(stat(join(dir, 'sealed.tmp')));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
