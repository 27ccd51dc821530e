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
 * - submits are idempotent per sector: submitting the same pre-commit (or commit) again for a
 *   sector returns the message already sent for it, so a sector restored in PreCommitting after a
 *   crash never sends a second message;
 * - waits resolve when the answer is known and reject only on infrastructure failures; a message
 *   the chain refused resolves `{ ok: false, reason }`;
 * - waits stop (reject with an AbortError) when their signal is aborted.
 */
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

/** A message's fate once the chain has decided it. */
export type MessageOutcome = { ok: true; epoch: number } | { ok: false; reason: string };

/** A chain, as the sealing lifecycle sees it. */
export interface ChainAdapter {
  /** What the CLI and logs call this chain (e.g. "local chain (stand-in)"). */
  readonly name: string;
  /** The current head epoch. */
  head(): Promise<{ epoch: number }>;
  /** A sealing ticket for the sector, drawn at (about) the current head. */
  getTicket(sector: SectorId): Promise<ChainRandomness>;
  submitPreCommit(sector: SectorId, params: PreCommitParams): Promise<{ message: string }>;
  waitPreCommit(sector: SectorId, message: string, signal: AbortSignal): Promise<MessageOutcome>;
  /** The interactive seed, once it can be drawn (some epochs after the pre-commit landed). */
  waitSeed(sector: SectorId, preCommitEpoch: number, signal: AbortSignal): Promise<ChainRandomness>;
  submitCommit(sector: SectorId, params: CommitParams): Promise<{ message: string }>;
  waitCommit(sector: SectorId, message: string, signal: AbortSignal): Promise<MessageOutcome>;
  /** The sector's pre-commit as the chain has it, if it landed. */
  preCommitInfo(sector: SectorId): Promise<{ commR: string; epoch: number } | undefined>;
  declareFault(sector: SectorId, reason: string): Promise<{ message: string }>;
}
