/** The pre-commit the crash test's child sends for a sector (the parent sends it again). */
import type { PreCommitParams } from '../../../../src/chain/chain-adapter.js';

export function preCommitParams(number: number): PreCommitParams {
  return {
    sealProof: 5,
    commD: 'baga6ea4seaqdomn3tgwgrh3g532zopskstnbrd2n3sxfqbze7rxt7vqn7veigmy',
    commR: 'bagboea4b5abcbrshxgmmpaucffwp2elaofbcrvb7hmcu3653o4lsw2arlor4hn3c',
    ticketEpoch: 0,
    dealIds: [number],
  };
}
