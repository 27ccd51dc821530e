/**
 * Checkpoints the daemon's WAL on a thread of its own. Left to SQLite, a checkpoint runs inside
 * the commit that crosses `wal_autocheckpoint`, on the index actor's thread: it copies every page
 * the WAL holds into the database file and syncs both, and the busy daemon's commits waited for it
 * (about a fifth of a tracked task's index time). Here a timer looks at the WAL file and asks the
 * thread (src/db/checkpoint-worker.ts) for a PASSIVE checkpoint on its own connection, which copies
 * what it can without blocking the writer. The writer's own autocheckpoint (src/db/database.ts)
 * stays as the backstop: it finds most frames copied already, and it is the writer that restarts
 * the WAL from its beginning once every frame is.
 *
 * The thread starts the first time the WAL file grows past `pages` pages, so a short-lived system
 * (a test, a CLI command) never pays for it. From then on it checkpoints whenever the writer has
 * committed since its last run (the file's modification time moved), at most every `intervalMs`:
 * the file's size cannot say how much is left to copy, since the writer reuses it from its
 * beginning without shrinking it (only down to `journal_size_limit`). An idle daemon is not
 * checkpointed again and again.
 */
import { statSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../log/logger.js';
import type { CheckpointAnswer, CheckpointRequest, CheckpointWorkerData } from './checkpoint-worker.js';
import type { Db } from './database.js';

export interface CheckpointerOptions {
  /** WAL file size, in pages, past which checkpoints start. @default 1000 (4 MiB of 4 KiB pages) */
  pages?: number;
  /** How often the WAL file is looked at: the most often it is checkpointed. @default 250 */
  intervalMs?: number;
  log: Logger;
}

export interface Checkpointer {
  /** Checkpoints the thread ran. */
  readonly runs: number;
  /** Stops the timer and the thread, and closes the thread's connection (before the writer's, so the writer's close can remove the WAL). */
  close(): Promise<void>;
}

/**
 * Starts watching `db`'s WAL. Undefined for a database without one (in memory, read-only, or not
 * in WAL mode): there is nothing to checkpoint.
 */
export function startCheckpointer(db: Db, options: CheckpointerOptions): Checkpointer | undefined {
  if (db.memory || db.readonly || String(db.pragma('journal_mode', { simple: true })).toLowerCase() !== 'wal') return undefined;
  const pages = options.pages ?? 1000;
  const log = options.log;
  const walPath = `${db.name}-wal`;
  const threshold = pages * (db.pragma('page_size', { simple: true }) as number);
  let worker: Worker | undefined;
  let failed = false;
  let busy = false;
  let runs = 0;

  const fail = (reason: string) => {
    // the writer's autocheckpoint still bounds the WAL
    if (!failed) log.warn(`WAL checkpoints run on the index actor's thread from now on: the checkpoint thread failed: ${reason}`);
    failed = true;
    busy = false;
    worker?.terminate().catch(() => {});
    worker = undefined;
  };
  const start = (): Worker => {
    const w = new Worker(new URL('./checkpoint-worker.js', import.meta.url), { workerData: { path: db.name } satisfies CheckpointWorkerData });
    w.unref();
    w.on('message', (a: CheckpointAnswer) => {
      busy = false;
      if (a.type === 'failed') {
        fail(a.message);
        return;
      }
      runs++;
      log.debug({ frames: a.frames, copied: a.copied }, 'WAL checkpointed');
    });
    w.on('error', (err) => fail(err.message));
    return w;
  };
  let checkpointedAt = -1; // the WAL file's mtime when the last checkpoint was asked for
  const check = () => {
    if (busy || failed) return;
    const st = statSync(walPath, { throwIfNoEntry: false });
    if (!st || (worker === undefined && st.size < threshold) || st.mtimeMs === checkpointedAt) return;
    checkpointedAt = st.mtimeMs;
    try {
      worker ??= start();
    } catch (err) {
      fail((err as Error).message);
      return;
    }
    busy = true;
    worker.postMessage({ type: 'checkpoint' } satisfies CheckpointRequest);
  };
  const timer = setInterval(check, options.intervalMs ?? 250);
  timer.unref();

  return {
    get runs() {
      return runs;
    },
    async close() {
      clearInterval(timer);
      const w = worker;
      worker = undefined;
      failed = true;
      if (!w) return;
      // an error of the thread's own close ends it too: the writer's close must follow either way
      const exited = new Promise<void>((resolve) => w.once('exit', () => resolve()));
      w.ref(); // held until it has closed its connection
      w.postMessage({ type: 'close' } satisfies CheckpointRequest);
      await exited;
    },
  };
}
