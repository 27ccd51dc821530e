import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import test from 'ava';
import Database from 'better-sqlite3';
import { type Checkpointer, startCheckpointer } from '../../../src/db/checkpointer.js';
import { openDatabase } from '../../../src/db/database.js';
import { silentLogger } from '../../../src/log/logger.js';

const ROW = 'x'.repeat(3000);

function fill(db: Database.Database, rows: number): void {
  db.exec('CREATE TABLE IF NOT EXISTS filler (id INTEGER PRIMARY KEY, v TEXT)');
  const insert = db.prepare('INSERT INTO filler (v) VALUES (?)');
  // one commit per row, as the index actor commits batch after batch
  for (let i = 0; i < rows; i++) insert.run(ROW);
}

async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/**
 * A repository database in a temporary directory with a checkpointer on it (`pages`, looked at
 * every 5 ms); `writerCheckpoints: false` turns the writer's own autocheckpoint off, so whatever
 * reaches the database file the thread copied. Closes both and removes the directory afterwards.
 */
async function withCheckpointer(
  o: { pages: number; writerCheckpoints: boolean },
  body: (c: { db: Database.Database; path: string; cp: Checkpointer }) => Promise<void>,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'checkpointer-'));
  const path = join(dir, 'db.sqlite');
  const db = openDatabase(path);
  if (!o.writerCheckpoints) db.pragma('wal_autocheckpoint = 0');
  const cp = startCheckpointer(db, { pages: o.pages, intervalMs: 5, log: silentLogger() });
  try {
    if (!cp) throw new Error('a WAL database got no checkpointer');
    await body({ db, path, cp });
  } finally {
    await cp?.close();
    if (db.open) db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('the WAL is copied into the database file by the checkpoint thread, not by the writer', (t) =>
  withCheckpointer({ pages: 16, writerCheckpoints: false }, async ({ db, path, cp }) => {
    const before = statSync(path).size;
    fill(db, 200); // about 600 KiB of rows, 16 pages are 64 KiB
    await until('a checkpoint', () => cp.runs > 0);
    await until('the rows in the database file', () => statSync(path).size > before + 256 * 1024);
    t.true(statSync(path).size > before + 256 * 1024);
    // what the thread copied is what the writer committed
    t.is((db.prepare('SELECT COUNT(*) AS n FROM filler').get() as { n: number }).n, 200);
  }));

test('once started, the thread checkpoints again only after the writer has committed again', (t) =>
  withCheckpointer({ pages: 16, writerCheckpoints: false }, async ({ db, cp }) => {
    fill(db, 100);
    await until('a checkpoint', () => cp.runs > 0);
    await sleep(50);
    const idle = cp.runs;
    await sleep(150); // thirty looks at an unchanged WAL file
    t.is(cp.runs, idle, 'an idle WAL is not checkpointed again (its file stays as large as it grew)');
    fill(db, 1);
    await until('a checkpoint after the new commit', () => cp.runs > idle);
    t.true(cp.runs > idle, 'a new commit is checkpointed');
  }));

test('a WAL below the threshold starts no thread and is never checkpointed', (t) =>
  withCheckpointer({ pages: 100_000, writerCheckpoints: false }, async ({ db, cp }) => {
    fill(db, 20);
    await sleep(100);
    t.is(cp.runs, 0);
  }));

test('closed before the writer, the checkpoint thread lets the writer remove the WAL at its close', (t) =>
  withCheckpointer({ pages: 16, writerCheckpoints: true }, async ({ db, path, cp }) => {
    fill(db, 100);
    await until('a checkpoint', () => cp.runs > 0);
    await cp.close();
    await cp.close(); // twice is harmless
    t.true(existsSync(`${path}-wal`));
    db.close();
    // the last connection's close checkpoints and deletes the WAL: no other connection held it open
    t.false(existsSync(`${path}-wal`));
  }));

test('a database without a WAL (in memory, or in rollback-journal mode) gets no checkpointer', (t) => {
  const memory = new Database(':memory:');
  t.is(startCheckpointer(memory, { log: silentLogger() }), undefined);
  memory.close();
  const dir = mkdtempSync(join(tmpdir(), 'checkpointer-'));
  const journal = new Database(join(dir, 'db.sqlite'));
  try {
    t.is(startCheckpointer(journal, { log: silentLogger() }), undefined);
  } finally {
    journal.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
