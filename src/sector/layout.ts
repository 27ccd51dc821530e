/**
 * Lotus's on-disk layout of a storage path: `<root>/{unsealed,sealed,cache}/s-t0<miner>-<number>`,
 * `unsealed/` and `sealed/` entries are files, `cache/` entries are directories, and each type
 * directory may hold a `fetching/` folder for downloads in progress. `sectorstore.json` sits at
 * the root (sector-storage.md §4.1).
 */
import { join } from 'node:path';
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
} as const;
