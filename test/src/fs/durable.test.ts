import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DurableTempFile,
  publishExclusive,
  renameDurable,
  replaceFileUnsynced,
  tempPathFor,
  writeFileDurable,
  writeFileDurableSync,
} from '../../../src/fs/durable.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'ss-durable-'));
  dirs.push(d);
  return d;
}
test.after.always(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test('writeFileDurable replaces a file, creates new ones with the mode asked for, and leaves no temp file', async (t) => {
  const dir = tempDir();
  writeFileSync(join(dir, 'config'), 'old');
  await writeFileDurable(join(dir, 'config'), 'new');
  await writeFileDurable(join(dir, 'secret'), new Uint8Array([1, 2, 3]), { mode: 0o600 });
  t.is(readFileSync(join(dir, 'config'), 'utf8'), 'new');
  t.deepEqual([...readFileSync(join(dir, 'secret'))], [1, 2, 3]);
  t.is(statSync(join(dir, 'secret')).mode & 0o777, 0o600);
  t.deepEqual(readdirSync(dir).sort(), ['config', 'secret']);
});

test('writeFileDurableSync creates secrets 0600 and plain files with the default mode, leaving no temp file', (t) => {
  const dir = tempDir();
  writeFileDurableSync(join(dir, 'secret'), 'token', { mode: 0o600 });
  writeFileDurableSync(join(dir, 'plain'), 'data');
  t.is(statSync(join(dir, 'secret')).mode & 0o777, 0o600);
  t.is(statSync(join(dir, 'plain')).mode & 0o077, 0o644 & 0o077 & ~process.umask());
  t.is(readFileSync(join(dir, 'secret'), 'utf8'), 'token');
  t.deepEqual(readdirSync(dir).sort(), ['plain', 'secret']);
});

test('a write that fails leaves the old content intact and no temp file', async (t) => {
  const dir = tempDir();
  const file = join(dir, 'f');
  writeFileSync(file, 'old');
  // fails after the temp file exists: the data cannot be written
  await t.throwsAsync(writeFileDurable(file, 42 as unknown as string), { code: 'ERR_INVALID_ARG_TYPE' });
  t.is(readFileSync(file, 'utf8'), 'old');
  // fails at the rename: the target is a non-empty directory
  const blocked = join(dir, 'blocked');
  mkdirSync(blocked);
  writeFileSync(join(blocked, 'inside'), 'x');
  await t.throwsAsync(writeFileDurable(blocked, 'new'));
  t.throws(() => writeFileDurableSync(blocked, 'new'));
  t.deepEqual(readdirSync(blocked), ['inside']);
  t.deepEqual(readdirSync(dir).sort(), ['blocked', 'f']);
});

test('an exclusive write refuses an existing file with EEXIST and keeps it', async (t) => {
  const dir = tempDir();
  const file = join(dir, 'lock');
  writeFileDurableSync(file, 'first', { exclusive: true });
  t.throws(() => writeFileDurableSync(file, 'second', { exclusive: true }), { code: 'EEXIST' });
  const temp = await DurableTempFile.open(file);
  await temp.handle.writeFile('third');
  await t.throwsAsync(temp.commit({ exclusive: true }), { code: 'EEXIST' });
  await temp.discard();
  t.is(readFileSync(file, 'utf8'), 'first');
  t.deepEqual(readdirSync(dir), ['lock']);
});

test('a DurableTempFile is invisible until committed, and discard leaves the final name untouched', async (t) => {
  const dir = tempDir();
  const file = join(dir, 'sealed');
  const a = await DurableTempFile.open(file);
  await a.handle.write(new Uint8Array([7, 7]), 0, 2, 0);
  t.false(existsSync(file));
  t.true(a.temp.startsWith(join(dir, '.sealed.')) && a.temp.endsWith('.tmp'), a.temp);
  await a.commit();
  await a.discard(); // harmless after a commit
  t.deepEqual([...readFileSync(file)], [7, 7]);
  const b = await DurableTempFile.open(file);
  await b.handle.write(new Uint8Array([9]));
  await b.discard();
  t.deepEqual([...readFileSync(file)], [7, 7]);
  t.deepEqual(readdirSync(dir), ['sealed']);
});

test('renameDurable moves a file; publishExclusive gives a new name only', async (t) => {
  const dir = tempDir();
  writeFileSync(join(dir, 'a'), 'A');
  await renameDurable(join(dir, 'a'), join(dir, 'b'));
  t.deepEqual(readdirSync(dir), ['b']);
  writeFileSync(join(dir, 'c'), 'C');
  await t.throwsAsync(publishExclusive(join(dir, 'c'), join(dir, 'b')), { code: 'EEXIST' });
  t.is(readFileSync(join(dir, 'b'), 'utf8'), 'A');
  await publishExclusive(join(dir, 'c'), join(dir, 'd'));
  t.deepEqual(readdirSync(dir).sort(), ['b', 'd']);
  t.is(tempPathFor('/x/y/z.json').startsWith('/x/y/.z.json.'), true);
});

test('replaceFileUnsynced replaces a file, and one that fails leaves the old content and no temp file', async (t) => {
  const dir = tempDir();
  const file = join(dir, 'progress');
  writeFileSync(file, 'old');
  await replaceFileUnsynced(file, 'new');
  t.is(readFileSync(file, 'utf8'), 'new');
  await t.throwsAsync(replaceFileUnsynced(file, 42 as unknown as string), { code: 'ERR_INVALID_ARG_TYPE' });
  const blocked = join(dir, 'blocked');
  mkdirSync(blocked);
  writeFileSync(join(blocked, 'inside'), 'x');
  await t.throwsAsync(replaceFileUnsynced(blocked, 'new'));
  t.is(readFileSync(file, 'utf8'), 'new');
  t.deepEqual(readdirSync(dir).sort(), ['blocked', 'progress']);
});

for (const mode of ['durable', 'unsynced'] as const) {
  const what = mode === 'durable' ? 'writeFileDurable' : 'replaceFileUnsynced';
  test(`a ${what} writer killed with SIGKILL at a random point leaves one whole version under the name`, async (t) => {
    const seed = Number(process.env.DURABLE_KILL_SEED ?? Date.now() % 1_000_003);
    t.log(`seed ${seed} (DURABLE_KILL_SEED to repeat)`);
    const rounds = 3;
    for (let round = 0; round < rounds; round++) {
      const dir = tempDir();
      const file = join(dir, 'state');
      const child = spawn(process.execPath, [fileURLToPath(new URL('./helpers/durable-writer.js', import.meta.url)), file, mode], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      // kill after a seeded number of completed writes, plus a seeded delay into the next one
      const afterWrites = 1 + ((seed + round * 7919) % 5);
      const delayMs = (seed * (round + 3)) % 7;
      let out = '';
      await new Promise<void>((resolve, reject) => {
        child.on('error', reject);
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if ((out.match(/written/g) ?? []).length >= afterWrites) {
            setTimeout(() => child.kill('SIGKILL'), delayMs);
            resolve();
          }
        });
      });
      await new Promise((r) => child.on('exit', r));
      const data = readFileSync(file);
      t.is(data.length, 1 << 20, `round ${round}: a whole version`);
      t.true(data.every((b) => b === data[0]), `round ${round}: one version's bytes, not a mix`);
      t.true(data[0]! >= afterWrites, `round ${round}: version ${data[0]} is at least the last one reported`);
      // only temp files may remain beside it
      t.true(readdirSync(dir).every((n) => n === 'state' || (n.startsWith('.state.') && n.endsWith('.tmp'))));
    }
  });
}
