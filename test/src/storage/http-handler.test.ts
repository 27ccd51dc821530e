import { randomBytes } from 'node:crypto';
import { rmSync, truncateSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { FileType } from '../../../src/sector/sector-id.js';
import { SEND_BLOCK } from '../../../src/storage/http-serve.js';
import { extractTar } from '../../../src/storage/tar.js';
import {
  adminToken,
  authority,
  type Manager,
  makeManager,
  makeNode,
  makePath,
  type Node,
  readToken,
  tempDir,
  writeSectorEntry,
} from './storage-fixtures.js';

const test = anyTest as TestFn<{ m: Manager; node: Node; dir: string; id: string; sealed: Buffer; root: string }>;
const S1 = { miner: 1000, number: 1 };

test.beforeEach(async (t) => {
  t.context.m = makeManager();
  t.context.dir = tempDir();
  t.context.node = await makeNode(t.context.m.catalog);
  const root = makePath(t.context.dir, 'store', { canStore: true });
  t.context.root = root;
  t.context.sealed = writeSectorEntry(root, 'sealed', S1, 10_000);
  writeSectorEntry(root, 'cache', S1, 3000);
  t.context.id = (await t.context.node.local.addLocalPath(root)).ID;
});
test.afterEach.always(async (t) => {
  await t.context.node.close();
  t.context.m.close();
  rmSync(t.context.dir, { recursive: true, force: true });
});

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A raw request: the path is sent exactly as given (no URL normalisation of `..`). */
function send(node: Node, path: string, options: { token?: string | null; method?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  const u = new URL(node.url);
  const headers: Record<string, string> = { ...options.headers };
  const token = options.token === undefined ? adminToken : options.token;
  if (token !== null) headers.Authorization = `Bearer ${token}`;
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, method: options.method ?? 'GET', headers }, async (res) => {
      const parts: Buffer[] = [];
      for await (const c of res) parts.push(c as Buffer);
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) });
    });
    req.on('error', reject);
    req.end();
  });
}

const json = (r: Reply) => JSON.parse(r.body.toString('utf8'));

test('requests without a token, with a bad token or without admin permission are refused', async (t) => {
  const { node } = t.context;
  const none = await send(node, '/remote/sealed/s-t01000-1', { token: null });
  t.is(none.status, 401);
  t.regex(json(none).Error, /admin permission is required/);
  const bad = await send(node, '/remote/sealed/s-t01000-1', { token: 'a.b.c' });
  t.is(bad.status, 401);
  const forged = await send(node, '/remote/sealed/s-t01000-1', { token: `${adminToken.slice(0, -2)}xx` });
  t.is(forged.status, 401);
  t.regex(json(forged).Error, /signature/);
  const weak = await send(node, '/remote/sealed/s-t01000-1', { token: readToken });
  t.is(weak.status, 403);
  t.regex(json(weak).Error, /missing admin permission/);
  t.is(authority.verifyToken(readToken).includes('admin'), false);
});

test('dot-dot, absolute and encoded-slash paths are refused before anything is resolved', async (t) => {
  const { node } = t.context;
  for (const path of [
    '/remote/../sectorstore.json',
    '/remote/sealed/../../etc/passwd',
    '/remote/sealed/%2e%2e',
    '/remote/sealed//etc/passwd',
    '/remote//etc/passwd',
    '/remote/sealed/%2Fetc%2Fpasswd',
    '/remote/stat/..%2F..%2Fx',
    '/remote/sealed/s-t01000-1%00',
  ]) {
    const r = await send(node, path);
    t.is(r.status, 400, path);
    t.regex(json(r).Error, /refused|empty path segment/, path);
  }
});

test('unknown file types and malformed sector names are 400 with the reason', async (t) => {
  const { node } = t.context;
  const type = await send(node, '/remote/sectorstore.json/s-t01000-1');
  t.is(type.status, 400);
  t.regex(json(type).Error, /"sectorstore.json" is not a sector file type/);
  const name = await send(node, '/remote/sealed/s-t01000-01');
  t.is(name.status, 400);
  t.regex(json(name).Error, /is not a sector file name/);
  const proof = await send(node, '/remote/unsealed/s-t01000-1/99/allocated/0/127');
  t.is(proof.status, 400);
  t.is((await send(node, '/remote/sealed/s-t01000-1/extra')).status, 404);
  t.is((await send(node, '/remote/sealed/s-t01000-1', { method: 'PUT' })).status, 405);
});

