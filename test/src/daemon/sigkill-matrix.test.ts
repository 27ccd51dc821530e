/**
 * The SIGKILL matrix: a real daemon process killed with SIGKILL at each phase of sealing and
 * started again on the same repository. After the restart every sector reaches Proving with the
 * CommD and CommR of an uninterrupted run (the offline `seal` command with the same fixed ticket),
 * and its calls show each phase returned exactly once, with nothing started again after it had
 * returned; a call the kill interrupted keeps its id and counts a second attempt.
 *
 * - 8 MiB, one sector through three kills, where the work is long enough to be interrupted: a
 *   large upload in flight (the test's own client stops sending half-way), PC1 half-way through
 *   its second layer (crash point `pc1.mid-layer`: 8 MiB layers are labelled in four chunks), PC2
 *   at a seeded moment.
 * - 2 KiB, one repository per crash point (lifecycle/crash-points.ts): just after PC1's (C2's,
 *   GET's) result was committed and before its sector applied it, while C1, C2 or GET runs,
 *   half-way through Finalize; and while or after an AddPiece ran whose sector never recorded the piece
 *   (the first piece of a new sector, with and without earlier sectors; a second piece).
 * - 2 KiB, ten kills at seeded random points while several sectors seal: each round adds a
 *   sector (a pledge or a deal) and kills the daemon a seeded delay (0–80 ms) after that sector
 *   reached a seeded sealing state; the sectors of earlier rounds are restored in whatever state
 *   the previous kill left them.
 *
 * SIGKILL_MATRIX_SEED replays the seeded moments.
 */
import { closeSync, openSync, readFileSync, readSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { simdPaths } from '../../../native/binding.js';
import { ApiClient } from '../../../src/api/rpc-client.js';
import { CRASH_AT_ENV, type CrashPoint } from '../../../src/lifecycle/crash-points.js';
import { CallStore } from '../../../src/db/call-store.js';
import { openDatabase } from '../../../src/db/database.js';
import { SectorStore } from '../../../src/db/sector-store.js';
import { CacheFile } from '../../../src/sector/layout.js';
import { clearableCacheFiles } from '../../../src/seal/finalize.js';
import { PC1_CHECKPOINT_FILE } from '../../../src/seal/pc1-checkpoint.js';
import { seededBytes } from '../../helpers/bytes.js';
import { cleanup, cliJson, daemonArgs, type DaemonProcess, type DaemonFlags, rawRpc, runCli, startDaemon, tmpDir } from '../../helpers/cli-daemon.js';
import {
  type AddedPiece,
  callProblems,
  type OfflineSeal,
  offlineSeal,
  type SealingCallRow,
  sealingCalls,
  sectorStatus,
  seededRandom,
  sleep,
  storageProblems,
  testSeed,
  waitForRunning,
  waitForState,
} from '../../helpers/seal-checks.js';

const TICKET = 'a1'.repeat(32);
const SEED = '5e'.repeat(32);
const SEED_ENV = 'SIGKILL_MATRIX_SEED';
const seed = testSeed(SEED_ENV);
const MIB = 1 << 20;

/** `run` flags of every daemon here (the sector size only matters to a new repository). */
/**
 * The daemon whose PC2 is killed at a seeded moment (up to 2 s in) runs the best SIMD path
 * without the IFMA Poseidon: with it, an 8 MiB PC2 on one thread can end within a second, before
 * the kill. Every path seals the same bytes.
 */
const SCALAR_POSEIDON = { SECTOR_STORAGE_SIMD: simdPaths().filter((p) => p !== 'ifma').at(-1)! };

const flags = (sectorSize: string, epochMs: number, seedWaitEpochs: number): DaemonFlags => ({
  sectorSize,
  fixedRandomness: { ticket: TICKET, seed: SEED },
  epochMs,
  seedWaitEpochs,
});

/** Waits for a daemon to die by itself (at its crash point). */
async function crashed(t: ExecutionContext, daemon: DaemonProcess, point: string, timeoutMs = 180_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), timeoutMs);
  });
  const exit = await Promise.race([daemon.exited, timeout]);
  clearTimeout(timer);
  if (!exit) {
    await daemon.kill();
    throw new Error(`the daemon did not reach crash point ${point} within ${timeoutMs} ms:\n${daemon.output()}`);
  }
  t.is(exit.signal, 'SIGKILL', `the daemon killed itself at ${point}:\n${daemon.output()}`);
}

