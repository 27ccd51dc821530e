/**
 * The CLI's own rule (README): errors print `Error: <message> [CODE]` and exit 1, usage mistakes
 * exit 2; with `--json` an error is one JSON document on stdout and nothing on stderr. And the
 * small wording a new user meets: counts, numbering, flags in help.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { sectorInfoFromRecord } from '../../../src/api/methods/sectors.js';
import { formatSectorStatus } from '../../../src/cli/commands/sectors.js';
import { plural } from '../../../src/cli/output.js';
import { dealPieceSize } from '../../../src/sector/sizes.js';
import { cleanup, runCli, tmpDir } from '../../helpers/cli-daemon.js';

const version = (JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

test('an unknown subcommand is a usage mistake: the error names it, the group help follows, exit 2', async (t) => {
  const repo = tmpDir();
  const r = await runCli(repo, ['sectors', 'frob']);
  t.is(r.code, 2);
  t.regex(r.stderr, /^Error: unknown command "sectors frob" \[INVALID_ARGUMENT\]\n/);
  t.regex(r.stderr, /sectors status/);
  t.is(r.stdout, '');
  const group = await runCli(repo, ['sectors']);
  t.is(group.code, 0, 'a group alone prints its help');
  t.regex(group.stdout, /sectors pledge/);
  cleanup(repo);
});

test('a negative sector number is named as a bad argument, not taken for a flag, exit 2', async (t) => {
  const repo = tmpDir();
  const r = await runCli(repo, ['sectors', 'status', '-1']);
  t.is(r.code, 2);
  t.regex(r.stderr, /^Error: sector number N must be a non-negative integer \(got "-1"\) \[INVALID_ARGUMENT\]/);
  t.notRegex(r.stderr, /unknown flag/);
  cleanup(repo);
});

test('a missing required flag is a usage mistake (exit 2) and help marks the flag required', async (t) => {
  const repo = tmpDir();
  for (const args of [['pieces', 'commd'], ['seal'], ['pieces', 'read', '0', '0', '10'], ['sealing', 'calls'], ['auth', 'create-token']]) {
    const r = await runCli(repo, args);
    t.is(r.code, 2, args.join(' '));
    t.regex(r.stderr, /^Error: missing required flag --[a-z-]+ [A-Z]+ \[INVALID_ARGUMENT\]/, args.join(' '));
  }
  const help = await runCli(repo, ['pieces', 'commd', '--help']);
  t.regex(help.stdout, /--sector-size SIZE +sector size .*\(required\)/);
  cleanup(repo);
});

test('--version prints the package version (and as JSON with --json)', async (t) => {
  const repo = tmpDir();
  const r = await runCli(repo, ['--version']);
  t.is(r.code, 0);
  t.is(r.stdout, `sector-storage ${version}\n`);
  const json = await runCli(repo, ['--version', '--json']);
  t.deepEqual(JSON.parse(json.stdout), { version });
  cleanup(repo);
});

test('with --json an error is one JSON document on stdout and nothing on stderr; without, one line on stderr', async (t) => {
  const repo = tmpDir();
  const json = await runCli(repo, ['sectors', 'list', '--json']);
  t.is(json.code, 1);
  t.is(json.stderr, '');
  t.is((JSON.parse(json.stdout) as { error: { code: string } }).error.code, 'DAEMON_UNREACHABLE');
  const usage = await runCli(repo, ['sectors', 'status', 'x', '--json']);
  t.is(usage.code, 2);
  t.is(usage.stderr, '', 'no help text on stderr either');
  t.is((JSON.parse(usage.stdout) as { error: { code: string } }).error.code, 'INVALID_ARGUMENT');
  const human = await runCli(repo, ['sectors', 'list']);
  t.is(human.code, 1);
  t.is(human.stdout, '');
  t.regex(human.stderr, /^Error: no daemon is running .*\[DAEMON_UNREACHABLE\]\n$/);
  cleanup(repo);
});

test('worker --help says "repeatable" once for --storage', async (t) => {
  const r = await runCli(tmpDir(), ['worker', '--help']);
  const line = r.stdout.split('\n').find((l) => l.trimStart().startsWith('--storage'))!;
  t.is(line.match(/repeatable/g)?.length, 1, line);
});

test('pieces commd numbers pieces from 0 in every error, as sectors status does', async (t) => {
  const repo = tmpDir();
  const noCid = await runCli(repo, ['pieces', 'commd', '--sector-size', '2KiB', ':128']);
  t.regex(noCid.stderr, /piece 0 ":128" has no piece CID/);
  const cid = 'baga6ea4seaqpy7usqklokfx2vxuynmupslkeutzexe2uqurdg5vhtebhxqmpqmy';
  const tooBig = await runCli(repo, ['pieces', 'commd', '--sector-size', '2KiB', `${cid}:2048`, `${cid}:2048`]);
  t.regex(tooBig.stderr, /piece 1 \(2048 bytes\) does not fit/);
  const badSize = await runCli(repo, ['pieces', 'commd', '--sector-size', '2KiB', `${cid}:2048`, `${cid}:big`]);
  t.regex(badSize.stderr, /piece 1 ".*": padded size "big" is not a size/);
  cleanup(repo);
});

test('counts are written in words that agree with them', (t) => {
  t.is(plural(1, 'piece'), '1 piece');
  t.is(plural(0, 'deal'), '0 deals');
  t.is(plural(2, 'filler'), '2 fillers');
  const piece = { pieceCid: 'baga-deal', pieceCidV2: 'bafk-deal', paddedOffset: 0, paddedSize: 1024, payloadSize: 900, filler: false };
  const filler = { pieceCid: 'baga-zero', paddedOffset: 1024, paddedSize: 1024, payloadSize: 0, filler: true };
  const info = sectorInfoFromRecord({
    v: 2,
    miner: 1000,
    number: 7,
    proofType: 5,
    state: 'WaitDeals',
    pieces: [piece, filler],
    packingRequested: false,
    counters: { preCommit2Fails: 0, invalidProofs: 0, retries: 0 },
    lastLogAt: 1,
    updatedAt: 2,
  } as never);
  t.true(formatSectorStatus(info).includes('Pieces:\t2 (1 deal, 1 filler)'));
  t.throws(() => dealPieceSize({ payloadSize: 9_000_000, sectorSize: 8 << 20 }), { message: /a sector of 8388608 bytes holds 8323072 bytes of payload/ });
});

test('a bad SECTOR_STORAGE_PC1_GATHER stops run and worker at start, naming the variable (exit 1), before a repository is made', async (t) => {
  const repo = tmpDir();
  const env = { SECTOR_STORAGE_PC1_GATHER: 'on' };
  const run = await runCli(repo, ['run', '--listen', '127.0.0.1:0'], 30_000, env);
  t.is(run.code, 1);
  t.regex(run.stderr, /^Error: SECTOR_STORAGE_PC1_GATHER="on" must be 1 .* or 0 \[INVALID_ARGUMENT\]/);
  t.false(existsSync(join(repo, 'api')), 'the daemon never started');
  const worker = await runCli(repo, ['worker', '--manager', 'http://127.0.0.1:1', '--token', 'x', '--repo', join(repo, 'w')], 30_000, env);
  t.is(worker.code, 1);
  t.regex(worker.stderr, /SECTOR_STORAGE_PC1_GATHER="on" must be 1/);
  cleanup(repo);
});