test('only files the index says this node holds are served', async (t) => {
  const { node, m, id } = t.context;
  const unknown = await send(node, '/remote/sealed/s-t01000-9');
  t.is(unknown.status, 404);
  t.regex(json(unknown).Error, /not stored on this node/);
  // on disk but no longer declared: not served
  m.store.storageDropSector(id, S1, FileType.sealed);
  t.is((await send(node, '/remote/sealed/s-t01000-1')).status, 404);
});

test('a declared entry that became a symbolic link is not served', async (t) => {
  const { node, root } = t.context;
  const fs = await import('node:fs');
  fs.rmSync(`${root}/sealed/s-t01000-1`);
  fs.symlinkSync('/etc/passwd', `${root}/sealed/s-t01000-1`);
  const r = await send(node, '/remote/sealed/s-t01000-1');
  t.is(r.status, 403);
  t.notRegex(r.body.toString(), /root:/);
});

test('a file is served whole or by range', async (t) => {
  const { node, sealed } = t.context;
  const whole = await send(node, '/remote/sealed/s-t01000-1');
  t.is(whole.status, 200);
  t.is(whole.headers['content-type'], 'application/octet-stream');
  t.deepEqual(whole.body, sealed);
  const part = await send(node, '/remote/sealed/s-t01000-1', { headers: { Range: 'bytes=100-199' } });
  t.is(part.status, 206);
  t.is(part.headers['content-range'], 'bytes 100-199/10000');
  t.deepEqual(part.body, sealed.subarray(100, 200));
  const tail = await send(node, '/remote/sealed/s-t01000-1', { headers: { Range: 'bytes=9990-' } });
  t.deepEqual(tail.body, sealed.subarray(9990));
  const bad = await send(node, '/remote/sealed/s-t01000-1', { headers: { Range: 'bytes=20000-' } });
  t.is(bad.status, 416);
  t.is(bad.headers['content-range'], 'bytes */10000');
});

test('a /remote range request is answered as Go\'s ServeContent answers Lotus fetchers: ranges past the end dropped, several refused', async (t) => {
  const { node, sealed } = t.context;
  const one = await send(node, '/remote/sealed/s-t01000-1', { headers: { Range: 'bytes=20000-, 100-199' } });
  t.is(one.status, 206, 'a range past the end does not make the set unsatisfiable');
  t.is(one.headers['content-range'], 'bytes 100-199/10000');
  t.deepEqual(one.body, sealed.subarray(100, 200));
  for (const range of ['bytes=0-9, 100-199', 'bytes=50-10', 'bytes=x-', 'items=0-9', 'bytes=', 'bytes=-0']) {
    const r = await send(node, '/remote/sealed/s-t01000-1', { headers: { Range: range } });
    t.is(r.status, 416, range);
    t.is(r.headers['content-range'], 'bytes */10000', range);
    t.regex(JSON.parse(r.body.toString()).Error, /not satisfiable: \S/, range);
  }
});

test('a range spanning several read blocks of the holder arrives byte for byte', async (t) => {
  const { node, root } = t.context;
  const data = randomBytes(3 * SEND_BLOCK + 12_345);
  writeFileSync(join(root, 'sealed', 's-t01000-1'), data);
  const from = 777;
  const to = data.length - 6;
  const part = await send(node, '/remote/sealed/s-t01000-1', { headers: { Range: `bytes=${from}-${to}` } });
  t.is(part.status, 206);
  t.is(part.body.length, to + 1 - from);
  t.true(part.body.equals(data.subarray(from, to + 1)));
});

