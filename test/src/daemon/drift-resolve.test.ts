/**
 * `sectors drift` and `sectors drift resolve N --import|--lost` through a real daemon and the real
 * CLI (issue 13, finding 1: the operator lists the drift and resolves it).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { TokenAuthority } from '../../../src/auth/tokens.js';
import { loadOrCreateJwtSecret } from '../../../src/repo/keystore.js';
import { cleanup, cliJson, daemonArgs, type DaemonProcess, rawRpc, runCli, startDaemon, tmpDir } from '../../helpers/cli-daemon.js';

interface Added {
  pieceCid: string;
  sector: number;
  offset: number;
  paddedOffset: number;
  paddedSize: number;
  payloadSize: number;
}

interface Drift {
  Unrecorded: { SectorID: number; Types: string[]; Storages: string[]; Files: { Type: string; Storage: string; Path?: string }[] }[];
  Missing: { SectorID: number; State: string; Missing: string[] }[];
  MaxSectorOnPaths: number | null;
}

interface Status {
  SectorID: number;
  State: string;
  CommD: string | null;
  CommR: string | null;
  LastErr: string;
  LastErrCode?: string;
  Pieces: { PieceCID: string; PieceCIDv2?: string; PaddedOffset: number; PaddedSize: number; PayloadSize: number; Filler: boolean }[];
  Log?: { Kind: string; Message: string }[];
}

/** Deletes the repository's database (with its WAL), as a lost database leaves a repository. */
function loseDatabase(repo: string): void {
  for (const f of ['sector-storage.db', 'sector-storage.db-wal', 'sector-storage.db-shm']) rmSync(join(repo, f), { force: true });
}

/** Runs a command that must fail with `code` (exit 1) and a message matching `message`. */
async function fails(t: ExecutionContext, repo: string, args: string[], code: string, message: RegExp): Promise<void> {
  const r = await runCli(repo, args);
  t.is(r.code, 1, `${args.join(' ')} should fail: ${r.stdout}`);
  t.regex(r.stderr, new RegExp(`\\[${code}\\]`), r.stderr);
  t.regex(r.stderr, message);
}

/** Polls `sectors status n` until the sector is in `state`. */
async function waitForState(t: ExecutionContext, repo: string, n: number, state: string, daemon: DaemonProcess, timeoutMs = 120_000): Promise<Status> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    const r = await rawRpc(repo, 'Filecoin.SectorsStatus', [n]);
    last = r.result ?? r.error;
    if ((r.result as Status | undefined)?.State === state) return r.result as Status;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  t.log(daemon.output());
  throw new Error(`sector ${n} did not reach ${state}: ${JSON.stringify(last)}`);
}

