/**
 * The daemon's API driven by a client none of us wrote: `@filecoin-shipyard/lotus-client-rpc` with
 * the storage-miner schema of `@filecoin-shipyard/lotus-client-schema`, over HTTP and over a
 * WebSocket (the transports are test/helpers/lotus-provider.ts). Each method of Lotus's storage
 * API this system covers answers in Lotus's shape; bad calls get JSON-RPC errors and change nothing.
 */
import { LotusRPC } from '@filecoin-shipyard/lotus-client-rpc';
import { mainnet } from '@filecoin-shipyard/lotus-client-schema';
import test, { type ExecutionContext } from 'ava';
import { tokenFromAuthNew } from '../../../src/api/methods/common.js';
import WebSocket from 'ws';
import { cleanup, type DaemonProcess, managerOf, startDaemon, tmpDir } from '../../helpers/cli-daemon.js';
import { HttpProvider, LotusRpcError, WsProvider } from '../../helpers/lotus-provider.js';

/** The methods these tests call through the client's proxy (its camelCase names). */
type Method =
  | 'version' | 'session' | 'authNew' | 'authVerify' | 'shutdown'
  | 'pledgeSector' | 'sectorsList' | 'sectorsListInStates' | 'sectorsSummary' | 'sectorsStatus'
  | 'sectorRemove' | 'sectorStartSealing' | 'sectorAddPieceToAny'
  | 'workerJobs' | 'workerStats' | 'sealingSchedDiag' | 'sealingAbort'
  | 'storageLocal' | 'storageStat' | 'storageInfo' | 'storageList';
type Client = Record<Method, (...args: unknown[]) => Promise<unknown>>;

let repo: string;
let daemon: DaemonProcess;
let url: string;
let admin: string;

test.before(async () => {
  repo = tmpDir('ss-lotus-client-');
  daemon = await startDaemon(repo, ['--sector-size', '2KiB', '--epoch-ms', '100', '--seed-wait-epochs', '1']);
  ({ url, token: admin } = managerOf(repo));
});

test.after.always(async () => {
  await daemon?.stop();
  cleanup(repo);
});

const transports = {
  HTTP: (token?: string) => new HttpProvider(url, token),
  WebSocket: (token?: string) => new WsProvider(url, token),
};

function client(transport: keyof typeof transports, token?: string): { api: Client; close: () => Promise<void> } {
  const provider = transports[transport](token);
  const api = new LotusRPC(provider, { schema: mainnet.storageMiner }) as unknown as Client;
  return { api, close: () => provider.destroy() };
}

async function rpcError(t: ExecutionContext, call: Promise<unknown>, what: string): Promise<LotusRpcError> {
  const err = await t.throwsAsync(call, undefined, what);
  t.true(err instanceof LotusRpcError, `${what}: a JSON-RPC error (${err?.message})`);
  return err as LotusRpcError;
}

