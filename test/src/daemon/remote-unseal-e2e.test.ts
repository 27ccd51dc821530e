/**
 * Unsealing on a remote worker, end to end: a daemon that seals a 2 KiB deal sector itself but
 * does not run UNS (`run --local-tasks AP,PC1,PC2,C2`: C1, FIN and GET are added, UNS is not) and
 * a `sector-storage worker --task-types UNS` process with its own storage path. Once the sector is
 * Proving, its unsealed copy is removed the way an operator would (the file deleted, then
 * `storage redeclare` drops its declaration) and the dagstore's transient copy is collected
 * (`dagstore gc`). Two concurrent `GET /piece/{cid}` then make the piece provider unseal
 * through the scheduler: one UNS call, on the worker, whose prepare step copies the sealed file
 * and the cache from the daemon and which drops those copies once the unsealed file is written
 * (src/worker/task-inputs.ts, src/worker/tasks/unseal.ts). Both answers are the CAR as imported,
 * and so is a later `pieces read` on the daemon, which reads the worker's unsealed copy.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { openDatabase } from '../../../src/db/database.js';
import { workerMigrations } from '../../../src/db/migrations.js';
import { initStoragePath } from '../../../src/storage/storage-config.js';
import { cleanup, cliJson, daemonArgs, managerOf, runCli, startDaemon, tmpDir } from '../../helpers/cli-daemon.js';
import { startWorker } from '../../helpers/cli-worker.js';
import { callProblems, sealingCalls, waitForState } from '../../helpers/seal-checks.js';

const TICKET = 'a1'.repeat(32);
const SEED = '5e'.repeat(32);
/** The CAR specification's CARv1 fixture (715 bytes: a deal piece that fits a 2 KiB sector). */
const CAR = fileURLToPath(new URL('../../../../test/fixtures/carv1-basic.car', import.meta.url));

/** The sector entries (`sealed/s-t01000-0`) of a storage path. */
function entries(root: string): string[] {
  const out: string[] = [];
  for (const type of ['unsealed', 'sealed', 'cache']) {
    const d = join(root, type);
    if (existsSync(d)) for (const n of readdirSync(d)) if (n !== 'fetching') out.push(`${type}/${n}`);
  }
  return out.sort();
}

/** The calls a stopped worker's repository still holds (results never acknowledged). */
function heldCalls(workerRepo: string): number {
  const db = openDatabase(join(workerRepo, 'worker.db'), { migrations: workerMigrations });
  try {
    return (db.prepare('SELECT COUNT(*) AS n FROM worker_calls').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

test('a deal piece whose unsealed copy is gone is unsealed once on the remote worker for two concurrent reads, which get the bytes imported', async (t) => {
  const dir = tmpDir('ss-remote-unseal-');
  const repo = join(dir, 'manager');
  const daemon = await startDaemon(repo, [...daemonArgs({ sectorSize: '2KiB', fixedRandomness: { ticket: TICKET, seed: SEED }, epochMs: 100, seedWaitEpochs: 2 }), '--local-tasks', 'AP,PC1,PC2,C2']);
  const wStore = join(dir, 'w-store');
  initStoragePath(wStore, { canSeal: true, canStore: true, weight: 10 });
  const worker = startWorker(repo, join(dir, 'w'), { taskTypes: 'UNS', storage: wStore });
  t.teardown(async () => {
    await worker.kill();
    await daemon.kill();
    cleanup(dir);
  });
  const started = await worker.started();
  await worker.logged(/^connected to the manager/);

  const imported = await cliJson<{ pieceCid: string; sector: number; offset: number }>(repo, ['pieces', 'import', CAR, '--car']);
  t.is(imported.sector, 0);
  t.is((await runCli(repo, ['sectors', 'seal', '0'])).code, 0);
  await waitForState(repo, 0, ['Proving'], 120_000);
  const sealing = await sealingCalls(repo, 0);
  t.deepEqual(callProblems(sealing, 2).problems, [], 'the deal piece and a filler were added, each phase ran once');
  t.true(sealing.every((c) => c.Worker === 'local'), 'the daemon sealed the sector itself');
  // finalize kept the deal's range unsealed; the operator removes that copy
  const daemonStore = join(repo, 'storage');
  t.deepEqual(entries(daemonStore), ['cache/s-t01000-0', 'sealed/s-t01000-0', 'unsealed/s-t01000-0']);
  rmSync(join(daemonStore, 'unsealed', 's-t01000-0'));
  t.is((await runCli(repo, ['storage', 'redeclare', '--all'])).code, 0);
  const gc = await cliJson<{ Key: string }[]>(repo, ['dagstore', 'gc']);
  t.deepEqual(gc.map((g) => g.Key), [imported.pieceCid], 'the shard\'s transient copy was collected');

  const { url } = managerOf(repo);
  const reads = await Promise.all(
    [0, 1].map(async () => {
      const res = await fetch(`${url}/piece/${imported.pieceCid}`);
      return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
    }),
  );
  const car = readFileSync(CAR);
  for (const r of reads) {
    t.is(r.status, 200, r.body.toString());
    t.deepEqual(r.body, car, 'the piece is the CAR as imported');
  }

  const uns = (await sealingCalls(repo, 0)).filter((c) => c.Task === 'UNS');
  t.is(uns.length, 1, 'one unseal for both reads');
  t.like(uns[0], { State: 'returned', Outcome: 'ok', Worker: started.id, Attempts: 1 });
  t.true(worker.output().includes('fetching the sealed and cache files of s-t01000-0 from another node (copy)'), worker.output());
  // the worker keeps the unsealed file it wrote and none of the copies its prepare step fetched
  t.deepEqual(entries(wStore), ['unsealed/s-t01000-0']);
  t.deepEqual(entries(daemonStore), ['cache/s-t01000-0', 'sealed/s-t01000-0']);
  t.deepEqual(entries(join(dir, 'w', 'storage')), []);
  // `pieces read` on the daemon reads the worker's unsealed copy (verified against the piece CID)
  const back = join(dir, 'back.car');
  const read = await runCli(repo, ['pieces', 'read', '0', String(imported.offset), String(car.length), '--out', back, '--json']);
  t.is(read.code, 0, read.stderr);
  t.like(JSON.parse(read.stdout), { verified: true, pieceCid: imported.pieceCid });
  t.deepEqual(readFileSync(back), car);
  t.is((await sealingCalls(repo, 0)).filter((c) => c.Task === 'UNS').length, 1, 'no second unseal');
  await worker.stop();
  t.is(heldCalls(join(dir, 'w')), 0, 'the unseal\'s result was acknowledged');
});
