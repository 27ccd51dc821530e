/**
 * Sector files on a path attached to a running daemon keep their sector numbers out of use (issue
 * 13, finding 1, second case): a fresh repository that attaches an old repository's storage path,
 * and a worker that declares the files of its path, must not get a new sector numbered over them.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { cleanup, cliJson, rawRpc, runCli, startDaemon, tmpDir } from '../../helpers/cli-daemon.js';

interface Drift {
  Unrecorded: { SectorID: number; Types: string[]; Storages: string[] }[];
  MaxSectorOnPaths: number | null;
}

test.serial('a fresh repository that attaches an old storage path numbers its next sector above the files there, which stay untouched', async (t) => {
  const dir = tmpDir('ss-attach-drift-');
  t.teardown(() => cleanup(dir));
  const oldRepo = join(dir, 'old');
  const newRepo = join(dir, 'new');
  const file = join(dir, 'payload.bin');
  const small = join(dir, 'small.bin');
  writeFileSync(file, randomBytes(900));
  writeFileSync(small, randomBytes(400));
  let daemon = await startDaemon(oldRepo, ['--sector-size', '2KiB']);
  try {
    // 1 KiB and 512 bytes in sector 0 leave no aligned room for another 1 KiB piece: it opens
    // sector 1 (neither sector is full, so neither starts sealing)
    t.is((await cliJson<{ sector: number }>(oldRepo, ['pieces', 'add', file])).sector, 0);
    t.is((await cliJson<{ sector: number }>(oldRepo, ['pieces', 'add', small])).sector, 0);
    t.is((await cliJson<{ sector: number }>(oldRepo, ['pieces', 'add', file])).sector, 1);
  } finally {
    await daemon.stop();
  }
  const oldUnsealed = join(oldRepo, 'storage', 'unsealed');
  const names = readdirSync(oldUnsealed).sort();
  t.deepEqual(names, ['s-t01000-0', 's-t01000-1']);
  const before = names.map((n) => readFileSync(join(oldUnsealed, n)));

  daemon = await startDaemon(newRepo, ['--sector-size', '2KiB']);
  try {
    const attached = await runCli(newRepo, ['storage', 'attach', join(oldRepo, 'storage')]);
    t.is(attached.code, 0, attached.stderr);
    const drift = await cliJson<Drift>(newRepo, ['sectors', 'drift']);
    t.deepEqual(
      drift.Unrecorded.map((u) => u.SectorID),
      [0, 1],
      'the attached files no record knows are reported',
    );
    const next = await cliJson<{ sector: number }>(newRepo, ['pieces', 'add', file]);
    t.is(next.sector, 2, 'the new sector is numbered above every file on the attached path');
    t.deepEqual(readdirSync(oldUnsealed).sort(), names);
    t.deepEqual(
      names.map((n) => readFileSync(join(oldUnsealed, n))),
      before,
      'the files of the old sectors 0 and 1 are untouched',
    );
  } finally {
    const { code, output } = await daemon.stop();
    t.is(code, 0, output);
  }
});

test.serial('sector files a worker declares on its path keep their numbers out of use by new sectors', async (t) => {
  const repo = tmpDir('ss-attach-worker-');
  t.teardown(() => cleanup(repo));
  const file = join(repo, 'payload.bin');
  writeFileSync(file, randomBytes(900));
  const daemon = await startDaemon(repo, ['--sector-size', '2KiB']);
  try {
    // what a worker's start does for a path holding an old unsealed file of sector 7 (src/daemon/storage-worker.ts)
    const id = randomUUID();
    const stat = { Capacity: 1 << 30, Available: 1 << 29, FSAvailable: 1 << 29, Reserved: 0, Max: 0, Used: 0 };
    const info = { ID: id, URLs: ['http://127.0.0.1:9/remote'], Weight: 10, MaxStorage: 0, CanSeal: false, CanStore: true };
    const attach = await rawRpc(repo, 'Filecoin.StorageAttach', [info, stat, 'worker:test']);
    t.is(attach.error, undefined, JSON.stringify(attach.error));
    const declared = await rawRpc(repo, 'Filecoin.StorageDeclareSectors', [id, [{ sector: { miner: 1000, number: 7 }, types: 1, primary: true }], true]);
    t.is(declared.error, undefined, JSON.stringify(declared.error));
    const next = await cliJson<{ sector: number }>(repo, ['pieces', 'add', file]);
    t.is(next.sector, 8, 'the new sector is numbered above the worker\'s sector 7');
    // one at a time, as a worker declares the file of a finished task
    const one = await rawRpc(repo, 'Filecoin.StorageDeclareSector', [id, { miner: 1000, number: 12 }, 1, true]);
    t.is(one.error, undefined, JSON.stringify(one.error));
    const big = join(repo, 'big.bin');
    writeFileSync(big, randomBytes(1500)); // does not fit beside the first piece in sector 8
    t.is((await cliJson<{ sector: number }>(repo, ['pieces', 'add', big])).sector, 13);
  } finally {
    const { code, output } = await daemon.stop();
    t.is(code, 0, output);
  }
});
