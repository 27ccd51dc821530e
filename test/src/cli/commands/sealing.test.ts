/**
 * Sealing through a real daemon and the real CLI: a 2 KiB repository whose local chain (stand-in)
 * hands out a fixed ticket and seed, with 50 ms epochs, so sectors reach Proving in seconds and
 * their CommR can be compared with the offline `seal` command's.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { TokenAuthority } from '../../../../src/auth/tokens.js';
import { loadOrCreateJwtSecret } from '../../../../src/repo/keystore.js';
import {
  cleanup,
  cliJson,
  daemonArgs,
  type DaemonProcess,
  rawRpc,
  runCli,
  startDaemon,
  tmpDir,
} from '../../../helpers/cli-daemon.js';

const TICKET = 'a1'.repeat(32);
const SEED = '5e'.repeat(32);

interface Status {
  SectorID: number;
  State: string;
  CommD: string | null;
  CommR: string | null;
  Ticket: { Value: string | null; Epoch: number };
  Seed: { Value: string | null; Epoch: number };
  PreCommitMsg: string | null;
  CommitMsg: string | null;
  ProofInfo: { Sha256: string; Size: number; Prover: string; Note?: string } | null;
  Deals: string[];
  Retries: number;
  LastErr: string;
  Log?: Array<{ Kind: string; Timestamp: number; TimestampMs: number; Message: string }>;
}

interface Call {
  ID: string;
  Task: string;
  State: string;
  Outcome?: string;
  Attempts: number;
}

let repo = '';
let daemon: DaemonProcess | undefined;

test.before(async () => {
  repo = tmpDir('ss-sealing-');
  daemon = await startDaemon(repo, daemonArgs({ sectorSize: '2KiB', fixedRandomness: { ticket: TICKET, seed: SEED }, epochMs: 50, seedWaitEpochs: 1 }));
});

test.after.always(async () => {
  await daemon?.stop();
  cleanup(repo);
});

/** Polls the sector (through the API) until it is in one of `states`; fails with its status after `timeoutMs`. */
async function waitForState(t: ExecutionContext, n: number, states: readonly string[], timeoutMs = 120_000): Promise<Status> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    const r = await rawRpc(repo, 'Filecoin.SectorsStatus', [n]);
    last = r.result ?? r.error;
    const s = r.result as Status | undefined;
    if (s && states.includes(s.State)) return s;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  t.log(daemon?.output());
  throw new Error(`sector ${n} did not reach ${states.join('/')} within ${timeoutMs} ms: ${JSON.stringify(last)}`);
}

const hex = (base64: string | null) => (base64 === null ? '' : Buffer.from(base64, 'base64').toString('hex'));

/** The offline `seal` command's result for this repository's miner, sector `n`, the fixed ticket and `pieces`. */
async function offlineSeal(n: number, pieces: string[] = []): Promise<{ commD: string; commR: string }> {
  return cliJson(repo, ['seal', '--sector-size', '2KiB', '--miner-addr', 't01000', '--sector-number', String(n), '--ticket', TICKET, '--seed', SEED, ...pieces]);
}

/** Every call of sector `n`, checked: each sealing phase exactly once, returned with outcome ok. */
async function checkCallsOnce(t: ExecutionContext, n: number, once: readonly string[]): Promise<Call[]> {
  const calls = await cliJson<Call[]>(repo, ['sealing', 'calls', '--sector', String(n)]);
  for (const task of once) {
    const of = calls.filter((c) => c.Task === task);
    t.is(of.length, 1, `${task} ran once: ${JSON.stringify(calls)}`);
  }
  for (const c of calls) {
    t.is(c.State, 'returned', `${c.Task} ${c.ID} was returned to its sector`);
    t.is(c.Outcome, 'ok', `${c.Task} ${c.ID} succeeded`);
    t.is(c.Attempts, 1, `${c.Task} ${c.ID} was dispatched once`);
  }
  return calls;
}

/** Runs a command that must fail with `code` (exit 1) and a message matching `message`. */
async function fails(t: ExecutionContext, args: string[], code: string, message: RegExp): Promise<void> {
  const r = await runCli(repo, args);
  t.true(r.code === 1 || r.code === 2, `${args.join(' ')} should fail: ${r.stdout}`);
  t.regex(r.stderr, new RegExp(`\\[${code}\\]`), r.stderr);
  t.regex(r.stderr, message);
}

let pledged: number | undefined;
/** A piece left waiting for deals by the list test (the deal test's sector may hold it too). */
let waitingPiece: { sector: number; pieceCid: string; file: string } | undefined;