/** Lines in which a daemon said PC1 resumed from its checkpoint. */
function pc1Resumes(output: string): string[] {
  return output.split('\n').filter((l) => /PC1 of s-t01000-\d+: resumed after \d+ of \d+ layers/.test(l));
}

/** The calls of sector `n` once it is Proving, checked against the crash rules; returns them by task. */
async function checkCalls(t: ExecutionContext, repo: string, n: number, pieces: number): Promise<Record<string, SealingCallRow[]>> {
  const { problems, summary } = callProblems(await sealingCalls(repo, n), pieces);
  t.deepEqual(problems, [], `sector ${n}: ${JSON.stringify(summary.calls.map((c) => [c.Task, c.State, c.Outcome, c.Attempts]))}`);
  const byTask: Record<string, SealingCallRow[]> = {};
  for (const c of summary.calls) byTask[c.Task] = [...(byTask[c.Task] ?? []), c];
  return byTask;
}

/** A sector that reached Proving has the reference's CommD and CommR. */
function sameAsReference(t: ExecutionContext, n: number, status: { State: string; CommD: string | null; CommR: string | null }, reference: OfflineSeal): void {
  t.is(status.State, 'Proving', `sector ${n}`);
  t.true(reference.verified, 'the seal command verified its own proof');
  t.is(status.CommD, reference.commD, `sector ${n}: CommD of an uninterrupted seal`);
  t.is(status.CommR, reference.commR, `sector ${n}: CommR of an uninterrupted seal`);
}

/** Reads a piece back through the CLI (verified against its piece CID) and compares it with the file it came from. */
async function readsBack(t: ExecutionContext, repo: string, p: AddedPiece, file: string): Promise<void> {
  const out = join(repo, `back-${p.sector}-${p.offset}.bin`);
  const r = await runCli(repo, ['pieces', 'read', String(p.sector), String(p.offset), String(p.payloadSize), '--out', out, '--json']);
  t.is(r.code, 0, r.stderr);
  t.true(JSON.parse(r.stdout || '{}').verified, 'a whole-piece read is verified');
  t.true(readFileSync(out).equals(readFileSync(file)), `piece ${p.pieceCid} reads back byte-exact`);
}

/** `length` bytes of a file at `offset` (zeros past its end or where it does not exist yet). */
function bytesAt(path: string, offset: number, length: number): Buffer {
  const out = Buffer.alloc(length);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return out;
  }
  try {
    readSync(fd, out, 0, length, offset);
  } finally {
    closeSync(fd);
  }
  return out;
}

/** An API client for the daemon of `repo`. */
function apiOf(repo: string): ApiClient {
  const m = /^\/ip4\/([^/]+)\/tcp\/(\d+)\/http$/.exec(readFileSync(join(repo, 'api'), 'utf8').trim());
  if (!m) throw new Error(`unexpected api file in ${repo}`);
  return new ApiClient({ url: `http://${m[1]}:${m[2]}`, token: readFileSync(join(repo, 'token'), 'utf8').trim() });
}

// ─── 8 MiB: one sector, killed during AddPiece, in PC1 mid-layer, and during PC2 ───

const big = {
  repo: '',
  daemon: undefined as DaemonProcess | undefined,
  files: { a: '', b: '' },
  added: {} as { a?: AddedPiece; b?: AddedPiece },
  reference: undefined as Promise<OfflineSeal> | undefined,
  /** Every daemon's output, for the PC1 resume count. */
  outputs: [] as string[],
};
/** Piece A: 128 KiB padded at 0; piece B: 4 MiB padded, aligned at 4 MiB (fillers between), so A, fillers and B fill the sector. */
const A_BYTES = 100_000;
const B_BYTES = 3_000_000;

test.after.always(async () => {
  if (big.daemon) big.outputs.push((await big.daemon.stop()).output);
  await big.reference?.catch(() => {});
  if (big.repo) cleanup(big.repo);
});

