/**
 * PC1 batches in a real daemon (`run --pc1-batch-size`, docs/design/scheduler.md §8): pledged
 * sectors whose PC1s ran as one batch reach Proving with the CommD and CommR of the offline `seal`
 * command (each sector sealed alone, same fixed ticket), every phase returned once per sector
 * (`sealing calls`), and the PC1 calls of the batch share its id. Kill -9 cases as the SIGKILL
 * matrix (sigkill-matrix.test.ts): when a batch member's `running` is committed
 * (`call.running.PC1`), and half-way through a batch's second layer (`pc1.mid-layer`, 8 MiB):
 * after the restart the calls resume under the same ids and the sectors end as uninterrupted. And
 * `sealing abort` of one member: it ends aborted, the others run again under their ids.
 */
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { CRASH_AT_ENV, type CrashPoint } from '../../../src/lifecycle/crash-points.js';
import { CallStore } from '../../../src/db/call-store.js';
import { openDatabase } from '../../../src/db/database.js';
import { cleanup, cliJson, daemonArgs, type DaemonProcess, rawRpc, startDaemon, tmpDir } from '../../helpers/cli-daemon.js';
import { callProblems, type OfflineSeal, offlineSeal, type SealingCallRow, sealingCalls, sleep, storageProblems, waitForState } from '../../helpers/seal-checks.js';

const TICKET = 'a1'.repeat(32);
const SEED = '5e'.repeat(32);

const args = (sectorSize: string, batch: number, waitMs = 60_000) => [
  ...daemonArgs({ sectorSize, fixedRandomness: { ticket: TICKET, seed: SEED }, epochMs: sectorSize === '2KiB' ? 50 : 100, seedWaitEpochs: 1 }),
  '--pc1-batch-size',
  String(batch),
  // long enough for every pledge here to get its PC1 ready: a full batch starts at once anyway
  '--pc1-batch-wait',
  String(waitMs),
];

/** The offline seal of each sector (each alone), started at once so they run beside the daemon. */
function references(sectorSize: string, count: number): Promise<OfflineSeal>[] {
  return Array.from({ length: count }, (_, number) => {
    const p = offlineSeal({ sectorSize, number, ticket: TICKET, seed: SEED });
    p.catch(() => {});
    return p;
  });
}

async function pledge(t: ExecutionContext, repo: string, count: number): Promise<void> {
  for (let n = 0; n < count; n++) t.is((await cliJson<{ Number: number }>(repo, ['sectors', 'pledge'])).Number, n);
}

/** Waits for a daemon to kill itself at its crash point. */
async function crashed(t: ExecutionContext, daemon: DaemonProcess, point: string, timeoutMs = 300_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const exit = await Promise.race([daemon.exited, new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), timeoutMs)))]);
  clearTimeout(timer);
  if (!exit) {
    await daemon.kill();
    throw new Error(`the daemon did not reach crash point ${point}:\n${daemon.output()}`);
  }
  t.is(exit.signal, 'SIGKILL', `killed at ${point}:\n${daemon.output()}`);
}

/** The PC1 calls of sectors 0..count-1 as the repository has them while the daemon is down. */
function pc1AtRest(repo: string, count: number): Array<{ number: number; callId: string; state: string; batch?: string }> {
  const db = openDatabase(join(repo, 'sector-storage.db'), { readonly: true });
  try {
    const store = new CallStore(db);
    return Array.from({ length: count }, (_, number) => store.list({ number }).filter((c) => c.task === 'PC1'))
      .flat()
      .map((c) => ({ number: c.sector.number, callId: c.callId, state: c.state, ...(c.batch ? { batch: c.batch } : {}) }));
  } finally {
    db.close();
  }
}

