/**
 * A `sector-storage worker` process and its manager daemon on loopback: the worker connects over
 * WebSocket with the manager's admin token, keeps its id in its own repository, reconnects when
 * the manager restarts, and is refused — exiting with the reason — when the token is wrong.
 */
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { tokenFromAuthNew } from '../../../src/api/methods/common.js';
import { ApiClient } from '../../../src/api/rpc-client.js';
import { cleanup, type DaemonProcess, managerOf, startDaemon, tmpDir } from '../../helpers/cli-daemon.js';
import { startWorker, type WorkerProcess } from '../../helpers/cli-worker.js';

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A daemon and a directory for workers; everything is stopped and removed after the test. */
async function setup(t: { teardown(fn: () => Promise<void> | void): void }, port?: number) {
  const dir = tmpDir('ss-worker-connect-');
  const repo = join(dir, 'manager');
  const state: { daemon: DaemonProcess; workers: WorkerProcess[] } = {
    daemon: await startDaemon(repo, port ? ['--listen', `127.0.0.1:${port}`] : [], { SECTOR_STORAGE_HEARTBEAT_MS: '200' }),
    workers: [],
  };
  t.teardown(async () => {
    await Promise.all(state.workers.map((w) => w.kill()));
    await state.daemon.kill();
    cleanup(dir);
  });
  const worker = (name: string, flags: Parameters<typeof startWorker>[2] = {}) => {
    const w = startWorker(repo, join(dir, name), { ...flags, env: { SECTOR_STORAGE_HEARTBEAT_MS: '200', ...flags.env } });
    state.workers.push(w);
    return w;
  };
  return { dir, repo, state, worker };
}

test('a worker connects to its manager with the admin token, registers under the id its repository keeps, and a restart comes back under that id', async (t) => {
  const { dir, state, worker } = await setup(t);
  const first = worker('w1', { taskTypes: 'pc1,PC2' });
  const start = await first.started();
  t.regex(start.id, /^[0-9a-f-]{36}$/);
  t.deepEqual(start.taskTypes, ['PC2', 'PC1']);
  t.is(start.paths[0]?.LocalPath, join(dir, 'w1', 'storage'), 'the default storage path is in the worker repository');
  t.true(existsSync(join(dir, 'w1', 'worker.db')));
  await first.logged(/^connected to the manager \(session [0-9a-f-]+, miner t01000\) as worker /);
  const seen = () => state.daemon.output().split('\n').filter((l) => l.includes(`worker ${start.id} connected from 127.0.0.1`));
  t.is(seen().length, 1);
  t.regex(seen()[0]!, /1 threads, runs PC2, PC1; holds 0 running and 0 finished call\(s\)/);

  await first.stop();
  const deadline = Date.now() + 10_000;
  while (!state.daemon.output().includes(`worker ${start.id} disconnected`) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  t.true(state.daemon.output().includes(`worker ${start.id} disconnected (the worker is stopping)`));

  const second = worker('w1');
  const again = await second.started();
  t.is(again.id, start.id, 'the same worker id');
  t.not(again.session, start.session, 'a new session');
  await second.logged(/^connected to the manager/);
});

test('a worker whose token is forged, or grants no admin, exits with UNAUTHORIZED and the reason', async (t) => {
  const { repo, worker } = await setup(t);
  const { url, token } = managerOf(repo);
  const forged = worker('forged', { manager: { url, token: `${token.slice(0, -4)}AAAA` } });
  const e1 = await forged.exited;
  t.is(e1.code, 1);
  t.regex(forged.stdout(), /"code": "UNAUTHORIZED"/, 'with --json the error is a JSON document on stdout');
  const api = new ApiClient({ url, token });
  const weak = tokenFromAuthNew(await api.call('AuthNew', ['read', 'write']));
  api.close();
  const w = worker('weak', { manager: { url, token: weak } });
  t.is((await w.exited).code, 1);
  t.regex(w.stdout(), /has read, write permissions; it needs admin",?\s*"code": "UNAUTHORIZED"|"code": "UNAUTHORIZED",\s*"message": "[^"]*has read, write permissions; it needs admin/);
});

test('--task-types with an unknown name is refused naming it, and a second worker on a locked repository is refused', async (t) => {
  const { worker } = await setup(t);
  const bad = worker('bad', { taskTypes: 'PC1,PC9' });
  t.is((await bad.exited).code, 1);
  t.regex(bad.stdout(), /--task-types: \\"PC9\\" is not a task type \(all, or a list of FIN, GET, UNS, C1, C2, PC2, PC1, AP\)/);
  const one = worker('shared');
  await one.started();
  const two = worker('shared');
  t.not((await two.exited).code, 0);
  t.regex(two.stdout(), /"code": "REPO_LOCKED"/);
});

test('a worker reconnects when its manager restarts, and says hello again', async (t) => {
  const port = await freePort();
  const { repo, state, worker } = await setup(t, port);
  const w = worker('w');
  const start = await w.started();
  await w.logged(/^connected to the manager/);
  const before = w.output().length;
  await state.daemon.kill();
  state.daemon = await startDaemon(repo, ['--listen', `127.0.0.1:${port}`], { SECTOR_STORAGE_HEARTBEAT_MS: '200' });
  await w.logged(/^connected to the manager/, 30_000, before);
  const deadline = Date.now() + 10_000;
  while (!state.daemon.output().includes(`worker ${start.id} connected`) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  t.true(state.daemon.output().includes(`worker ${start.id} connected from 127.0.0.1`));
});

test("a worker declares the per-type limits of its <TASK>_MAX_CONCURRENT variables, the GPUs of --gpus and its PC1 gathering (SECTOR_STORAGE_PC1_GATHER); the manager's WorkerStats shows them; a bad value is refused naming the variable", async (t) => {
  const { repo, worker } = await setup(t);
  const w = worker('limited', { taskTypes: 'PC1,PC2,C2', env: { PC1_MAX_CONCURRENT: '1', C2_MAX_CONCURRENT: '0', SECTOR_STORAGE_PC1_GATHER: '1' }, extra: ['--gpus', '1'] });
  const start = await w.started();
  await w.logged(/^connected to the manager/);
  const api = new ApiClient(managerOf(repo));
  t.teardown(() => api.close());
  const stats = (await api.call('WorkerStats')) as Record<string, { Limits?: Record<string, number>; Info: { Resources: { GPUs: string[]; PC1GatherFrom?: number } } }>;
  t.deepEqual(stats[start.id]?.Limits, { PC1: 1 }, '0 is no limit');
  t.deepEqual(stats[start.id]?.Info.Resources.GPUs, ['declared-gpu-0 (operator --gpus; no GPU is used)']);
  t.is(stats[start.id]?.Info.Resources.PC1GatherFrom, 256 * 2 ** 20, 'its PC1 of 256 MiB sectors and up counts two threads');
  const plain = worker('plain');
  const p = await plain.started();
  await plain.logged(/^connected to the manager/);
  const again = (await api.call('WorkerStats')) as Record<string, { Info: { Resources: { GPUs: string[]; PC1GatherFrom?: number } } }>;
  t.deepEqual(again[p.id]?.Info.Resources.GPUs, [], 'no GPU is detected: none is declared by default');
  t.is(again[p.id]?.Info.Resources.PC1GatherFrom, undefined, 'nor gathering');

  const bad = worker('bad-limit', { env: { PC2_MAX_CONCURRENT: 'two' } });
  t.is((await bad.exited).code, 1);
  t.regex(bad.stdout(), /PC2_MAX_CONCURRENT=\\"two\\" must be a non-negative integer/, 'with --json the error is a JSON document on stdout');
});
