/**
 * `GET /piece/{pieceCid}` with `Range` over a running system's dagstore: the piece provider's
 * reader is opened at the range's offset (a spy on it sees the offset and counts the bytes it
 * yields), and ranges are honoured, ignored or refused as RFC 9110 §14 says.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import type { DaemonSystemHandle } from '../../actors/system.js';
import { createRetrievalHandler } from '../../src/api/retrieval-handler.js';
import { SealerPool } from '../../src/pool/pool.js';
import type { PieceReader } from '../../src/storage/piece-provider.js';
import { seededBytes } from '../helpers/bytes.js';
import { startTestSystem } from '../helpers/test-system.js';
import { messageLogger } from '../helpers/log-recorder.js';

const P8M = 6;
const PAYLOAD = 3 * 1024 * 1024 + 1000;

interface Read {
  offset: number;
  size: number;
  pulled: number;
}
interface Ctx {
  dir: string;
  system: DaemonSystemHandle;
  server: Server;
  base: string;
  payload: Uint8Array;
  pieceCid: string;
  pieceOffset: number;
  reads: Read[];
}
const test = anyTest as TestFn<Ctx>;
let pool: SealerPool;
test.before(() => {
  pool = new SealerPool({ threads: 2 });
});
test.after.always(async () => {
  await pool.close();
});

test.beforeEach(async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'piece-range-'));
  const lines: string[] = [];
  const system = await startTestSystem(t, dir, {
    pool,
    sealProof: P8M,
    dagstoreDir: join(dir, 'dagstore'),
    log: messageLogger(lines),
  });
  const payload = seededBytes(PAYLOAD, 7);
  const added = await system.sectors.addPiece({
    source: (async function* () {
      yield payload;
    })(),
    payloadSize: payload.length,
  });
  // a spy on the piece provider the dagstore reads through: where each reader starts, and how
  // many bytes it yields
  const reads: Read[] = [];
  const original = system.pieces.readPiece.bind(system.pieces);
  system.pieces.readPiece = async (ref, offset, size, options) => {
    const reader = await original(ref, offset, size, options);
    const read: Read = { offset, size, pulled: 0 };
    reads.push(read);
    return {
      didUnseal: reader.didUnseal,
      size: reader.size,
      close: () => reader.close(),
      async *[Symbol.asyncIterator]() {
        for await (const chunk of reader) {
          read.pulled += chunk.length;
          yield chunk;
        }
      },
    } satisfies PieceReader;
  };
  const handler = createRetrievalHandler(() => system.dagstore);
  const server = createServer((req, res) => void handler(req, res, { permissions: ['read'] }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  t.context = { dir, system, server, base: `http://127.0.0.1:${port}`, payload, pieceCid: added.pieceCid, pieceOffset: added.offset, reads };
});
test.afterEach.always(async (t) => {
  await new Promise((resolve) => t.context.server?.close(resolve));
  await t.context.system?.stop();
  rmSync(t.context.dir, { recursive: true, force: true });
});

test.serial('a range near the end of a piece is read from its offset: the reader starts there and yields only the range', async (t) => {
  const { base, pieceCid, payload, pieceOffset, reads } = t.context;
  const start = PAYLOAD - 5000;
  let res = await fetch(`${base}/piece/${pieceCid}`, { headers: { Range: `bytes=${start}-${start + 2999}` } });
  t.is(res.status, 206);
  t.is(res.headers.get('content-range'), `bytes ${start}-${start + 2999}/${PAYLOAD}`);
  t.is(res.headers.get('content-length'), '3000');
  t.deepEqual(Buffer.from(await res.arrayBuffer()), Buffer.from(payload.subarray(start, start + 3000)));
  t.deepEqual(reads, [{ offset: pieceOffset + start, size: 3000, pulled: 3000 }]);

  res = await fetch(`${base}/piece/${pieceCid}`, { headers: { Range: 'bytes=-100' } });
  t.is(res.status, 206);
  t.is(res.headers.get('content-range'), `bytes ${PAYLOAD - 100}-${PAYLOAD - 1}/${PAYLOAD}`);
  t.deepEqual(Buffer.from(await res.arrayBuffer()), Buffer.from(payload.subarray(PAYLOAD - 100)));
  t.deepEqual(reads[1], { offset: pieceOffset + PAYLOAD - 100, size: 100, pulled: 100 });

  res = await fetch(`${base}/piece/${pieceCid}`, { headers: { Range: `bytes=${PAYLOAD - 10}-${PAYLOAD + 500}` } });
  t.is(res.status, 206, 'a last position past the end is clamped');
  t.is(res.headers.get('content-range'), `bytes ${PAYLOAD - 10}-${PAYLOAD - 1}/${PAYLOAD}`);
  t.is((await res.arrayBuffer()).byteLength, 10);
  t.deepEqual(reads[2], { offset: pieceOffset + PAYLOAD - 10, size: 10, pulled: 10 });
});

test.serial('unsatisfiable or malformed byte ranges are 416 with Content-Range bytes */size and read nothing; another unit or several overlapping ranges get the whole piece', async (t) => {
  const { base, pieceCid, payload, reads } = t.context;
  for (const range of [`bytes=${PAYLOAD}-`, `bytes=${PAYLOAD + 7}-${PAYLOAD + 9}`, 'bytes=-0', 'bytes=500-100', 'bytes=abc', 'bytes=-', 'bytes', `bytes=${PAYLOAD}-, ${PAYLOAD + 9}-`]) {
    const res = await fetch(`${base}/piece/${pieceCid}`, { headers: { Range: range } });
    t.is(res.status, 416, range);
    t.is(res.headers.get('content-range'), `bytes */${PAYLOAD}`, range);
    t.is((await res.arrayBuffer()).byteLength, 0);
  }
  t.deepEqual(reads, [], 'no reader was opened for a refused range');
  for (const range of ['items=0-10', 'bytes=0-10,20-30']) {
    const res = await fetch(`${base}/piece/${pieceCid}`, { headers: { Range: range } });
    t.is(res.status, 200, range);
    t.is(res.headers.get('content-range'), null);
    // Buffer#equals: ava's deepEqual of megabytes takes longer than the server's keep-alive
    t.true(Buffer.from(await res.arrayBuffer()).equals(payload), range);
  }
  const one = await fetch(`${base}/piece/${pieceCid}`, { headers: { Range: `bytes=${PAYLOAD + 1}-, 10-19` } });
  t.is(one.status, 206, 'of several ranges the one that overlaps the piece is served');
  t.is(one.headers.get('content-range'), `bytes 10-19/${PAYLOAD}`);
  t.deepEqual(Buffer.from(await one.arrayBuffer()), Buffer.from(payload.subarray(10, 20)));
  const head = await fetch(`${base}/piece/${pieceCid}`, { method: 'HEAD', headers: { Range: 'bytes=10-19' } });
  t.is(head.status, 206);
  t.is(head.headers.get('content-length'), '10');
  t.is(reads.length, 3, 'a HEAD opens no reader');
});