test.serial('8 MiB: a kill -9 while a large upload is half sent restarts with the confirmed piece, no working file, and the upload\'s bytes on disk unclaimed', async (t) => {
  big.repo = tmpDir('ss-matrix-8m-');
  big.files.a = join(big.repo, 'a.bin');
  big.files.b = join(big.repo, 'b.bin');
  writeFileSync(big.files.a, seededBytes(A_BYTES, 11));
  const bBytes = seededBytes(B_BYTES, 12);
  writeFileSync(big.files.b, bBytes);
  big.reference = offlineSeal({ sectorSize: '8MiB', number: 0, ticket: TICKET, seed: SEED, pieces: [big.files.a, big.files.b] });
  big.reference.catch(() => {});
  let daemon = await startDaemon(big.repo, daemonArgs(flags('8MiB', 100, 2)));
  big.daemon = daemon;
  big.added.a = await cliJson<AddedPiece>(big.repo, ['pieces', 'add', big.files.a]);
  t.like(big.added.a, { sector: 0, paddedOffset: 0, paddedSize: 128 * 1024 });

  // the test's own client: sends the first half of B, then nothing
  const api = apiOf(big.repo);
  async function* halfThenSilence(): AsyncGenerator<Uint8Array> {
    yield bBytes.subarray(0, B_BYTES / 2);
    await new Promise(() => {});
  }
  const push = api.push(halfThenSilence());
  push.done.catch(() => {});
  const add = api.call('SectorAddPieceToAny', B_BYTES, { Type: 'push', Info: push.id }, {}).then(
    () => 'reported',
    (err: { code?: string }) => err.code ?? 'failed',
  );
  // B's first bytes are in the sector's unsealed file, fr32-padded at 4 MiB: the AddPiece is writing them
  const unsealed = join(big.repo, 'storage', 'unsealed', 's-t01000-0');
  const head = Buffer.from(bBytes.subarray(0, 31));
  const deadline = Date.now() + 120_000;
  while (!bytesAt(unsealed, 4 * MIB, 31).equals(head)) {
    if (Date.now() > deadline) throw new Error(`B's bytes never reached the unsealed file:\n${daemon.output()}`);
    await sleep(25);
  }
  await waitForRunning(big.repo, 0, 'AP', 60_000);
  const killed = await daemon.kill();
  big.outputs.push(killed.output);
  t.is(killed.signal, 'SIGKILL');
  t.is(await add, 'DAEMON_UNREACHABLE', 'the piece being uploaded was never reported added');
  api.close();

  // the next daemon dies by itself half-way through PC1's second layer (next test)
  daemon = await startDaemon(big.repo, daemonArgs(flags('8MiB', 100, 2)), { [CRASH_AT_ENV]: 'pc1.mid-layer' satisfies CrashPoint });
  big.daemon = daemon;
  const status = await sectorStatus(big.repo, 0);
  t.is(status.State, 'WaitDeals');
  t.deepEqual(status.Deals, [big.added.a.pieceCid], 'only the confirmed piece is the sector\'s');
  t.is(Math.max(...status.Pieces.map((p) => p.PaddedOffset + p.PaddedSize)), 4 * MIB, 'A and its alignment fillers for B were recorded; B was not');
  t.true(bytesAt(unsealed, 4 * MIB, 31).equals(head), 'the half upload\'s bytes are still on disk past the last piece');
  t.deepEqual(await storageProblems(big.repo, { quiescent: true }), []);
  const interrupted = (await sealingCalls(big.repo, 0)).filter((c) => c.Task === 'AP' && c.Outcome !== 'ok');
  t.is(interrupted.length, 1, 'one AddPiece did not finish');
  t.like(interrupted[0], { State: 'returned', Outcome: 'interrupted', Attempts: 1 });

  // the client tries again: B lands where the interrupted bytes are, and fills the sector
  big.added.b = await cliJson<AddedPiece>(big.repo, ['pieces', 'add', big.files.b]);
  t.like(big.added.b, { sector: 0, paddedOffset: 4 * MIB, paddedSize: 4 * MIB });
});

