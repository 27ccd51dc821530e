/**
 * `sector-storage sealing …`, lotus-miner style (`cmd/lotus-miner/sealing.go`): `jobs` (the calls
 * not yet returned to their sectors), `calls --sector N` (every call ever made for a sector) and
 * `abort CALLID`.
 */
import { NO_WORKER, RUN_WAIT, type SealingCall, type WorkerJob } from '../../api/methods/sealing.js';
import type { ApiClient } from '../../api/rpc-client.js';
import { TASK_WIRE_NAMES, type TaskType } from '../../tasks/task-types.js';
import { parseIntArg, UsageError } from '../args.js';
import { defineCommand } from '../command.js';
import { formatElapsed, type Output, tabulate } from '../output.js';
import { JobBars, type TermStream, TtyFrame, WATCH_INTERVAL_MS } from '../watch.js';
import { DaemonUnreachableError } from '../../errors.js';

const SHORT_NAMES = new Map(Object.entries(TASK_WIRE_NAMES).map(([short, wire]) => [wire, short as TaskType]));

/** Lotus's short name of a wire task name (`UNK` for one this program does not know, as Lotus). */
export function taskShortName(wire: string): string {
  return SHORT_NAMES.get(wire) ?? 'UNK';
}

/** A job row of `sealing jobs --json`: Lotus's WorkerJob and the worker it is listed under. */
export interface JobRow extends WorkerJob {
  Worker: string;
}

/**
 * Lotus's state words for RunWait: `assigned(n)` for window n of a worker. A call under the nil
 * worker with a positive RunWait is in no window yet: `queued` (Lotus does not list those).
 */
export function runWaitState(runWait: number, worker?: string): string {
  if (runWait === RUN_WAIT.running) return 'running';
  if (runWait === RUN_WAIT.retWait) return 'ret-wait';
  if (runWait === -2) return 'returned';
  if (runWait === -3) return 'ret-done';
  if (runWait > 0) return worker === NO_WORKER ? 'queued' : `assigned(${runWait - 1})`;
  return `runwait(${runWait})`;
}

/** The jobs of every worker in lotus-miner's order: by RunWait, then oldest first, then call id. */
export function flattenJobs(byWorker: Record<string, WorkerJob[]>): JobRow[] {
  const rows = Object.entries(byWorker).flatMap(([worker, jobs]) => jobs.map((j) => ({ Worker: worker, ...j })));
  return rows.sort((a, b) => a.RunWait - b.RunWait || Date.parse(a.Start) - Date.parse(b.Start) || a.ID.ID.localeCompare(b.ID.ID));
}

/**
 * A job's progress: `phase done/total (detail)`; `phase done` when the total is unknown (a fetch's
 * bytes); a detail that is a URL is left out (too long for a table).
 */
export function progressText(p: NonNullable<WorkerJob['Progress']>): string {
  const counts = p.Total > 0 ? `${p.Done}/${p.Total}` : `${p.Done}`;
  return `${p.Phase} ${counts}${p.Detail && !p.Detail.includes('://') ? ` (${p.Detail})` : ''}`;
}

const progressCell = (j: WorkerJob) => (j.Progress ? progressText(j.Progress) : '');

/** The first 8 hex digits of a PC1 batch id (a uuid, as call ids). */
const shortBatch = (id: string) => id.replaceAll('-', '').slice(0, 8);

/** The first 8 hex digits of a call id (as Lotus prints its first 4 bytes). */
const shortId = (j: WorkerJob) => j.ID.ID.replaceAll('-', '').slice(0, 8);

/**
 * The `sealing jobs` table (ID and Worker are the first 8 characters, as Lotus's first 4 bytes in
 * hex); `progress` renders the last column (`--watch` draws bars there).
 */
export function formatJobs(rows: readonly JobRow[], now = Date.now(), progress: (j: JobRow) => string = progressCell): string[] {
  if (rows.length === 0) return ['no jobs'];
  const table = [['ID', 'Sector', 'Worker', 'Hostname', 'Task', 'State', 'Time', 'Batch', 'Progress']];
  for (const j of rows) {
    table.push([
      shortId(j),
      String(j.Sector.Number),
      j.Worker.replaceAll('-', '').slice(0, 8),
      j.Hostname ?? '',
      taskShortName(j.Task),
      runWaitState(j.RunWait, j.Worker),
      formatElapsed(now - Date.parse(j.Start)),
      j.Batch ? shortBatch(j.Batch) : '',
      progress(j),
    ]);
  }
  return tabulate(table);
}

/**
 * `sealing jobs --watch` when the output is not a terminal: a line when a call appears, changes
 * state or progresses, and when it leaves the list, each prefixed with the time since the watch began.
 */
