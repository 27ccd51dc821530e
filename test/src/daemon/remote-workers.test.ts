/**
 * The manager's worker endpoint and the runner of a remote worker, against a worker scripted in
 * the test over a real WebSocket: the handshake and its refusals, the Return* rules, and what a
 * pending call does when its worker goes away and comes back.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import anyTest, { type TestFn } from 'ava';
import { WebSocket } from 'ws';
import type { ApiComponents } from '../../../src/api/components.js';
import { ApiHttpServer } from '../../../src/api/http-server.js';
import { type PeerMethod, RpcPeer } from '../../../src/api/rpc-peer.js';
import { RpcServer } from '../../../src/api/rpc-server.js';
import { StreamRegistry } from '../../../src/api/stream-registry.js';
import { callIdJson, WORKER_PROTOCOL, WORKER_WS_PATH, type WorkerHello } from '../../../src/api/worker-protocol.js';
import type { WorkerInfo } from '../../../src/tasks/worker-info.js';
import type { Permission } from '../../../src/auth/tokens.js';
import type { RemoteWorker } from '../../../src/daemon/remote-worker.js';
import { RemoteWorkers } from '../../../src/daemon/remote-workers.js';
import { FetchFailedError, type SectorStorageError, UnauthorizedError } from '../../../src/errors.js';
import type { CallRecord, CallState } from '../../../src/tasks/calls.js';
import type { Task } from '../../../src/tasks/task-types.js';
import { silentLogger } from '../../../src/log/logger.js';
import { messageLogger } from '../../helpers/log-recorder.js';

const TOKENS: Record<string, Permission[]> = { admin: ['read', 'write', 'sign', 'admin'], reader: ['read', 'write'] };

interface Ctx {
  url: string;
  hub: RemoteWorkers;
  http: ApiHttpServer;
  /** The manager's call store as the hub reads it. */
  calls: Map<string, CallRecord>;
  /** Call ids the hub read from the call store, in order. */
  reads: string[];
  events: string[];
  logs: string[];
  clients: WebSocket[];
}
const test = anyTest as TestFn<Ctx>;

test.beforeEach(async (t) => {
  const streams = new StreamRegistry();
  const http = new ApiHttpServer({
    rpc: new RpcServer({}, {} as ApiComponents, streams),
    streams,
    authenticate: (token) => {
      const p = TOKENS[token];
      if (!p) throw new UnauthorizedError('token signature is invalid');
      return p;
    },
    log: silentLogger(),
  });
  const logs: string[] = [];
  const hub = new RemoteWorkers({
    manager: { version: '9.9.9', session: randomUUID(), miner: 1000 },
    heartbeatMs: 60_000,
    graceMs: 1_500,
    // long enough for a hello on a loaded machine (every test here dials at once); the test of a silent connection waits it out
    helloTimeoutMs: 2_000,
    parkMs: 1_000,
    ackTimeoutMs: 2_000,
    log: messageLogger(logs),
  });
  http.upgrade(WORKER_WS_PATH, hub.upgrade);
  const bound = await http.listen('127.0.0.1', 0);
  const calls = new Map<string, CallRecord>();
  const events: string[] = [];
  const reads: string[] = [];
  hub.start(
    {
      get: async (id) => {
        reads.push(id);
        return calls.get(id);
      },
    },
    {
      connect: (info: WorkerInfo, runner: RemoteWorker) => events.push(`connect ${info.id} ${runner.id === info.id}`),
      disconnect: (id: string) => events.push(`disconnect ${id}`),
    },
  );
  t.context = { url: `ws://127.0.0.1:${bound.port}${WORKER_WS_PATH}`, hub, http, calls, reads, events, logs, clients: [] };
});
test.afterEach.always(async (t) => {
  for (const c of t.context.clients) c.terminate();
  await t.context.hub.close();
  await t.context.http.close(100);
});

