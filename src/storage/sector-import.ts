/**
 * What a sector's files say about it, for importing a sector record the database lost
 * (`sectors drift resolve N --import`, docs/design/sealing-daemon.md §8).
 *
 * - An unsealed partial file says which padded ranges hold data, not where one piece ends and the
 *   next begins. Each maximal allocated run is split into valid pieces (power-of-two sizes, each
 *   aligned to its size, largest first) and each piece's commP is recomputed by reading its bytes
 *   back. Pieces added side by side therefore come back as the coarsest such split: the original
 *   piece CIDs of merged pieces are not recovered, but each imported commitment is the root of the
 *   same subtree, so the sector's CommD is the one the original pieces give. A piece whose bytes
 *   are all zero is a filler. The original payload length is not in the file either: a deal
 *   piece's `payloadSize` is its whole capacity (reading that many bytes returns the payload and
 *   its zero fill) and it has no piece CID v2 (which encodes the payload length).
 * - A sealed sector's `p_aux` (comm_c, comm_r_last) gives its CommR.
 *
 * The result is a description, not a sector record: which state the record gets is the sector
 * machine's business.
 */
import { InvalidArgumentError, PartialFileCorruptError } from '../errors.js';
import { PartialFile } from '../partial/partial-file.js';
import { CommPHasher } from '../piece/commp-hasher.js';
import { pieceCidV1 } from '../piece/piece-cid.js';
import { readPiece } from '../piece/read-piece.js';
import { computeCommD } from '../piece/unsealed-cid.js';
import { zeroPieceCommitment } from '../piece/zero-comm.js';
import { commR } from '../merkle/sector-trees.js';
import { commRToCid } from '../seal/commitment-cid.js';
import { readPAux } from '../seal/tree-access.js';
import { sealProofInfo } from '../sector/proofs.js';
import type { SectorRef } from '../sector/sector-id.js';
import type { Range } from '../partial/ranges.js';

/** A piece as the files describe it (the fields of a sector record's piece). */
export interface ImportedPiece {
  /** Piece CID v1 of the bytes read back. */
  pieceCid: string;
  paddedOffset: number;
  paddedSize: number;
  /** The piece's unpadded capacity for a deal piece (the payload length is not stored); 0 for a filler. */
  payloadSize: number;
  /** All zero bytes: an alignment or packing filler. */
  filler: boolean;
}

/** What the files of one sector say. */
export interface ImportedSector {
  sector: SectorRef;
  /** Pieces in sector order (empty without an unsealed file). */
  pieces: ImportedPiece[];
  /** CommD (`baga…`) when the unsealed file's pieces fill the whole sector (it was packed). */
  commD?: string;
  /** CommR (`bagboea…`) from the cache directory's `p_aux`. */
  commR?: string;
}

/** Options of {@link importSectorFromFiles}: the sector and the files found for it. */
export interface ImportSectorOptions {
  sector: SectorRef;
  /** The sector's unsealed partial file. */
  unsealedPath?: string;
  /** The sector's cache directory (its `p_aux` gives CommR). */
  cacheDir?: string;
  signal?: AbortSignal;
}

/**
 * Reads a sector's files and describes the sector they hold.
 * @throws InvalidArgumentError when no file is given; PartialFileCorruptError for an unsealed
 * file whose allocation is not made of 128-byte blocks; FileNotFoundError / CacheCorruptError
 * for a missing or malformed `p_aux`
 */
export async function importSectorFromFiles(options: ImportSectorOptions): Promise<ImportedSector> {
  if (options.unsealedPath === undefined && options.cacheDir === undefined) {
    throw new InvalidArgumentError('importing a sector needs its unsealed file or its cache directory');
  }
  const sectorSize = sealProofInfo(options.sector.proofType).sectorSize;
  const out: ImportedSector = { sector: options.sector, pieces: [] };
  if (options.unsealedPath !== undefined) {
    const pf = await PartialFile.open(options.unsealedPath, sectorSize, { readOnly: true });
    let allocated: Range[];
    try {
      allocated = pf.allocated();
    } finally {
      await pf.close();
    }
    for (const run of allocated) {
      for (const piece of splitRun(run, options.unsealedPath)) {
        out.pieces.push(await readBackPiece(options.unsealedPath, sectorSize, piece, options.signal));
      }
    }
    const filled = allocated.length === 1 && allocated[0]!.start === 0 && allocated[0]!.end === sectorSize;
    if (filled) out.commD = pieceCidV1(computeCommD(sectorSize, out.pieces.map((p) => ({ pieceCid: p.pieceCid, paddedSize: p.paddedSize })))).toString();
  }
  if (options.cacheDir !== undefined) {
    const { commC, commRLast } = await readPAux(options.cacheDir);
    out.commR = commRToCid(commR(commC, commRLast)).toString();
  }
  return out;
}

/**
 * Splits an allocated run into pieces: from its start, the largest power of two that is aligned
 * there and fits in the run, until the run is covered.
 */
export function splitRun(run: Range, what = 'partial file'): { paddedOffset: number; paddedSize: number }[] {
  if (run.start % 128 !== 0 || run.end % 128 !== 0) {
    throw new PartialFileCorruptError(`${what}: allocated range [${run.start}, ${run.end}) is not made of 128-byte blocks, so it holds no valid piece`);
  }
  const out: { paddedOffset: number; paddedSize: number }[] = [];
  let pos = run.start;
  while (pos < run.end) {
    let size = 128;
    while (pos % (size * 2) === 0 && pos + size * 2 <= run.end) size *= 2;
    out.push({ paddedOffset: pos, paddedSize: size });
    pos += size;
  }
  return out;
}

async function readBackPiece(
  path: string,
  sectorSize: number,
  piece: { paddedOffset: number; paddedSize: number },
  signal: AbortSignal | undefined,
): Promise<ImportedPiece> {
  const capacity = piece.paddedSize - piece.paddedSize / 128;
  const hasher = new CommPHasher();
  for await (const chunk of readPiece({
    unsealedPath: path,
    sectorSize,
    unpaddedOffset: piece.paddedOffset - piece.paddedOffset / 128,
    size: capacity,
    ...(signal ? { signal } : {}),
  })) {
    await hasher.write(chunk);
  }
  const root = await hasher.finish(piece.paddedSize);
  const filler = Buffer.from(root).equals(zeroPieceCommitment(piece.paddedSize));
  return {
    pieceCid: pieceCidV1(root).toString(),
    paddedOffset: piece.paddedOffset,
    paddedSize: piece.paddedSize,
    payloadSize: filler ? 0 : capacity,
    filler,
  };
}