/** Every sector reached Proving as the reference; each phase returned once; returns each sector's PC1 call. */
async function sealedAsReference(t: ExecutionContext, repo: string, refs: Promise<OfflineSeal>[]): Promise<Array<SealingCallRow & { Batch?: string }>> {
  const pc1: Array<SealingCallRow & { Batch?: string }> = [];
  for (const [n, ref] of refs.entries()) {
    const status = await waitForState(repo, n, ['Proving']);
    const reference = await ref;
    t.true(reference.verified);
    t.is(status.CommD, reference.commD, `sector ${n}: CommD`);
    t.is(status.CommR, reference.commR, `sector ${n}: CommR of a seal of this sector alone`);
    const { problems, summary } = callProblems(await sealingCalls(repo, n), status.Pieces.length);
    t.deepEqual(problems, [], `sector ${n}: no phase ran twice`);
    const calls = summary.calls.filter((c) => c.Task === 'PC1');
    t.is(calls.length, 1, `sector ${n}: one PC1 call`);
    pc1.push(calls[0]!);
  }
  return pc1;
}

test('2 KiB, --pc1-batch-size 3: three pledged sectors\' PC1s run as one batch and each sector reaches Proving with the CommR of a seal of its own', async (t) => {
  const repo = tmpDir('ss-batch-2k-');
  t.teardown(() => cleanup(repo));
  const refs = references('2KiB', 3);
  const daemon = await startDaemon(repo, args('2KiB', 3));
  try {
    await pledge(t, repo, 3);
    const pc1 = await sealedAsReference(t, repo, refs);
    const batch = pc1[0]!.Batch;
    t.truthy(batch, 'sector 0\'s PC1 ran in a batch');
    t.deepEqual(pc1.map((c) => c.Batch), [batch, batch, batch], 'one batch of the three');
    t.deepEqual(pc1.map((c) => c.Attempts), [1, 1, 1]);
    t.is(new Set(pc1.map((c) => c.ID)).size, 3, 'each its own call');
    t.deepEqual(await storageProblems(repo, { quiescent: true }), []);
  } finally {
    await daemon.stop();
  }
});

test('2 KiB: a daemon killed as a batch member\'s PC1 is recorded running (call.running.PC1) restarts, the batch runs again under the same call ids, and both sectors reach Proving as uninterrupted', async (t) => {
  const repo = tmpDir('ss-batch-kill-');
  t.teardown(() => cleanup(repo));
  const refs = references('2KiB', 2);
  let daemon = await startDaemon(repo, args('2KiB', 2), { [CRASH_AT_ENV]: 'call.running.PC1' satisfies CrashPoint });
  try {
    await pledge(t, repo, 2);
    await crashed(t, daemon, 'call.running.PC1');
    const before = pc1AtRest(repo, 2);
    t.is(before.length, 2, 'a PC1 call per sector');
    const running = before.filter((c) => c.state === 'running');
    t.true(running.length >= 1, JSON.stringify(before));
    t.truthy(running[0]!.batch, 'the running member is recorded with its batch');

    daemon = await startDaemon(repo, args('2KiB', 2));
    const pc1 = await sealedAsReference(t, repo, refs);
    t.deepEqual(pc1.map((c) => c.ID).sort(), before.map((c) => c.callId).sort(), 'the same calls finished: none was started anew');
    for (const c of pc1) t.is(c.Attempts, running.some((r) => r.callId === c.ID) ? 2 : 1, `${c.ID}: a second attempt only for a call the kill found running`);
    t.truthy(pc1[0]!.Batch);
    t.is(pc1[0]!.Batch, pc1[1]!.Batch, 'they ran again as one batch');
    t.not(pc1[0]!.Batch, running[0]!.batch, 'a new batch');
    t.deepEqual(await storageProblems(repo, { quiescent: true }), []);
  } finally {
    await daemon.stop();
  }
});

