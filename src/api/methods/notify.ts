/**
 * Channels an operator watches, pushed over the WebSocket at `/rpc/v0` (`rpc-channel.ts`:
 * go-jsonrpc's `xrpc.ch.val` / `xrpc.ch.close` / `xrpc.cancel`). Lotus's miner API has no such
 * channels for sectors or sealing jobs (its CLI polls `SectorsStatus` and `WorkerJobs`); the names
 * follow its `ChainNotify` (the first value is the state now, then the changes). Refused over HTTP.
 * - `SectorNotify(sector) → chan SectorNotifyValue` (read, as `SectorsStatus`): `state` values, one
 *   for each state the sector enters, heard as its record is saved (none skipped; the channel
 *   closes after `Removed`), and `progress` values of its running call.
 * - `SealingJobsNotify() → chan SealingJobsValue` (admin, as `WorkerJobs`): `current` (WorkerJobs's
 *   answer), then `job` when a call appears or its RunWait or worker changes, `progress` when only
 *   its progress moved, `done` when it leaves the list. A call that came and went between two looks
 *   is still told, as `job` then `done`.
 *
 * Progress is looked at every {@link LOOK_MS} (it lives in memory, latest value only) and the jobs
 * list at every look and right after each sector save. Over a slow connection a `progress` value
 * not yet sent is replaced by the newer one of the same call; `state`, `job` and `done` values are
 * never dropped (past `MAX_PENDING` waiting the channel closes instead).
 */
import type { SectorRecord } from '../../db/sector-store.js';
import { expectArity, intParam } from '../params.js';
import type { ChannelSink } from '../rpc-channel.js';
import { defineChannelMethod } from '../rpc-method.js';
import { RUN_WAIT, type WorkerJob, workerJobOf, workerJobs } from './sealing.js';
import { sectorService } from './sectors.js';

/** How often progress (and the jobs list) is looked at. */
export const LOOK_MS = 250;

/** A value of `SectorNotify`. */
export type SectorNotifyValue =
  | { Type: 'state'; Sector: number; State: string; /** unix ms of the save */ Time: number; /** its error, as SectorsStatus's LastErr */ LastErr?: string }
  | { Type: 'progress'; Sector: number; Job: WorkerJob };

/** A value of `SealingJobsNotify`. */
export type SealingJobsValue =
  | { Type: 'current'; Jobs: Record<string, WorkerJob[]> }
  | { Type: 'job' | 'progress' | 'done'; Worker: string; Job: WorkerJob };

/** Runs `look` every LOOK_MS until `signal` aborts (one look at a time; a failed look ends the channel). */
function every(signal: AbortSignal, out: ChannelSink<unknown>, look: () => Promise<void>): () => void {
  let running = false;
  let again = false;
  const run = () => {
    if (signal.aborted || out.closed) return;
    if (running) {
      again = true;
      return;
    }
    running = true;
    look().then(
      () => {
        running = false;
        if (again) {
          again = false;
          run();
        }
      },
      () => out.close(),
    );
  };
  const timer = setInterval(run, LOOK_MS);
  signal.addEventListener('abort', () => clearInterval(timer), { once: true });
  return run;
}

const progressKey = (job: WorkerJob) => JSON.stringify(job.Progress ?? null);

