/**
 * Issue 13, findings 4 and 5, through the actor system and its local worker on a real small tmpfs
 * (root only; skipped elsewhere with the reason in the title): the disk fills while a sector takes
 * pieces. The add that does not fit is refused NO_SPACE, its sector keeps its confirmed pieces and
 * stays open, a refused add creates no sector, and once space is freed and the system restarted
 * the sector takes the piece and packs.
 */
import { mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { type DaemonSystemHandle, startDaemonSystem } from '../../actors/system.js';
import { SealerPool } from '../../src/pool/pool.js';
import { initStoragePath } from '../../src/storage/storage-config.js';
import { seededBytes } from '../helpers/bytes.js';
import { heldChain } from '../helpers/held-chain.js';
import { mountTmpfs, TMPFS_UNAVAILABLE } from '../helpers/tmpfs.js';
import { silentLogger } from '../../src/log/logger.js';

const P8M = 6; // StackedDrg8MiBV1_1
const MiB = 1024 * 1024;
/** The payload of a 1 MiB piece (the 1,040,384 bytes). */
const PAYLOAD = MiB - MiB / 128;

const onTmpfs = TMPFS_UNAVAILABLE === undefined ? test.serial : test.skip;
const skipped = TMPFS_UNAVAILABLE === undefined ? '' : ` [skipped: ${TMPFS_UNAVAILABLE}]`;

async function* once(bytes: Uint8Array) {
  yield bytes;
}

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

/** Writes (or rewrites) a ballast file so that exactly `free` bytes stay free on the filesystem of `dir`. */
function leaveFree(dir: string, free: number): void {
  const ballast = join(dir, 'ballast');
  rmSync(ballast, { force: true });
  const s = statfsSync(dir);
  const now = s.bavail * s.bsize;
  if (now < free) throw new Error(`only ${now} bytes free, wanted ${free}`);
  if (now > free) writeFileSync(ballast, Buffer.alloc(now - free, 1));
}

onTmpfs(`a disk that fills refuses the add NO_SPACE, creates no sector, keeps the sector open with its pieces, and the piece fits after space is freed and a restart${skipped}`, async (t) => {
  const fs = mountTmpfs(8392704 + 2 * MiB);
  t.teardown(() => fs.unmount());
  const root = join(fs.dir, 'seal');
  initStoragePath(root, { canSeal: true, canStore: true, weight: 10 });
  // the filesystem: 8,392,704 bytes free for an 8 MiB sector (plus 1 MiB held by a ballast)
  leaveFree(fs.dir, 8392704 + MiB);
  writeFileSync(join(fs.dir, 'ballast2'), Buffer.alloc(MiB, 2));
  const dbDir = mkdtempSync(join(tmpdir(), 'ss-disk-full-system-'));
  t.teardown(() => rmSync(dbDir, { recursive: true, force: true }));
  const pool = new SealerPool({ threads: 2 });
  t.teardown(() => pool.close());
  const start = () =>
    startDaemonSystem({
      dbPath: join(dbDir, 'db.sqlite'),
      pool,
      minerId: 1000,
      sealProof: P8M,
      storageRoots: [root],
      chain: () => heldChain(),
      onError: (err) => t.log('system error', err),
      log: silentLogger(),
    });
  const add = (d: DaemonSystemHandle, i: number) => d.sectors.addPiece({ source: once(seededBytes(PAYLOAD, i)), payloadSize: PAYLOAD });

  let d = await start();
  try {
    for (let i = 0; i < 7; i++) t.like(await add(d, i), { sector: 0, paddedOffset: i * MiB });
    for (const attempt of [1, 2]) {
      const refused = await t.throwsAsync(add(d, 7), { code: 'NO_SPACE' } as never, `add ${attempt} past the free space is NO_SPACE`);
      t.regex(refused!.message, /need \d+ bytes/);
    }
    const sectors = await d.sectors.listSectors();
    t.deepEqual(
      sectors.map((s) => [s.number, s.state, s.pieces.length]),
      [[0, 'WaitDeals', 7]],
      'the sector is open with its 7 confirmed pieces, and the refused adds created no sector',
    );
  } finally {
    await d.stop();
  }

  rmSync(join(fs.dir, 'ballast2'));
  d = await start();
  try {
    t.like(await add(d, 7), { sector: 0, paddedOffset: 7 * MiB }, 'the sector takes the piece once there is room');
    for (let i = 0; i < 8; i++) {
      t.true((await collect(await d.sectors.readPiece({ sector: 0, offset: i * PAYLOAD, size: PAYLOAD }))).equals(seededBytes(PAYLOAD, i)), `piece ${i} reads back`);
    }
    const sectors = await d.sectors.listSectors();
    t.deepEqual(
      sectors.map((s) => s.number),
      [0],
    );
  } finally {
    await d.stop();
  }
});