test.serial('sectors pledge seals a 2 KiB sector to Proving with the CommR of the seal command for the same miner, number and ticket', async (t) => {
  const id = await cliJson<{ Miner: number; Number: number }>(repo, ['sectors', 'pledge']);
  t.is(id.Miner, 1000);
  pledged = id.Number;
  await waitForState(t, id.Number, ['Proving']);
  const status = await cliJson<Status>(repo, ['sectors', 'status', String(id.Number)]);
  t.is(status.State, 'Proving');
  t.is(status.Log, undefined, 'the log only with --log');
  const offline = await offlineSeal(id.Number);
  t.is(status.CommR, offline.commR);
  t.is(status.CommD, offline.commD);
  t.is(hex(status.Ticket.Value), TICKET, 'Ticket.Value is the fixed ticket, base64 as Lotus encodes bytes');
  t.is(hex(status.Seed.Value), SEED);
  t.true(status.Seed.Epoch > status.Ticket.Epoch);
  t.regex(status.PreCommitMsg ?? '', /^bafy/);
  t.regex(status.CommitMsg ?? '', /^bafy/);
  t.is(status.ProofInfo?.Prover, 'vanilla-proof-bundle');
  t.regex(status.ProofInfo?.Note ?? '', /not accepted on chain/);
  t.deepEqual(status.Deals, []);
  t.is(status.Retries, 0);
  t.is(status.LastErr, '');
});

test.serial('sealing calls lists AP, PC1, PC2, C1, C2, FIN and GET of a pledged sector exactly once, each ok', async (t) => {
  const calls = await checkCallsOnce(t, pledged!, ['AP', 'PC1', 'PC2', 'C1', 'C2', 'FIN', 'GET']);
  t.deepEqual(calls.map((c) => c.Task).sort(), ['AP', 'C1', 'C2', 'FIN', 'GET', 'PC1', 'PC2']);
  const human = await runCli(repo, ['sealing', 'calls', '--sector', String(pledged)]);
  t.is(human.code, 0, human.stderr);
  t.regex(human.stdout, /^ID\s+Task\s+State\s+Attempts\s+Started\s+Finished\s+Outcome\s+Batch\n/);
  t.regex(human.stdout, new RegExp(`^${calls[0]!.ID.replaceAll('-', '').slice(0, 8)}\\s+${calls[0]!.Task}\\s+returned\\s+1\\s+\\S+Z\\s+\\S+Z\\s+ok\\s+-$`, 'm'), 'a call run alone has no batch');
  const jobs = await cliJson<unknown[]>(repo, ['sealing', 'jobs']);
  t.deepEqual(jobs, [], 'nothing is left open once the sector is Proving');
  t.is((await runCli(repo, ['sealing', 'jobs'])).stdout, 'no jobs\n');
});

test.serial('sectors status prints lotus-miner lines and, with --log, the event log in order', async (t) => {
  const n = pledged!;
  const offline = await offlineSeal(n);
  const r = await runCli(repo, ['sectors', 'status', String(n), '--log']);
  t.is(r.code, 0, r.stderr);
  const keys = r.stdout.split('\n').slice(0, 13).map((l) => l.split('\t')[0]);
  t.deepEqual(keys, ['SectorID:', 'Status:', 'CIDcommD:', 'CIDcommR:', 'Ticket:', 'TicketH:', 'Seed:', 'SeedH:', 'Precommit:', 'Commit:', 'Proof:', 'Deals:', 'Retries:']);
  t.true(r.stdout.includes(`CIDcommR:\t${offline.commR}\n`));
  t.true(r.stdout.includes(`Ticket:\t${TICKET}\n`));
  t.regex(r.stdout, /^Proof:\tsha256 [0-9a-f]{64}, \d+ bytes, vanilla-proof-bundle \(vanilla proof bundle — non-succinct, not accepted on chain\)$/m);
  t.false(r.stdout.includes('Last Error'), 'no error line for a healthy sector');
  const events = [...r.stdout.matchAll(/^(\d+)\.\t(\S+):\t\[([^\]]+)\]\t/gm)];
  t.deepEqual(events.map((m) => Number(m[1])), events.map((_, i) => i), 'entries are numbered from 0');
  const kinds = events.map((m) => m[3]);
  for (const kind of ['SectorTicket', 'SectorPreCommit1', 'SectorPreCommit2', 'SectorPreCommitLanded', 'SectorSeedReady', 'SectorCommitted', 'SectorProving', 'SectorFinalized']) {
    t.is(kinds.filter((k) => k === `event;sealing.${kind}`).length, 1, `${kind} logged once`);
  }
  t.true(kinds.indexOf('event;sealing.SectorPreCommit1') < kinds.indexOf('event;sealing.SectorProving'));
  const json = await cliJson<Status>(repo, ['sectors', 'status', String(n), '--log']);
  t.deepEqual(json.Log?.map((e) => e.Kind), kinds);
  t.true(json.Log!.every((e) => e.Timestamp === Math.floor(e.TimestampMs / 1000)), 'Timestamp is unix seconds, as Lotus');
});