for (const transport of ['HTTP', 'WebSocket'] as const) {
  test.serial(`${transport}: the Lotus client calls the common, sector, sealing and storage methods and gets Lotus's shapes`, async (t) => {
    const { api, close } = client(transport, admin);
    try {
      const version = (await api.version()) as { Version: string; APIVersion: number };
      t.is(typeof version.Version, 'string');
      t.is(typeof version.APIVersion, 'number');
      t.regex((await api.session()) as string, /^[0-9a-f-]{36}$/);
      const readToken = tokenFromAuthNew((await api.authNew(['read'])) as string);
      t.regex(readToken, /^eyJ/, 'AuthNew answers the token bytes in base64, as Go encodes []byte');
      t.deepEqual(await api.authVerify(readToken), ['read']);

      const pledged = (await api.pledgeSector()) as { Miner: number; Number: number };
      t.is(pledged.Miner, 1000);
      t.true(Number.isInteger(pledged.Number));
      const list = (await api.sectorsList()) as number[];
      t.true(list.every((n) => typeof n === 'number'), 'SectorsList returns sector numbers, as Lotus');
      t.true(list.includes(pledged.Number));
      const status = (await api.sectorsStatus(pledged.Number, false)) as { SectorID: number; State: string; Log: unknown[] };
      t.is(status.SectorID, pledged.Number);
      t.is(typeof status.State, 'string');
      t.true(Array.isArray(status.Log));
      t.true(((await api.sectorsListInStates([status.State])) as number[]).length >= 0);
      const summary = (await api.sectorsSummary()) as Record<string, number>;
      t.true(Object.values(summary).reduce((a, b) => a + b, 0) >= 1);

      const jobs = (await api.workerJobs()) as Record<string, unknown[]>;
      t.is(typeof jobs, 'object');
      const stats = (await api.workerStats()) as Record<string, { Info: { Hostname: string } }>;
      t.truthy(stats.local?.Info.Hostname, 'WorkerStats keys the local pool as local');
      const diag = (await api.sealingSchedDiag(false)) as { SchedInfo: unknown };
      t.truthy(diag.SchedInfo);
      const local = (await api.storageLocal()) as Record<string, string>;
      t.is(Object.keys(local).length, 1);
      const id = Object.keys(local)[0]!;
      const stat = (await api.storageStat(id)) as { Capacity: number; Available: number };
      t.true(stat.Capacity > 0);
      const info = (await api.storageInfo(id)) as { ID: string; CanSeal: boolean };
      t.is(info.ID, id);
      t.is(typeof (await api.storageList()), 'object');

      t.is(await api.sectorRemove(pledged.Number), null);
      const removed = (await api.sectorsStatus(pledged.Number, false)) as { State: string };
      t.regex(removed.State, /^Remov/);
    } finally {
      await close();
    }
  });

  test.serial(`${transport}: wrong types, missing params, unknown sectors and missing permissions are JSON-RPC errors that change nothing`, async (t) => {
    const { api, close } = client(transport, admin);
    const reader = client(transport, tokenFromAuthNew((await api.authNew(['read'])) as string));
    const anonymous = client(transport);
    try {
      const before = await api.sectorsList();
      const invalid: Array<[Method, unknown[]]> = [
        ['sectorsStatus', ['7']],
        ['sectorsStatus', []],
        ['sectorsStatus', [7, 'yes']],
        ['sectorsListInStates', ['Proving']],
        ['sectorsListInStates', [['Bogus']]],
        ['sectorRemove', [-1]],
        ['sectorStartSealing', [1.5]],
        ['pledgeSector', [1]],
        ['sealingAbort', [42]],
        ['authNew', [['root']]],
        ['authVerify', [7]],
        ['sealingSchedDiag', ['yes']],
        ['storageStat', [12]],
        ['sectorAddPieceToAny', [100, {}, {}]],
      ];
      for (const [method, params] of invalid) {
        const err = await rpcError(t, api[method](...params), `${method}(${JSON.stringify(params)})`);
        t.is(err.rpcCode, -32602, `${method}(${JSON.stringify(params)}) is invalid params`);
        t.is(err.code, 'INVALID_ARGUMENT');
      }
      for (const method of ['sectorsStatus', 'sectorRemove', 'sectorStartSealing'] as const) {
        const err = await rpcError(t, api[method](99999), `${method}(99999)`);
        t.is(err.code, 'SECTOR_UNKNOWN', `${method}(99999)`);
      }
      const needs: Array<[Client, Method, unknown[], string]> = [
        [reader.api, 'pledgeSector', [], 'write'],
        [reader.api, 'sectorStartSealing', [0], 'write'],
        [reader.api, 'sectorRemove', [0], 'admin'],
        [reader.api, 'workerJobs', [], 'admin'],
        [reader.api, 'authNew', [['read']], 'admin'],
        [reader.api, 'shutdown', [], 'admin'],
        [anonymous.api, 'pledgeSector', [], 'write'],
        [anonymous.api, 'storageLocal', [], 'admin'],
      ];
      for (const [who, method, params, perm] of needs) {
        const err = await rpcError(t, who[method](...params), `${method} without ${perm}`);
        t.is(err.code, 'UNAUTHORIZED');
        t.regex(err.message, new RegExp(`need '${perm}'`));
      }
      t.deepEqual(await anonymous.api.sectorsList(), before, 'read methods answer without a token');
      t.deepEqual(await api.sectorsList(), before, 'no sector was created or lost');
    } finally {
      await Promise.all([close(), reader.close(), anonymous.close()]);
    }
  });
}

