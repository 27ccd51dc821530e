import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const RECORDER = new URL('../helpers/resolve-recorder.js', import.meta.url).href;
/** Packages of the daemon's runtime that the library front door must not load. */
const HEAVY = ['xstate', 'piscina', 'better-sqlite3', 'comlink'];

/** The packages (under node_modules) a fresh `node` resolves while importing `specifier`. */
async function packagesLoadedBy(specifier: string): Promise<Set<string>> {
  const dir = await mkdtemp(join(tmpdir(), 'ss-resolve-'));
  try {
    const log = join(dir, 'resolved.txt');
    const script = `import { register } from 'node:module'; register(${JSON.stringify(RECORDER)}); await import(${JSON.stringify(specifier)});`;
    // cwd is the package root, so the bare specifier resolves through package.json "exports"
    await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
      cwd: ROOT,
      env: { ...process.env, RESOLVE_LOG: log },
    });
    const urls = (await readFile(log, 'utf8')).split('\n').filter(Boolean);
    return new Set(urls.flatMap((u) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u)?.[1] ?? []));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('the package resolves itself by name and exposes the piece-path API', async (t) => {
  // self-reference through package.json "exports", as a program embedding sector-storage would import it
  const lib = await import('sector-storage');
  for (const name of ['fr32Pad', 'fr32Unpad', 'commP', 'generateUnsealedCid', 'zeroPieceCommitment']) {
    t.is(typeof (lib as Record<string, unknown>)[name], 'function', name);
  }
  const z = lib.zeroPieceCommitment(2048);
  t.is(Buffer.from(z).toString('hex'), 'fc7e928296e516faade986b28f92d44a4f24b935485223376a799027bc18f833');
  const pkg = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8'));
  t.is(pkg.name, 'sector-storage');
  t.is(pkg.bin['sector-storage'], 'dist/src/cli/main.js');
});

test('the library computes a piece CID that the data-segment peer agrees with', async (t) => {
  const { commP } = await import('sector-storage');
  const { Piece } = await import('@web3-storage/data-segment');
  const payload = new Uint8Array(5000).map((_, i) => (i * 7) & 0xff);
  const ours = await commP(payload);
  const theirs = Piece.fromPayload(payload);
  t.is(ours.pieceCidV2.toString(), theirs.link.toString());
  t.is(BigInt(ours.paddedSize), BigInt(theirs.size));
});

test('importing the library loads none of XState, Piscina, better-sqlite3 or Comlink', async (t) => {
  const loaded = await packagesLoadedBy('sector-storage');
  t.true(loaded.has('multiformats'), `the recorder saw the library's own dependencies: ${[...loaded].join(', ')}`);
  t.deepEqual(HEAVY.filter((p) => loaded.has(p)), []);
});

test('sector-storage/daemon exports the daemon and loads its runtime', async (t) => {
  const loaded = await packagesLoadedBy('sector-storage/daemon');
  t.deepEqual(HEAVY.filter((p) => !loaded.has(p)), [], `loaded: ${[...loaded].join(', ')}`);
  const daemon = (await import('sector-storage/daemon')) as Record<string, unknown>;
  for (const name of ['startDaemon', 'startStorageWorker', 'startDaemonSystem', 'SectorService', 'SealerPool', 'openRepo', 'StorageCatalog']) {
    t.is(typeof daemon[name], 'function', name);
  }
  const lib = (await import('sector-storage')) as Record<string, unknown>;
  for (const name of ['startDaemon', 'SealerPool', 'openRepo', 'StorageCatalog']) t.false(name in lib, `${name} is not in the front door`);
});
