import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import anyTest, { type TestFn } from 'ava';
import { columnHashes, poseidonLayer } from '../../../native/poseidon.js';
import { AbortedError, InvalidArgumentError } from '../../../src/errors.js';
import { SealerPool } from '../../../src/pool/pool.js';
import { CANCEL_FLAG, createTaskContext, type TaskContext, type TaskProgress } from '../../../src/lifecycle/task-context.js';
import { createLabels } from '../../../src/seal/labels.js';
import { type PreCommit1Input, sealPreCommit1 } from '../../../src/seal/pc1.js';
import { PC1_CHECKPOINT_FILE, readCheckpoint } from '../../../src/seal/pc1-checkpoint.js';
import { porepId } from '../../../src/sector/proofs.js';

const test = anyTest as TestFn<{ dir: string; parents: string }>;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const KiB2 = 2048;
const MiB8 = 8 << 20;
const TICKET_2K = Uint8Array.from({ length: 32 }, (_, i) => i + 1);
const COMMD_2K = 'fc7e928296e516faade986b28f92d44a4f24b935485223376a799027bc18f833';
const COMMD_8M = '65f29e5d98d246c38b388cfc06db1f6b021303c5a289000bdce832a9c3ec421c';

// one parent cache directory for the whole file: the 8 MiB cache is generated once
const parentsDir = await mkdtemp(join(tmpdir(), 'pc1-parents-'));
test.after.always(async () => rm(parentsDir, { recursive: true, force: true }));
test.beforeEach(async (t) => {
  t.context = { dir: await mkdtemp(join(tmpdir(), 'pc1-')), parents: parentsDir };
});
test.afterEach.always(async (t) => rm(t.context.dir, { recursive: true, force: true }));

function recorder(): { ctx: TaskContext; reports: TaskProgress[] } {
  const reports: TaskProgress[] = [];
  return { reports, ctx: { progress: (p) => reports.push(p), cancelled: false, throwIfCancelled() {} } };
}

function input2k(dir: string, parents: string, over: Partial<PreCommit1Input> = {}): PreCommit1Input {
  return { sectorSize: KiB2, cacheDir: join(dir, 'cache'), commD: COMMD_2K, minerId: 1000, sectorNumber: 1, ticket: TICKET_2K, parentCacheDir: parents, ...over };
}

test('2 KiB PC1 from an unsealed file writes the V-E2E-2KiB layers and reports progress', async (t) => {
  const unsealed = join(t.context.dir, 'unsealed');
  await writeFile(unsealed, new Uint8Array(KiB2));
  const { ctx, reports } = recorder();
  const out = await sealPreCommit1(input2k(t.context.dir, t.context.parents, { commD: undefined, unsealedPath: unsealed, pieces: [{ size: 2048 }] }), ctx);
  t.is(out.commD, COMMD_2K);
  t.is(out.replicaId, 'b8b46c93870fa313cf0fca62c81c0dae6bde6d258df8d0f3de5fe3a30d812f0d');
  t.is(out.porepId, hex(porepId(5)));
  t.deepEqual(out.layerFiles, ['sc-02-data-layer-1.dat', 'sc-02-data-layer-2.dat']);
  t.is(out.resumedLayers, 0);
  const l1 = new Uint8Array(await readFile(join(out.cacheDir, out.layerFiles[0]!)));
  const l2 = new Uint8Array(await readFile(join(out.cacheDir, out.layerFiles[1]!)));
  t.is(hex(l1.subarray(0, 32)), '755c1f55e9fa04f4c650e8dd664027d31ef6eade55e2ec57e6d98cadc18b7d06');
  t.is(hex(l1.subarray(63 * 32)), '5b25f5975f66cebb8d50be38a188f4d74c701edc1e8b58aa4ca1c2b16ec29f31');
  t.is(hex(l2.subarray(0, 32)), '9e142f2edd2be90fd50df96bdba6c05dfa987a8519e728841bb2c77ac6b56833');
  t.is(hex(l2.subarray(63 * 32)), 'e0b27819720813fb96864d9d14f47e983932a4f0d2fa1d01571592e6562ae419');
  t.deepEqual(out.layerDigests, [sha(l1), sha(l2)]);
  const pc1 = reports.filter((r) => r.phase === 'pc1');
  t.deepEqual(pc1.at(-1), { phase: 'pc1', done: 128, total: 128, detail: 'layer 2/2' });
  t.true(pc1.some((r) => r.detail === 'layer 1/2'));
});

