/**
 * Operator actions and full disks with remote workers, across processes: `sealing abort` stops
 * the task on the worker's own thread, and a worker whose storage path has no room for a sector
 * is given no sealing task (it waits for a worker with room).
 */
import test from 'ava';
import { rawRpc, runCli } from '../../helpers/cli-daemon.js';
import { Cluster } from '../../helpers/remote-cluster.js';
import { type SealingCallRow, sealingCalls, sleep, waitForState } from '../../helpers/seal-checks.js';

interface Job {
  ID: { ID: string };
  Sector: { Number: number };
  Task: string;
  RunWait: number;
}

/** Every open call, with the worker it is listed under. */
async function jobs(repo: string): Promise<Array<Job & { worker: string }>> {
  const r = await rawRpc(repo, 'Filecoin.WorkerJobs', []);
  return Object.entries((r.result ?? {}) as Record<string, Job[]>).flatMap(([worker, js]) => js.map((j) => ({ ...j, worker })));
}

/** Sector `n`'s PC1 once it runs, or undefined when the sector got past PreCommit1 without being seen running. */
async function runningPc1(repo: string, n: number): Promise<(Job & { worker: string }) | undefined> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const pc1 = (await jobs(repo)).find((j) => j.Task === 'seal/v0/precommit/1' && j.Sector.Number === n && j.RunWait === 0);
    if (pc1) return pc1;
    const state = ((await rawRpc(repo, 'Filecoin.SectorsStatus', [n])).result as { State?: string } | undefined)?.State;
    if (state !== undefined && !['Empty', 'WaitDeals', 'AddPiece', 'Packing', 'GetTicket', 'PreCommit1'].includes(state)) return undefined;
    await sleep(20);
  }
  throw new Error(`sector ${n}: no PC1 ran within 120 s`);
}

test.serial('sealing abort of a PC1 running on a remote worker stops it on the worker\'s thread; the call ends ABORTED and the sector applies the PC1 failure rule', async (t) => {
  const c = await Cluster.start(t, { sectorSize: '8MiB', localTasks: 'AP', workers: { w: { taskTypes: 'PC1,PC2,C1,C2,FIN' } } });
  // An 8 MiB PC1 runs for about a second: the abort goes through the API as soon as the call shows
  // running. On a loaded machine the PC1 can still finish first; then the abort is refused
  // (CALL_UNKNOWN) and the next pledged sector is tried.
  let target: { n: number; pc1: Job & { worker: string } } | undefined;
  for (let n = 0; n < 3 && !target; n++) {
    t.is((await runCli(c.repo, ['sectors', 'pledge'])).code, 0);
    let pc1 = await runningPc1(c.repo, n);
    // the call shows running from its prepare step (the unsealed file's fetch) on: the abort is
    // meant for the PC1 itself, so it waits until the worker took the call over
    if (pc1) {
      const id = pc1.ID.ID;
      await c.workers.w!.logged(new RegExp(`call ${id} \\(PC1 of s-t01000-${n}\\) accepted`), 60_000);
      if (!(await jobs(c.repo)).some((j) => j.ID.ID === id)) pc1 = undefined;
    }
    const abort = pc1 ? await rawRpc(c.repo, 'Filecoin.SealingAbort', [pc1.ID.ID]) : undefined;
    if (pc1 && abort && !abort.error) target = { n, pc1 };
    else if (!pc1 || abort?.error?.data?.code === 'CALL_UNKNOWN') t.log(`sector ${n}: its PC1 finished before the abort reached it; trying the next sector`);
    else t.fail(`SealingAbort failed: ${JSON.stringify(abort?.error)}`);
  }
  if (!target) return t.fail('no PC1 was still running when its abort arrived, in three sectors');
  const { n, pc1 } = target;
  t.is(pc1.worker, c.starts.w!.id, 'PC1 runs on the worker');
  // the worker's thread stopped and the worker returned the call ABORTED
  const line = await c.workers.w!.logged(new RegExp(`call ${pc1.ID.ID} \\(PC1 of s-t01000-${n}\\) failed: ABORTED`), 60_000);
  t.truthy(line);
  const status = await waitForState(c.repo, n, ['SealPreCommit1Failed', 'PreCommit1', 'PreCommit2'], 60_000);
  t.not(status.State, 'Proving');
  let call: SealingCallRow | undefined;
  for (let i = 0; i < 100 && !call; i++) {
    call = (await sealingCalls(c.repo, n)).find((x) => x.ID === pc1.ID.ID && x.Outcome !== undefined);
    if (!call) await sleep(100);
  }
  t.is(call?.Outcome, 'aborted');
  t.is(call?.Error?.code, 'ABORTED');
});

test.serial('a worker whose storage path has no room for a sector is given no PC1 or PC2: the call waits for a worker with room and runs there', async (t) => {
  const c = await Cluster.start(t, {
    sectorSize: '2KiB',
    localTasks: 'AP',
    // 1 KiB: not even a 2 KiB sector's sealed file fits
    // (C2's task selector does not look at space: the full worker runs no C2 here)
    workers: { full: { taskTypes: 'PC1,PC2', maxStorage: 1024 }, roomy: { taskTypes: 'PC1,PC2,C1,C2,FIN' } },
  });
  await c.killWorker('roomy');
  t.is((await runCli(c.repo, ['sectors', 'pledge'])).code, 0);
  // AddPiece ran in the daemon; PC1 has nowhere to go
  await waitForState(c.repo, 0, ['PreCommit1'], 60_000);
  await sleep(3_000);
  const waiting = (await jobs(c.repo)).filter((j) => j.Task === 'seal/v0/precommit/1');
  t.is(waiting.length, 1);
  t.not(waiting[0]!.RunWait, 0, 'PC1 is not running anywhere');
  t.deepEqual(c.workerLines('full', /accepted/), [], 'the full worker was handed nothing');
  await c.startWorker('roomy');
  const status = await waitForState(c.repo, 0, ['Proving'], 120_000).catch((err: Error) => {
    throw new Error(`${err.message}\n${c.logs()}`);
  });
  t.is(status.State, 'Proving');
  const calls = await sealingCalls(c.repo, 0);
  for (const task of ['PC1', 'PC2', 'C1', 'C2', 'FIN']) t.is(calls.find((x) => x.Task === task && x.Outcome === 'ok')?.Worker, c.starts.roomy!.id, `${task} ran on the worker with room`);
  t.deepEqual(c.workerLines('full', /accepted/), []);
});