const WORKER_ID = '0f0f0f0f-0000-4000-8000-000000000001';
const pc1 = (n: number): Task => ({ type: 'PC1', sector: { miner: 1000, number: n }, proofType: 5, priority: 0, input: { ticket: 'ab'.repeat(32), pieces: [] } });
const pc1Out = { replicaId: '01'.repeat(32), ticket: 'ab'.repeat(32), commDHex: '02'.repeat(32), layerDigests: [] };

function hello(over: Partial<WorkerHello> = {}, calls: { Running?: string[]; Done?: string[] } = {}): WorkerHello {
  return {
    Protocol: WORKER_PROTOCOL,
    Version: '9.9.9',
    Session: randomUUID(),
    URL: 'http://127.0.0.1:1',
    Info: { id: WORKER_ID, hostname: 'box', taskTypes: ['PC1', 'PC2'], resources: { cpus: 2, memPhysical: 1 << 30, memSwap: 0, memReserved: 0, gpus: [] }, ignoreResources: false, paths: [] },
    Calls: { Running: calls.Running ?? [], Done: calls.Done ?? [] },
    ...over,
  };
}

/** A worker scripted by the test: a WebSocket with the token and a peer serving `methods`. */
async function dial(t: { context: Ctx }, token = 'admin', methods: Record<string, PeerMethod> = {}) {
  const ws = new WebSocket(t.context.url, { headers: { Authorization: `Bearer ${token}` } });
  t.context.clients.push(ws);
  const refused = new Promise<{ status: number; body: unknown }>((resolve) => {
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(body) }));
    });
  });
  ws.on('error', () => {});
  const opened = once(ws, 'open').then(() => 'open' as const);
  const r = await Promise.race([opened, refused]);
  if (r !== 'open') return { refused: r };
  return { peer: new RpcPeer(ws, { methods }), ws };
}

async function connected(t: { context: Ctx }, methods: Record<string, PeerMethod> = {}, h: WorkerHello = hello()) {
  const d = await dial(t, 'admin', methods);
  if (!d.peer) throw new Error(`refused: ${JSON.stringify(d.refused)}`);
  const welcome = await d.peer.call('WorkerConnect', [h]);
  return { ...d, peer: d.peer, welcome };
}

function record(callId: string, task: Task, state: CallState): CallRecord {
  return { callId, workId: `w-${callId}`, sector: task.sector, task: task.type, state, priority: 0, input: task, attempts: 1, createdAt: 1 };
}

const tick = (ms = 20) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it is true (the machine may be slow: other suites run beside this one). */
async function until(what: string, fn: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await tick(5);
  }
}

test('an upgrade without an admin token is refused 401 or 403 naming why, and nothing registers', async (t) => {
  t.deepEqual((await dial(t, 'forged')).refused, { status: 401, body: { Error: 'token signature is invalid', code: 'UNAUTHORIZED' } });
  const weak = (await dial(t, 'reader')).refused;
  t.is(weak?.status, 403);
  t.regex((weak?.body as { Error: string } | undefined)?.Error ?? '', /a worker needs an admin token of the manager; this one grants read, write/);
  t.deepEqual(t.context.events, []);
});

test('a hello of another protocol version is refused PROTOCOL_MISMATCH naming both versions, and the connection is closed', async (t) => {
  const d = await dial(t);
  const err = await t.throwsAsync<SectorStorageError>(d.peer!.call('WorkerConnect', [hello({ Protocol: 7, Version: '0.0.1' })]));
  t.is(err?.code, 'PROTOCOL_MISMATCH');
  t.regex(err?.message ?? '', /worker protocol 7 \(sector-storage 0\.0\.1\), this manager speaks 1 \(sector-storage 9\.9\.9\)/);
  const closed = await d.peer!.closed;
  t.is(closed.code, 4000);
  t.deepEqual(t.context.events, []);
});

