import anyTest, { type TestFn } from 'ava';
import { SimulatedClock } from 'xstate';
import type { PreCommitParams } from '../../../src/chain/chain-adapter.js';
import { type ChainClock, LocalChain } from '../../../src/chain/local-chain.js';
import { ChainStore, directChainStore } from '../../../src/db/chain-store.js';
import { type ChainFixture, chainFixture, isSettled, passEpochs, referenceRandomness, settle } from './chain-fixture.js';

const test = anyTest as TestFn<ChainFixture>;
test.beforeEach(async (t) => {
  t.context = await chainFixture();
});
test.afterEach.always((t) => t.context.close());

const SECTOR = { miner: 1000, number: 1 };
const COMM_R = 'bagboea4b5abcbrshxgmmpaucffwp2elaofbcrvb7hmcu3653o4lsw2arlor4hn3c';
const COMM_D = 'baga6ea4seaqdomn3tgwgrh3g532zopskstnbrd2n3sxfqbze7rxt7vqn7veigmy';
const never = new AbortController().signal;

function preCommit(ticketEpoch: number, extra: Partial<PreCommitParams> = {}): PreCommitParams {
  return { sealProof: 5, commD: COMM_D, commR: COMM_R, ticketEpoch, dealIds: [], ...extra };
}

test('the head advances one epoch every epochMs of the clock and is persisted', async (t) => {
  const { chain, clock, store } = t.context;
  t.is(chain.name, 'local chain (stand-in)');
  t.deepEqual(await chain.head(), { epoch: 0 });
  clock.increment(1999);
  t.deepEqual(await chain.head(), { epoch: 0 });
  clock.increment(1);
  t.deepEqual(await chain.head(), { epoch: 1 });
  clock.increment(5 * 2000);
  t.deepEqual(await chain.head(), { epoch: 6 });
  t.is(store.head(), 6);
});

test('a restarted chain continues from the wall clock, finds its messages and never goes back', async (t) => {
  const { chain, clock, store } = t.context;
  await passEpochs(clock, 3);
  const ticket = await chain.getTicket(SECTOR);
  const { message } = await chain.submitPreCommit(SECTOR, preCommit(ticket.epoch));
  const nonce = store.genesis()?.nonce;

  const later = new SimulatedClock();
  later.set(10_000);
  const restarted = t.context.restart({ clock: later });
  t.deepEqual(await restarted.head(), { epoch: 5 });
  t.is(store.genesis()?.nonce, nonce);
  t.deepEqual(await restarted.waitPreCommit(SECTOR, message, never), { ok: true, epoch: 4 });
  t.deepEqual(await restarted.submitPreCommit(SECTOR, preCommit(ticket.epoch)), { message });
  t.deepEqual(await restarted.getTicket(SECTOR), ticket);

  const earlier = new SimulatedClock();
  earlier.set(2000);
  t.deepEqual(await t.context.restart({ clock: earlier }).head(), { epoch: 5 });
});

test('a changed epoch duration keeps the head and counts on at the new rate', async (t) => {
  const { chain, clock } = t.context;
  clock.set(10_000);
  t.deepEqual(await chain.head(), { epoch: 5 });
  const faster = t.context.restart({ epochMs: 500 });
  t.deepEqual(await faster.head(), { epoch: 5 });
  clock.increment(500);
  t.deepEqual(await faster.head(), { epoch: 6 });
  clock.increment(1000);
  t.deepEqual(await faster.head(), { epoch: 8 });
  t.is(t.context.store.genesis()?.epochMs, 500);
});

test("tickets are Lotus's DrawRandomness (SealRandomness) at the head over the repository's nonce", async (t) => {
  const { chain, clock, store } = t.context;
  await passEpochs(clock, 4);
  const nonce = store.genesis()!.nonce;
  t.deepEqual(await chain.getTicket(SECTOR), { value: referenceRandomness(nonce, 5, 1000, 4), epoch: 4 });
  t.deepEqual(await chain.getTicket({ miner: 5, number: 9 }), { value: referenceRandomness(nonce, 5, 5, 4), epoch: 4 });
});

