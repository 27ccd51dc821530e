/**
 * A fetching node in its own process, for kill -9 tests: opens its storage path (which keeps an
 * interrupted download for resuming) over its own index database, fetches one sealed file or
 * cache directory from a holder and prints `progress <bytes>` lines while it does, then `done`.
 *
 * argv[2]: JSON {db, dest, holderId, holderUrl, sector, proofType, type, token, streams, checkpointBytes, blockSize}
 */
import { openDatabase } from '../../../../src/db/database.js';
import { StorageCatalog, directCatalog } from '../../../../src/db/storage-catalog.js';
import { FileType } from '../../../../src/sector/sector-id.js';
import { LocalStore } from '../../../../src/storage/local-store.js';
import { RemoteStore } from '../../../../src/storage/remote-store.js';
import { createLogger } from '../../../../src/log/logger.js';

const a = JSON.parse(process.argv[2] as string) as {
  db: string;
  dest: string;
  holderId: string;
  holderUrl: string;
  sector: { miner: number; number: number };
  proofType: number;
  type: 'sealed' | 'cache';
  token: string;
  streams: number;
  checkpointBytes: number;
  blockSize: number;
};
const db = openDatabase(a.db);
const store = new StorageCatalog(db);
const stat = { Capacity: 2 ** 40, Available: 2 ** 39, FSAvailable: 2 ** 39, Reserved: 0, Max: 0, Used: 0 };
store.storageAttach({ ID: a.holderId, URLs: [a.holderUrl], Weight: 10, MaxStorage: 0, CanSeal: false, CanStore: true }, stat);
store.storageDeclareSector(a.holderId, a.sector, FileType[a.type], true);
const log = createLogger();
const local = new LocalStore({ catalog: directCatalog(store), urls: ['http://127.0.0.1:1/remote'], log });
await local.openPath(a.dest);
const remote = new RemoteStore({ local, token: a.token, streams: a.streams, checkpointBytes: a.checkpointBytes, blockSize: a.blockSize, log });
let last = -1;
await remote.acquireSector({ id: a.sector, proofType: a.proofType }, FileType[a.type], 0, 'sealing', 'copy', {
  onProgress: ({ bytes }) => {
    if (bytes - last < 1 << 20) return;
    last = bytes;
    process.stdout.write(`progress ${bytes}\n`);
  },
});
process.stdout.write('done\n');
local.close();
db.close();
