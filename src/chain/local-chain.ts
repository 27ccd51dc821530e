/**
 * The local chain: a stand-in for a blockchain, named "local chain (stand-in)" wherever it shows
 * (sealing-daemon.md §6). There is no network, no consensus and no other miner; what it keeps
 * is what the sealing lifecycle relies on:
 *
 * - epochs advance every `epochMs` of the injected clock. The head is computed from the genesis
 *   time and the clock, so a restarted daemon continues where the wall clock is; the highest head
 *   reached is persisted and never goes back.
 * - tickets and seeds are drawn as Lotus draws them (src/chain/randomness.ts) from a per-repository
 *   genesis nonce, or are the fixed values of `fixedRandomness` (as `lotus-bench` uses fixed
 *   values), for every sector.
 * - a message sent at epoch e is included at e + 1, where its fate is decided by the checks a
 *   miner actor makes (specs-actors `miner_actor.go` PreCommitSector / ProveCommitSector /
 *   DeclareFaults): a pre-commit fails for a ticket that is too old (TICKET_EXPIRED), for a
 *   sector already pre-committed or a ticket not from the past (PRECOMMIT_REFUSED); a commit fails
 *   when its proof does not verify (PROOF_INVALID: `verifySeal` against the pre-committed
 *   CommR/CommD and the ticket and seed this chain handed out), without a landed pre-commit,
 *   before its seed epoch has passed or for a sector already proven (COMMIT_REFUSED); a fault
 *   fails for a sector that is not proven (FAULT_REFUSED).
 *
 * Fates are decided lazily, in sending order, whenever the head is brought up to the clock (by
 * any call or by the one epoch timer that runs while someone waits). That gives the same fates as
 * deciding at each epoch, because every rule depends only on earlier messages and epochs.
 */
import { randomBytes } from 'node:crypto';
import { AbortedError, InternalError, InvalidArgumentError, SectorStorageError } from '../errors.js';
import type { ChainMessage, ChainGenesis, ChainInclusion, ChainMessageKind, ChainStoreClient } from '../db/chain-store.js';
import { cidToCommD, cidToCommR } from '../seal/commitment-cid.js';
import type { VerifyResult } from '../seal/c2.js';
import { type VerifySealInput, verifySealDetailed } from '../seal/verify.js';
import { sealProofInfo } from '../sector/proofs.js';
import { type SectorId, sectorId } from '../sector/sector-id.js';
import {
  CHAIN_REFUSAL_CODES,
  type ChainAdapter,
  type ChainRandomness,
  type ChainRefusalCode,
  type CommitParams,
  type MessageOutcome,
  type PreCommitInfo,
  type PreCommitParams,
} from './chain-adapter.js';
import { type FixedRandomness, fixedRandomnessBytes } from './fixed-randomness.js';
import { sealSeed, sealTicket } from './randomness.js';
import { type Logger, silentLogger } from '../log/logger.js';