test.serial('after the database is lost, sectors drift lists both sectors\' files and --import brings them back with their pieces, readable and open for more', async (t) => {
  const repo = tmpDir('ss-drift-resolve-');
  t.teardown(() => cleanup(repo));
  const payload = (name: string, n: number) => {
    const file = join(repo, `${name}.bin`);
    writeFileSync(file, randomBytes(n));
    return file;
  };
  // sector 0: a 1 KiB piece at 0, a 512-byte piece at 1024; sector 1: a 1 KiB piece at 0, then two
  // 256-byte pieces side by side at 1024 and 1280. Each piece sits at an offset aligned to its own
  // size, and no sector is full (a full sector would start sealing).
  const files = { a: payload('a', 1016), b: payload('b', 400), c: payload('c', 900), d: payload('d', 250), e: payload('e', 254), f: payload('f', 200) };
  let daemon = await startDaemon(repo, ['--sector-size', '2KiB']);
  let a: Added;
  let b: Added;
  let c: Added;
  let d: Added;
  let e: Added;
  try {
    a = await cliJson<Added>(repo, ['pieces', 'add', files.a]);
    b = await cliJson<Added>(repo, ['pieces', 'add', files.b]);
    c = await cliJson<Added>(repo, ['pieces', 'add', files.c]);
    d = await cliJson<Added>(repo, ['pieces', 'add', files.d, '--sector', '1']);
    e = await cliJson<Added>(repo, ['pieces', 'add', files.e, '--sector', '1']);
  } finally {
    await daemon.stop();
  }
  t.deepEqual(
    [a, b, c, d, e].map((p) => [p.sector, p.paddedOffset, p.paddedSize]),
    [
      [0, 0, 1024],
      [0, 1024, 512],
      [1, 0, 1024],
      [1, 1024, 256],
      [1, 1280, 256],
    ],
  );
  loseDatabase(repo);

  daemon = await startDaemon(repo, ['--accept-drift']);
  try {
    const drift = await cliJson<Drift>(repo, ['sectors', 'drift']);
    t.deepEqual(
      drift.Unrecorded.map((u) => [u.SectorID, u.Types, u.Files.map((f) => f.Path)]),
      [
        [0, ['unsealed'], [join(repo, 'storage', 'unsealed', 's-t01000-0')]],
        [1, ['unsealed'], [join(repo, 'storage', 'unsealed', 's-t01000-1')]],
      ],
    );
    t.deepEqual(drift.Missing, []);
    t.is(drift.MaxSectorOnPaths, 1);
    const human = await runCli(repo, ['sectors', 'drift']);
    t.is(human.code, 0, human.stderr);
    t.regex(human.stdout, /^Sector files without a record/);
    t.regex(human.stdout, /\n {2}0 {3}unsealed {2}\S+ {2}\S+s-t01000-0\n/);

    // bad input fails clearly and changes nothing
    await fails(t, repo, ['sectors', 'drift', 'resolve', '7', '--import'], 'SECTOR_UNKNOWN', /no file of sector 7 is on any storage path/);
    await fails(t, repo, ['sectors', 'drift', 'resolve', '1', '--lost'], 'INVALID_ARGUMENT', /sector 1 has files but no record: --lost is for a record whose files are gone/);
    await fails(t, repo, ['sectors', 'drift', 'resolve', '1'], 'INVALID_ARGUMENT', /give --import .* or --lost/);
    await fails(t, repo, ['sectors', 'drift', 'resolve', '1', '--import', '--lost'], 'INVALID_ARGUMENT', /give one of --import and --lost, not both/);
    const notANumber = await runCli(repo, ['sectors', 'drift', 'resolve', 'one', '--import']);
    t.is(notANumber.code, 2, 'a malformed number is a usage mistake');
    t.regex(notANumber.stderr, /sector number N .*\[INVALID_ARGUMENT\]/);
    const badMode = await rawRpc(repo, 'Filecoin.SectorsDriftResolve', [1, 'forget']);
    t.is(badMode.error?.data?.code, 'INVALID_ARGUMENT');
    t.regex(badMode.error?.message ?? '', /param mode must be one of "import", "lost" \(got "forget"\)/);
    const readOnly = new TokenAuthority(loadOrCreateJwtSecret(repo)).createToken(['read']);
    t.is((await rawRpc(repo, 'Filecoin.SectorsDriftResolve', [1, 'import'], readOnly)).error?.data?.code, 'UNAUTHORIZED', 'resolving is admin');
    t.deepEqual((await rawRpc(repo, 'Filecoin.SectorsDrift', [], readOnly)).result, drift, 'listing is read');
    t.deepEqual(await cliJson<Drift>(repo, ['sectors', 'drift']), drift, 'nothing changed');
    t.deepEqual(await cliJson(repo, ['sectors', 'list']), []);

    const imported = await cliJson<{ SectorID: number; State: string; Pieces: number; Notes: string[] }>(repo, ['sectors', 'drift', 'resolve', '0', '--import']);
    t.like(imported, { SectorID: 0, State: 'WaitDeals', Pieces: 2 });
    t.true(imported.Notes.some((n) => /payload size is its capacity .* no piece CID v2/.test(n)), imported.Notes.join('\n'));
    const s0 = await cliJson<Status>(repo, ['sectors', 'status', '0', '--log']);
    t.is(s0.State, 'WaitDeals');
    t.deepEqual(
      s0.Pieces.map((p) => [p.PieceCID, p.PieceCIDv2, p.PaddedOffset, p.PaddedSize, p.PayloadSize, p.Filler]),
      [
        [a.pieceCid, undefined, 0, 1024, 1016, false],
        [b.pieceCid, undefined, 1024, 512, 508, false],
      ],
      'the piece CIDs pieces add reported; payload sizes are capacities',
    );
    t.is(s0.Log?.[0]?.Kind, 'import');
    t.regex(s0.Log?.[0]?.Message ?? '', /imported from its files by "sectors drift resolve 0 --import": unsealed \S+s-t01000-0/);

    // the original bytes read back; a whole-capacity read is verified against the recomputed CID
    const out = join(repo, 'b.out');
    const read = await runCli(repo, ['pieces', 'read', '0', String(b.offset), '400', '--out', out]);
    t.is(read.code, 0, read.stderr);
    t.deepEqual(readFileSync(out), readFileSync(files.b));
    const whole = await runCli(repo, ['pieces', 'read', '0', String(b.offset), '508', '--out', out]);
    t.regex(whole.stdout, new RegExp(`verified against piece ${b.pieceCid}`));
    t.deepEqual(readFileSync(out), Buffer.concat([readFileSync(files.b), Buffer.alloc(108)]), 'the payload and its zero fill');

    // the sector takes a new piece after its imported ones
    const f = await cliJson<Added>(repo, ['pieces', 'add', files.f, '--sector', '0']);
    t.like(f, { sector: 0, paddedOffset: 1536, paddedSize: 256 });

    // sector 1's two 256-byte pieces lie side by side, the first at a 512-aligned offset: their
    // 512 bytes are one allocated range aligned to its size, which the import cannot tell from a
    // single 512-byte piece, so they come back merged. The merged CID is the root over both
    // pieces, exactly what CommD of a 512-byte "sector" holding them is.
    const imported1 = await cliJson<{ Pieces: number }>(repo, ['sectors', 'drift', 'resolve', '1', '--import']);
    t.is(imported1.Pieces, 2);
    const { commD: merged } = await cliJson<{ commD: string }>(repo, ['pieces', 'commd', '--sector-size', '512', `${d.pieceCid}:256`, `${e.pieceCid}:256`]);
    const s1 = await cliJson<Status>(repo, ['sectors', 'status', '1']);
    t.deepEqual(
      s1.Pieces.map((p) => [p.PieceCID, p.PaddedOffset, p.PaddedSize]),
      [
        [c.pieceCid, 0, 1024],
        [merged, 1024, 512],
      ],
    );
    t.not(merged, d.pieceCid);
    t.regex((await runCli(repo, ['sectors', 'drift'])).stdout, /^no drift/);
  } finally {
    t.is((await daemon.stop()).code, 0);
  }

  // the imported records are the database's now: a plain restart serves them
  daemon = await startDaemon(repo);
  try {
    const list = await cliJson<{ SectorID: number; State: string; Deals: string[] }[]>(repo, ['sectors', 'list']);
    t.deepEqual(
      list.map((s) => [s.SectorID, s.State, s.Deals.length]),
      [
        [0, 'WaitDeals', 3],
        [1, 'WaitDeals', 2],
      ],
    );
    await fails(t, repo, ['sectors', 'drift', 'resolve', '0', '--import'], 'SECTOR_EXISTS', /sector 0 has a record \(state WaitDeals\): --import is for files no record knows/);
    await fails(t, repo, ['sectors', 'drift', 'resolve', '0', '--lost'], 'INVALID_ARGUMENT', /sector 0 has no drift: its record \(state WaitDeals\) has every file it needs/);
    t.is((await cliJson<Status>(repo, ['sectors', 'status', '0'])).Pieces.length, 3, 'unchanged');
  } finally {
    await daemon.stop();
  }
});

