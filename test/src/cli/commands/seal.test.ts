import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { parseHex32, parseMinerAddr } from '../../../../src/cli/commands/seal.js';

const run = promisify(execFile);
const cli = join(process.cwd(), 'dist', 'src', 'cli', 'main.js');

test('seal --json seals the V-E2E-2KiB sector end to end and prints its CIDs and phase times', async (t) => {
  const parents = await mkdtemp(join(tmpdir(), 'h4-cli-parents-'));
  try {
    const ticket = Buffer.from(Array.from({ length: 32 }, (_, i) => i + 1)).toString('hex');
    const { stdout } = await run(process.execPath, [cli, 'seal', '--sector-size', '2KiB', '--ticket', ticket, '--parent-cache', parents, '--json']);
    const r = JSON.parse(stdout);
    t.is(r.commD, 'baga6ea4seaqpy7usqklokfx2vxuynmupslkeutzexe2uqurdg5vhtebhxqmpqmy');
    t.is(r.commR, 'bagboea4b5abcara4n2u4hj7skslh3djeo7zehvfqjg4bhkkkn5tyj52xrnejco3b');
    t.true(r.verified);
    t.deepEqual(Object.keys(r.times), ['addPiece', 'pc1', 'pc2', 'c1', 'c2', 'verify']);
    t.false(r.prover.acceptedOnChain);
  } finally {
    await rm(parents, { recursive: true, force: true });
  }
});

test('seal --json on a forced SIMD path (SECTOR_STORAGE_SIMD=portable) reports that path and seals the same V-E2E-2KiB CommR', async (t) => {
  const parents = await mkdtemp(join(tmpdir(), 'h4-cli-parents-'));
  try {
    const ticket = Buffer.from(Array.from({ length: 32 }, (_, i) => i + 1)).toString('hex');
    const env = { ...process.env, SECTOR_STORAGE_SIMD: 'portable' };
    const { stdout } = await run(process.execPath, [cli, 'seal', '--sector-size', '2KiB', '--ticket', ticket, '--parent-cache', parents, '--json'], { env });
    const r = JSON.parse(stdout);
    t.deepEqual(r.simd, { path: 'portable', sha256: 'portable', blake2b: 'portable', poseidon: 'portable', pc1Batch8: 'portable' });
    t.is(r.commR, 'bagboea4b5abcara4n2u4hj7skslh3djeo7zehvfqjg4bhkkkn5tyj52xrnejco3b');
    t.true(r.verified);
  } finally {
    await rm(parents, { recursive: true, force: true });
  }
});

