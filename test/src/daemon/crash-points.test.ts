/**
 * A real daemon killed (SIGKILL, through the SECTOR_STORAGE_CRASH_AT hook) at each step of an
 * AddPiece and of its trailer journal starts again on the same repository, recovers what the
 * crash left on disk, and still reads back every piece it reported before.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { CRASH_AT_ENV, type CrashPoint, WRITE_CRASH_POINTS } from '../../../src/lifecycle/crash-points.js';
import { cleanup, cliJson, runCli, startDaemon, tmpDir } from '../../helpers/cli-daemon.js';

interface Added {
  sector: number;
  offset: number;
  payloadSize: number;
  pieceCid: string;
}

const SECTOR_NAME = /^s-t0\d+-\d+$/;

async function addFile(repo: string, name: string, size: number): Promise<{ file: string; bytes: Buffer }> {
  const file = join(repo, name);
  const bytes = randomBytes(size);
  writeFileSync(file, bytes);
  return { file, bytes };
}

async function readsBack(t: import('ava').ExecutionContext, repo: string, added: Added, bytes: Buffer): Promise<void> {
  const out = join(repo, `back-${added.sector}-${added.offset}.bin`);
  const r = await runCli(repo, ['pieces', 'read', String(added.sector), String(added.offset), String(added.payloadSize), '--out', out]);
  t.is(r.code, 0, r.stderr);
  t.true(readFileSync(out).equals(bytes), `piece ${added.pieceCid} reads back byte-exact`);
}

/** Where the piece added while crashing goes: into sector 0's existing file, or a new sector's file. */
type Target = 'existing' | 'new';
/** Points a write into an existing file never reaches (they are about linking a new file). */
const NEW_FILE_ONLY: readonly CrashPoint[] = ['addpiece.complete', 'addpiece.linked'];

for (const point of WRITE_CRASH_POINTS) {
  for (const target of ['existing', 'new'] as const satisfies readonly Target[]) {
    if (target === 'existing' && NEW_FILE_ONLY.includes(point)) continue;
    test.serial(`a daemon killed at ${point} while adding to ${target === 'new' ? 'a new' : 'an existing'} sector starts again and reads back every piece it reported`, async (t) => {
      const repo = tmpDir('ss-crash-');
      t.teardown(() => cleanup(repo));
      // 2 KiB sectors: the first piece (1 KiB padded) leaves room for a second 1 KiB piece only
      const a = await addFile(repo, 'a.bin', 1000);
      let daemon = await startDaemon(repo, ['--sector-size', '2KiB']);
      let addedA: Added;
      try {
        addedA = await cliJson<Added>(repo, ['pieces', 'add', a.file]);
      } finally {
        await daemon.stop();
      }
      t.is(addedA.sector, 0);

      const b = await addFile(repo, 'b.bin', target === 'new' ? 2000 : 1000);
      daemon = await startDaemon(repo, [], { [CRASH_AT_ENV]: point });
      const add = await runCli(repo, ['pieces', 'add', b.file]);
      const crashed = await daemon.stop();
      t.is(crashed.signal, 'SIGKILL', `the daemon killed itself at ${point}:\n${crashed.output}`);
      t.not(add.code, 0, 'the piece being added when the daemon died was not reported');
      const left = readdirSync(join(repo, 'storage', 'unsealed')).filter((n) => !SECTOR_NAME.test(n));
      if (!(point === 'addpiece.written' && target === 'existing')) t.true(left.length > 0, 'the crash left working files behind');

      daemon = await startDaemon(repo);
      try {
        t.true(
          left.every((n) => daemon.output().includes(n)),
          `the start-up log names every file it recovered:\n${daemon.output()}`,
        );
        t.deepEqual(readdirSync(join(repo, 'storage', 'unsealed')).filter((n) => !SECTOR_NAME.test(n)), [], 'nothing but sector files is left');
        await readsBack(t, repo, addedA, a.bytes);
        const c = await addFile(repo, 'c.bin', 1000);
        const addedC = await cliJson<Added>(repo, ['pieces', 'add', c.file]);
        await readsBack(t, repo, addedC, c.bytes);
        await readsBack(t, repo, addedA, a.bytes);
      } finally {
        const { code, output } = await daemon.stop();
        t.is(code, 0, output);
      }
    });
  }
}
