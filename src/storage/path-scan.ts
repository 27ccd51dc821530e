/**
 * What a storage path holds, and the start-up recovery of what a crash left in it.
 *
 * A type directory (`unsealed/`, `sealed/`, `cache/`) holds three kinds of entries:
 * - sector entries (`s-t0<miner>-<number>`, parsed strictly): files in `unsealed/` and `sealed/`,
 *   directories in `cache/`; these are declared in the index;
 * - working files of operations in progress (sector/layout.ts `WorkingFile`, and `fetching/`):
 *   skipped by a scan, because a rescan runs while the node works;
 * - anything else: not declared, never touched, and reported (log and `storage list`).
 *
 * Unknown entries used to make the path (and the daemon) refuse to start. They are reported
 * instead: the store never reads or writes a name it does not produce, so a stray file cannot
 * hurt the sectors, while refusing the path stops every sector on it (the daemon stays down until
 * someone deletes files by hand, which is how data gets lost). The operator still sees each one.
 *
 * {@link recoverWorkingFiles} runs only when a path is opened, before anything can write there:
 * it rolls trailer journals forward (partial/partial-file.ts's own recovery), keeps interrupted
 * downloads that can be resumed, and removes temporaries that can never complete (AddPiece's new
 * file, a journal that was never renamed, PC2's replica, temporaries in cache directories,
 * `fetching/` downloads without a progress record). None of them belongs to a piece that was
 * reported added: a piece is reported only after its file is in place.
 */
