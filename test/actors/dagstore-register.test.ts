/**
 * Adding a deal piece and registering its shard never end half-done for the caller: a shard
 * registration that fails after the piece is in its sector (an injected failure of the shard
 * record's save) leaves the add successful, logs the error with the piece and sector, leaves no
 * shard and none of the handed-over files, and the shard is registered lazily later: on the next
 * GC interval of the running daemon, or at the next start.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CarReader } from '@ipld/car/reader';
import Database from 'better-sqlite3';
import anyTest, { type TestFn } from 'ava';
import type { DaemonSystemHandle, DaemonSystemOptions } from '../../actors/system.js';
import { SealerPool } from '../../src/pool/pool.js';
import { messageLogger } from '../helpers/log-recorder.js';
import { startTestSystem } from '../helpers/test-system.js';

const fixtures = fileURLToPath(new URL('../../../test/fixtures/', import.meta.url));
const P2K = 5;

interface Ctx {
  dir: string;
  systems: DaemonSystemHandle[];
  lines: string[];
  start(extra?: Partial<DaemonSystemOptions>): Promise<DaemonSystemHandle>;
}
const test = anyTest as TestFn<Ctx>;
let pool: SealerPool;
test.before(() => {
  pool = new SealerPool({ threads: 2 });
});
test.after.always(async () => {
  await pool.close();
});
test.beforeEach((t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dagstore-register-'));
  const systems: DaemonSystemHandle[] = [];
  const lines: string[] = [];
  t.context = {
    dir,
    systems,
    lines,
    async start(extra = {}) {
      const d = await startTestSystem(t, dir, {
        pool,
        sealProof: P2K,
        dagstoreDir: join(dir, 'dagstore'),
        log: messageLogger(lines),
        ...extra,
      });
      systems.push(d);
      return d;
    },
  };
});
test.afterEach.always(async (t) => {
  for (const d of t.context.systems) await d.stop();
  rmSync(t.context.dir, { recursive: true, force: true });
});

async function* once(bytes: Uint8Array) {
  yield bytes;
}

/** Makes the next `count` saves of a new shard record fail, as a full disk would. */
function failShardRegistration(d: DaemonSystemHandle, count = 1): void {
  const register = d.index.shards.register.bind(d.index.shards);
  let left = count;
  d.index.shards.register = async (...args) => {
    if (left-- > 0) throw new Error('SQLITE_FULL: database or disk is full (injected)');
    return register(...args);
  };
}

/** The blocks of an acquired shard are the CAR's, byte for byte. */
async function sameBlocks(t: { deepEqual: (a: unknown, b: unknown, m?: string) => void }, d: DaemonSystemHandle, pieceCid: string, car: Uint8Array) {
  const acc = await d.dagstore!.acquireShard(pieceCid);
  try {
    for await (const b of (await CarReader.fromBytes(car)).blocks()) t.deepEqual(Buffer.from(await acc.blocks.get(b.cid)), Buffer.from(b.bytes), b.cid.toString());
  } finally {
    await acc.close();
  }
}

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 3000; i++) {
    if (await check()) return;
    await new Promise((res) => setTimeout(res, 10));
  }
  throw new Error(`${what} never happened`);
}

test.serial('an imported CAR whose shard cannot be registered is still added: the error is logged, nothing is half-registered, and the next GC interval registers the shard', async (t) => {
  const car = readFileSync(join(fixtures, 'carv1-basic.car'));
  const d = await t.context.start({ dagstoreGcIntervalMs: 200 });
  const ds = d.dagstore!;
  failShardRegistration(d);
  const imported = await ds.importCar({ source: once(car), payloadSize: car.length });
  t.deepEqual(imported.roots, (await (await CarReader.fromBytes(car)).getRoots()).map(String));
  t.is((await d.sectors.sectorStatus(imported.sector)).pieces.filter((p) => !p.filler)[0]?.pieceCid, imported.pieceCid, 'the piece is in its sector');
  const logged = t.context.lines.find((l) => l.includes('could not be registered'));
  t.truthy(logged);
  t.regex(logged!, new RegExp(`piece ${imported.pieceCid} is in sector ${imported.sector} .*SQLITE_FULL`));
  // the retry may already have run: either no shard yet, or a lazy one, never one half-made
  const early = await ds.listShards();
  t.true(early.length === 0 || early[0]!.State === 'ShardStateNew', JSON.stringify(early));
  await until('the owed shard registered', async () => ds.owedShards.length === 0 && (await ds.listShards()).length === 1);
  t.deepEqual((await ds.listShards()).map((s) => s.Key), [imported.pieceCid]);
  t.true(t.context.lines.some((l) => l.includes(`piece ${imported.pieceCid} (sector ${imported.sector}): its owed shard is registered`)));
  t.deepEqual((await d.index.shards.get(imported.pieceCid))?.roots, imported.roots, 'the roots of the import are kept');
  await sameBlocks(t, d, imported.pieceCid, car);
});