test.serial('8 MiB: a kill -9 half-way through PC1\'s second layer leaves layer 1 checkpointed, and the restarted daemon resumes PC1 from it in the same call', async (t) => {
  if (!big.daemon || !big.added.b) return t.fail('the upload case did not get this far');
  await crashed(t, big.daemon, 'pc1.mid-layer');
  big.outputs.push(big.daemon.output());
  const cache = join(big.repo, 'storage', 'cache', 's-t01000-0');
  const checkpoint = JSON.parse(readFileSync(join(cache, PC1_CHECKPOINT_FILE), 'utf8')) as { done: Array<{ layer: number }> };
  t.deepEqual(checkpoint.done.map((d) => d.layer), [1], 'layer 1 was checkpointed when the daemon died');
  t.false(readdirSync(cache).includes(CacheFile.layer(2)), 'layer 2 was never written');

  big.daemon = await startDaemon(big.repo, daemonArgs(flags('8MiB', 100, 2)), SCALAR_POSEIDON);
  await waitForRunning(big.repo, 0, 'PC2');
  t.deepEqual(pc1Resumes(big.daemon.output()).length, 1, `PC1 resumed from its checkpoint:\n${big.daemon.output()}`);
  t.regex(pc1Resumes(big.daemon.output())[0]!, /resumed after 1 of 2 layers/);
  const pc1 = (await sealingCalls(big.repo, 0)).filter((c) => c.Task === 'PC1');
  t.is(pc1.length, 1, 'no second PC1 call: the interrupted one was queued again');
  t.like(pc1[0], { Outcome: 'ok', Attempts: 2 });
});

test.serial('8 MiB: a kill -9 at a seeded moment during PC2 runs PC2 again in the same call, and the sector reaches Proving with the seal command\'s CommD and CommR', async (t) => {
  if (!big.daemon || !big.added.b) return t.fail('the earlier cases did not get this far');
  const delay = Math.round(300 + seededRandom(seed)() * 1700);
  t.log(`kill ${delay} ms into PC2 (${SEED_ENV}=${seed})`);
  await sleep(delay);
  const jobs = await cliJson<Array<{ Task: string; RunWait: number }>>(big.repo, ['sealing', 'jobs']);
  t.true(jobs.some((j) => j.Task === 'seal/v0/precommit/2' && j.RunWait === 0), `PC2 still runs at the kill: ${JSON.stringify(jobs)}`);
  const killed = await big.daemon.kill();
  big.outputs.push(killed.output);
  t.is(killed.signal, 'SIGKILL');

  big.daemon = await startDaemon(big.repo, daemonArgs(flags('8MiB', 100, 2)));
  const status = await waitForState(big.repo, 0, ['Proving']);
  sameAsReference(t, 0, status, await big.reference!);
  t.deepEqual(status.Deals, [big.added.a!.pieceCid, big.added.b!.pieceCid]);
  const byTask = await checkCalls(t, big.repo, 0, status.Pieces.length);
  t.like(byTask.PC2, [{ Outcome: 'ok', Attempts: 2 }], 'PC2: the killed call ran again, no new call');
  t.like(byTask.PC1, [{ Outcome: 'ok', Attempts: 2 }]);
  t.is(byTask.AP!.filter((c) => c.Outcome === 'interrupted').length, 1);
  t.is(pc1Resumes(big.daemon.output()).length, 0, 'PC1 did not run again after PC2 was killed');
  await readsBack(t, big.repo, big.added.a!, big.files.a);
  await readsBack(t, big.repo, big.added.b!, big.files.b);
  t.deepEqual(await storageProblems(big.repo, { quiescent: true }), []);
  const resumes = big.outputs.concat(big.daemon.output()).flatMap(pc1Resumes);
  t.log(`PC1 resumed from its checkpoint ${resumes.length} time(s) instead of restarting: ${resumes.join(' | ')}`);
});

// ─── 2 KiB: one repository per crash point ───

const ARGS_2K = daemonArgs(flags('2KiB', 50, 1));
let ccReference2k: Promise<OfflineSeal> | undefined;
const cc2k = () => {
  ccReference2k ??= offlineSeal({ sectorSize: '2KiB', number: 0, ticket: TICKET, seed: SEED });
  return ccReference2k;
};