test('PC1 with a CommD that does not match the unsealed file is refused', async (t) => {
  const unsealed = join(t.context.dir, 'unsealed');
  await writeFile(unsealed, new Uint8Array(KiB2).fill(1));
  await t.throwsAsync(sealPreCommit1(input2k(t.context.dir, t.context.parents, { unsealedPath: unsealed })), { code: 'INVALID_ARGUMENT', message: /commD .* does not match/ } as never);
  await t.throwsAsync(sealPreCommit1(input2k(t.context.dir, t.context.parents, { pieces: [{ size: 1024 }] })), { code: 'PIECE_DOES_NOT_FIT' } as never);
  await t.throwsAsync(sealPreCommit1(input2k(t.context.dir, t.context.parents, { ticket: new Uint8Array(31) })), { code: 'INVALID_ARGUMENT', message: /ticket/ } as never);
});

test('a second PC1 with the same inputs reuses every finished layer', async (t) => {
  const first = await sealPreCommit1(input2k(t.context.dir, t.context.parents));
  const again = await sealPreCommit1(input2k(t.context.dir, t.context.parents));
  t.is(again.resumedLayers, 2);
  t.deepEqual(again.layerDigests, first.layerDigests);
});

test('PC1 on a cache directory of other inputs starts over', async (t) => {
  await sealPreCommit1(input2k(t.context.dir, t.context.parents));
  const other = new Uint8Array(32).fill(7);
  const out = await sealPreCommit1(input2k(t.context.dir, t.context.parents, { ticket: other }));
  t.is(out.resumedLayers, 0);
  const [e1, e2] = createLabels({ nodes: 64, layers: 2, replicaId: new Uint8Array(Buffer.from(out.replicaId, 'hex')), porepId: porepId(5) });
  t.deepEqual(new Uint8Array(await readFile(join(out.cacheDir, 'sc-02-data-layer-1.dat'))), e1);
  t.deepEqual(new Uint8Array(await readFile(join(out.cacheDir, 'sc-02-data-layer-2.dat'))), e2);
  const cp = await readCheckpoint(out.cacheDir);
  t.is(cp?.ticket, hex(other));
});

test('a damaged finished layer file is recomputed, and the layers before it are kept', async (t) => {
  const first = await sealPreCommit1(input2k(t.context.dir, t.context.parents));
  const l2path = join(first.cacheDir, 'sc-02-data-layer-2.dat');
  const good = await readFile(l2path);
  const bad = Buffer.from(good);
  bad[100]! ^= 1;
  await writeFile(l2path, bad);
  const second = await sealPreCommit1(input2k(t.context.dir, t.context.parents));
  t.is(second.resumedLayers, 1);
  t.deepEqual(await readFile(l2path), good);
  // a damaged layer 1 invalidates everything after it
  await writeFile(join(first.cacheDir, 'sc-02-data-layer-1.dat'), new Uint8Array(100));
  const third = await sealPreCommit1(input2k(t.context.dir, t.context.parents));
  t.is(third.resumedLayers, 0);
  t.deepEqual(third.layerDigests, first.layerDigests);
});

test('a torn checkpoint file is ignored and PC1 starts over', async (t) => {
  const first = await sealPreCommit1(input2k(t.context.dir, t.context.parents));
  await writeFile(join(first.cacheDir, PC1_CHECKPOINT_FILE), '{"v":1,"done":[{"lay');
  const again = await sealPreCommit1(input2k(t.context.dir, t.context.parents));
  t.is(again.resumedLayers, 0);
  t.deepEqual(again.layerDigests, first.layerDigests);
});