/** Time as the local chain sees it (XState's SimulatedClock fits). */
export interface ChainClock {
  /** Unix ms. */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The process clock. */
export const systemClock: ChainClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export interface LocalChainOptions {
  /** The chain's tables: the index actor's `chain` store in the daemon, `directChainStore` in tests. */
  store: ChainStoreClient;
  /** @default systemClock */
  clock?: ChainClock;
  /** Epoch duration in ms. Changing it keeps the head and counts on from there. @default 2000 */
  epochMs?: number;
  /** Epochs between a pre-commit landing and its seed (Lotus's PreCommitChallengeDelay). @default 3 */
  seedWaitEpochs?: number;
  /**
   * A pre-commit whose ticket is more than this many epochs older than the epoch it lands in
   * fails (Lotus's MaxPreCommitRandomnessLookback, 3780 epochs of 30 s). @default one week of epochs
   */
  ticketExpiryEpochs?: number;
  /** Every sector gets this ticket and this seed (`run --fixed-randomness`). */
  fixedRandomness?: FixedRandomness;
  /** The proof check of commit messages. @default verifySealDetailed (src/seal/verify.ts) */
  verifySeal?: (input: VerifySealInput) => Promise<VerifyResult>;
  /** One line per message included. @default silent */
  log?: Logger;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The local chain (stand-in), over its tables in the repository database. */
export class LocalChain implements ChainAdapter {
  readonly name = 'local chain (stand-in)';
  readonly #store: ChainStoreClient;
  readonly #clock: ChainClock;
  readonly #epochMs: number;
  readonly #seedWait: number;
  readonly #ticketExpiry: number;
  readonly #fixed: { ticket: Uint8Array; seed: Uint8Array } | undefined;
  readonly #verify: (input: VerifySealInput) => Promise<VerifyResult>;
  readonly #log: Logger;
  #genesis: ChainGenesis | undefined;
  #nonce = new Uint8Array(0);
  /** The head as stored; -1 until loaded. */
  #head = -1;
  /** Serialises head advances and submits, so a message's sent epoch is the head it saw. */
  #queue: Promise<unknown> = Promise.resolve();
  #timer: unknown;
  #timerSet = false;
  readonly #wakers = new Set<() => void>();

  constructor(options: LocalChainOptions) {
    this.#store = options.store;
    this.#clock = options.clock ?? systemClock;
    this.#epochMs = count(options.epochMs ?? 2000, 'epochMs', 1);
    this.#seedWait = count(options.seedWaitEpochs ?? 3, 'seedWaitEpochs', 0);
    this.#ticketExpiry = count(options.ticketExpiryEpochs ?? Math.ceil((7 * 24 * 3600 * 1000) / this.#epochMs), 'ticketExpiryEpochs', 1);
    this.#fixed = options.fixedRandomness && fixedRandomnessBytes(options.fixedRandomness);
    this.#verify = options.verifySeal ?? verifySealDetailed;
    this.#log = options.log ?? silentLogger();
  }

  async head(): Promise<{ epoch: number }> {
    await this.#sync();
    return { epoch: this.#head };
  }

  async getTicket(sector: SectorId): Promise<ChainRandomness> {
    const id = checkSector(sector);
    await this.#sync();
    const landed = await this.#store.landedMessage(id.miner, id.number, 'precommit');
    const epoch = landed ? (landed.params as unknown as PreCommitParams).ticketEpoch : this.#head;
    return { value: hex(this.#ticketAt(id.miner, epoch)), epoch };
  }

  async submitPreCommit(sector: SectorId, params: PreCommitParams): Promise<{ message: string }> {
    return this.#submit(checkSector(sector), 'precommit', checkPreCommit(params));
  }

  waitPreCommit(sector: SectorId, message: string, signal: AbortSignal): Promise<MessageOutcome> {
    return this.#waitMessage(sector, message, 'precommit', signal);
  }

  async waitSeed(sector: SectorId, preCommitEpoch: number, signal: AbortSignal): Promise<ChainRandomness> {
    const id = checkSector(sector);
    count(preCommitEpoch, 'preCommitEpoch', 0);
    const epoch = preCommitEpoch + this.#seedWait;
    await this.#untilHead(epoch, signal);
    return { value: hex(this.#seedAt(id.miner, epoch)), epoch };
  }

  async submitCommit(sector: SectorId, params: CommitParams): Promise<{ message: string }> {
    if (typeof params?.proof !== 'string' || params.proof.length === 0 || !BASE64.test(params.proof)) {
      throw new InvalidArgumentError('commit proof must be non-empty base64');
    }
    return this.#submit(checkSector(sector), 'commit', { proof: params.proof });
  }

  waitCommit(sector: SectorId, message: string, signal: AbortSignal): Promise<MessageOutcome> {
    return this.#waitMessage(sector, message, 'commit', signal);
  }

  async preCommitInfo(sector: SectorId): Promise<PreCommitInfo | undefined> {
    const id = checkSector(sector);
    await this.#sync();
    const landed = await this.#store.landedMessage(id.miner, id.number, 'precommit');
    if (!landed?.included) return undefined;
    return { ...(landed.params as unknown as PreCommitParams), message: landed.id, epoch: landed.included.epoch };
  }

  async declareFault(sector: SectorId, reason: string): Promise<{ message: string }> {
    if (typeof reason !== 'string' || reason.length === 0) throw new InvalidArgumentError('fault reason must be a non-empty string');
    return this.#submit(checkSector(sector), 'fault', { reason });
  }

  #ticketAt(miner: number, epoch: number): Uint8Array {
    return this.#fixed ? this.#fixed.ticket : sealTicket(this.#nonce, miner, epoch);
  }

  #seedAt(miner: number, epoch: number): Uint8Array {
    return this.#fixed ? this.#fixed.seed : sealSeed(this.#nonce, miner, epoch);
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #submit(id: SectorId, kind: ChainMessageKind, params: Record<string, unknown>): Promise<{ message: string }> {
    return this.#serial(async () => {
      await this.#advance();
      const { message, created } = await this.#store.putMessage({
        kind,
        miner: id.miner,
        number: id.number,
        params,
        sentEpoch: this.#head,
        sentAt: this.#clock.now(),
      });
      if (created) this.#log.info(`${this.name}: epoch ${this.#head}: ${kind} ${message.id} of s-t0${id.miner}-${id.number} sent`);
      return { message: message.id };
    });
  }

  async #waitMessage(sector: SectorId, id: string, kind: ChainMessageKind, signal: AbortSignal): Promise<MessageOutcome> {
    const s = checkSector(sector);
    throwIfAborted(signal);
    let message = await abortable(this.#store.message(id), signal);
    if (!message) throw new InvalidArgumentError(`message ${id} was never sent to the ${this.name}`);
    if (message.kind !== kind || message.miner !== s.miner || message.number !== s.number) {
      throw new InvalidArgumentError(
        `message ${id} is the ${message.kind} of s-t0${message.miner}-${message.number}, not the ${kind} of s-t0${s.miner}-${s.number}`,
      );
    }
    if (!message.included) {
      await this.#untilHead(message.sentEpoch + 1, signal);
      message = await abortable(this.#store.message(id), signal);
    }
    const included = message?.included;
    if (!included) throw new InternalError(`message ${id} is still pending at epoch ${this.#head}`);
    if (included.ok) return { ok: true, epoch: included.epoch };
    const code = included.code as ChainRefusalCode;
    if (!CHAIN_REFUSAL_CODES.includes(code)) throw new InternalError(`message ${id} failed with ${included.code}, which is no chain refusal code`);
    return { ok: false, code, reason: included.reason };
  }

  /** Resolves once the head is at `epoch` or later, checking once per epoch. */
  async #untilHead(epoch: number, signal: AbortSignal): Promise<void> {
    for (;;) {
      throwIfAborted(signal);
      await abortable(this.#sync(), signal);
      if (this.#head >= epoch) return;
      await this.#nextEpoch(signal);
    }
  }

  /** Resolves at the clock's next epoch boundary: one timer for every waiter. */
  #nextEpoch(signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        this.#wakers.delete(wake);
        if (this.#wakers.size === 0 && this.#timerSet) {
          this.#clock.clearTimeout(this.#timer);
          this.#timerSet = false;
        }
        reject(abortedError(signal));
      };
      const wake = () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      if (signal.aborted) return reject(abortedError(signal));
      signal.addEventListener('abort', onAbort, { once: true });
      this.#wakers.add(wake);
      if (this.#timerSet) return;
      const g = this.#genesis!;
      const now = this.#clock.now();
      const next = g.baseTime + (this.#clockEpoch(now) + 1 - g.baseEpoch) * g.epochMs;
      this.#timerSet = true;
      this.#timer = this.#clock.setTimeout(() => {
        this.#timerSet = false;
        const woken = [...this.#wakers];
        this.#wakers.clear();
        for (const w of woken) w();
      }, Math.max(1, next - now));
    });
  }

