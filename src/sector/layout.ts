/**
 * Lotus's on-disk layout of a storage path: `<root>/{unsealed,sealed,cache}/s-t0<miner>-<number>`,
 * `unsealed/` and `sealed/` entries are files, `cache/` entries are directories, and each type
 * directory may hold a `fetching/` folder for downloads in progress. `sectorstore.json` sits at
 * the root (lotus `extern/sector-storage/stores/local.go`).
 *
 * Besides Lotus's names, the files this implementation writes while it works (temporaries and
 * journals, see {@link WorkingFile}) are named here, so the writers and the start-up scan of a
 * path agree on them.
 */
import { basename, join } from 'node:path';
import { tempNameTarget, tempPathFor } from '../fs/durable.js';
import { type FileTypeName, type SectorId, sectorName } from './sector-id.js';

/** Name of the per-path metadata file. */
export const META_FILE = 'sectorstore.json';
/** Name of the temporary download folder inside each type directory. */
export const FETCH_TEMP_DIR = 'fetching';

/** `<root>/<type>/s-t0<miner>-<number>` */
export function sectorFilePath(root: string, type: FileTypeName, id: SectorId): string {
  return join(root, type, sectorName(id));
}

/** `<root>/<type>/fetching/s-t0<miner>-<number>` */
export function sectorFetchPath(root: string, type: FileTypeName, id: SectorId): string {
  return join(root, type, FETCH_TEMP_DIR, sectorName(id));
}

/** Names of the files a sealer writes into a sector's cache directory (rust-fil-proofs cache_key.rs). */
export const CacheFile = {
  layer: (n: number) => `sc-02-data-layer-${n}.dat`,
  treeD: 'sc-02-data-tree-d.dat',
  treeC: (split: number | undefined) => (split === undefined ? 'sc-02-data-tree-c.dat' : `sc-02-data-tree-c-${split}.dat`),
  treeRLast: (split: number | undefined) =>
    split === undefined ? 'sc-02-data-tree-r-last.dat' : `sc-02-data-tree-r-last-${split}.dat`,
  pAux: 'p_aux',
  tAux: 't_aux',
  /**
   * Our own, not rust-fil-proofs': C1's output kept for C2 (sealing-daemon.md §3), so only its
   * digest travels between them. FinalizeSector removes it with the other sealing-only files.
   */
  commit1: 'commit1.cbor',
} as const;

/**
 * Names of the working files written next to sector files, each renamed into place, applied or
 * removed when its operation completes; a crash can leave any of them behind, and the start-up
 * scan of a path (storage/path-scan.ts) recovers them. `name` is the file the working file
 * belongs to (a sector name, or for a journal possibly another working file).
 */
export const WorkingFile = {
  /**
   * A file written durably (fs/durable.ts `tempPathFor`: a new unsealed file while AddPiece writes
   * its first piece, a trailer journal, PC2's replica, a tree) before it gets its final name.
   */
  durableTemp: (name: string) => basename(tempPathFor(name)),
  /** What older versions named a new unsealed file while AddPiece wrote its first piece. */
  addPieceTemp: (name: string, nonce: string) => `.${name}.adding-${nonce}`,
  /** A partial file's trailer journal (partial/partial-file.ts): the next trailer, applied then removed. */
  trailerJournal: (name: string) => `.${name}.trailer`,
  /** The trailer journal while it is written, renamed to {@link WorkingFile.trailerJournal} once synced. */
  trailerJournalTemp: (name: string) => `.${name}.trailer.tmp`,
  /** PC2's sealed replica while it is written (seal/pc2.ts `TempFile`), renamed into place when done. */
  replicaTemp: (name: string) => `${name}.tmp`,
} as const;

/** The kind of a working file. */
export type WorkingFileKind = keyof typeof WorkingFile;

/**
 * Recognises the name of a working file; `of` is the name of the file it belongs to. Only the
 * shapes {@link WorkingFile} builds match; whether `of` is a valid sector name is the caller's check.
 */
export function parseWorkingName(entry: string): { kind: WorkingFileKind; of: string } | undefined {
  const target = tempNameTarget(entry);
  if (target !== undefined) return { kind: 'durableTemp', of: target };
  const patterns: readonly [WorkingFileKind, RegExp][] = [
    ['trailerJournalTemp', /^\.(.+)\.trailer\.tmp$/s],
    ['trailerJournal', /^\.(.+)\.trailer$/s],
    ['addPieceTemp', /^\.(.+)\.adding-[0-9a-f]+$/s],
    ['replicaTemp', /^([^.].*)\.tmp$/s],
  ];
  for (const [kind, re] of patterns) {
    const m = re.exec(entry);
    if (m) return { kind, of: m[1] as string };
  }
  return undefined;
}

/**
 * True for a temporary inside a sector's cache directory: a file being written under a
 * temporary name and renamed when complete (`<file>.tmp` from seal/pc2.ts and merkle/tree-builder.ts,
 * `<file>.tmp-<pid>-<hex>` from seal/pc1-checkpoint.ts `writeFileDurable`), or the scratch directory of
 * an unseal (`unseal-<hex>`, seal/unseal.ts). None of them is ever read back after a crash: PC1
 * resumes from its checkpoint and the finished layer files, the other writers start over.
 */
export function isCacheTemporary(name: string): boolean {
  return /\.tmp(-\d+-[0-9a-f]+)?$/.test(name) || /^unseal-[0-9a-f]+$/.test(name);
}