test('another repository has another nonce, so other tickets', async (t) => {
  const other = await chainFixture();
  try {
    t.not((await other.chain.getTicket(SECTOR)).value, (await t.context.chain.getTicket(SECTOR)).value);
  } finally {
    other.close();
  }
});

test('the seed is InteractiveSealChallengeSeed randomness seedWaitEpochs after the pre-commit epoch, once the head is there', async (t) => {
  const { chain, clock, store } = t.context;
  const seed = chain.waitSeed(SECTOR, 2, never);
  await passEpochs(clock, 4);
  t.false(await isSettled(seed));
  await passEpochs(clock, 1);
  t.deepEqual(await seed, { value: referenceRandomness(store.genesis()!.nonce, 6, 1000, 5), epoch: 5 });
  // drawn again later, the seed of that epoch is the same
  await passEpochs(clock, 3);
  t.deepEqual(await chain.waitSeed(SECTOR, 2, never), await seed);
});

test('a message sent at epoch e is included at e + 1 and not before', async (t) => {
  const { chain, clock } = t.context;
  await passEpochs(clock, 2);
  const { message } = await chain.submitPreCommit(SECTOR, preCommit(2 - 1));
  const landed = chain.waitPreCommit(SECTOR, message, never);
  t.false(await isSettled(landed));
  clock.increment(1999);
  t.false(await isSettled(landed));
  clock.increment(1);
  t.deepEqual(await landed, { ok: true, epoch: 3 });
  t.deepEqual(await chain.preCommitInfo(SECTOR), { ...preCommit(1), message, epoch: 3 });
});

test('submits are idempotent per sector and parameters; a second pre-commit of a pre-committed sector fails', async (t) => {
  const { chain, clock } = t.context;
  await passEpochs(clock, 1);
  const a = await chain.submitPreCommit(SECTOR, preCommit(0));
  t.deepEqual(await chain.submitPreCommit(SECTOR, preCommit(0)), a);
  const b = await chain.submitPreCommit(SECTOR, preCommit(1));
  t.not(b.message, a.message);
  const other = await chain.submitPreCommit({ miner: 1000, number: 2 }, preCommit(0));
  t.not(other.message, a.message);
  await passEpochs(clock, 1);
  t.deepEqual(await chain.waitPreCommit(SECTOR, a.message, never), { ok: true, epoch: 2 });
  t.deepEqual(await chain.waitPreCommit(SECTOR, b.message, never), {
    ok: false,
    code: 'PRECOMMIT_REFUSED',
    reason: `sector 1 is already pre-committed (message ${a.message})`,
  });
  t.deepEqual(await chain.waitPreCommit({ miner: 1000, number: 2 }, other.message, never), { ok: true, epoch: 2 });
  // the landed pre-commit is still the one the same submit returns
  t.deepEqual(await chain.submitPreCommit(SECTOR, preCommit(0)), a);
});

test('once the pre-commit landed, getTicket returns the ticket it was pre-committed with (as Lotus getTicket)', async (t) => {
  const { chain, clock } = t.context;
  await passEpochs(clock, 2);
  const ticket = await chain.getTicket(SECTOR);
  const { message } = await chain.submitPreCommit(SECTOR, preCommit(ticket.epoch));
  await passEpochs(clock, 3);
  await chain.waitPreCommit(SECTOR, message, never);
  t.deepEqual(await chain.getTicket(SECTOR), ticket);
  t.is((await chain.getTicket({ miner: 1000, number: 2 })).epoch, 5);
});