test('a hello with an unknown task type is refused naming it and the known ones', async (t) => {
  const d = await dial(t);
  const bad = hello();
  bad.Info = { ...bad.Info, taskTypes: ['PC1', 'PC9' as 'PC1', 'seal' as 'PC1'] };
  const err = await t.throwsAsync<SectorStorageError>(d.peer!.call('WorkerConnect', [bad]));
  t.is(err?.code, 'INVALID_ARGUMENT');
  t.is(err?.message, `worker ${WORKER_ID}: task type must be one of FIN, GET, UNS, C1, C2, PC2, PC1, AP, got "PC9"`);
  await d.peer!.closed;
  t.deepEqual(t.context.events, []);
});

test('before its hello a connection can call nothing else, and one that never says hello is closed', async (t) => {
  const d = await dial(t);
  const id = randomUUID();
  t.context.calls.set(id, record(id, pc1(1), 'running'));
  const err = await t.throwsAsync<SectorStorageError>(d.peer!.call('ReturnSealPreCommit1', [callIdJson({ miner: 1000, number: 1 }, id), pc1Out, null]));
  t.regex(err?.message ?? '', /method 'Filecoin\.ReturnSealPreCommit1' not found/);
  const closed = await d.peer!.closed;
  t.is(closed.code, 4002);
  t.is(closed.reason, 'no WorkerConnect in time');
  t.is(t.context.calls.get(id)?.state, 'running');
});

test('a welcomed worker is registered with the scheduler, disconnected when its connection goes, and a second hello on it is refused', async (t) => {
  const w = await connected(t);
  t.like(w.welcome, { Protocol: WORKER_PROTOCOL, Version: '9.9.9', Miner: 1000 });
  t.deepEqual(t.context.events, [`connect ${WORKER_ID} true`]);
  const again = await t.throwsAsync<SectorStorageError>(w.peer.call('WorkerConnect', [hello()]));
  t.regex(again?.message ?? '', /said hello already/);
  w.ws.terminate();
  await until('the disconnect', () => t.context.events.length === 2);
  t.deepEqual(t.context.events, [`connect ${WORKER_ID} true`, `disconnect ${WORKER_ID}`]);
  t.like(t.context.hub.list()[0], { id: WORKER_ID, connected: false });
});

test('a newer connection of the same worker replaces the older one, which is closed 4001 without a disconnect', async (t) => {
  const first = await connected(t);
  await connected(t);
  const closed = await first.peer.closed;
  t.is(closed.code, 4001);
  await tick(50);
  t.deepEqual(t.context.events, [`connect ${WORKER_ID} true`, `connect ${WORKER_ID} true`]);
  t.true(t.context.hub.get(WORKER_ID)?.connected);
});

test('a Return* for a call the manager does not know is refused CALL_UNKNOWN; one of the wrong type or shape INVALID_ARGUMENT; a duplicate is acknowledged', async (t) => {
  const w = await connected(t);
  const unknown = randomUUID();
  const e1 = await t.throwsAsync<SectorStorageError>(w.peer.call('ReturnSealPreCommit1', [callIdJson({ miner: 1000, number: 1 }, unknown), pc1Out, null]));
  t.is(e1?.code, 'CALL_UNKNOWN');
  t.is(e1?.message, `ReturnSealPreCommit1: this manager has no call ${unknown}`);
  const done = randomUUID();
  t.context.calls.set(done, record(done, pc1(2), 'done'));
  const e2 = await t.throwsAsync<SectorStorageError>(w.peer.call('ReturnSealPreCommit2', [callIdJson({ miner: 1000, number: 2 }, done), { commD: 'x', commR: 'y' }, null]));
  t.is(e2?.code, 'INVALID_ARGUMENT');
  t.is(e2?.message, `ReturnSealPreCommit2 for call ${done}, which is a PC1 call`);
  const e3 = await t.throwsAsync<SectorStorageError>(w.peer.call('ReturnSealPreCommit1', [callIdJson({ miner: 1000, number: 2 }, done), pc1Out, { code: 'TASK_FAILED', message: 'x' }]));
  t.is(e3?.message, 'ReturnSealPreCommit1 carries a result or an error, not both');
  const e4 = await t.throwsAsync<SectorStorageError>(w.peer.call('ReturnSealPreCommit1', [{ ID: 'nope' }, pc1Out, null]));
  t.regex(e4?.message ?? '', /^ReturnSealPreCommit1: CallID must be \{Sector: \{Miner, Number\}, ID: <lowercase uuid>\}/);
  const e5 = await t.throwsAsync<SectorStorageError>(w.peer.call('ReturnSealPreCommit1', [callIdJson({ miner: 1000, number: 2 }, done), null, { code: 'NOT_A_CODE', message: 'x' }]));
  t.regex(e5?.message ?? '', /the error must be \{code: <a known error code>, message\}/);
  t.true(await w.peer.call('ReturnSealPreCommit1', [callIdJson({ miner: 1000, number: 2 }, done), pc1Out, null]));
  t.true(t.context.logs.some((l) => l.includes(`returned call ${done} (PC1) again`)));
});

