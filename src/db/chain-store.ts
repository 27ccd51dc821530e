/**
 * The local chain's state in the repository database (sealing-daemon.md §6): its genesis (a
 * random nonce drawn once per repository, from which every epoch's randomness is derived, so no
 * randomness is stored), its head epoch, and the messages sectors sent to it with their fate.
 * The rules of the chain (what lands, what fails, when) live in src/chain/local-chain.ts; this
 * store only records.
 *
 * Every method is synchronous: in the daemon the store lives inside the index actor, which runs
 * the calls of one macrotask in one transaction; other code reaches it through a
 * {@link ChainStoreClient}.
 */
import { encode } from 'cborg';
import { CID } from 'multiformats/cid';
import * as Digest from 'multiformats/hashes/digest';
import { blake2b256 } from '../../native/hash.js';
import { type ErrorCode, InternalError, InvalidArgumentError, isErrorCode } from '../errors.js';
import { canonicalJson } from '../tasks/work-id.js';
import type { Db } from './database.js';

/** What a message asks of the chain. */
export type ChainMessageKind = 'precommit' | 'commit' | 'fault';
export const CHAIN_MESSAGE_KINDS: readonly ChainMessageKind[] = ['precommit', 'commit', 'fault'];

/** The chain's genesis and the mapping of wall-clock time to epochs. */
export interface ChainGenesis {
  /** 32 random bytes, hex: the root of every epoch's randomness. */
  nonce: string;
  /** Unix ms of epoch 0. */
  genesisTime: number;
  /** The epoch duration in force, ms. */
  epochMs: number;
  /** Epochs count from `baseEpoch` at `baseTime` (moved when the epoch duration changes). */
  baseEpoch: number;
  baseTime: number;
}

/**
 * A message's fate once it was included in an epoch; a refusal carries the error code the chain
 * gave it (which codes a chain gives is the chain adapter's vocabulary, src/chain/chain-adapter.ts).
 */
export type ChainInclusion = { epoch: number; ok: true } | { epoch: number; ok: false; code: ErrorCode; reason: string };

/** A message as sent to the chain. */
export interface ChainMessage {
  /** Message CID (`bafy2bzace…`: dag-cbor, BLAKE2b-256, as Lotus message CIDs). */
  id: string;
  /** Order of sending, from 1. */
  seq: number;
  kind: ChainMessageKind;
  miner: number;
  number: number;
  /** The message parameters (JSON). */
  params: Record<string, unknown>;
  /** The head epoch when it was sent. */
  sentEpoch: number;
  /** Unix ms when it was sent. */
  sentAt: number;
  /** Absent while pending. */
  included?: ChainInclusion;
}

/** What {@link ChainStore.putMessage} takes. */
export interface ChainMessageDraft {
  kind: ChainMessageKind;
  miner: number;
  number: number;
  params: Record<string, unknown>;
  sentEpoch: number;
  sentAt: number;
}

interface GenesisRow {
  nonce: string;
  genesis_time: number;
  epoch_ms: number;
  base_epoch: number;
  base_time: number;
}

interface MessageRow {
  id: string;
  seq: number;
  kind: string;
  miner: number;
  number: number;
  params: string;
  sent_epoch: number;
  sent_at: number;
  included_epoch: number | null;
  ok: number | null;
  reason: string | null;
  code: string | null;
}

/** dag-cbor and BLAKE2b-256 codes (multicodec table). */
const DAG_CBOR = 0x71;
const BLAKE2B_256 = 0xb220;

/** The local chain's genesis, head and messages. */
export class ChainStore {
  readonly #db: Db;
  readonly #getGenesis;
  readonly #insertGenesis;
  readonly #updateBase;
  readonly #getHead;
  readonly #insertHead;
  readonly #raiseHead;
  readonly #getMessage;
  readonly #sameMessage;
  readonly #maxSeq;
  readonly #insertMessage;
  readonly #pending;
  readonly #include;
  readonly #landed;
  readonly #ofSector;