test.serial('sectors list --states and sectors summary agree on the sectors per state', async (t) => {
  const n = pledged!;
  const file = join(repo, 'waiting.bin');
  writeFileSync(file, randomBytes(300));
  const waiting = await cliJson<{ sector: number; pieceCid: string }>(repo, ['pieces', 'add', file]);
  waitingPiece = { ...waiting, file };
  const proving = await cliJson<Status[]>(repo, ['sectors', 'list', '--states', 'Proving']);
  t.true(proving.some((s) => s.SectorID === n));
  t.true(proving.every((s) => s.State === 'Proving'));
  const both = await cliJson<Status[]>(repo, ['sectors', 'list', '--states', 'Proving,WaitDeals']);
  t.deepEqual(both.map((s) => s.SectorID).sort((a, b) => a - b), [...new Set([...proving.map((s) => s.SectorID), waiting.sector])].sort((a, b) => a - b));
  const all = await cliJson<Status[]>(repo, ['sectors', 'list']);
  const summary = await cliJson<Record<string, number>>(repo, ['sectors', 'summary']);
  const counted: Record<string, number> = {};
  for (const s of all) counted[s.State] = (counted[s.State] ?? 0) + 1;
  t.deepEqual(summary, counted);
  t.is(summary.WaitDeals, 1);

  const table = await runCli(repo, ['sectors', 'list']);
  t.is(table.code, 0, table.stderr);
  t.regex(table.stdout, /^ID\s+State\s+Deals\s+SealTime\n/);
  t.regex(table.stdout, new RegExp(`^${n}\\s+Proving\\s+0\\s+\\d+(\\.\\d)?(ms|s)$`, 'm'), 'a Proving sector shows its seal time');
  t.regex(table.stdout, new RegExp(`^${waiting.sector}\\s+WaitDeals\\s+1\\s+\\S+ \\(so far\\)$`, 'm'), 'a waiting sector shows the time so far');
  const human = await runCli(repo, ['sectors', 'summary']);
  t.regex(human.stdout, /^State\s+Count\n/);
  t.regex(human.stdout, new RegExp(`^Total\\s+${all.length}$`, 'm'));
  await fails(t, ['sectors', 'list', '--states', 'Provin'], 'INVALID_ARGUMENT', /--states: "Provin" is not a sector state/);
});

test.serial('a deal sector sealed with sectors seal reaches Proving with the seal command\'s CommR and its piece still reads back', async (t) => {
  const file = join(repo, 'deal.bin');
  // 512 bytes padded: with the list test's piece the sector stays half empty, so only sectors seal packs it
  const payload = randomBytes(400);
  writeFileSync(file, payload);
  const added = await cliJson<{ sector: number; offset: number; pieceCid: string }>(repo, ['pieces', 'add', file]);
  t.is((await cliJson<Status>(repo, ['sectors', 'status', String(added.sector)])).State, 'WaitDeals');
  const seal = await runCli(repo, ['sectors', 'seal', String(added.sector)]);
  t.is(seal.code, 0, seal.stderr);
  t.is(seal.stdout, `sector ${added.sector}: sealing started\n`);
  t.not((await cliJson<Status>(repo, ['sectors', 'status', String(added.sector)])).State, 'WaitDeals', 'sectors seal stopped the wait for deals');
  await waitForState(t, added.sector, ['Proving']);
  const status = await cliJson<Status>(repo, ['sectors', 'status', String(added.sector)]);
  // the piece the list test left waiting is in this sector when it was the open one
  const earlier = waitingPiece?.sector === added.sector ? [waitingPiece] : [];
  t.deepEqual(status.Deals, [...earlier.map((p) => p.pieceCid), added.pieceCid], 'Deals lists the deal pieces in sector order');
  const offline = await offlineSeal(added.sector, [...earlier.map((p) => p.file), file]);
  t.is(status.CommD, offline.commD);
  t.is(status.CommR, offline.commR);
  const out = join(repo, 'deal.out');
  const read = await runCli(repo, ['pieces', 'read', String(added.sector), String(added.offset), String(payload.length), '--out', out]);
  t.is(read.code, 0, read.stderr);
  t.true(readFileSync(out).equals(payload), 'finalize kept the unsealed copy of the deal piece');
  await checkCallsOnce(t, added.sector, ['PC1', 'PC2', 'C1', 'C2', 'FIN', 'GET']);
  await fails(t, ['sectors', 'seal', String(added.sector)], 'SECTOR_STATE_INVALID', /Proving/);
  await fails(t, ['sectors', 'seal', '9999'], 'SECTOR_UNKNOWN', /sector 9999 does not exist/);
});