test.serial('HTTP: malformed JSON is a parse error, and a notification (no id) is run but not answered', async (t) => {
  const post = (body: string) =>
    fetch(`${url}/rpc/v0`, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${admin}` }, body });
  const bad = await post('{"jsonrpc":"2.0","id":1,"method":');
  const answer = (await bad.json()) as { id: unknown; error: { code: number } };
  t.is(answer.error.code, -32700);
  t.is(answer.id, null);
  const before = (await (await post('{"jsonrpc":"2.0","id":2,"method":"Filecoin.SectorsList","params":[]}')).json()) as { result: number[] };
  const note = await post('{"jsonrpc":"2.0","method":"Filecoin.PledgeSector","params":[]}');
  t.is(note.status, 204);
  t.is(await note.text(), '', 'no JSON-RPC answer');
  const after = (await (await post('{"jsonrpc":"2.0","id":3,"method":"Filecoin.SectorsList","params":[]}')).json()) as { result: number[] };
  t.is(after.result.length, before.result.length + 1, 'the notification was run');
  const unknown = await post('{"jsonrpc":"2.0","method":"Filecoin.NoSuchMethod","params":[]}');
  t.is(unknown.status, 204, 'a notification is not answered even when it fails');
});

test.serial('WebSocket: authenticates by ?token= or the bearer header, answers a parse error, and never answers a notification', async (t) => {
  const wsUrl = `${url.replace(/^http/, 'ws')}/rpc/v0`;
  const open = (target: string, headers: Record<string, string> = {}) =>
    new Promise<{ ws: WebSocket; next: () => Promise<Record<string, unknown>> }>((resolve, reject) => {
      const ws = new WebSocket(target, { headers });
      const queue: Array<Record<string, unknown>> = [];
      const waiting: Array<(m: Record<string, unknown>) => void> = [];
      ws.on('message', (d) => {
        const m = JSON.parse(d.toString()) as Record<string, unknown>;
        const w = waiting.shift();
        if (w) w(m);
        else queue.push(m);
      });
      ws.once('open', () =>
        resolve({ ws, next: () => (queue.length ? Promise.resolve(queue.shift()!) : new Promise((r) => waiting.push(r))) }),
      );
      ws.once('error', reject);
    });
  const byQuery = await open(`${wsUrl}?token=${admin}`);
  const byHeader = await open(wsUrl, { Authorization: `Bearer ${admin}` });
  const anonymous = await open(wsUrl);
  try {
    for (const c of [byQuery, byHeader]) {
      c.ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'Filecoin.WorkerJobs', params: [] }));
      t.is(typeof (await c.next()).result, 'object', 'an admin method answers');
    }
    anonymous.ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'Filecoin.WorkerJobs', params: [] }));
    t.is(((await anonymous.next()).error as { data: { code: string } }).data.code, 'UNAUTHORIZED');
    byQuery.ws.send('{"jsonrpc":"2.0","id":2,');
    const parse = await byQuery.next();
    t.is((parse.error as { code: number }).code, -32700);
    // a notification, then a request: the first frame back answers the request
    byQuery.ws.send(JSON.stringify({ jsonrpc: '2.0', method: 'Filecoin.Session', params: [] }));
    byQuery.ws.send(JSON.stringify({ jsonrpc: '2.0', method: 'Filecoin.NoSuchMethod', params: [] }));
    byQuery.ws.send(JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'Filecoin.Version', params: [] }));
    const first = await byQuery.next();
    t.is(first.id, 3, 'the notifications got no answer');
  } finally {
    for (const c of [byQuery, byHeader, anonymous]) c.ws.close();
  }
  const refused = await t.throwsAsync(open(`${wsUrl}?token=not.a.jwt`));
  t.regex(refused!.message, /401/);
});

test.serial('Shutdown through the Lotus client stops the daemon cleanly', async (t) => {
  const { api, close } = client('WebSocket', admin);
  try {
    t.is(await api.shutdown(), null);
  } finally {
    await close();
  }
  const { code, output } = await daemon.stop(30_000);
  t.is(code, 0, output);
  t.regex(output, /shutting down \(asked by Filecoin\.Shutdown\)/);
  t.regex(output, /daemon stopped/);
});