interface PointCase {
  point: CrashPoint;
  /** Where the daemon is when it dies. */
  when: string;
  /** A deal sector (one uploaded piece, `sectors seal`) rather than a pledged one. */
  deal?: boolean;
  /** The task whose call the kill hit, and the attempts that call ends with. */
  task: string;
  attempts: number;
  /** The state of that call and of the sector record the kill leaves in the repository. */
  atKill: { call: 'running' | 'done'; record: string };
}

const POINT_CASES: PointCase[] = [
  {
    point: 'call.done.PC1',
    when: 'just after PC1\'s result was committed, before the sector applied it',
    task: 'PC1',
    attempts: 1,
    atKill: { call: 'done', record: 'PreCommit1' },
  },
  { point: 'call.running.C1', when: 'while C1 runs', task: 'C1', attempts: 2, atKill: { call: 'running', record: 'Committing' } },
  { point: 'call.running.C2', when: 'while C2 runs', task: 'C2', attempts: 2, atKill: { call: 'running', record: 'Committing' } },
  {
    point: 'call.done.C2',
    when: 'just after C2\'s proof was committed, before the sector applied it',
    task: 'C2',
    attempts: 1,
    atKill: { call: 'done', record: 'Committing' },
  },
  {
    point: 'call.running.GET',
    when: 'while GET moves the finalized sector (FIN done and applied)',
    task: 'GET',
    attempts: 2,
    atKill: { call: 'running', record: 'FinalizeSector' },
  },
  {
    point: 'call.done.GET',
    when: 'just after GET\'s result was committed, before the sector applied it',
    task: 'GET',
    attempts: 1,
    atKill: { call: 'done', record: 'FinalizeSector' },
  },
  {
    point: 'finalize.cache-partly-cleared',
    when: 'half-way through Finalize (part of the cache removed)',
    deal: true,
    task: 'FIN',
    attempts: 2,
    atKill: { call: 'running', record: 'FinalizeSector' },
  },
];

for (const c of POINT_CASES) {
  test(`2 KiB: a daemon killed ${c.when} (${c.point}) restarts and the sector reaches Proving with the uninterrupted CommR, ${c.task} ${c.attempts === 1 ? 'delivered, not run again' : 'run again in the same call'}`, async (t) => {
    const repo = tmpDir('ss-matrix-2k-');
    t.teardown(() => cleanup(repo));
    const file = join(repo, 'deal.bin');
    writeFileSync(file, seededBytes(1000, 21));
    const reference = c.deal ? offlineSeal({ sectorSize: '2KiB', number: 0, ticket: TICKET, seed: SEED, pieces: [file] }) : cc2k();
    reference.catch(() => {});
    let daemon = await startDaemon(repo, ARGS_2K, { [CRASH_AT_ENV]: c.point });
    let piece: AddedPiece | undefined;
    try {
      if (c.deal) {
        piece = await cliJson<AddedPiece>(repo, ['pieces', 'add', file]);
        t.is((await runCli(repo, ['sectors', 'seal', '0'])).code, 0);
      } else {
        t.is((await cliJson<{ Number: number }>(repo, ['sectors', 'pledge'])).Number, 0);
      }
      await crashed(t, daemon, c.point);
      const rest = atRest(repo, c.task);
      t.is(rest.record, c.atKill.record, 'the sector record is where the kill left it');
      t.deepEqual(rest.calls, [{ state: c.atKill.call, attempts: 1, ...(c.atKill.call === 'done' ? { outcome: 'ok' } : {}) }], `the ${c.task} call is durably ${c.atKill.call}`);
      if (c.point === 'finalize.cache-partly-cleared') {
        const left = readdirSync(join(repo, 'storage', 'cache', 's-t01000-0'));
        t.true(clearableCacheFiles(5).some((f) => left.includes(f)), `Finalize had more of the cache to clear: ${left.join(', ')}`);
      }

      daemon = await startDaemon(repo, ARGS_2K);
      const status = await waitForState(repo, 0, ['Proving']);
      sameAsReference(t, 0, status, await reference);
      const byTask = await checkCalls(t, repo, 0, status.Pieces.length);
      t.is(byTask[c.task]!.length, 1, `one ${c.task} call`);
      t.like(byTask[c.task]![0], { Outcome: 'ok', Attempts: c.attempts });
      const requeued = Object.values(byTask).flat().filter((x) => x.Attempts > 1);
      t.deepEqual(requeued.map((x) => x.Task), c.attempts > 1 ? [c.task] : [], 'only the call the kill interrupted ran twice');
      if (piece) await readsBack(t, repo, piece, file);
      if (c.point === 'finalize.cache-partly-cleared') {
        t.deepEqual(readdirSync(join(repo, 'storage', 'cache', 's-t01000-0')).sort(), [CacheFile.pAux, CacheFile.tAux, 'sc-02-data-tree-r-last.dat'].sort());
      }
      t.deepEqual(await storageProblems(repo, { quiescent: true }), []);
    } finally {
      await daemon.stop();
    }
  });
}