export class JobChangeLines {
  readonly #last = new Map<string, { key: string; row: JobRow }>();
  #empty: boolean | undefined;

  /** The lines for this poll's `rows` (`bars` already fed with them). */
  lines(rows: readonly JobRow[], bars: JobBars, elapsedMs: number): string[] {
    const at = formatElapsed(elapsedMs).padStart(8);
    const out: string[] = [];
    const seen = new Set<string>();
    for (const j of rows) {
      seen.add(j.ID.ID);
      const state = runWaitState(j.RunWait, j.Worker);
      // the rate and ETA change every poll: only the state and the counters make a change
      const key = `${state} ${j.Progress ? `${j.Progress.Phase} ${j.Progress.Done}/${j.Progress.Total}` : ''}`;
      if (this.#last.get(j.ID.ID)?.key === key) continue;
      this.#last.set(j.ID.ID, { key, row: j });
      const bar = bars.text(j.ID.ID);
      out.push(`${at}  ${shortId(j)}  sector ${j.Sector.Number}  ${taskShortName(j.Task)}  ${state}${bar ? `  ${bar}` : ''}`);
    }
    for (const [id, { row }] of this.#last) {
      if (seen.has(id)) continue;
      this.#last.delete(id);
      out.push(`${at}  ${shortId(row)}  sector ${row.Sector.Number}  ${taskShortName(row.Task)}  no longer listed`);
    }
    if (rows.length === 0 && this.#empty !== true) out.push(`${at}  no jobs`);
    this.#empty = rows.length === 0;
    return out;
  }
}

/** Reads the open calls (and with `withDone` those returned in the last hour) as table rows. */
async function readJobs(api: ApiClient, withDone: boolean, signal: AbortSignal): Promise<JobRow[]> {
  const open = await api.call('WorkerJobs', { signal });
  const done = withDone ? await api.call('WorkerJobsDone', Date.now() - 3_600_000, { signal }) : {};
  for (const [worker, list] of Object.entries(done)) open[worker] = [...(open[worker] ?? []), ...list];
  return flattenJobs(open);
}

/**
 * `sealing jobs --watch`: the jobs as the daemon's `SealingJobsNotify` channel pushes them (a call
 * appearing, changing state, progressing, leaving; none missed however short). On a terminal the
 * table is redrawn every second with a bar per running call; otherwise {@link JobChangeLines}, at
 * each change. With `--show-ret-done` the returned calls are read again at each redraw (or change).
 * Ends cleanly (exit 0) on Ctrl-C.
 */
async function watchJobs(out: Output, api: ApiClient, withDone: boolean, signal: AbortSignal): Promise<number> {
  const stream = out.stdout as TermStream;
  const bars = new JobBars();
  const started = Date.now();
  const frame = stream.isTTY ? new TtyFrame(stream) : undefined;
  const changes = new JobChangeLines();
  const open = new Map<string, { worker: string; job: WorkerJob }>();
  let done: Record<string, WorkerJob[]> = {};
  let first = false;
  const rows = () => {
    const byWorker: Record<string, WorkerJob[]> = {};
    for (const { worker, job } of open.values()) {
      const list = byWorker[worker];
      if (list) list.push(job);
      else byWorker[worker] = [job];
    }
    for (const [worker, list] of Object.entries(done)) byWorker[worker] = [...(byWorker[worker] ?? []), ...list];
    return flattenJobs(byWorker);
  };
  const readDone = async () => {
    if (withDone) done = await api.call('WorkerJobsDone', Date.now() - 3_600_000, { signal });
  };
  const draw = () => {
    const now = Date.now();
    const r = rows();
    bars.update(r);
    frame?.draw([`sealing jobs, every 1s (Ctrl-C to stop)  ${new Date(now).toISOString()}`, '', ...formatJobs(r, now, (j) => bars.text(j.ID.ID))]);
  };
  const timer = frame
    ? setInterval(() => {
        if (first) void readDone().then(draw, () => {});
      }, WATCH_INTERVAL_MS)
    : undefined;
  try {
    for await (const v of api.subscribe('SealingJobsNotify', [], signal)) {
      if (v.Type === 'current') {
        open.clear();
        for (const [worker, jobs] of Object.entries(v.Jobs)) for (const job of jobs) open.set(job.ID.ID, { worker, job });
        first = true;
      } else if (v.Type === 'done') open.delete(v.Job.ID.ID);
      else open.set(v.Job.ID.ID, { worker: v.Worker, job: v.Job });
      if (frame) {
        if (v.Type === 'current') {
          await readDone();
          draw();
        }
        continue;
      }
      if (v.Type !== 'progress') await readDone();
      const r = rows();
      bars.update(r);
      for (const line of changes.lines(r, bars, Date.now() - started)) out.stdout.write(`${line}\n`);
    }
  } catch (err) {
    // an aborted connection or request: the user stopped watching
    if (!signal.aborted) throw err;
  } finally {
    clearInterval(timer);
  }
  if (!signal.aborted) throw new DaemonUnreachableError('the daemon closed the SealingJobsNotify channel (shutting down?)');
  return 0;
}

const time = (ms: number | undefined) => (ms === undefined ? '-' : new Date(ms).toISOString());

/** The `sealing calls` table. */
export function formatCalls(calls: readonly SealingCall[], sector: number): string[] {
  if (calls.length === 0) return [`no calls for sector ${sector}`];
  const table = [['ID', 'Task', 'State', 'Attempts', 'Started', 'Finished', 'Outcome', 'Batch']];
  for (const c of calls) {
    table.push([
      c.ID.replaceAll('-', '').slice(0, 8),
      c.Task,
      c.State,
      String(c.Attempts),
      time(c.Started),
      time(c.Finished),
      c.Outcome ?? '-',
      c.Batch ? shortBatch(c.Batch) : '-',
    ]);
  }
  const lines = tabulate(table);
  for (const c of calls) if (c.Error) lines.push(`  call ${c.ID} (${c.Task}) error: ${c.Error.message} [${c.Error.code}]`);
  return lines;
}

const jobs = defineCommand({
  path: ['sealing', 'jobs'],
  summary: 'list the calls not yet returned to their sectors: running, waiting for a worker, or done and not yet applied',
  description:
    'Columns as lotus-miner: ID (first 8 hex digits of the call id; "sealing abort" takes it), Sector, Worker ("local" is the daemon\'s own pool; 00000000 when no worker holds the call), Hostname, Task (AP, PC1, PC2, C1, C2, FIN, GET, UNS), State (running = started on the worker, its prepare step included; assigned(n) = in window n of the worker, not started; queued = in no window yet; ret-wait = done, its sector has not applied the result yet), Time since it started, and Batch (first 8 hex digits of the PC1 batch a running call is labelled in with others, "run --pc1-batch-size").',
  flags: {
    'show-ret-done': { type: 'boolean', description: 'also list the calls returned to their sectors in the last hour (state ret-done)' },
    watch: {
      type: 'boolean',
      description:
        'follow the jobs until Ctrl-C (exit 0): on a terminal the table is redrawn every second with a progress bar per running call (PC1 nodes and layer, PC2 nodes, fetched bytes); piped, a line per change. Not with --json',
    },
  },
  positionals: [],
  async run({ flags, out, connect, signal }) {
    if (flags.watch && flags.json) throw new UsageError('--watch draws a live view for a person; it cannot be combined with --json (poll "sealing jobs --json" instead)');
    const api = await connect();
    try {
      if (flags.watch) return await watchJobs(out, api, flags['show-ret-done'] === true, signal);
      const rows = await readJobs(api, flags['show-ret-done'] === true, signal);
      out.result(rows, (r) => formatJobs(r));
    } finally {
      api.close();
    }
  },
});

const calls = defineCommand({
  path: ['sealing', 'calls'],
  summary: 'list every call ever made for a sector, oldest first (so you can check that no phase ran twice)',
  description:
    'Columns: ID (first 8 hex digits), Task, State (started, running, done, returned), Attempts (more than 1: re-queued after the daemon died), Started, Finished, Outcome (ok, failed, aborted, interrupted), Batch (first 8 hex digits of the PC1 batch the call last ran in with other calls, "run --pc1-batch-size"; - when it ran alone).',
  flags: {
    sector: { type: 'string', valueName: 'N', required: true, description: 'sector number' },
  },
  positionals: [],
  async run({ flags, out, connect, signal }) {
    const n = parseIntArg(flags.sector, 'sector number (--sector)');
    const api = await connect();
    try {
      const list = await api.call('SealingCalls', n, { signal });
      out.result(list, (c) => formatCalls(c, n));
    } finally {
      api.close();
    }
  },
});

const abort = defineCommand({
  path: ['sealing', 'abort'],
  summary: 'stop a queued or running call; its sector sees the task fail ABORTED and applies its failure rules',
  flags: {},
  positionals: [{ name: 'CALLID', description: 'the call id, or a prefix of it that only one call has (as "sealing jobs" shows)' }],
  async run({ args, out, connect, signal }) {
    const id = args.CALLID!;
    const api = await connect();
    try {
      const call = await api.call('SealingAbort', id, { signal });
      out.result(
        call,
        (c) =>
          `aborting job ${c.ID}, task ${c.Task}, sector ${c.Sector.Number}${c.State === 'running' && c.Hostname ? `, running on host ${c.Hostname}` : ''}`,
      );
    } finally {
      api.close();
    }
  },
});

export const sealingCommands = [jobs, calls, abort];
