/**
 * A chain for tests of deal filling: it never hands out a ticket (nor anything else), so packed
 * sectors rest in GetTicket, where the deal-filling daemon used to stop. Tests that seal use the
 * local chain instead.
 */
import type { ChainAdapter } from '../../src/chain/chain-adapter.js';

const never = <T>(signal?: AbortSignal): Promise<T> =>
  new Promise((_, reject) => signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));

export function heldChain(): ChainAdapter {
  return {
    name: 'held chain (test)',
    head: async () => ({ epoch: 0 }),
    getTicket: () => never(),
    submitPreCommit: () => never(),
    waitPreCommit: (_s, _m, signal) => never(signal),
    waitSeed: (_s, _e, signal) => never(signal),
    submitCommit: () => never(),
    waitCommit: (_s, _m, signal) => never(signal),
    preCommitInfo: () => never(),
    declareFault: () => never(),
  };
}