export const notifyMethods = {
  SectorNotify: defineChannelMethod<[number], SectorNotifyValue>({
    perm: 'read',
    params: (raw): [number] => {
      expectArity(raw, 1);
      return [intParam(raw, 0, 'sector')];
    },
    open: async ([sector], { components, signal }, out) => {
      const sectors = sectorService(components.sectors);
      let last: string | undefined;
      const told = (r: Pick<SectorRecord, 'state' | 'updatedAt' | 'error'>) => {
        if (r.state === last) return;
        last = r.state;
        out.push({ Type: 'state', Sector: sector, State: r.state, Time: r.updatedAt, ...(r.error ? { LastErr: r.error.message } : {}) });
        if (r.state === 'Removed') out.close();
      };
      // subscribed before the first read, so no state falls between them
      const unsubscribe = sectors.watch?.((r) => {
        if (r.number === sector && r.miner === components.daemon.minerId) told(r);
      });
      signal.addEventListener('abort', () => unsubscribe?.(), { once: true });
      let record: SectorRecord;
      try {
        record = await sectors.sectorStatus(sector); // SECTOR_UNKNOWN: the call fails, no channel
      } catch (err) {
        unsubscribe?.();
        throw err;
      }
      told(record);
      const sent = new Map<string, string>();
      every(signal, out, async () => {
        const calls = (await sectors.jobs()).filter((c) => c.sector.number === sector && c.state === 'running');
        const placements = components.workers?.placements() ?? {};
        for (const call of calls) {
          const p = placements[call.callId];
          const progress = p?.runWait === RUN_WAIT.running ? components.workers?.progress(call.callId) : undefined;
          if (!p || !progress) continue;
          const { job } = workerJobOf(call, p);
          job.Progress = { Phase: progress.phase, Done: progress.done, Total: progress.total, ...(progress.detail ? { Detail: progress.detail } : {}) };
          const key = progressKey(job);
          if (sent.get(call.callId) === key) continue;
          sent.set(call.callId, key);
          out.latest(call.callId, { Type: 'progress', Sector: sector, Job: job });
        }
      });
    },
  }),
  SealingJobsNotify: defineChannelMethod<[], SealingJobsValue>({
    perm: 'admin',
    params: (raw): [] => {
      expectArity(raw, 0);
      return [];
    },
    open: async (_p, { components, signal }, out) => {
      const sectors = sectorService(components.sectors);
      const first = await workerJobs(components);
      out.push({ Type: 'current', Jobs: first });
      /** Per call id: where it was listed, its RunWait and its progress as last told. */
      const seen = new Map<string, { worker: string; job: WorkerJob; runWait: number; progress: string }>();
      for (const [worker, jobs] of Object.entries(first)) {
        for (const job of jobs) seen.set(job.ID.ID, { worker, job, runWait: job.RunWait, progress: progressKey(job) });
      }
      let lookedAt = Date.now();
      const look = async () => {
        const since = lookedAt;
        lookedAt = Date.now();
        const now = await workerJobs(components);
        const listed = new Set<string>();
        for (const [worker, jobs] of Object.entries(now)) {
          for (const job of jobs) {
            const id = job.ID.ID;
            listed.add(id);
            const before = seen.get(id);
            const progress = progressKey(job);
            if (!before || before.worker !== worker || before.runWait !== job.RunWait) out.push({ Type: 'job', Worker: worker, Job: job });
            else if (before.progress !== progress) out.latest(id, { Type: 'progress', Worker: worker, Job: job });
            seen.set(id, { worker, job, runWait: job.RunWait, progress });
          }
        }
        for (const [id, before] of seen) {
          if (listed.has(id)) continue;
          seen.delete(id);
          finished.set(id, lookedAt);
          out.push({ Type: 'done', Worker: before.worker, Job: before.job });
        }
        // calls that started and returned between two looks
        for (const c of sectors.returnedSince ? await sectors.returnedSince(since) : []) {
          if (listed.has(c.callId) || seen.has(c.callId) || finished.has(c.callId)) continue;
          finished.set(c.callId, lookedAt);
          const { worker, job } = workerJobOf(c);
          out.push({ Type: 'job', Worker: worker, Job: job });
          out.push({ Type: 'done', Worker: worker, Job: job });
        }
        // a call returned before `since` is not asked for again: forget it
        for (const [id, at] of finished) if (at < since) finished.delete(id);
      };
      /** Calls told as `done`, by the look that told it (returnedSince may list them once more). */
      const finished = new Map<string, number>();
      const run = every(signal, out, look);
      const unsubscribe = sectors.watch?.(() => run());
      signal.addEventListener('abort', () => unsubscribe?.(), { once: true });
    },
  }),
};