/** What the repository says about sector `n` and its calls of `task` while the daemon is down. */
function atRest(repo: string, task: string, n = 0): { record: string | undefined; calls: Array<{ state: string; outcome?: string; attempts: number }> } {
  const db = openDatabase(join(repo, 'sector-storage.db'), { readonly: true });
  try {
    const calls = new CallStore(db).list({ number: n }).filter((x) => x.task === task);
    return {
      record: new SectorStore(db).get(1000, n)?.state,
      calls: calls.map((x) => ({ state: x.state, attempts: x.attempts, ...(x.outcome ? { outcome: x.outcome } : {}) })),
    };
  } finally {
    db.close();
  }
}

// ─── 2 KiB: the first AddPiece of a new sector, killed before the sector's record exists ───

// killed while it runs, it leaves a temporary that the start-up scan removes; killed after it finished,
// the sector's unsealed file, which reconciliation removes (with or without earlier sectors)
for (const [point, first] of [
  ['call.running.AP', true],
  ['call.done.AP', true],
  ['call.done.AP', false],
] as const) {
  test(`2 KiB: a daemon killed ${point === 'call.done.AP' ? 'after' : 'while'} the first AddPiece of a new sector ${point === 'call.done.AP' ? 'finished' : 'ran'} (${point}), before its record existed, starts again ${first ? 'on a database with no sector yet ' : ''}and the unreported piece leaves no file behind`, async (t) => {
    const repo = tmpDir('ss-matrix-ap-');
    t.teardown(() => cleanup(repo));
    const files = ['old', 'lost', 'next'].map((name, i) => {
      const file = join(repo, `${name}.bin`);
      // 1200 bytes: a 2 KiB piece, so each piece takes a sector of its own
      writeFileSync(file, seededBytes(1200, 40 + i));
      return file;
    });
    let daemon = await startDaemon(repo, ARGS_2K);
    const kept: Array<{ piece: AddedPiece; file: string }> = [];
    try {
      if (!first) {
        kept.push({ piece: await cliJson<AddedPiece>(repo, ['pieces', 'add', files[0]!]), file: files[0]! });
        await waitForState(repo, 0, ['Proving']);
      }
      await daemon.stop();
      const lostSector = first ? 0 : 1;
      daemon = await startDaemon(repo, ARGS_2K, { [CRASH_AT_ENV]: point });
      const lost = await runCli(repo, ['pieces', 'add', files[1]!]);
      await crashed(t, daemon, point);
      t.not(lost.code, 0, 'the piece was never reported added');
      const rest = atRest(repo, 'AP', lostSector);
      t.is(rest.record, undefined, `sector ${lostSector} has no record yet`);
      t.deepEqual(rest.calls, [{ state: point === 'call.done.AP' ? 'done' : 'running', attempts: 1, ...(point === 'call.done.AP' ? { outcome: 'ok' } : {}) }]);

      daemon = await startDaemon(repo, ARGS_2K);
      t.deepEqual(await storageProblems(repo, { quiescent: true }), [], `no file of the lost piece's sector ${lostSector} is left:\n${daemon.output()}`);
      const next = await cliJson<AddedPiece>(repo, ['pieces', 'add', files[2]!]);
      t.like(next, { sector: lostSector, paddedOffset: 0 }, 'the next piece takes the number of the sector that never was');
      kept.push({ piece: next, file: files[2]! });
      const status = await waitForState(repo, lostSector, ['Proving']);
      sameAsReference(t, lostSector, status, await offlineSeal({ sectorSize: '2KiB', number: lostSector, ticket: TICKET, seed: SEED, pieces: [files[2]!] }));
      for (const k of kept) await readsBack(t, repo, k.piece, k.file);
      t.deepEqual(await storageProblems(repo, { quiescent: true }), []);
    } finally {
      await daemon.stop();
    }
  });
}