test('a file that shrinks while it is served cuts the connection instead of ending the body short on a kept-alive connection', async (t) => {
  const { node, root } = t.context;
  const path = join(root, 'sealed', 's-t01000-1');
  const size = 64 * 1024 * 1024;
  writeFileSync(path, Buffer.alloc(size, 7));
  const u = new URL(node.url);
  const agent = new Agent({ keepAlive: true });
  t.teardown(() => agent.destroy());
  const outcome = await new Promise<{ received: number; how: string }>((resolve, reject) => {
    const req = request(
      { host: u.hostname, port: u.port, path: '/remote/sealed/s-t01000-1', agent, headers: { Authorization: `Bearer ${adminToken}` } },
      (res) => {
        let received = 0;
        let truncated = false;
        const timer = setTimeout(() => resolve({ received, how: 'still open after 10 s' }), 10_000);
        res.on('data', (c: Buffer) => {
          received += c.length;
          if (truncated) return;
          truncated = true;
          // the holder reads at most two blocks ahead of what the socket took: far below 32 MiB
          res.pause();
          truncateSync(path, size / 2);
          res.resume();
        });
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ received, how: 'ended' });
        });
        res.on('error', () => {
          clearTimeout(timer);
          resolve({ received, how: 'cut' });
        });
        res.on('aborted', () => {
          clearTimeout(timer);
          resolve({ received, how: 'cut' });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
  t.is(outcome.how, 'cut');
  t.true(outcome.received < size);
});

test('a cache directory is served as a tar stream', async (t) => {
  const { node, dir } = t.context;
  const r = await send(node, '/remote/cache/s-t01000-1');
  t.is(r.status, 200);
  t.is(r.headers['content-type'], 'application/x-tar');
  t.is(Number(r.headers['content-length']), r.body.length);
  const names = await extractTar((async function* () { yield r.body; })(), `${dir}/x`);
  t.deepEqual(names.sort(), ['p_aux', 'sc-02-data-tree-r-last.dat', 't_aux']);
  const ranged = await send(node, '/remote/cache/s-t01000-1', { headers: { Range: 'bytes=0-10' } });
  t.is(ranged.status, 400);
});

test('stat answers for local paths and 404 for others', async (t) => {
  const { node, id } = t.context;
  const r = await send(node, `/remote/stat/${id}`);
  t.is(r.status, 200);
  t.true(json(r).Capacity > 0);
  t.is((await send(node, '/remote/stat/not-here')).status, 404);
});

test('DELETE removes this node\'s copy and its declaration', async (t) => {
  const { node, m, root } = t.context;
  const r = await send(node, '/remote/sealed/s-t01000-1', { method: 'DELETE' });
  t.is(r.status, 200);
  t.deepEqual(m.store.storageFindSector(S1, FileType.sealed, 0, false), []);
  t.is((await send(node, '/remote/sealed/s-t01000-1', { method: 'DELETE' })).status, 404);
  t.false((await import('node:fs')).existsSync(`${root}/sealed/s-t01000-1`));
});

test('a suffix range of an empty file is unsatisfiable (416), not a 206 with an inverted Content-Range', async (t) => {
  const { node, id, root } = t.context;
  const S2 = { miner: 1000, number: 2 };
  writeSectorEntry(root, 'unsealed', S2, 0);
  await node.local.declareSector(id, S2, 'unsealed', true);
  const whole = await send(node, '/remote/unsealed/s-t01000-2');
  t.is(whole.status, 200);
  t.is(whole.body.length, 0);
  const suffix = await send(node, '/remote/unsealed/s-t01000-2', { headers: { Range: 'bytes=-5' } });
  t.is(suffix.status, 416);
  t.is(suffix.headers['content-range'], 'bytes */0');
  const tail = await send(node, '/remote/sealed/s-t01000-1', { headers: { Range: 'bytes=-10' } });
  t.is(tail.status, 206);
  t.is(tail.headers['content-range'], 'bytes 9990-9999/10000');
});

test('DELETE of a copy only another node holds is 404 and leaves that copy and its declaration alone', async (t) => {
  const { m, dir } = t.context;
  const other = await makeNode(m.catalog);
  t.teardown(() => other.close());
  const S3 = { miner: 1000, number: 3 };
  const root = makePath(dir, 'other', { canStore: true });
  writeSectorEntry(root, 'sealed', S3, 1000);
  const { ID } = await other.local.openPath(root);
  const r = await send(t.context.node, '/remote/sealed/s-t01000-3', { method: 'DELETE' });
  t.is(r.status, 404);
  t.regex(json(r).Error, /not stored on this node; nothing removed/);
  t.true((await import('node:fs')).existsSync(`${root}/sealed/s-t01000-3`));
  t.deepEqual(m.store.storageFindSector(S3, FileType.sealed, 0, false).map((h) => h.ID), [ID]);
});

test('a remove goes on to the next URL of a holder when the first node answers that it holds no copy', async (t) => {
  const { m, dir, node } = t.context;
  const holder = await makeNode(m.catalog);
  t.teardown(() => holder.close());
  const S3 = { miner: 1000, number: 3 };
  const root = makePath(dir, 'shared', { canStore: true });
  writeSectorEntry(root, 'sealed', S3, 1000);
  const { readStorageMeta } = await import('../../../src/storage/storage-config.js');
  const meta = readStorageMeta(root);
  // the path is attached with this node's URL first (as by a node mounting the same filesystem
  // that has not opened it), then by the node that holds it
  const stat = { Capacity: 1, Available: 1, FSAvailable: 1, Reserved: 0, Max: 0, Used: 0 };
  m.store.storageAttach({ ID: meta.ID, URLs: [node.url], Weight: 10, MaxStorage: 0, CanSeal: false, CanStore: true }, stat);
  await holder.local.openPath(root);
  t.deepEqual(m.store.storageInfo(meta.ID).URLs, [node.url, holder.url]);
  const fetcher = await makeNode(m.catalog);
  t.teardown(() => fetcher.close());
  await fetcher.remote.remove(S3, FileType.sealed, false);
  t.false((await import('node:fs')).existsSync(`${root}/sealed/s-t01000-3`), 'the holder removed its copy');
  t.deepEqual(m.store.storageFindSector(S3, FileType.sealed, 0, false), []);
  t.true(fetcher.logs.some((l) => /404/.test(l)), 'the first URL answered 404');
});

test('a range request whose If-Range no longer matches the file gets the whole file, as Go\'s ServeContent answers', async (t) => {
  const { node, root, sealed } = t.context;
  const first = await send(node, '/remote/sealed/s-t01000-1', { headers: { Range: 'bytes=0-0' } });
  const etag = first.headers.etag as string;
  const lastModified = first.headers['last-modified'] as string;
  t.regex(etag, /^"[0-9a-f]+-[0-9a-f]+-[0-9a-f]+"$/, 'a strong ETag');
  for (const validator of [etag, lastModified]) {
    const r = await send(node, '/remote/sealed/s-t01000-1', { headers: { Range: 'bytes=10-19', 'If-Range': validator } });
    t.is(r.status, 206, `If-Range ${validator} still matches`);
    t.deepEqual(r.body, sealed.subarray(10, 20));
  }
  // the file is replaced by another version (a new inode, another modification time)
  const { renameSync, utimesSync, writeFileSync } = await import('node:fs');
  const next = Buffer.alloc(sealed.length, 7);
  writeFileSync(`${root}/sealed/.replacement`, next);
  utimesSync(`${root}/sealed/.replacement`, new Date(), new Date(Date.now() + 5000));
  renameSync(`${root}/sealed/.replacement`, `${root}/sealed/s-t01000-1`);
  for (const validator of [etag, lastModified]) {
    const r = await send(node, '/remote/sealed/s-t01000-1', { headers: { Range: 'bytes=10-19', 'If-Range': validator } });
    t.is(r.status, 200, `If-Range ${validator} no longer matches`);
    t.is(r.headers['content-range'], undefined);
    t.deepEqual(r.body, next, 'the whole new version, never a range of it to splice with the old one');
    t.not(r.headers.etag, etag);
  }
});

test('the files and digests routes refuse bad input with the reason and a code', async (t) => {
  const { node } = t.context;
  const cases: [string, number, RegExp][] = [
    ['/remote/sealed/s-t01000-1/files', 400, /only cache directories have files, not sealed/],
    ['/remote/cache/s-t01000-1/files/nope', 404, /has no file "nope"/],
    ['/remote/cache/s-t01000-1/files/..', 400, /no relative paths/],
    ['/remote/cache/s-t01000-1/files/a%2Fb', 400, /paths are not accepted/],
    ['/remote/cache/s-t01000-9/files', 404, /not stored on this node/],
    ['/remote/sealed/s-t01000-1/digests/1/100', 400, /digest offset 1 is not a multiple of 4194304/],
    ['/remote/sealed/s-t01000-1/digests/0/10001', 416, /ends past the 10000-byte file/],
    ['/remote/sealed/s-t01000-1/digests/0/-5', 400, /length/],
    ['/remote/sealed/s-t01000-1/digests/zero/5', 400, /offset/],
    ['/remote/cache/s-t01000-1/digests/0/5', 400, /is a directory: ask for the digests of its files/],
    ['/remote/cache/s-t01000-1/files/p_aux/digests/0/65', 416, /ends past the 64-byte file/],
  ];
  for (const [path, status, message] of cases) {
    const r = await send(node, path);
    t.is(r.status, status, path);
    t.regex(json(r).Error, message, path);
    t.is(json(r).code, status === 404 ? 'FILE_NOT_FOUND' : 'INVALID_ARGUMENT', path);
  }
  const ok = await send(node, '/remote/cache/s-t01000-1/files/p_aux/digests/0/64');
  t.is(ok.status, 200);
  const { createHash } = await import('node:crypto');
  const { readFileSync } = await import('node:fs');
  const want = createHash('sha256').update(readFileSync(`${t.context.root}/cache/s-t01000-1/p_aux`)).digest();
  t.deepEqual(ok.body, want, 'the digest of the file\'s bytes');
  const list = await send(node, '/remote/cache/s-t01000-1/files');
  t.deepEqual(json(list), [
    { name: 'p_aux', size: 64 },
    { name: 'sc-02-data-tree-r-last.dat', size: 3000 },
    { name: 't_aux', size: 7 },
  ]);
});