test.serial('sectors remove leaves the sector Removed and none of its files under the storage path', async (t) => {
  const id = await cliJson<{ Number: number }>(repo, ['sectors', 'pledge']);
  const r = await runCli(repo, ['sectors', 'remove', String(id.Number)]);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, `sector ${id.Number}: removing\n`);
  await waitForState(t, id.Number, ['Removed']);
  const name = `s-t01000-${id.Number}`;
  for (const dir of ['unsealed', 'sealed', 'cache']) {
    const path = join(repo, 'storage', dir);
    const left = existsSync(path) ? readdirSync(path).filter((f) => f.includes(name)) : [];
    t.deepEqual(left, [], `nothing of ${name} left in storage/${dir}`);
  }
  const jobs = await cliJson<Array<{ Sector: { Number: number } }>>(repo, ['sealing', 'jobs']);
  t.false(jobs.some((j) => j.Sector.Number === id.Number), 'no open call of the removed sector');
  for (const c of await cliJson<Call[]>(repo, ['sealing', 'calls', '--sector', String(id.Number)])) {
    t.true(c.State === 'returned' || c.State === 'done', `call ${c.Task} is closed (${c.State})`);
  }
  await fails(t, ['sectors', 'remove', '9999'], 'SECTOR_UNKNOWN', /sector 9999 does not exist/);
});

test.serial('sealing abort of an unknown or finished call fails CALL_UNKNOWN and changes nothing', async (t) => {
  const before = await cliJson(repo, ['sectors', 'list']);
  await fails(t, ['sealing', 'abort', '0123abcd'], 'CALL_UNKNOWN', /no call id starts with "0123abcd"/);
  await fails(t, ['sealing', 'abort', 'not-hex!'], 'INVALID_ARGUMENT', /is not a call id or a prefix of one/);
  const [done] = await cliJson<Call[]>(repo, ['sealing', 'calls', '--sector', String(pledged)]);
  await fails(t, ['sealing', 'abort', done!.ID.slice(0, 8)], 'CALL_UNKNOWN', /is not queued or running/);
  // Lotus's CallID form: the sector must be the call's
  const wrong = await rawRpc(repo, 'Filecoin.SealingAbort', [{ Sector: { Miner: 1000, Number: 9999 }, ID: done!.ID }]);
  t.is(wrong.error?.data?.code, 'CALL_UNKNOWN');
  t.regex(wrong.error?.message ?? '', new RegExp(`call ${done!.ID} is of sector 1000-${pledged}, not 1000-9999`));
  const right = await rawRpc(repo, 'Filecoin.SealingAbort', [{ Sector: { Miner: 1000, Number: pledged }, ID: done!.ID }]);
  t.is(right.error?.data?.code, 'CALL_UNKNOWN', 'a returned call cannot be aborted');
  await fails(t, ['sealing', 'calls', '--sector', '9999'], 'SECTOR_UNKNOWN', /sector 9999 does not exist/);
  await fails(t, ['sealing', 'calls'], 'INVALID_ARGUMENT', /missing required flag --sector N/);
  t.deepEqual(await cliJson(repo, ['sectors', 'list']), before);
});