test('2 KiB: a daemon killed after the AddPiece of a second piece finished (call.done.AP), before the sector recorded it, restarts with the confirmed piece only; that AddPiece shows interrupted, not ok, and packing writes over its bytes', async (t) => {
  const repo = tmpDir('ss-matrix-ap2-');
  t.teardown(() => cleanup(repo));
  const [a, b] = ['a', 'b'].map((name, i) => {
    const file = join(repo, `${name}.bin`);
    writeFileSync(file, seededBytes(450, 50 + i)); // 512-byte pieces: both fit sector 0
    return file;
  }) as [string, string];
  const reference = offlineSeal({ sectorSize: '2KiB', number: 0, ticket: TICKET, seed: SEED, pieces: [a] });
  reference.catch(() => {});
  let daemon = await startDaemon(repo, ARGS_2K);
  try {
    const kept = await cliJson<AddedPiece>(repo, ['pieces', 'add', a]);
    await daemon.stop();
    daemon = await startDaemon(repo, ARGS_2K, { [CRASH_AT_ENV]: 'call.done.AP' satisfies CrashPoint });
    t.not((await runCli(repo, ['pieces', 'add', b])).code, 0, 'the second piece was never reported added');
    await crashed(t, daemon, 'call.done.AP');
    daemon = await startDaemon(repo, ARGS_2K);
    t.deepEqual((await sectorStatus(repo, 0)).Deals, [kept.pieceCid], 'the sector holds its confirmed piece only');
    t.is((await runCli(repo, ['sectors', 'seal', '0'])).code, 0);
    const status = await waitForState(repo, 0, ['Proving']);
    sameAsReference(t, 0, status, await reference);
    const byTask = await checkCalls(t, repo, 0, status.Pieces.length);
    t.is(byTask.AP!.filter((c) => c.Outcome === 'interrupted').length, 1, 'the unrecorded piece\'s AddPiece');
    await readsBack(t, repo, kept, a);
  } finally {
    await daemon.stop();
  }
});

// ─── 2 KiB: kills at seeded random points while several sectors seal ───

const RANDOM_KILLS = 10;
/** A sector's states in sealing order: a round's kill waits for its newest sector to reach a seeded one of them. */
const SEALING_ORDER = [
  'WaitDeals',
  'AddPiece',
  'Packing',
  'GetTicket',
  'PreCommit1',
  'PreCommit2',
  'PreCommitting',
  'PreCommitWait',
  'WaitSeed',
  'Committing',
  'SubmitCommit',
  'CommitWait',
  'FinalizeSector',
  'Proving',
];
const KILL_TARGETS = ['Packing', 'PreCommit1', 'PreCommit2', 'PreCommitWait', 'WaitSeed', 'Committing', 'CommitWait', 'FinalizeSector'];