test.serial('a sector whose unsealed file was deleted shows as missing files, is FailedUnrecoverable, and --lost removes it for good', async (t) => {
  const repo = tmpDir('ss-drift-lost-');
  t.teardown(() => cleanup(repo));
  const file = join(repo, 'p.bin');
  const small = join(repo, 'small.bin');
  writeFileSync(file, randomBytes(900));
  writeFileSync(small, randomBytes(400));
  let daemon = await startDaemon(repo, ['--sector-size', '2KiB']);
  try {
    // 1 KiB and 512 bytes in sector 0 leave no aligned room for another 1 KiB piece: it opens sector 1
    t.is((await cliJson<Added>(repo, ['pieces', 'add', file])).sector, 0);
    t.is((await cliJson<Added>(repo, ['pieces', 'add', small])).sector, 0);
    t.is((await cliJson<Added>(repo, ['pieces', 'add', file])).sector, 1);
  } finally {
    await daemon.stop();
  }
  rmSync(join(repo, 'storage', 'unsealed', 's-t01000-1'));

  daemon = await startDaemon(repo);
  try {
    t.deepEqual((await cliJson<Drift>(repo, ['sectors', 'drift'])).Missing, [{ SectorID: 1, State: 'FailedUnrecoverable', Missing: ['unsealed'] }]);
    const human = await runCli(repo, ['sectors', 'drift']);
    t.regex(human.stdout, /Sector records whose files are on no storage path:\n {2}ID {2}State {16}Missing\n {2}1 {3}FailedUnrecoverable {2}unsealed\n/);
    const failed = await cliJson<Status>(repo, ['sectors', 'status', '1']);
    t.like(failed, { State: 'FailedUnrecoverable', LastErrCode: 'FILE_NOT_FOUND', LastErr: 'its unsealed file is on no storage path (state WaitDeals)' });
    await fails(t, repo, ['sectors', 'drift', 'resolve', '1', '--import'], 'SECTOR_EXISTS', /sector 1 has a record \(state FailedUnrecoverable\)/);

    const lost = await cliJson<{ SectorID: number; Mode: string; State: string }>(repo, ['sectors', 'drift', 'resolve', '1', '--lost']);
    t.like(lost, { SectorID: 1, Mode: 'lost', State: 'Removing' });
    const removed = await waitForState(t, repo, 1, 'Removed', daemon);
    t.is(removed.Pieces.length, 1, 'the record keeps what it held');
    const log = (await cliJson<Status>(repo, ['sectors', 'status', '1', '--log'])).Log ?? [];
    t.true(
      log.some(
        (e) =>
          e.Kind === 'event;sealing.SectorRemove' &&
          e.Message === 'the operator marked the sector lost ("sectors drift resolve 1 --lost"): its unsealed file is on no storage path (state FailedUnrecoverable)',
      ),
      JSON.stringify(log),
    );
    t.true(log.some((e) => e.Kind === 'event;sealing.SectorFatalError' && /unsealed file is on no storage path/.test(e.Message)));
    t.regex((await runCli(repo, ['sectors', 'drift'])).stdout, /^no drift/);
    await fails(t, repo, ['sectors', 'drift', 'resolve', '1', '--lost'], 'INVALID_ARGUMENT', /sector 1 has no drift: its record \(state Removed\)/);
    // its number is never handed out again
    t.is((await cliJson<Added>(repo, ['pieces', 'add', file])).sector, 2);
  } finally {
    await daemon.stop();
  }
});