test.serial('a shard registration that failed before the daemon stopped is made at the next start, once; the handed-over CAR and index were not left behind', async (t) => {
  const car = readFileSync(join(fixtures, 'carv2-basic.car'));
  const d = await t.context.start({ dagstoreGcIntervalMs: 3_600_000 });
  const ds = d.dagstore!;
  failShardRegistration(d);
  const imported = await ds.importCar({ source: once(car), payloadSize: car.length });
  t.deepEqual(ds.owedShards, [imported.pieceCid]);
  t.deepEqual(await ds.listShards(), []);
  t.false(existsSync(ds.transientPath(imported.pieceCid)), 'the CAR moved in as the transient was taken back out');
  t.false(existsSync(ds.indexPath(imported.pieceCid)), 'the index written for the shard was removed');
  await d.stop();

  const again = await t.context.start({ dagstoreGcIntervalMs: 3_600_000 });
  t.deepEqual(await again.dagstore!.listShards(), [{ Key: imported.pieceCid, State: 'ShardStateNew', Error: '' }], 'registered lazily at start');
  t.true(t.context.lines.some((l) => l.includes('whose shard was missing') && l.includes(imported.pieceCid)));
  t.deepEqual(await again.dagstore!.registerMissingShards(), [], 'nothing is owed any more');
  await sameBlocks(t, again, imported.pieceCid, car);
});

test.serial('a piece added with pieces add whose lazy shard cannot be registered resolves with the piece; a second failure keeps the shard owed until a retry succeeds', async (t) => {
  const car = readFileSync(join(fixtures, 'carv1-basic.car'));
  const d = await t.context.start({ dagstoreGcIntervalMs: 3_600_000 });
  const ds = d.dagstore!;
  failShardRegistration(d, 2);
  const added = await d.sectors.addPiece({ source: once(car), payloadSize: car.length });
  t.deepEqual(ds.owedShards, [added.pieceCid]);
  await ds.retryRegistrations();
  t.deepEqual(ds.owedShards, [added.pieceCid], 'still owed after the second failure');
  t.true(t.context.lines.some((l) => l.includes(`piece ${added.pieceCid} (sector ${added.sector}): registering its shard failed again`)));
  await ds.retryRegistrations();
  t.deepEqual(ds.owedShards, []);
  t.deepEqual(await ds.listShards(), [{ Key: added.pieceCid, State: 'ShardStateNew', Error: '' }]);
  await sameBlocks(t, d, added.pieceCid, car);
});

test.serial('a start whose registration of a missing shard fails still starts: the shard stays owed and a later retry registers it', async (t) => {
  const car = readFileSync(join(fixtures, 'carv1-basic.car'));
  const d = await t.context.start({ dagstoreGcIntervalMs: 3_600_000 });
  failShardRegistration(d);
  const added = await d.sectors.addPiece({ source: once(car), payloadSize: car.length });
  await d.stop();
  // the next start's registration fails in the database itself
  const db = new Database(join(t.context.dir, 'db.sqlite'));
  db.exec("CREATE TRIGGER refuse_shards BEFORE INSERT ON dagstore_shards BEGIN SELECT RAISE(FAIL, 'injected: no shard records'); END");
  db.close();
  const again = await t.context.start({ dagstoreGcIntervalMs: 3_600_000 });
  const ds = again.dagstore!;
  t.deepEqual(ds.owedShards, [added.pieceCid]);
  t.deepEqual(await ds.listShards(), []);
  t.true(t.context.lines.some((l) => l.includes(`piece ${added.pieceCid} (sector ${added.sector}) has no shard and registering one failed`) && l.includes('injected: no shard records')));
  const fix = new Database(join(t.context.dir, 'db.sqlite'));
  fix.exec('DROP TRIGGER refuse_shards');
  fix.close();
  await ds.retryRegistrations();
  t.deepEqual(ds.owedShards, []);
  t.deepEqual(await ds.listShards(), [{ Key: added.pieceCid, State: 'ShardStateNew', Error: '' }]);
  await sameBlocks(t, again, added.pieceCid, car);
});
