/**
 * The randomized crash test of the repository's agreement with its disks: rounds of uploads
 * (`pieces add` through the CLI, and stalled clients of the test's own that send half their
 * bytes and go quiet, which `--upload-idle-ms 1000` times out), each ended by a `kill -9` of the
 * daemon at a seeded moment (or, when the machine is slow, just after the round's first reported
 * add, whichever is later) and a restart on the same repository. 2 KiB sectors, so sectors fill,
 * pack and seal in between (the local chain stand-in runs 50 ms epochs).
 *
 * After every restart, once nothing runs: the daemon started; every piece a client was told was
 * added reads back exactly, verified against its piece CID (all of them through the API, those
 * of the last round through `pieces read`); every file on the storage path is a sector file the
 * index declares there, of a sector the daemon knows, and nothing the index declares is missing.
 *
 * CRASH_RANDOM_SEED replays a run (the moments, the sizes and the bytes).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { ApiClient } from '../../../src/api/rpc-client.js';
import { prng } from '../../helpers/bytes.js';
import { cleanup, type CliResult, type DaemonProcess, managerOf, rawRpc, runCli, startDaemon, tmpDir } from '../../helpers/cli-daemon.js';
import { type AddedPiece, seededRandom, sleep, storageProblems, testSeed } from '../../helpers/seal-checks.js';

const SEED_ENV = 'CRASH_RANDOM_SEED';
const ROUNDS = 10;
/** The largest payload of a 2 KiB sector (2048 padded bytes, fr32). */
const MAX_PAYLOAD = 2032;
const RUN_ARGS = ['--upload-idle-ms', '1000', '--epoch-ms', '50', '--seed-wait-epochs', '1'];
/** States in which a sector has nothing running or waiting. */
const AT_REST = new Set(['WaitDeals', 'Proving']);

/** An API client for the daemon of `repo`. */
function apiOf(repo: string): ApiClient {
  return new ApiClient(managerOf(repo));
}

/** Waits until no call is open and every sector is at rest (filled sectors sealed, uploads settled). */
async function quiescent(repo: string, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const jobs = Object.values(((await rawRpc(repo, 'Filecoin.WorkerJobs', [])).result ?? {}) as Record<string, unknown[]>).flat();
    const sectors = (await rawRpc(repo, 'Filecoin.SectorsListInfo', [])).result as Array<{ SectorID: number; State: string; LastErr: string }>;
    const failed = sectors.filter((s) => /Failed|Faulty|Removed|Unreadable/.test(s.State));
    if (failed.length > 0) throw new Error(`sectors in failure states: ${JSON.stringify(failed)}`);
    if (jobs.length === 0 && sectors.every((s) => AT_REST.has(s.State))) return;
    last = `${jobs.length} open calls; ${sectors.map((s) => `${s.SectorID}:${s.State}`).join(' ')}`;
    await sleep(100);
  }
  throw new Error(`the daemon did not come to rest within ${timeoutMs} ms: ${last}`);
}

interface Reported {
  piece: AddedPiece;
  file: string;
  round: number;
}

/** Reads every reported piece through the API with verification, and those of `cliRounds` through `pieces read`. */
async function readBack(t: ExecutionContext, repo: string, reported: readonly Reported[], cliRound: (r: Reported) => boolean): Promise<void> {
  const api = apiOf(repo);
  try {
    for (const r of reported) {
      const { sector, offset, payloadSize } = r.piece;
      const chunks: Uint8Array[] = [];
      for await (const c of await api.stream('SectorsReadPiece', sector, offset, payloadSize, { Verify: true })) chunks.push(c);
      t.true(Buffer.concat(chunks).equals(readFileSync(r.file)), `piece ${r.piece.pieceCid} (sector ${sector}, round ${r.round}) reads back exactly`);
    }
  } finally {
    api.close();
  }
  for (const r of reported.filter(cliRound)) {
    const out = `${r.file}.back`;
    const read = await runCli(repo, ['pieces', 'read', String(r.piece.sector), String(r.piece.offset), String(r.piece.payloadSize), '--out', out, '--json']);
    t.is(read.code, 0, read.stderr);
    t.true(JSON.parse(read.stdout || '{}').verified, `pieces read verified ${r.piece.pieceCid}`);
    t.true(readFileSync(out).equals(readFileSync(r.file)), `pieces read of ${r.piece.pieceCid} (round ${r.round}) is exact`);
  }
}

