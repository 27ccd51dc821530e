/**
 * A fetch killed with `kill -9` at random points (seeded, printed) and started again continues
 * from what it had on disk: the result is byte-identical, the bytes the holder sent again are
 * counted and stay within what the checkpoint interval and the in-flight buffers can lose per
 * kill, and no partial file under the sector name and no index row exist at any kill. Once for a
 * sealed file over one connection, once for a cache directory fetched file by file over two.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { openDatabase } from '../../../src/db/database.js';
import { StorageCatalog } from '../../../src/db/storage-catalog.js';
import { FileType } from '../../../src/sector/sector-id.js';
import { DIGEST_CHUNK } from '../../../src/storage/fetch-protocol.js';
import { readStorageMeta } from '../../../src/storage/storage-config.js';
import { adminToken, makeManager, makeNode, makePath, tempDir } from './storage-fixtures.js';

const CHILD = fileURLToPath(new URL('./helpers/fetch-child.js', import.meta.url));
const MiB = 1024 * 1024;
const KILLS = 3;
const CHECKPOINT = 8 * MiB;
const BLOCK = MiB;
/**
 * Bytes a holder may have sent on a connection that the fetcher never read when it died: both
 * kernels' socket buffers at their autotuning maximum, and the holder's read-ahead (2 MiB chunks).
 */
const SOCKET_SLACK = tcpMax('tcp_rmem', 6 * MiB) + tcpMax('tcp_wmem', 4 * MiB) + 2 * 2 * MiB;
/**
 * What one kill may cost with `streams` connections: unrecorded data, and per connection the
 * chunk cut at its kept range's end, its blocks in memory and its sockets.
 */
const perKill = (streams: number) => CHECKPOINT + streams * (DIGEST_CHUNK + 3 * BLOCK + SOCKET_SLACK);

function tcpMax(name: string, fallback: number): number {
  try {
    return Number(readFileSync(`/proc/sys/net/ipv4/${name}`, 'utf8').trim().split(/\s+/)[2]) || fallback;
  } catch {
    return fallback;
  }
}

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** What is fetched: a sealed file over one connection, or a cache directory of several files over two. */
interface Case {
  type: 'sealed' | 'cache';
  streams: number;
  /** File name (in the cache directory) → size; a sealed file is the single entry ''. */
  files: Record<string, number>;
}

const CASES: Case[] = [
  { type: 'sealed', streams: 1, files: { '': 160 * MiB + 4321 } },
  {
    type: 'cache',
    streams: 2,
    files: { 'sc-02-data-layer-1.dat': 40 * MiB, 'sc-02-data-layer-2.dat': 40 * MiB, 'sc-02-data-tree-r-last.dat': 24 * MiB + 999, t_aux: 1234, p_aux: 64, empty: 0 },
  },
];