test('a PC1 cancelled after a chunk of layer 2 stops in the next chunk’s native call and resumes from its last finished layer', async (t) => {
  // 4 chunks of 16 nodes per layer: the flag is set once the first chunk of layer 2 is labelled
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const ctx = createTaskContext(flag, { report: (p) => p.phase === 'pc1' && p.detail === 'layer 2/2' && Atomics.store(flag, CANCEL_FLAG, 1) }, 0);
  await t.throwsAsync(sealPreCommit1(input2k(t.context.dir, t.context.parents, { chunkNodes: 16 }), ctx), { instanceOf: AbortedError, message: 'labelling of layer 2 cancelled' });
  const cp = await readCheckpoint(join(t.context.dir, 'cache'));
  t.deepEqual(cp?.done.map((d) => d.layer), [1]);
  const out = await sealPreCommit1(input2k(t.context.dir, t.context.parents, { chunkNodes: 16 }));
  t.is(out.resumedLayers, 1);
  const [, e2] = createLabels({ nodes: 64, layers: 2, replicaId: new Uint8Array(Buffer.from(out.replicaId, 'hex')), porepId: porepId(5) });
  t.deepEqual(new Uint8Array(await readFile(join(out.cacheDir, 'sc-02-data-layer-2.dat'))), e2);
});

/** Oct-tree root (arity 8) of 32-byte leaves with Poseidon. */
function octRoot(leaves: Uint8Array): Uint8Array {
  let level = leaves;
  while (level.length > 32) {
    const up = new Uint8Array(level.length / 8);
    poseidonLayer(level, up, 8);
    level = up;
  }
  return level;
}

test.serial('8 MiB PC1 gives the V-E2E-8MiB replica id and layers whose column commitment is comm_c', async (t) => {
  const out = await sealPreCommit1({ sectorSize: MiB8, cacheDir: join(t.context.dir, 'cache'), commD: COMMD_8M, minerId: 1000, sectorNumber: 1, ticket: new Uint8Array(32).fill(1), parentCacheDir: t.context.parents });
  t.is(out.replicaId, '49808a3f801fc76f8e0a19e5f87f2810b61d0fb8cef7816a7396ab91d1774f3e');
  t.is(out.nodes, 1 << 18);
  const layers = await Promise.all(out.layerFiles.map(async (f) => new Uint8Array(await readFile(join(out.cacheDir, f)))));
  t.true(layers.every((l) => l.length === MiB8));
  const cols = new Uint8Array(MiB8);
  columnHashes(layers, cols);
  t.is(hex(octRoot(cols)), '3055f2498a3ad6301740c924cc9f4e056d082583f47f011f268750e1184e2068');
});

test.serial('8 MiB PC1 with its parents gathered on a second thread writes the same layers, and says so in its stats', async (t) => {
  const { sdrGatheredRanges } = await import('../../../native/sdr.js');
  const input = { sectorSize: MiB8, commD: COMMD_8M, minerId: 1000, sectorNumber: 1, ticket: new Uint8Array(32).fill(1), parentCacheDir: t.context.parents };
  const plain = await sealPreCommit1({ ...input, cacheDir: join(t.context.dir, 'plain'), gather: false });
  const before = sdrGatheredRanges();
  const gathered = await sealPreCommit1({ ...input, cacheDir: join(t.context.dir, 'gathered'), gather: true });
  // 2 layers of 262 144 nodes in chunks of 65 536: eight native calls, each gathered
  t.is(sdrGatheredRanges() - before, 8);
  t.true(gathered.stats.gather);
  t.false(plain.stats.gather);
  t.deepEqual(gathered.layerDigests, plain.layerDigests);
  // 'auto' leaves an 8 MiB layer to the caches (it gathers from 256 MiB of batch layer on)
  const auto = await sealPreCommit1({ ...input, cacheDir: join(t.context.dir, 'auto'), gather: 'auto' });
  t.is(sdrGatheredRanges() - before, 8);
  t.false(auto.stats.gather);
  t.deepEqual(auto.layerDigests, plain.layerDigests);
  await t.throwsAsync(sealPreCommit1({ ...input, cacheDir: join(t.context.dir, 'bad'), gather: 'yes' as unknown as boolean }), { instanceOf: InvalidArgumentError, message: /gather must be true, false or 'auto', got "yes"/ });
});

