/**
 * The sector machine's chain steps bound to a chain adapter (src/chain/chain-adapter.ts): one
 * promise actor per step, each given XState's AbortSignal so a sector that leaves the state (a
 * removal) stops waiting.
 */
import { fromPromise } from 'xstate';
import type { ChainAdapter, ChainRandomness, MessageOutcome, PreCommitParams } from '../src/chain/chain-adapter.js';
import type { SectorId } from '../src/sector/sector-id.js';

type S = { sector: SectorId };

/** The `chain*` actors of the sector machine over the chain `of()` returns when a step runs. */
export function chainActors(of: () => ChainAdapter) {
  return {
    chainGetTicket: fromPromise<ChainRandomness, S>(({ input }) => of().getTicket(input.sector)),
    chainSubmitPreCommit: fromPromise<{ message: string }, S & { params: PreCommitParams }>(({ input }) =>
      of().submitPreCommit(input.sector, input.params),
    ),
    chainWaitPreCommit: fromPromise<MessageOutcome, S & { message: string }>(({ input, signal }) =>
      of().waitPreCommit(input.sector, input.message, signal),
    ),
    chainWaitSeed: fromPromise<ChainRandomness, S & { preCommitEpoch: number }>(({ input, signal }) =>
      of().waitSeed(input.sector, input.preCommitEpoch, signal),
    ),
    chainSubmitCommit: fromPromise<{ message: string }, S & { proof: string }>(({ input }) => of().submitCommit(input.sector, { proof: input.proof })),
    chainWaitCommit: fromPromise<MessageOutcome, S & { message: string }>(({ input, signal }) =>
      of().waitCommit(input.sector, input.message, signal),
    ),
    chainPreCommitInfo: fromPromise<{ commR: string; epoch: number } | undefined, S>(({ input }) => of().preCommitInfo(input.sector)),
    chainDeclareFault: fromPromise<{ message: string }, S & { reason: string }>(({ input }) => of().declareFault(input.sector, input.reason)),
  };
}