for (const c of CASES) {
  const what = c.type === 'sealed' ? 'a sealed file' : 'a cache directory fetched file by file';
  test(`a fetch of ${what} killed with kill -9 at random points resumes from its checked bytes on disk`, async (t) => {
    t.timeout(180_000);
    const seed = Number(process.env.FETCH_KILL_SEED ?? Date.now() % 2 ** 31);
    t.log(`seed ${seed} (FETCH_KILL_SEED=${seed} replays the kill points)`);
    const next = rng(seed);
    const size = Object.values(c.files).reduce((n, b) => n + b, 0);
    const m = makeManager();
    const dir = tempDir('ss-fetch-resume-');
    const holder = await makeNode(m.catalog);
    t.teardown(async () => {
      await holder.close();
      m.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const hRoot = makePath(dir, 'holder', { canStore: true });
    const entry = join(hRoot, c.type, 's-t01000-1');
    const data = new Map<string, Buffer>();
    if (c.type === 'cache') mkdirSync(entry);
    for (const [name, bytes] of Object.entries(c.files)) {
      data.set(name, randomBytes(bytes));
      writeFileSync(join(entry, name), data.get(name) as Buffer);
    }
    await holder.local.addLocalPath(hRoot);
    let sent = 0;
    holder.server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
      const write = res.write.bind(res) as (...a: unknown[]) => boolean;
      res.write = ((chunk: Buffer, ...rest: unknown[]) => {
        if (res.statusCode === 206 && !(req.url ?? '').includes('/digests/')) sent += chunk.length;
        return write(chunk, ...rest);
      }) as typeof res.write;
    });
    const dest = makePath(dir, 'dest', { canSeal: true });
    const destId = readStorageMeta(dest).ID;
    const db = join(dir, 'fetcher.sqlite');
    const args = JSON.stringify({
      db,
      dest,
      holderId: readStorageMeta(hRoot).ID,
      holderUrl: holder.url,
      sector: { miner: 1000, number: 1 },
      proofType: 7, // StackedDrg512MiBV1_1: room for the files
      type: c.type,
      token: adminToken,
      streams: c.streams,
      checkpointBytes: CHECKPOINT,
      blockSize: BLOCK,
    });
    const run = (killAt?: number) =>
      new Promise<{ code: number | null; signal: string | null; progress: number; err: string }>((resolve) => {
        const child: ChildProcess = spawn(process.execPath, [CHILD, args], { stdio: ['ignore', 'pipe', 'pipe'] });
        let progress = 0;
        let err = '';
        let buf = '';
        child.stderr?.on('data', (d) => {
          err += d;
        });
        child.stdout?.on('data', (d) => {
          buf += d;
          for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            const p = /^progress (\d+)$/.exec(line);
            if (p) progress = Number(p[1]);
            if (killAt !== undefined && progress >= killAt && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
          }
        });
        child.on('exit', (code, signal) => resolve({ code, signal, progress, err }));
      });
    const index = <T>(f: (catalog: StorageCatalog) => T): T => {
      const conn = openDatabase(db);
      try {
        return f(new StorageCatalog(conn));
      } finally {
        conn.close();
      }
    };

    // kill points spread over the download, in order
    const points = Array.from({ length: KILLS }, (_, i) => Math.floor(((i + 0.2 + 0.6 * next()) / KILLS) * size)).sort((x, y) => x - y);
    let restartCost = 0;
    for (const at of points) {
      const before = sent;
      const r = await run(at);
      t.is(r.signal, 'SIGKILL', `killed at ${at} (progress ${r.progress}); stderr: ${r.err}`);
      restartCost += r.progress;
      t.false(existsSync(join(dest, c.type, 's-t01000-1')), 'nothing under the sector name');
      t.deepEqual(index((s) => s.storageList()[destId] ?? []), [], 'no index row for the download');
      t.log(`killed at progress ${r.progress} (point ${at}); the holder sent ${sent - before} bytes in that run`);
    }
    const before = sent;
    const last = await run();
    t.is(last.code, 0, last.err);
    t.log(`final run: the holder sent ${sent - before} bytes`);
    t.regex(last.err, /resuming .*s-t01000-1: \d+ of \d+ bytes kept .*checked by digests/);
    for (const [name, bytes] of data) t.true(readFileSync(join(dest, c.type, 's-t01000-1', name)).equals(bytes), `${name || c.type} byte-identical`);
    if (c.type === 'cache') t.deepEqual(readdirSync(join(dest, 'cache', 's-t01000-1')).sort(), [...data.keys()].sort(), 'no other file');
    t.deepEqual(readdirSync(join(dest, c.type, 'fetching')), [], 'no download or record left');
    t.deepEqual(index((s) => s.storageList()[destId]), [{ Miner: 1000, Number: 1, SectorFileType: FileType[c.type] }]);
    const resent = sent - size;
    const bound = KILLS * perKill(c.streams);
    t.log(`re-sent ${resent} bytes over ${KILLS} kills (bound ${bound}; starting over each time would have re-sent ${restartCost})`);
    t.true(resent >= 0);
    t.true(resent <= bound, `re-sent ${resent} bytes, more than ${KILLS} × ${perKill(c.streams)}`);
    t.true(resent < restartCost, 'less than starting over after each kill would have sent again');
  });
}
