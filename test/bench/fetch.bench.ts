/**
 * Fetch throughput over loopback HTTP: a 512 MiB sealed file (BENCH_QUICK: 32 MiB) and a cache
 * directory of the same total size, served by a second process's `/remote` and fetched by a
 * RemoteStore (parallel byte ranges, per-file cache fetch, fsync, rename, declare), against a
 * local copy of the same bytes in the same run (`copyFile` + fsync of the file; of each file of
 * the directory + the directory), in interleaved rounds with medians; the file fetch also with
 * page-cache writes only (`SECTOR_STORAGE_FETCH_DIRECT=0`). Also the cache directory as one tar stream (what a Lotus peer
 * serves), and a file and a cache directory fetch whose process is killed (SIGKILL) once midway
 * and started again: total time against the uninterrupted fetch, and the bytes the holder sent
 * twice. Peak RSS of each process shows that transfers stream rather than buffer.
 *
 * Run as `node fetch.bench.js` (the parent); it starts itself with `--serve <dir>` as the holder
 * and with `--fetch <json>` as the fetching process that gets killed.
 */
import { spawn } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { closeSync, copyFileSync, fsyncSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ALL_PERMISSIONS, TokenAuthority } from '../../src/auth/tokens.js';
import { openDatabase } from '../../src/db/database.js';
import { StorageCatalog, directCatalog } from '../../src/db/storage-catalog.js';
import { fsyncPath } from '../../src/fs/durable.js';
import { FileType } from '../../src/sector/sector-id.js';
import { createRemoteHandler } from '../../src/storage/http-handler.js';
import { LocalStore } from '../../src/storage/local-store.js';
import { RemoteStore } from '../../src/storage/remote-store.js';
import { initStoragePath, readStorageMeta } from '../../src/storage/storage-config.js';
import { median, peakRssMiB, quick, report, seconds } from './bench-util.js';
import { silentLogger } from '../../src/log/logger.js';

const MiB = 1024 * 1024;
const SIZE = (quick ? 32 : 512) * MiB;
const CACHE_FILES = 8;
/** Interleaved rounds of the baselines and the uninterrupted fetches. */
const ROUNDS = quick ? 1 : 3;
const SECTOR = { miner: 1000, number: 1 };
/** StackedDrg512MiBV1_1: the reservations (14.1× for a sealing cache) cover the data size. */
const REF = { id: SECTOR, proofType: 7 };
const secret = Buffer.alloc(32, 3);
const token = new TokenAuthority(secret).createToken(ALL_PERMISSIONS);
const STAT = { Capacity: 2 ** 40, Available: 2 ** 39, FSAvailable: 2 ** 39, Reserved: 0, Max: 0, Used: 0 };

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

/**
 * Child: holds the files and serves /remote twice: as this project does, and as a Lotus peer
 * does (no per-file routes, so cache directories go as tar). Counts the body bytes it sends.
 * stdin lines: `stats` → `{"rss", "sent"}`; end of stdin → exit.
 */
async function serve(root: string): Promise<void> {
  const db = openDatabase(join(root, '..', 'holder.sqlite'));
  const local = new LocalStore({ catalog: directCatalog(new StorageCatalog(db)), urls: ['http://127.0.0.1:1/remote'], log: silentLogger() });
  await local.openPath(root);
  const auth = new TokenAuthority(secret);
  const handler = createRemoteHandler({ local, verify: (t) => auth.verifyToken(t), log: silentLogger() });
  let sent = 0;
  const counting = (req: IncomingMessage, res: ServerResponse) => {
    const write = res.write.bind(res) as (...a: unknown[]) => boolean;
    res.write = ((chunk: Buffer, ...rest: unknown[]) => {
      if ((res.statusCode === 200 || res.statusCode === 206) && !(req.url ?? '').includes('/digests/')) sent += chunk.length;
      return write(chunk, ...rest);
    }) as typeof res.write;
  };
  const ours = createServer((req, res) => {
    counting(req, res);
    void handler(req, res);
  });
  const lotus = createServer((req, res) => {
    if (/\/(files|digests)(\/|$)/.test(req.url ?? '')) {
      res.writeHead(404).end('404 page not found\n');
      return;
    }
    counting(req, res);
    void handler(req, res);
  });
  for (const s of [ours, lotus]) await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s: typeof ours) => (s.address() as AddressInfo).port;
  process.stdout.write(`${JSON.stringify({ port: port(ours), lotusPort: port(lotus) })}\n`);
  let input = '';
  process.stdin.on('data', (d) => {
    input += d;
    for (let nl = input.indexOf('\n'); nl >= 0; nl = input.indexOf('\n')) {
      input = input.slice(nl + 1);
      process.stdout.write(`${JSON.stringify({ rss: peakRssMiB(), sent })}\n`);
    }
  });
  process.stdin.on('end', () => {
    ours.close();
    lotus.close();
    local.close();
    db.close();
  });
}

