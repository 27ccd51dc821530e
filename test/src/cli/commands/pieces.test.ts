import { randomBytes } from 'node:crypto';
import { mkdirSync, openSync, readdirSync, readFileSync, statSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { cleanup, cliJson, type DaemonProcess, runCli, startDaemon, tmpDir } from '../../../helpers/cli-daemon.js';

const fixture = (name: string) => fileURLToPath(new URL(`../../../../../test/fixtures/${name}`, import.meta.url));

interface Added {
  pieceCid: string;
  pieceCidV2: string;
  sector: number;
  offset: number;
  paddedOffset: number;
  paddedSize: number;
  payloadSize: number;
}

/** One 8 MiB-sector daemon and one 2 KiB-sector daemon shared by the serial tests of this file. */
let big: { repo: string; daemon: DaemonProcess } | undefined;
let small: { repo: string; daemon: DaemonProcess } | undefined;

test.before(async () => {
  const bigRepo = tmpDir();
  const smallRepo = tmpDir();
  big = { repo: bigRepo, daemon: await startDaemon(bigRepo) };
  small = { repo: smallRepo, daemon: await startDaemon(smallRepo, ['--sector-size', '2KiB']) };
});

test.after.always(async () => {
  for (const d of [big, small]) {
    if (!d) continue;
    await d.daemon.stop();
    cleanup(d.repo);
  }
});

async function addAndReadBack(t: import('ava').ExecutionContext, repo: string, file: string): Promise<Added> {
  const added = await cliJson<Added>(repo, ['pieces', 'add', file]);
  const payload = readFileSync(file);
  t.is(added.payloadSize, payload.length);
  const out = join(repo, `read-${added.sector}-${added.offset}.bin`);
  const read = await runCli(repo, ['pieces', 'read', String(added.sector), String(added.offset), String(payload.length), '--out', out]);
  t.is(read.code, 0, read.stderr);
  t.true(readFileSync(out).equals(payload), 'bytes read back equal the file');
  const offline = await cliJson<Added>(repo, ['pieces', 'commp', file]);
  t.is(added.pieceCid, offline.pieceCid, 'piece CID equals the offline commP');
  t.is(added.pieceCidV2, offline.pieceCidV2);
  t.is(added.paddedSize, offline.paddedSize);
  return added;
}

test.serial('adds a random multi-chunk file and reads it back byte-exact, with the offline piece CID', async (t) => {
  const file = join(big!.repo, 'random.bin');
  writeFileSync(file, randomBytes(3 * 1024 * 1024 + 12345));
  const added = await addAndReadBack(t, big!.repo, file);
  t.is(added.paddedSize, 4 * 1024 * 1024);
  t.regex(added.pieceCid, /^baga6ea4seaq/);
  t.regex(added.pieceCidV2, /^bafkzcib/);
});

test.serial('adds CAR files (v1 and v2) and reads them back byte-exact at their aligned offsets', async (t) => {
  const v1 = await addAndReadBack(t, big!.repo, fixture('carv1-basic.car'));
  const v2 = await addAndReadBack(t, big!.repo, fixture('carv2-basic.car'));
  t.is(v1.sector, v2.sector);
  t.is(v2.paddedOffset, v1.paddedOffset + v1.paddedSize, 'the second piece follows the first');
  t.is(v2.paddedOffset % v2.paddedSize, 0, 'pieces are aligned to their size');
  const status = await cliJson<{ Pieces: Array<{ PieceCID: string; Offset: number }> }>(big!.repo, ['sectors', 'status', String(v2.sector)]);
  t.true(status.Pieces.some((p) => p.PieceCID === v1.pieceCid && p.Offset === v1.offset));
  t.true(status.Pieces.some((p) => p.PieceCID === v2.pieceCid && p.Offset === v2.offset));
  const human = await runCli(big!.repo, ['sectors', 'status', String(v2.sector)]);
  t.regex(human.stdout, /^SectorID:\t\d+\nStatus:\tWaitDeals\n/);
  t.true(human.stdout.includes(v1.pieceCid));
});

test.serial('honours a declared piece size and a target sector', async (t) => {
  const file = join(small!.repo, 'p.bin');
  writeFileSync(file, randomBytes(200));
  const added = await cliJson<Added>(small!.repo, ['pieces', 'add', file, '--piece-size', '1KiB']);
  t.is(added.paddedSize, 1024);
  const offline = await cliJson<Added>(small!.repo, ['pieces', 'commp', file]);
  t.is(offline.paddedSize, 256);
  t.not(added.pieceCid, offline.pieceCid, 'a bigger declared piece has a different commitment');
  const again = await cliJson<Added>(small!.repo, ['pieces', 'add', file, '--sector', String(added.sector)]);
  t.is(again.sector, added.sector);
  t.is(again.paddedOffset, 1024);
});

/** Runs a command that must fail; checks exit code, error code and message, returns stderr. */
async function fails(t: import('ava').ExecutionContext, repo: string, args: string[], code: string, message: RegExp) {
  const r = await runCli(repo, args);
  t.true(r.code === 1 || r.code === 2, `${args.join(' ')} should fail: ${r.stdout}`);
  t.regex(r.stderr, new RegExp(`\\[${code}\\]`), r.stderr);
  t.regex(r.stderr, message);
  return r.stderr;
}

test.serial('bad input to pieces add: a clear error, a non-zero exit, and the sectors unchanged', async (t) => {
  const repo = small!.repo;
  const before = await cliJson(repo, ['sectors', 'list']);
  const dir = join(repo, 'inputs');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'empty.bin'), '');
  writeFileSync(join(dir, 'big.bin'), randomBytes(3000));
  writeFileSync(join(dir, 'ok.bin'), randomBytes(300));
  await fails(t, repo, ['pieces', 'add', join(dir, 'missing.bin')], 'FILE_NOT_FOUND', /missing\.bin does not exist/);
  await fails(t, repo, ['pieces', 'add', dir], 'FILE_UNREADABLE', /inputs is not a regular file/);
  await fails(t, repo, ['pieces', 'add', join(dir, 'empty.bin')], 'EMPTY_PAYLOAD', /empty\.bin is empty/);
  await fails(t, repo, ['pieces', 'add', join(dir, 'big.bin')], 'PAYLOAD_TOO_LARGE', /3000 bytes is larger than a sector/);
  await fails(t, repo, ['pieces', 'add', join(dir, 'ok.bin'), '--piece-size', '300'], 'PIECE_SIZE_INVALID', /300 is not a power of two ≥ 128/);
  await fails(t, repo, ['pieces', 'add', join(dir, 'ok.bin'), '--piece-size', '64'], 'PIECE_SIZE_INVALID', /64 is not a power of two ≥ 128/);
  await fails(t, repo, ['pieces', 'add', join(dir, 'ok.bin'), '--piece-size', '256'], 'PIECE_SIZE_INVALID', /holds 254 bytes|cannot hold 300 bytes/);
  await fails(t, repo, ['pieces', 'add', join(dir, 'ok.bin'), '--sector', '99'], 'SECTOR_UNKNOWN', /sector 99/);
  await fails(t, repo, ['pieces', 'add', join(dir, 'ok.bin'), '--sector', 'x'], 'INVALID_ARGUMENT', /--sector/);
  const usage = await runCli(repo, ['pieces', 'add', join(dir, 'ok.bin'), '--sectr', '1']);
  t.is(usage.code, 2);
  t.regex(usage.stderr, /unknown flag "--sectr"/);
  t.deepEqual(await cliJson(repo, ['sectors', 'list']), before);
});

