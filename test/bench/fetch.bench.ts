/**
 * Fetch throughput over loopback HTTP: a 512 MiB sealed file (BENCH_QUICK: 32 MiB) and a cache
 * directory of the same total size, served by a second process's `/remote` and fetched by a
 * RemoteStore (temp file, fsync, rename, declare). Baseline: a plain local copy of the same bytes
 * (copyFile + fsync) in the same run; the ratio is fetch MiB/s over copy MiB/s. Peak RSS of the
 * fetching process shows that files stream (1 MiB writes) rather than buffer.
 *
 * Run as `node fetch.bench.js` (the parent); it starts itself with `--serve <dir>` as the holder.
 */
import { spawn } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { closeSync, copyFileSync, fsyncSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ALL_PERMISSIONS, TokenAuthority } from '../../src/auth/tokens.js';
import { FileType } from '../../src/sector/sector-id.js';
import { openDatabase } from '../../src/db/database.js';
import { createRemoteHandler } from '../../src/storage/http-handler.js';
import { StorageCatalog, directCatalog } from '../../src/db/storage-catalog.js';
import { LocalStore } from '../../src/storage/local-store.js';
import { RemoteStore } from '../../src/storage/remote-store.js';
import { initStoragePath, readStorageMeta } from '../../src/storage/storage-config.js';
import { peakRssMiB, quick, report } from './bench-util.js';

const MiB = 1024 * 1024;
const SIZE = (quick ? 32 : 512) * MiB;
const CACHE_FILES = 8;
const SECTOR = { miner: 1000, number: 1 };
const secret = Buffer.alloc(32, 3);
const token = new TokenAuthority(secret).createToken(ALL_PERMISSIONS);

function writeRandom(path: string, bytes: number): void {
  const fd = openSync(path, 'w');
  const buf = Buffer.alloc(MiB);
  for (let done = 0; done < bytes; done += MiB) {
    randomFillSync(buf);
    writeSync(fd, buf, 0, Math.min(MiB, bytes - done));
  }
  fsyncSync(fd);
  closeSync(fd);
}

/** Child: holds the files and serves /remote until stdin closes. */
async function serve(root: string): Promise<void> {
  const db = openDatabase(join(root, '..', 'holder.sqlite'));
  const local = new LocalStore({ catalog: directCatalog(new StorageCatalog(db)), urls: ['http://127.0.0.1:1/remote'] });
  await local.openPath(root);
  const auth = new TokenAuthority(secret);
  const handler = createRemoteHandler({ local, verify: (t) => auth.verifyToken(t) });
  const server = createServer((req, res) => void handler(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port, rss: 0 })}\n`);
  process.stdin.on('data', () => {});
  process.stdin.on('end', () => {
    process.stdout.write(`${JSON.stringify({ rss: peakRssMiB() })}\n`);
    server.close();
    local.close();
    db.close();
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ss-fetch-bench-'));
  let child: ReturnType<typeof spawn> | undefined;
  try {
    // the holder's data
    const holder = join(dir, 'holder');
    initStoragePath(holder, { canStore: true });
    writeRandom(join(holder, 'sealed', 's-t01000-1'), SIZE);
    mkdirSync(join(holder, 'cache', 's-t01000-1'));
    for (let i = 0; i < CACHE_FILES; i++) writeRandom(join(holder, 'cache', 's-t01000-1', `sc-02-data-tree-r-last-${i}.dat`), SIZE / CACHE_FILES);
    writeRandom(join(holder, 'cache', 's-t01000-1', 'p_aux'), 64);
    // started once the data is complete: the holder declares what it finds when it opens the path
    const proc = spawn(process.execPath, [fileURLToPath(import.meta.url), '--serve', holder], { stdio: ['pipe', 'pipe', 'inherit'] });
    child = proc;

    const lines: string[] = [];
    let buffered = '';
    proc.stdout?.on('data', (d) => {
      buffered += d;
      let nl = buffered.indexOf('\n');
      while (nl >= 0) {
        lines.push(buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
        nl = buffered.indexOf('\n');
      }
    });
    const next = async () => {
      while (lines.length === 0) {
        if (proc.exitCode !== null) throw new Error('holder process exited');
        await new Promise((r) => setTimeout(r, 20));
      }
      return JSON.parse(lines.shift() as string) as { port?: number; rss: number };
    };
    const { port } = await next();
    const url = `http://127.0.0.1:${port}/remote`;

    // the fetching node: its own index knows the holder's storage at the child's URL
    const db = openDatabase(join(dir, 'fetcher.sqlite'));
    const store = new StorageCatalog(db);
    const holderId = readStorageMeta(holder).ID;
    const stat = { Capacity: 2 ** 40, Available: 2 ** 39, FSAvailable: 2 ** 39, Reserved: 0, Max: 0, Used: 0 };
    store.storageAttach({ ID: holderId, URLs: [url], Weight: 10, MaxStorage: 0, CanSeal: false, CanStore: true }, stat);
    store.storageDeclareSector(holderId, SECTOR, FileType.sealed | FileType.cache, true);
    const local = new LocalStore({ catalog: directCatalog(store), urls: ['http://127.0.0.1:2/remote'], log: () => {} });
    const dest = join(dir, 'dest');
    initStoragePath(dest, { canSeal: true });
    await local.openPath(dest);
    const remote = new RemoteStore({ local, token, log: () => {} });
    // StackedDrg512MiBV1_1: the reservations (14.1× for a sealing cache) match the data size
    const ref = { id: SECTOR, proofType: 7 };

    // baseline: plain local copy of the same file, with fsync like the fetch
    const copyStart = process.hrtime.bigint();
    copyFileSync(join(holder, 'sealed', 's-t01000-1'), join(dir, 'copy'));
    const fd = openSync(join(dir, 'copy'), 'r');
    fsyncSync(fd);
    closeSync(fd);
    const copySec = Number(process.hrtime.bigint() - copyStart) / 1e9;
    const copyRate = SIZE / MiB / copySec;

    const t1 = process.hrtime.bigint();
    await remote.acquireSector(ref, FileType.sealed, 0, 'sealing', 'copy');
    const fileSec = Number(process.hrtime.bigint() - t1) / 1e9;
    const t2 = process.hrtime.bigint();
    await remote.acquireSector(ref, FileType.cache, 0, 'sealing', 'copy');
    const dirSec = Number(process.hrtime.bigint() - t2) / 1e9;

    const fileRate = SIZE / MiB / fileSec;
    const dirRate = SIZE / MiB / dirSec;
    const sz = `${SIZE / MiB} MiB`;
    report({ name: `fetch file over loopback (${sz})`, value: fileRate, unit: 'MiB/s', note: `${(fileRate / copyRate).toFixed(2)}× local copy` });
    report({ name: `fetch cache dir as tar (${sz}, ${CACHE_FILES + 1} files)`, value: dirRate, unit: 'MiB/s', note: `${(dirRate / copyRate).toFixed(2)}× local copy` });
    report({ name: `baseline: local copyFile+fsync (${sz})`, value: copyRate, unit: 'MiB/s' });
    report({ name: 'fetch peak RSS (fetching process)', value: peakRssMiB(), unit: 'MiB' });
    proc.stdin?.end();
    const { rss } = await next();
    report({ name: 'fetch peak RSS (serving process)', value: rss, unit: 'MiB' });
    local.close();
    db.close();
  } finally {
    if (child && child.exitCode === null) child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--serve') await serve(process.argv[3] as string);
else await main();