/** A fetching node over its own index (`--fetch`), for the killed-midway runs; prints progress lines. */
async function fetchChild(args: { db: string; dest: string; holderId: string; url: string; type: 'sealed' | 'cache' }): Promise<void> {
  const db = openDatabase(args.db);
  const store = new StorageCatalog(db);
  store.storageAttach({ ID: args.holderId, URLs: [args.url], Weight: 10, MaxStorage: 0, CanSeal: false, CanStore: true }, STAT);
  store.storageDeclareSector(args.holderId, SECTOR, FileType[args.type], true);
  const local = new LocalStore({ catalog: directCatalog(store), urls: ['http://127.0.0.1:2/remote'], log: silentLogger() });
  await local.openPath(args.dest);
  const remote = new RemoteStore({ local, token, log: silentLogger() });
  let last = 0;
  await remote.acquireSector(REF, FileType[args.type], 0, 'sealing', 'copy', {
    onProgress: ({ bytes }) => {
      if (bytes - last < 4 * MiB) return;
      last = bytes;
      process.stdout.write(`progress ${bytes}\n`);
    },
  });
  process.stdout.write(`done ${peakRssMiB()}\n`);
  local.close();
  db.close();
}

/** Line reader over a child's stdout. */
function lineReader(proc: ReturnType<typeof spawn>) {
  const lines: string[] = [];
  let buffered = '';
  proc.stdout?.on('data', (d) => {
    buffered += d;
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      lines.push(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
    }
  });
  return async (): Promise<string> => {
    while (lines.length === 0) {
      if (proc.exitCode !== null || proc.signalCode !== null) throw new Error('child exited');
      await new Promise((r) => setTimeout(r, 5));
    }
    return lines.shift() as string;
  };
}

/**
 * The CPU, and the SIMD the fetch path can use: none of its own (bytes move between the socket,
 * the write blocks and the disk by system calls); only the chunk digests of a resume hash, with
 * OpenSSL's SHA-256, which uses the SHA extensions when the CPU has them.
 */
function machine(): string {
  let sha = 'unknown';
  try {
    sha = /^flags\s*:.*\bsha_ni\b/m.test(readFileSync('/proc/cpuinfo', 'utf8')) ? 'yes' : 'no';
  } catch {}
  return `cpu: ${cpus()[0]?.model ?? 'unknown'} (${cpus().length} cores); SIMD: none in the transfer path; direct writes (O_DIRECT) unless SECTOR_STORAGE_FETCH_DIRECT=0; resume digests by OpenSSL SHA-256 (sha_ni: ${sha})`;
}

/** Copies a flat directory file by file with fsync, then fsyncs the directory. */
async function copyDir(src: string, dst: string): Promise<void> {
  mkdirSync(dst);
  for (const name of readdirSync(src)) {
    copyFileSync(join(src, name), join(dst, name));
    await fsyncPath(join(dst, name));
  }
  await fsyncPath(dst);
}