const childScript = fileURLToPath(new URL('./helpers/pc1-child.js', import.meta.url));

/** Runs PC1 in a child process and SIGKILLs it once it reports progress in layer 2. */
function runAndKillInLayer2(input: object): Promise<{ killed: boolean; sawLayer2: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [childScript, JSON.stringify(input)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let buf = '';
    let sawLayer2 = false;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (s: string) => {
      buf += s;
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        const p = JSON.parse(line) as TaskProgress;
        if (!sawLayer2 && p.phase === 'pc1' && p.detail === 'layer 2/2' && p.done < p.total) {
          sawLayer2 = true;
          child.kill('SIGKILL');
        }
      }
    });
    child.on('error', reject);
    child.on('exit', (_code, signal) => resolve({ killed: signal === 'SIGKILL', sawLayer2 }));
  });
}

test.serial('PC1 SIGKILLed in the middle of layer 2 resumes and writes byte-identical layers', async (t) => {
  const reference = await sealPreCommit1({ sectorSize: MiB8, cacheDir: join(t.context.dir, 'ref'), commD: COMMD_8M, minerId: 1000, sectorNumber: 1, ticket: new Uint8Array(32), parentCacheDir: t.context.parents });
  t.is(reference.replicaId, '9f3a758d7d995e0fddb8e896e1b3d2fbdf2d5056d5a03e852e595cd500251a36');
  const input = { sectorSize: MiB8, cacheDir: join(t.context.dir, 'crash'), commD: COMMD_8M, minerId: 1000, sectorNumber: 1, ticket: '00'.repeat(32), parentCacheDir: t.context.parents, chunkNodes: 4096 };
  const run = await runAndKillInLayer2(input);
  t.true(run.sawLayer2 && run.killed, 'the child was killed while labelling layer 2');
  const cp = await readCheckpoint(input.cacheDir);
  t.deepEqual(cp?.done.map((d) => d.layer), [1], 'layer 1 was checkpointed before the kill');
  await t.throwsAsync(stat(join(input.cacheDir, 'sc-02-data-layer-2.dat')), { code: 'ENOENT' } as never);
  const resumed = await sealPreCommit1(input);
  t.is(resumed.resumedLayers, 1);
  t.deepEqual(resumed.layerDigests, reference.layerDigests);
  for (const f of reference.layerFiles) {
    t.true((await readFile(join(input.cacheDir, f))).equals(await readFile(join(reference.cacheDir, f))), f);
  }
});

test('PC1 runs as a pool task and streams its progress to the caller, the final report before the result', async (t) => {
  const pool = new SealerPool({ threads: 1 });
  try {
    const reports: TaskProgress[] = [];
    // a slow receiver: the result, which travels on another port, must still wait for the last report
    const onProgress = async (p: TaskProgress) => {
      await new Promise((r) => setTimeout(r, 50));
      reports.push(p);
    };
    const out = await pool.run('pc1', { ...input2k(t.context.dir, t.context.parents), chunkNodes: 16 }, { onProgress });
    t.is(out.replicaId, 'b8b46c93870fa313cf0fca62c81c0dae6bde6d258df8d0f3de5fe3a30d812f0d');
    t.deepEqual(out.layerFiles, ['sc-02-data-layer-1.dat', 'sc-02-data-layer-2.dat']);
    t.true(reports.some((r) => r.phase === 'pc1' && r.done === r.total), 'the final progress report arrives');
  } finally {
    await pool.close();
  }
});
