/**
 * What lets an operator watch the daemon, wired in one place: the inspection hub fed by the actor
 * system (`/inspect`, `ActorsTree`, the NDJSON log of `run --inspect-log`, Stately's inspector of
 * `run --inspect`) and the Prometheus metrics (`/metrics`, src/daemon/metrics.ts).
 *
 * Two steps, because the hub and the observers must exist before the actors start (they are
 * options of `startDaemonSystem`) and the workers exist only after: {@link startObservability}
 * before `startDaemonSystem`, `attach(system)` after it.
 */
import { createInspectionLog, startStatelyPublisher } from '../../actors/inspect.js';
import { InspectionHub } from '../../actors/inspection-hub.js';
import type { DaemonSystemHandle } from '../../actors/system.js';
import type { ApiComponents } from '../api/components.js';
import type { ApiHttpServer } from '../api/http-server.js';
import { createInspectHandler, INSPECT_PATH } from '../api/inspect-page.js';
import type { WorkerNodeView } from '../api/methods/actors.js';
import type { ShutdownSteps } from '../lifecycle/shutdown-steps.js';
import type { InspectionEvent } from 'xstate';
import type { TaskObserver } from '../../actors/worker-tasks.actor.js';
import type { RemoteStoreOptions } from '../storage/remote-store.js';
import { DaemonMetrics, METRICS_PATH } from './metrics.js';
import type { Logger } from '../log/logger.js';

export interface ObservabilityOptions {
  /** Append the inspection events to this NDJSON file (`run --inspect-log`). */
  inspectLog?: string;
  /** Publish to Stately's inspector through an inspector server on this port (`run --inspect`). */
  statelyPort?: number;
  server: ApiHttpServer;
  components: ApiComponents;
  shutdown: ShutdownSteps;
  /** The daemon's root logger: components log through children. */
  log: Logger;
}

export interface Observability {
  /** The actor system's `inspect` option. */
  inspect: (event: InspectionEvent) => void;
  /** The actor system's `taskObserver` option. */
  taskObserver: TaskObserver;
  /** The remote stores' `onFetched` option. */
  onFetched: NonNullable<RemoteStoreOptions['onFetched']>;
  /** The RPC server's `onCallError`. */
  onCallError: (code: string) => void;
  /** The metrics registry (one per daemon). */
  metrics: DaemonMetrics;
  /** Connects the views to the running actor system. */
  attach(system: DaemonSystemHandle): void;
}

/** Workers as the actor tree shows them. */
function workerNodes(system: DaemonSystemHandle): WorkerNodeView[] {
  return system.workerService.states().map((w) => ({
    id: w.info.id,
    hostname: w.info.hostname,
    connected: w.connected,
    enabled: w.enabled,
    cordoned: w.cordoned,
    running: w.started.filter((c) => c.stage === 'active').length,
    preparing: w.started.filter((c) => c.stage === 'preparing').length,
  }));
}

/**
 * Creates the hub and its sinks and mounts `/inspect`. Registers its shutdown steps: the event
 * streams end before the HTTP server closes (so it does not wait for them), the sinks last.
 */
export async function startObservability(options: ObservabilityOptions): Promise<Observability> {
  const inspectLog = options.log.child({ component: 'inspect' });
  const sectorLog = options.log.child({ component: 'sector' });
  // a sector's state changes are its log lines, one child logger per sector
  const sectorLoggers = new Map<number, Logger>();
  const hub = new InspectionHub({
    onSectorChange: (sector, change) => {
      const l = sectorLoggers.get(sector) ?? sectorLog.child({ sector });
      sectorLoggers.set(sector, l);
      if (change.status === 'active') l.info({ state: change.state, event: change.event }, `sector ${sector} → ${change.state}`);
      else l.info({ state: change.state, status: change.status }, `sector ${sector} actor ${change.status}`);
      if (change.status !== 'active') sectorLoggers.delete(sector);
    },
  });
  options.shutdown.push('inspection', () => hub.close());
  if (options.inspectLog) {
    const file = createInspectionLog(options.inspectLog, hub);
    options.shutdown.push('inspection log', () => file.close());
    inspectLog.info(`actor inspection events → ${options.inspectLog}`);
  }
  if (options.statelyPort !== undefined) {
    const stately = await startStatelyPublisher(hub, options.statelyPort);
    options.shutdown.push('Stately inspector', () => stately.close());
    inspectLog.info(
      `actor inspection published through @statelyai/inspect on ws://localhost:${options.statelyPort}; open ${stately.url} (Stately's inspector UI needs the internet; /inspect on the API does not)`,
    );
  }
  const streams = new AbortController();
  options.server.mount(INSPECT_PATH, createInspectHandler(() => options.components.inspection, streams.signal));
  const metrics = new DaemonMetrics();
  const taskLog = options.log.child({ component: 'tasks' });
  options.server.mount(METRICS_PATH, metrics.handler());
  return {
    inspect: (event) => {
      hub.inspect(event);
      metrics.inspect(event);
    },
    taskObserver: {
      started(task, worker) {
        metrics.tasks.started(task, worker);
        taskLog.debug({ sector: task.sector.number, task: task.type, worker }, `${task.type} of sector ${task.sector.number} started on ${worker}`);
      },
      finished(task, worker, seconds, error) {
        metrics.tasks.finished(task, worker, seconds, error);
        const fields = { sector: task.sector.number, task: task.type, worker, ...(seconds !== undefined ? { seconds } : {}) };
        if (error) taskLog.warn({ ...fields, code: error.code }, `${task.type} of sector ${task.sector.number} failed on ${worker}: ${error.message} [${error.code}]`);
        else taskLog.info(fields, `${task.type} of sector ${task.sector.number} done on ${worker}${seconds !== undefined ? ` in ${seconds.toFixed(2)} s` : ''}`);
      },
    },
    onFetched: metrics.fetched,
    onCallError: metrics.apiError,
    metrics,
    attach(system) {
      metrics.attach(system);
      hub.workers = () => workerNodes(system);
      options.components.inspection = hub;
      // runs before the HTTP server's close: open event streams would hold it for its grace period
      options.shutdown.push('inspection streams', () => streams.abort());
    },
  };
}
