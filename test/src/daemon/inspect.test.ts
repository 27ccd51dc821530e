/**
 * Inspection of a running daemon: the actor tree over the API and `sector-storage actors`, the
 * `/inspect` page's streams and permission, a sector's state history, the NDJSON log, and
 * `run --inspect` publishing to a client none of us wrote (`@statelyai/inspect`'s WebSocket receiver).
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import test from 'ava';
import { createWebSocketReceiver, type StatelyInspectionEvent } from '@statelyai/inspect';
import type { ActorTree, StateChange } from '../../../src/api/methods/actors.js';
import { cleanup, cliJson, type DaemonProcess, managerOf, rawRpc, runCli, startDaemon, tmpDir } from '../../helpers/cli-daemon.js';
import { waitForState } from '../../helpers/seal-checks.js';

let dir = '';
let repo = '';
let daemon: DaemonProcess | undefined;
let statelyPort = 0;
const received: StatelyInspectionEvent[] = [];
let receiverOpen: Promise<void> | undefined;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function baseUrl(): string {
  return managerOf(repo).url;
}

test.before(async () => {
  dir = tmpDir('ss-inspect-');
  repo = join(dir, 'repo');
  statelyPort = await freePort();
  daemon = await startDaemon(repo, [
    '--sector-size',
    '2KiB',
    '--epoch-ms',
    '100',
    '--seed-wait-epochs',
    '1',
    '--inspect',
    '--inspect-port',
    String(statelyPort),
    '--inspect-log',
    join(dir, 'actors.ndjson'),
  ]);
  // the Stately transport relays what arrives after a receiver connected (and its last 200 messages)
  receiverOpen = new Promise<void>((resolve) => {
    const receiver = createWebSocketReceiver({ server: `ws://127.0.0.1:${statelyPort}` });
    receiver.subscribe((e) => received.push(e));
    setTimeout(resolve, 500);
  });
  await receiverOpen;
});

test.after.always(async () => {
  await daemon?.stop();
  cleanup(dir);
});

test.serial('a pledged sector seals while the actor tree, the actors command and the sector history follow it', async (t) => {
  const id = await cliJson<{ Number: number }>(repo, ['sectors', 'pledge']);
  await waitForState(repo, id.Number, ['Proving']);
  // the hub folds in batches of 100 ms
  await new Promise((r) => setTimeout(r, 300));
  const tree = (await rawRpc(repo, 'Filecoin.ActorsTree', [])).result as ActorTree;
  const scheduler = tree.actors.find((a) => a.id === 'scheduler');
  t.truthy(scheduler, 'the root actor is in the tree');
  t.truthy(
    tree.actors.find((a) => a.id === 'index' && a.parent === scheduler?.session),
    'the index actor hangs under the scheduler',
  );
  t.like(tree.actors.find((a) => a.id === 'tasks'), { kind: 'tasks', parent: scheduler?.session, status: 'active' }, 'so does the actor running the calls');
  const sector = tree.actors.find((a) => a.id === `sector:${id.Number}`);
  t.like(sector, { kind: 'sector', state: 'Proving', status: 'active' });
  t.true(Object.keys(sector?.context ?? {}).length > 0, 'the sector carries a context summary');
  t.deepEqual(
    tree.workers.map((w) => w.id),
    ['local'],
  );
  t.true(tree.events.length > 0);

  const json = await cliJson<ActorTree>(repo, ['actors']);
  t.truthy(json.actors.find((a) => a.id === `sector:${id.Number}` && a.state === 'Proving'));
  const text = await runCli(repo, ['actors']);
  t.is(text.code, 0, text.stderr);
  t.regex(text.stdout, /^scheduler {2}\S+/m);
  t.regex(text.stdout, new RegExp(`^ {4}sector:${id.Number} {2}Proving`, 'm'), 'the sector is printed under its group');
  t.regex(text.stdout, /Workers:\n.*ID.*\n\s+local/);

  const history = (await rawRpc(repo, 'Filecoin.ActorsHistory', [id.Number])).result as StateChange[];
  const states = history.map((h) => h.state);
  for (const s of ['PreCommit1', 'PreCommit2', 'Committing', 'FinalizeSector', 'Proving']) {
    t.true(
      states.some((x) => x.startsWith(s)),
      `the history passes ${s}: ${states.join(' → ')}`,
    );
  }
  t.is(states.at(-1), 'Proving');
  const unknown = await rawRpc(repo, 'Filecoin.ActorsHistory', [999]);
  t.is(unknown.error?.data?.code, 'SECTOR_UNKNOWN');
  const bad = await rawRpc(repo, 'Filecoin.ActorsHistory', ['x']);
  t.is(bad.error?.data?.code, 'INVALID_ARGUMENT');
});

test.serial('/inspect serves a self-contained page and its event stream with read permission, and refuses a token without read', async (t) => {
  const page = await fetch(`${baseUrl()}/inspect`);
  t.is(page.status, 200);
  const html = await page.text();
  t.regex(page.headers.get('content-type') ?? '', /text\/html/);
  t.notRegex(html, /<script[^>]+src=|<link[^>]+href=|https?:\/\//, 'nothing is loaded from elsewhere');

  const abort = new AbortController();
  const events = await fetch(`${baseUrl()}/inspect/events`, { signal: abort.signal });
  t.regex(events.headers.get('content-type') ?? '', /text\/event-stream/);
  const reader = events.body!.getReader();
  let text = '';
  while (!text.includes('\n\n')) text += new TextDecoder().decode((await reader.read()).value);
  abort.abort();
  t.regex(text, /^event: tree\ndata: \{/);
  const tree = JSON.parse(text.slice(text.indexOf('data: ') + 6, text.indexOf('\n\n'))) as ActorTree;
  t.true(tree.actors.some((a) => a.id === 'scheduler'));

  const history = await fetch(`${baseUrl()}/inspect/history/0`);
  t.is(history.status, 200);
  t.true(((await history.json()) as StateChange[]).length > 3);

  const writeOnly = (await rawRpc(repo, 'Filecoin.AuthNew', [['write']])).result as string;
  const refused = await fetch(`${baseUrl()}/inspect/tree`, { headers: { authorization: `Bearer ${writeOnly}` } });
  t.is(refused.status, 401);
  const bad = await fetch(`${baseUrl()}/inspect/tree`, { method: 'POST' });
  t.is(bad.status, 405);
});

test.serial('run --inspect publishes sector snapshots through @statelyai/inspect to a WebSocket receiver', async (t) => {
  const before = received.length;
  await cliJson<{ Number: number }>(repo, ['sectors', 'pledge']);
  const deadline = Date.now() + 20_000;
  const sectorSnapshot = () =>
    received.slice(before).find((e) => e.type === '@xstate.snapshot' && (e.snapshot as { value?: unknown }).value !== undefined && JSON.stringify(e.snapshot).includes('PreCommit'));
  while (!sectorSnapshot() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const snap = sectorSnapshot();
  t.truthy(snap, `a sector snapshot arrived (${received.length - before} messages)`);
  t.true(
    received.some((e) => e.type === '@xstate.actor'),
    'actor creations arrive too',
  );
  t.regex(daemon?.output() ?? '', /needs the internet/);
});

test.serial('run --inspect-log appends the inspection events as NDJSON lines in batches', async (t) => {
  const lines = readFileSync(join(dir, 'actors.ndjson'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; actor: string; value?: unknown });
  t.true(lines.some((l) => l.type === '@xstate.snapshot' && l.actor === 'sector:0' && l.value === 'Proving'));
});
