import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import {
  addStorageConfigPath,
  initStoragePath,
  readStorageConfig,
  readStorageConfigOrEmpty,
  readStorageMeta,
  removeStorageConfigPath,
  writeStorageConfig,
} from '../../../src/storage/storage-config.js';

const test = anyTest as TestFn<{ dir: string }>;

test.beforeEach((t) => {
  t.context.dir = mkdtempSync(join(tmpdir(), 'ss-config-'));
});
test.afterEach.always((t) => {
  rmSync(t.context.dir, { recursive: true, force: true });
});

test('storage.json is written pretty-printed and read back', (t) => {
  const file = join(t.context.dir, 'storage.json');
  writeStorageConfig(file, { StoragePaths: [{ Path: '/a' }, { Path: '/b' }] });
  t.is(readFileSync(file, 'utf8'), '{\n  "StoragePaths": [\n    {\n      "Path": "/a"\n    },\n    {\n      "Path": "/b"\n    }\n  ]\n}\n');
  t.deepEqual(readStorageConfig(file), { StoragePaths: [{ Path: '/a' }, { Path: '/b' }] });
});

test('a missing storage.json is an error when reading and empty when about to write', (t) => {
  const file = join(t.context.dir, 'storage.json');
  t.throws(() => readStorageConfig(file), { code: 'FILE_NOT_FOUND', message: /does not exist/ });
  t.deepEqual(readStorageConfigOrEmpty(file), { StoragePaths: [] });
  t.true(addStorageConfigPath(file, join(t.context.dir, 'p1')));
  t.false(addStorageConfigPath(file, join(t.context.dir, 'p1')), 'the same path is not listed twice');
  t.deepEqual(readStorageConfig(file).StoragePaths, [{ Path: join(t.context.dir, 'p1') }]);
  t.true(removeStorageConfigPath(file, join(t.context.dir, 'p1')));
  t.false(removeStorageConfigPath(file, join(t.context.dir, 'p1')));
});

test('a corrupted storage.json is refused with the file named', (t) => {
  const file = join(t.context.dir, 'storage.json');
  writeFileSync(file, '{"StoragePaths": [{"Path": "relative/p"}]}');
  t.throws(() => readStorageConfig(file), { code: 'STORAGE_CONFIG_INVALID', message: /not absolute/ });
  writeFileSync(file, '{"StoragePaths": ');
  t.throws(() => readStorageConfig(file), { code: 'STORAGE_CONFIG_INVALID', message: /storage\.json is not valid JSON/ });
});

test('initStoragePath creates the type directories and a sectorstore.json with a fresh id', (t) => {
  const p = join(t.context.dir, 'store');
  const meta = initStoragePath(p, { weight: 20, canSeal: true, maxStorage: 1 << 30 });
  for (const d of ['unsealed', 'sealed', 'cache']) t.true(existsSync(join(p, d)));
  t.regex(meta.ID, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  t.deepEqual(readStorageMeta(p), { ID: meta.ID, Weight: 20, CanSeal: true, CanStore: false, MaxStorage: 1 << 30 });
  const other = initStoragePath(join(t.context.dir, 'store2'), { canStore: true });
  t.not(other.ID, meta.ID);
  t.is(other.Weight, 10);
});

test('initStoragePath refuses a path that already has a sectorstore.json', (t) => {
  const p = join(t.context.dir, 'store');
  const meta = initStoragePath(p, { canStore: true });
  t.throws(() => initStoragePath(p, { canSeal: true }), { code: 'STORAGE_EXISTS', message: /already initialised/ });
  t.is(readStorageMeta(p).ID, meta.ID, 'the existing metadata is untouched');
});

test('a corrupted sectorstore.json is refused with a clear error', (t) => {
  const p = join(t.context.dir, 'store');
  mkdirSync(p);
  const cases: [string, RegExp][] = [
    ['{"ID": "abc", "Weight": 10', /not valid JSON/],
    ['[1,2]', /expected a JSON object/],
    ['{"Weight": 10}', /"ID" must be/],
    ['{"ID": "../x", "Weight": 10}', /"ID" must be/],
    ['{"ID": "abc", "Weight": -1}', /"Weight" must be a non-negative integer/],
    ['{"ID": "abc", "Weight": 1, "CanSeal": "yes"}', /"CanSeal" must be true or false/],
    ['{"ID": "abc", "Weight": 1, "MaxStorage": 1.5}', /"MaxStorage" must be/],
  ];
  for (const [text, msg] of cases) {
    writeFileSync(join(p, 'sectorstore.json'), text);
    t.throws(() => readStorageMeta(p), { code: 'STORAGE_CONFIG_INVALID', message: msg }, text);
  }
});

test('reading metadata of a path that does not exist names the path', (t) => {
  const p = join(t.context.dir, 'nope');
  t.throws(() => readStorageMeta(p), { code: 'STORAGE_NOT_FOUND', message: /does not exist/ });
  mkdirSync(p);
  t.throws(() => readStorageMeta(p), { code: 'STORAGE_CONFIG_INVALID', message: /no sectorstore\.json/ });
});