test('a pre-commit whose ticket is too old fails as TICKET_EXPIRED, one whose ticket is not from the past as PRECOMMIT_REFUSED, with the reason', async (t) => {
  const f = await chainFixture({ ticketExpiryEpochs: 5 });
  try {
    await passEpochs(f.clock, 9);
    const old = await f.chain.submitPreCommit(SECTOR, preCommit(4));
    const fresh = await f.chain.submitPreCommit({ miner: 1000, number: 2 }, preCommit(5));
    const future = await f.chain.submitPreCommit({ miner: 1000, number: 3 }, preCommit(10));
    await passEpochs(f.clock, 1);
    t.deepEqual(await f.chain.waitPreCommit(SECTOR, old.message, never), {
      ok: false,
      code: 'TICKET_EXPIRED',
      reason: 'ticket epoch 4 is too old: more than 5 epochs before epoch 10',
    });
    t.deepEqual(await f.chain.waitPreCommit({ miner: 1000, number: 2 }, fresh.message, never), { ok: true, epoch: 10 });
    t.deepEqual(await f.chain.waitPreCommit({ miner: 1000, number: 3 }, future.message, never), {
      ok: false,
      code: 'PRECOMMIT_REFUSED',
      reason: 'ticket epoch 10 is not before the inclusion epoch 10',
    });
    // the failed pre-commit may be sent again: a new message
    const again = await f.chain.submitPreCommit(SECTOR, preCommit(4));
    t.not(again.message, old.message);
    // the code is kept with the fate: a restarted chain answers the same
    t.like(await f.restart().waitPreCommit(SECTOR, old.message, never), { ok: false, code: 'TICKET_EXPIRED' });
  } finally {
    f.close();
  }
});

test('a commit without a landed pre-commit, or before its seed epoch passed, fails without a proof check', async (t) => {
  let verified = 0;
  const f = await chainFixture({
    verifySeal: async () => {
      verified++;
      return { ok: true };
    },
  });
  try {
    const early = await f.chain.submitCommit(SECTOR, { proof: 'AAAA' });
    await passEpochs(f.clock, 1);
    t.deepEqual(await f.chain.waitCommit(SECTOR, early.message, never), { ok: false, code: 'COMMIT_REFUSED', reason: 'sector 1 has no pre-commit on chain' });
    const pre = await f.chain.submitPreCommit(SECTOR, preCommit(0));
    await passEpochs(f.clock, 1);
    const { epoch } = (await f.chain.waitPreCommit(SECTOR, pre.message, never)) as { epoch: number };
    t.is(epoch, 2);
    await passEpochs(f.clock, 1); // head 3, the seed epoch is 2 + 3 = 5; a commit now lands at 4
    const tooEarly = await f.chain.submitCommit(SECTOR, { proof: 'AAAB' });
    await passEpochs(f.clock, 1);
    t.deepEqual(await f.chain.waitCommit(SECTOR, tooEarly.message, never), {
      ok: false,
      code: 'COMMIT_REFUSED',
      reason: 'too early to prove sector 1: its seed epoch 5 has not passed',
    });
    t.is(verified, 0);
    const seed = f.chain.waitSeed(SECTOR, epoch, never); // head 4: one more epoch
    await passEpochs(f.clock, 1);
    t.is((await seed).epoch, 5);
  } finally {
    f.close();
  }
});

