/**
 * The boundary where a blockchain plugs in. The sealing lifecycle needs a chain for five things:
 * a sealing ticket (randomness drawn at an epoch), landing the pre-commit message, the interactive
 * seed some epochs after it landed, landing the commit message (whose proof the chain verifies),
 * and declaring faults. Lotus gets them from its full node (`extern/storage-sealing/states_*.go`
 * through `SealingAPI`).
 *
 * There is no blockchain here: the daemon's default is the local chain (src/chain/local-chain.ts),
 * an honest stand-in named as such wherever it shows. A real chain client implements this interface.
 *
 * Contract for every implementation:
 * - submits are idempotent per sector: submitting the same pre-commit (or commit, or fault) with
 *   the same parameters again returns the message already sent for it while that message is
 *   pending or landed, so a sector restored in PreCommitting after a crash never sends a second
 *   message. Once a message failed, the same submit sends a new one (Lotus resends after
 *   PreCommitFailed and CommitFailed);
 * - waits resolve when the answer is known and reject only on infrastructure failures (and on a
 *   message id the chain never issued, a caller's bug); a message the chain refused resolves
 *   `{ ok: false, code, reason }` with a {@link ChainRefusalCode};
 * - waits stop (reject with an AbortedError, code ABORTED) as soon as their signal is aborted.
 */
import type { ErrorCode } from '../errors.js';
import type { SectorId } from '../sector/sector-id.js';
import type { Hex32 } from '../tasks/task-types.js';

/** Randomness drawn for a sector at an epoch. */
export interface ChainRandomness {
  /** 32 bytes, hex. */
  value: Hex32;
  epoch: number;
}

/** What a pre-commit message carries. */
export interface PreCommitParams {
  sealProof: number;
  commD: string;
  commR: string;
  ticketEpoch: number;
  /** Deal ids of the sector's deal pieces (none here: deals are made elsewhere). */
  dealIds: number[];
}

/** What a commit message carries. */
export interface CommitParams {
  /** Proof bytes, base64. */
  proof: string;
}

/**
 * Why the chain refused a message, as a code a sector branches on (the reason text is for people).
 * Lotus tells these apart in `extern/storage-sealing/checks.go` (checkPrecommit, checkCommit) and
 * `states_failed.go` acts on them:
 * - TICKET_EXPIRED: a pre-commit whose ticket is too old (Lotus ErrExpiredTicket); the sector
 *   drops its sealing results and seals again from a new ticket;
 * - PRECOMMIT_REFUSED: any other refused pre-commit (already pre-committed, a ticket not from the past);
 * - PROOF_INVALID: a commit whose proof does not verify (Lotus ErrInvalidProof);
 * - COMMIT_REFUSED: any other refused commit (no pre-commit, before the seed epoch, already proven);
 * - FAULT_REFUSED: a fault declared for a sector that is not proven.
 */
export type ChainRefusalCode = Extract<ErrorCode, 'TICKET_EXPIRED' | 'PRECOMMIT_REFUSED' | 'PROOF_INVALID' | 'COMMIT_REFUSED' | 'FAULT_REFUSED'>;
export const CHAIN_REFUSAL_CODES: readonly ChainRefusalCode[] = ['TICKET_EXPIRED', 'PRECOMMIT_REFUSED', 'PROOF_INVALID', 'COMMIT_REFUSED', 'FAULT_REFUSED'];

/** A message's fate once the chain has decided it. */
export type MessageOutcome = { ok: true; epoch: number } | { ok: false; code: ChainRefusalCode; reason: string };

/** A pre-commit as the chain holds it once it landed (Lotus `SectorPreCommitOnChainInfo`). */
export interface PreCommitInfo extends PreCommitParams {
  /** The pre-commit message. */
  message: string;
  /** The epoch it landed in (Lotus `PreCommitEpoch`). */
  epoch: number;
}

/** A chain, as the sealing lifecycle sees it. */
export interface ChainAdapter {
  /** What the CLI and logs call this chain (e.g. "local chain (stand-in)"). */
  readonly name: string;
  /** The current head epoch. */
  head(): Promise<{ epoch: number }>;
  /**
   * A sealing ticket for the sector, drawn at (about) the current head; once the sector's
   * pre-commit is on chain, the ticket it was pre-committed with (Lotus `getTicket`).
   */
  getTicket(sector: SectorId): Promise<ChainRandomness>;
  /** Sends the pre-commit message. Malformed parameters are refused here (INVALID_ARGUMENT). */
  submitPreCommit(sector: SectorId, params: PreCommitParams): Promise<{ message: string }>;
  /** The pre-commit message's fate, once it was included. */
  waitPreCommit(sector: SectorId, message: string, signal: AbortSignal): Promise<MessageOutcome>;
  /**
   * The interactive seed, drawn at `preCommitEpoch` plus the chain's challenge delay, once the
   * head has reached that epoch. `preCommitEpoch` is the epoch the pre-commit landed in (from
   * {@link waitPreCommit} or {@link preCommitInfo}); the commit is checked against the seed of
   * the epoch the chain recorded, so another epoch gives a seed the chain will not accept.
   */
  waitSeed(sector: SectorId, preCommitEpoch: number, signal: AbortSignal): Promise<ChainRandomness>;
  /** Sends the commit message; the chain verifies its proof when it includes it. */
  submitCommit(sector: SectorId, params: CommitParams): Promise<{ message: string }>;
  /** The commit message's fate (an invalid proof fails it), once it was included. */
  waitCommit(sector: SectorId, message: string, signal: AbortSignal): Promise<MessageOutcome>;
  /** The sector's pre-commit as the chain has it, if it landed. */
  preCommitInfo(sector: SectorId): Promise<PreCommitInfo | undefined>;
  /** Declares the proven sector faulty (the message fails for a sector that is not proven). */
  declareFault(sector: SectorId, reason: string): Promise<{ message: string }>;
}
