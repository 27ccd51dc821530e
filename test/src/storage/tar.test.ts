import { mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { extractTar, listTarEntries, parseHeader, tarDirectory, tarHeader, tarSize } from '../../../src/storage/tar.js';
import { tempDir } from './storage-fixtures.js';

const test = anyTest as TestFn<{ dir: string }>;
test.beforeEach((t) => {
  t.context.dir = tempDir('ss-tar-');
});
test.afterEach.always((t) => {
  rmSync(t.context.dir, { recursive: true, force: true });
});

async function collect(src: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of src) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

async function* chunked(buf: Buffer, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

function header(name: string, overrides: (h: Buffer) => void = () => {}): Buffer {
  const h = tarHeader({ name, size: 3, mtimeMs: 0, mode: 0o644 });
  overrides(h);
  // recompute the checksum after an override
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return h;
}

test('a flat directory round-trips through the tar writer and reader, in any chunking', async (t) => {
  const src = join(t.context.dir, 'src');
  mkdirSync(src);
  writeFileSync(join(src, 'p_aux'), Buffer.alloc(64, 9));
  writeFileSync(join(src, 'empty'), '');
  writeFileSync(join(src, 'tree'), Buffer.from(Array.from({ length: 5000 }, (_, i) => i & 0xff)));
  const entries = await listTarEntries(src);
  const archive = await collect(tarDirectory(src, entries));
  t.is(archive.length, tarSize(entries));
  for (const chunk of [1, 7, 512, 100_000]) {
    const dst = join(t.context.dir, `dst-${chunk}`);
    const names = await extractTar(chunked(archive, chunk), dst);
    t.deepEqual(names.sort(), ['empty', 'p_aux', 'tree']);
    for (const n of names) t.true(readFileSync(join(dst, n)).equals(readFileSync(join(src, n))));
  }
});

test('sizes of 8 GiB and more use the base-256 size field and parse back', (t) => {
  const size = 32 * 1024 ** 3;
  const h = tarHeader({ name: 'sc-02-data-layer-1.dat', size, mtimeMs: 0, mode: 0o644 });
  t.is(h[124], 0x80);
  t.deepEqual(parseHeader(h), { name: 'sc-02-data-layer-1.dat', size, mode: 0o644 });
});

test('the reader refuses names with a slash or dot-dot, non-regular entries and bad checksums', async (t) => {
  const end = Buffer.alloc(1024);
  const body = Buffer.concat([Buffer.from('abc'), Buffer.alloc(509)]);
  const cases: [Buffer, RegExp][] = [
    [header('x', (h) => h.write('../etc/passwd\0', 0, 'latin1')), /not a plain file name/],
    [header('x', (h) => h.write('a/b\0', 0, 'latin1')), /not a plain file name/],
    [header('x', (h) => h.write('..\0', 0, 'latin1')), /not a plain file name/],
    [header('x', (h) => { h[156] = 0x32; }), /is not a regular file/],
    [header('x', (h) => { h[156] = 0x35; }), /is not a regular file/],
    [header('x', (h) => h.write('dir\0', 345, 'latin1')), /directory prefix/],
  ];
  for (const [h, msg] of cases) {
    const dst = join(t.context.dir, 'out');
    await t.throwsAsync(extractTar(chunked(Buffer.concat([h, body, end]), 512), dst), { code: 'FETCH_FAILED', message: msg });
    t.deepEqual(readdirSync(dst), [], 'nothing was written');
    rmSync(dst, { recursive: true });
  }
  const bad = tarHeader({ name: 'x', size: 3, mtimeMs: 0, mode: 0o644 });
  bad[0] = 0x79; // changes the name without fixing the checksum
  await t.throwsAsync(extractTar(chunked(Buffer.concat([bad, body, end]), 512), join(t.context.dir, 'o2')), {
    code: 'FETCH_FAILED',
    message: /checksum mismatch/,
  });
});

test('a truncated archive is an error, not a short file', async (t) => {
  const h = tarHeader({ name: 'x', size: 3000, mtimeMs: 0, mode: 0o644 });
  await t.throwsAsync(extractTar(chunked(Buffer.concat([h, Buffer.alloc(1000)]), 100), join(t.context.dir, 'o')), {
    code: 'FETCH_FAILED',
    message: /truncated/,
  });
  await t.throwsAsync(extractTar(chunked(Buffer.concat([h, Buffer.alloc(3072)]), 100), join(t.context.dir, 'o3')), {
    code: 'FETCH_FAILED',
    message: /without its end-of-archive/,
  });
});

test('the writer refuses directories that are not flat', async (t) => {
  const src = join(t.context.dir, 'src');
  mkdirSync(join(src, 'sub'), { recursive: true });
  await t.throwsAsync(listTarEntries(src), { code: 'INVALID_ARGUMENT', message: /sub is not a regular file/ });
  rmSync(join(src, 'sub'), { recursive: true });
  symlinkSync('/etc/passwd', join(src, 'link'));
  await t.throwsAsync(listTarEntries(src), { code: 'INVALID_ARGUMENT', message: /link is not a regular file/ });
});
