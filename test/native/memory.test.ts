/** Aligned buffers for direct I/O (native/src/napi_memory.c). */
import { constants, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { alignedBuffer, DIRECT_IO_ALIGN } from '../../native/memory.js';

test('an aligned buffer can be written with O_DIRECT, where a plain Buffer of the same size is refused', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ss-aligned-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'f');
  const fh = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_DIRECT);
  try {
    const size = 4 * 1024 * 1024;
    const buf = alignedBuffer(size);
    t.is(buf.length, size);
    buf.fill(0xa5);
    const { bytesWritten } = await fh.write(buf, 0, size, 0);
    t.is(bytesWritten, size);
    // Node's allocator places large buffers 16 bytes into a page (glibc mmap chunks)
    await t.throwsAsync(() => fh.write(Buffer.alloc(size), 0, size, 0), { code: 'EINVAL' });
  } finally {
    await fh.close();
  }
  t.true(readFileSync(path).equals(Buffer.alloc(4 * 1024 * 1024, 0xa5)));
});

test('alignedBuffer refuses sizes and alignments it cannot give', (t) => {
  t.throws(() => alignedBuffer(0), { instanceOf: RangeError, message: /bytes/ });
  t.throws(() => alignedBuffer(4096, 3000), { instanceOf: RangeError, message: /power of two/ });
  t.throws(() => alignedBuffer(4096, 4), { instanceOf: RangeError, message: /power of two/ });
  t.is(alignedBuffer(1, DIRECT_IO_ALIGN).length, 1);
});