  #clockEpoch(now: number): number {
    return epochAt(this.#genesis!, now);
  }

  #sync(): Promise<void> {
    return this.#serial(() => this.#advance());
  }

  /** Brings the head up to the clock, deciding the messages included on the way. Serialised. */
  async #advance(): Promise<void> {
    const now = this.#clock.now();
    const first = this.#genesis === undefined;
    if (first) await this.#load(now);
    const target = Math.max(this.#head, this.#clockEpoch(now));
    if (target === this.#head && !first) return;
    for (const message of await this.#store.pendingMessages(target)) {
      const epoch = message.sentEpoch + 1;
      const inclusion = await this.#decide(message, epoch);
      if (await this.#store.includeMessage(message.id, inclusion)) {
        const fate = inclusion.ok ? 'landed' : `failed: ${inclusion.reason}`;
        this.#log.info(`${this.name}: epoch ${epoch}: ${message.kind} ${message.id} of s-t0${message.miner}-${message.number} ${fate}`);
      }
    }
    this.#head = await this.#store.advance(target, now);
  }

  /** Reads (or creates) the genesis; adopts a changed epoch duration from the current epoch on. */
  async #load(now: number): Promise<void> {
    let g =
      (await this.#store.genesis()) ??
      (await this.#store.createGenesis({
        nonce: randomBytes(32).toString('hex'),
        genesisTime: now,
        epochMs: this.#epochMs,
        baseEpoch: 0,
        baseTime: now,
      }));
    const stored = (await this.#store.head()) ?? 0;
    if (g.epochMs !== this.#epochMs) {
      const current = Math.max(stored, epochAt(g, now));
      g = await this.#store.rebase(this.#epochMs, current, now);
      this.#log.info(`${this.name}: epoch duration ${this.#epochMs} ms from epoch ${current} on`);
    }
    this.#genesis = g;
    this.#nonce = Buffer.from(g.nonce, 'hex');
    this.#head = stored;
  }

  /** What the chain makes of a message included at `epoch`. */
  async #decide(message: ChainMessage, epoch: number): Promise<ChainInclusion> {
    const fail = (code: ChainRefusalCode, reason: string): ChainInclusion => ({ epoch, ok: false, code, reason });
    const { miner, number } = message;
    const landedPreCommit = await this.#store.landedMessage(miner, number, 'precommit');
    const landedCommit = await this.#store.landedMessage(miner, number, 'commit');
    switch (message.kind) {
      case 'precommit': {
        const p = message.params as unknown as PreCommitParams;
        if (landedPreCommit) return fail('PRECOMMIT_REFUSED', `sector ${number} is already pre-committed (message ${landedPreCommit.id})`);
        if (p.ticketEpoch >= epoch) return fail('PRECOMMIT_REFUSED', `ticket epoch ${p.ticketEpoch} is not before the inclusion epoch ${epoch}`);
        if (epoch - p.ticketEpoch > this.#ticketExpiry) {
          return fail('TICKET_EXPIRED', `ticket epoch ${p.ticketEpoch} is too old: more than ${this.#ticketExpiry} epochs before epoch ${epoch}`);
        }
        return { epoch, ok: true };
      }
      case 'commit': {
        if (!landedPreCommit?.included) return fail('COMMIT_REFUSED', `sector ${number} has no pre-commit on chain`);
        if (landedCommit) return fail('COMMIT_REFUSED', `sector ${number} is already proven (message ${landedCommit.id})`);
        const seedEpoch = landedPreCommit.included.epoch + this.#seedWait;
        if (epoch <= seedEpoch) return fail('COMMIT_REFUSED', `too early to prove sector ${number}: its seed epoch ${seedEpoch} has not passed`);
        const p = landedPreCommit.params as unknown as PreCommitParams;
        try {
          const result = await this.#verify({
            sealProof: p.sealProof,
            commR: p.commR,
            commD: p.commD,
            minerId: miner,
            sectorNumber: number,
            ticket: this.#ticketAt(miner, p.ticketEpoch),
            seed: this.#seedAt(miner, seedEpoch),
            proof: Buffer.from(String(message.params.proof), 'base64'),
          });
          return result.ok ? { epoch, ok: true } : fail('PROOF_INVALID', `invalid seal proof: ${result.reason}`);
        } catch (err) {
          // a proof in no known format, or malformed inputs, is the message's fault, not the chain's
          if (err instanceof SectorStorageError && (err.code === 'PROOF_INVALID' || err.code === 'INVALID_ARGUMENT')) {
            return fail('PROOF_INVALID', `invalid seal proof: ${err.message}`);
          }
          throw err;
        }
      }
      case 'fault':
        if (!landedCommit) return fail('FAULT_REFUSED', `sector ${number} is not proven: there is no fault to declare`);
        return { epoch, ok: true };
    }
  }
}