const TICKET = 'a1'.repeat(32);
const SEED = '5e'.repeat(32);

test.serial('a sealed sector whose database was lost is imported as Proving with the same CommR', async (t) => {
  const repo = tmpDir('ss-drift-sealed-');
  t.teardown(() => cleanup(repo));
  const flags = daemonArgs({ sectorSize: '2KiB', fixedRandomness: { ticket: TICKET, seed: SEED }, epochMs: 50, seedWaitEpochs: 1 });
  let daemon = await startDaemon(repo, flags);
  let sealed: Status;
  try {
    t.is((await cliJson<{ Number: number }>(repo, ['sectors', 'pledge'])).Number, 0);
    sealed = await waitForState(t, repo, 0, 'Proving', daemon);
  } finally {
    await daemon.stop();
  }
  t.regex(sealed.CommR ?? '', /^bagboea4b/);
  loseDatabase(repo);

  daemon = await startDaemon(repo, [...flags.filter((f) => f !== '--sector-size' && f !== '2KiB'), '--accept-drift']);
  try {
    const drift = await cliJson<Drift>(repo, ['sectors', 'drift']);
    t.deepEqual(
      drift.Unrecorded.map((u) => [u.SectorID, u.Types]),
      [[0, ['sealed', 'cache']]],
      'finalizing a committed-capacity sector dropped its unsealed file',
    );
    const imported = await cliJson<{ State: string; CommR: string; Pieces: number }>(repo, ['sectors', 'drift', 'resolve', '0', '--import']);
    t.like(imported, { State: 'Proving', CommR: sealed.CommR, Pieces: 0 });
    const status = await cliJson<Status>(repo, ['sectors', 'status', '0']);
    t.like(status, { State: 'Proving', CommR: sealed.CommR, CommD: null, LastErr: '' });
    const offline = await cliJson<{ commR: string }>(repo, ['seal', '--sector-size', '2KiB', '--miner-addr', 't01000', '--sector-number', '0', '--ticket', TICKET, '--seed', SEED]);
    t.is(status.CommR, offline.commR, 'the CommR the offline seal command computes for this sector');
    t.regex((await runCli(repo, ['sectors', 'drift'])).stdout, /^no drift/);
    t.is((await cliJson<{ Number: number }>(repo, ['sectors', 'pledge'])).Number, 1, 'new sectors are numbered above it');
  } finally {
    await daemon.stop();
  }
});