import { lstatSync, readdirSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { recoverJournal } from '../partial/partial-file.js';
import { FETCH_TEMP_DIR, isCacheTemporary, parseWorkingName } from '../sector/layout.js';
import { downloadOf, journalPathOf, readFetchJournal, recordedBytes } from './fetch-journal.js';
import { FILE_TYPES, FileType, type FileTypeName, type SectorId, parseSectorName } from '../sector/sector-id.js';
import type { SectorDecl } from './storage-types.js';

/** An entry of a type directory that is neither a sector entry nor a working file. */
export interface UnknownEntry {
  path: string;
  /** Why it is not a sector entry. */
  reason: string;
}

/** What {@link scanPath} found. */
export interface PathScan {
  /** One declaration per sector with the types found. */
  decls: SectorDecl[];
  /** Working files of operations in progress (paths), skipped. */
  working: string[];
  /** Entries left alone and reported. */
  unknown: UnknownEntry[];
}

/**
 * Classifies the entries of a path's type directories (synchronously: it runs inside a rescan).
 * Sector entries must be real files (directories in `cache/`); a symbolic link is not declared,
 * since `/remote` would serve whatever it points to.
 */
export function scanPath(root: string, primary: boolean): PathScan {
  const bySector = new Map<string, SectorDecl>();
  const working: string[] = [];
  const unknown: UnknownEntry[] = [];
  for (const t of FILE_TYPES) {
    for (const name of listSync(join(root, t))) {
      const path = join(root, t, name);
      if (name === FETCH_TEMP_DIR || isWorkingFile(t, name)) {
        working.push(path);
        continue;
      }
      let id: SectorId;
      try {
        id = parseSectorName(name);
      } catch (err) {
        unknown.push({ path, reason: (err as Error).message });
        continue;
      }
      let st: ReturnType<typeof lstatSync>;
      try {
        st = lstatSync(path);
      } catch (err) {
        // removed since readdir (a concurrent remove): nothing to declare
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
      if (st.isSymbolicLink()) {
        unknown.push({ path, reason: 'a symbolic link; sector files must be real files' });
        continue;
      }
      if (t === 'cache' ? !st.isDirectory() : !st.isFile()) {
        unknown.push({ path, reason: `should be a ${t === 'cache' ? 'directory' : 'file'}` });
        continue;
      }
      const key = `${id.miner}-${id.number}`;
      const d = bySector.get(key) ?? { sector: id, types: 0, primary };
      d.types |= FileType[t];
      bySector.set(key, d);
    }
  }
  return { decls: [...bySector.values()], working, unknown };
}

/** What {@link recoverWorkingFiles} did. */
export interface PathRecovery {
  /** One line per file recovered or removed. */
  actions: string[];
  /** Working files that could not be recovered; left in place (the scan skips them). */
  problems: UnknownEntry[];
}

/**
 * Recovers the working files a crash left in a path (see the module comment). Run it only when
 * the path is opened: on a path in use it would remove the files of operations in progress.
 */
export async function recoverWorkingFiles(root: string): Promise<PathRecovery> {
  const out: PathRecovery = { actions: [], problems: [] };
  const remove = async (path: string, why: string) => {
    await rm(path, { recursive: true, force: true });
    out.actions.push(`removed ${path} (${why})`);
  };
  for (const t of FILE_TYPES) {
    const dir = join(root, t);
    const names = await listAsync(dir);
    if (names.includes(FETCH_TEMP_DIR)) await recoverDownloads(join(dir, FETCH_TEMP_DIR), out);
    // journals before AddPiece temporaries: a journal of a temporary goes with it
    const ordered = names
      .map((name) => ({ name, w: parseWorkingName(name) }))
      .filter((e): e is { name: string; w: NonNullable<typeof e.w> } => e.w !== undefined && isWorkingFile(t, e.name))
      .sort((a, b) => rank(a.w) - rank(b.w));
    for (const { name, w } of ordered) {
      const path = join(dir, name);
      switch (w.kind) {
        case 'trailerJournalTemp':
          await remove(path, 'a trailer journal that was never completed; the file keeps its previous allocation');
          break;
        case 'durableTemp':
          await remove(
            path,
            t === 'sealed'
              ? 'a sealed replica PC2 never finished; PC2 writes it again'
              : isSectorName(w.of)
                ? 'the new unsealed file of an AddPiece that never completed; its piece was never reported'
                : 'a trailer journal that was never completed; the file keeps its previous allocation',
          );
          break;
        case 'trailerJournal': {
          if (isTemporary(w.of)) {
            await remove(path, 'the journal of an unfinished AddPiece temporary');
            break;
          }
          try {
            const r = await recoverJournal(join(dir, w.of));
            if (r.outcome === 'applied') out.actions.push(`applied ${path} to ${join(dir, w.of)} (its trailer update completed)`);
            else if (r.outcome === 'discarded') out.actions.push(`removed ${path} (${r.reason})`);
            else if (r.outcome === 'invalid') out.problems.push({ path, reason: r.reason });
          } catch (err) {
            out.problems.push({ path, reason: `its roll-forward failed: ${(err as Error).message}` });
          }
          break;
        }
        case 'addPieceTemp':
          await remove(path, 'the new unsealed file of an AddPiece that never completed; its piece was never reported');
          break;
        case 'replicaTemp':
          await remove(path, 'a sealed replica PC2 never finished; PC2 writes it again');
          break;
      }
    }
  }
  for (const name of await listAsync(join(root, 'cache'))) {
    const dir = join(root, 'cache', name);
    if (!isSectorDir(dir, name)) continue;
    for (const entry of await listAsync(dir)) {
      if (isCacheTemporary(entry)) await remove(join(dir, entry), 'a sealing temporary that was never renamed into place');
    }
  }
  return out;
}

/**
 * Interrupted downloads in a `fetching/` folder: one with a progress record (fetch-journal.ts)
 * that lists written bytes is kept, for the next fetch of that file to check and resume from;
 * anything else (a download without a record, a record without its download, a record's
 * unfinished temporary) can never be resumed and is removed.
 */
async function recoverDownloads(dir: string, out: PathRecovery): Promise<void> {
  const names = await listAsync(dir);
  const kept = new Set<string>();
  for (const name of names) {
    if (downloadOf(name) !== name) continue;
    const record = journalPathOf(name);
    const j = names.includes(record) ? await readFetchJournal(join(dir, record)) : undefined;
    const recorded = j ? Object.values(j.files).reduce((n, f) => n + recordedBytes(f), 0) : 0;
    if (recorded > 0) {
      kept.add(name);
      kept.add(record);
      out.actions.push(`kept ${join(dir, name)} (an interrupted download with ${recorded} bytes recorded; the next fetch checks and resumes it)`);
    }
  }
  const gone = names.filter((n) => !kept.has(n));
  for (const name of gone) await rm(join(dir, name), { recursive: true, force: true });
  if (kept.size === 0) await rm(dir, { recursive: true, force: true });
  if (gone.length > 0) out.actions.push(`removed ${gone.map((n) => join(dir, n)).join(', ')} (interrupted downloads that cannot be resumed)`);
}

/**
 * True when `name` in the `type` directory is a working file this implementation writes there:
 * the journal files and AddPiece temporaries of unsealed files, PC2's replica temporaries; each
 * belonging to a sector name (or, for a journal, to an AddPiece temporary).
 */
function isWorkingFile(type: FileTypeName, name: string): boolean {
  const w = parseWorkingName(name);
  if (!w) return false;
  switch (w.kind) {
    case 'durableTemp':
      if (type === 'sealed') return isSectorName(w.of);
      return type === 'unsealed' && (isSectorName(w.of) || isWorkingFile(type, w.of));
    case 'trailerJournal':
    case 'trailerJournalTemp':
      return type === 'unsealed' && (isSectorName(w.of) || (isTemporary(w.of) && isWorkingFile(type, w.of)));
    case 'addPieceTemp':
      return type === 'unsealed' && isSectorName(w.of);
    case 'replicaTemp':
      return type === 'sealed' && isSectorName(w.of);
  }
}

/** A temporary that becomes a sector file (whose journal goes with it). */
function isTemporary(name: string): boolean {
  const kind = parseWorkingName(name)?.kind;
  return kind === 'addPieceTemp' || kind === 'durableTemp';
}

/** Journals before the temporaries they may belong to; a durable temp of a journal counts as a journal temp. */
function rank(w: { kind: string; of: string }): number {
  const kind = w.kind === 'durableTemp' ? (isSectorName(w.of) ? 'addPieceTemp' : 'trailerJournalTemp') : w.kind;
  return ['trailerJournalTemp', 'trailerJournal', 'addPieceTemp', 'replicaTemp'].indexOf(kind);
}

function isSectorName(name: string): boolean {
  try {
    parseSectorName(name);
    return true;
  } catch {
    return false;
  }
}

function isSectorDir(path: string, name: string): boolean {
  if (!isSectorName(name)) return false;
  try {
    const st = lstatSync(path);
    return st.isDirectory() && !st.isSymbolicLink();
  } catch {
    return false;
  }
}

function listSync(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

async function listAsync(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw err;
  }
}