/** The epoch the clock is in at `now` (before `baseTime` it can be below the head). */
function epochAt(g: ChainGenesis, now: number): number {
  return g.baseEpoch + Math.floor((now - g.baseTime) / g.epochMs);
}

function count(value: number, what: string, min: number): number {
  if (!Number.isSafeInteger(value) || value < min) throw new InvalidArgumentError(`${what} ${value} must be an integer ≥ ${min}`);
  return value;
}

function checkSector(sector: SectorId): SectorId {
  if (typeof sector !== 'object' || sector === null) throw new InvalidArgumentError('sector must be { miner, number }');
  return sectorId(sector.miner, sector.number);
}

/** Validates a pre-commit and returns its known fields only (what the message carries). */
function checkPreCommit(p: PreCommitParams): Record<string, unknown> {
  if (typeof p !== 'object' || p === null) throw new InvalidArgumentError('pre-commit parameters must be an object');
  sealProofInfo(p.sealProof);
  if (typeof p.commR !== 'string' || typeof p.commD !== 'string') throw new InvalidArgumentError('commR and commD must be CID strings');
  cidToCommR(p.commR);
  cidToCommD(p.commD);
  count(p.ticketEpoch, 'ticketEpoch', 0);
  if (!Array.isArray(p.dealIds) || !p.dealIds.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new InvalidArgumentError('dealIds must be an array of non-negative integers');
  }
  return { sealProof: p.sealProof, commD: p.commD, commR: p.commR, ticketEpoch: p.ticketEpoch, dealIds: [...p.dealIds] };
}

function abortedError(signal: AbortSignal): SectorStorageError {
  return new AbortedError('wait on the local chain aborted', { cause: signal.reason });
}

function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw abortedError(signal);
}

/** `promise`, or an AbortedError as soon as `signal` aborts (the work itself carries on). */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortedError(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortedError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