test.serial(`2 KiB: ${RANDOM_KILLS} kill -9s at seeded random points while several sectors seal; every sector reaches Proving with its uninterrupted CommR and each phase returned once`, async (t) => {
  const random = seededRandom(seed ^ 0x5eed);
  t.log(`${SEED_ENV}=${seed}`);
  const repo = tmpDir('ss-matrix-random-');
  t.teardown(() => cleanup(repo));
  /** Deal pieces by sector, in sector order, with their files. */
  const deals = new Map<number, Array<{ piece: AddedPiece; file: string }>>();
  const sectors = new Set<number>();
  let files = 0;
  const addDeal = async (size: number, seal: boolean) => {
    const file = join(repo, `deal-${files}.bin`);
    writeFileSync(file, seededBytes(size, 1000 + files++));
    const piece = await cliJson<AddedPiece>(repo, ['pieces', 'add', file]);
    sectors.add(piece.sector);
    deals.set(piece.sector, [...(deals.get(piece.sector) ?? []), { piece, file }]);
    if (seal && piece.paddedOffset + piece.paddedSize < 2048) t.is((await runCli(repo, ['sectors', 'seal', String(piece.sector)])).code, 0);
    return piece.sector;
  };
  const pledge = async () => {
    const n = (await cliJson<{ Number: number }>(repo, ['sectors', 'pledge'])).Number;
    sectors.add(n);
    return n;
  };

  let daemon = await startDaemon(repo, ARGS_2K);
  const outputs: string[] = [];
  const kills: string[] = [];
  try {
    await addDeal(700, false);
    await addDeal(900, true); // fills the deal sector: it packs by itself
    for (let k = 1; k <= RANDOM_KILLS; k++) {
      // new work every round, so each kill lands somewhere in the sealing of the newest sectors
      // (or, with a short delay, while the sectors restored by the last start ask for their calls)
      const newest = random() < 0.6 ? await pledge() : await addDeal(200 + Math.floor(random() * 800), true);
      const target = KILL_TARGETS[Math.floor(random() * KILL_TARGETS.length)]!;
      const delay = Math.round(random() * 80);
      let seen = '';
      for (const deadline = Date.now() + 120_000; Date.now() < deadline; await sleep(20)) {
        seen = (await sectorStatus(repo, newest)).State;
        if (SEALING_ORDER.indexOf(seen) >= SEALING_ORDER.indexOf(target)) break;
      }
      await sleep(delay);
      const jobs = Object.values(((await rawRpc(repo, 'Filecoin.WorkerJobs', [])).result ?? {}) as Record<string, Array<{ Sector: { Number: number }; Task: string; RunWait: number }>>)
        .flat()
        .filter((j) => j.RunWait === 0)
        .map((j) => `${j.Task.replace('seal/v0/', '')} of ${j.Sector.Number}`);
      const states = ((await rawRpc(repo, 'Filecoin.SectorsListInfo', [])).result as Array<{ SectorID: number; State: string }>).map((s) => `${s.SectorID}:${s.State}`);
      const killed = await daemon.kill();
      t.is(killed.signal, 'SIGKILL');
      outputs.push(killed.output);
      kills.push(`kill ${k}: ${delay} ms after sector ${newest} reached ${target}${seen === target ? '' : ` (first seen in ${seen})`}: running [${jobs.join(', ')}], sectors ${states.join(' ')}`);
      daemon = await startDaemon(repo, ARGS_2K);
    }
    t.log(kills.join('\n'));
    const numbers = [...sectors].sort((a, b) => a - b);
    const statuses = [];
    for (const n of numbers) statuses.push(await waitForState(repo, n, ['Proving']));
    // the references, two at a time
    const references: OfflineSeal[] = [];
    for (let i = 0; i < numbers.length; i += 2) {
      references.push(
        ...(await Promise.all(
          numbers.slice(i, i + 2).map((n) =>
            offlineSeal({ sectorSize: '2KiB', number: n, ticket: TICKET, seed: SEED, pieces: (deals.get(n) ?? []).map((d) => d.file) }),
          ),
        )),
      );
    }
    let requeued = 0;
    for (const [i, n] of numbers.entries()) {
      sameAsReference(t, n, statuses[i]!, references[i]!);
      const byTask = await checkCalls(t, repo, n, statuses[i]!.Pieces.length);
      requeued += Object.values(byTask).flat().filter((c) => c.Attempts > 1).length;
      for (const d of deals.get(n) ?? []) await readsBack(t, repo, d.piece, d.file);
    }
    t.deepEqual(await storageProblems(repo, { quiescent: true }), []);
    const resumes = outputs.concat(daemon.output()).flatMap(pc1Resumes);
    t.log(`${numbers.length} sectors; ${requeued} calls re-queued after a kill; PC1 resumed from a checkpoint ${resumes.length} time(s)`);
  } finally {
    await daemon.stop();
  }
});
