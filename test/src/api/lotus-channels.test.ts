/**
 * The daemon's channels driven by Lotus's JS client, which none of us wrote:
 * `@filecoin-shipyard/lotus-client-rpc` (subscriptions go to its provider's `sendSubscription`)
 * over `@filecoin-shipyard/lotus-client-provider-browser` (the client side of go-jsonrpc's
 * channels) with `ws` as its WebSocket.
 * The schema is the storage-miner schema plus our two channel methods, marked as Lotus marks its
 * own (`subscription: true`).
 */
import { LotusRPC } from '@filecoin-shipyard/lotus-client-rpc';
import { mainnet } from '@filecoin-shipyard/lotus-client-schema';
import test from 'ava';
import WebSocket from 'ws';
import { tokenFromAuthNew } from '../../../src/api/methods/common.js';
import { cleanup, type DaemonProcess, managerOf, startDaemon, tmpDir } from '../../helpers/cli-daemon.js';

interface Provider {
  destroy(): Promise<void>;
}
type Sub = (cb: (value: unknown) => void, ...params: unknown[]) => [cancel: () => Promise<void>, opened: Promise<void>];
interface Client {
  pledgeSector(): Promise<{ Number: number }>;
  sectorNotify: Sub;
  sealingJobsNotify: Sub;
}

const schema = {
  methods: { ...(mainnet.storageMiner as { methods: Record<string, unknown> }).methods, SectorNotify: { subscription: true }, SealingJobsNotify: { subscription: true } },
};

let repo: string;
let daemon: DaemonProcess;
let url: string;
let admin: string;

test.before(async () => {
  repo = tmpDir('ss-lotus-channels-');
  daemon = await startDaemon(repo, ['--sector-size', '2KiB', '--epoch-ms', '100', '--seed-wait-epochs', '1']);
  ({ url, token: admin } = managerOf(repo));
});

test.after.always(async () => {
  await daemon?.stop();
  cleanup(repo);
});

async function client(token: string): Promise<{ api: Client; provider: Provider }> {
  const { BrowserProvider } = await import('@filecoin-shipyard/lotus-client-provider-browser');
  const provider = new BrowserProvider(`${url.replace(/^http/, 'ws')}/rpc/v0`, { token, WebSocket });
  return { api: new LotusRPC(provider, { schema }) as unknown as Client, provider };
}

async function until(what: string, ok: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test.serial('SectorNotify: the Lotus client hears each state of a pledged sector, in order, up to Proving, and its cancel is answered by xrpc.ch.close', async (t) => {
  const { api, provider } = await client(admin);
  t.teardown(() => provider.destroy());
  const { Number: n } = await api.pledgeSector();
  const values: Array<{ Type: string; Sector: number; State?: string }> = [];
  const [cancel, opened] = api.sectorNotify((v) => values.push(v as (typeof values)[number]), n);
  await opened;
  await until('Proving', () => values.some((v) => v.State === 'Proving'));
  const states = values.filter((v) => v.Type === 'state').map((v) => v.State);
  t.true(values.every((v) => v.Sector === n));
  // every state a CC sector passes after the first one the channel saw (none skipped)
  const path = ['Packing', 'GetTicket', 'PreCommit1', 'PreCommit2', 'PreCommitting', 'PreCommitWait', 'WaitSeed', 'Committing', 'SubmitCommit', 'CommitWait', 'FinalizeSector', 'Proving'];
  const from = path.indexOf(states[0]!);
  t.true(from >= 0, `the first value is the state now (${states[0]})`);
  t.deepEqual(states, path.slice(from), `states: ${states.join(' → ')}`);
  // the provider's cancel resolves only once the server closes the channel
  await cancel();
  const heard = values.length;
  await new Promise((r) => setTimeout(r, 300));
  t.is(values.length, heard, 'nothing arrives after the channel closed');
});

test.serial('SealingJobsNotify: the current jobs first, then each call of a new sector as it appears and when it is done', async (t) => {
  const { api, provider } = await client(admin);
  t.teardown(() => provider.destroy());
  const values: Array<{ Type: string; Jobs?: object; Job?: { Sector: { Number: number }; Task: string; RunWait: number } }> = [];
  const [cancel, opened] = api.sealingJobsNotify((v) => values.push(v as (typeof values)[number]));
  await opened;
  await until('current', () => values.length > 0);
  t.is(values[0]!.Type, 'current');
  t.is(typeof values[0]!.Jobs, 'object');
  const { Number: n } = await api.pledgeSector();
  const ofSector = () => values.filter((v) => v.Job?.Sector.Number === n);
  const done = (task: string) => ofSector().some((v) => v.Type === 'done' && v.Job!.Task === task);
  await until('PC1, PC2 and C2 done', () => done('seal/v0/precommit/1') && done('seal/v0/precommit/2') && done('seal/v0/commit/2'));
  for (const task of ['seal/v0/precommit/1', 'seal/v0/precommit/2', 'seal/v0/commit/2']) {
    const told = ofSector().filter((v) => v.Job!.Task === task).map((v) => v.Type);
    t.is(told[0], 'job', `${task} appears before it is done (${told.join(', ')})`);
    t.is(told.filter((x) => x === 'done').length, 1, `${task} is done once`);
  }
  await cancel();
});

test.serial('SealingJobsNotify needs admin as WorkerJobs does, SectorNotify of an unknown sector fails at once, and neither opens a channel', async (t) => {
  const readToken = (
    (await (
      await fetch(`${url}/rpc/v0`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'Filecoin.AuthNew', params: [['read']] }),
      })
    ).json()) as { result: string }
  ).result;
  const { api, provider } = await client(tokenFromAuthNew(readToken));
  t.teardown(() => provider.destroy());
  const [, refused] = api.sealingJobsNotify(() => t.fail('no value'));
  await t.throwsAsync(refused, { message: /missing permission to invoke 'Filecoin\.SealingJobsNotify' \(need 'admin'\)/ });
  const [, unknown] = api.sectorNotify(() => t.fail('no value'), 99_999);
  await t.throwsAsync(unknown, { message: /99999/ });
});
