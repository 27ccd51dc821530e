/**
 * A test hook for crash safety: with `SECTOR_STORAGE_CRASH_AT=<point>` in its environment, the
 * process kills itself with SIGKILL the first time it reaches that named point. The points sit
 * between the durable steps of the writes that must survive a crash (the partial file's trailer
 * journal, AddPiece's temporary file), so a test can stop a real daemon exactly there and prove
 * that the next start recovers. Unset (always, outside tests), a point costs one string compare.
 *
 * A pool thread shares the process: killing the process from a thread kills the daemon too.
 */

/** The environment variable naming the point to crash at. */
export const CRASH_AT_ENV = 'SECTOR_STORAGE_CRASH_AT';

/** Every crash point, in the order a write reaches them. */
export const CRASH_POINTS = [
  /** AddPiece: the piece's bytes are written and synced, nothing is marked allocated yet. */
  'addpiece.written',
  /** Trailer journal: its temporary file is written and synced, not yet renamed into place. */
  'partial.journal.written',
  /** Trailer journal: renamed into place (durable), not yet applied to the file. */
  'partial.journal.renamed',
  /** Trailer journal: applied to the file, not yet removed. */
  'partial.journal.applied',
  /** AddPiece of a new file: the temporary file is complete and closed, not yet linked into place. */
  'addpiece.complete',
  /** AddPiece of a new file: linked under the sector's name, the temporary name not yet removed. */
  'addpiece.linked',
] as const;

/** A named crash point. */
export type CrashPoint = (typeof CRASH_POINTS)[number];

/** Kills the process (SIGKILL, no cleanup of any kind) when `point` is the one the environment names. */
export function crashPoint(point: CrashPoint): void {
  if (process.env[CRASH_AT_ENV] === point) process.kill(process.pid, 'SIGKILL');
}