test('8 MiB: a daemon killed half-way through a batch\'s second layer (pc1.mid-layer) resumes every member from its layer-1 checkpoint, and both sectors reach Proving as uninterrupted', async (t) => {
  const repo = tmpDir('ss-batch-8m-');
  t.teardown(() => cleanup(repo));
  const refs = references('8MiB', 2);
  let daemon = await startDaemon(repo, args('8MiB', 2), { [CRASH_AT_ENV]: 'pc1.mid-layer' satisfies CrashPoint });
  try {
    await pledge(t, repo, 2);
    await crashed(t, daemon, 'pc1.mid-layer');
    const before = pc1AtRest(repo, 2);
    t.deepEqual(before.map((c) => c.state), ['running', 'running'], 'both members were running');
    t.is(before[0]!.batch, before[1]!.batch);

    daemon = await startDaemon(repo, args('8MiB', 2));
    await waitForState(repo, 1, ['PreCommit2', 'PreCommitting', 'WaitSeed', 'Committing', 'FinalizeSector', 'Proving']);
    const resumes = daemon.output().split('\n').filter((l) => /PC1 of s-t01000-[01]: resumed after 1 of 2 layers/.test(l));
    t.is(resumes.length, 2, `each member resumed from its checkpoint:\n${daemon.output()}`);
    const pc1 = await sealedAsReference(t, repo, refs);
    t.deepEqual(pc1.map((c) => c.ID).sort(), before.map((c) => c.callId).sort(), 'the same calls');
    t.deepEqual(pc1.map((c) => c.Attempts), [2, 2]);
    t.is(pc1[0]!.Batch, pc1[1]!.Batch);
    t.deepEqual(await storageProblems(repo, { quiescent: true }), []);
  } finally {
    await daemon.stop();
  }
});

interface Job {
  ID: { ID: string };
  Sector: { Number: number };
  Task: string;
  RunWait: number;
  Batch?: string;
}

/** The PC1 calls `WorkerJobs` lists as started, once `count` of them are. */
async function runningPc1(repo: string, count: number, timeoutMs = 120_000): Promise<Job[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await rawRpc(repo, 'Filecoin.WorkerJobs', []);
    const jobs = Object.values((r.result ?? {}) as Record<string, Job[]>)
      .flat()
      .filter((j) => j.Task === 'seal/v0/precommit/1' && j.RunWait === 0);
    if (jobs.length >= count) return jobs.sort((a, b) => a.Sector.Number - b.Sector.Number);
    if (Date.now() > deadline) throw new Error(`${count} PC1 calls never ran together: ${JSON.stringify(r.result)}`);
    await sleep(50);
  }
}

test('8 MiB: sealing abort of one member of a running batch ends it aborted; the other members are queued again under their ids and reach Proving as uninterrupted', async (t) => {
  const repo = tmpDir('ss-batch-abort-');
  t.teardown(() => cleanup(repo));
  const refs = references('8MiB', 2);
  // portable SHA-256: the batch's PC1 runs for seconds, long enough to be aborted while it runs
  const daemon = await startDaemon(repo, args('8MiB', 3, 5_000), { SECTOR_STORAGE_PORTABLE_SHA: '1' });
  try {
    // at once, so the three PC1s are ready within the wait
    const numbers = await Promise.all([0, 1, 2].map(() => cliJson<{ Number: number }>(repo, ['sectors', 'pledge'])));
    t.deepEqual(numbers.map((n) => n.Number).sort(), [0, 1, 2]);
    const jobs = await runningPc1(repo, 3);
    const first = jobs[0]!.Batch;
    t.truthy(first);
    t.deepEqual(jobs.map((j) => j.Batch), [first, first, first], 'WorkerJobs gives each member the batch');
    const victim = jobs[2]!.ID.ID;
    const abort = await rawRpc(repo, 'Filecoin.SealingAbort', [victim]);
    t.falsy(abort.error, JSON.stringify(abort.error));

    const pc1 = await sealedAsReference(t, repo, refs);
    t.deepEqual(pc1.map((c) => c.ID), [jobs[0]!.ID.ID, jobs[1]!.ID.ID], 'the same calls finished');
    t.deepEqual(pc1.map((c) => c.Attempts), [2, 2], 'each ran a second time');
    t.truthy(pc1[0]!.Batch);
    t.not(pc1[0]!.Batch, first, 'in a new batch');
    const aborted = (await sealingCalls(repo, 2)).find((c) => c.ID === victim);
    t.like(aborted, { Outcome: 'aborted', Attempts: 1 });
    t.regex(daemon.output(), new RegExp(`PC1 batch ${first} stopped`), 'the others were told why');
  } finally {
    await daemon.stop();
  }
});