test.serial('a piece that does not fit the space left in the sector is refused and the sector keeps its pieces', async (t) => {
  const repo = small!.repo;
  const file = join(repo, 'half.bin');
  writeFileSync(file, randomBytes(600)); // 1 KiB padded
  const first = await cliJson<Added>(repo, ['pieces', 'add', file]);
  const before = await cliJson(repo, ['sectors', 'status', String(first.sector)]);
  const whole = join(repo, 'whole.bin');
  writeFileSync(whole, randomBytes(1500)); // 2 KiB padded: the whole sector
  await fails(t, repo, ['pieces', 'add', whole, '--sector', String(first.sector)], 'PIECE_DOES_NOT_FIT', new RegExp(`sector ${first.sector}`));
  t.deepEqual(await cliJson(repo, ['sectors', 'status', String(first.sector)]), before);
  const out = join(repo, 'half.out');
  t.is((await runCli(repo, ['pieces', 'read', String(first.sector), String(first.offset), '600', '--out', out])).code, 0);
  t.true(readFileSync(out).equals(readFileSync(file)));
});

test.serial('reading an unknown sector or a corrupted partial file fails and leaves no output file', async (t) => {
  const repo = small!.repo;
  const outDir = join(repo, 'out');
  mkdirSync(outDir, { recursive: true });
  await fails(t, repo, ['sectors', 'status', '77'], 'SECTOR_UNKNOWN', /sector 77 does not exist/);
  await fails(t, repo, ['pieces', 'read', '77', '0', '100', '--out', join(outDir, 'a.bin')], 'SECTOR_UNKNOWN', /sector 77/);
  t.deepEqual(readdirSync(outDir), []);

  const file = join(repo, 'c.bin');
  writeFileSync(file, randomBytes(400));
  const added = await cliJson<Added>(repo, ['pieces', 'add', file]);
  const unsealed = join(repo, 'storage', 'unsealed', `s-t01000-${added.sector}`);
  const size = statSync(unsealed).size;
  const fd = openSync(unsealed, 'r+');
  writeSync(fd, Buffer.from([0xff, 0xff, 0, 0]), 0, 4, size - 4); // trailer length past the end of the file
  closeSync(fd);
  await fails(
    t,
    repo,
    ['pieces', 'read', String(added.sector), String(added.offset), '400', '--out', join(outDir, 'b.bin')],
    'PARTIAL_FILE_CORRUPT',
    /s-t01000-\d+/,
  );
  t.deepEqual(readdirSync(outDir), [], 'no output and no temporary file left');
});