async function main(): Promise<void> {
  console.log(machine());
  const dir = mkdtempSync(join(tmpdir(), 'ss-fetch-bench-'));
  const children: ReturnType<typeof spawn>[] = [];
  const loadBefore = loadavg();
  try {
    // the holder's data
    const holder = join(dir, 'holder');
    initStoragePath(holder, { canStore: true });
    writeRandom(join(holder, 'sealed', 's-t01000-1'), SIZE);
    const cacheSrc = join(holder, 'cache', 's-t01000-1');
    mkdirSync(cacheSrc);
    for (let i = 0; i < CACHE_FILES; i++) writeRandom(join(cacheSrc, `sc-02-data-tree-r-last-${i}.dat`), SIZE / CACHE_FILES);
    writeRandom(join(cacheSrc, 'p_aux'), 64);
    // started once the data is complete: the holder declares what it finds when it opens the path
    const proc = spawn(process.execPath, [fileURLToPath(import.meta.url), '--serve', holder], { stdio: ['pipe', 'pipe', 'inherit'] });
    children.push(proc);
    const next = lineReader(proc);
    const { port, lotusPort } = JSON.parse(await next()) as { port: number; lotusPort: number };
    const holderStats = async () => {
      proc.stdin?.write('stats\n');
      return JSON.parse(await next()) as { rss: number; sent: number };
    };
    const url = `http://127.0.0.1:${port}/remote`;
    const lotusUrl = `http://127.0.0.1:${lotusPort}/remote`;
    const holderId = readStorageMeta(holder).ID;

    // the fetching node: its own index knows the holder's storage at the child's URL
    const db = openDatabase(join(dir, 'fetcher.sqlite'));
    const store = new StorageCatalog(db);
    const attach = (u: string) => {
      store.storageAttach({ ID: holderId, URLs: [u], Weight: 10, MaxStorage: 0, CanSeal: false, CanStore: true }, STAT);
      store.storageDeclareSector(holderId, SECTOR, FileType.sealed | FileType.cache, true);
    };
    attach(url);
    const local = new LocalStore({ catalog: directCatalog(store), urls: ['http://127.0.0.1:2/remote'], log: silentLogger() });
    const dest = join(dir, 'dest');
    initStoragePath(dest, { canSeal: true });
    await local.openPath(dest);
    const remote = new RemoteStore({ local, token, log: silentLogger() });

    // Rounds of: the baselines (plain local copies of the same bytes, with fsync like the fetch)
    // and the fetches, interleaved, medians reported. On a virtual machine the speed of writing
    // into the page cache swings with whether the host still backs the freed guest pages
    // (fetch-writer.ts), so one run of each, minutes apart, compares luck rather than code.
    const r = { copy: [] as number[], file: [] as number[], buffered: [] as number[], copyDir: [] as number[], dir: [] as number[] };
    for (let round = 0; round < ROUNDS; round++) {
      r.copy.push(
        await seconds(async () => {
          copyFileSync(join(holder, 'sealed', 's-t01000-1'), join(dir, 'copy'));
          await fsyncPath(join(dir, 'copy'));
        }),
      );
      rmSync(join(dir, 'copy'));
      r.file.push(await seconds(() => remote.acquireSector(REF, FileType.sealed, 0, 'sealing', 'copy')));
      await local.remove(SECTOR, FileType.sealed, true);
      process.env.SECTOR_STORAGE_FETCH_DIRECT = '0';
      r.buffered.push(await seconds(() => remote.acquireSector(REF, FileType.sealed, 0, 'sealing', 'copy')));
      delete process.env.SECTOR_STORAGE_FETCH_DIRECT;
      await local.remove(SECTOR, FileType.sealed, true);
      r.copyDir.push(await seconds(() => copyDir(cacheSrc, join(dir, 'copy-dir'))));
      rmSync(join(dir, 'copy-dir'), { recursive: true });
      r.dir.push(await seconds(() => remote.acquireSector(REF, FileType.cache, 0, 'sealing', 'copy')));
      await local.remove(SECTOR, FileType.cache, true);
    }
    const [copySec, fileSec, bufferedSec, copyDirSec, dirSec] = [r.copy, r.file, r.buffered, r.copyDir, r.dir].map(median) as [number, number, number, number, number];
    const rates = (xs: number[]) => `${xs.map((x) => (SIZE / MiB / x).toFixed(0)).join(', ')} MiB/s`;
    // a Lotus peer: the directory as one tar stream
    store.storageDetach(holderId);
    attach(lotusUrl);
    const tarSec = await seconds(() => remote.acquireSector(REF, FileType.cache, 0, 'sealing', 'copy'));
    await local.remove(SECTOR, FileType.cache, true);
    const fetcherRss = peakRssMiB();
    local.close();
    db.close();

    // killed once midway: a fetching process, SIGKILLed at half the file (the directory), then started again
    const killed = async (type: 'sealed' | 'cache') => {
      const dest = join(dir, `kill-${type}`);
      initStoragePath(dest, { canSeal: true });
      const args = JSON.stringify({ db: join(dir, `killed-${type}.sqlite`), dest, holderId, url, type });
      const sentBefore = (await holderStats()).sent;
      let rss = 0;
      const sec = await seconds(async () => {
        for (const killAt of [SIZE / 2, undefined]) {
          const c = spawn(process.execPath, [fileURLToPath(import.meta.url), '--fetch', args], { stdio: ['ignore', 'pipe', 'inherit'] });
          children.push(c);
          const read = lineReader(c);
          const exited = new Promise((r) => c.once('exit', r));
          for (;;) {
            const line = await read().catch(() => 'exited');
            if (line === 'exited') break;
            if (line.startsWith('done ')) rss = Math.max(rss, Number(line.slice(5)));
            if (killAt !== undefined && line.startsWith('progress ') && Number(line.slice(9)) >= killAt) {
              c.kill('SIGKILL');
              break;
            }
          }
          await exited;
          if (killAt === undefined && c.exitCode !== 0) throw new Error(`the resumed fetch of the ${type} entry failed (exit ${c.exitCode})`);
        }
      });
      const size = type === 'sealed' ? SIZE : SIZE + 64;
      return { sec, rss, resent: (await holderStats()).sent - sentBefore - size };
    };
    const killedFile = await killed('sealed');
    const killedDir = await killed('cache');

    const rate = (sec: number) => SIZE / MiB / sec;
    const copyRate = rate(copySec);
    const copyDirRate = rate(copyDirSec);
    const sz = `${SIZE / MiB} MiB`;
    const of = `median of ${ROUNDS}`;
    report({ name: `fetch file over loopback (${sz})`, value: rate(fileSec), unit: 'MiB/s', note: `${(rate(fileSec) / copyRate).toFixed(2)}× local copy; ${of}: ${rates(r.file)}` });
    report({
      name: `fetch file, page-cache writes only (SECTOR_STORAGE_FETCH_DIRECT=0) (${sz})`,
      value: rate(bufferedSec),
      unit: 'MiB/s',
      note: `${(rate(bufferedSec) / copyRate).toFixed(2)}× local copy; ${of}: ${rates(r.buffered)}`,
    });
    report({ name: `fetch cache dir, file by file (${sz}, ${CACHE_FILES + 1} files)`, value: rate(dirSec), unit: 'MiB/s', note: `${(rate(dirSec) / copyDirRate).toFixed(2)}× local copy of the dir; ${of}: ${rates(r.dir)}` });
    report({ name: `fetch cache dir as tar, Lotus peer (${sz})`, value: rate(tarSec), unit: 'MiB/s', note: `${(rate(tarSec) / copyDirRate).toFixed(2)}× local copy of the dir` });
    report({ name: `baseline: local copyFile+fsync (${sz})`, value: copyRate, unit: 'MiB/s', note: `${of}: ${rates(r.copy)}` });
    report({ name: `baseline: local copy of the dir, each file fsynced (${sz})`, value: copyDirRate, unit: 'MiB/s', note: `${of}: ${rates(r.copyDir)}` });
    for (const [what, k, uninterrupted] of [
      ['file', killedFile, fileSec],
      ['cache dir', killedDir, dirSec],
    ] as const) {
      report({ name: `fetch ${what} killed (SIGKILL) at half and resumed: total time`, value: k.sec, unit: 's', note: `${(k.sec / uninterrupted).toFixed(2)}× the uninterrupted fetch (${uninterrupted.toFixed(2)} s)` });
      report({ name: `fetch ${what} killed at half: bytes the holder sent twice`, value: k.resent / MiB, unit: 'MiB', note: `of ${sz}; starting over would re-send ≥ ${SIZE / 2 / MiB} MiB` });
      report({ name: `fetch peak RSS (fetching process of the ${what}, killed and resumed)`, value: k.rss, unit: 'MiB' });
    }
    report({ name: 'fetch peak RSS (fetching process)', value: fetcherRss, unit: 'MiB' });
    report({ name: 'fetch peak RSS (serving process)', value: (await holderStats()).rss, unit: 'MiB' });
    proc.stdin?.end();
    const loadAfter = loadavg();
    report({ name: 'load average (1 min) before / after', value: loadBefore[0] as number, unit: '', note: `after: ${(loadAfter[0] as number).toFixed(2)}` });
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--serve') await serve(process.argv[3] as string);
else if (process.argv[2] === '--fetch') await fetchChild(JSON.parse(process.argv[3] as string));
else await main();