test('seal adds piece files aligned, fills the sector and keeps the files with --dir', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'h4-cli-'));
  try {
    await writeFile(join(dir, 'a.bin'), Buffer.alloc(300, 0xcc));
    await writeFile(join(dir, 'b.bin'), Buffer.alloc(100, 0x01));
    const { stdout } = await run(process.execPath, [
      cli, 'seal', '--sector-size', '2KiB', '--pieces', join(dir, 'a.bin'), join(dir, 'b.bin'),
      '--dir', join(dir, 'work'), '--parent-cache', join(dir, 'parents'), '--json',
    ]);
    const r = JSON.parse(stdout);
    t.true(r.verified);
    t.deepEqual(
      r.pieces.map((p: { paddedOffset: number; paddedSize: number; payloadSize: number }) => [p.paddedOffset, p.paddedSize, p.payloadSize]),
      [[0, 512, 300], [512, 128, 100], [640, 128, 0], [768, 256, 0], [1024, 1024, 0]],
    );
    t.is(r.dir, join(dir, 'work'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('seal names a bad flag value and exits with a usage or argument error', async (t) => {
  const err = await t.throwsAsync(run(process.execPath, [cli, 'seal', '--sector-size', '3KiB']));
  t.regex((err as Error & { stderr: string }).stderr, /no registered seal proof for sector size 3072/);
  const env = { ...process.env, SECTOR_STORAGE_PC1_GATHER: 'yes' };
  const bad = await t.throwsAsync(run(process.execPath, [cli, 'seal', '--sector-size', '2KiB', '--phases', 'ap'], { env }));
  t.regex((bad as Error & { stderr: string }).stderr, /SECTOR_STORAGE_PC1_GATHER="yes" must be 1 \(gather parents on a second thread where layers pass the caches\) or 0/);
  t.throws(() => parseHex32('abcd', 'ticket (--ticket)'), { message: /ticket \(--ticket\) must be 64 hex digits/ });
  t.is(parseMinerAddr('t01234'), 1234);
  t.throws(() => parseMinerAddr('t3abc'), { message: /not an ID address/ });
});

test('seal --num-sectors 3 --threads 2 batches PC1 and seals every sector as a single seal would', async (t) => {
  const parents = await mkdtemp(join(tmpdir(), 'ss-cli-batch-'));
  try {
    const ticket = Buffer.from(Array.from({ length: 32 }, (_, i) => i + 1)).toString('hex');
    const common = ['seal', '--sector-size', '2KiB', '--ticket', ticket, '--parent-cache', parents, '--json'];
    const { stdout } = await run(process.execPath, [cli, ...common, '--num-sectors', '3', '--threads', '2', '--sector-number', '5']);
    const r = JSON.parse(stdout);
    t.deepEqual(r.sectors.map((s: { sectorNumber: number }) => s.sectorNumber), [5, 6, 7]);
    t.deepEqual(r.pc1Batches, [2, 1], 'two PC1 batches for two threads');
    t.deepEqual(r.pc1Gather, { mode: false, gathered: false }, 'no core to spare for gathering beside two batches on two threads');
    t.is(r.parentCache, 'created');
    t.is(r.threads, 2);
    t.true(r.verified);
    t.deepEqual(Object.keys(r.times), ['addPiece', 'pc1', 'pc2', 'c1', 'c2', 'verify']);
    t.deepEqual(Object.keys(r.simd), ['path', 'sha256', 'blake2b', 'poseidon', 'pc1Batch8']);
    const single = JSON.parse((await run(process.execPath, [cli, ...common, '--sector-number', '6'])).stdout);
    t.is(r.sectors[1].commR, single.commR, 'sector 6 in a batch = sector 6 alone');
    t.is(r.sectors[1].commD, single.commD);
    t.not(r.sectors[0].commR, r.sectors[1].commR);
  } finally {
    await rm(parents, { recursive: true, force: true });
  }
});

test('seal gathers PC1 parents on a spare thread where layers pass the caches: auto with two threads for one sector, off when SECTOR_STORAGE_PC1_GATHER=0', async (t) => {
  const parents = await mkdtemp(join(tmpdir(), 'ss-cli-gather-'));
  try {
    const common = ['seal', '--sector-size', '2KiB', '--phases', 'ap,pc1', '--parent-cache', parents, '--json'];
    const on = JSON.parse((await run(process.execPath, [cli, ...common, '--threads', '2'])).stdout);
    // a 2 KiB layer is far inside the caches: 'auto' does not gather it
    t.deepEqual(on.pc1Gather, { mode: 'auto', gathered: false });
    const env = { ...process.env, SECTOR_STORAGE_PC1_GATHER: '0' };
    const off = JSON.parse((await run(process.execPath, [cli, ...common, '--threads', '2'], { env })).stdout);
    t.deepEqual(off.pc1Gather, { mode: false, gathered: false });
    t.is(on.sectors[0].commD, off.sectors[0].commD);
    const forced = JSON.parse((await run(process.execPath, [cli, ...common, '--threads', '1'], { env: { ...process.env, SECTOR_STORAGE_PC1_GATHER: '1' } })).stdout);
    t.deepEqual(forced.pc1Gather, { mode: 'auto', gathered: false });
  } finally {
    await rm(parents, { recursive: true, force: true });
  }
});

test('seal --phases ap,pc1 stops after PC1 and keeps its layers; phases that skip one are refused', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ss-cli-phases-'));
  try {
    const { stdout } = await run(process.execPath, [
      cli, 'seal', '--sector-size', '2KiB', '--phases', 'ap,pc1', '--num-sectors', '2', '--threads', '1', '--dir', join(dir, 'work'), '--parent-cache', join(dir, 'p'), '--json',
    ]);
    const r = JSON.parse(stdout);
    t.deepEqual(r.phases, ['ap', 'pc1']);
    t.deepEqual(Object.keys(r.times), ['addPiece', 'pc1']);
    t.is(r.verified, undefined);
    t.is(r.sectors[0].commR, undefined);
    t.is(r.sectors[0].commD, 'baga6ea4seaqpy7usqklokfx2vxuynmupslkeutzexe2uqurdg5vhtebhxqmpqmy');
    t.deepEqual(r.pc1Batches, [2]);
    t.deepEqual(r.pc1Gather, { mode: false, gathered: false }, 'one thread: none to spare');
    await stat(join(dir, 'work', 'cache', 's-t01000-2', 'sc-02-data-layer-2.dat'));
    t.deepEqual(await readdir(join(dir, 'work', 'sealed')), []);
    for (const bad of ['pc1,pc2', 'ap,pc2', 'ap,pc3', '']) {
      const err = await t.throwsAsync(run(process.execPath, [cli, 'seal', '--sector-size', '2KiB', '--phases', bad]));
      t.regex((err as Error & { stderr: string }).stderr, bad === 'ap,pc3' ? /unknown seal phase "pc3"/ : /seal phases must be a prefix of ap,pc1,pc2,c1,c2,verify/, bad);
    }
    const zero = await t.throwsAsync(run(process.execPath, [cli, 'seal', '--sector-size', '2KiB', '--num-sectors', '0']));
    t.regex((zero as Error & { stderr: string }).stderr, /--num-sectors must be at least 1/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