  constructor(db: Db) {
    this.#db = db;
    this.#getGenesis = db.prepare<[], GenesisRow>('SELECT * FROM chain_genesis WHERE id = 1');
    this.#insertGenesis = db.prepare<[string, number, number, number, number]>(
      `INSERT INTO chain_genesis (id, nonce, genesis_time, epoch_ms, base_epoch, base_time) VALUES (1, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO NOTHING`,
    );
    this.#updateBase = db.prepare<[number, number, number]>(
      'UPDATE chain_genesis SET epoch_ms = ?, base_epoch = ?, base_time = ? WHERE id = 1',
    );
    this.#getHead = db.prepare<[], { epoch: number }>('SELECT epoch FROM chain_head WHERE id = 1');
    this.#insertHead = db.prepare<[number, number]>(
      'INSERT INTO chain_head (id, epoch, updated_at) VALUES (1, ?, ?) ON CONFLICT (id) DO NOTHING',
    );
    this.#raiseHead = db.prepare<[number, number, number]>('UPDATE chain_head SET epoch = ?, updated_at = ? WHERE id = 1 AND epoch < ?');
    this.#getMessage = db.prepare<[string], MessageRow>('SELECT * FROM chain_messages WHERE id = ?');
    this.#sameMessage = db.prepare<[number, number, string, string], MessageRow>(
      `SELECT * FROM chain_messages WHERE miner = ? AND number = ? AND kind = ? AND params = ? AND (ok IS NULL OR ok = 1)
       ORDER BY seq DESC LIMIT 1`,
    );
    this.#maxSeq = db.prepare<[], { n: number | null }>('SELECT MAX(seq) AS n FROM chain_messages');
    this.#insertMessage = db.prepare<[string, number, string, number, number, string, number, number]>(
      `INSERT INTO chain_messages (id, seq, kind, miner, number, params, sent_epoch, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#pending = db.prepare<[number], MessageRow>(
      'SELECT * FROM chain_messages WHERE included_epoch IS NULL AND sent_epoch < ? ORDER BY seq',
    );
    this.#include = db.prepare<[number, number, string | null, string | null, string]>(
      'UPDATE chain_messages SET included_epoch = ?, ok = ?, reason = ?, code = ? WHERE id = ? AND included_epoch IS NULL',
    );
    this.#landed = db.prepare<[number, number, string], MessageRow>(
      'SELECT * FROM chain_messages WHERE miner = ? AND number = ? AND kind = ? AND ok = 1 ORDER BY seq DESC LIMIT 1',
    );
    this.#ofSector = db.prepare<[number, number], MessageRow>('SELECT * FROM chain_messages WHERE miner = ? AND number = ? ORDER BY seq');
  }

  /** The genesis, once {@link createGenesis} ran. */
  genesis(): ChainGenesis | undefined {
    const row = this.#getGenesis.get();
    return row ? decodeGenesis(row) : undefined;
  }

  /**
   * Creates the genesis (head at epoch 0) unless one exists; returns the one in force, so the
   * first caller's nonce and time win.
   */
  createGenesis(genesis: ChainGenesis): ChainGenesis {
    if (!/^[0-9a-f]{64}$/.test(genesis.nonce)) throw new InvalidArgumentError('chain nonce must be 64 lowercase hex digits');
    for (const [k, v] of [
      ['genesisTime', genesis.genesisTime],
      ['baseEpoch', genesis.baseEpoch],
      ['baseTime', genesis.baseTime],
    ] as const) {
      if (!Number.isSafeInteger(v)) throw new InvalidArgumentError(`chain genesis ${k} ${v} must be an integer`);
    }
    checkEpochMs(genesis.epochMs);
    this.#db.transaction(() => {
      this.#insertGenesis.run(genesis.nonce, genesis.genesisTime, genesis.epochMs, genesis.baseEpoch, genesis.baseTime);
      this.#insertHead.run(genesis.baseEpoch, genesis.baseTime);
    })();
    return this.genesis()!;
  }

  /** Changes the epoch duration from `baseEpoch` at `baseTime` on (earlier epochs keep theirs). */
  rebase(epochMs: number, baseEpoch: number, baseTime: number): ChainGenesis {
    checkEpochMs(epochMs);
    if (this.#updateBase.run(epochMs, baseEpoch, baseTime).changes !== 1) throw new InternalError('the local chain has no genesis');
    return this.genesis()!;
  }

  /** The highest epoch the chain reached, or undefined before its genesis. */
  head(): number | undefined {
    return this.#getHead.get()?.epoch;
  }

  /** Raises the head to `epoch` (never lowers it); returns the head. */
  advance(epoch: number, now: number): number {
    if (!Number.isSafeInteger(epoch) || epoch < 0) throw new InvalidArgumentError(`epoch ${epoch} must be a non-negative integer`);
    this.#raiseHead.run(epoch, now, epoch);
    const head = this.head();
    if (head === undefined) throw new InternalError('the local chain has no genesis');
    return head;
  }

  /**
   * Sends a message. The same message (sector, kind and parameters) sent again while the first
   * is pending or landed is that first message (`created: false`); after it failed, a new one.
   */
  putMessage(draft: ChainMessageDraft): { message: ChainMessage; created: boolean } {
    if (!CHAIN_MESSAGE_KINDS.includes(draft.kind)) throw new InvalidArgumentError(`message kind "${draft.kind}" is not one of ${CHAIN_MESSAGE_KINDS.join(', ')}`);
    for (const [k, v] of [
      ['miner', draft.miner],
      ['number', draft.number],
      ['sentEpoch', draft.sentEpoch],
      ['sentAt', draft.sentAt],
    ] as const) {
      if (!Number.isSafeInteger(v) || v < 0) throw new InvalidArgumentError(`message ${k} ${v} must be a non-negative integer`);
    }
    const params = canonicalJson(draft.params);
    const same = this.#sameMessage.get(draft.miner, draft.number, draft.kind, params);
    if (same) return { message: decodeMessage(same), created: false };
    const seq = (this.#maxSeq.get()?.n ?? 0) + 1;
    const id = messageCid(draft.kind, draft.miner, draft.number, params, seq);
    this.#insertMessage.run(id, seq, draft.kind, draft.miner, draft.number, params, draft.sentEpoch, draft.sentAt);
    return { message: this.message(id)!, created: true };
  }

  /** A message by id. */
  message(id: string): ChainMessage | undefined {
    const row = this.#getMessage.get(id);
    return row ? decodeMessage(row) : undefined;
  }

  /** Messages not yet included that were sent before `epoch`, in sending order. */
  pendingMessages(epoch: number): ChainMessage[] {
    return this.#pending.all(epoch).map(decodeMessage);
  }

  /** Records a pending message's fate; false when it was already included (the first fate stays). */
  includeMessage(id: string, inclusion: ChainInclusion): boolean {
    if (!Number.isSafeInteger(inclusion.epoch) || inclusion.epoch < 0) {
      throw new InvalidArgumentError(`inclusion epoch ${inclusion.epoch} must be a non-negative integer`);
    }
    if (!inclusion.ok && !isErrorCode(inclusion.code)) throw new InvalidArgumentError(`refusal code "${inclusion.code}" is not an error code`);
    const [reason, code] = inclusion.ok ? [null, null] : [inclusion.reason, inclusion.code];
    return this.#include.run(inclusion.epoch, inclusion.ok ? 1 : 0, reason, code, id).changes === 1;
  }

  /** The sector's latest message of `kind` that landed. */
  landedMessage(miner: number, number: number, kind: ChainMessageKind): ChainMessage | undefined {
    const row = this.#landed.get(miner, number, kind);
    return row ? decodeMessage(row) : undefined;
  }

  /** Every message of a sector, in sending order. */
  messagesOf(miner: number, number: number): ChainMessage[] {
    return this.#ofSector.all(miner, number).map(decodeMessage);
  }
}

/**
 * The asynchronous view of the {@link ChainStore} the local chain uses: every method returning
 * a Promise. In the daemon it is the index actor's `chain` store; in tests {@link directChainStore}.
 */
export type ChainStoreClient = {
  [K in keyof ChainStore]: ChainStore[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<R> : never;
};

/** A {@link ChainStoreClient} that calls the store directly (tests, offline tools). */
export function directChainStore(store: ChainStore): ChainStoreClient {
  return {
    genesis: async () => store.genesis(),
    createGenesis: async (g) => store.createGenesis(g),
    rebase: async (epochMs, baseEpoch, baseTime) => store.rebase(epochMs, baseEpoch, baseTime),
    head: async () => store.head(),
    advance: async (epoch, now) => store.advance(epoch, now),
    putMessage: async (draft) => store.putMessage(draft),
    message: async (id) => store.message(id),
    pendingMessages: async (epoch) => store.pendingMessages(epoch),
    includeMessage: async (id, inclusion) => store.includeMessage(id, inclusion),
    landedMessage: async (miner, number, kind) => store.landedMessage(miner, number, kind),
    messagesOf: async (miner, number) => store.messagesOf(miner, number),
  };
}

function checkEpochMs(epochMs: number): void {
  if (!Number.isSafeInteger(epochMs) || epochMs < 1) throw new InvalidArgumentError(`epoch duration ${epochMs} ms must be a positive integer`);
}

/** The CID of a message: dag-cbor of `[kind, miner, number, params, seq]`, BLAKE2b-256. */
function messageCid(kind: ChainMessageKind, miner: number, number: number, params: string, seq: number): string {
  const bytes = encode([kind, miner, number, params, seq]);
  return CID.create(1, DAG_CBOR, Digest.create(BLAKE2B_256, blake2b256(bytes))).toString();
}

function decodeGenesis(row: GenesisRow): ChainGenesis {
  return {
    nonce: row.nonce,
    genesisTime: row.genesis_time,
    epochMs: row.epoch_ms,
    baseEpoch: row.base_epoch,
    baseTime: row.base_time,
  };
}

function decodeMessage(row: MessageRow): ChainMessage {
  const where = `chain message ${row.id}`;
  if (!(CHAIN_MESSAGE_KINDS as readonly string[]).includes(row.kind)) throw new InternalError(`${where} has unknown kind "${row.kind}"`);
  let params: unknown;
  try {
    params = JSON.parse(row.params);
  } catch (err) {
    throw new InternalError(`${where} has parameters that are not JSON`, { cause: err });
  }
  if (typeof params !== 'object' || params === null || Array.isArray(params)) throw new InternalError(`${where} has malformed parameters`);
  const message: ChainMessage = {
    id: row.id,
    seq: row.seq,
    kind: row.kind as ChainMessageKind,
    miner: row.miner,
    number: row.number,
    params: params as Record<string, unknown>,
    sentEpoch: row.sent_epoch,
    sentAt: row.sent_at,
  };
  if (row.included_epoch !== null) {
    if (row.ok !== 1 && !isErrorCode(row.code)) throw new InternalError(`${where} failed with unknown refusal code "${row.code}"`);
    message.included =
      row.ok === 1
        ? { epoch: row.included_epoch, ok: true }
        : { epoch: row.included_epoch, ok: false, code: row.code as ErrorCode, reason: row.reason ?? 'failed (no reason recorded)' };
  }
  return message;
}
