/**
 * `/metrics` of a real daemon, read with a Prometheus text parser none of us wrote
 * (parse-prometheus-text-format): the figures move as a sector seals, API errors are counted by
 * code, and calls the call tracker finds open after a kill -9 are counted as recovered.
 */
import { join } from 'node:path';
import test from 'ava';
import parsePrometheusTextFormat, { type PromFamily } from 'parse-prometheus-text-format';
import { CRASH_AT_ENV, type CrashPoint } from '../../../src/lifecycle/crash-points.js';
import { cleanup, cliJson, type DaemonProcess, managerOf, rawRpc, startDaemon, tmpDir } from '../../helpers/cli-daemon.js';
import { waitForState } from '../../helpers/seal-checks.js';

const ARGS = ['--sector-size', '2KiB', '--epoch-ms', '100', '--seed-wait-epochs', '1'];

function url(repo: string): string {
  return `${managerOf(repo).url}/metrics`;
}

/**
 * The scrape, parsed twice: as it is (`typed`: each family's type), and with the histograms'
 * TYPE lines left out (`samples`), because this parser folds a histogram's labelled series into
 * one unlabelled sample; untyped, each `_bucket`, `_sum` and `_count` series keeps its labels.
 */
async function scrape(repo: string): Promise<{ typed: PromFamily[]; samples: PromFamily[] }> {
  const res = await fetch(url(repo));
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  const text = await res.text();
  return { typed: parsePrometheusTextFormat(text), samples: parsePrometheusTextFormat(text.replace(/^# TYPE \S+ histogram\n/gm, '')) };
}

/** The sum of the samples of `name` with these labels (0 when there are none). */
function value(m: { samples: PromFamily[] }, name: string, labels: Record<string, string> = {}): number {
  return m.samples
    .filter((f) => f.name === name)
    .flatMap((f) => f.metrics)
    .filter((s) => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v))
    .reduce((sum, s) => sum + Number(s.value ?? 0), 0);
}

test.serial('metric values move as a sector seals, under one prefix, with the process metrics', async (t) => {
  const dir = tmpDir('ss-metrics-');
  const repo = join(dir, 'repo');
  let daemon: DaemonProcess | undefined;
  try {
    daemon = await startDaemon(repo, ARGS);
    const before = await scrape(repo);
    t.true(
      before.typed.every((f) => f.name.startsWith('sector_storage_')),
      `every name has the prefix: ${before.typed.map((f) => f.name).filter((n) => !n.startsWith('sector_storage_')).join(', ')}`,
    );
    for (const name of ['sector_storage_process_cpu_user_seconds_total', 'sector_storage_process_resident_memory_bytes', 'sector_storage_nodejs_heap_size_used_bytes']) {
      t.truthy(before.typed.find((f) => f.name === name), `${name} (Node's default metrics)`);
    }
    t.is(value(before, 'sector_storage_sectors', { state: 'Proving' }), 0);
    t.is(value(before, 'sector_storage_tasks_started_total', { task: 'PC1' }), 0);
    t.true(value(before, 'sector_storage_storage_capacity_bytes') > 0, 'the storage path reports its capacity');
    t.is(value(before, 'sector_storage_worker_cpu_threads', { worker: 'local' }), 1);
    const usedBefore = value(before, 'sector_storage_storage_used_bytes');

    const id = await cliJson<{ Number: number }>(repo, ['sectors', 'pledge']);
    await waitForState(repo, id.Number, ['Proving']);
    const after = await scrape(repo);
    t.is(value(after, 'sector_storage_sectors', { state: 'Proving' }), 1);
    for (const task of ['AP', 'PC1', 'PC2', 'C1', 'C2', 'FIN']) {
      t.is(value(after, 'sector_storage_tasks_started_total', { task, worker: 'local' }), 1, `${task} started once`);
      t.is(value(after, 'sector_storage_tasks_finished_total', { task, worker: 'local' }), 1, `${task} finished once`);
      t.is(value(after, 'sector_storage_task_duration_seconds_count', { task, worker: 'local' }), 1, `one ${task} duration observed`);
    }
    t.true(value(after, 'sector_storage_task_duration_seconds_sum', { task: 'PC1' }) > 0, 'PC1 took time');
    t.is(value(after, 'sector_storage_task_duration_seconds_bucket', { task: 'PC1', le: '+Inf' }), 1);
    t.is(after.typed.find((f) => f.name === 'sector_storage_task_duration_seconds')?.type, 'HISTOGRAM');
    t.true(
      value(after, 'sector_storage_scheduler_step_seconds_count') > value(before, 'sector_storage_scheduler_step_seconds_count'),
      'scheduler steps are timed',
    );
    t.truthy(after.typed.find((f) => f.name === 'sector_storage_sched_queue_length'), 'the queue length is exported');
    t.true(value(after, 'sector_storage_storage_used_bytes') > usedBefore, 'the sealed files use space on the path');
    t.is(value(after, 'sector_storage_tasks_failed_total'), 0);

    t.is(value(after, 'sector_storage_errors_total', { source: 'api', code: 'SECTOR_UNKNOWN' }), 0);
    const unknown = await rawRpc(repo, 'Filecoin.SectorsStatus', [999]);
    t.is(unknown.error?.data?.code, 'SECTOR_UNKNOWN');
    await rawRpc(repo, 'Filecoin.SectorsStatus', [999]);
    t.is(value(await scrape(repo), 'sector_storage_errors_total', { source: 'api', code: 'SECTOR_UNKNOWN' }), 2);
  } finally {
    await daemon?.stop();
    cleanup(dir);
  }
});

test.serial('calls found open after a kill -9 are counted as recovered at the next start', async (t) => {
  const dir = tmpDir('ss-metrics-crash-');
  const repo = join(dir, 'repo');
  let daemon: DaemonProcess | undefined;
  try {
    daemon = await startDaemon(repo, ARGS, { [CRASH_AT_ENV]: 'call.running.PC1' satisfies CrashPoint });
    await cliJson(repo, ['sectors', 'pledge']);
    const crashed = await daemon.exited;
    t.truthy(crashed.code ?? crashed.signal, 'the daemon killed itself with the PC1 call running');
    daemon = await startDaemon(repo, ARGS);
    const m = await scrape(repo);
    t.is(value(m, 'sector_storage_calls_recovered_total', { state: 'running' }), 1);
    await waitForState(repo, 0, ['Proving']);
  } finally {
    await daemon?.stop();
    cleanup(dir);
  }
});

test.serial('/metrics needs read permission', async (t) => {
  const dir = tmpDir('ss-metrics-perm-');
  const repo = join(dir, 'repo');
  let daemon: DaemonProcess | undefined;
  try {
    daemon = await startDaemon(repo, ARGS);
    const writeOnly = (await rawRpc(repo, 'Filecoin.AuthNew', [['write']])).result as string;
    t.is((await fetch(url(repo), { headers: { authorization: `Bearer ${writeOnly}` } })).status, 401);
    const ok = await fetch(url(repo));
    t.is(ok.status, 200);
    t.regex(ok.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  } finally {
    await daemon?.stop();
    cleanup(dir);
  }
});