test('a fault can be declared only for a proven sector', async (t) => {
  const f = await chainFixture({ verifySeal: async () => ({ ok: true }), seedWaitEpochs: 1 });
  try {
    const early = await f.chain.declareFault(SECTOR, 'sealed file missing');
    const pre = await f.chain.submitPreCommit(SECTOR, preCommit(0));
    await passEpochs(f.clock, 1);
    t.deepEqual(await f.chain.waitPreCommit(SECTOR, pre.message, never), { ok: true, epoch: 1 });
    await t.throwsAsync(f.chain.waitCommit(SECTOR, early.message, never), {
      code: 'INVALID_ARGUMENT',
      message: `message ${early.message} is the fault of s-t01000-1, not the commit of s-t01000-1`,
    });
    await passEpochs(f.clock, 1); // head 2 = the seed epoch; a commit now lands at 3
    const commit = await f.chain.submitCommit(SECTOR, { proof: 'AAAA' });
    await passEpochs(f.clock, 1);
    t.deepEqual(await f.chain.waitCommit(SECTOR, commit.message, never), { ok: true, epoch: 3 });
    const fault = await f.chain.declareFault(SECTOR, 'sealed file missing');
    t.deepEqual(await f.chain.declareFault(SECTOR, 'sealed file missing'), fault);
    await passEpochs(f.clock, 1);
    await f.chain.head();
    const messages = f.store.messagesOf(1000, 1);
    t.deepEqual(
      messages.map((m) => [m.kind, m.included]),
      [
        ['fault', { epoch: 1, ok: false, code: 'FAULT_REFUSED', reason: 'sector 1 is not proven: there is no fault to declare' }],
        ['precommit', { epoch: 1, ok: true }],
        ['commit', { epoch: 3, ok: true }],
        ['fault', { epoch: 4, ok: true }],
      ],
    );
  } finally {
    f.close();
  }
});

test('waits reject with ABORTED when their signal aborts, and the epoch timer stops when nobody waits', async (t) => {
  const { chain, clock } = t.context;
  const timeouts = (clock as unknown as { timeouts: Map<number, unknown> }).timeouts;
  const { message } = await chain.submitPreCommit(SECTOR, preCommit(0));
  const a = new AbortController();
  const b = new AbortController();
  const seed = chain.waitSeed(SECTOR, 10, a.signal);
  const landed = chain.waitPreCommit(SECTOR, message, b.signal);
  await settle();
  t.is(timeouts.size, 1);
  a.abort(new Error('operator'));
  await t.throwsAsync(seed, { code: 'ABORTED', message: /aborted/ });
  t.is(timeouts.size, 1, 'the other waiter still needs the timer');
  b.abort();
  await t.throwsAsync(landed, { code: 'ABORTED' });
  t.is(timeouts.size, 0);
  await t.throwsAsync(chain.waitSeed(SECTOR, 0, a.signal), { code: 'ABORTED' }, 'an aborted signal stops even a wait that could resolve');
});

test('every waiter shares one epoch timer, armed for the next epoch boundary', async (t) => {
  const { clock } = t.context;
  const delays: number[] = [];
  const counting: ChainClock = {
    now: () => clock.now(),
    setTimeout: (fn, ms) => {
      delays.push(ms);
      return clock.setTimeout(fn, ms);
    },
    clearTimeout: (h) => clock.clearTimeout(h as number),
  };
  const chain = t.context.restart({ clock: counting as unknown as SimulatedClock });
  clock.increment(700);
  const waits = Array.from({ length: 20 }, (_, i) => chain.waitSeed({ miner: 1000, number: i }, 1, new AbortController().signal));
  await passEpochs(clock, 4);
  t.is((await Promise.all(waits)).length, 20);
  // the clock steps 2000 ms from 700 ms past an epoch boundary: each timer waits 1300 ms, once
  t.deepEqual(delays, [1300, 1300, 1300, 1300]);
});

test('a wait for a message the chain never sent, or for another sector or kind, is refused', async (t) => {
  const { chain } = t.context;
  await t.throwsAsync(chain.waitPreCommit(SECTOR, 'bafy2bzacenothing', never), {
    code: 'INVALID_ARGUMENT',
    message: 'message bafy2bzacenothing was never sent to the local chain (stand-in)',
  });
  const { message } = await chain.submitPreCommit(SECTOR, preCommit(0));
  await t.throwsAsync(chain.waitPreCommit({ miner: 1000, number: 2 }, message, never), {
    code: 'INVALID_ARGUMENT',
    message: /is the precommit of s-t01000-1, not the precommit of s-t01000-2/,
  });
  await t.throwsAsync(chain.waitCommit(SECTOR, message, never), { code: 'INVALID_ARGUMENT', message: /not the commit/ });
});