test.serial('bad params through the raw JSON-RPC fail INVALID_ARGUMENT naming the param, and change nothing', async (t) => {
  const state = async () => [(await rawRpc(repo, 'Filecoin.SectorsList', [])).result, (await rawRpc(repo, 'Filecoin.SectorsSummary', [])).result];
  const before = await state();
  const uuid = '01234567-89ab-cdef-0123-456789abcdef';
  const cases: Array<[string, unknown, RegExp]> = [
    ['PledgeSector', [1], /expected 0 params, got 1/],
    ['SectorStartSealing', [], /expected 1 params, got 0/],
    ['SectorStartSealing', ['1'], /param sector must be a non-negative integer \(got "1"\)/],
    ['SectorStartSealing', [-1], /param sector must be a non-negative integer/],
    ['SectorStartSealing', [1.5], /param sector must be a non-negative integer/],
    ['SectorRemove', [null], /param sector must be a non-negative integer/],
    ['SectorRemove', [0, 1], /expected 1 params, got 2/],
    ['SectorsListInStates', ['Proving'], /param states must be a list of sector state names/],
    ['SectorsListInStates', [[1]], /param states must be a list of sector state names/],
    ['SectorsListInStates', [['Proving', 'Bogus']], /param states: "Bogus" is not a sector state/],
    ['SectorsSummary', [{}], /expected 0 params, got 1/],
    ['SectorsStatus', ['0'], /param sector must be a non-negative integer/],
    ['SectorsStatus', [0, 'yes'], /param showOnChainInfo must be true or false/],
    ['SealingAbort', [], /expected 1 params, got 0/],
    ['SealingAbort', [42], /param call must be .* or a call id \(prefix\) string/],
    ['SealingAbort', [''], /param call must not be empty/],
    ['SealingAbort', [{ ID: 'x', Sector: { Miner: 1000, Number: 0 } }], /param call\.ID must be a call uuid/],
    ['SealingAbort', [{ ID: uuid, Sector: { Miner: 1000, Number: -1 } }], /param call\.Sector must be/],
    ['SealingAbort', [{ ID: uuid }], /param call\.Sector must be/],
    ['SealingCalls', [], /expected 1 params, got 0/],
    ['SealingCalls', ['0'], /param sector must be a non-negative integer/],
    ['WorkerJobs', [true], /expected 0 params, got 1/],
  ];
  for (const [method, params, message] of cases) {
    const r = await rawRpc(repo, `Filecoin.${method}`, params);
    t.is(r.error?.code, -32602, `${method}(${JSON.stringify(params)}) is a JSON-RPC invalid-params error`);
    t.is(r.error?.data?.code, 'INVALID_ARGUMENT', `${method}(${JSON.stringify(params)})`);
    t.regex(r.error?.message ?? '', message, `${method}(${JSON.stringify(params)})`);
  }
  for (const method of ['SectorStartSealing', 'SectorRemove', 'SectorsStatus', 'SealingCalls']) {
    const r = await rawRpc(repo, `Filecoin.${method}`, [9999]);
    t.is(r.error?.data?.code, 'SECTOR_UNKNOWN', `${method}(9999)`);
  }
  t.deepEqual(await state(), before, 'no sector was created, changed or removed');
});

test.serial('tokens: read cannot pledge or seal, write cannot remove, abort or list jobs; read methods answer a read token', async (t) => {
  const authority = new TokenAuthority(loadOrCreateJwtSecret(repo));
  const read = authority.createToken(['read']);
  const write = authority.createToken(['read', 'write']);
  const summary = (await rawRpc(repo, 'Filecoin.SectorsSummary', [])).result;
  const need = async (token: string, method: string, params: unknown[], perm: string) => {
    const r = await rawRpc(repo, `Filecoin.${method}`, params, token);
    t.is(r.error?.data?.code, 'UNAUTHORIZED', `${method} with a token lacking ${perm}`);
    t.regex(r.error?.message ?? '', new RegExp(`need '${perm}'`));
  };
  await need(read, 'PledgeSector', [], 'write');
  await need(read, 'SectorStartSealing', [0], 'write');
  await need(write, 'SectorRemove', [pledged], 'admin');
  await need(write, 'SealingAbort', ['0123abcd'], 'admin');
  await need(write, 'WorkerJobs', [], 'admin');
  for (const [method, params] of [
    ['SectorsList', []],
    ['SectorsListInStates', [['Proving']]],
    ['SectorsSummary', []],
    ['SectorsStatus', [pledged]],
    ['SealingCalls', [pledged]],
  ] as const) {
    const r = await rawRpc(repo, `Filecoin.${method}`, params, read);
    t.is(r.error, undefined, `${method} answers a read token`);
  }
  // the CLI with a read token in the repository
  const tokenFile = join(repo, 'token');
  const admin = readFileSync(tokenFile, 'utf8');
  writeFileSync(tokenFile, read);
  try {
    await fails(t, ['sectors', 'pledge'], 'UNAUTHORIZED', /missing permission to invoke 'Filecoin.PledgeSector' \(need 'write'\)/);
    await fails(t, ['sealing', 'jobs'], 'UNAUTHORIZED', /need 'admin'/);
  } finally {
    writeFileSync(tokenFile, admin);
  }
  t.deepEqual((await rawRpc(repo, 'Filecoin.SectorsSummary', [])).result, summary, 'the refused calls changed nothing');
});
