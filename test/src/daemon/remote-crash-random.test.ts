/**
 * Randomized kills across processes: a daemon (`--local-tasks none`) and one worker process that
 * runs every task, while several 2 KiB sectors seal. Each round pledges a sector and, a seeded
 * moment later, kills with SIGKILL the daemon, the worker, or both at once, then starts them
 * again in a seeded order with a seeded gap. Afterwards every sector reaches Proving with the
 * CommR of the offline `seal` command, its calls show each phase returned once (nothing was
 * started again after it returned), and the worker never started a phase again after it had
 * finished it (a finished result is kept by the worker until the daemon has it).
 *
 * REMOTE_CRASH_RANDOM_SEED replays a run (the seed is printed).
 */
import test from 'ava';
import { runCli } from '../../helpers/cli-daemon.js';
import { Cluster, SEED, TICKET } from '../../helpers/remote-cluster.js';
import { callProblems, offlineSeal, sealingCalls, seededRandom, sleep, testSeed, waitForState } from '../../helpers/seal-checks.js';

const SEED_ENV = 'REMOTE_CRASH_RANDOM_SEED';
const seed = testSeed(SEED_ENV);
const ROUNDS = 5;

type Target = 'daemon' | 'worker' | 'both';

test('2 KiB: sectors sealing through seeded kills of the daemon, the worker or both, restarted in either order, reach Proving with the seal command\'s CommR and nothing finished is run again', async (t) => {
  const rand = seededRandom(seed);
  t.log(`${SEED_ENV}=${seed}`);
  const c = await Cluster.start(t, { sectorSize: '2KiB', localTasks: 'none', workers: { w: { taskTypes: 'AP,PC1,PC2,C1,C2,FIN,GET', canStore: true } } });
  const numbers: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const r = await runCli(c.repo, ['sectors', 'pledge', '--json']);
    t.is(r.code, 0, r.stderr);
    numbers.push((JSON.parse(r.stdout) as { Number: number }).Number);
    const delay = Math.floor(rand() * 2_500);
    const target = (['daemon', 'worker', 'both'] as const)[Math.floor(rand() * 3)] as Target;
    const workerFirst = rand() < 0.5;
    const gap = Math.floor(rand() * 1_000);
    t.log(`round ${round}: sector ${numbers.at(-1)}, kill -9 ${target} after ${delay} ms${target === 'both' ? `, restart the ${workerFirst ? 'worker' : 'daemon'} first, ${gap} ms apart` : `, restart ${gap} ms later`}`);
    await sleep(delay);
    await Promise.all([target !== 'worker' ? c.killDaemon() : undefined, target !== 'daemon' ? c.killWorker('w') : undefined]);
    await sleep(gap);
    if (target === 'daemon') await c.startDaemon();
    else if (target === 'worker') await c.startWorker('w');
    else if (workerFirst) {
      // the worker retries until the daemon is back
      const worker = c.startWorker('w', {}, { waitConnected: false });
      await sleep(gap);
      await c.startDaemon();
      await worker;
      await c.workers.w!.logged(/^connected to the manager/);
    } else {
      await c.startDaemon();
      await sleep(gap);
      await c.startWorker('w');
    }
  }
  for (const n of numbers) {
    const status = await waitForState(c.repo, n, ['Proving'], 180_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${c.logs()}`);
    });
    const reference = await offlineSeal({ sectorSize: '2KiB', number: n, ticket: TICKET, seed: SEED });
    t.is(status.CommR, reference.commR, `sector ${n}: CommR of an uninterrupted seal`);
    t.is(status.CommD, reference.commD, `sector ${n}: CommD of an uninterrupted seal`);
    const { problems, summary } = callProblems(await sealingCalls(c.repo, n), 1);
    t.deepEqual(problems, [], `sector ${n}: ${JSON.stringify(summary.calls.map((x) => [x.Task, x.State, x.Outcome, x.Attempts]))}`);
    // in the worker's logs, every session in order: no phase taken over again once it had finished
    const lines = c.workerLines('w', new RegExp(`\\((AP|PC1|PC2|C1|C2|FIN|GET) of s-t01000-${n}\\) (accepted|done)`));
    const finished = new Set<string>();
    for (const line of lines) {
      const [, task, what] = /\((\w+) of s-t01000-\d+\) (accepted|done)/.exec(line)!;
      if (what === 'done') finished.add(task!);
      else t.false(finished.has(task!), `sector ${n}: ${task} was taken over again after it had finished: ${line}`);
    }
  }
});