test('a run hands the call to the worker and resolves with its Return*, which is acknowledged only once the result is durable', async (t) => {
  const seen: unknown[] = [];
  let returnAnswered = false;
  const w = await connected(t, {
    SealPreCommit1: (params) => {
      seen.push(params);
      return params[0];
    },
  });
  const runner = t.context.hub.get(WORKER_ID)!;
  const id = randomUUID();
  const task = pc1(3);
  t.context.calls.set(id, record(id, task, 'running'));
  const result = runner.run(task, { signal: new AbortController().signal, callId: id });
  await until('the task call', () => seen.length === 1);
  t.deepEqual(seen, [[callIdJson(task.sector, id), task]]);
  const ack = w.peer.call('ReturnSealPreCommit1', [callIdJson(task.sector, id), pc1Out, null]).then((v) => {
    returnAnswered = true;
    return v;
  });
  t.deepEqual(await result, { type: 'PC1', value: pc1Out });
  await tick(100);
  t.false(returnAnswered, 'not acknowledged while the call store has the call running');
  t.context.calls.set(id, record(id, task, 'done'));
  t.true(await ack);
});

test("a worker's failure is the run's typed error", async (t) => {
  const w = await connected(t, { SealPreCommit1: (p) => p[0] });
  const id = randomUUID();
  const task = pc1(4);
  t.context.calls.set(id, record(id, task, 'running'));
  const run = t.context.hub.get(WORKER_ID)!.run(task, { signal: new AbortController().signal, callId: id });
  const ack = w.peer.call('ReturnSealPreCommit1', [callIdJson(task.sector, id), null, { code: 'NO_SPACE', message: 'path full' }]);
  const err = await t.throwsAsync<SectorStorageError>(run);
  t.is(err?.code, 'NO_SPACE');
  t.is(err?.message, 'path full');
  t.context.calls.set(id, record(id, task, 'done'));
  t.true(await ack);
});

test('a worker that comes back holding the call is not sent it again; its result, finished while away, settles the run', async (t) => {
  let sent = 0;
  const first = await connected(t, {
    SealPreCommit1: (p) => {
      sent++;
      return p[0];
    },
  });
  const id = randomUUID();
  const task = pc1(5);
  t.context.calls.set(id, record(id, task, 'running'));
  const runner = t.context.hub.get(WORKER_ID)!;
  const run = runner.run(task, { signal: new AbortController().signal, callId: id });
  await until('the task call', () => sent === 1);
  await tick(20);
  first.ws.terminate();
  await until('the disconnect', () => !runner.connected);
  // the worker finished meanwhile and says so in its hello (a new process: a new session)
  const second = await connected(t, {
    SealPreCommit1: (p) => {
      sent++;
      return p[0];
    },
  }, hello({}, { Done: [id] }));
  void second.peer.call('ReturnSealPreCommit1', [callIdJson(task.sector, id), pc1Out, null]).catch(() => {});
  t.deepEqual(await run, { type: 'PC1', value: pc1Out });
  t.is(sent, 1, 'handed over once');
});

