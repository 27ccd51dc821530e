/**
 * FinalizeSector (lotus `extern/sector-storage/ffiwrapper/sealer_cgo.go`): once a sector is proven on chain, drop what only
 * sealing needed and keep what proving needs.
 *
 *  - Unsealed copy: when `keepUnsealed` is given, every byte range of the partial file not
 *    covered by a kept (deal) range is freed. Fixed Lotus quirk: Lotus starts from the *padded*
 *    sector size but subtracts keep ranges given in *unpadded* units, then converts the
 *    remainder unpadded→padded again (mixed units); here every keep range is converted to padded
 *    bytes first and the set difference is taken in padded bytes, which frees exactly the bytes
 *    outside the kept ranges.
 *  - Cache: `ClearCache` — the layer files, tree_d and the tree_c files are removed; p_aux, t_aux
 *    and the tree-r-last files (what Window/Winning PoSt read) stay. Our PC1 checkpoint, C1's
 *    kept output (`commit1.cbor`) and any leftover temp files go too: they describe files that no
 *    longer exist, or serve only sealing.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError } from '../errors.js';
import { crashPoint } from '../lifecycle/crash-points.js';
import { sealTreeShapes, treeFileNames } from '../merkle/tree-shape.js';
import { PartialFile, partialFileExists } from '../partial/partial-file.js';
import { type Range, removeRange } from '../partial/ranges.js';
import { sealProofInfo } from '../sector/proofs.js';
import { paddedIndex } from '../sector/sizes.js';
import { CacheFile, isCacheTemporary } from '../sector/layout.js';
import { PC1_CHECKPOINT_FILE } from './pc1-checkpoint.js';

/** An unpadded byte range of the sector (a deal piece). */
export interface UnpaddedRange {
  offset: number;
  size: number;
}

/** Inputs of {@link finalizeSector}. */
export interface FinalizeInput {
  sealProof: number;
  cacheDir: string;
  /** The unsealed partial file (a missing file is fine). */
  unsealedPath?: string;
  /**
   * Unpadded ranges to keep unsealed; every other byte of the unsealed file is freed. Absent:
   * the unsealed file is left alone (Lotus frees nothing when the list is empty; its worker then
   * deletes the whole file, which `removeUnsealedWhenEmpty` does here).
   */
  keepUnsealed?: readonly UnpaddedRange[];
  /** Delete the unsealed file when nothing is kept (`keepUnsealed` empty). @default false */
  removeUnsealedWhenEmpty?: boolean;
}

/** What {@link finalizeSector} did. */
export interface FinalizeResult {
  /** Padded ranges freed in the unsealed file. */
  freed: Range[];
  /** Cache files removed (names). */
  removed: string[];
  /** True when the unsealed file was deleted. */
  unsealedRemoved: boolean;
}

/** Padded ranges of a sector not covered by any keep range. */
export function rangesToFree(sectorSize: number, keep: readonly UnpaddedRange[]): Range[] {
  let free: Range[] = [{ start: 0, end: sectorSize }];
  for (const k of keep) {
    const start = paddedIndex(k.offset);
    const end = paddedIndex(k.offset + k.size);
    if (k.size < 0 || end > sectorSize) throw new InvalidArgumentError(`keep range [${k.offset}, +${k.size}) is outside the sector`);
    free = removeRange(free, start, end);
  }
  return free;
}

/** Names of the cache files ClearCache removes for this proof. */
export function clearableCacheFiles(sealProof: number): string[] {
  const info = sealProofInfo(sealProof);
  const names = Array.from({ length: info.layers }, (_, i) => CacheFile.layer(i + 1));
  names.push(CacheFile.treeD, ...treeFileNames(sealTreeShapes(info).treeC), PC1_CHECKPOINT_FILE, CacheFile.commit1);
  return names;
}

/** Finalizes a sector: frees non-kept unsealed ranges and clears the cache down to proving files. */
export async function finalizeSector(input: FinalizeInput): Promise<FinalizeResult> {
  const info = sealProofInfo(input.sealProof);
  const result: FinalizeResult = { freed: [], removed: [], unsealedRemoved: false };
  if (input.keepUnsealed && input.unsealedPath && (await partialFileExists(input.unsealedPath))) {
    const free = rangesToFree(info.sectorSize, input.keepUnsealed);
    if (input.keepUnsealed.length === 0 && input.removeUnsealedWhenEmpty) {
      await rm(input.unsealedPath, { force: true });
      result.unsealedRemoved = true;
    } else {
      const pf = await PartialFile.open(input.unsealedPath, info.sectorSize);
      try {
        for (const r of free) {
          if (pf.allocatedWithin(r.start, r.end - r.start) === 0) continue;
          await pf.free(r.start, r.end - r.start);
          result.freed.push(r);
        }
      } finally {
        await pf.close();
      }
    }
  }
  const clearable = new Set(clearableCacheFiles(input.sealProof));
  let entries: string[] = [];
  try {
    entries = await readdir(input.cacheDir);
  } catch {
    return result; // no cache directory: nothing to clear
  }
  for (const name of entries) {
    if (clearable.has(name) || isCacheTemporary(name)) {
      await rm(join(input.cacheDir, name), { recursive: true, force: true });
      result.removed.push(name);
      if (result.removed.length === 1) crashPoint('finalize.cache-partly-cleared');
    }
  }
  return result;
}
