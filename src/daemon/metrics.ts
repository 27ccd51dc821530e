/**
 * `/metrics`: the daemon's Prometheus metrics (text format, `prom-client`), every name under
 * {@link METRICS_PREFIX}. One registry per daemon, never prom-client's global one, so several
 * daemons in one process (tests) keep their own figures.
 *
 * Counted as things happen: task starts and ends (the `tasks` actor's observer), downloads
 * (the remote store's), API errors (the RPC server's), the scheduler's step times (inspection
 * events). Read at scrape time: sectors per state, the queue, the workers' resource use, the
 * storage paths' space.
 */
import type { InspectionEvent } from 'xstate';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { DaemonSystemHandle } from '../../actors/system.js';
import type { TaskObserver } from '../../actors/worker-tasks.actor.js';
import type { MountHandler } from '../api/http-server.js';
import { sendJson } from '../api/http-server.js';

/** The prefix of every metric name. */
export const METRICS_PREFIX = 'sector_storage_';
/** The mount path. */
export const METRICS_PATH = '/metrics';

const p = (name: string) => `${METRICS_PREFIX}${name}`;

/** Task durations: from a 2 KiB AddPiece (ms) to a 64 GiB PC1 (hours). */
const TASK_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 28800];

export class DaemonMetrics {
  readonly registry = new Registry();
  readonly #tasksStarted: Counter<'task' | 'worker'>;
  readonly #tasksFinished: Counter<'task' | 'worker'>;
  readonly #tasksFailed: Counter<'task' | 'worker' | 'code'>;
  readonly #taskDuration: Histogram<'task' | 'worker'>;
  readonly #schedStep: Histogram;
  readonly #fetchBytes: Counter<'type'>;
  readonly #fetches: Counter<'type' | 'outcome'>;
  readonly #fetchDuration: Histogram<'type'>;
  readonly #recovered: Counter<'state'>;
  readonly #errors: Counter<'source' | 'code'>;
  #system: DaemonSystemHandle | undefined;
  /** Arrival times of events sent to the scheduler and not yet processed (its mailbox is FIFO). */
  #schedPending: number[] = [];
  #schedLastEnd = 0;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: METRICS_PREFIX });
    this.#tasksStarted = new Counter({ name: p('tasks_started_total'), help: 'Calls whose work started on a worker', labelNames: ['task', 'worker'], registers });
    this.#tasksFinished = new Counter({ name: p('tasks_finished_total'), help: 'Calls that ended with a result', labelNames: ['task', 'worker'], registers });
    this.#tasksFailed = new Counter({
      name: p('tasks_failed_total'),
      help: 'Calls that ended with an error, by error code',
      labelNames: ['task', 'worker', 'code'],
      registers,
    });
    this.#taskDuration = new Histogram({
      name: p('task_duration_seconds'),
      help: "Work time of calls (from the start of their work on the worker to their end; the prepare step's fetches excluded)",
      labelNames: ['task', 'worker'],
      buckets: TASK_BUCKETS,
      registers,
    });
    this.#schedStep = new Histogram({
      name: p('scheduler_step_seconds'),
      help: "Time the scheduler actor spent on one event; scheduling passes run inside these steps",
      buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    });
    this.#fetchBytes = new Counter({ name: p('fetch_bytes_total'), help: 'Bytes received downloading sector files from other nodes', labelNames: ['type'], registers });
    this.#fetches = new Counter({ name: p('fetches_total'), help: 'Downloads of sector files from a holder, by outcome', labelNames: ['type', 'outcome'], registers });
    this.#fetchDuration = new Histogram({
      name: p('fetch_duration_seconds'),
      help: 'Duration of downloads of sector files from a holder',
      labelNames: ['type'],
      buckets: [0.01, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600],
      registers,
    });
    this.#recovered = new Counter({
      name: p('calls_recovered_total'),
      help: 'Calls the call tracker found open at start (left by the previous run), by their state then',
      labelNames: ['state'],
      registers,
    });
    this.#errors = new Counter({ name: p('errors_total'), help: 'Errors by stable error code: API calls answered with an error, failed tasks', labelNames: ['source', 'code'], registers });

    const system = () => this.#system;
    new Gauge({
      name: p('sectors'),
      help: 'Sectors per state',
      labelNames: ['state'],
      registers,
      async collect() {
        const s = system();
        if (!s) return;
        this.reset();
        for (const [state, n] of Object.entries(await s.sectors.summary())) this.set({ state }, n);
      },
    });
    new Gauge({
      name: p('sched_queue_length'),
      help: 'Calls waiting to start, by task type',
      labelNames: ['task'],
      registers,
      async collect() {
        const s = system();
        if (!s) return;
        this.reset();
        const counts = new Map<string, number>();
        for (const r of (await s.workerService.schedDiag(false)).requests) counts.set(r.type, (counts.get(r.type) ?? 0) + 1);
        for (const [task, n] of counts) this.set({ task }, n);
      },
    });
    const workerGauge = (name: string, help: string, value: (w: ReturnType<DaemonSystemHandle['workerService']['states']>[number]) => number) =>
      new Gauge({
        name: p(name),
        help,
        labelNames: ['worker'],
        registers,
        collect() {
          const s = system();
          if (!s) return;
          this.reset();
          for (const w of s.workerService.states()) this.set({ worker: w.info.id }, value(w));
        },
      });
    workerGauge('worker_cpu_threads_used', 'Threads the running tasks of a worker claim (its active pool)', (w) => w.active.cpuUse);
    workerGauge('worker_cpu_threads', 'Threads of a worker', (w) => w.info.resources.cpus);
    workerGauge('worker_memory_used_min_bytes', 'Minimum memory the running tasks of a worker claim', (w) => w.active.memUsedMin);
    workerGauge('worker_memory_used_max_bytes', 'Maximum memory the running tasks of a worker claim', (w) => w.active.memUsedMax);
    workerGauge('worker_memory_physical_bytes', 'Physical memory of a worker', (w) => w.info.resources.memPhysical);
    workerGauge('worker_gpu_used', '1 when the running tasks of a worker hold its GPU', (w) => (w.active.gpuUsed ? 1 : 0));
    workerGauge('worker_tasks_running', 'Calls started on a worker (preparing or running)', (w) => w.started.length);
    workerGauge('worker_connected', '1 while a worker is connected', (w) => (w.connected ? 1 : 0));
    const pathGauge = (name: string, help: string, field: 'Capacity' | 'Available' | 'Reserved' | 'Used' | 'FSAvailable') =>
      new Gauge({
        name: p(name),
        help,
        labelNames: ['storage_id'],
        registers,
        collect() {
          const s = system();
          if (!s) return;
          this.reset();
          for (const path of s.localStore.localPaths()) this.set({ storage_id: path.ID }, s.localStore.fsStat(path.ID)[field]);
        },
      });
    pathGauge('storage_capacity_bytes', "Size of a local storage path's filesystem", 'Capacity');
    pathGauge('storage_available_bytes', 'Space of a local storage path usable for new sector data (free space minus reservations, within MaxStorage)', 'Available');
    pathGauge('storage_fs_available_bytes', "Free space of a local storage path's filesystem", 'FSAvailable');
    pathGauge('storage_reserved_bytes', 'Space of a local storage path reserved for files being written, not yet occupied', 'Reserved');
    pathGauge('storage_used_bytes', 'Sector data on a local storage path', 'Used');
  }

  /** The `tasks` actor's observer (actors/worker-tasks.actor.ts). */
  readonly tasks: TaskObserver = {
    started: (task, worker) => this.#tasksStarted.inc({ task: task.type, worker }),
    finished: (task, worker, seconds, error) => {
      if (seconds !== undefined) this.#taskDuration.observe({ task: task.type, worker }, seconds);
      if (!error) {
        this.#tasksFinished.inc({ task: task.type, worker });
        return;
      }
      this.#tasksFailed.inc({ task: task.type, worker, code: error.code });
      this.#errors.inc({ source: 'task', code: error.code });
    },
  };

  /** The remote store's download observer. */
  readonly fetched = (f: { type: string; bytes: number; seconds: number; ok: boolean }): void => {
    this.#fetches.inc({ type: f.type, outcome: f.ok ? 'ok' : 'failed' });
    this.#fetchBytes.inc({ type: f.type }, f.bytes);
    this.#fetchDuration.observe({ type: f.type }, f.seconds);
  };

  /** The RPC server's error observer. */
  readonly apiError = (code: string): void => {
    this.#errors.inc({ source: 'api', code });
  };

  /**
   * Times the scheduler's steps from the inspection events, O(1) on the actors' path: an event
   * sent to it is queued in its mailbox; its snapshot follows when that event was processed.
   */
  readonly inspect = (ev: InspectionEvent): void => {
    if ((ev.actorRef as { systemId?: string }).systemId !== 'scheduler') return;
    const now = performance.now();
    if (ev.type === '@xstate.event') {
      if (this.#schedPending.length < 100_000) this.#schedPending.push(now);
    } else if (ev.type === '@xstate.snapshot') {
      const sent = this.#schedPending.shift();
      if (sent === undefined) return;
      this.#schedStep.observe((now - Math.max(sent, this.#schedLastEnd)) / 1000);
      this.#schedLastEnd = now;
    }
  };

  /** Reads the running actor system at scrape time; counts the calls it recovered at start. */
  attach(system: DaemonSystemHandle): void {
    this.#system = system;
    for (const [state, n] of Object.entries(system.recovered)) this.#recovered.inc({ state }, n);
  }

  /** The `/metrics` mount (read permission). */
  handler(): MountHandler {
    return async (req, res, auth) => {
      req.resume();
      if (!auth.permissions.includes('read')) {
        sendJson(res, 401, { Error: 'unauthorized: missing read permission', code: 'UNAUTHORIZED' });
        return;
      }
      if (req.method !== 'GET') {
        res.setHeader('Allow', 'GET');
        sendJson(res, 405, { Error: `${METRICS_PATH} accepts GET only` });
        return;
      }
      const body = await this.registry.metrics();
      res.writeHead(200, { 'Content-Type': this.registry.contentType, 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    };
  }
}