test('a worker that comes back without a call it had accepted loses it (WORKER_LOST); one never handed over is sent on the new connection', async (t) => {
  let accepts = 0;
  const first = await connected(t, {
    SealPreCommit1: (p) => {
      accepts++;
      return p[0];
    },
  });
  const accepted = randomUUID();
  const task = pc1(6);
  t.context.calls.set(accepted, record(accepted, task, 'running'));
  const runner = t.context.hub.get(WORKER_ID)!;
  const lost = runner.run(task, { signal: new AbortController().signal, callId: accepted });
  await until('the task call', () => accepts === 1);
  await tick(20);
  first.ws.terminate();
  await until('the disconnect', () => !runner.connected);
  // handed to the worker while it is away: it waits for the next connection
  const later = randomUUID();
  const task2 = pc1(7);
  const run2 = runner.run(task2, { signal: new AbortController().signal, callId: later });
  const sent: string[] = [];
  await connected(t, {
    SealPreCommit1: (p) => {
      sent.push((p[0] as { ID: string }).ID);
      return p[0];
    },
  });
  const err = await t.throwsAsync<SectorStorageError>(lost);
  t.is(err?.code, 'WORKER_LOST');
  t.regex(err?.message ?? '', new RegExp(`came back \\(session [0-9a-f-]+\\) without call ${accepted}`));
  await until('the call handed over', () => sent.length === 1);
  t.deepEqual(sent, [later]);
  void run2.catch(() => {});
});

test('a worker that does not come back within the grace period loses its calls, and an abort while it is away ends the run at once', async (t) => {
  let accepts = 0;
  const w = await connected(t, {
    SealPreCommit1: (p) => {
      accepts++;
      return p[0];
    },
  });
  const runner = t.context.hub.get(WORKER_ID)!;
  const a = randomUUID();
  const b = randomUUID();
  const lost = runner.run(pc1(8), { signal: new AbortController().signal, callId: a });
  const abort = new AbortController();
  const aborted = runner.run(pc1(9), { signal: abort.signal, callId: b });
  await until('both task calls', () => accepts === 2);
  await tick(20);
  w.ws.terminate();
  await until('the disconnect', () => !runner.connected);
  abort.abort();
  t.is((await t.throwsAsync<SectorStorageError>(aborted))?.code, 'ABORTED');
  const started = Date.now();
  const err = await t.throwsAsync<SectorStorageError>(lost);
  t.is(err?.code, 'WORKER_LOST');
  t.regex(err?.message ?? '', /did not come back within 1500 ms/);
  t.true(Date.now() - started < 3_000);
});

test('an abort is passed to the worker as SealingAbort, and the run ends with what the worker returns', async (t) => {
  const aborts: string[] = [];
  const w = await connected(t);
  const id = randomUUID();
  const task = pc1(10);
  t.context.calls.set(id, record(id, task, 'running'));
  const abort = new AbortController();
  let accepts = 0;
  w.peer.setMethods({
    SealPreCommit1: (p) => {
      accepts++;
      return p[0];
    },
    SealingAbort: ([c]) => {
      aborts.push((c as { ID: string }).ID);
      return true;
    },
  });
  const run = t.context.hub.get(WORKER_ID)!.run(task, { signal: abort.signal, callId: id });
  await until('the task call', () => accepts === 1);
  await tick(20);
  abort.abort();
  await until('the abort', () => aborts.length === 1);
  t.deepEqual(aborts, [id]);
  void w.peer.call('ReturnSealPreCommit1', [callIdJson(task.sector, id), null, { code: 'ABORTED', message: 'stopped on the worker' }]).catch(() => {});
  t.is((await t.throwsAsync<SectorStorageError>(run))?.message, 'stopped on the worker');
});