test.serial(`${ROUNDS} rounds of uploads and stalled clients ended by kill -9 at seeded moments: each restart reads back every reported piece and leaves no file unknown to the index`, async (t) => {
  const seed = testSeed(SEED_ENV);
  t.log(`${SEED_ENV}=${seed}`);
  const random = seededRandom(seed);
  const bytes = prng(seed || 1);
  const repo = tmpDir('ss-crash-random-');
  t.teardown(() => cleanup(repo));
  const reported: Reported[] = [];
  const log: string[] = [];
  let files = 0;
  let daemon: DaemonProcess = await startDaemon(repo, ['--sector-size', '2KiB', ...RUN_ARGS]);
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      // the round's clients, all at once
      const adds = 1 + Math.floor(random() * 3);
      const stalls = Math.floor(random() * 3);
      const uploads: Promise<void>[] = [];
      const api = apiOf(repo);
      let firstReported!: () => void;
      const reportedOne = new Promise<void>((resolve) => {
        firstReported = resolve;
      });
      const adding: Promise<void>[] = [];
      for (let i = 0; i < adds; i++) {
        const file = join(repo, `piece-${files++}.bin`);
        writeFileSync(file, bytes(1 + Math.floor(random() * MAX_PAYLOAD)));
        adding.push(
          runCli(repo, ['pieces', 'add', file, '--json']).then((r: CliResult) => {
            if (r.code !== 0) return;
            reported.push({ piece: JSON.parse(r.stdout) as AddedPiece, file, round });
            firstReported();
          }),
        );
      }
      uploads.push(...adding);
      const addsSettled = Promise.all(adding);
      const silence = new Promise<void>(() => {});
      for (let i = 0; i < stalls; i++) {
        const payload = bytes(2 + Math.floor(random() * (MAX_PAYLOAD - 1)));
        async function* halfThenSilence(): AsyncGenerator<Uint8Array> {
          yield payload.subarray(0, payload.length >> 1);
          await silence;
        }
        const push = api.push(halfThenSilence());
        push.done.catch(() => {});
        uploads.push(
          api.call('SectorAddPieceToAny', payload.length, { Type: 'push', Info: push.id }, {}).then(
            () => t.fail('a stalled upload was reported added'),
            () => {},
          ),
        );
      }
      // The kill comes at a seeded moment, but never before the round's first add was reported:
      // the CLI clients take a few hundred ms to start on an idle machine and seconds on a loaded
      // one, and a round killed before any add finished would prove nothing about reported pieces.
      // On a loaded machine the kill then lands just after the first report, the other adds and
      // the stalled clients still in flight.
      const delay = Math.round(300 + random() * 2700);
      const started = Date.now();
      await sleep(delay);
      const early = reported.every((r) => r.round !== round);
      await Promise.race([reportedOne, addsSettled]);
      const killedAt = Date.now() - started;
      const states = ((await rawRpc(repo, 'Filecoin.SectorsListInfo', [])).result as Array<{ SectorID: number; State: string }>).map((s) => `${s.SectorID}:${s.State}`);
      const killed = await daemon.kill();
      t.is(killed.signal, 'SIGKILL');
      await Promise.all(uploads);
      api.close();
      const before = reported.filter((r) => r.round === round).length;
      t.true(before > 0, `round ${round}: an add was reported before the kill (the daemon was up and every add failed otherwise)`);
      const when = early ? `${killedAt} ms, after the first reported add (seeded ${delay} ms came first)` : `${delay} ms`;
      log.push(`round ${round}: ${adds} adds (${before} reported), ${stalls} stalled; kill at ${when} with sectors ${states.join(' ')}`);

      daemon = await startDaemon(repo, RUN_ARGS);
      await quiescent(repo);
      await readBack(t, repo, reported, (r) => r.round === round);
      t.deepEqual(await storageProblems(repo, { quiescent: true }), [], `after the restart of round ${round}`);
    }
    t.log(log.join('\n'));
    // the end: every piece ever reported, through the CLI
    await readBack(t, repo, reported, () => true);
    const sectors = (await rawRpc(repo, 'Filecoin.SectorsListInfo', [])).result as Array<{ State: string }>;
    t.log(`${reported.length} pieces reported added in ${files} adds; ${sectors.length} sectors, ${sectors.filter((s) => s.State === 'Proving').length} sealed`);
    t.true(reported.length >= ROUNDS, 'every round had an add completed before its kill');
  } finally {
    await daemon.stop();
  }
});
