import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { openDatabase } from '../../../src/db/database.js';

test('a repository database runs WAL, checkpoints every 10 000 pages and cuts its WAL back to 64 MiB', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'database-'));
  const db = openDatabase(join(dir, 'db.sqlite'));
  try {
    t.is(db.pragma('journal_mode', { simple: true }), 'wal');
    t.is(db.pragma('synchronous', { simple: true }), 1); // NORMAL
    // SQLite's default is 1 000 pages: a checkpoint inside every few dozen of the index actor's commits
    t.is(db.pragma('wal_autocheckpoint', { simple: true }), 10_000);
    t.is(db.pragma('journal_size_limit', { simple: true }), 64 * 1024 * 1024);
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