test('a result for an open call nobody waits for is parked for the run that asks for it, which does not send the call again', async (t) => {
  let sent = 0;
  const w = await connected(t, {
    SealPreCommit1: (p) => {
      sent++;
      return p[0];
    },
  });
  const id = randomUUID();
  const task = pc1(11);
  t.context.calls.set(id, record(id, task, 'started'));
  const ack = w.peer.call('ReturnSealPreCommit1', [callIdJson(task.sector, id), pc1Out, null]);
  // the hub read the call (open, nobody waits): the result is parked right after
  await until('the result parked', () => t.context.reads.includes(id));
  await tick(20);
  const run = t.context.hub.get(WORKER_ID)!.run(task, { signal: new AbortController().signal, callId: id });
  t.deepEqual(await run, { type: 'PC1', value: pc1Out });
  t.is(sent, 0);
  t.context.calls.set(id, record(id, task, 'done'));
  t.true(await ack);
  // unclaimed, the worker is told to send it again later
  const other = randomUUID();
  t.context.calls.set(other, record(other, pc1(12), 'started'));
  const e = await t.throwsAsync<SectorStorageError>(w.peer.call('ReturnSealPreCommit1', [callIdJson({ miner: 1000, number: 12 }, other), pc1Out, null]));
  t.is(e?.code, 'ABORTED');
  t.regex(e?.message ?? '', /nothing waits for call .* yet .*; send it again/);
});

test('a call placed on a worker that is away waits the grace period for it: handed over if it comes back, WORKER_LOST if not', async (t) => {
  const w = await connected(t);
  const runner = t.context.hub.get(WORKER_ID)!;
  w.ws.terminate();
  await until('the disconnect', () => !runner.connected);
  const lost = runner.run(pc1(13), { signal: new AbortController().signal, callId: randomUUID() });
  const err = await t.throwsAsync<SectorStorageError>(lost);
  t.is(err?.code, 'WORKER_LOST');
  const id = randomUUID();
  const later = runner.run(pc1(14), { signal: new AbortController().signal, callId: id });
  const sent: string[] = [];
  const back = await connected(t, {
    SealPreCommit1: (p) => {
      sent.push((p[0] as { ID: string }).ID);
      return p[0];
    },
  });
  await until('the call handed over', () => sent.length === 1);
  t.deepEqual(sent, [id]);
  void back.peer.call('ReturnSealPreCommit1', [callIdJson({ miner: 1000, number: 14 }, id), pc1Out, null]).catch(() => {});
  t.deepEqual(await later, { type: 'PC1', value: pc1Out });
});

test("the prepare step is the worker's Fetch of that call; it answers once the inputs are there, and the task itself is not sent", async (t) => {
  const seen: string[] = [];
  let release!: () => void;
  const fetched = new Promise<void>((r) => {
    release = r;
  });
  await connected(t, {
    Fetch: async (params) => {
      seen.push(`Fetch ${(params[0] as { ID: string }).ID} ${(params[1] as Task).type}`);
      await fetched;
      return true;
    },
    SealPreCommit1: (p) => {
      seen.push('SealPreCommit1');
      return p[0];
    },
  });
  const id = randomUUID();
  const task = pc1(20);
  let prepared = false;
  const prepare = t.context.hub
    .get(WORKER_ID)!
    .prepare(task, { signal: new AbortController().signal, callId: id })
    .then(() => {
      prepared = true;
    });
  await until('the Fetch', () => seen.length === 1);
  await tick(50);
  t.false(prepared, 'the prepare step lasts as long as the fetch');
  release();
  await prepare;
  t.deepEqual(seen, [`Fetch ${id} PC1`]);
});

