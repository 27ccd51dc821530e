/**
 * Sends pre-commits for sectors 1..argv[3] of miner 1000 on a local chain over the database at
 * argv[2], one after the other, printing `<number> <message id>` once each submit resolved; then
 * idles until it is killed. The crash test kills it with SIGKILL at a chosen moment.
 */
import { LocalChain } from '../../../../src/chain/local-chain.js';
import { ChainStore, directChainStore } from '../../../../src/db/chain-store.js';
import { openDatabase } from '../../../../src/db/database.js';
import { preCommitParams } from './submit-params.js';

const db = openDatabase(process.argv[2]!);
const chain = new LocalChain({ store: directChainStore(new ChainStore(db)), epochMs: 3_600_000 });
const count = Number(process.argv[3]);
for (let number = 1; number <= count; number++) {
  const { message } = await chain.submitPreCommit({ miner: 1000, number }, preCommitParams(number));
  process.stdout.write(`${number} ${message}\n`);
}
setInterval(() => {}, 60_000);
