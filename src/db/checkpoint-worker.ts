/**
 * The WAL checkpointer's thread (src/db/checkpointer.ts): its own connection to the database, on
 * which it runs a PASSIVE checkpoint each time it is asked. PASSIVE copies what it can without
 * waiting for the writer or any reader, so the index actor's commits never wait for it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

/** What the checkpointer thread is started with. */
export interface CheckpointWorkerData {
  path: string;
}

/** Sent to the thread. */
export type CheckpointRequest = { type: 'checkpoint' } | { type: 'close' };
/** Sent back: one answer per `checkpoint`; `frames` the WAL's frames, `copied` how many of them are now in the database file. */
export type CheckpointAnswer = { type: 'checkpointed'; frames: number; copied: number } | { type: 'failed'; message: string };

const port = parentPort;
if (!port) throw new Error('checkpoint-worker.js runs as a worker thread');
const { path } = workerData as CheckpointWorkerData;
const db = new Database(path, { timeout: 5000 });
// the same durability as the writer's connection (src/db/database.ts): a checkpoint syncs the WAL,
// then the database file
db.pragma('synchronous = NORMAL');

port.on('message', (m: CheckpointRequest) => {
  if (m.type === 'close') {
    db.close();
    port.close();
    return;
  }
  try {
    const [row] = db.pragma('wal_checkpoint(PASSIVE)') as { busy: number; log: number; checkpointed: number }[];
    port.postMessage({ type: 'checkpointed', frames: row?.log ?? 0, copied: row?.checkpointed ?? 0 } satisfies CheckpointAnswer);
  } catch (err) {
    port.postMessage({ type: 'failed', message: (err as Error).message } satisfies CheckpointAnswer);
  }
});