test('a failed fetch fails the prepare step with its code, naming the prepare step; a connection lost during it is WORKER_LOST; an abort is passed on as SealingAbort', async (t) => {
  const aborts: string[] = [];
  const w = await connected(t, {
    Fetch: async (params, ctx) => {
      const task = params[1] as Task;
      if (task.sector.number === 21) throw new FetchFailedError('GET http://x/remote/cache/s-t01000-21: HTTP 500');
      await new Promise((r) => ctx.signal.addEventListener('abort', r, { once: true }));
      return true;
    },
    SealingAbort: ([c]) => {
      aborts.push((c as { ID: string }).ID);
      return true;
    },
  });
  const runner = t.context.hub.get(WORKER_ID)!;
  const failed = await t.throwsAsync<SectorStorageError>(runner.prepare(pc1(21), { signal: new AbortController().signal, callId: randomUUID() }));
  t.is(failed?.code, 'FETCH_FAILED');
  t.regex(failed?.message ?? '', /^the prepare step of call .* \(PC1 of s-t01000-21\) on worker .* failed: GET http:\/\/x\/remote\/cache\/s-t01000-21: HTTP 500$/);

  const abort = new AbortController();
  const abortedId = randomUUID();
  const aborted = runner.prepare(pc1(22), { signal: abort.signal, callId: abortedId });
  await tick(50);
  abort.abort();
  t.is((await t.throwsAsync<SectorStorageError>(aborted))?.code, 'ABORTED');
  await until('the SealingAbort', () => aborts.length === 1);
  t.deepEqual(aborts, [abortedId]);

  const lost = runner.prepare(pc1(23), { signal: new AbortController().signal, callId: randomUUID() });
  await tick(50);
  w.ws.terminate();
  t.is((await t.throwsAsync<SectorStorageError>(lost))?.code, 'WORKER_LOST');
  t.is((await t.throwsAsync<SectorStorageError>(runner.prepare(pc1(24), { signal: new AbortController().signal, callId: randomUUID() })))?.code, 'WORKER_LOST', 'a worker away cannot prepare');
});

test('a call the worker holds already (it outlived a restart of the manager), or a task that reads nothing another node can hold (C2), has nothing to prepare: no Fetch', async (t) => {
  const id = randomUUID();
  let fetches = 0;
  await connected(t, { Fetch: () => ++fetches }, hello({}, { Running: [id] }));
  const runner = t.context.hub.get(WORKER_ID)!;
  await runner.prepare(pc1(25), { signal: new AbortController().signal, callId: id });
  const c2: Task = { type: 'C2', sector: { miner: 1000, number: 26 }, proofType: 5, priority: 0, input: { c1: { sha256: '00'.repeat(32), bytes: 1 } } };
  await runner.prepare(c2, { signal: new AbortController().signal, callId: randomUUID() });
  t.is(fetches, 0);
  await runner.prepare(pc1(27), { signal: new AbortController().signal, callId: randomUUID() });
  t.is(fetches, 1, 'a PC1 not held is prepared');
});

test("a worker's ReportProgress reaches the progress sink of the call's prepare step or run; a malformed one is refused INVALID_ARGUMENT", async (t) => {
  let fetchDone!: () => void;
  const fetching = new Promise<void>((r) => {
    fetchDone = r;
  });
  const w = await connected(t, {
    Fetch: async () => {
      await fetching;
      return true;
    },
    SealPreCommit1: (p) => p[0],
  });
  const runner = t.context.hub.get(WORKER_ID)!;
  const id = randomUUID();
  const task = pc1(30);
  const got: string[] = [];
  const onProgress = (p: { phase: string; done: number; total: number }) => got.push(`${p.phase} ${p.done}/${p.total}`);
  const prepare = runner.prepare(task, { signal: new AbortController().signal, callId: id, onProgress });
  await tick(50);
  t.true(await w.peer.call('ReportProgress', [callIdJson(task.sector, id), { phase: 'fetch unsealed', done: 4096, total: 0 }]));
  fetchDone();
  await prepare;
  t.context.calls.set(id, record(id, task, 'running'));
  const run = runner.run(task, { signal: new AbortController().signal, callId: id, onProgress });
  await tick(50);
  t.true(await w.peer.call('ReportProgress', [callIdJson(task.sector, id), { phase: 'pc1', done: 10, total: 20, detail: 'layer 1/2' }]));
  const bad = await t.throwsAsync<SectorStorageError>(w.peer.call('ReportProgress', [callIdJson(task.sector, id), { phase: 'pc1', done: -1 }]));
  t.is(bad?.code, 'INVALID_ARGUMENT');
  t.deepEqual(got, ['fetch unsealed 4096/0', 'pc1 10/20']);
  const ack = w.peer.call('ReturnSealPreCommit1', [callIdJson(task.sector, id), pc1Out, null]);
  await run;
  t.context.calls.set(id, record(id, task, 'done'));
  await ack;
});
