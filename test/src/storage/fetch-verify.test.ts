/**
 * The check of the bytes a download kept before a resume relies on them, against a holder's
 * `/remote` handler: chunk digests window by window, or (holder without digests) the last chunk
 * of each flushed range.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { DIGEST_CHUNK } from '../../../src/storage/fetch-protocol.js';
import { type CheckStats, verifyClaim } from '../../../src/storage/fetch-verify.js';
import { createRemoteHandler } from '../../../src/storage/http-handler.js';
import { adminToken, authority, makeManager, makeNode, makePath } from './storage-fixtures.js';
import { silentLogger } from '../../../src/log/logger.js';

const SIZE = 6 * DIGEST_CHUNK + 1000;

/** A holder of a sealed file of SIZE random bytes behind a server that can refuse routes; the requests it saw. */
async function holder(t: { teardown: (f: () => unknown) => void }, refuse: (url: string) => boolean) {
  const m = makeManager();
  const dir = mkdtempSync(join(tmpdir(), 'ss-fetch-verify-'));
  const node = await makeNode(m.catalog);
  const root = makePath(dir, 'h', { canStore: true });
  const data = randomBytes(SIZE);
  writeFileSync(join(root, 'sealed', 's-t01000-1'), data);
  await node.local.addLocalPath(root);
  const handler = createRemoteHandler({ local: node.local, verify: (tok) => authority.verifyToken(tok), log: silentLogger() });
  const seen: string[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    seen.push(`${req.url}${req.headers.range ? ` ${req.headers.range}` : ''}`);
    if (refuse(req.url ?? '')) {
      res.writeHead(404).end();
      return;
    }
    void handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(async () => {
    server.closeAllConnections();
    server.close();
    await node.close();
    m.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/remote/sealed/s-t01000-1`;
  return { url, data, seen, dir };
}

const options = (extra: { digestWindow?: number } = {}) => ({
  headers: (e: Record<string, string> = {}) => ({ Authorization: `Bearer ${adminToken}`, ...e }),
  idleMs: 10_000,
  log: silentLogger(),
  ...extra,
});

test('kept bytes are checked window by window against the holder\'s chunk digests, and only matching whole chunks are kept', async (t) => {
  const h = await holder(t, () => false);
  const local = Buffer.from(h.data);
  local[3 * DIGEST_CHUNK + 5] = (local[3 * DIGEST_CHUNK + 5] as number) ^ 0xff; // chunk 3 damaged
  const path = join(h.dir, 'download');
  writeFileSync(path, local);
  const stats: CheckStats = { check: 'none', received: 0 };
  // claimed: all but the first 100 bytes (chunk 0 is partial, so not checked) up to the end
  const kept = await verifyClaim({ url: h.url, path, size: SIZE }, { synced: [], written: [[100, SIZE]] }, options({ digestWindow: 2 * DIGEST_CHUNK }), stats);
  t.deepEqual(kept, [
    [DIGEST_CHUNK, 3 * DIGEST_CHUNK],
    [4 * DIGEST_CHUNK, SIZE],
  ]);
  t.is(stats.check, 'digests');
  t.deepEqual(
    h.seen.filter((u) => u.includes('/digests/')),
    [
      `/remote/sealed/s-t01000-1/digests/${DIGEST_CHUNK}/${2 * DIGEST_CHUNK}`,
      `/remote/sealed/s-t01000-1/digests/${3 * DIGEST_CHUNK}/${2 * DIGEST_CHUNK}`,
      `/remote/sealed/s-t01000-1/digests/${5 * DIGEST_CHUNK}/${DIGEST_CHUNK + 1000}`,
    ],
    'three windows of at most two chunks',
  );
});

test('without the digests route only flushed ranges count, and only if the last chunk of each matches', async (t) => {
  const h = await holder(t, (u) => u.includes('/digests/'));
  const path = join(h.dir, 'download');
  writeFileSync(path, h.data);
  const fh = await open(path, 'r');
  t.teardown(() => fh.close());
  const stats: CheckStats = { check: 'none', received: 0 };
  const claim = { synced: [[0, 2 * DIGEST_CHUNK]] as [number, number][], written: [[0, 5 * DIGEST_CHUNK]] as [number, number][] };
  const kept = await verifyClaim({ url: h.url, path, size: SIZE, fh }, claim, options(), stats);
  t.deepEqual(kept, [[0, 2 * DIGEST_CHUNK]], 'written but unflushed bytes are not trusted');
  t.is(stats.check, 'last-chunk');
  t.is(stats.received, DIGEST_CHUNK, 'the last chunk of the flushed range was fetched again');
  t.true(h.seen.includes(`/remote/sealed/s-t01000-1 bytes=${DIGEST_CHUNK}-${2 * DIGEST_CHUNK - 1}`));

  const damaged = Buffer.from(h.data);
  damaged[2 * DIGEST_CHUNK - 1] = (damaged[2 * DIGEST_CHUNK - 1] as number) ^ 1;
  writeFileSync(path, damaged);
  t.deepEqual(await verifyClaim({ url: h.url, path, size: SIZE, fh }, claim, options(), { check: 'none', received: 0 }), [], 'a mismatch keeps nothing');
});