test('malformed submits are refused by name and send nothing', async (t) => {
  const { chain, store } = t.context;
  const cases: [Promise<unknown>, RegExp, string][] = [
    [chain.submitPreCommit(SECTOR, preCommit(0, { sealProof: 42 })), /seal proof 42/, 'SEAL_PROOF_UNKNOWN'],
    [chain.submitPreCommit(SECTOR, preCommit(0, { commR: COMM_D })), /commR .* is not a sealed commitment CID/, 'INVALID_ARGUMENT'],
    [chain.submitPreCommit(SECTOR, preCommit(0, { commD: 'nope' })), /commD "nope" is not a CID/, 'INVALID_ARGUMENT'],
    [chain.submitPreCommit(SECTOR, preCommit(-1)), /ticketEpoch -1/, 'INVALID_ARGUMENT'],
    [chain.submitPreCommit(SECTOR, preCommit(0, { dealIds: [1.5] })), /dealIds/, 'INVALID_ARGUMENT'],
    [chain.submitPreCommit({ miner: -1, number: 1 }, preCommit(0)), /miner id -1/, 'INVALID_ARGUMENT'],
    [chain.submitCommit(SECTOR, { proof: '' }), /base64/, 'INVALID_ARGUMENT'],
    [chain.submitCommit(SECTOR, { proof: 'not base64!' }), /base64/, 'INVALID_ARGUMENT'],
    [chain.declareFault(SECTOR, ''), /reason/, 'INVALID_ARGUMENT'],
    [chain.waitSeed(SECTOR, -3, never), /preCommitEpoch -3/, 'INVALID_ARGUMENT'],
  ];
  for (const [promise, message, code] of cases) await t.throwsAsync(promise, { code, message });
  t.deepEqual(store.messagesOf(1000, 1), []);
  t.throws(() => t.context.restart({ epochMs: 0 }), { code: 'INVALID_ARGUMENT', message: /epochMs 0/ });
  t.throws(() => t.context.restart({ fixedRandomness: { ticket: 'ab', seed: 'cd' } }), { code: 'INVALID_ARGUMENT', message: /ticket/ });
});

test('with fixed randomness every sector gets the same ticket and seed at every epoch', async (t) => {
  const ticket = '11'.repeat(32);
  const seed = '22'.repeat(32);
  const chain = t.context.restart({ fixedRandomness: { ticket, seed } });
  await passEpochs(t.context.clock, 3);
  t.deepEqual(await chain.getTicket(SECTOR), { value: ticket, epoch: 3 });
  t.deepEqual(await chain.getTicket({ miner: 7, number: 70 }), { value: ticket, epoch: 3 });
  t.deepEqual(await chain.waitSeed({ miner: 7, number: 70 }, 0, never), { value: seed, epoch: 3 });
  t.deepEqual(await chain.waitSeed(SECTOR, 0, never), { value: seed, epoch: 3 });
});

test('a store failure rejects the calls that needed it, and the chain carries on once the store answers again', async (t) => {
  const { clock, db } = t.context;
  let failing = false;
  const direct = directChainStore(new ChainStore(db));
  const store = {
    ...direct,
    advance: (epoch: number, now: number) => (failing ? Promise.reject(new Error('index actor stopped')) : direct.advance(epoch, now)),
  };
  const chain = new LocalChain({ store, clock });
  const { message } = await chain.submitPreCommit(SECTOR, preCommit(0));
  const landed = chain.waitPreCommit(SECTOR, message, never);
  await settle();
  failing = true;
  await passEpochs(clock, 1);
  await t.throwsAsync(landed, { message: 'index actor stopped' });
  await t.throwsAsync(chain.head(), { message: 'index actor stopped' });
  failing = false;
  t.deepEqual(await chain.head(), { epoch: 1 });
  t.deepEqual(await chain.waitPreCommit(SECTOR, message, never), { ok: true, epoch: 1 });
});
